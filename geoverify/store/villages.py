"""Villages (村/社区) and groups (组) rows, on a caller's connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from geoverify.store import tables as t

__all__ = [
    "group_rows",
    "insert_groups",
    "insert_villages",
    "targets_per_village",
    "village_names",
    "village_rows",
]


def village_rows(conn: Connection) -> dict[str, Any]:
    """Every village row by its code."""
    return {r.code: r for r in conn.execute(select(t.villages)).all()}


def village_names(conn: Connection) -> list[tuple[str, str]]:
    """(code, name) of every village."""
    return [(str(c), str(n)) for c, n in conn.execute(select(t.villages.c.code, t.villages.c.name))]


def group_rows(conn: Connection) -> dict[tuple[str, str], Any]:
    """Every group row by (village code, group name)."""
    return {(r.village_code, r.name): r for r in conn.execute(select(t.village_groups)).all()}


def insert_villages(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(t.villages.insert(), [dict(r) for r in rows])


def insert_groups(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(t.village_groups.insert(), [dict(r) for r in rows])


def targets_per_village(conn: Connection) -> dict[str | None, int]:
    """Number of targets per village code (None: outside every village)."""
    c = t.targets.c
    return {
        k: int(v)
        for k, v in conn.execute(select(c.village_code, func.count()).group_by(c.village_code))
    }
