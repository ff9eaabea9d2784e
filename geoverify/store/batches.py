"""Batches (下发批次) and the rows a batch import writes, on a caller's connection."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Self

import pandas as pd
from sqlalchemy import Connection, RowMapping, func, select

from geoverify.errors import NotFoundError
from geoverify.store import bulk
from geoverify.store import tables as t

__all__ = [
    "IssueWriter",
    "batch_of_import",
    "find_batch",
    "get_batch",
    "insert_batch",
    "insert_rejected_rows",
    "issuing_batches",
    "known_target_ids",
    "link_reissued",
    "list_batches",
    "outside_targets_of",
    "rejected_rows_of",
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


def import_summary(conn: Connection, import_id: int) -> dict[str, Any]:
    """The summary an import kept of itself."""
    summary = conn.execute(
        select(t.imports.c.summary).where(t.imports.c.id == import_id)
    ).scalar_one()
    return dict(summary or {})


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


def issuing_batches(conn: Connection, targets: Sequence[int]) -> dict[str, int]:
    """How many of ``targets`` (store keys) each batch has issued, most first (ties by id);
    looked up in chunks (no statement grows with the targets)."""
    issue = t.target_issues.c
    keys = list(dict.fromkeys(int(k) for k in targets))
    counts: Counter[str] = Counter()
    for i in range(0, len(keys), LOOKUP_CHUNK):
        part = keys[i : i + LOOKUP_CHUNK]
        found = conn.execute(
            select(issue.batch_id, func.count())
            .where(issue.target.in_(part))
            .group_by(issue.batch_id)
        )
        counts.update({str(b): int(n) for b, n in found})
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def insert_batch(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(t.batches.insert().values(**dict(values)))


def insert_rejected_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record rows an ``--accept-partial`` import refused (append-only)."""
    if rows:
        conn.execute(t.rejected_rows.insert(), [dict(r) for r in rows])


def rejected_rows_of(conn: Connection, batch_id: str) -> list[dict[str, Any]]:
    """The rows an ``accept_partial`` import of the batch refused, by row number."""
    r = t.rejected_rows.c
    found = conn.execute(
        select(r.row, r.target_id, r.code, r.reason, r.field, r.value)
        .where(r.batch_id == batch_id)
        .order_by(r.row, r.id)
    )
    return [dict(m) for m in found.mappings()]


def outside_targets_of(conn: Connection, batch_id: str) -> dict[str, list[Any]]:
    """The batch's new targets (not re-issued) assigned outside the town, by the file's row:
    columns ``row``, ``target_id``, ``lon``, ``lat`` and ``distance_m`` (the assignment's)."""
    tg, issue = t.targets.c, t.target_issues.c
    found = conn.execute(
        select(issue.row, tg.target_id, tg.lon, tg.lat, tg.assignment_detail)
        .select_from(t.target_issues.join(t.targets, tg.id == issue.target))
        .where(
            issue.batch_id == batch_id,
            issue.reissue.is_(False),
            tg.assignment == "outside",
        )
        .order_by(issue.row, tg.id)
    ).all()
    return {
        "row": [r[0] for r in found],
        "target_id": [r[1] for r in found],
        "lon": [r[2] for r in found],
        "lat": [r[3] for r in found],
        "distance_m": [(r[4] or {}).get("distance_m") for r in found],
    }


class IssueWriter:
    """A batch's new targets, written chunk by chunk (:meth:`write`), each with its link to
    the batch and its ``issued`` event, on the caller's connection (inside its transaction).

    On PostgreSQL each chunk goes by COPY from a writer thread while the caller builds the
    next; on SQLite a batch that at least doubles the store builds the tables' secondary
    indexes once, at the end (:func:`bulk.indexes_deferred`). Make it after the transaction
    has written something (the batch row): the new targets' keys are reserved on entry."""

    #: Rows per :meth:`write` (memory only: chunks of any size are written alike).
    chunk = bulk.CHUNK
    _written = (t.targets, t.target_issues, t.events)

    def __init__(
        self, conn: Connection, *, batch_id: str, n: int, at: dt.datetime, actor: str, host: str
    ) -> None:
        self._conn = conn
        self._batch_id, self._n, self._at, self._actor, self._host = batch_id, n, at, actor, host
        self._stack = contextlib.ExitStack()
        self._load: bulk.Loader | None = None
        #: The new targets' store keys, in the order they are written.
        self.keys: list[int] = []

    def __enter__(self) -> Self:
        with contextlib.ExitStack() as stack:
            self.keys = bulk.reserve_ids(self._conn, t.targets, self._n)
            stack.enter_context(bulk.indexes_deferred(self._conn, self._written, self._n))
            self._load = stack.enter_context(bulk.Loader(self._conn))
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._load = None
        self._stack.__exit__(*exc)

    def write(
        self,
        part: slice,
        targets: Mapping[str, Sequence[Any]],
        *,
        rows: Sequence[int],
        sources: Sequence[str],
        payloads: Sequence[Any],
    ) -> None:
        """The targets ``part`` of the batch: their ``targets`` columns (without the key;
        ``attributes`` as JSON text), the file's ``rows`` they came from, and their events'
        ``sources`` and ``payloads``."""
        load = self._load
        assert load is not None, "IssueWriter.write outside its with block"
        keys = self.keys[part]
        m = len(keys)
        load.insert(
            t.targets, {**targets, "id": keys, "attributes": bulk.JSONTexts(targets["attributes"])}
        )
        # The first issue: the target's own geometry and columns (NULL, no second copy).
        nothing = bulk.Encoded([None] * m)
        load.insert(
            t.target_issues,
            {
                "target": keys,
                "batch_id": [self._batch_id] * m,
                "row": rows,
                "reissue": [False] * m,
                "geometry": nothing,
                "attributes": nothing,
            },
        )
        load.insert(
            t.events,
            {
                "target": keys,
                "batch_id": [self._batch_id] * m,
                "at": [self._at] * m,
                "actor": [self._actor] * m,
                "host": [self._host] * m,
                "kind": ["issued"] * m,
                "source": sources,
                "payload": payloads,
            },
        )


def link_reissued(
    conn: Connection,
    *,
    batch_id: str,
    targets: Sequence[int],
    rows: Sequence[int],
    geometries: Sequence[Any],
    attributes: Sequence[str],
    payloads: Sequence[Any],
    at: dt.datetime,
    actor: str,
    host: str,
    sources: Sequence[str],
) -> None:
    """Link stored ``targets`` (store keys) to the batch that issues them again, with the
    file's ``rows``, the geometries and ``attributes`` (JSON text) this batch gave them, and
    a ``reissued`` event each (``payloads`` and ``sources`` theirs)."""
    n = len(targets)
    bulk.insert_rows(
        conn,
        t.target_issues,
        {
            "target": targets,
            "batch_id": [batch_id] * n,
            "row": rows,
            "reissue": [True] * n,
            "geometry": geometries,
            "attributes": bulk.JSONTexts(attributes),
        },
    )
    bulk.insert_rows(
        conn,
        t.events,
        {
            "target": targets,
            "batch_id": [batch_id] * n,
            "at": [at] * n,
            "actor": [actor] * n,
            "host": [host] * n,
            "kind": ["reissued"] * n,
            "source": sources,
            "payload": list(payloads),
        },
    )
