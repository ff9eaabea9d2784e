"""``geoverify report district``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import emit_json, get_ctx, handle_errors, json_option, open_store
from geoverify.workflows.reports import district_report


@click.command("district")
@click.option("--batch", required=True, help="Batch id (批次编号).")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.xlsx"
)
@json_option
@handle_errors
def district_cmd(batch: str, out: Path, as_json: bool) -> None:
    """Report a batch to the district (反馈区禁毒办) and mark answered targets as reported.

    Refused (nothing written) while a target at the criminal threshold has no case number.
    """
    ctx = get_ctx()
    with open_store() as store:
        res = district_report(store, batch=batch, out=out, actor=ctx.actor)
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(f"报表 (report): {res.path}")
    click.echo(
        f"批次 {batch}: {res.targets} 个靶标；本次标记上报 {len(res.marked)} 个 (marked reported)，"
        f"此前已上报 {res.already_reported} 个，未核查 {len(res.without_result)} 个 "
        "(without a result: listed, not marked)"
    )


COMMANDS: list[click.Command] = [district_cmd]
