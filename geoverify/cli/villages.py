"""``geoverify villages import|list``."""

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
)
from geoverify.cli.init import describe_boundary_import
from geoverify.workflows import import_groups, import_villages, list_villages


@click.group("villages", cls=JsonGroup)
def villages_group() -> None:
    """Village (村/社区) and group (组) boundaries."""


@villages_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--groups", "as_groups", is_flag=True, help="The file holds groups (组), not villages."
)
@click.option("--name-field", default=None, help="Attribute holding the village (or group) name.")
@click.option("--code-field", default=None, help="Attribute holding the village code.")
@click.option("--village-field", default=None, help="With --groups: attribute naming the village.")
@click.option("--layer", default=None, help="Layer of a GeoPackage or Shapefile zip.")
@click.option("--crs", default=None, help="CRS of the file when it has none, e.g. EPSG:4544.")
@json_option
@handle_errors
def villages_import(
    file: Path,
    as_groups: bool,
    name_field: str | None,
    code_field: str | None,
    village_field: str | None,
    layer: str | None,
    crs: str | None,
    as_json: bool,
) -> None:
    """Import village boundaries from FILE (GPKG, SHP, ZIP, GeoJSON, KML)."""
    ctx = get_ctx()
    with open_store() as store:
        if as_groups:
            res = import_groups(
                store,
                file,
                village_field=village_field,
                name_field=name_field,
                crs=crs,
                layer=layer,
                actor=ctx.actor,
            )
        else:
            res = import_villages(
                store,
                file,
                name_field=name_field,
                code_field=code_field,
                crs=crs,
                layer=layer,
                actor=ctx.actor,
            )
    if as_json:
        emit_json(res.to_json())
        return
    for line in describe_boundary_import(res):
        click.echo(line)


@villages_group.command("list")
@json_option
@handle_errors
def villages_list(as_json: bool) -> None:
    """List villages with their area, groups and targets."""
    with open_store() as store:
        listed = list_villages(store)
    if as_json:
        emit_json(listed.to_json())
        return
    frame = listed.frame
    rows = [
        (r.code, r.name, r.kind, f"{r.area_km2:.2f}", r.groups, r.targets)
        for r in frame.itertuples()
    ]
    click.echo(format_table(["代码", "村（社区）", "类型", "面积km²", "组数", "靶标数"], rows))
    if len(frame) and frame["illustrative"].any():
        click.echo("注意：示意边界，非官方数据 (illustrative boundaries, not official)")


COMMANDS = [villages_group]
