"""Many rows at once: COPY on PostgreSQL, INSERTs of many rows each on SQLite; no statement
grows with the batch.

A batch of a million targets writes three million rows (targets, their issue links, their
events). Through SQLAlchemy's per-row parameter processing that takes minutes; here each column
is encoded once, as the column's own type encodes it, and the rows go to the driver on the
caller's connection (so inside the caller's transaction). On SQLite a column with one value
for every row is written into the statement once instead of being bound row by row.
:class:`Loader` sends PostgreSQL's COPY blocks from a writer thread, so the server works on one
chunk while the caller builds the next.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import datetime as dt
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self, SupportsIndex, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Float, Table, func, select

from geoverify.geo import STORE_CRS
from geoverify.jsontext import dumps_json, dumps_json_strict
from geoverify.store import tables as t
from geoverify.store.database import WRITE_LOCK_KEY
from geoverify.store.types import STORE_SRID, GeometryColumn

__all__ = [
    "CHUNK",
    "Encoded",
    "JSONText",
    "JSONTexts",
    "Loader",
    "dumps_json",
    "dumps_json_strict",
    "insert_rows",
    "load_targets_by_pk",
    "reserve_ids",
    "target_geometries",
]

_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")

#: Keys per lookup statement.
LOOKUP_CHUNK = 500

#: Rows handed to the driver per call (memory only: every call is the same statement).
CHUNK = 50_000


class JSONText(str):
    """A JSON document already serialised (as the store's JSON columns would), written as it
    is."""

    __slots__ = ()


class Encoded(list[Any]):
    """A column's values already encoded as the driver takes them (as ``None`` is everywhere),
    written as they are; a slice is one too."""

    __slots__ = ()

    @overload
    def __getitem__(self, i: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> Self: ...
    def __getitem__(self, i: SupportsIndex | slice) -> Any:
        if isinstance(i, slice):
            return type(self)(super().__getitem__(i))
        return super().__getitem__(i)


class JSONTexts(Encoded):
    """A column of JSON documents already serialised (plain ``str`` each, the text the
    store's JSON columns would give), written as they are on either store."""

    __slots__ = ()


def _json_serializer(conn: Connection) -> Any:
    serialize = getattr(conn.dialect, "_json_serializer", None)
    if serialize is None:
        serialize = dumps_json
    return serialize


def reserve_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` new primary keys of ``table`` for rows the caller inserts with explicit keys.

    PostgreSQL: the key's sequence moved on by ``n`` in one statement (its next value, then
    ``setval`` to the last of the ``n``; a million ``nextval`` calls took 4 s), under the
    store's write lock (taken here if the transaction does not hold it yet), so no geoverify
    writer draws from the sequence meanwhile; a row inserted meanwhile by a session that does
    not take the lock could get a reserved key, and the import then fails on it (a unique
    key), never writes over it. SQLite: the keys after the largest one; call this after the
    transaction has written something (SQLite then holds the database's write lock, so no one
    else can take the same keys).
    """
    if n <= 0:
        return []
    pk = table.primary_key.columns.values()[0]
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT setval(s.seq, nextval(s.seq) + %s) - %s FROM "
            "(SELECT pg_get_serial_sequence(%s, %s) AS seq) AS s"
        )
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            cur.execute(sql, (n - 1, n - 1, table.name, pk.name))
            row = cur.fetchone()
        assert row is not None
        first = int(row[0])
        return list(range(first, first + n))
    start = int(conn.execute(select(func.max(pk))).scalar() or 0)
    return list(range(start + 1, start + n + 1))


def _encode(conn: Connection, table: Table, name: str, values: Sequence[Any]) -> list[Any]:
    """Values of one column as the driver takes them, encoded as the column type does."""
    if isinstance(values, Encoded):
        return list(values)
    col_type = table.c[name].type
    postgres = conn.dialect.name == "postgresql"
    if isinstance(col_type, GeometryColumn):
        geoms = np.empty(len(values), dtype=object)
        geoms[:] = list(values)
        if postgres:  # COPY reads hex EWKB text
            with_srid = shapely.set_srid(geoms, STORE_SRID)
            hexes: list[Any] = shapely.to_wkb(with_srid, hex=True, include_srid=True).tolist()
            return hexes
        # bytearray: the sqlite3 driver binds it as the same BLOB as bytes, without first
        # looking for an adapter for it (about 100 ns a value instead of 400 here).
        return list(map(bytearray, shapely.to_wkb(geoms).tolist()))
    impl = col_type.dialect_impl(conn.dialect)
    if impl.__visit_name__ in ("JSON", "JSONB"):
        serialize = _json_serializer(conn)
        return [v if type(v) is JSONText else serialize(v) for v in values]
    process = impl.bind_processor(conn.dialect)
    if process is None:
        return list(values)
    if (
        isinstance(col_type, Float)
        and not col_type.asdecimal
        and set(map(type, values)) <= {float, type(None)}
    ):
        return list(values)  # float(x) is x
    # Dates and times repeat (every row of an import has the same time): encode each once.
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # unhashable values: one at a time
        return [process(v) for v in values]
    if len(distinct) == 1:
        return [process(next(iter(distinct)))] * len(values)
    done = {v: process(v) for v in distinct}
    return list(map(done.__getitem__, values))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _escape_all(texts: list[str]) -> list[str]:
    """COPY escapes of many texts at once: joined, escaped and split again (when no text
    holds the NUL character that joins them; PostgreSQL refuses NUL in text anyway)."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1:
        return [t.translate(_COPY_ESCAPES) for t in texts]
    if _NEEDS_ESCAPE.search(joined) is None:
        return texts
    for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        joined = joined.replace(char, escaped)
    return joined.split("\x00")


def _copy_texts(values: Sequence[Any]) -> list[str]:
    """A column's values in COPY text format, a whole column at a time where it can be:
    repeated values once each, text escaped all at once, numbers through their own repr."""
    values = list(values)
    kinds = set(map(type, values))
    # Repeated values once each; only within one type (1, 1.0 and True are one key to a dict).
    if len(kinds - {type(None)}) <= 1:
        try:
            distinct = dict.fromkeys(values)
        except TypeError:  # unhashable: one value at a time
            return [_copy_text(v) for v in values]
        if len(distinct) * 2 <= len(values):
            done = {v: _copy_text(v) for v in distinct}
            return list(map(done.__getitem__, values))
    if all(issubclass(k, str) for k in kinds):
        return _escape_all(values)
    if kinds == {int}:
        return list(map(int.__repr__, values))
    if kinds == {float}:
        return list(map(float.__repr__, values))
    if all(k is type(None) or issubclass(k, str) for k in kinds):
        nulls = [i for i, v in enumerate(values) if v is None]
        out = _escape_all([v if v is not None else "" for v in values])
        for i in nulls:
            out[i] = "\\N"
        return out
    return [_copy_text(v) for v in values]


def _check_columns(table: Table, columns: Mapping[str, Sequence[Any]]) -> int:
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    if any(len(columns[c]) != n for c in names):
        msg = f"columns of unequal length for {table.name}"
        raise ValueError(msg)
    return n


def _copy_block(conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]) -> bytes:
    """Rows (at most :data:`CHUNK`) in PostgreSQL's COPY text format."""
    encoded = [_encode(conn, table, c, values) for c, values in columns.items()]
    text_columns = [_copy_texts(values) for values in encoded]
    del encoded
    lines = map("\t".join, zip(*text_columns, strict=True))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _copy_sql(table: Table, names: Sequence[str]) -> str:
    quoted = ", ".join(f'"{c}"' for c in names)
    return f'COPY "{table.name}" ({quoted}) FROM STDIN'


def _copy(raw: Any, sql: str, block: bytes) -> None:
    with raw.cursor() as cur, cur.copy(sql) as cp:
        cp.write(block)


def insert_rows(conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]) -> int:
    """Insert rows given column by column (equal lengths); returns the number of rows."""
    names = list(columns)
    n = _check_columns(table, columns)
    if n == 0:
        return 0
    raw = conn.connection.driver_connection
    assert raw is not None
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        part = {c: columns[c][start:stop] for c in names}
        if conn.dialect.name == "postgresql":
            _copy(raw, _copy_sql(table, names), _copy_block(conn, table, part))
        else:
            encoded = [_encode(conn, table, c, values) for c, values in part.items()]
            _sqlite_insert(raw, table, names, encoded)
    return n


#: Rows per INSERT statement on SQLite: one statement of many rows spares the driver's work
#: per row of ``executemany`` (about a quarter of the time of a wide row).
SQLITE_ROWS_PER_STATEMENT = 100
_INT64 = range(-(2**63), 2**63)


def _sql_literal(value: Any) -> str | None:
    """``value`` as an SQLite literal of the same type and value a bound parameter would
    have, or None when it has none (floats keep their parameter: SQLite's own reading of a
    decimal may not give the same bits)."""
    if value is None:
        return "NULL"
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    if type(value) is int and value in _INT64:
        return str(value)
    if type(value) is bool:
        return str(int(value))
    return None


def _counts_up(values: list[Any]) -> bool:
    """True when ``values`` are the integers ``first, first + 1, …`` (keys, row numbers),
    far enough from int64's ends that SQLite's sums stay integers."""
    first = values[0]
    return (
        type(first) is int
        and -(2**62) < first < 2**62
        and values[-1] == first + len(values) - 1
        and set(map(type, values)) == {int}
        and values == list(range(first, first + len(values)))
    )


def _sqlite_insert(raw: Any, table: Table, names: Sequence[str], encoded: list[list[Any]]) -> None:
    """Insert encoded columns with multi-row ``INSERT … VALUES`` statements.

    A column with one value for every row (the batch, the time of the import, an empty
    column) is written into the statement as a literal, and one that counts up by one (the
    new keys, row numbers) as its first value plus the row's place in the statement, instead
    of being bound row by row: the driver's work per bound value is most of an insert's."""
    n = len(encoded[0])
    cells: list[tuple[str, Any]] = []  # ("literal", text) | ("count", first) | ("row", values)
    for values in encoded:
        first = values[0]
        literal = None
        # 1, 1.0 and True are equal but bound differently: one type only.
        if values.count(first) == n and (
            type(first) not in (int, bool) or set(map(type, values)) == {type(first)}
        ):
            literal = _sql_literal(first)
        if literal is not None:
            cells.append(("literal", literal))
        elif n > 1 and _counts_up(values):
            cells.append(("count", first))
        else:
            cells.append(("row", values))
    bound = [values for kind, values in cells if kind == "row"]
    firsts = [first for kind, first in cells if kind == "count"]
    width, counted = len(bound), len(firsts)
    flat: list[Any] = [None] * (n * width)
    for j, values in enumerate(bound):
        flat[j::width] = values
    del bound
    limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(SQLITE_ROWS_PER_STATEMENT, (limit - counted) // max(width, 1)))
    quoted = ", ".join(f'"{c}"' for c in names)
    head = f'INSERT INTO "{table.name}" ({quoted}) VALUES '

    def statement(rows: int) -> str:
        """The INSERT of ``rows`` rows: parameters ?1… the counting columns' first values,
        then the bound values row by row."""
        out = []
        for k in range(rows):
            row, count, bind = [], 0, counted + k * width
            for kind, value in cells:
                if kind == "literal":
                    row.append(value)
                elif kind == "count":
                    count += 1
                    row.append(f"?{count}" if k == 0 else f"(?{count} + {k})")
                else:
                    bind += 1
                    row.append(f"?{bind}")
            out.append(f"({', '.join(row)})")
        return head + ", ".join(out)

    cur = raw.cursor()
    try:
        full = n - n % per
        sql = statement(per)
        step = per * width
        for start in range(0, full, per):
            part = flat[start * width : start * width + step]
            cur.execute(sql, [f + start for f in firsts] + part if counted else part)
        if full < n:
            part = flat[full * width :]
            cur.execute(statement(n - full), [f + full for f in firsts] + part)
    finally:
        cur.close()


#: Rows from which an import into a table no larger than the rows builds its secondary
#: indexes afterwards, on SQLite.
DEFER_INDEXES_FROM = 50_000


@contextlib.contextmanager
def indexes_deferred(conn: Connection, tables: Sequence[Table], rows: int) -> Iterator[None]:
    """On SQLite, when ``rows`` new rows at least double the tables, drop the tables'
    non-unique indexes meanwhile and build them again at the end (sorting once beats inserting
    into every index row by row). Inside the caller's transaction: if anything fails, the
    rollback brings the indexes back with everything else. Unique indexes, which the import's
    checks rely on, stay. PostgreSQL keeps its indexes: dropping one would lock readers out.
    """
    if conn.dialect.name != "sqlite" or rows < DEFER_INDEXES_FROM:
        yield
        return
    first = tables[0]
    pk = first.primary_key.columns.values()[0]
    existing = int(conn.execute(select(func.max(pk))).scalar() or 0)
    if rows < existing:
        yield
        return
    deferred = [i for table in tables for i in sorted(table.indexes, key=_name) if not i.unique]
    for index in deferred:
        index.drop(conn)
    yield
    for index in deferred:
        index.create(conn)


def _name(index: Any) -> str:
    return str(index.name)


class Loader:
    """:func:`insert_rows`, with PostgreSQL's share of the work beside the caller's.

    On PostgreSQL each block of rows is encoded in the caller's thread and sent by one writer
    thread, in order, so that the server checks and indexes one chunk while the next is
    built. :meth:`wait` returns when everything sent so far is written (and raises what
    writing raised); the caller must not use the connection otherwise before then. Leaving
    the ``with`` block waits too. On SQLite, rows are written at once, in the caller's thread.
    """

    #: Blocks in flight at most (memory: each is up to CHUNK rows of COPY text).
    MAX_PENDING = 2

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._threaded = conn.dialect.name == "postgresql"
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: collections.deque[concurrent.futures.Future[None]] = collections.deque()

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
            else:  # already failing: stop the writer, then the caller's error goes on
                for future in self._pending:
                    future.cancel()
                concurrent.futures.wait(self._pending)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            self._pending.clear()

    def insert(self, table: Table, columns: Mapping[str, Sequence[Any]]) -> int:
        """Insert rows given column by column; returns the number of rows."""
        if not self._threaded:
            return insert_rows(self._conn, table, columns)
        names = list(columns)
        n = _check_columns(table, columns)
        raw = self._conn.connection.driver_connection
        assert raw is not None
        sql = _copy_sql(table, names)
        for start in range(0, n, CHUNK):
            part = {c: columns[c][start : start + CHUNK] for c in names}
            block = _copy_block(self._conn, table, part)
            while len(self._pending) >= self.MAX_PENDING:
                self._pending.popleft().result()
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, "geoverify-copy")
            self._pending.append(self._pool.submit(_copy, raw, sql, block))
        return n

    def wait(self) -> None:
        """Return when every row given so far is written."""
        while self._pending:
            self._pending.popleft().result()


def target_geometries(conn: Connection) -> gpd.GeoDataFrame:
    """Every stored target's geometry, indexed by its store key (for repeat sites)."""
    tg = t.targets.c
    found = conn.execute(select(tg.id, tg.geometry).order_by(tg.id)).all()
    return gpd.GeoDataFrame(
        {"pk": [int(r[0]) for r in found]},
        geometry=[r[1] for r in found],
        crs=STORE_CRS,
    ).set_index("pk")


def load_targets_by_pk(conn: Connection, pks: Sequence[int]) -> gpd.GeoDataFrame:
    """:func:`geoverify.store.repo.load_targets` of the given keys, looked up in chunks."""
    from geoverify.store import repo

    parts = [
        repo.load_targets(conn, pks=pks[i : i + LOOKUP_CHUNK])
        for i in range(0, len(pks), LOOKUP_CHUNK)
    ]
    if not parts:
        return repo.load_targets(conn, pks=[])
    if len(parts) == 1:
        return parts[0]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=STORE_CRS)
