"""Photo evidence rows (证据照片), on a caller's connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, select

from geoverify.store import tables as t
from geoverify.store.tables_feedback import evidence as ev

__all__ = ["all_photos", "find_photo", "get_photo", "insert_photo", "list_photos"]


def find_photo(conn: Connection, *, target: int, sha256: str) -> int | None:
    """The id of a photo already attached to a target, or None."""
    row = conn.execute(
        select(ev.c.id).where(and_(ev.c.target == target, ev.c.sha256 == sha256))
    ).first()
    return None if row is None else int(row[0])


def insert_photo(conn: Connection, values: Mapping[str, Any]) -> int:
    res = conn.execute(ev.insert().values(**dict(values)))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def list_photos(conn: Connection, *, target: int) -> list[dict[str, Any]]:
    """A target's photos, oldest first."""
    rows = conn.execute(select(ev).where(ev.c.target == target).order_by(ev.c.id)).mappings()
    return [dict(r) for r in rows]


def all_photos(conn: Connection) -> list[Any]:
    """Every photo as (target key, stored path, original name, target id), by target."""
    return list(
        conn.execute(
            select(ev.c.target, ev.c.stored_path, ev.c.original_name, t.targets.c.target_id)
            .select_from(ev.join(t.targets, ev.c.target == t.targets.c.id))
            .order_by(ev.c.target, ev.c.id)
        ).all()
    )


def get_photo(conn: Connection, *, target: int, photo_id: int) -> dict[str, Any] | None:
    """One photo of one target, or None (also when the photo belongs to another target)."""
    row = conn.execute(select(ev).where(and_(ev.c.id == photo_id, ev.c.target == target))).first()
    return dict(row._mapping) if row is not None else None
