"""Users, login sessions, failed logins and idempotent submissions, on a caller's connection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from geoverify.store import tables as t
from geoverify.store import tables_web as tw

__all__ = [
    "EVERYWHERE",
    "clear_failures",
    "count_failures",
    "delete_session",
    "delete_sessions_of",
    "find_session",
    "find_submission",
    "find_user",
    "find_user_ignoring_case",
    "insert_session",
    "insert_submission",
    "insert_user",
    "list_users",
    "record_failure",
    "touch_session",
    "update_user",
]


def _user_select() -> Any:
    u = tw.users.c
    return select(
        u.id,
        u.name,
        u.role,
        u.village_code,
        t.villages.c.name.label("village"),
        u.password_hash,
        u.disabled,
        u.must_change_password,
        u.created_at,
        u.updated_at,
    ).select_from(tw.users.outerjoin(t.villages, u.village_code == t.villages.c.code))


def find_user(conn: Connection, *, name: str | None = None, user_id: int | None = None) -> Any:
    """A user row (with the village name) by name or id, or None."""
    q = _user_select()
    if name is not None:
        q = q.where(tw.users.c.name == name)
    if user_id is not None:
        q = q.where(tw.users.c.id == user_id)
    row = conn.execute(q).first()
    return row._mapping if row is not None else None


def find_user_ignoring_case(conn: Connection, name: str) -> Any:
    """A user whose name equals ``name`` ignoring case (the exact name first), or None.

    Compared in Python with :meth:`str.casefold`: SQLite's ``lower()`` folds ASCII letters only.
    """
    exact = find_user(conn, name=name)
    if exact is not None:
        return exact
    folded = name.casefold()
    for (other,) in conn.execute(select(tw.users.c.name)):
        if str(other).casefold() == folded:
            return find_user(conn, name=str(other))
    return None


def list_users(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(_user_select().order_by(tw.users.c.name)).mappings()]


def insert_user(conn: Connection, values: Mapping[str, Any]) -> int:
    res = conn.execute(tw.users.insert().values(**dict(values)))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def update_user(conn: Connection, user_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(tw.users).where(tw.users.c.id == user_id).values(**dict(values)))


# -- sessions ----------------------------------------------------------------------------------
def insert_session(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(tw.sessions.insert().values(**dict(values)))


def find_session(conn: Connection, session_id: str) -> Any:
    row = conn.execute(select(tw.sessions).where(tw.sessions.c.id == session_id)).first()
    return row._mapping if row is not None else None


def touch_session(conn: Connection, session_id: str, at: dt.datetime) -> None:
    conn.execute(update(tw.sessions).where(tw.sessions.c.id == session_id).values(last_seen_at=at))


def delete_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(tw.sessions).where(tw.sessions.c.id == session_id))


def delete_sessions_of(conn: Connection, user_id: int, *, keep: str | None = None) -> None:
    """End every session of a user, except the session ``keep`` (its id) when given."""
    q = delete(tw.sessions).where(tw.sessions.c.user_id == user_id)
    if keep is not None:
        q = q.where(tw.sessions.c.id != keep)
    conn.execute(q)


# -- failed logins -----------------------------------------------------------------------------
#: Put before the client of a failure that counts for every client of its name (a wrong current
#: password typed in a session of the user, see :func:`record_failure`).
EVERYWHERE = "*"


def record_failure(
    conn: Connection, *, name: str, client: str, at: dt.datetime, everywhere: bool = False
) -> None:
    """Record a failed login of ``name`` from ``client``; with ``everywhere`` it counts for
    every client of the name (its client is kept behind :data:`EVERYWHERE`)."""
    mark = EVERYWHERE if everywhere else ""
    conn.execute(
        tw.login_failures.insert().values(name=name[:64], client=(mark + client)[:255], at=at)
    )


def _client_cond(client: str, *, everywhere: bool) -> Any:
    """The failures of ``client`` (counting for it alone or everywhere); with ``everywhere``
    also every failure that counts everywhere, whatever its client."""
    f = tw.login_failures.c
    mine = f.client.in_([client[:255], (EVERYWHERE + client)[:255]])
    return or_(mine, f.client.startswith(EVERYWHERE)) if everywhere else mine


def count_failures(
    conn: Connection,
    *,
    since: dt.datetime,
    name: str | None = None,
    client: str | None = None,
    everywhere: bool = False,
) -> tuple[int, dt.datetime | None]:
    """How many failures since ``since`` for a name, a client, or a name from a client, and the
    latest one's time. With a ``client``, ``everywhere`` also counts the failures that count for
    every client (with a ``name`` too: that name's)."""
    f = tw.login_failures.c
    cond = [f.at >= since]
    if name is not None:
        cond.append(f.name == name[:64])
    if client is not None:
        cond.append(_client_cond(client, everywhere=everywhere))
    n, latest = conn.execute(select(func.count(), func.max(f.at)).where(and_(*cond))).one()
    if isinstance(latest, str):  # SQLite hands back text for an aggregate of a datetime
        latest = dt.datetime.fromisoformat(latest).replace(tzinfo=dt.UTC)
    elif latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=dt.UTC)
    return int(n), latest


def clear_failures(conn: Connection, *, name: str, client: str | None = None) -> None:
    """Forget the failures of a name: all of them, or (with ``client``) those from that client
    and those that count everywhere — the failures from other clients stay."""
    f = tw.login_failures.c
    q = delete(tw.login_failures).where(f.name == name[:64])
    if client is not None:
        q = q.where(_client_cond(client, everywhere=True))
    conn.execute(q)


# -- submissions -------------------------------------------------------------------------------
def find_submission(conn: Connection, key: str) -> Any:
    row = conn.execute(select(tw.submissions).where(tw.submissions.c.key == key)).first()
    return row._mapping if row is not None else None


def insert_submission(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(tw.submissions.insert().values(**dict(values)))
