"""The store's side of a backup: a consistent copy or snapshot, and the facts that go with it.

SQLite: the online backup API copies the database while writers carry on (one step, one read
snapshot). PostgreSQL: a REPEATABLE READ transaction exports its snapshot, so that ``pg_dump
--snapshot`` dumps exactly what the same transaction counts. The facts (row counts, evidence
rows, migration heads, schema) are read from the copy or inside the snapshot, never from the
live store, so they describe the backup and nothing written after it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text

from geoverify.errors import StoreError
from geoverify.store import repo
from geoverify.store.database import Store
from geoverify.store.tables_feedback import evidence

__all__ = [
    "SnapshotFacts",
    "create_schema",
    "current_schema",
    "geoverify_tables",
    "pg_snapshot",
    "snapshot_facts",
    "sqlite_copy",
]


@dataclass(frozen=True)
class SnapshotFacts:
    """What a consistent view of the store holds."""

    #: Rows per table.
    counts: dict[str, int]
    #: Every evidence row: ``sha256``, ``stored_path``, ``size_bytes`` (distinct files).
    evidence: list[dict[str, Any]]
    #: Alembic heads of the schema.
    heads: list[str]
    #: The PostgreSQL schema of the tables (None on SQLite).
    schema: str | None


def snapshot_facts(conn: Connection) -> SnapshotFacts:
    """Row counts, evidence files, migration heads and schema, on ``conn``'s view."""
    ev = evidence.c
    files: dict[str, dict[str, Any]] = {}
    for sha, path, size in conn.execute(
        select(ev.sha256, ev.stored_path, ev.size_bytes).order_by(ev.id)
    ).all():
        files.setdefault(
            str(path), {"sha256": str(sha), "stored_path": str(path), "size": int(size)}
        )
    heads = sorted(MigrationContext.configure(conn).get_current_heads())
    schema = current_schema(conn) if conn.dialect.name == "postgresql" else None
    return SnapshotFacts(repo.count_rows(conn), list(files.values()), heads, schema)


def sqlite_copy(store: Store, dest: Path) -> None:
    """Copy the store's SQLite file to ``dest`` with the online backup API (writers go on)."""
    src_path = store.sqlite_path
    if src_path is None or not src_path.exists():
        msg = f"找不到 SQLite 数据库文件 (no SQLite database file): {src_path}"
        raise StoreError(msg)
    try:
        src = sqlite3.connect(f"file:{src_path.as_posix()}?mode=ro", uri=True, timeout=60)
        try:
            dst = sqlite3.connect(dest)
            try:
                src.backup(dst)  # all pages in one step: one consistent read snapshot
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as e:
        msg = f"无法备份 SQLite 数据库 (cannot back up the SQLite database) {src_path}: {e}"
        raise StoreError(msg) from e


@contextmanager
def pg_snapshot(store: Store) -> Iterator[tuple[str, Connection]]:
    """A REPEATABLE READ transaction on PostgreSQL and its exported snapshot id.

    While the block runs, ``pg_dump --snapshot=ID`` sees exactly what ``conn`` sees.
    """
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            yield snapshot, conn


def current_schema(conn: Connection) -> str:
    """The schema new tables go to (the first of the search path) on PostgreSQL."""
    return str(conn.execute(text("SELECT current_schema()")).scalar_one())


def create_schema(conn: Connection, name: str) -> None:
    """Create a PostgreSQL schema unless it exists."""
    quoted = conn.dialect.identifier_preparer.quote_identifier(name)
    conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))


def geoverify_tables(conn: Connection) -> list[str]:
    """geoverify's tables (and ``alembic_version``) that exist in the store's schema."""
    from geoverify.store import tables as t

    names = {table.name for table in t.metadata.sorted_tables} | {"alembic_version"}
    return sorted(names & set(inspect(conn).get_table_names()))
