"""``geoverify patrols import|list``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import (
    JsonGroup,
    check_month,
    emit_json,
    format_table,
    get_ctx,
    handle_errors,
    json_option,
    open_store,
    parse_date,
)
from geoverify.tracks import TrackRules
from geoverify.workflows.patrols import (
    PatrolImportResult,
    import_patrols,
    list_patrols,
    month_range,
)


@click.group("patrols", cls=JsonGroup)
def patrols_group() -> None:
    """Patrol records (踏查记录): tables, GPX and KML tracks."""


def describe_patrol_import(res: PatrolImportResult) -> list[str]:
    if res.status == "already_imported":
        return [f"{res.source}: 该文件已导入，未做任何更改 (already imported; nothing changed)"]
    if res.status == "already_recorded":
        return [
            f"{res.source}: {res.already_recorded} 条轨迹均已在库中（随踏查表导入），未做任何更改 "
            "(every track is already stored; nothing changed)"
        ]
    lines = [
        f"{res.source}: 导入 {res.imported} 条踏查记录 (patrols imported)，其中有轨迹 "
        f"{res.tracked} (tracked)，仅报送 {res.imported - res.tracked} (reported only)，"
        f"航点 {res.waypoints} (waypoints)，报送日期 "
        + (
            f"{res.received_on} (received)"
            if res.received_on
            else "未记录 (received date not recorded: never counted as late)"
        )
    ]
    if res.linked_tracks:
        lines.append(
            f"  {res.linked_tracks} 行引用了此前导入的轨迹 (rows linked to tracks imported before)"
        )
    if res.already_recorded:
        lines.append(
            f"  {res.already_recorded} 条轨迹已在库中，未重复计入 (tracks already stored, skipped)"
        )
    for e in res.track_hygiene:
        lines.append(
            f"  轨迹清洗 (track hygiene) {e['file']} 第 {e['number']} 条 {e['name'] or ''}: "
            f"{e['reason']}"
        )
    if res.footer_rows:
        rows = ", ".join(map(str, res.footer_rows))
        lines.append(f"  {res.footer_text} (footer rows, not patrols: {rows})")
    if res.by_village:
        lines.append(format_table(["村（社区）", "踏查记录"], list(res.by_village.items())))
    return lines


@patrols_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tracks",
    "track_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Table only: GPX/KML whose track names the 轨迹 column refers to (repeatable).",
)
@click.option("--village", default=None, help="Track file only: the village (村/社区) walked.")
@click.option(
    "--date", default=None, help="Track file only: date YYYY-MM-DD for tracks without times."
)
@click.option("--people", default=None, help="Track file only: who walked (踏查人员).")
@click.option("--group", default=None, help="Track file only: the group (组) walked, e.g. 三组.")
@click.option(
    "--findings", default=None, help="Track file only: what was found (踏查情况), e.g. 未发现异常."
)
@click.option(
    "--received",
    default=None,
    help="Date the village's table was received YYYY-MM-DD (报送日期, 25th deadline). "
    "Default for a table: the day it is imported; for a track file: not recorded.",
)
@click.option("--sheet", default=None, help="Sheet of an XLSX workbook.")
@click.option("--encoding", default=None, help="Text encoding of a CSV (default: detected).")
@click.option(
    "--max-speed",
    type=click.FloatRange(min=1, min_open=False),
    default=TrackRules.max_speed_kmh,
    show_default=True,
    help="Track hygiene: fastest plausible speed in km/h between two GPS fixes (walking or "
    "motorbike); faster fixes are dropped as glitches (轨迹清洗).",
)
@json_option
@handle_errors
def patrols_import(
    file: Path,
    track_files: tuple[Path, ...],
    village: str | None,
    date: str | None,
    people: str | None,
    group: str | None,
    findings: str | None,
    received: str | None,
    sheet: str | None,
    encoding: str | None,
    max_speed: float,
    as_json: bool,
) -> None:
    """Import patrol records from FILE: the plan's table (CSV/XLSX) or a GPX/KML/KMZ track file.

    All or nothing: any bad row or track is reported and nothing is written. Importing the
    same file again changes nothing. A table row whose 轨迹 names a track already imported
    from a track file (or the other way round) is linked to it, never counted twice. GPS
    glitches — fixes faster than --max-speed, (0, 0) or out-of-range fixes, isolated far
    jumps — are dropped from every track before village attribution and coverage, and
    reported per track.
    """
    ctx = get_ctx()
    day = parse_date(date, option="--date")
    received_on = parse_date(received, option="--received")
    with open_store() as store:
        res = import_patrols(
            store,
            file,
            tracks=list(track_files),
            village=village,
            date=day,
            people=people,
            group=group,
            findings=findings,
            received_on=received_on,
            sheet=sheet,
            encoding=encoding,
            actor=ctx.actor,
            track_rules=TrackRules(max_speed_kmh=max_speed),
        )
    if as_json:
        emit_json(res.to_json())
        return
    for line in describe_patrol_import(res):
        click.echo(line)


@patrols_group.command("list")
@click.option("--month", callback=check_month, default=None, help="Month YYYY-MM.")
@click.option("--village", default=None, help="Village name or code.")
@json_option
@handle_errors
def patrols_list(month: str | None, village: str | None, as_json: bool) -> None:
    """List patrol records, by date."""
    start, end = month_range(month) if month else (None, None)
    with open_store() as store:
        frame = list_patrols(store, start=start, end=end, village=village)
    records = [
        {k: (None if v is None or (isinstance(v, float) and v != v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
    if as_json:
        emit_json(records)
        return
    rows = [
        (
            r["date"],
            r["village"],
            r["group"] or "",
            r["people"] or "",
            r["findings"] or "",
            f"{r['length_m'] / 1000:.2f} km" if r["tracked"] and r["length_m"] else "—",
            f"{r['source']}:{r['row']}",
        )
        for r in records
    ]
    click.echo(
        format_table(["踏查时间", "村、社区", "组", "踏查人员", "踏查情况", "轨迹", "来源"], rows)
    )
    click.echo(f"共 {len(rows)} 条 (records)")


COMMANDS = [patrols_group]
