"""The ``geoverify`` command line: thin over :mod:`geoverify.workflows`.

Commands are registered lazily: :data:`COMMAND_TABLE` names the module that defines each one and
its one-line help, so ``geoverify --help`` and ``--version`` list them without importing any,
and a command imports only its own module (and what that uses).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, NamedTuple

import click

from geoverify import __version__
from geoverify.cli._usage import ResolvesInChinese, SaysUsageInChinese

# Names of environment variables, repeated here so that ``--help`` does not import the store
# and workflows to show them (tests/cli/test_cli_lazy.py checks that they stay equal).
WORKSPACE_ENV = "GEOVERIFY_WORKSPACE"
DATABASE_ENV = "GEOVERIFY_DATABASE_URL"
USER_ENV = "GEOVERIFY_USER"


class LazyCommand(NamedTuple):
    """Where a top-level command is defined, and its one-line help for the command list."""

    module: str
    attribute: str
    short_help: str


#: Every top-level command: name -> module, attribute and one-line help (as the command's own).
COMMAND_TABLE: dict[str, LazyCommand] = {
    "backup": LazyCommand(
        "geoverify.cli.backup",
        "backup_cmd",
        "Back up the store, its evidence photos and land cover to OUT, one tar file (备份).",
    ),
    "batch": LazyCommand(
        "geoverify.cli.batch", "batch_group", "District target batches (下发批次)."
    ),
    "coverage": LazyCommand(
        "geoverify.cli.coverage",
        "coverage_cmd",
        "Tracked patrol coverage of every village for a month or a period (踏查覆盖率).",
    ),
    "demo": LazyCommand(
        "geoverify.cli.demo",
        "demo_cmd",
        "Build a demo workspace from the bundled sample data and run the whole job (演示).",
    ),
    "dispatch": LazyCommand(
        "geoverify.cli.dispatch",
        "dispatch_cmd",
        "Write the dispatch lists of a batch (派发清单) and mark its targets dispatched.",
    ),
    "evidence": LazyCommand(
        "geoverify.cli.evidence", "evidence_group", "Photo evidence of targets (证据照片)."
    ),
    "export": LazyCommand(
        "geoverify.cli.export",
        "export_cmd",
        "Export villages, groups, targets, patrol tracks, coverage and unsurveyed areas to one "
        "GeoPackage FILE.gpkg for QGIS (导出 GeoPackage).",
    ),
    "feedback": LazyCommand(
        "geoverify.cli.feedback",
        "feedback_group",
        "Verification feedback from villages (核查反馈).",
    ),
    "history": LazyCommand(
        "geoverify.cli.status",
        "history_cmd",
        "Every event of a target: time (Asia/Shanghai), who, host, kind, source and values.",
    ),
    "init": LazyCommand(
        "geoverify.cli.init",
        "init_cmd",
        "Create the workspace and its store, and load village boundaries (初始化工作区).",
    ),
    "landcover": LazyCommand(
        "geoverify.cli.landcover",
        "landcover_group",
        "Land cover (土地覆盖) for the priority areas of coverage.",
    ),
    "map": LazyCommand(
        "geoverify.cli.map",
        "map_cmd",
        "Write an offline interactive map (离线交互地图): villages, targets, coverage, tracks.",
    ),
    "patrols": LazyCommand(
        "geoverify.cli.patrols",
        "patrols_group",
        "Patrol records (踏查记录): tables, GPX and KML tracks.",
    ),
    "report": LazyCommand(
        "geoverify.cli.report",
        "report_group",
        "Reports: the monthly patrol table (月报) and the report to the district (反馈区禁毒办).",
    ),
    "restore": LazyCommand(
        "geoverify.cli.backup",
        "restore_cmd",
        "Restore BACKUP into an empty workspace (and empty database) (恢复).",
    ),
    "serve": LazyCommand(
        "geoverify.cli.serve",
        "serve_cmd",
        "Run the web app (网页版) on the workspace or --database-url.",
    ),
    "spotcheck": LazyCommand(
        "geoverify.cli.spotcheck",
        "spotcheck_group",
        "Supervision spot checks (抽查): draw a reproducible random sample of closed targets "
        "per village for re-inspection and write its lists; ``spotcheck record`` records "
        "一致 / 不一致.",
    ),
    "status": LazyCommand(
        "geoverify.cli.status",
        "status_cmd",
        "Progress per village and for the town: verified, eradicated, overdue, 核查率, 吻合率.",
    ),
    "targets": LazyCommand("geoverify.cli.targets", "targets_group", "Suspect targets (疑似靶标)."),
    "users": LazyCommand(
        "geoverify.cli.users",
        "users_group",
        "Users of the web app (用户): office, village or viewer.",
    ),
    "villages": LazyCommand(
        "geoverify.cli.villages",
        "villages_group",
        "Village (村/社区) and group (组) boundaries.",
    ),
}


def load_command(name: str, entry: LazyCommand) -> click.Command:
    """Import the module of one command and return the command."""
    command = getattr(importlib.import_module(entry.module), entry.attribute)
    if not isinstance(command, click.Command) or command.name != name:
        msg = f"{entry.module}.{entry.attribute} is not the command {name!r}"
        raise TypeError(msg)
    return command


class _LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands: a command's module is imported when the command is looked up."""

    def __init__(self, table: Mapping[str, LazyCommand]) -> None:
        self._table = dict(table)
        self._loaded: dict[str, click.Command] = {}

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self._table:
                raise KeyError(name)
            self._loaded[name] = load_command(name, self._table[name])
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        found = name in self._loaded or name in self._table
        self._loaded.pop(name, None)
        self._table.pop(name, None)
        if not found:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(set(self._table) | set(self._loaded)))

    def __len__(self) -> int:
        return len(set(self._table) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._loaded


class LazyGroup(SaysUsageInChinese, ResolvesInChinese, click.Group):
    """A click group whose commands are imported only when one is run or its help is asked;
    a usage error of the global options, or an unknown command, is said in Chinese first (and
    as one JSON document too with ``--json``; exit code 2)."""

    def __init__(self, *args: Any, table: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._table = dict(table)
        self.commands = _LazyCommands(self._table)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, from the table for commands not imported yet."""
        commands = self.commands
        assert isinstance(commands, _LazyCommands)
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if commands.is_loaded(name) or name not in self._table:
                command = commands[name]
                if command.hidden:
                    continue
                text = command.get_short_help_str(limit)
            else:
                stand_in = click.Command(name, help=self._table[name].short_help)
                text = stand_in.get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    table=COMMAND_TABLE,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="geoverify")
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Workspace folder (工作区). Default: ${WORKSPACE_ENV}, else ./workspace.",
)
@click.option(
    "--database-url",
    default=None,
    help=f"SQLAlchemy URL of a PostgreSQL+PostGIS store. Default: ${DATABASE_ENV}, "
    "else an SQLite file in the workspace.",
)
@click.option(
    "--by",
    "actor",
    default=None,
    help=f"Who acts, recorded in the history (操作人). Default: ${USER_ENV}, else the OS user.",
)
@click.pass_context
def cli(
    ctx: click.Context, workspace: Path | None, database_url: str | None, actor: str | None
) -> None:
    """geoverify — 疑似靶标核查、踏查覆盖与报表 (suspect-target verification for a town's
    anti-drug office).

    \b
    Start:  geoverify init            (bundled illustrative sample boundaries)
            geoverify batch import FILE --batch ID
            geoverify targets list --village 青龙村
    Try:    geoverify demo
    """
    from geoverify.cli._common import Context

    ws = workspace or Path(os.environ.get(WORKSPACE_ENV) or "workspace")
    ctx.obj = Context(workspace=ws, database_url=database_url, actor=actor)


def main() -> None:
    """Console entry point: an unexpected error prints one short line and where its log is."""
    try:
        cli(prog_name="geoverify")
    except Exception as e:  # the last line of defence; the details go to the log
        from geoverify.cli._common import report_crash

        sys.exit(report_crash(e))
