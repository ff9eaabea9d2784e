"""``geoverify report district``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from geoverify.cli._common import (
    JsonCommand,
    as_of_option,
    emit_json,
    get_ctx,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.workflows.reports import district_report


@click.command("district", cls=JsonCommand)
@click.option("--batch", required=True, help="Batch id (批次编号).")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.xlsx"
)
@click.option("--reviewer", default=None, help="Name printed after 审核人 (default: blank).")
@as_of_option
@json_option
@handle_errors
def district_cmd(
    batch: str, out: Path, reviewer: str | None, as_of: dt.date | None, as_json: bool
) -> None:
    """Report a batch to the district (反馈区禁毒办) and mark answered targets as reported.

    Refused (nothing written) while a target at the criminal threshold has no case number.
    Targets outside the town are listed on a sheet of their own (建议退回区禁毒办).
    """
    ctx = get_ctx()
    with open_store() as store:
        res = district_report(
            store, batch=batch, out=out, actor=ctx.actor, as_of=as_of, reviewer=reviewer
        )
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(f"报表 (report): {res.path}")
    click.echo(
        f"批次 {batch}: {res.targets} 个靶标；本次标记上报 {len(res.marked)} 个 (marked reported)，"
        f"此前已上报 {res.already_reported} 个，未核查 {len(res.without_result)} 个 "
        "(without a result: listed, not marked)"
    )
    if res.as_of:
        click.echo(f"统计截至 {res.as_of.isoformat()}：逾期未反馈 {res.overdue} 个 (overdue)")
    if res.outside:
        click.echo(
            f"镇外靶标 {len(res.outside)} 个单独列出，建议退回区禁毒办 "
            "(outside the town: listed apart, not marked)"
        )


COMMANDS: list[click.Command] = [district_cmd]
