"""The command line as a user meets it: help everywhere, exit codes, one JSON document."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from geoverify.cli import cli


def _walk(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        out.append((path, command))
        if isinstance(command, click.Group):
            out += _walk(command, path)
    return out


COMMANDS = _walk(cli)


def test_there_are_commands() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {
        "init",
        "villages import",
        "villages list",
        "batch import",
        "batch list",
        "targets list",
        "demo",
    } <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    res = CliRunner().invoke(cli, [*path, "--help"])
    assert res.exit_code == 0
    assert "Usage:" in res.output


@pytest.mark.parametrize(
    "path", [p for p, c in COMMANDS if not isinstance(c, click.Group)], ids=lambda p: " ".join(p)
)
def test_every_leaf_command_takes_json(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    assert any("--json" in p.opts for p in command.params), f"{' '.join(path)} lacks --json"


def _console(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("geoverify", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "geoverify"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOVERIFY_")}
    return subprocess.run(
        [*cmd, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


def test_exit_codes_of_the_installed_command(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    # 2: usage errors
    assert _console("--workspace", ws, "no-such-command", cwd=tmp_path).returncode == 2
    assert _console("--workspace", ws, "batch", "import", cwd=tmp_path).returncode == 2
    # 1: a data error (no workspace yet), with a clear message and no traceback
    res = _console("--workspace", ws, "targets", "list", cwd=tmp_path)
    assert res.returncode == 1
    assert "geoverify init" in res.stderr and "Traceback" not in res.stderr
    # 0: and --json prints exactly one JSON document
    res = _console("--workspace", ws, "init", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["villages"]["imported"] > 10
    res = _console("--workspace", ws, "villages", "list", "--json", cwd=tmp_path)
    assert isinstance(json.loads(res.stdout), list)


def test_workspace_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOVERIFY_WORKSPACE", str(tmp_path / "from-env"))
    res = CliRunner().invoke(cli, ["init", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["workspace"] == str(tmp_path / "from-env")
    assert (tmp_path / "from-env" / "geoverify.sqlite").exists()


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    ws = tmp_path / "precious"
    ws.mkdir()
    (ws / "notes.txt").write_text("keep me")
    res = CliRunner().invoke(cli, ["--workspace", str(ws), "demo"])
    assert res.exit_code == 1
    assert (ws / "notes.txt").read_text() == "keep me"
