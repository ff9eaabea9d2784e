"""``geoverify map``: the offline interactive HTML map (离线交互地图) of the town or one village."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import cast

import click

from geoverify.cli._common import (
    JsonCommand,
    as_of_option,
    check_month,
    emit_json,
    get_ctx,
    handle_errors,
    json_option,
)
from geoverify.errors import InputError
from geoverify.maps import Basemap
from geoverify.workflows.maps import write_store_map

TIANDITU_ENV = "GEOVERIFY_TIANDITU_KEY"


@click.command("map", cls=JsonCommand)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (e.g. maps/town.html).",
)
@click.option("--batch", default=None, help="Only the targets of this batch (批次编号).")
@click.option("--village", default=None, help="Only this village (name or code) — 村级地图.")
@click.option(
    "--month",
    callback=check_month,
    default=None,
    help="Coverage, unsurveyed areas and tracks of this month YYYY-MM "
    "(default: month of the latest patrol).",
)
@click.option(
    "--basemap",
    type=click.Choice(["none", "osm", "tianditu"]),
    default="none",
    show_default=True,
    help=f"Basemap shown first; 'none' works offline. Tianditu needs {TIANDITU_ENV}.",
)
@as_of_option
@json_option
@handle_errors
def map_cmd(
    out: Path,
    batch: str | None,
    village: str | None,
    month: str | None,
    basemap: str,
    as_of: dt.date | None,
    as_json: bool,
) -> None:
    """Write an offline interactive map (离线交互地图): villages, targets, coverage, tracks.

    The file draws with no network: Leaflet is inlined. Only the basemap tiles you pick are
    fetched. Set GEOVERIFY_TIANDITU_KEY to offer Tianditu imagery/vector (CGCS2000, no offset).
    """
    key = os.environ.get(TIANDITU_ENV, "").strip() or None
    if basemap == "tianditu" and key is None:
        msg = (
            f"使用天地图底图需要先设置环境变量 {TIANDITU_ENV} "
            f"(--basemap tianditu needs the {TIANDITU_ENV} environment variable)"
        )
        raise InputError(msg)
    store = get_ctx().store()
    try:
        res = write_store_map(
            store,
            out=out,
            batch=batch,
            village=village,
            month=month,
            basemap=cast(Basemap, basemap),
            tianditu_key=key,
            as_of=as_of,
        )
    finally:
        store.dispose()
    for w in res.warnings:
        click.echo(f"注意 (warning): {w}", err=True)
    if as_json:
        emit_json(res.to_json())
        return
    scope = res.village or "全镇 (town)"
    click.echo(f"地图已写入 (map written): {res.out}")
    if res.as_of:
        click.echo(f"  统计截至 {res.as_of.isoformat()} (as of)")
    click.echo(
        f"  范围 {scope}；村（社区）{res.villages} 个；靶标 {res.targets} 个"
        + (f"；批次 {res.batch}" if res.batch else "")
    )
    if res.month:
        click.echo(f"  踏查 {res.month}：轨迹 {res.tracks} 条，未踏查区域 {res.unsurveyed} 块")
    else:
        click.echo("  还没有踏查记录，地图不显示覆盖率 (no patrols yet: no coverage layer)")
    click.echo(f"  照片 {res.photos} 张；大小 {len(res.html.encode('utf-8')) / 1e6:.1f} MB")


COMMANDS = [map_cmd]
