"""``geoverify landcover import``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import (
    JsonGroup,
    emit_json,
    get_ctx,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.workflows.coverage import CLASS_SCHEMES, import_landcover


@click.group("landcover", cls=JsonGroup)
def landcover_group() -> None:
    """Land cover (土地覆盖) for the priority areas of coverage."""


@landcover_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--classes",
    "scheme",
    type=click.Choice(sorted(CLASS_SCHEMES)),
    default="codes",
    show_default=True,
    help="Values of the file: codes 1 耕地 2 林地 3 居民点 4 水域 5 其他, or ESA WorldCover.",
)
@click.option(
    "--cell",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Cell size in metres of the stored grid. Default: the file's resolution.",
)
@json_option
@handle_errors
def landcover_import(file: Path, scheme: str, cell: float | None, as_json: bool) -> None:
    """Import a land-cover GeoTIFF in any CRS, reprojected onto the town's metric grid."""
    ctx = get_ctx()
    with open_store() as store:
        res = import_landcover(store, file, scheme=scheme, cell_m=cell, actor=ctx.actor)
    if as_json:
        emit_json(res.to_json())
        return
    if res.status == "already_imported":
        click.echo(f"{res.source}: 该文件已导入，未做任何更改 (already imported; nothing changed)")
        return
    shares = "，".join(f"{k} {v}%" for k, v in res.classes.items() if v)
    click.echo(
        f"{res.source}: 已导入土地覆盖 (land cover imported) → {res.path}，"
        f"{res.crs}，{res.cell_m:g} m 格网 {res.shape[1]}×{res.shape[0]}"
    )
    click.echo(f"  村界内各类占比 (shares inside the villages): {shares}")


COMMANDS = [landcover_group]
