"""Target lifecycle (靶标状态): the state machine, feedback validation and law thresholds.

Statuses run ``issued → dispatched → verified → eradicated → reported``. A verified target
carries a result (``confirmed``, ``excluded``, ``not_found``, ``outside``); only ``confirmed``
targets can be eradicated. Changing a recorded result (or reopening an eradicated or reported
target) is a *supersede*: it needs an explicit flag and a reason, and the caller keeps the old
values in the event payload. Everything here is pure: frames and dataclasses in, dataclasses out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from geoverify.errors import SUPERSEDE_NEEDS_REASON, RowProblem, TransitionError
from geoverify.model import (
    EXCLUDED_AS_LEAD,
    EXCLUDED_AS_OTHER,
    FEEDBACK_FIELD_LABELS,
    RESULT_LABELS,
    STATUS_LABELS,
    Result,
    Status,
)
from geoverify.sanity import check_area, check_date, check_plants
from geoverify.values import as_date, is_missing

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CONFIRMED_ONLY_FIELDS",
    "CRIMINAL_THRESHOLD",
    "FEEDBACK_FIELDS",
    "HEAVIER_THRESHOLD",
    "RESULT_BY_LABEL",
    "STATES",
    "Change",
    "FeedbackRow",
    "Transition",
    "check_transition",
    "is_valid_state",
    "parse_result_label",
    "threshold_level",
    "validate_feedback",
]

#: Criminal Law art. 351: planting 500 poppy plants or more is a crime ...
CRIMINAL_THRESHOLD = 500
#: ... and 3,000 or more is the heavier ("数量较大") bracket.
HEAVIER_THRESHOLD = 3000

_NO_RESULT_STATUSES = (Status.ISSUED.value, Status.DISPATCHED.value)
_RESULTS = tuple(r.value for r in Result)

#: Every valid (status, result) pair.
STATES: tuple[tuple[str, str | None], ...] = (
    (Status.ISSUED.value, None),
    (Status.DISPATCHED.value, None),
    *((Status.VERIFIED.value, r) for r in _RESULTS),
    (Status.ERADICATED.value, Result.CONFIRMED.value),
    *((Status.REPORTED.value, r) for r in _RESULTS),
)

#: Result codes by the Chinese label used in workbooks (确认种植 → confirmed, …).
RESULT_BY_LABEL: dict[str, str] = {label: code for code, label in RESULT_LABELS.items()}

#: Feedback values kept on a target (frame column names).
FEEDBACK_FIELDS = (
    "verified_on",
    "verified_by",
    "plants",
    "eradicated_area_m2",
    "eradicated_on",
    "case_no",
    "remarks",
)
# Values that may be overwritten without a supersede (free text notes).
_FREELY_UPDATED = frozenset({"remarks"})
#: Values that only a confirmed planting has: a result other than 确认种植 clears them.
CONFIRMED_ONLY_FIELDS = ("plants", "eradicated_area_m2", "eradicated_on", "case_no")


def _state_label(status: str, result: str | None) -> str:
    s = STATUS_LABELS.get(status, status)
    return f"{s}（{RESULT_LABELS.get(result, result)}）" if result else s


def is_valid_state(status: str, result: str | None) -> bool:
    """True when (status, result) is one of :data:`STATES`."""
    return (status, result) in STATES


@dataclass(frozen=True)
class Transition:
    """The outcome of :func:`check_transition`: a legal move (or a no-op)."""

    from_status: str
    from_result: str | None
    to_status: str
    to_result: str | None
    supersedes: bool = False
    noop: bool = False


def _needs_supersede(
    status: str, result: str | None, to_status: str, to_result: str | None
) -> bool | None:
    """True/False for a legal move that does/does not need a supersede; None when illegal."""
    if (status, result) == (to_status, to_result):
        return False
    if to_status in _NO_RESULT_STATUSES:
        # Only issued → dispatched; nothing goes back to issued/dispatched.
        return False if (status, to_status) == ("issued", "dispatched") else None
    if to_status == Status.REPORTED.value:
        ok = status in ("verified", "eradicated") and result == to_result
        return False if ok else None
    # to verified / eradicated
    if result is None:
        return False  # first result (dispatch may be skipped, e.g. the office checks itself)
    if result != to_result:
        return True
    # verified → eradicated is a step; eradicated → verified, reported → …: reopening
    return (status, to_status) != ("verified", "eradicated")


def _build_allowed() -> dict[tuple[str, str | None], dict[tuple[str, str | None], bool]]:
    table: dict[tuple[str, str | None], dict[tuple[str, str | None], bool]] = {}
    for a in STATES:
        row: dict[tuple[str, str | None], bool] = {}
        for b in STATES:
            if a == b:
                continue
            need = _needs_supersede(a[0], a[1], b[0], b[1])
            if need is not None:
                row[b] = need
        table[a] = row
    return table


#: ``ALLOWED_TRANSITIONS[(status, result)][(to_status, to_result)]`` is True when the move needs
#: ``supersede=True`` with a reason, False when it is an ordinary step. Missing keys are illegal.
ALLOWED_TRANSITIONS = _build_allowed()


def threshold_level(plants: int | float | None) -> str | None:
    """Criminal Law art. 351 bracket of a confirmed plant count.

    Returns ``None`` below 500 plants (or when unknown), ``"criminal"`` from 500 and
    ``"heavier"`` from 3,000.
    """
    if plants is None:
        return None
    try:
        n = float(plants)
    except (TypeError, ValueError):
        return None
    if math.isnan(n):
        return None
    if n >= HEAVIER_THRESHOLD:
        return "heavier"
    if n >= CRIMINAL_THRESHOLD:
        return "criminal"
    return None


THRESHOLD_LABELS: dict[str, str] = {
    "criminal": "达到刑事立案标准（≥500株）",
    "heavier": "数量较大（≥3000株）",
}


def count_missing(result: str | None, plants: Any) -> bool:
    """True for a confirmed planting whose plant count is not filled in (None, NaN, NA): it
    cannot be reported to the district so (the district counts plants, and an unknown count
    would pass the criminal threshold unseen)."""
    return result == Result.CONFIRMED.value and (plants is None or bool(pd.isna(plants)))


def check_transition(
    status: str,
    result: str | None,
    *,
    to_status: str,
    to_result: str | None = None,
    supersede: bool = False,
    reason: str | None = None,
    plants: int | float | None = None,
    case_no: str | None = None,
) -> Transition:
    """Check that a target may move from (status, result) to (to_status, to_result).

    Parameters
    ----------
    status, result
        Where the target stands now.
    to_status, to_result
        Where it should go. ``to_result`` is required for verified/eradicated/reported.
    supersede, reason
        Changing a recorded result, or reopening an eradicated/reported target, needs
        ``supersede=True`` and a non-empty ``reason``.
    plants, case_no
        Needed when moving to ``reported``: a confirmed target cannot be reported without
        its plant count, nor at the criminal threshold (``plants >= 500``) without a case
        number.

    Returns
    -------
    Transition
        ``noop`` when nothing changes; ``supersedes`` when an earlier result is replaced.

    Raises
    ------
    TransitionError
        With a Chinese + English message for every illegal move.
    """
    if not is_valid_state(status, result):
        msg = (
            f"靶标当前状态无效：{status}/{result} "
            f"(invalid current state: status={status!r}, result={result!r})"
        )
        raise TransitionError(msg)
    if not is_valid_state(to_status, to_result):
        if to_status == Status.ERADICATED.value and to_result != Result.CONFIRMED.value:
            msg = (
                "只有“确认种植”的靶标才能登记铲除，当前结果为 "
                f"{RESULT_LABELS.get(str(to_result), to_result)} "
                f"(only a confirmed target can be eradicated; result is {to_result!r})"
            )
        elif to_status in ("verified", "eradicated", "reported") and to_result is None:
            msg = (
                f"转为“{STATUS_LABELS[to_status]}”必须有核查结果 "
                f"(moving to {to_status!r} needs a result)"
            )
        else:
            msg = (
                f"目标状态无效：{to_status}/{to_result} "
                f"(invalid target state: status={to_status!r}, result={to_result!r})"
            )
        raise TransitionError(msg)
    here = _state_label(status, result)
    there = _state_label(to_status, to_result)
    if (status, result) == (to_status, to_result):
        return Transition(status, result, to_status, to_result, noop=True)
    need = ALLOWED_TRANSITIONS[(status, result)].get((to_status, to_result))
    if need is None:
        msg = (
            f"不允许从“{here}”变为“{there}” "
            f"(illegal transition {status}/{result} -> {to_status}/{to_result})"
        )
        raise TransitionError(msg)
    if need:
        if not supersede:
            msg = (
                f"已登记为“{here}”，改为“{there}”：{SUPERSEDE_NEEDS_REASON}，须明确更正并写明理由 "
                f"(recorded as {status}/{result}; changing it to {to_status}/{to_result} "
                "needs supersede with a reason)"
            )
            raise TransitionError(msg)
        if not (reason or "").strip():
            msg = "更正已登记的结果必须填写理由 (superseding a recorded result needs a reason)"
            raise TransitionError(msg)
    if to_status == Status.REPORTED.value and count_missing(to_result, plants):
        msg = (
            "确认种植的靶标上报区禁毒办前必须填写株数 "
            "(a confirmed planting cannot be reported without its plant count)"
        )
        raise TransitionError(msg)
    if (
        to_status == Status.REPORTED.value
        and to_result == Result.CONFIRMED.value
        and threshold_level(plants) is not None
        and not (case_no or "").strip()
    ):
        msg = (
            f"株数 {plants} 已达到刑事立案标准（刑法第三百五十一条，≥{CRIMINAL_THRESHOLD}株），"
            "上报前必须填写案件编号 "
            f"({plants} plants reaches the criminal threshold of Criminal Law art. 351; "
            "a case number is required before reporting)"
        )
        raise TransitionError(msg)
    return Transition(status, result, to_status, to_result, supersedes=need)


# --- feedback --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackRow:
    """One row of a filled dispatch workbook (反馈).

    Values are as read: dates may still be text the reader could not parse (reported as
    ``bad_date``), plant counts may be text or floats (checked here).
    """

    row: int
    target_id: str | None
    village: str | None = None
    verified_on: dt.date | str | None = None
    verified_by: str | None = None
    result_label: str | None = None
    plants: int | float | str | None = None
    area_m2: float | int | str | None = None
    eradicated_on: dt.date | str | None = None
    case_no: str | None = None
    remarks: str | None = None


@dataclass(frozen=True)
class Change:
    """A validated feedback change for one target, ready to be written with an event."""

    pk: int
    target_id: str
    row: int
    from_status: str
    to_status: str
    from_result: str | None
    to_result: str | None
    values: dict[str, Any]
    previous: dict[str, Any] = field(default_factory=dict)
    supersedes: bool = False
    reason: str | None = None
    threshold: str | None = None
    #: The target's version the change was validated against (None: not checked).
    version: int | None = None
    #: Feedback values cleared because the new result no longer has them (a correction from
    #: 确认种植 to 未发现 clears plants, areas, eradication date and case number); they are in
    #: ``values`` as None and in ``previous`` with what was recorded.
    cleared: tuple[str, ...] = ()


def parse_result_label(label: object) -> str | None:
    """Result code of a workbook label (``"确认种植"`` → ``"confirmed"``); codes pass through.

    Returns ``None`` for an unknown label.
    """
    if label is None:
        return None
    text = str(label).strip()
    if text in RESULT_BY_LABEL:
        return RESULT_BY_LABEL[text]
    if text.lower() in _RESULTS:
        return text.lower()
    return None


def _clean(v: object) -> Any:
    """Frame value → plain Python (NA → None, Timestamp → date, numpy → builtin)."""
    if is_missing(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if hasattr(v, "item") and not isinstance(v, str | dt.date):
        return v.item()
    if isinstance(v, str):
        return v.strip()
    return v


def _problem(
    fr: FeedbackRow, code: str, zh: str, en: str, fld: str | None = None, value: object = None
) -> RowProblem:
    return RowProblem(
        row=fr.row,
        target_id=fr.target_id,
        reason=zh,
        reason_en=en,
        field=fld,
        value=None if value is None else str(value),
        code=code,
    )


def _as_count(v: object) -> int | str | None:
    """Plant count → int, None when empty, or ``"bad"``."""
    if is_missing(v):
        return None
    if isinstance(v, bool):
        return "bad"
    if isinstance(v, int):
        return v if v >= 0 else "bad"
    if isinstance(v, float):
        return int(v) if v.is_integer() and v >= 0 else "bad"
    text = str(v).strip().replace(",", "").replace("，", "")
    text = text.removesuffix("株").strip()
    try:
        f = float(text)
    except ValueError:
        return "bad"
    if not math.isfinite(f) or not f.is_integer() or f < 0:
        return "bad"
    return int(f)


def _as_area(v: object) -> float | str | None:
    if is_missing(v):
        return None
    if isinstance(v, bool):
        return "bad"
    try:
        f = float(str(v).strip().replace(",", "")) if isinstance(v, str) else float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "bad"
    if not math.isfinite(f) or f < 0:
        return "bad"
    return f


def _as_date(v: object) -> dt.date | str | None:
    """Date cell → date, None when empty, or ``"bad"`` (text, numbers: nothing is parsed)."""
    if is_missing(v):
        return None
    day = as_date(v)
    return "bad" if day is None else day


def _index_targets(frame: pd.DataFrame, batch: str | None) -> dict[str, list[Mapping[str, Any]]]:
    index: dict[str, list[Mapping[str, Any]]] = {}
    if frame is None or len(frame) == 0:
        return index
    sub = frame
    if batch is not None and "batch" in frame.columns:
        sub = frame[frame["batch"] == batch]
    for raw in sub.to_dict(orient="records"):
        rec = {str(k): v for k, v in raw.items()}
        tid = _clean(rec.get("target_id"))
        if tid is None:
            continue
        index.setdefault(str(tid), []).append(rec)
    return index


def validate_feedback(
    rows: Iterable[FeedbackRow],
    targets_frame: pd.DataFrame,
    *,
    village: str | None = None,
    today: dt.date,
    supersede: bool = False,
    reason: str | None = None,
    batch: str | None = None,
) -> tuple[list[Change], list[RowProblem]]:
    """Check filled feedback rows against the targets they answer.

    Parameters
    ----------
    rows
        Rows read from a dispatch workbook (or built for a single ``feedback set``).
    targets_frame
        Targets as the store returns them (see the frame contract): needs ``pk``,
        ``target_id``, ``village``, ``status``, ``result``, ``issued_on`` and the feedback columns.
    village
        The village the workbook was made for; every target must belong to it. When ``None``,
        each row's own ``village`` value (if any) is checked instead.
    today
        The date "now" (dates after it are refused).
    supersede, reason
        Allow replacing already-recorded results/values; ``reason`` is required then.
    batch
        Only match targets of this batch (a target id is unique within a batch).

    Returns
    -------
    (changes, problems)
        ``changes`` for rows that change something (rows equal to what is recorded, and rows
        with no result at all, give none); ``problems`` for every bad row. Callers write nothing
        unless ``problems`` is empty (all or nothing).

    Notes
    -----
    Problem codes: ``unknown_target``, ``ambiguous_target``, ``duplicate_row``,
    ``other_village``, ``bad_result``, ``missing_date``, ``missing_person``, ``bad_date``,
    ``date_before_issue``, ``date_in_future``, ``eradication_before_verification``,
    ``eradication_without_confirmed``, ``bad_plants``, ``bad_area``, ``conflicting_result``,
    ``conflicting_values``, ``missing_reason``, ``illegal_transition``, ``implausible_date``
    (before 2000), ``implausible_plants``, ``implausible_area``, ``values_without_confirmed``
    (plants or an area for a result other than 确认种植), ``zero_for_confirmed`` (0 plants or
    an area of 0 for 确认种植), ``excluded_without_what`` (排除 that does not say what the site
    really is).

    A change of result to anything but 确认种植 clears the recorded plants, eradicated area,
    eradication date and case number (``Change.cleared``; the old values are in
    ``Change.previous``, so the event records them).
    """
    index = _index_targets(targets_frame, batch)
    changes: list[Change] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for fr in rows:
        if is_missing(fr.result_label) and is_missing(fr.eradicated_on):
            continue  # not yet checked
        found = _find_target(fr, index, seen)
        if isinstance(found, RowProblem):
            problems.append(found)
            continue
        tid, target = found
        entries = _read_entries(fr)
        row_problems = _row_problems(fr, tid, target, entries, village=village, today=today)
        if row_problems or entries.to_result is None:
            problems.extend(row_problems)
            continue
        outcome = _change_for(
            fr, tid, target, entries.to_result, _given_values(fr, entries), supersede, reason
        )
        if isinstance(outcome, Change):
            changes.append(outcome)
        elif outcome is not None:
            problems.append(outcome)
    return changes, problems


# --- feedback: the steps of validate_feedback, one check each ---------------------------------


@dataclass(frozen=True)
class _Entries:
    """A feedback row's values as read: ``None`` when empty (or unreadable, for dates).

    ``plants`` and ``area`` are ``"bad"`` when they are not a non-negative number.
    """

    to_result: str | None
    verified_on: dt.date | None
    eradicated_on: dt.date | None
    plants: int | str | None
    area: float | str | None


@dataclass(frozen=True)
class _Comparison:
    """A checked row compared with what is recorded on its target."""

    status: str
    result: Any
    to_status: str
    to_result: str
    recorded: dict[str, Any]
    #: The values that change (new ones, and ``None`` for cleared ones) and what they were.
    values: dict[str, Any]
    previous: dict[str, Any]
    cleared: tuple[str, ...]
    #: The row gives another result than the recorded one.
    result_conflict: bool
    #: The row replaces recorded values (or reopens a reported target).
    values_conflict: bool

    @property
    def changes_anything(self) -> bool:
        """False when the row only repeats what is recorded (idempotent)."""
        return self.result_conflict or bool(self.values)

    @property
    def supersedes(self) -> bool:
        """True when the change replaces something recorded (needs supersede and a reason)."""
        return self.result_conflict or self.values_conflict


# --- the target --------------------------------------------------------------------------------


def _find_target(
    fr: FeedbackRow, index: Mapping[str, list[Mapping[str, Any]]], seen: dict[str, int]
) -> tuple[str, Mapping[str, Any]] | RowProblem:
    """The one target a row answers, as ``(target id, record)``, or why there is none.

    The first row to answer a target is recorded in ``seen`` (target id → row); a later row
    for the same target is a ``duplicate_row``.
    """
    tid = None if is_missing(fr.target_id) else str(fr.target_id).strip()
    matches = index.get(tid, []) if tid else []
    if not matches:
        return _unknown_target(fr, tid)
    assert tid is not None
    if len(matches) > 1:
        return _ambiguous_target(fr, tid)
    if tid in seen:
        return _duplicate_row(fr, tid, seen[tid])
    seen[tid] = fr.row
    return tid, matches[0]


def _unknown_target(fr: FeedbackRow, tid: str | None) -> RowProblem:
    """``unknown_target``: no target of the batch has the row's id (or the id is empty)."""
    return _problem(
        fr,
        "unknown_target",
        f"靶标编号 {tid or '（空）'} 不存在",
        f"unknown target id {tid!r}",
        "靶标编号",
        tid,
    )


