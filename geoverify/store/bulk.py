"""Many rows at once: COPY on PostgreSQL, one ``executemany`` on SQLite; no statement grows.

A batch of a million targets writes three million rows (targets, their issue links, their
events). Through SQLAlchemy's per-row parameter processing that takes minutes; here each column
is encoded once, as the column's own type encodes it, and the rows go to the driver in one
stream on the caller's connection (so inside the caller's transaction).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Table, func, select, text

from geoverify.geo import STORE_CRS
from geoverify.store import tables as t
from geoverify.store.types import STORE_SRID, GeometryColumn

__all__ = [
    "CHUNK",
    "JSONText",
    "dumps_json",
    "dumps_json_strict",
    "insert_rows",
    "json_texts",
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
    """A JSON document already serialised by :func:`json_texts`, written as it is."""

    __slots__ = ()


def _json_encoder(*, allow_nan: bool = True) -> Callable[[Any], str]:
    """``json.dumps`` with its default settings, without its cost per call.

    ``json.dumps`` builds a new C encoder for every document; a million documents spend most
    of their time doing that. This one encoder gives the same text for every document
    ``json.dumps`` accepts (dicts, lists, str, int, float, bool, None). Without ``allow_nan``
    a non-finite number raises ``ValueError``, as ``json.dumps(..., allow_nan=False)`` does."""
    import json
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # no C speedups: json.dumps as it is
        return functools.partial(json.dumps, allow_nan=allow_nan)
    default = json.JSONEncoder().default
    encode = make(
        None, default, encoder.encode_basestring_ascii, None, ": ", ", ", False, False, allow_nan
    )
    join = "".join

    def dumps(value: Any) -> str:
        if type(value) is str:  # a lone string: the C encoder gives it whole
            return encoder.encode_basestring_ascii(value)
        return join(encode(value, 0))

    return dumps


#: The store's JSON serialiser (SQLAlchemy's default is ``json.dumps``): same text, faster.
dumps_json = _json_encoder()
#: :data:`dumps_json` that refuses NaN and infinities (``ValueError``).
dumps_json_strict = _json_encoder(allow_nan=False)


def _json_serializer(conn: Connection) -> Any:
    serialize = getattr(conn.dialect, "_json_serializer", None)
    if serialize is None:
        serialize = dumps_json
    return serialize


def json_texts(conn: Connection, values: Sequence[Any]) -> list[JSONText]:
    """Serialise JSON documents once, as the store's JSON columns would, to write them to
    several columns or tables."""
    serialize = _json_serializer(conn)
    return [JSONText(serialize(v)) for v in values]


def reserve_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` new primary keys of ``table`` for rows the caller inserts with explicit keys.

    PostgreSQL: drawn from the key's sequence in one statement. SQLite: the keys after the
    largest one; call this after the transaction has written something (SQLite then holds the
    database's write lock, so no one else can take the same keys).
    """
    if n <= 0:
        return []
    pk = table.primary_key.columns.values()[0]
    if conn.dialect.name == "postgresql":
        sql = text(
            "SELECT nextval(pg_get_serial_sequence(:table, :column)) FROM generate_series(1, :n)"
        )
        found = conn.execute(sql, {"table": table.name, "column": pk.name, "n": n}).scalars()
        return sorted(int(v) for v in found)
    start = int(conn.execute(select(func.max(pk))).scalar() or 0)
    return list(range(start + 1, start + n + 1))


def _encode(conn: Connection, table: Table, name: str, values: Sequence[Any]) -> list[Any]:
    """Values of one column as the driver takes them, encoded as the column type does."""
    col_type = table.c[name].type
    postgres = conn.dialect.name == "postgresql"
    if isinstance(col_type, GeometryColumn):
        geoms = np.empty(len(values), dtype=object)
        geoms[:] = list(values)
        if postgres:  # COPY reads hex EWKB text
            with_srid = shapely.set_srid(geoms, STORE_SRID)
            hexes: list[Any] = shapely.to_wkb(with_srid, hex=True, include_srid=True).tolist()
            return hexes
        wkbs: list[Any] = shapely.to_wkb(geoms).tolist()
        return wkbs
    impl = col_type.dialect_impl(conn.dialect)
    if impl.__visit_name__ in ("JSON", "JSONB"):
        serialize = _json_serializer(conn)
        return [v if type(v) is JSONText else serialize(v) for v in values]
    process = impl.bind_processor(conn.dialect)
    if process is None:
        return list(values)
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


def insert_rows(conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]) -> int:
    """Insert rows given column by column (equal lengths); returns the number of rows."""
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    if any(len(columns[c]) != n for c in names):
        msg = f"columns of unequal length for {table.name}"
        raise ValueError(msg)
    if n == 0:
        return 0
    raw = conn.connection.driver_connection
    assert raw is not None
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        encoded = [_encode(conn, table, c, columns[c][start:stop]) for c in names]
        rows: Iterator[tuple[Any, ...]] = zip(*encoded, strict=True)
        if conn.dialect.name == "postgresql":
            quoted = ", ".join(f'"{c}"' for c in names)
            text_columns = [_copy_texts(values) for values in encoded]
            lines = map("\t".join, zip(*text_columns, strict=True))
            block = ("\n".join(lines) + "\n").encode("utf-8")
            del text_columns, lines
            with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as cp:
                cp.write(block)
        else:
            quoted = ", ".join(f'"{c}"' for c in names)
            marks = ", ".join("?" for _ in names)
            cur = raw.cursor()
            try:
                cur.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', rows)
            finally:
                cur.close()
    return n


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
