"""The ``geoverify`` command line: thin over :mod:`geoverify.workflows`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from geoverify import __version__
from geoverify.cli._common import Context
from geoverify.store.database import DATABASE_ENV
from geoverify.workflows.common import USER_ENV, WORKSPACE_ENV


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    ws = workspace or Path(os.environ.get(WORKSPACE_ENV) or "workspace")
    ctx.obj = Context(workspace=ws, database_url=database_url, actor=actor)


def _register() -> None:
    from geoverify.cli import (
        backup,
        batch,
        coverage,
        demo,
        dispatch,
        evidence,
        export,
        feedback,
        init,
        landcover,
        map,
        patrols,
        report,
        serve,
        spotcheck,
        status,
        targets,
        users,
        villages,
    )

    modules = (
        init,
        villages,
        batch,
        targets,
        dispatch,
        feedback,
        evidence,
        status,
        patrols,
        landcover,
        coverage,
        report,
        map,
        users,
        serve,
        demo,
        backup,
        export,
        spotcheck,
    )
    for module in modules:
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    """Console entry point: an unexpected error prints one short line and where its log is."""
    try:
        cli(prog_name="geoverify")
    except Exception as e:  # the last line of defence; the details go to the log
        from geoverify.cli._common import report_crash

        sys.exit(report_crash(e))