def _ambiguous_target(fr: FeedbackRow, tid: str) -> RowProblem:
    """``ambiguous_target``: the id is used in several batches and no batch was named."""
    return _problem(
        fr,
        "ambiguous_target",
        f"靶标编号 {tid} 在多个批次中出现，请指定批次",
        f"target id {tid!r} exists in several batches; name the batch",
        "靶标编号",
        tid,
    )


def _duplicate_row(fr: FeedbackRow, tid: str, first_row: int) -> RowProblem:
    """``duplicate_row``: the target is already answered on ``first_row``."""
    return _problem(
        fr,
        "duplicate_row",
        f"靶标 {tid} 在第 {first_row} 行已填写过",
        f"target {tid} is already answered on row {first_row}",
        "靶标编号",
        tid,
    )


# --- the row's values --------------------------------------------------------------------------


def _read_entries(fr: FeedbackRow) -> _Entries:
    """Read a row's result, dates, plant count and area (problems are found apart)."""
    to_result = None if is_missing(fr.result_label) else parse_result_label(fr.result_label)
    return _Entries(
        to_result=to_result,
        verified_on=_date_or_none(fr.verified_on),
        eradicated_on=_date_or_none(fr.eradicated_on),
        plants=_as_count(fr.plants),
        area=_as_area(fr.area_m2),
    )


