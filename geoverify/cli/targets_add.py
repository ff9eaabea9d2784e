"""``geoverify targets add``."""

from __future__ import annotations

import click

from geoverify.cli._common import (
    JsonCommand,
    emit_json,
    get_ctx,
    handle_errors,
    json_option,
    misplaced_by_option,
    open_store,
    parse_date,
    refuse_misplaced_by,
)
from geoverify.workflows.sites import add_target


@click.command("add", cls=JsonCommand)
@click.option(
    "--source",
    required=True,
    type=click.Choice(["self", "tip"]),
    help="self = 自主发现, tip = 举报线索.",
)
@click.option("--lon", required=True, type=float, help="Longitude, decimal degrees (CGCS2000).")
@click.option("--lat", required=True, type=float, help="Latitude, decimal degrees (CGCS2000).")
@click.option("--village-hint", default=None, help="Village the finder named (checked).")
@click.option("--found", default=None, help="Date found YYYY-MM-DD. Default: today.")
@click.option(
    "--found-by",
    "found_by",
    default=None,
    help="Who found it (发现人) or who took the tip. Who records it is the global --by.",
)
@misplaced_by_option
@click.option("--remarks", default=None, help="Remarks.")
@json_option
@handle_errors
def targets_add(
    source: str,
    lon: float,
    lat: float,
    village_hint: str | None,
    found: str | None,
    found_by: str | None,
    misplaced_by: str | None,
    remarks: str | None,
    as_json: bool,
) -> None:
    """Add a self-found site or a tip as a target, assigned to its village (status issued).

    --found-by names who found the site (发现人); who records it is the global --by before the
    command, as for every command.
    """
    refuse_misplaced_by(misplaced_by, command="targets add", use="--found-by", what_zh="发现人")
    ctx = get_ctx()
    found_on = parse_date(found, option="--found")
    with open_store() as store:
        res = add_target(
            store,
            source=source,
            lon=lon,
            lat=lat,
            village_hint=village_hint,
            found_on=found_on,
            found_by=found_by,
            remarks=remarks,
            actor=ctx.actor,
        )
    if as_json:
        emit_json(res.to_json())
        return
    where = res.village or "镇外 (outside the town)"
    group = f" {res.group}" if res.group else ""
    click.echo(f"已添加靶标 (added) {res.target_id}: {where}{group}，状态 已下发")
    if res.hint_mismatch:
        click.echo(f"  注意 (note): {res.hint_mismatch}")
    if res.repeat_of:
        click.echo(f"  复种点 (repeat site of) {res.repeat_of}")


COMMANDS: list[click.Command] = [targets_add]
