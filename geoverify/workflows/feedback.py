"""Feedback (核查反馈): import filled dispatch workbooks, set one result, move target states."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, select

from geoverify.errors import InputError, NotFoundError, RejectedInputError, StoreError
from geoverify.lifecycle import Change, FeedbackRow, check_transition, validate_feedback
from geoverify.readers.feedback import read_feedback
from geoverify.store import Store, repo
from geoverify.store import tables as t
from geoverify.store.repo import Who
from geoverify.workflows.common import file_sha256, make_who, today_local

__all__ = [
    "FeedbackResult",
    "change_state",
    "check_move",
    "event_kind",
    "import_feedback",
    "jsonable_values",
    "move_target",
    "set_feedback",
    "target_pk",
    "write_changes",
]


@dataclass
class FeedbackResult:
    """What a feedback import (or ``feedback set``) did; ``to_json`` is the ``--json`` shape."""

    source: str
    status: str  # "imported" | "unchanged" | "already_imported"
    file_sha256: str | None = None
    batch: str | None = None
    village: str | None = None
    rows: int = 0
    changes: list[Change] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "file_sha256": self.file_sha256,
            "batch": self.batch,
            "village": self.village,
            "rows": self.rows,
            "changed": len(self.changes),
            "changes": [
                {
                    "row": c.row,
                    "target_id": c.target_id,
                    "from": {"status": c.from_status, "result": c.from_result},
                    "to": {"status": c.to_status, "result": c.to_result},
                    "values": jsonable_values(c.values),
                    "supersedes": c.supersedes,
                    "reason": c.reason,
                    "threshold": c.threshold,
                }
                for c in self.changes
            ],
        }


def jsonable_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Feedback values with dates as ISO text (for event payloads and JSON output)."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, dt.datetime | dt.date):
            out[k] = v.isoformat()
        elif hasattr(v, "item") and not isinstance(v, str):
            out[k] = v.item()
        else:
            out[k] = v
    return out


def event_kind(change: Change) -> str:
    """The event kind of a feedback change: superseded, eradicated, verified or updated."""
    if change.supersedes:
        return "superseded"
    if change.to_status == "eradicated" and change.from_status != "eradicated":
        return "eradicated"
    if change.to_status == "verified" and change.from_status in ("issued", "dispatched"):
        return "verified"
    return "updated"


def move_target(
    conn: Connection,
    *,
    pk: int,
    from_status: str,
    from_result: str | None,
    to_status: str,
    to_result: str | None,
    values: Mapping[str, Any] | None = None,
) -> None:
    """Update one target's status, result and feedback values, only if it is still where the
    caller saw it (else :class:`StoreError`: someone changed it meanwhile).

    Call it only together with :func:`geoverify.store.repo.record_events` in one transaction.
    """
    c = t.targets.c
    cond = and_(
        c.id == pk,
        c.status == from_status,
        c.result.is_(None) if from_result is None else c.result == from_result,
    )
    res = conn.execute(
        t.targets.update()
        .where(cond)
        .values(status=to_status, result=to_result, updated_at=repo.now(), **dict(values or {}))
    )
    if res.rowcount != 1:
        msg = (
            f"靶标（内部编号 {pk}）已被他人同时修改，请重试 "
            f"(target {pk} was changed meanwhile; nothing was written, try again)"
        )
        raise StoreError(msg)


def write_changes(
    conn: Connection,
    changes: Sequence[Change],
    *,
    who: Who,
    source_of: Any,
    batch: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Apply validated feedback changes, each with its event (old and new values in the payload).

    ``source_of(change)`` gives the event source (``file:NAME:row N`` or ``command:…``).
    """
    events: list[dict[str, Any]] = []
    for ch in changes:
        move_target(
            conn,
            pk=ch.pk,
            from_status=ch.from_status,
            from_result=ch.from_result,
            to_status=ch.to_status,
            to_result=ch.to_result,
            values=ch.values,
        )
        payload: dict[str, Any] = {
            "from": {
                "status": ch.from_status,
                "result": ch.from_result,
                **jsonable_values(ch.previous),
            },
            "to": {"status": ch.to_status, "result": ch.to_result, **jsonable_values(ch.values)},
            **dict(extra or {}),
        }
        if ch.supersedes:
            payload["reason"] = ch.reason
        if ch.threshold:
            payload["threshold"] = ch.threshold
        events.append(
            {
                "target": ch.pk,
                "batch_id": batch,
                "kind": event_kind(ch),
                "source": source_of(ch),
                "payload": payload,
            }
        )
    repo.record_events(conn, events, who=who)