def _date_or_none(v: object) -> dt.date | None:
    """A feedback date, or ``None`` when empty or unreadable."""
    d = _as_date(v)
    return None if isinstance(d, str) else d


def _row_problems(
    fr: FeedbackRow,
    tid: str,
    target: Mapping[str, Any],
    entries: _Entries,
    *,
    village: str | None,
    today: dt.date,
) -> list[RowProblem]:
    """Every problem of a row on its own (before comparing it with what is recorded)."""
    issued_on = _clean(target.get("issued_on"))
    found = [
        _village_problem(fr, tid, target, village),
        _result_problem(fr, entries),
        *_date_problems(fr, "verified_on", "核查日期", fr.verified_on, issued_on, today),
        *_date_problems(fr, "eradicated_on", "铲除日期", fr.eradicated_on, issued_on, today),
        _date_order_problem(fr, entries),
        _eradication_result_problem(fr, entries),
        _missing_date_problem(fr),
        _missing_person_problem(fr),
        _plants_problem(fr, entries),
        _area_problem(fr, entries),
        _values_without_confirmed_problem(fr, entries),
        _zero_for_confirmed_problem(fr, entries),
        _excluded_without_what_problem(fr, target, entries),
    ]
    return [p for p in found if p is not None]


def _village_problem(
    fr: FeedbackRow, tid: str, target: Mapping[str, Any], village: str | None
) -> RowProblem | None:
    """``other_village``: the target is not in the workbook's village (or the row's own)."""
    t_village = _clean(target.get("village"))
    expected = village if village is not None else _clean(fr.village)
    if expected is None or t_village == expected:
        return None
    return _problem(
        fr,
        "other_village",
        f"靶标 {tid} 属于 {t_village or '镇外'}，不属于 {expected}",
        f"target {tid} belongs to {t_village or 'no village'}, not {expected}",
        "村（社区）",
        expected,
    )


