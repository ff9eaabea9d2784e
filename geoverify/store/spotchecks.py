"""Supervision spot checks (抽查) on a caller's connection: draws, outcomes, counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from geoverify.errors import ConflictError
from geoverify.store import tables as t
from geoverify.store.tables_spotchecks import spotchecks

__all__ = ["counts_by_village", "drawn", "insert_draw", "of_target", "record_outcome"]

_S = spotchecks.c


def _listed() -> Any:
    return (
        select(
            _S.id,
            _S.batch_id,
            _S.target.label("pk"),
            t.targets.c.target_id,
            _S.village_code,
            t.villages.c.name.label("village"),
            _S.seed,
            _S.rate,
            _S.drawn_at,
            _S.drawn_by,
            _S.status_at_draw,
            _S.result_at_draw,
            _S.outcome,
            _S.checked_on,
            _S.checked_by,
            _S.remarks,
            _S.recorded_at,
        )
        .select_from(spotchecks)
        .join(t.targets, _S.target == t.targets.c.id)
        .join(t.villages, _S.village_code == t.villages.c.code)
    )


def drawn(conn: Connection, batch_id: str) -> list[dict[str, Any]]:
    """The spot checks of a batch, by village code and target id."""
    q = _listed().where(_S.batch_id == batch_id).order_by(_S.village_code, t.targets.c.target_id)
    return [dict(r) for r in conn.execute(q).mappings()]


def of_target(conn: Connection, pk: int, batch_id: str | None = None) -> list[dict[str, Any]]:
    """The spot checks of one target (of one batch, when given), oldest first."""
    q = _listed().where(_S.target == pk)
    if batch_id is not None:
        q = q.where(_S.batch_id == batch_id)
    return [dict(r) for r in conn.execute(q.order_by(_S.id)).mappings()]


def insert_draw(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(spotchecks.insert(), [dict(r) for r in rows])


def record_outcome(
    conn: Connection, spot_id: int, *, expected: str | None, values: Mapping[str, Any]
) -> None:
    """Set the outcome of a spot check still at ``expected`` (None: not yet recorded).

    Raises
    ------
    ConflictError
        Someone recorded another outcome meanwhile.
    """
    cond = _S.outcome.is_(None) if expected is None else _S.outcome == expected
    res = conn.execute(
        spotchecks.update().where(and_(_S.id == spot_id, cond)).values(**dict(values))
    )
    if res.rowcount != 1:
        msg = (
            "抽查结论已被他人修改，本次未写入任何数据，请重试 "
            "(the spot check was recorded meanwhile; nothing was written, try again)"
        )
        raise ConflictError(msg)


def counts_by_village(
    conn: Connection, *, batch_id: str | None = None, village_code: str | None = None
) -> list[dict[str, Any]]:
    """Per village: drawn, checked, consistent and inconsistent spot checks."""
    checked = func.count(_S.outcome)
    consistent = func.sum(case((_S.outcome == "consistent", 1), else_=0))
    q = (
        select(
            _S.village_code,
            t.villages.c.name.label("village"),
            func.count().label("drawn"),
            checked.label("checked"),
            consistent.label("consistent"),
        )
        .select_from(spotchecks)
        .join(t.villages, _S.village_code == t.villages.c.code)
        .group_by(_S.village_code, t.villages.c.name)
        .order_by(_S.village_code)
    )
    if batch_id is not None:
        q = q.where(_S.batch_id == batch_id)
    if village_code is not None:
        q = q.where(_S.village_code == village_code)
    out = []
    for r in conn.execute(q).mappings():
        rec = dict(r)
        rec["consistent"] = int(rec["consistent"] or 0)
        rec["inconsistent"] = int(rec["checked"]) - rec["consistent"]
        out.append(rec)
    return out
