"""Patrol records (踏查记录), their village lengths and waypoints, on a caller's connection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, exists, func, select

from geoverify.store import tables as t
from geoverify.store import tables_patrols as tp

__all__ = [
    "insert_patrol",
    "insert_patrol_villages",
    "insert_waypoints",
    "latest_patrol_date",
    "patrol_rows",
    "stored_track_geometries",
    "unclaimed_named_tracks",
]


def unclaimed_named_tracks(conn: Connection) -> list[Any]:
    """Tracks of track-file patrols that have a name and that no table row claims yet:
    rows of (id, track_name, geometry)."""
    p = tp.patrols.c
    claimer = tp.patrols.alias("claimer")
    return list(
        conn.execute(
            select(p.id, p.track_name, p.geometry).where(
                p.geometry.is_not(None),
                p.track_name.is_not(None),
                p.track_patrol.is_(None),
                ~exists().where(claimer.c.track_patrol == p.id),
            )
        ).all()
    )


def stored_track_geometries(conn: Connection) -> Iterator[Any]:
    """The geometry of every stored track."""
    p = tp.patrols.c
    yield from conn.execute(select(p.geometry).where(p.geometry.is_not(None))).scalars()


def insert_patrol(conn: Connection, values: Mapping[str, Any]) -> int:
    res = conn.execute(tp.patrols.insert().values(**dict(values)))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def insert_patrol_villages(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(tp.patrol_villages.insert(), [dict(r) for r in rows])


def insert_waypoints(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(tp.patrol_waypoints.insert(), [dict(r) for r in rows])


def latest_patrol_date(conn: Connection) -> dt.date | None:
    """Date of the latest patrol record, or None when there is none."""
    latest = conn.execute(select(func.max(tp.patrols.c.date))).scalar_one_or_none()
    if isinstance(latest, str):  # SQLite may hand back text for an aggregate
        return dt.date.fromisoformat(latest[:10])
    return latest


def patrol_rows(
    conn: Connection,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    village: str | None = None,
) -> list[Any]:
    """Patrol records dated ``start`` to ``end`` (inclusive) with their village name and file;
    a track-file patrol that a table row claims is left out (the row stands for it)."""
    p = tp.patrols.c
    claimer = tp.patrols.alias("claimer")
    q = (
        select(
            p.id,
            p.row,
            p.village_code,
            t.villages.c.name.label("village"),
            p.group_name,
            p.date,
            p.people,
            p.findings,
            p.remarks,
            p.track_name,
            p.geometry,
            p.length_m,
            p.received_on,
            t.imports.c.source_name,
            t.imports.c.summary.label("import_summary"),
        )
        .select_from(
            tp.patrols.join(t.villages, p.village_code == t.villages.c.code).join(
                t.imports, p.import_id == t.imports.c.id
            )
        )
        .where(~exists().where(claimer.c.track_patrol == p.id))
        .order_by(p.date, p.village_code, p.group_name, p.id)
    )
    conds = []
    if start is not None:
        conds.append(p.date >= start)
    if end is not None:
        conds.append(p.date <= end)
    if village is not None:
        conds.append((t.villages.c.name == village) | (p.village_code == village))
    if conds:
        q = q.where(and_(*conds))
    return list(conn.execute(q).all())