def _result_problem(fr: FeedbackRow, entries: _Entries) -> RowProblem | None:
    """``bad_result``: a result is given but is not one of the workbook's labels."""
    if is_missing(fr.result_label) or entries.to_result is not None:
        return None
    return _problem(
        fr,
        "bad_result",
        f"核查结果“{fr.result_label}”无效，应为：" + "、".join(RESULT_BY_LABEL),
        f"result {fr.result_label!r} is not one of " + ", ".join(RESULT_BY_LABEL),
        "核查结果",
        fr.result_label,
    )


def _date_problems(
    fr: FeedbackRow, fld: str, label: str, raw: object, issued_on: object, today: dt.date
) -> list[RowProblem]:
    """A given date must be a date, plausible, not before the issue date and not after today.

    Parameters
    ----------
    fld, label
        The date's field name (English messages) and column label (Chinese messages).
    raw
        The value as read.
    issued_on
        The target's issue date (not checked unless it is a date).
    """
    d = _as_date(raw)
    if isinstance(d, str):
        return [
            _problem(
                fr,
                "bad_date",
                f"{label}“{raw}”无法识别为日期",
                f"{fld} {raw!r} is not a date",
                label,
                raw,
            )
        ]
    if d is None:
        return []
    odd = check_date(d, what=label, what_en=fld)
    if odd is not None:
        return [_problem(fr, odd.code, odd.zh, odd.en, label, d.isoformat())]
    found = [
        _before_issue_problem(fr, fld, label, d, issued_on),
        _future_date_problem(fr, fld, label, d, today),
    ]
    return [p for p in found if p is not None]


