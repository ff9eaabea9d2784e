"""``geoverify export``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import (
    JsonCommand,
    check_month,
    emit_json,
    format_table,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.workflows.export import LAYERS, export_geopackage


@click.command("export", cls=JsonCommand)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--batch", default=None, help="Only the targets of this batch (批次编号).")
@click.option(
    "--month",
    callback=check_month,
    default=None,
    help="Tracks, coverage and unsurveyed areas of this month YYYY-MM (default: all patrols).",
)
@json_option
@handle_errors
def export_cmd(file: Path, batch: str | None, month: str | None, as_json: bool) -> None:
    """Export villages, groups, targets, patrol tracks, coverage and unsurveyed areas to one
    GeoPackage FILE.gpkg for QGIS (导出 GeoPackage).

    Field names are Chinese; status and result are written as the labels users read
    (已派发, 确认种植 …), followed by the district's own columns. CGCS2000 (EPSG:4490).
    """
    with open_store() as store:
        res = export_geopackage(store, file, batch=batch, month=month)
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(f"已导出 (exported): {res.path}")
    if res.period:
        click.echo(f"踏查期间 (patrol period): {res.period[0]} – {res.period[1]}")
    rows = [(name, LAYERS[name][0], n) for name, n in res.layers.items()]
    click.echo(format_table(["图层 (layer)", "名称", "要素 (features)"], rows))


COMMANDS: list[click.Command] = [export_cmd]
