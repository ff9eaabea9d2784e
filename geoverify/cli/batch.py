"""``geoverify batch import|list``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import (
    JsonGroup,
    emit_json,
    format_table,
    get_ctx,
    handle_errors,
    json_option,
    open_store,
    parse_date,
    progress,
)
from geoverify.model import ASSIGNMENT_LABELS
from geoverify.outside import OutsideTown
from geoverify.workflows import BatchImportResult, import_batch, list_batches
from geoverify.workflows.batches import DEFAULT_REPEAT_RADIUS_M, DEFAULT_TOLERANCE_M


@click.group("batch", cls=JsonGroup)
def batch_group() -> None:
    """District target batches (下发批次)."""


def describe_outside(outside: OutsideTown) -> list[str]:
    """The targets assigned outside the town, far ones first and flagged: to check before
    the batch is dispatched (they are imported, as 镇外)."""
    if not outside.count:
        return []
    lines = [
        f"  镇外 {outside.count} 个，已按镇外导入，请核实后退回区禁毒办 "
        f"({outside.count} targets outside the town, imported as outside):"
    ]
    if outside.far:
        lines.append(
            f"  注意：其中 {outside.far} 个距本镇超过 {outside.far_km:g} 公里，多半是坐标录错"
            f"或经纬度颠倒，请核对原文件 ({outside.far} more than {outside.far_km:g} km away: "
            "most likely a typo or swapped coordinates)"
        )
    rows = [
        (
            t.row,
            t.target_id,
            f"{t.lon:.6f}, {t.lat:.6f}",
            "" if t.distance_km is None else f"{t.distance_km:.1f}",
            t.nearest_village or "",
            "；".join(
                note
                for note, on in (
                    (f"远离本镇（>{outside.far_km:g} 公里）", t.far),
                    ("经纬度疑似颠倒（交换后在本镇内）", t.swapped),
                )
                if on
            ),
        )
        for t in outside.listed
    ]
    table = format_table(["行号", "编号", "经度, 纬度", "距本镇（公里）", "最近的村", "提示"], rows)
    lines += [f"    {line}" for line in table.splitlines()]
    if outside.unlisted:
        lines.append(f"    另有 {outside.unlisted} 个未列出 ({outside.unlisted} more not listed)")
    return lines


def describe_batch_import(res: BatchImportResult) -> list[str]:
    if res.status == "already_imported":
        return [
            f"{res.source}: 该文件已作为批次 {res.batch} 导入，未做任何更改 "
            f"(already imported as batch {res.batch}; nothing changed)"
        ]
    lines = [
        f"批次 {res.batch}: 导入 {res.imported} 个靶标 (imported)，重复下发 {res.reissued} "
        f"(re-issued)，复种点 {res.repeat_sites} (repeat sites)，"
        f"核查时限 {res.due_on} (due)"
    ]
    kinds = "，".join(f"{ASSIGNMENT_LABELS[k]} {v}" for k, v in sorted(res.assignment.items()) if v)
    if kinds:
        lines.append(f"  分配 (assignment): {kinds}")
    if res.footer_rows:
        lines.append(
            f"  {res.footer_text} (footer rows, not targets: "
            f"{', '.join(map(str, res.footer_rows))})"
        )
    if res.issued_before:
        lines.append(f"  重复下发的靶标此前下发于 (issued before in): {res.issued_before_text}")
    if res.only_reissued:
        lines.append(
            "  注意：本文件的靶标都已下发过，没有新靶标；如果它是已导入批次的另一种格式，"
            "这次导入是多余的 (every target was issued before: nothing new)"
        )
    lines += describe_outside(res.outside)
    if res.ids_generated:
        lines.append("  文件中没有靶标编号，已按批次和行号生成 (ids generated from batch and row)")
    if res.dms_carried:
        lines.append(
            f"  {res.dms_carried} 行度分秒坐标的 60 秒或 60 分（四舍五入所致，如 106°05'60.00\"）"
            "已进位到下一分/度 (rows whose 60 seconds or minutes were carried over)"
        )
    if res.rejected:
        lines.append(f"  已拒收 {res.rejected_rows} 行并记录在案 (rejected rows recorded):")
        lines += [f"    {p}" for p in res.rejected]
    if res.by_village:
        lines.append(format_table(["村（社区）", "靶标数"], list(res.by_village.items())))
    return lines


@batch_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", "batch_id", required=True, help="Batch id (批次编号), e.g. 2024-03.")
@click.option("--issued", default=None, help="Issue date YYYY-MM-DD (下发日期). Default: today.")
@click.option("--due", default=None, help="Due date YYYY-MM-DD (核查时限). Default: issued + 15 d.")
@click.option("--id-field", default=None, help="Column holding the target id.")
@click.option("--lon-field", default=None, help="Column holding longitude (or X).")
@click.option("--lat-field", default=None, help="Column holding latitude (or Y).")
@click.option("--crs", default=None, help="CRS of projected coordinates, e.g. EPSG:4544.")
@click.option("--layer", default=None, help="Layer of a GeoPackage or Shapefile zip.")
@click.option("--sheet", default=None, help="Sheet of an XLSX workbook.")
@click.option("--encoding", default=None, help="Text encoding of a CSV (default: detected).")
@click.option(
    "--accept-partial",
    is_flag=True,
    help="Write the good rows and record each rejected row (default: all or nothing).",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=DEFAULT_TOLERANCE_M,
    show_default=True,
    help="Metres: near-boundary and gap tolerance.",
)
@click.option(
    "--repeat-radius",
    type=click.FloatRange(min=0),
    default=DEFAULT_REPEAT_RADIUS_M,
    show_default=True,
    help="Metres: an earlier target this close makes a repeat site (复种点).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where targets are assigned: this process, or dask (pip install 'geoverify[dask]').",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="dask scheduler to assign on (tcp://host:port); only with --engine dask. "
    "Default: dask in this process.",
)
@json_option
@handle_errors
def batch_import(
    file: Path,
    batch_id: str,
    issued: str | None,
    due: str | None,
    id_field: str | None,
    lon_field: str | None,
    lat_field: str | None,
    crs: str | None,
    layer: str | None,
    sheet: str | None,
    encoding: str | None,
    accept_partial: bool,
    tolerance: float,
    repeat_radius: float,
    engine: str,
    scheduler: str | None,
    as_json: bool,
) -> None:
    """Import a batch of suspect targets from FILE (CSV, XLSX, GeoJSON, SHP/ZIP, GPKG, KML/KMZ)."""
    ctx = get_ctx()
    issued_on = parse_date(issued, option="--issued")
    due_on = parse_date(due, option="--due")
    if scheduler is not None and engine != "dask":
        msg = "--scheduler 只能与 --engine dask 一起使用 (--scheduler needs --engine dask)"
        raise click.BadOptionUsage("scheduler", msg)
    with open_store() as store, progress(file.name) as step:
        res = import_batch(
            store,
            file,
            batch_id=batch_id,
            issued_on=issued_on,
            due_on=due_on,
            id_field=id_field,
            lon_field=lon_field,
            lat_field=lat_field,
            crs=crs,
            layer=layer,
            sheet=sheet,
            encoding=encoding,
            accept_partial=accept_partial,
            tolerance_m=tolerance,
            repeat_radius_m=repeat_radius,
            actor=ctx.actor,
            progress=step,
            engine=engine,
            scheduler=scheduler,
        )
    if as_json:
        emit_json(res.to_json())
        return
    for line in describe_batch_import(res):
        click.echo(line)


@batch_group.command("list")
@json_option
@handle_errors
def batch_list(as_json: bool) -> None:
    """List imported batches."""
    with open_store() as store:
        frame = list_batches(store)
    if as_json:
        emit_json(
            [
                {
                    "batch": r.id,
                    "source": r.source_name,
                    "file_sha256": r.sha256,
                    "issued_on": r.issued_on,
                    "due_on": r.due_on,
                    "imported_at": r.imported_at,
                    "rows": r.n_rows,
                    "imported": r.n_imported,
                    "reissued": r.n_reissued,
                    "rejected": r.n_rejected,
                }
                for r in frame.itertuples()
            ]
        )
        return
    rows = [
        (r.id, r.source_name, r.issued_on, r.due_on, r.n_imported, r.n_reissued, r.n_rejected)
        for r in frame.itertuples()
    ]
    click.echo(
        format_table(["批次", "文件", "下发日期", "核查时限", "导入", "重复下发", "拒收"], rows)
    )


COMMANDS = [batch_group]