def _before_issue_problem(
    fr: FeedbackRow, fld: str, label: str, d: dt.date, issued_on: object
) -> RowProblem | None:
    """``date_before_issue``: the date is before the target was issued."""
    if not (isinstance(issued_on, dt.date) and d < issued_on):
        return None
    return _problem(
        fr,
        "date_before_issue",
        f"{label} {d.isoformat()} 早于下发日期 {issued_on.isoformat()}",
        f"{fld} {d.isoformat()} is before the issue date {issued_on.isoformat()}",
        label,
        d.isoformat(),
    )


def _future_date_problem(
    fr: FeedbackRow, fld: str, label: str, d: dt.date, today: dt.date
) -> RowProblem | None:
    """``date_in_future``: the date is after today."""
    if not d > today:
        return None
    return _problem(
        fr,
        "date_in_future",
        f"{label} {d.isoformat()} 晚于今天 {today.isoformat()}",
        f"{fld} {d.isoformat()} is in the future (today {today.isoformat()})",
        label,
        d.isoformat(),
    )


def _date_order_problem(fr: FeedbackRow, entries: _Entries) -> RowProblem | None:
    """``eradication_before_verification``: eradicated before it was verified."""
    v_on, e_on = entries.verified_on, entries.eradicated_on
    if v_on is None or e_on is None or not e_on < v_on:
        return None
    return _problem(
        fr,
        "eradication_before_verification",
        f"铲除日期 {e_on.isoformat()} 早于核查日期 {v_on.isoformat()}（先核查、后铲除）："
        "请把核查日期改为实际到现场核查的那天（不晚于铲除日期），或改正铲除日期",
        f"eradicated_on {e_on.isoformat()} is before verified_on {v_on.isoformat()}; "
        "give the day the site was checked (on or before the eradication) or fix the "
        "eradication date",
        "铲除日期",
        e_on.isoformat(),
    )


def _eradication_result_problem(fr: FeedbackRow, entries: _Entries) -> RowProblem | None:
    """``eradication_without_confirmed``: an eradication date without a result, or with a
    result other than 确认种植 (rows with neither are skipped before)."""
    if is_missing(fr.result_label):
        return _problem(
            fr,
            "eradication_without_confirmed",
            "填写了铲除日期，但核查结果为空（只有“确认种植”才能铲除）",
            "eradication date given without a result (only confirmed targets are eradicated)",
            "铲除日期",
            fr.eradicated_on,
        )
    to_result = entries.to_result
    if to_result is None or to_result == Result.CONFIRMED.value or is_missing(fr.eradicated_on):
        return None
    return _problem(
        fr,
        "eradication_without_confirmed",
        f"核查结果为“{RESULT_LABELS[to_result]}”，不能填写铲除日期",
        f"eradication date given for a {to_result} target (confirmed only)",
        "铲除日期",
        fr.eradicated_on,
    )


