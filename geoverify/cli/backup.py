"""``geoverify backup`` and ``geoverify restore``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import JsonCommand, emit_json, handle_errors, json_option, open_store
from geoverify.workflows.backup import backup_store, restore_store


@click.command("backup", cls=JsonCommand)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@handle_errors
def backup_cmd(out: Path, as_json: bool) -> None:
    """Back up the store, its evidence photos and land cover to OUT, one tar file (备份).

    Safe while others write: the file holds one consistent snapshot (SQLite online backup, or
    pg_dump on an exported snapshot for PostgreSQL) with the row count of every table and the
    SHA-256 of every file. OUT must not exist; a name ending in .gz is compressed.
    """
    with open_store() as store:
        res = backup_store(store, out)
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(f"备份 (backup): {res.path}  {res.size_bytes / 1e6:.1f} MB ({res.backend})")
    click.echo(
        f"  {sum(res.counts.values())} 行 (rows) in {len(res.counts)} 表 (tables)，"
        f"证据照片 {res.evidence_files} 个 (evidence files)，"
        f"土地覆盖 (land cover): {'有 (yes)' if res.landcover else '无 (none)'}"
    )
    for problem in res.evidence_problems:
        click.echo(f"  警告 (warning): 证据文件未备份 (evidence not backed up) {problem}", err=True)


@click.command("restore", cls=JsonCommand)
@click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@handle_errors
def restore_cmd(backup: Path, as_json: bool) -> None:
    """Restore BACKUP into an empty workspace (and empty database) (恢复).

    Give the new place with --workspace (and --database-url for PostgreSQL: a database where
    the backed-up schema is empty). Nothing is ever overwritten. Afterwards every table's row
    count and every evidence file's SHA-256 are checked against the backup.
    """
    with open_store(require=False) as store:
        res = restore_store(store, backup)
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(f"已恢复 (restored): {res.path} → {res.backend}，备份时间 {res.created_at}")
    click.echo(
        f"  {sum(res.counts.values())} 行 (rows)，证据照片 {res.evidence_files} 个 (evidence "
        "files)，行数与校验和均已核对 (row counts and checksums verified)"
    )
    if res.upgraded_from:
        click.echo(f"  数据库结构已升级 (schema upgraded) from {', '.join(res.upgraded_from)}")


COMMANDS: list[click.Command] = [backup_cmd, restore_cmd]