def _batch_row(conn: Connection, batch: str) -> Mapping[str, Any]:
    row = conn.execute(select(t.batches).where(t.batches.c.id == batch)).first()
    if row is None:
        msg = f"没有批次 {batch} (no such batch)"
        raise NotFoundError(msg)
    return dict(row._mapping)


def import_feedback(
    store: Store,
    path: str | os.PathLike[str],
    *,
    supersede: bool = False,
    reason: str | None = None,
    actor: str | None = None,
    today: dt.date | None = None,
) -> FeedbackResult:
    """Import a dispatch workbook filled in by a village (反馈表), all or nothing.

    Every row is checked (:func:`geoverify.lifecycle.validate_feedback`); if any is bad,
    :class:`~geoverify.errors.RejectedInputError` lists every bad row and nothing is written.
    The same file imported twice changes nothing; a workbook whose answers are all recorded
    already changes nothing either. Changing a recorded result needs ``supersede`` and a
    ``reason``; the old values stay in the event history.
    """
    p = Path(path)
    sha = file_sha256(p)
    store.require()
    with store.connect() as conn:
        prev = repo.find_import(conn, kind="feedback", sha256=sha)
    if prev is not None:
        summary = dict(prev["summary"] or {})
        return FeedbackResult(
            p.name,
            "already_imported",
            file_sha256=sha,
            batch=summary.get("batch"),
            village=summary.get("village"),
            rows=int(summary.get("rows", 0)),
        )
    if supersede and not (reason or "").strip():
        msg = "使用 --supersede 时必须用 --reason 说明理由 (--supersede needs --reason)"
        raise InputError(msg)
    wb = read_feedback(p)
    today = today or today_local()
    who = make_who(actor=actor, source=f"file:{p.name}")
    details = {"file_sha256": sha, "batch": wb.batch, "village": wb.village, "source": p.name}
    with store.begin() as conn:
        _batch_row(conn, wb.batch)
        if wb.village is not None:
            known = conn.execute(
                select(t.villages.c.code).where(t.villages.c.name == wb.village)
            ).first()
            if known is None:
                msg = f"{p.name}: 村（社区）{wb.village} 不存在 (unknown village {wb.village!r})"
                raise InputError(msg)
        frame = repo.load_targets(conn, batch=wb.batch)
        changes, problems = validate_feedback(
            wb.rows,
            frame,
            village=wb.village,
            today=today,
            supersede=supersede,
            reason=reason,
        )
        if problems:
            raise RejectedInputError(p.name, problems, details=details)
        result = FeedbackResult(
            p.name,
            "imported" if changes else "unchanged",
            file_sha256=sha,
            batch=wb.batch,
            village=wb.village,
            rows=len(wb.rows),
            changes=changes,
        )
        if not changes:
            return result  # nothing to record: the store stays exactly as it was
        repo.record_import(
            conn,
            kind="feedback",
            sha256=sha,
            source_name=p.name,
            who=who,
            summary={
                "batch": wb.batch,
                "village": wb.village,
                "rows": len(wb.rows),
                "changed": len(changes),
                "supersede": bool(supersede),
            },
        )
        write_changes(
            conn,
            changes,
            who=who,
            source_of=lambda ch: f"file:{p.name}:row {ch.row}",
            batch=wb.batch,
            extra={"file_sha256": sha},
        )
    return result


def target_pk(conn: Connection, target_id: str) -> int:
    """Store key of a target id; :class:`NotFoundError` when there is none."""
    pk = conn.execute(
        select(t.targets.c.id).where(t.targets.c.target_id == target_id.strip())
    ).scalar_one_or_none()
    if pk is None:
        msg = f"没有靶标 {target_id} (no such target)"
        raise NotFoundError(msg)
    return int(pk)


