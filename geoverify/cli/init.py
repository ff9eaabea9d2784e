"""``geoverify init``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import (
    JsonCommand,
    emit_json,
    get_ctx,
    handle_errors,
    json_option,
    readable_url,
)
from geoverify.workflows import init_workspace
from geoverify.workflows.villages import VillageImportResult


def describe_boundary_import(res: VillageImportResult) -> list[str]:
    """Human lines about a boundary import (shared by init and villages import)."""
    if res.status == "already_imported":
        return [f"{res.source}: 已导入过，未做任何更改 (already imported; nothing changed)"]
    lines = [
        f"{res.source}: 导入 {res.imported} 个{'组' if res.kind == 'groups' else '村（社区）'}"
        f"，{res.unchanged} 个未变 (imported {res.imported}, unchanged {res.unchanged})"
    ]
    rep = res.report
    if rep is not None:
        for r in rep.repairs:
            lines.append(f"  已修复无效多边形 (repaired) 第 {r.row} 个要素 {r.name}: {r.reason}")
        for o in rep.overlaps:
            lines.append(f"  重叠 (overlap) {o.a_name} × {o.b_name}: {o.area_m2:,.0f} m²")
        for g in rep.gaps:
            names = "、".join(res.village_names.get(c, c) for c in g.neighbours)
            lines.append(f"  缝隙 (gap) 在 {names} 之间: {g.area_m2:,.0f} m²")
    if res.illustrative:
        lines.append("  注意：这是示意边界，非官方数据 (illustrative boundaries, not official)")
    return lines


@click.command("init", cls=JsonCommand)
@click.option(
    "--boundaries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Village boundary file (GPKG/SHP/ZIP/GeoJSON/KML). Default: the bundled sample.",
)
@click.option("--name-field", default=None, help="Attribute holding the village name.")
@click.option("--code-field", default=None, help="Attribute holding the village code.")
@click.option("--crs", default=None, help="CRS of the file when it has none, e.g. EPSG:4544.")
@json_option
@handle_errors
def init_cmd(
    boundaries: Path | None,
    name_field: str | None,
    code_field: str | None,
    crs: str | None,
    as_json: bool,
) -> None:
    """Create the workspace and its store, and load village boundaries (初始化工作区)."""
    ctx = get_ctx()
    res = init_workspace(
        ctx.workspace,
        boundaries=boundaries,
        name_field=name_field,
        code_field=code_field,
        crs=crs,
        url=ctx.database_url,
        actor=ctx.actor,
    )
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(f"工作区 (workspace): {res.workspace}")
    click.echo(f"数据库 (store): {readable_url(res.database)}")
    for line in describe_boundary_import(res.villages):
        click.echo(line)
    if res.groups is not None:
        for line in describe_boundary_import(res.groups):
            click.echo(line)


COMMANDS = [init_cmd]
