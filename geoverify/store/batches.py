"""Batches (下发批次) and the rows a batch import writes, on a caller's connection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, RowMapping, func, select

from geoverify.errors import NotFoundError
from geoverify.store import tables as t

__all__ = [
    "batch_of_import",
    "find_batch",
    "get_batch",
    "insert_batch",
    "insert_rejected_rows",
    "insert_target_issues",
    "insert_targets",
    "known_target_ids",
    "list_batches",
]

#: Rows per statement when looking up or inserting many targets: no statement grows with a batch.
CHUNK = 500
#: Keys per look-up of a large batch's target ids.
LOOKUP_CHUNK = 2000


def find_batch(conn: Connection, batch_id: str) -> RowMapping | None:
    """The batch row, or None."""
    row = conn.execute(select(t.batches).where(t.batches.c.id == batch_id)).first()
    return row._mapping if row is not None else None


def get_batch(conn: Connection, batch_id: str) -> dict[str, Any]:
    """The batch row as a dict; :class:`NotFoundError` when there is no such batch."""
    row = find_batch(conn, batch_id)
    if row is None:
        msg = f"没有批次 {batch_id} (no such batch)"
        raise NotFoundError(msg)
    return dict(row)


def batch_of_import(conn: Connection, import_id: int) -> str:
    """The id of the batch an import created."""
    return str(
        conn.execute(select(t.batches.c.id).where(t.batches.c.import_id == import_id)).scalar_one()
    )


def list_batches(conn: Connection) -> pd.DataFrame:
    """Every batch row, oldest first."""
    rows = conn.execute(select(t.batches).order_by(t.batches.c.imported_at)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in t.batches.c])


def known_target_ids(conn: Connection, target_ids: Iterable[str]) -> dict[str, int]:
    """Store key of each of ``target_ids`` already in the store, looked up in chunks."""
    ids = list(target_ids)
    c = t.targets.c
    if len(ids) > CHUNK:
        # No targets stored yet, or no more than asked for (keys count up; the largest
        # bounds their number): none to look up, or read them all once.
        stored = int(conn.execute(select(func.max(c.id))).scalar() or 0)
        if stored == 0:
            return {}
        if stored <= len(ids):
            asked = set(ids)
            found = conn.execute(select(c.target_id, c.id))
            return {str(k): int(v) for k, v in found if k in asked}
    ids = list(dict.fromkeys(ids))
    out: dict[str, int] = {}
    if len(ids) <= CHUNK:
        found = conn.execute(select(c.target_id, c.id).where(c.target_id.in_(ids)))
        out.update({str(k): int(v) for k, v in found})
        return out
    # A large batch: one statement run on the driver's own cursor, chunk after chunk. On
    # PostgreSQL a chunk is one array parameter; on SQLite LOOKUP_CHUNK parameters (the last
    # chunk is padded with its first key, so the statement never changes).
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        sql = f"SELECT target_id, id FROM {t.targets.name} WHERE target_id = ANY(%s)"
    else:
        marks = ", ".join(["?"] * LOOKUP_CHUNK)
        sql = f"SELECT target_id, id FROM {t.targets.name} WHERE target_id IN ({marks})"
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        for start in range(0, len(ids), LOOKUP_CHUNK):
            part = ids[start : start + LOOKUP_CHUNK]
            if postgres:
                cur.execute(sql, (part,))
            else:
                cur.execute(sql, part + [part[0]] * (LOOKUP_CHUNK - len(part)))
            out.update({str(k): int(v) for k, v in cur.fetchall()})
    finally:
        cur.close()
    return out


def insert_batch(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(t.batches.insert().values(**dict(values)))


def insert_targets(
    conn: Connection,
    rows: Sequence[Mapping[str, Any]],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Insert target rows (keys starting with ``_`` are ignored); their store keys, in order."""
    pks: list[int] = []
    stmt = t.targets.insert().returning(t.targets.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), CHUNK):
        part = [
            {k: v for k, v in r.items() if not k.startswith("_")}
            for r in rows[start : start + CHUNK]
        ]
        pks += [int(pk) for pk in conn.execute(stmt, part).scalars()]
        if progress is not None:
            progress(len(pks), len(rows))
    return pks


def insert_target_issues(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Link targets to the batches that issued them (a re-issue links, never duplicates)."""
    if rows:
        conn.execute(t.target_issues.insert(), [dict(r) for r in rows])


def insert_rejected_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record rows an ``--accept-partial`` import refused (append-only)."""
    if rows:
        conn.execute(t.rejected_rows.insert(), [dict(r) for r in rows])
