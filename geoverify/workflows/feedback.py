"""Feedback (核查反馈): import filled dispatch workbooks, set one result, move target states."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from geoverify.errors import (
    HOW_TO_SUPERSEDE_CLI,
    ConflictError,
    ForbiddenError,
    InputError,
    RejectedInputError,
    RowProblem,
    how_to_correct,
)
from geoverify.lifecycle import Change, FeedbackRow, check_transition, validate_feedback
from geoverify.model import Status
from geoverify.readers.feedback import read_feedback
from geoverify.store import Store, repo
from geoverify.store import batches as store_batches
from geoverify.store import changes as store_changes
from geoverify.store.changes import TargetChange
from geoverify.workflows.common import Actor, Source, make_who, staged_input, today_local

__all__ = [
    "FeedbackResult",
    "FeedbackValues",
    "answer_problems",
    "change_state",
    "check_answerable",
    "check_move",
    "event_kind",
    "feedback_changes",
    "import_feedback",
    "jsonable_values",
    "prepare_feedback",
    "set_feedback",
    "village_closed",
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


def feedback_changes(
    changes: Sequence[Change],
    *,
    source_of: Any,
    batch: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[TargetChange]:
    """Validated feedback changes as store changes, each with its event (old and new values).

    ``source_of(change)`` gives the event source (``file:NAME:row N`` or ``command:…``).
    """
    out: list[TargetChange] = []
    for ch in changes:
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
        if ch.cleared:
            payload["cleared"] = list(ch.cleared)
        out.append(
            TargetChange(
                pk=ch.pk,
                from_status=ch.from_status,
                from_result=ch.from_result,
                to_status=ch.to_status,
                to_result=ch.to_result,
                values=ch.values,
                version=ch.version,
                target_id=ch.target_id,
                event={
                    "batch_id": batch,
                    "kind": event_kind(ch),
                    "source": source_of(ch),
                    "payload": payload,
                },
            )
        )
    return out


def import_feedback(
    store: Store,
    path: Source,
    *,
    supersede: bool = False,
    reason: str | None = None,
    actor: str | Actor | None = None,
    today: dt.date | None = None,
    only_village: str | None = None,
) -> FeedbackResult:
    """Import a dispatch workbook filled in by a village (反馈表), all or nothing.

    Every row is checked (:func:`geoverify.lifecycle.validate_feedback`); if any is bad,
    :class:`~geoverify.errors.RejectedInputError` lists every bad row and nothing is written.
    The same file imported twice changes nothing; a workbook whose answers are all recorded
    already changes nothing either. Changing a recorded result needs ``supersede`` and a
    ``reason``; the old values stay in the event history.

    ``path`` is a file path or an uploaded :class:`~geoverify.workflows.common.InputFile`;
    ``only_village`` (a village code) refuses a workbook of any other village.
    """
    store.require()
    with staged_input(path) as staged:
        return _import_feedback(
            store,
            staged.path,
            name=staged.name,
            sha=staged.sha256,
            supersede=supersede,
            reason=reason,
            actor=actor,
            today=today,
            only_village=only_village,
        )


def _import_feedback(
    store: Store,
    p: Path,
    *,
    name: str,
    sha: str,
    supersede: bool,
    reason: str | None,
    actor: str | Actor | None,
    today: dt.date | None,
    only_village: str | None,
) -> FeedbackResult:
    with store.connect() as conn:
        prev = repo.find_import(conn, kind="feedback", sha256=sha)
    if prev is not None:
        summary = dict(prev["summary"] or {})
        if only_village is not None:
            with store.connect() as conn:
                own = repo.find_village(conn, only_village)
            if own is None or summary.get("village") != own["name"]:
                raise _not_your_village(name)
        return FeedbackResult(
            name,
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
    who = make_who(actor=actor, source=f"file:{name}")
    details = {"file_sha256": sha, "batch": wb.batch, "village": wb.village, "source": name}
    with store.begin() as conn:
        if repo.find_import(conn, kind="feedback", sha256=sha) is not None:
            # Imported by another writer meanwhile: the same answer as a second import.
            return FeedbackResult(
                name,
                "already_imported",
                file_sha256=sha,
                batch=wb.batch,
                village=wb.village,
                rows=len(wb.rows),
            )
        store_batches.get_batch(conn, wb.batch)
        if wb.village is not None:
            known = repo.find_village(conn, wb.village)
            if known is None or known["name"] != wb.village:
                msg = f"{name}: 村（社区）{wb.village} 不存在 (unknown village {wb.village!r})"
                raise InputError(msg)
        if only_village is not None:
            own = repo.find_village(conn, only_village)
            if own is None or wb.village != own["name"]:
                raise _not_your_village(name)
        frame = repo.load_targets(conn, batch=wb.batch)
        if only_village is not None:
            # Another village's target is unknown to a village user, as everywhere (a
            # refusal naming its village would tell them whose it is).
            frame = frame[frame["village_code"] == only_village]
        changes, problems = validate_feedback(
            wb.rows,
            frame,
            village=wb.village,
            today=today,
            supersede=supersede,
            reason=reason,
        )
        if problems:
            raise RejectedInputError(name, problems, details=details)
        _refuse_reported(changes, only_village=only_village)
        result = FeedbackResult(
            name,
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
            source_name=name,
            who=who,
            summary={
                "batch": wb.batch,
                "village": wb.village,
                "rows": len(wb.rows),
                "changed": len(changes),
                "supersede": bool(supersede),
            },
        )
        store_changes.change_targets(
            conn,
            feedback_changes(
                changes,
                source_of=lambda ch: f"file:{name}:row {ch.row}",
                batch=wb.batch,
                extra={"file_sha256": sha},
            ),
            who=who,
        )
    return result


def _not_your_village(name: str) -> InputError:
    msg = f"{name}: 这份反馈表不属于你的村（社区） (this workbook is not your village's)"
    return InputError(msg)


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
    actor: str | Actor | None = None,
    today: dt.date | None = None,
    expected_version: int | None = None,
    only_village: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> FeedbackResult:
    """Record the result of one target (``feedback set``), with the same checks as an import.

    ``result``, ``verified_on`` and ``verified_by`` default to the values already recorded
    (so that an eradication or a case number can be added to a confirmed target alone).

    ``expected_version`` refuses the change (:class:`~geoverify.errors.ConflictError`) when the
    target has changed since the caller read it; ``only_village`` (a village code) answers
    "no such target" for a target of any other village; ``extra`` is added to the event
    (e.g. the position the answer was given from). A refused row raises
    :class:`~geoverify.errors.InputError` whose ``rows`` hold each reason with its field.
    """
    if supersede and not (reason or "").strip():
        msg = "使用 --supersede 时必须用 --reason 说明理由 (--supersede needs --reason)"
        raise InputError(msg)
    store.require()
    values = FeedbackValues(
        result=result,
        verified_on=verified_on,
        verified_by=verified_by,
        plants=plants,
        area_m2=area_m2,
        eradicated_on=eradicated_on,
        case_no=case_no,
        remarks=remarks,
    )
    source = "command:feedback set"
    who = make_who(actor=actor, source=source)
    with store.begin() as conn:
        rec, changes = prepare_feedback(
            conn,
            target_id,
            values,
            today=today or today_local(),
            supersede=supersede,
            reason=reason,
            expected_version=expected_version,
            only_village=only_village,
            how=HOW_TO_SUPERSEDE_CLI,
        )
        batch = rec["batch"] if isinstance(rec["batch"], str) else None
        store_changes.change_targets(
            conn,
            feedback_changes(changes, source_of=lambda ch: source, batch=batch, extra=extra),
            who=who,
        )
    return FeedbackResult(
        source,
        "imported" if changes else "unchanged",
        batch=batch,
        village=rec["village"] if isinstance(rec["village"], str) else None,
        rows=1,
        changes=changes,
    )


@dataclass(frozen=True)
class FeedbackValues:
    """What a person answers for one target (a form, an API call, ``feedback set``)."""

    result: str | None = None
    verified_on: dt.date | None = None
    verified_by: str | None = None
    plants: int | None = None
    area_m2: float | None = None
    eradicated_on: dt.date | None = None
    case_no: str | None = None
    remarks: str | None = None


def prepare_feedback(
    conn: Connection,
    target_id: str,
    values: FeedbackValues,
    *,
    today: dt.date,
    supersede: bool = False,
    reason: str | None = None,
    expected_version: int | None = None,
    only_village: str | None = None,
    frame: pd.DataFrame | None = None,
    how: str | None = None,
) -> tuple[pd.Series, list[Change]]:
    """The target's record and the validated changes one answer makes (nothing written).

    Unset ``result``, ``verified_on`` and ``verified_by`` default to the recorded values.
    ``frame`` is the target's row when the caller has just loaded it (on this transaction).
    ``how`` is the door's own way to correct a recorded answer, added to each refusal of a
    change to one (:func:`geoverify.errors.how_to_correct`).
    """
    if frame is None:
        pk = repo.target_pk(conn, target_id)
        frame = repo.load_targets(conn, pks=[pk])
    rec = frame.iloc[0]
    if only_village is not None and rec["village_code"] != only_village:
        raise repo.no_such_target(target_id)
    if only_village is not None and rec["status"] == Status.ISSUED.value:
        # A village answers what the office has sent it (an answer would count it as sent).
        zh, en = _NOT_DISPATCHED
        raise ForbiddenError(f"靶标 {rec['target_id']} {zh}", en=en)
    if expected_version is not None and expected_version > int(rec["version"]):
        msg = (
            f"靶标 {rec['target_id']} 没有版本 {expected_version}（现在是版本 "
            f"{int(rec['version'])}），请核对给出的版本，本次未写入任何数据 "
            f"(target has no version {expected_version}, it is at version "
            f"{int(rec['version'])}; nothing was written)"
        )
        raise ConflictError(msg)
    if expected_version is not None and int(rec["version"]) != expected_version:
        msg = (
            f"靶标 {rec['target_id']} 在您打开后已被修改（他人，或您在另一个页面；"
            f"版本 {int(rec['version'])}），本次未写入任何数据，请看过最新内容后再提交 "
            f"(target changed meanwhile, now version {int(rec['version'])}; "
            "nothing was written)"
        )
        raise ConflictError(msg)
    verified_on, verified_by, result = values.verified_on, values.verified_by, values.result
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
        plants=values.plants,
        area_m2=values.area_m2,
        eradicated_on=values.eradicated_on,
        case_no=values.case_no,
        remarks=values.remarks,
    )
    changes, problems = validate_feedback(
        [row], frame, today=today, supersede=supersede, reason=reason
    )
    if problems and how is not None:
        problems = how_to_correct(problems, how)
    if problems:
        reasons = "；".join(f"{p.reason} ({p.reason_en})" for p in problems)
        head = f"靶标 {rec['target_id']}"
        msg = reasons if reasons.startswith(head) else f"{head}: {reasons}"
        raise InputError(msg, rows=problems)
    _refuse_reported(changes, only_village=only_village)
    return rec, changes


def _refuse_reported(changes: list[Change], *, only_village: str | None) -> None:
    """A village's answer may not change a target the office has already reported to the
    district (the report would no longer say what is recorded): the office corrects it."""
    if only_village is None:
        return
    done = [c.target_id for c in changes if c.from_status == Status.REPORTED.value]
    if done:
        zh, en = _REPORTED
        raise ForbiddenError(f"靶标 {'、'.join(done)} {zh}", en=en)


_NOT_DISPATCHED = (
    "尚未派发到本村（社区），派发后才能填写核查反馈",
    "not dispatched to the village yet",
)
_REPORTED = (
    "已上报区禁毒办，村（社区）不能再更改；如需更正，请联系镇平安办",
    "reported to the district: only the office can correct it",
)


def village_closed(status: str) -> tuple[str, str] | None:
    """Why a village may not answer a target in ``status`` now, as (Chinese, English); None
    when it may.

    A village answers what the office has sent it (an answer would count an issued target as
    sent) until the office reports it to the district (the report would no longer say what is
    recorded: the office corrects it). The office answers any target.
    """
    if status == Status.ISSUED.value:
        return _NOT_DISPATCHED
    if status == Status.REPORTED.value:
        return _REPORTED
    return None


def check_answerable(store: Store, target_id: str, *, only_village: str | None) -> None:
    """Refuse an answer (values or photos) a village may not give to this target now.

    "No such target" (:class:`~geoverify.errors.NotFoundError`) for a target outside
    ``only_village`` (a village code), as everywhere; :class:`ForbiddenError` for one not yet
    dispatched or already reported (:func:`village_closed`). The office (``None``) may
    answer any target.
    """
    if only_village is None:
        return
    store.require()
    with store.connect() as conn:
        pk = repo.target_pk(conn, target_id)
        rec = repo.load_targets(conn, pks=[pk]).iloc[0]
    if rec["village_code"] != only_village:
        raise repo.no_such_target(target_id)
    closed = village_closed(str(rec["status"]))
    if closed is not None:
        raise ForbiddenError(f"靶标 {rec['target_id']} {closed[0]}", en=closed[1])


def answer_problems(
    store: Store,
    target_id: str,
    values: FeedbackValues,
    *,
    supersede: bool = False,
    reason: str | None = None,
    expected_version: int | None = None,
    only_village: str | None = None,
    today: dt.date | None = None,
) -> list[RowProblem]:
    """Every reason the rules give against one answer as the target stands now, all at once;
    nothing is written. Empty when the answer would be taken, or when what stops it is not a
    rule about its values (someone else changed the target since ``expected_version``, or no
    result is recorded nor given: the answer itself then says so). A target outside
    ``only_village`` is not found (:class:`NotFoundError`), as everywhere. A form whose own
    fields are refused names these with them, instead of one round at a time."""
    store.require()
    try:
        with store.connect() as conn:
            prepare_feedback(
                conn,
                target_id,
                values,
                today=today or today_local(),
                supersede=supersede,
                reason=reason,
                expected_version=expected_version,
                only_village=only_village,
            )
    except ConflictError:
        return []
    except InputError as e:
        return list(e.rows)
    return []


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
    actor: str | Actor | None = None,
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
        pk = repo.target_pk(conn, target_id)
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
        payload: dict[str, Any] = {
            "from": {"status": status, "result": result},
            "to": {"status": to_status, "result": to_result},
        }
        if tr.supersedes:
            payload["reason"] = reason
        store_changes.change_targets(
            conn,
            [
                TargetChange(
                    pk=pk,
                    from_status=status,
                    from_result=result,
                    to_status=to_status,
                    to_result=to_result,
                    version=int(rec["version"]),
                    target_id=str(rec["target_id"]),
                    event={
                        "batch_id": rec["batch"] if isinstance(rec["batch"], str) else None,
                        "kind": "superseded" if tr.supersedes else to_status,
                        "source": source,
                        "payload": payload,
                    },
                )
            ],
            who=who,
        )
    return True
