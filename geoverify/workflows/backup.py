"""Backup and restore (备份与恢复): the store, its evidence photos and land cover in one file.

``backup_store`` writes one tar archive: the database (an SQLite copy made with the online
backup API, or a ``pg_dump`` of the store's schema taken on an exported snapshot), every
evidence photo the database refers to, the imported land cover, and ``manifest.json`` with the
row count of every table and the SHA-256 of every file. It is consistent while writers run:
counts, evidence list and database come from one snapshot, and evidence files are stored
content-addressed before their rows are committed, so every file the snapshot names exists.

``restore_store`` puts a backup into an empty workspace (and, for PostgreSQL, an empty schema
of the same name), upgrades the schema when the backup is older, and checks that every table
has the manifest's row count and every evidence file its hash. It never overwrites a store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import make_url

from geoverify import __version__
from geoverify.errors import InputError, StoreError
from geoverify.store import Store
from geoverify.store import backup as store_backup
from geoverify.store.database import SQLITE_NAME
from geoverify.workflows.coverage import landcover_path

__all__ = [
    "BACKUP_FORMAT",
    "BACKUP_FORMAT_VERSION",
    "BackupResult",
    "RestoreResult",
    "backup_store",
    "restore_store",
]

BACKUP_FORMAT = "geoverify-backup"
BACKUP_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_SQLITE_MEMBER = "database/geoverify.sqlite"
_PG_MEMBER = "database/geoverify.pgdump"
_LANDCOVER_MEMBER = "landcover/landcover.tif"
_EVIDENCE_PATH = re.compile(r"^evidence/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,5}$")
_PG_ENV = "GEOVERIFY_PG_BIN"

#: ``progress(phase, done, total)``.
ProgressFn = Callable[[str, int, int | None], None]


@dataclass
class BackupResult:
    """What ``backup_store`` wrote."""

    path: Path
    backend: str
    created_at: dt.datetime
    counts: dict[str, int]
    evidence_files: int = 0
    evidence_bytes: int = 0
    landcover: bool = False
    #: Evidence rows whose file is missing or changed in the workspace (not in the backup).
    evidence_problems: list[str] = field(default_factory=list)
    size_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "backend": self.backend,
            "created_at": self.created_at.isoformat(),
            "size_bytes": self.size_bytes,
            "counts": dict(self.counts),
            "evidence_files": self.evidence_files,
            "evidence_bytes": self.evidence_bytes,
            "landcover": self.landcover,
            "evidence_problems": list(self.evidence_problems),
        }


@dataclass
class RestoreResult:
    """What ``restore_store`` did, and what it checked."""

    path: Path
    backend: str
    created_at: str
    counts: dict[str, int]
    evidence_files: int = 0
    landcover: bool = False
    upgraded_from: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "backend": self.backend,
            "backup_created_at": self.created_at,
            "counts": dict(self.counts),
            "evidence_files": self.evidence_files,
            "landcover": self.landcover,
            "upgraded_from": list(self.upgraded_from),
            "verified": True,
        }


# --- PostgreSQL programs ----------------------------------------------------------------------


def _pg_program(name: str) -> str:
    """``pg_dump`` / ``pg_restore``: from $GEOVERIFY_PG_BIN, the PATH, or the newest
    ``/usr/lib/postgresql/*/bin``."""
    folder = os.environ.get(_PG_ENV)
    if folder and (Path(folder) / name).is_file():
        return str(Path(folder) / name)
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return str(candidates[-1])
    msg = (
        f"找不到 {name}，请安装 PostgreSQL 客户端或设置 ${_PG_ENV} "
        f"({name} not found: install the PostgreSQL client programs or set ${_PG_ENV})"
    )
    raise StoreError(msg)


def _libpq(store: Store) -> tuple[str, dict[str, str]]:
    """The store's URL for libpq programs (no password in it) and their environment."""
    url = make_url(str(store.engine.url.render_as_string(hide_password=False)))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], *, env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    except OSError as e:
        msg = f"无法运行 {args[0]} (cannot run {what}): {e}"
        raise StoreError(msg) from e
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        msg = f"{what} 失败 ({what} failed): " + " | ".join(detail)
        raise StoreError(msg)
    return done.stdout


# --- backup -----------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _database_copy(
    store: Store, folder: Path, progress: ProgressFn | None
) -> tuple[Path, store_backup.SnapshotFacts]:
    """The database as a file in ``folder`` and the facts of the same snapshot."""
    if store.backend == "sqlite":
        copy = folder / SQLITE_NAME
        store_backup.sqlite_copy(store, copy)
        view = Store(folder, url=f"sqlite:///{copy.as_posix()}")
        try:
            with view.connect() as conn:
                facts = store_backup.snapshot_facts(conn)
        finally:
            view.dispose()
        if progress is not None:
            progress("snapshot", 1, 1)
        return copy, facts
    dump = folder / "geoverify.pgdump"
    url, env = _libpq(store)
    with store_backup.pg_snapshot(store) as (snapshot, conn):
        facts = store_backup.snapshot_facts(conn)
        if progress is not None:
            progress("snapshot", 1, 1)  # the snapshot is held; writers go on
        _run(
            [
                _pg_program("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--schema={facts.schema}",
                f"--snapshot={snapshot}",
                f"--file={dump}",
                f"--dbname={url}",
            ],
            env=env,
            what="pg_dump",
        )
    return dump, facts


def backup_store(
    store: Store, out: str | os.PathLike[str], *, progress: ProgressFn | None = None
) -> BackupResult:
    """Write a backup of the store, its evidence photos and land cover to ``out`` (a tar file).

    Writers may run meanwhile: the archive holds one consistent snapshot. ``out`` must not
    exist; it appears only when complete (written as ``out.partial`` and renamed). A tar name
    ending in ``.gz``/``.tgz`` is compressed. ``progress(phase, done, total)`` is called once
    the snapshot is taken (``"snapshot"``) and for each evidence file (``"evidence"``).

    Raises
    ------
    InputError
        ``out`` exists, or its folder cannot be written.
    StoreError
        The store cannot be copied (``pg_dump`` missing or failing).
    """
    store.require()
    dest = Path(out)
    if dest.exists():
        msg = f"{dest}: 文件已存在，不会覆盖 (already exists; not overwritten)"
        raise InputError(msg)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        msg = f"无法创建文件夹 (cannot create the folder) {dest.parent}: {e.strerror}"
        raise InputError(msg) from e
    created = dt.datetime.now(dt.UTC)
    partial = dest.with_name(dest.name + ".partial")
    mode = "w:gz" if dest.name.endswith((".gz", ".tgz")) else "w"
    with tempfile.TemporaryDirectory(prefix="geoverify-backup-") as tmp:
        db_file, facts = _database_copy(store, Path(tmp), progress)
        res = BackupResult(dest, store.backend, created, facts.counts)
        files: list[dict[str, Any]] = []
        try:
            with tarfile.open(partial, mode) as tar:  # type: ignore[call-overload]
                member = _SQLITE_MEMBER if store.backend == "sqlite" else _PG_MEMBER
                tar.add(db_file, arcname=member)
                for i, ev in enumerate(facts.evidence, start=1):
                    _add_evidence(tar, store.workspace, ev, files, res)
                    if progress is not None:
                        progress("evidence", i, len(facts.evidence))
                land = landcover_path(store)
                land_sha = None
                if land.is_file():
                    land_sha = _sha256(land)
                    tar.add(land, arcname=_LANDCOVER_MEMBER)
                    res.landcover = True
                manifest = {
                    "format": BACKUP_FORMAT,
                    "format_version": BACKUP_FORMAT_VERSION,
                    "geoverify_version": __version__,
                    "created_at": created.isoformat(),
                    "backend": store.backend,
                    "database": member,
                    "pg_schema": facts.schema,
                    "schema_heads": facts.heads,
                    "counts": facts.counts,
                    "evidence": files,
                    "landcover": {"path": _LANDCOVER_MEMBER, "sha256": land_sha}
                    if land_sha
                    else None,
                }
                data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(created.timestamp())
                tar.addfile(info, io.BytesIO(data))
            partial.replace(dest)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    res.size_bytes = dest.stat().st_size
    return res


def _add_evidence(
    tar: tarfile.TarFile,
    workspace: Path,
    ev: dict[str, Any],
    files: list[dict[str, Any]],
    res: BackupResult,
) -> None:
    rel = str(ev["stored_path"])
    path = workspace / rel
    if not _EVIDENCE_PATH.match(rel) or not path.is_file():
        res.evidence_problems.append(f"{rel}: 文件缺失 (file missing)")
        return
    sha = _sha256(path)
    if sha != ev["sha256"]:
        res.evidence_problems.append(f"{rel}: 文件内容已改变 (file content changed)")
        return
    tar.add(path, arcname=rel)
    files.append({"path": rel, "sha256": sha, "size": path.stat().st_size})
    res.evidence_files += 1
    res.evidence_bytes += path.stat().st_size


# --- restore ----------------------------------------------------------------------------------


@contextmanager
def _open_backup(path: Path) -> Iterator[tuple[tarfile.TarFile, dict[str, Any]]]:
    if not path.is_file():
        msg = f"{path}: 备份文件不存在 (backup file not found)"
        raise InputError(msg)
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError) as e:
        msg = f"{path}: 不是 geoverify 备份文件或已损坏 (not a geoverify backup, or corrupt): {e}"
        raise InputError(msg) from e
    with tar:
        try:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(member.read().decode("utf-8"))
        except (tarfile.TarError, KeyError, OSError, EOFError, ValueError) as e:
            msg = (
                f"{path}: 不是 geoverify 备份文件或已损坏 (not a geoverify backup, or corrupt): {e}"
            )
            raise InputError(msg) from e
        if manifest.get("format") != BACKUP_FORMAT:
            msg = f"{path}: 不是 geoverify 备份文件 (not a geoverify backup)"
            raise InputError(msg)
        if manifest.get("format_version") != BACKUP_FORMAT_VERSION:
            msg = (
                f"{path}: 备份格式版本 {manifest.get('format_version')} 不受支持 "
                f"(unsupported backup format version)"
            )
            raise InputError(msg)
        yield tar, manifest


def _extract(tar: tarfile.TarFile, name: str, dest: Path, *, sha256: str | None = None) -> None:
    """One member to ``dest`` (written as ``.part`` and renamed), checked against its hash."""
    try:
        src = tar.extractfile(name)
    except KeyError as e:
        msg = f"备份中缺少 {name} (missing from the backup)"
        raise InputError(msg) from e
    if src is None:
        msg = f"备份中的 {name} 不是文件 (not a file in the backup)"
        raise InputError(msg)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    with tmp.open("wb") as fh:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk)
            fh.write(chunk)
    if sha256 is not None and h.hexdigest() != sha256:
        tmp.unlink()
        msg = f"备份中的 {name} 校验失败 (checksum mismatch in the backup)"
        raise InputError(msg)
    tmp.replace(dest)


def _check_target_empty(store: Store, manifest: dict[str, Any], path: Path) -> None:
    backend = manifest.get("backend")
    if backend != store.backend:
        where = "不带 --database-url 的工作区" if backend == "sqlite" else " PostgreSQL 数据库"
        msg = (
            f"{path}: 这是 {backend} 的备份，请恢复到{where} "
            f"(a {backend} backup restores into a {backend} store)"
        )
        raise InputError(msg)
    if store.backend == "sqlite":
        db = store.sqlite_path
        if db is not None and db.exists():
            msg = (
                f"{db}: 目标工作区已有数据库，恢复只写入空的工作区 "
                "(the workspace already has a database; restore into an empty workspace)"
            )
            raise InputError(msg)
        return
    with store.connect() as conn:
        schema = store_backup.current_schema(conn)
        existing = store_backup.geoverify_tables(conn)
    if existing:
        msg = (
            f"模式 {schema} 中已有 geoverify 的表，恢复只写入空的数据库 "
            f"(schema {schema} already holds geoverify tables: {', '.join(existing[:5])}; "
            "restore into an empty database)"
        )
        raise InputError(msg)
    if schema != manifest.get("pg_schema"):
        msg = (
            f"备份来自模式 {manifest.get('pg_schema')}，目标为 {schema}，请使用同名的模式 "
            f"(the backup is of schema {manifest.get('pg_schema')!r}, the target is {schema!r})"
        )
        raise InputError(msg)


def _pg_restore(store: Store, tar: tarfile.TarFile, manifest: dict[str, Any], tmp: Path) -> None:
    dump = tmp / "geoverify.pgdump"
    _extract(tar, str(manifest["database"]), dump)
    url, env = _libpq(store)
    program = _pg_program("pg_restore")
    listing = _run([program, "--list", str(dump)], env=env, what="pg_restore --list")
    # The schema itself is made here (it may be "public"); everything in it comes from the dump.
    keep = [line for line in listing.splitlines() if " SCHEMA - " not in line]
    (tmp / "restore.list").write_text("\n".join(keep) + "\n", encoding="utf-8")
    with store.begin() as conn:
        store_backup.create_schema(conn, str(manifest["pg_schema"]))
    _run(
        [
            program,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--use-list={tmp / 'restore.list'}",
            f"--dbname={url}",
            str(dump),
        ],
        env=env,
        what="pg_restore",
    )


def restore_store(store: Store, backup: str | os.PathLike[str]) -> RestoreResult:
    """Restore a backup made by :func:`backup_store` into an empty workspace / database.

    Evidence photos and land cover go under the store's workspace. A backup of an older schema
    is upgraded. Afterwards every table must have the manifest's row count and every evidence
    file its SHA-256.

    Raises
    ------
    InputError
        Not a backup, a corrupt one, another backend, or the target is not empty.
    StoreError
        ``pg_restore`` failed, or the restored store does not match the manifest.
    """
    path = Path(backup)
    written: list[Path] = []
    with _open_backup(path) as (tar, manifest):
        _check_target_empty(store, manifest, path)
        try:
            for ev in manifest.get("evidence", []):
                rel = str(ev["path"])
                if not _EVIDENCE_PATH.match(rel):
                    msg = f"{path}: 备份中的证据路径无效 (bad evidence path) {rel!r}"
                    raise InputError(msg)
                dest = store.workspace / PurePosixPath(rel)
                if dest.exists():
                    if _sha256(dest) != ev["sha256"]:
                        msg = f"{dest}: 已存在且内容不同 (exists with other content)"
                        raise InputError(msg)
                    continue
                _extract(tar, rel, dest, sha256=str(ev["sha256"]))
                written.append(dest)
            land = manifest.get("landcover")
            if land:
                dest = landcover_path(store)
                if not dest.exists():
                    _extract(tar, str(land["path"]), dest, sha256=str(land["sha256"]))
                    written.append(dest)
            with tempfile.TemporaryDirectory(prefix="geoverify-restore-") as tmp:
                if store.backend == "sqlite":
                    # Checked before it takes the workspace's place.
                    copy = Path(tmp) / SQLITE_NAME
                    _extract(tar, str(manifest["database"]), copy)
                    view = Store(tmp, url=f"sqlite:///{copy.as_posix()}")
                    try:
                        _check_counts(view, manifest)
                    finally:
                        view.dispose()
                    db = store.sqlite_path
                    assert db is not None
                    store.workspace.mkdir(parents=True, exist_ok=True)
                    shutil.move(copy, db)
                    written.append(db)
                else:
                    _pg_restore(store, tar, manifest, Path(tmp))
                    _check_counts(store, manifest, left=True)
        except BaseException:
            for p in written:
                p.unlink(missing_ok=True)
            raise
    store.dispose()
    res = RestoreResult(
        path,
        store.backend,
        str(manifest.get("created_at")),
        {},
        evidence_files=len(manifest.get("evidence", [])),
        landcover=bool(manifest.get("landcover")),
    )
    if not store.is_initialised():
        res.upgraded_from = list(manifest.get("schema_heads", []))
        store.upgrade()
    _verify(store, manifest, res)
    return res


def _check_counts(store: Store, manifest: dict[str, Any], *, left: bool = False) -> dict[str, int]:
    """The restored database holds the manifest's row count in every table."""
    with store.connect() as conn:
        counts = store_backup.snapshot_facts(conn).counts
    expected: dict[str, int] = {str(k): int(v) for k, v in manifest["counts"].items()}
    wrong = {k: (v, counts.get(k)) for k, v in expected.items() if counts.get(k) != v}
    if wrong:
        kept = "，数据留在原处以便检查 (left in place for inspection)" if left else ""
        msg = (
            f"恢复后行数与备份不符{kept} (row counts differ after restore; "
            f"table: (backup, restored)): {wrong}"
        )
        raise StoreError(msg)
    return counts


def _verify(store: Store, manifest: dict[str, Any], res: RestoreResult) -> None:
    res.counts = _check_counts(store, manifest)
    for ev in manifest.get("evidence", []):
        dest = store.workspace / PurePosixPath(str(ev["path"]))
        if not dest.is_file() or _sha256(dest) != ev["sha256"]:
            msg = f"恢复后证据文件不符 (evidence file differs after restore): {ev['path']}"
            raise StoreError(msg)