def _missing_date_problem(fr: FeedbackRow) -> RowProblem | None:
    """``missing_date``: a result without a verification date (an unreadable one is a
    ``bad_date``)."""
    if is_missing(fr.result_label) or not is_missing(fr.verified_on):
        return None
    return _problem(fr, "missing_date", "缺少核查日期", "verification date is missing", "核查日期")


def _missing_person_problem(fr: FeedbackRow) -> RowProblem | None:
    """``missing_person``: a result without the person who checked."""
    if is_missing(fr.result_label) or not is_missing(fr.verified_by):
        return None
    return _problem(
        fr, "missing_person", "缺少核查人员", "the person who checked is missing", "核查人员"
    )


def _plants_problem(fr: FeedbackRow, entries: _Entries) -> RowProblem | None:
    """``bad_plants`` (not a non-negative integer) or ``implausible_plants``."""
    plants = entries.plants
    if plants == "bad":
        return _problem(
            fr,
            "bad_plants",
            f"株数“{fr.plants}”应为非负整数",
            f"plant count {fr.plants!r} must be a non-negative integer",
            "株数",
            fr.plants,
        )
    if isinstance(plants, int) and (odd := check_plants(plants)) is not None:
        return _problem(fr, odd.code, odd.zh, odd.en, "株数", fr.plants)
    return None


def _area_problem(fr: FeedbackRow, entries: _Entries) -> RowProblem | None:
    """``implausible_area`` or ``bad_area`` (not a non-negative number)."""
    area = entries.area
    if isinstance(area, float) and (odd := check_area(area)) is not None:
        return _problem(fr, odd.code, odd.zh, odd.en, "铲除面积（平方米）", fr.area_m2)
    if area == "bad":
        return _problem(
            fr,
            "bad_area",
            f"面积“{fr.area_m2}”应为非负数",
            f"area {fr.area_m2!r} must be a non-negative number",
            "铲除面积（平方米）",
            fr.area_m2,
        )
    return None


def _zero_for_confirmed_problem(fr: FeedbackRow, entries: _Entries) -> RowProblem | None:
    """``zero_for_confirmed``: 确认种植 with 0 plants or an area of 0 (planting was found, so
    there is something to count; a site with nothing on it is 未发现 or 排除)."""
    if entries.to_result != Result.CONFIRMED.value:
        return None
    if entries.plants == 0:
        return _problem(
            fr,
            "zero_for_confirmed",
            "确认种植时株数应大于 0；株数不清楚可以不填，没有植株请选“未发现”或“排除”",
            "a confirmed planting needs a plant count above 0 (leave it empty when unknown)",
            "株数",
            fr.plants,
        )
    if entries.area == 0.0:
        return _problem(
            fr,
            "zero_for_confirmed",
            "确认种植时铲除面积应大于 0；面积不清楚可以不填",
            "a confirmed planting needs an area above 0 (leave it empty when unknown)",
            "铲除面积（平方米）",
            fr.area_m2,
        )
    return None


def _what_is_said(note: str | None) -> tuple[str | None, str | None]:
    """A note as its parts: the 排除：实际为 choice it leads with (a workbook's column; None
    without one) and the free text (None when empty), lines' ends and outer spaces aside."""
    if note is None:
        return None, None
    text = "\n".join(line.strip() for line in note.splitlines()).strip()
    if not text.startswith(EXCLUDED_AS_LEAD):
        return None, text or None
    choice, _, rest = text.removeprefix(EXCLUDED_AS_LEAD).partition("；")
    return choice.strip() or None, rest.strip() or None


def _excluded_without_what_problem(
    fr: FeedbackRow, target: Mapping[str, Any], entries: _Entries
) -> RowProblem | None:
    """``excluded_without_what``: an answer that makes a target 排除 without saying what the
    site really is (the district asks): a choice of 排除：实际为 other than 其他（写在备注）, or
    a note. Only 其他 chosen, no note, or the note recorded for the target's earlier result
    given back unchanged (the form and the workbook show it filled in) does not say it. A
    target already recorded as 排除 is left as it is (one recorded before this rule shows a
    reminder on its page, and its answer given again is not refused)."""
    if entries.to_result != Result.EXCLUDED.value:
        return None
    recorded_result = _clean(target.get("result"))
    if recorded_result == Result.EXCLUDED.value:
        return None
    choice, note = _what_is_said(_text_or_none(fr.remarks))
    if choice is not None and choice != EXCLUDED_AS_OTHER:
        return None
    earlier = _what_is_said(_text_or_none(_clean(target.get("remarks"))))[1]
    old_note = recorded_result is not None and note is not None and note == earlier
    if note is not None and not old_note:
        return None
    reason = "核查结果为“排除”时请写明实际是什么（如油菜、观赏植物、裸地、房屋）"
    detail = (
        "an excluded site needs what it really is (e.g. rapeseed, ornamental plants, bare soil)"
    )
    if old_note:
        label = RESULT_LABELS.get(str(recorded_result), str(recorded_result))
        reason += f"；备注仍是上次“{label}”时写的，请改写"
        detail += f"; the note is the one recorded for the earlier result ({recorded_result})"
    return _problem(fr, "excluded_without_what", reason, detail, "排除：实际为")


