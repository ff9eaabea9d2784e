"""``geoverify evidence add|export|list``."""

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
from geoverify.workflows.evidence import add_evidence, export_evidence, flag_text, list_evidence


@click.group("evidence", cls=JsonGroup)
def evidence_group() -> None:
    """Photo evidence of targets (证据照片)."""


@evidence_group.command("add")
@click.argument("target_id")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@handle_errors
def evidence_add(target_id: str, files: tuple[Path, ...], as_json: bool) -> None:
    """Attach JPEG/PNG photos to a target (checked by content; all or nothing)."""
    ctx = get_ctx()
    with open_store() as store:
        res = add_evidence(store, target_id, list(files), actor=ctx.actor)
    if as_json:
        emit_json(res.to_json())
        return
    for ph in res.photos:
        if ph["status"] == "already_stored":
            click.echo(f"{ph['file']}: 已保存过，跳过 (already stored)")
            continue
        where = f"，距靶标 {ph['distance_m']} 米" if ph["distance_m"] is not None else ""
        click.echo(f"{ph['file']}: 已保存 (stored) {ph['sha256'][:12]}…{where}")
        for code in ph["flags"]:
            click.echo(f"  ⚠ {flag_text(code)}")


@evidence_group.command("list")
@click.argument("target_id")
@json_option
@handle_errors
def evidence_list(target_id: str, as_json: bool) -> None:
    """List the photos of a target."""
    with open_store() as store:
        photos = list_evidence(store, target_id)
    if as_json:
        emit_json(photos)
        return
    rows = [
        (
            p["original_name"],
            p["sha256"][:12],
            p["taken_at"].isoformat() if p["taken_at"] else "",
            "" if p["distance_m"] is None else round(p["distance_m"], 1),
            "；".join(flag_text(c) for c in p["flags"]),
        )
        for p in photos
    ]
    click.echo(format_table(["文件", "SHA-256", "拍摄时间", "距离（米）", "提示"], rows))


@evidence_group.command("export")
@click.argument("target_id")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the copies.",
)
@json_option
@handle_errors
def evidence_export(target_id: str, out: Path, as_json: bool) -> None:
    """Write copies of a target's photos with EXIF (time, GPS) removed, to hand out."""
    with open_store() as store:
        paths = export_evidence(store, target_id, out=out)
    if as_json:
        emit_json({"target_id": target_id, "files": [str(p) for p in paths]})
        return
    for p in paths:
        click.echo(str(p))
    click.echo(f"共 {len(paths)} 张，已去除 EXIF (EXIF removed)")


COMMANDS: list[click.Command] = [evidence_group]
