"""The one way a target's state changes: the row and its event, together, or neither.

A target's status, result and feedback values change only through :func:`change_targets`,
which updates each row only if it is still where the caller saw it (status, result and — when
known — version), raises its version by one, and appends the event that records the old and
new values, all on the caller's transaction. A row someone changed meanwhile raises
:class:`~geoverify.errors.ConflictError`; the caller's transaction then writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, select

from geoverify.errors import ConflictError
from geoverify.store import repo
from geoverify.store import tables as t
from geoverify.store.repo import Who

__all__ = ["TargetChange", "change_targets", "target_version"]


@dataclass(frozen=True)
class TargetChange:
    """One target moving from (status, result) to (status, result), with its event."""

    pk: int
    from_status: str
    from_result: str | None
    to_status: str
    to_result: str | None
    #: The event: ``kind`` and optionally ``batch_id``, ``source``, ``payload``.
    event: Mapping[str, Any]
    #: Feedback columns to set (plants, verified_on, …).
    values: Mapping[str, Any] = field(default_factory=dict)
    #: The version the caller saw; None checks status and result only.
    version: int | None = None
    #: The target id, for messages.
    target_id: str | None = None


def target_version(conn: Connection, pk: int) -> int:
    """The current version of a target."""
    return int(conn.execute(select(t.targets.c.version).where(t.targets.c.id == pk)).scalar_one())


def _update(conn: Connection, ch: TargetChange) -> None:
    c = t.targets.c
    cond = [
        c.id == ch.pk,
        c.status == ch.from_status,
        c.result.is_(None) if ch.from_result is None else c.result == ch.from_result,
    ]
    if ch.version is not None:
        cond.append(c.version == ch.version)
    res = conn.execute(
        t.targets.update()
        .where(and_(*cond))
        .values(
            status=ch.to_status,
            result=ch.to_result,
            updated_at=repo.now(),
            version=c.version + 1,
            **dict(ch.values),
        )
    )
    if res.rowcount != 1:
        name = ch.target_id or f"#{ch.pk}"
        msg = (
            f"靶标 {name} 在您打开后已被修改（他人，或您在另一个页面），"
            "本次未写入任何数据，请看过最新内容后再提交 "
            f"(target {name} was changed meanwhile; nothing was written, reload and try again)"
        )
        raise ConflictError(msg)


def change_targets(conn: Connection, changes: Sequence[TargetChange], *, who: Who) -> None:
    """Apply each change and append its event, on the caller's transaction.

    Raises
    ------
    ConflictError
        A target is no longer in the status, result or version the caller saw.
    """
    events: list[dict[str, Any]] = []
    for ch in changes:
        _update(conn, ch)
        events.append({"target": ch.pk, **dict(ch.event)})
    repo.record_events(conn, events, who=who)