def _values_without_confirmed_problem(fr: FeedbackRow, entries: _Entries) -> RowProblem | None:
    """``values_without_confirmed``: plants or an area for a result other than 确认种植."""
    to_result, plants, area = entries.to_result, entries.plants, entries.area
    has_plants = isinstance(plants, int) and plants > 0
    has_area = isinstance(area, float) and area > 0
    if to_result in (None, Result.CONFIRMED.value) or not (has_plants or has_area):
        return None
    return _problem(
        fr,
        "values_without_confirmed",
        f"核查结果为“{RESULT_LABELS[str(to_result)]}”，不应填写株数或面积（只有“确认种植”才有）",
        f"plants or area given for a {to_result} target (confirmed planting only)",
        "株数" if has_plants else "铲除面积（平方米）",
        fr.plants if has_plants else fr.area_m2,
    )


# --- compared with what is recorded ------------------------------------------------------------


def _given_values(fr: FeedbackRow, entries: _Entries) -> dict[str, Any]:
    """The feedback values a checked row gives, by :data:`FEEDBACK_FIELDS` (None: empty)."""
    return {
        "verified_on": entries.verified_on,
        "verified_by": _text_or_none(fr.verified_by),
        "plants": entries.plants,
        "eradicated_area_m2": entries.area,
        "eradicated_on": entries.eradicated_on,
        "case_no": _text_or_none(fr.case_no),
        "remarks": _text_or_none(fr.remarks),
    }


def _text_or_none(v: object) -> str | None:
    """Stripped text, or ``None`` when empty."""
    return None if is_missing(v) else str(v).strip()


def _change_for(
    fr: FeedbackRow,
    tid: str,
    target: Mapping[str, Any],
    to_result: str,
    given: dict[str, Any],
    supersede: bool,
    reason: str | None,
) -> Change | RowProblem | None:
    """The change a checked row makes to its target, a problem, or ``None`` (nothing new)."""
    cmp = _compare(target, to_result, given)
    if not cmp.changes_anything:
        return None  # already recorded: idempotent
    problem = _conflict_problem(fr, tid, cmp, supersede=supersede, reason=reason)
    if problem is not None:
        return problem
    tr = _check_move(fr, cmp, reason)
    if isinstance(tr, RowProblem):
        return tr
    return _make_change(fr, tid, target, cmp, tr, reason)


def _compare(target: Mapping[str, Any], to_result: str, given: dict[str, Any]) -> _Comparison:
    """Compare a row's result and values with what is recorded on its target."""
    recorded = {k: _clean(target.get(k)) for k in FEEDBACK_FIELDS}
    status = str(_clean(target.get("status")))
    result = _clean(target.get("result"))
    result_conflict = result is not None and result != to_result
    values, previous = _new_values(given, recorded)
    values_conflict = _values_conflict(status, values, recorded, result_conflict=result_conflict)
    cleared: tuple[str, ...] = ()
    if result_conflict and to_result != Result.CONFIRMED.value:
        cleared = _clear_confirmed_only(recorded, values, previous)
    to_status = _new_status(status, result, to_result, values, recorded, result_conflict)
    return _Comparison(
        status=status,
        result=result,
        to_status=to_status,
        to_result=to_result,
        recorded=recorded,
        values=values,
        previous=previous,
        cleared=cleared,
        result_conflict=result_conflict,
        values_conflict=values_conflict,
    )