def set_feedback(
    store: Store,
    target_id: str,
    *,
    result: str | None = None,
    verified_on: dt.date | None = None,
    verified_by: str | None = None,
    plants: int | None = None,
    area_m2: float | None = None,
    eradicated_on: dt.date | None = None,
    case_no: str | None = None,
    remarks: str | None = None,
    supersede: bool = False,
    reason: str | None = None,
    actor: str | None = None,
    today: dt.date | None = None,
) -> FeedbackResult:
    """Record the result of one target (``feedback set``), with the same checks as an import.

    ``result``, ``verified_on`` and ``verified_by`` default to the values already recorded
    (so that an eradication or a case number can be added to a confirmed target alone).
    """
    if supersede and not (reason or "").strip():
        msg = "使用 --supersede 时必须用 --reason 说明理由 (--supersede needs --reason)"
        raise InputError(msg)
    store.require()
    today = today or today_local()
    source = "command:feedback set"
    who = make_who(actor=actor, source=source)
    with store.begin() as conn:
        pk = target_pk(conn, target_id)
        frame = repo.load_targets(conn, pks=[pk])
        rec = frame.iloc[0]
        if verified_on is None and isinstance(rec["verified_on"], dt.date):
            verified_on = rec["verified_on"]
        if verified_by is None and isinstance(rec["verified_by"], str):
            verified_by = rec["verified_by"]
        if result is None:
            if not isinstance(rec["result"], str):
                msg = (
                    f"靶标 {rec['target_id']} 还没有核查结果，请用 --result 给出 "
                    "(no result recorded yet; give --result)"
                )
                raise InputError(msg)
            result = str(rec["result"])
        row = FeedbackRow(
            row=1,
            target_id=str(rec["target_id"]),
            verified_on=verified_on,
            verified_by=verified_by,
            result_label=result,
            plants=plants,
            area_m2=area_m2,
            eradicated_on=eradicated_on,
            case_no=case_no,
            remarks=remarks,
        )
        changes, problems = validate_feedback(
            [row], frame, today=today, supersede=supersede, reason=reason
        )
        if problems:
            reasons = "；".join(f"{p.reason} ({p.reason_en})" for p in problems)
            msg = f"靶标 {rec['target_id']}: {reasons}"
            raise InputError(msg)
        batch = rec["batch"] if isinstance(rec["batch"], str) else None
        write_changes(conn, changes, who=who, source_of=lambda ch: source, batch=batch)
    return FeedbackResult(
        source,
        "imported" if changes else "unchanged",
        batch=batch,
        village=rec["village"] if isinstance(rec["village"], str) else None,
        rows=1,
        changes=changes,
    )


def check_move(
    rec: Mapping[str, Any], *, to_status: str, supersede: bool = False, reason: str | None = None
) -> None:
    """Check a status-only move (dispatch, report) of one frame record; raises TransitionError."""
    result = rec.get("result")
    plants = rec.get("plants")
    case_no = rec.get("case_no")
    check_transition(
        str(rec["status"]),
        result if isinstance(result, str) else None,
        to_status=to_status,
        to_result=result if isinstance(result, str) else None,
        supersede=supersede,
        reason=reason,
        plants=None if plants is None or pd.isna(plants) else plants,
        case_no=case_no if isinstance(case_no, str) else None,
    )


def change_state(
    store: Store,
    target_id: str,
    *,
    to_status: str,
    to_result: str | None = None,
    supersede: bool = False,
    reason: str | None = None,
    actor: str | None = None,
    source: str = "command:state",
) -> bool:
    """Move one target to (to_status, to_result) under the lifecycle rules, with its event.

    The move is checked by :func:`geoverify.lifecycle.check_transition` (a supersede needs a
    reason; reporting a confirmed target at the criminal threshold needs a case number). A
    refused move raises :class:`~geoverify.errors.TransitionError` and writes nothing.

    Returns
    -------
    bool
        False when the target already is in that state (nothing written).
    """
    store.require()
    who = make_who(actor=actor, source=source)
    with store.begin() as conn:
        pk = target_pk(conn, target_id)
        rec = repo.load_targets(conn, pks=[pk]).iloc[0]
        status = str(rec["status"])
        result = rec["result"] if isinstance(rec["result"], str) else None
        plants = rec["plants"]
        tr = check_transition(
            status,
            result,
            to_status=to_status,
            to_result=to_result,
            supersede=supersede,
            reason=reason,
            plants=None if plants is None or pd.isna(plants) else plants,
            case_no=rec["case_no"] if isinstance(rec["case_no"], str) else None,
        )
        if tr.noop:
            return False
        move_target(
            conn,
            pk=pk,
            from_status=status,
            from_result=result,
            to_status=to_status,
            to_result=to_result,
        )
        payload: dict[str, Any] = {
            "from": {"status": status, "result": result},
            "to": {"status": to_status, "result": to_result},
        }
        if tr.supersedes:
            payload["reason"] = reason
        repo.record_events(
            conn,
            [
                {
                    "target": pk,
                    "batch_id": rec["batch"] if isinstance(rec["batch"], str) else None,
                    "kind": "superseded" if tr.supersedes else to_status,
                    "source": source,
                    "payload": payload,
                }
            ],
            who=who,
        )
    return True
