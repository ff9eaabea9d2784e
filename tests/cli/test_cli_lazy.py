"""The command list is lazy: ``--help`` and ``--version`` import no command, and the table of
commands says exactly what each command module defines."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from geoverify import cli as cli_module
from geoverify.cli import COMMAND_TABLE, cli, load_command


@pytest.mark.parametrize("name", sorted(COMMAND_TABLE))
def test_table_entry_is_the_command_it_names(name: str) -> None:
    entry = COMMAND_TABLE[name]
    command = load_command(name, entry)
    assert command.name == name
    assert command.get_short_help_str(limit=1000) == entry.short_help


def test_help_lists_every_command_once() -> None:
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    listed = [
        line.split()[0]
        for line in res.output.split("Commands:")[1].splitlines()
        if line.startswith("  ") and line.strip()
    ]
    assert listed == sorted(COMMAND_TABLE)


def test_unknown_command_is_a_usage_error() -> None:
    res = CliRunner().invoke(cli, ["no-such-command"])
    assert res.exit_code == 2
    assert "No such command" in res.output


def test_environment_variable_names_match_their_owners() -> None:
    from geoverify.store.database import DATABASE_ENV
    from geoverify.workflows.common import USER_ENV, WORKSPACE_ENV

    assert (cli_module.DATABASE_ENV, cli_module.USER_ENV, cli_module.WORKSPACE_ENV) == (
        DATABASE_ENV,
        USER_ENV,
        WORKSPACE_ENV,
    )


_PROBE = """
import json, sys
from geoverify.cli import cli
try:
    cli(sys.argv[1:], prog_name="geoverify")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(*args: str) -> set[str]:
    res = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(res.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--help",), ("--version",)], ids=" ".join)
def test_top_level_help_and_version_import_no_command(args: tuple[str, ...]) -> None:
    loaded = _modules_after(*args)
    command_modules = {entry.module for entry in COMMAND_TABLE.values()}
    assert not loaded & command_modules
    heavy = {"pandas", "geopandas", "sqlalchemy", "alembic", "folium", "matplotlib", "docx"}
    assert not loaded & heavy


def test_a_command_imports_its_own_module_only() -> None:
    loaded = _modules_after("villages", "--help")
    assert "geoverify.cli.villages" in loaded
    others = {e.module for n, e in COMMAND_TABLE.items() if n not in {"villages", "init"}}
    assert not loaded & others  # villages reuses a helper of init, nothing else
    assert not loaded & {"folium", "matplotlib", "docx"}


def test_a_group_of_the_table_is_a_click_group() -> None:
    command = load_command("batch", COMMAND_TABLE["batch"])
    assert isinstance(command, click.Group)
    assert "import" in command.commands


def test_every_command_module_is_in_the_table() -> None:
    """A command module added under geoverify/cli/ must get its row in COMMAND_TABLE."""
    import importlib
    import pkgutil

    import geoverify.cli as package

    nested = {"report_monthly", "report_district", "targets_add"}  # subcommands of a group
    listed = {(e.module, e.attribute) for e in COMMAND_TABLE.values()}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in nested:
            continue
        module = importlib.import_module(f"geoverify.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            attribute = command.callback.__name__
            assert (module.__name__, attribute) in listed, f"{command.name} not in COMMAND_TABLE"
            assert COMMAND_TABLE[str(command.name)].module == module.__name__