def _new_values(
    given: dict[str, Any], recorded: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The given values that differ from the recorded ones, and the recorded ones they replace."""
    values: dict[str, Any] = {}
    previous: dict[str, Any] = {}
    for k, v in given.items():
        if v is None or _same(v, recorded[k]):
            continue
        values[k] = v
        previous[k] = recorded[k]
    return values, previous


def _values_conflict(
    status: str, values: dict[str, Any], recorded: dict[str, Any], *, result_conflict: bool
) -> bool:
    """True when the new ``values`` replace something recorded (free notes aside).

    A reported target is closed: unless its result changes, any new value except a note
    reopens it.
    """
    if status == Status.REPORTED.value and not result_conflict:
        return bool(set(values) - _FREELY_UPDATED)
    return any(recorded[k] is not None and k not in _FREELY_UPDATED for k in values)


def _clear_confirmed_only(
    recorded: dict[str, Any], values: dict[str, Any], previous: dict[str, Any]
) -> tuple[str, ...]:
    """Clear the recorded values only a confirmed planting has (in ``values``/``previous``).

    A corrected result keeps nothing that only a confirmed planting has; returns the fields
    cleared.
    """
    cleared: list[str] = []
    for k in CONFIRMED_ONLY_FIELDS:
        if recorded[k] is not None:
            values[k] = None
            previous[k] = recorded[k]
            cleared.append(k)
    return tuple(cleared)


def _new_status(
    status: str,
    result: Any,
    to_result: str,
    values: dict[str, Any],
    recorded: dict[str, Any],
    result_conflict: bool,
) -> str:
    """The status a change moves its target to.

    A reported target given only a note stays reported; new values on an eradicated
    confirmed target keep it eradicated; otherwise a confirmed planting with an eradication
    date (given or recorded) is eradicated and anything else verified.
    """
    only_notes = not set(values) - _FREELY_UPDATED
    if status == Status.REPORTED.value and not result_conflict and only_notes:
        return Status.REPORTED.value
    if (status, result, to_result) == ("eradicated", "confirmed", "confirmed"):
        return Status.ERADICATED.value
    merged_erad = values.get("eradicated_on", recorded["eradicated_on"])
    if to_result == Result.CONFIRMED.value and merged_erad is not None:
        return Status.ERADICATED.value
    return Status.VERIFIED.value


def _conflict_problem(
    fr: FeedbackRow, tid: str, cmp: _Comparison, *, supersede: bool, reason: str | None
) -> RowProblem | None:
    """A change that replaces something recorded needs ``supersede`` and a reason.

    Codes: ``missing_reason`` (supersede without a reason), else ``conflicting_result`` or
    ``conflicting_values``.
    """
    has_reason = bool((reason or "").strip())
    if not cmp.supersedes or (supersede and has_reason):
        return None
    if supersede and not has_reason:
        return _problem(
            fr,
            "missing_reason",
            "更正已登记的结果必须填写理由",
            "superseding a recorded result needs a reason",
        )
    if cmp.result_conflict:
        return _conflicting_result(fr, tid, cmp)
    return _conflicting_values(fr, tid, cmp)


def _conflicting_result(fr: FeedbackRow, tid: str, cmp: _Comparison) -> RowProblem:
    """``conflicting_result``: the row gives another result than the recorded one."""
    return _problem(
        fr,
        "conflicting_result",
        f"靶标 {tid} 已登记结果“{RESULT_LABELS[str(cmp.result)]}”，"
        f"本次为“{RESULT_LABELS[cmp.to_result]}”；{SUPERSEDE_NEEDS_REASON}",
        f"target {tid} already has result {cmp.result}; got {cmp.to_result} "
        "(correcting it needs supersede with a reason)",
        "核查结果",
        fr.result_label,
    )


def _conflicting_values(fr: FeedbackRow, tid: str, cmp: _Comparison) -> RowProblem:
    """``conflicting_values``: the row replaces recorded values (or reopens a reported target).

    The reason names each value it would replace, with the recorded one and the new one; a
    value filled in where nothing was recorded is no correction, except on a reported target.
    """
    changed = [k for k in cmp.values if k not in _FREELY_UPDATED]
    replaced = [k for k in changed if cmp.recorded[k] is not None]
    added = [k for k in changed if cmp.recorded[k] is None]
    said: list[str] = []
    if cmp.status == Status.REPORTED.value:
        said.append(f"靶标 {tid} 已上报区禁毒办")
        if added:
            names = "、".join(FEEDBACK_FIELD_LABELS.get(k, k) for k in added)
            said.append(f"补填{names}也会改动已上报的内容")
    if replaced:
        names = "、".join(FEEDBACK_FIELD_LABELS.get(k, k) for k in replaced)
        detail = "；".join(
            f"{FEEDBACK_FIELD_LABELS.get(k, k)}：已登记 {_shown(cmp.recorded[k])}，"
            f"本次 {_shown(cmp.values[k])}"
            for k in replaced
        )
        head = f"靶标 {tid} " if not said else ""
        said.append(f"{head}已登记的{names}与本次不同（{detail}）")
    fields = "、".join(changed)
    return _problem(
        fr,
        "conflicting_values",
        f"{'，'.join(said)}；{SUPERSEDE_NEEDS_REASON}",
        f"target {tid}: recorded {fields} differ from this row "
        "(correcting them needs supersede with a reason)",
        "、".join(FEEDBACK_FIELD_LABELS.get(k, k) for k in changed),
    )


def _shown(value: object) -> str:
    """A recorded or given feedback value as a message shows it."""
    if value is None:
        return "（空）"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _check_move(fr: FeedbackRow, cmp: _Comparison, reason: str | None) -> Transition | RowProblem:
    """The state machine's verdict on the move (``illegal_transition`` when refused)."""
    try:
        return check_transition(
            cmp.status,
            cmp.result,
            to_status=cmp.to_status,
            to_result=cmp.to_result,
            supersede=cmp.supersedes,
            reason=reason if cmp.supersedes else None,
        )
    except TransitionError as e:
        return _problem(fr, "illegal_transition", str(e), str(e), "核查结果", fr.result_label)


def _make_change(
    fr: FeedbackRow,
    tid: str,
    target: Mapping[str, Any],
    cmp: _Comparison,
    tr: Transition,
    reason: str | None,
) -> Change:
    """The :class:`Change` of an accepted row, with the law threshold of a confirmed planting."""
    supersedes = cmp.supersedes or tr.supersedes
    merged_plants = cmp.values.get("plants", cmp.recorded["plants"])
    confirmed = cmp.to_result == Result.CONFIRMED.value
    return Change(
        pk=int(_clean(target.get("pk"))),
        target_id=tid,
        row=fr.row,
        from_status=cmp.status,
        to_status=cmp.to_status,
        from_result=cmp.result,
        to_result=cmp.to_result,
        values=cmp.values,
        previous=cmp.previous,
        supersedes=supersedes,
        reason=reason if supersedes else None,
        threshold=threshold_level(merged_plants) if confirmed else None,
        version=_opt_version(target.get("version")),
        cleared=cmp.cleared,
    )


def _opt_version(value: Any) -> int | None:
    value = _clean(value)
    return None if value is None else int(value)


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)
    if isinstance(a, dt.date) and isinstance(b, dt.date):
        return a == b
    return str(a) == str(b)
