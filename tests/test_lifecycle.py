"""Tests for the target state machine, law thresholds and feedback validation."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pandas as pd
import pytest

from geoverify.errors import TransitionError
from geoverify.lifecycle import (
    ALLOWED_TRANSITIONS,
    STATES,
    FeedbackRow,
    check_transition,
    parse_result_label,
    threshold_level,
    validate_feedback,
)

RESULTS = ["confirmed", "excluded", "not_found", "outside"]
STATUSES = ["issued", "dispatched", "verified", "eradicated", "reported"]
LABEL = {
    "confirmed": "确认种植",
    "excluded": "排除",
    "not_found": "未发现",
    "outside": "非本镇辖区",
}
TODAY = dt.date(2024, 4, 1)
ISSUED = dt.date(2024, 3, 1)


# --- the state machine, written out independently of the implementation ------------------

VALID = (
    {("issued", None), ("dispatched", None), ("eradicated", "confirmed")}
    | {("verified", r) for r in RESULTS}
    | {("reported", r) for r in RESULTS}
)


def expected(a: tuple[str, str | None], b: tuple[str, str | None]) -> str:
    """'noop', 'ok', 'supersede' or 'illegal' — the issue's rules, spelled out."""
    if a not in VALID or b not in VALID:
        return "illegal"
    if a == b:
        return "noop"
    (s, r), (t, q) = a, b
    if t == "dispatched":
        return "ok" if s == "issued" else "illegal"
    if t == "issued":
        return "illegal"
    if t == "reported":
        return "ok" if s in ("verified", "eradicated") and r == q else "illegal"
    # t is verified or eradicated
    if r is None:
        return "ok"
    if s == "verified" and t == "eradicated" and r == q == "confirmed":
        return "ok"
    return "supersede"


ALL_PAIRS = [(s, r) for s in STATUSES for r in [None, *RESULTS]]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(ALL_PAIRS, ALL_PAIRS)))
def test_every_pair_of_states(a: tuple[str, str | None], b: tuple[str, str | None]) -> None:
    want = expected(a, b)
    kwargs: dict[str, Any] = {"to_status": b[0], "to_result": b[1]}
    if b == ("reported", "confirmed") and want != "illegal":
        kwargs["plants"] = 3  # a confirmed planting is reported with its count
    if want == "illegal":
        with pytest.raises(TransitionError):
            check_transition(a[0], a[1], **kwargs)
        with pytest.raises(TransitionError):
            check_transition(a[0], a[1], supersede=True, reason="复核更正", **kwargs)
        assert b not in ALLOWED_TRANSITIONS.get(a, {})
        return
    if want == "noop":
        tr = check_transition(a[0], a[1], **kwargs)
        assert tr.noop and not tr.supersedes
        return
    if want == "ok":
        tr = check_transition(a[0], a[1], **kwargs)
        assert not tr.noop and not tr.supersedes
        assert ALLOWED_TRANSITIONS[a][b] is False
        return
    # supersede: refused without the flag, refused without a reason, fine with both
    with pytest.raises(TransitionError, match="supersede"):
        check_transition(a[0], a[1], **kwargs)
    with pytest.raises(TransitionError, match="reason"):
        check_transition(a[0], a[1], supersede=True, reason="  ", **kwargs)
    tr = check_transition(a[0], a[1], supersede=True, reason="复核发现为油菜", **kwargs)
    assert tr.supersedes and not tr.noop
    assert ALLOWED_TRANSITIONS[a][b] is True


def test_states_table() -> None:
    assert set(STATES) == VALID
    assert len(STATES) == 11


def test_messages_are_chinese_and_english() -> None:
    with pytest.raises(TransitionError) as e:
        check_transition("issued", None, to_status="reported", to_result="excluded")
    assert "不允许" in str(e.value) and "illegal transition" in str(e.value)
    with pytest.raises(TransitionError, match="只有“确认种植”") as e:
        check_transition("verified", "excluded", to_status="eradicated", to_result="excluded")
    assert "only a confirmed target" in str(e.value)
    with pytest.raises(TransitionError, match="needs a result"):
        check_transition("dispatched", None, to_status="verified")


@pytest.mark.parametrize(
    ("plants", "level"),
    [
        (None, None),
        (0, None),
        (499, None),
        (500, "criminal"),
        (2999, "criminal"),
        (3000, "heavier"),
        (10_000, "heavier"),
        (float("nan"), None),
        ("x", None),
    ],
)
def test_threshold_level(plants: Any, level: str | None) -> None:
    assert threshold_level(plants) == level


def test_threshold_needs_case_number_before_reporting() -> None:
    with pytest.raises(TransitionError, match="案件编号"):
        check_transition(
            "eradicated", "confirmed", to_status="reported", to_result="confirmed", plants=500
        )
    tr = check_transition(
        "eradicated",
        "confirmed",
        to_status="reported",
        to_result="confirmed",
        plants=500,
        case_no="铜公（福）立字〔2024〕12号",
    )
    assert not tr.noop
    check_transition(
        "eradicated", "confirmed", to_status="reported", to_result="confirmed", plants=499
    )


@pytest.mark.parametrize("plants", [None, float("nan")])
def test_a_confirmed_planting_needs_its_count_before_reporting(plants: Any) -> None:
    for status in ("verified", "eradicated"):
        with pytest.raises(TransitionError, match="株数") as e:
            check_transition(
                status, "confirmed", to_status="reported", to_result="confirmed", plants=plants
            )
        assert "plant count" in str(e.value)
    # Zero is a count; other results are reported without one.
    check_transition("verified", "confirmed", to_status="reported", to_result="confirmed", plants=0)
    check_transition("verified", "excluded", to_status="reported", to_result="excluded")


def test_parse_result_label() -> None:
    assert parse_result_label(" 确认种植 ") == "confirmed"
    assert parse_result_label("非本镇辖区") == "outside"
    assert parse_result_label("excluded") == "excluded"
    assert parse_result_label("确认") is None
    assert parse_result_label(None) is None


# --- feedback validation -----------------------------------------------------------------


def _target(pk: int, tid: str, status: str, result: str | None, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "pk": pk,
        "target_id": tid,
        "batch": "B1",
        "village": "福果村",
        "village_code": "500151001",
        "status": status,
        "result": result,
        "issued_on": ISSUED,
        "due_on": dt.date(2024, 3, 20),
        "verified_on": None,
        "verified_by": None,
        "plants": None,
        "eradicated_area_m2": None,
        "eradicated_on": None,
        "case_no": None,
        "remarks": None,
    }
    if result is not None:
        rec.update(verified_on=dt.date(2024, 3, 10), verified_by="张三")
    if result == "confirmed" and status in ("eradicated", "reported"):
        rec.update(plants=20, eradicated_area_m2=15.0, eradicated_on=dt.date(2024, 3, 11))
    if result == "excluded":  # recorded with what the site really is (as _row gives it)
        rec.update(remarks="实际为：油菜")
    rec.update(kw)
    return rec


def _frame(*recs: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(recs))


def _row(
    row: int = 3, tid: str | None = "T1", label: str | None = "排除", **kw: Any
) -> FeedbackRow:
    base: dict[str, Any] = {
        "row": row,
        "target_id": tid,
        "village": "福果村",
        "verified_on": dt.date(2024, 3, 10),
        "verified_by": "张三",
        "result_label": label,
    }
    if label == "排除":  # an exclusion says what the site really is
        base["remarks"] = "实际为：油菜"
    base.update(kw)
    return FeedbackRow(**base)


# Row variants: (name, result code or None, extra fields)
ROW_VARIANTS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("blank", None, {"verified_on": None, "verified_by": None}),
    ("bad_label", "bad", {}),
    *[(r, r, {}) for r in RESULTS],
    (
        "confirmed_eradicated",
        "confirmed",
        {"plants": 20, "area_m2": 15.0, "eradicated_on": dt.date(2024, 3, 11)},
    ),
]


def _expected_feedback(
    state: tuple[str, str | None], variant: str, new: str | None, supersede: bool
) -> tuple[str, str | None]:
    """('none'|'problem'|'change'|'supersede', code or to_status)."""
    s, r = state
    if new is None:
        return ("none", None)
    if new == "bad":
        return ("problem", "bad_result")
    erad = variant == "confirmed_eradicated"
    to_status = (
        "eradicated" if (new == "confirmed" and (erad or s in ("eradicated",))) else "verified"
    )
    if r is None:
        return ("change", "eradicated" if erad else "verified")
    if r != new:
        return ("supersede", to_status) if supersede else ("problem", "conflicting_result")
    # same result
    if s == "verified" and r == "confirmed" and erad:
        return ("change", "eradicated")  # eradication recorded after verification
    return ("none", None)  # equal to what is recorded (eradicated/reported already hold values)


@pytest.mark.parametrize("supersede", [False, True])
@pytest.mark.parametrize("variant", ROW_VARIANTS, ids=lambda v: v[0])
@pytest.mark.parametrize("state", STATES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_feedback_every_state_times_every_answer(
    state: tuple[str, str | None], variant: tuple[str, str | None, dict[str, Any]], supersede: bool
) -> None:
    name, new, extra = variant
    frame = _frame(_target(7, "T1", state[0], state[1]))
    label = None if new is None else ("确认" if new == "bad" else LABEL[new])
    row = _row(label=label, **extra)
    changes, problems = validate_feedback(
        [row],
        frame,
        village="福果村",
        today=TODAY,
        supersede=supersede,
        reason="复核更正" if supersede else None,
    )
    kind, what = _expected_feedback(state, name, new, supersede)
    if kind == "none":
        assert changes == [] and problems == []
    elif kind == "problem":
        assert changes == []
        assert [p.code for p in problems] == [what]
        assert problems[0].row == 3 and problems[0].target_id == "T1"
    else:
        assert problems == []
        (ch,) = changes
        assert ch.pk == 7 and ch.target_id == "T1" and ch.row == 3
        assert (ch.from_status, ch.from_result) == state
        assert ch.to_result == new
        assert ch.to_status == what
        assert ch.supersedes is (kind == "supersede")
        assert ch.reason == ("复核更正" if kind == "supersede" else None)
        # the change must itself be a legal transition
        check_transition(
            ch.from_status,
            ch.from_result,
            to_status=ch.to_status,
            to_result=ch.to_result,
            supersede=ch.supersedes,
            reason=ch.reason,
        )


def _codes(rows: list[FeedbackRow], frame: pd.DataFrame, **kw: Any) -> list[str]:
    kw.setdefault("village", "福果村")
    kw.setdefault("today", TODAY)
    changes, problems = validate_feedback(rows, frame, **kw)
    if problems:
        assert changes == [] or all(c.row not in {p.row for p in problems} for c in changes)
    return sorted(p.code for p in problems)


FRESH = _frame(_target(1, "T1", "dispatched", None), _target(2, "T2", "dispatched", None))


@pytest.mark.parametrize(
    ("row", "code"),
    [
        (_row(tid="NOPE"), "unknown_target"),
        (_row(tid=None), "unknown_target"),
        (_row(label="种了"), "bad_result"),
        (_row(verified_on=dt.date(2024, 2, 28)), "date_before_issue"),
        (_row(verified_on=dt.date(2024, 4, 2)), "date_in_future"),
        (_row(verified_on="上周"), "bad_date"),
        (_row(verified_on=None), "missing_date"),
        (_row(verified_by="  "), "missing_person"),
        (_row(label="排除", eradicated_on=dt.date(2024, 3, 12)), "eradication_without_confirmed"),
        (_row(label=None, eradicated_on=dt.date(2024, 3, 12)), "eradication_without_confirmed"),
        (_row(label="确认种植", plants=-1), "bad_plants"),
        (_row(label="确认种植", plants=2.5), "bad_plants"),
        (_row(label="确认种植", plants="十"), "bad_plants"),
        (_row(label="确认种植", area_m2=-3), "bad_area"),
        (
            _row(label="确认种植", eradicated_on=dt.date(2024, 3, 9)),
            "eradication_before_verification",
        ),
    ],
)
def test_each_reason(row: FeedbackRow, code: str) -> None:
    assert _codes([row], FRESH) == [code]


def test_other_village() -> None:
    frame = _frame(_target(1, "T1", "dispatched", None, village="玉峡村"))
    assert _codes([_row()], frame) == ["other_village"]
    # without a workbook village, the row's own village column is compared
    assert _codes([_row(village="福果村")], frame, village=None) == ["other_village"]
    assert _codes([_row(village=None)], frame, village=None) == []


def test_duplicate_rows_and_batches() -> None:
    assert _codes([_row(row=3), _row(row=4)], FRESH) == ["duplicate_row"]
    two = _frame(_target(1, "T1", "dispatched", None), _target(2, "T1", "issued", None, batch="B2"))
    assert _codes([_row()], two) == ["ambiguous_target"]
    assert _codes([_row()], two, batch="B2") == []


def test_plants_forms_accepted() -> None:
    for plants in (20, 20.0, "20", "1,200", "30株"):
        changes, problems = validate_feedback(
            [_row(label="确认种植", plants=plants)], FRESH, village="福果村", today=TODAY
        )
        assert problems == [], plants
        assert isinstance(changes[0].values["plants"], int)


def test_threshold_flag_on_change() -> None:
    changes, problems = validate_feedback(
        [
            _row(tid="T1", label="确认种植", plants=3200, eradicated_on=dt.date(2024, 3, 12)),
            _row(row=4, tid="T2", label="确认种植", plants=499),
        ],
        FRESH,
        village="福果村",
        today=TODAY,
    )
    assert problems == []
    assert [c.threshold for c in changes] == ["heavier", None]
    assert changes[0].to_status == "eradicated"
    assert changes[0].values == {
        "verified_on": dt.date(2024, 3, 10),
        "verified_by": "张三",
        "plants": 3200,
        "eradicated_on": dt.date(2024, 3, 12),
    }


def test_values_conflict_needs_supersede_and_keeps_previous() -> None:
    frame = _frame(_target(1, "T1", "eradicated", "confirmed"))
    row = _row(label="确认种植", plants=25, eradicated_on=dt.date(2024, 3, 11))
    assert _codes([row], frame) == ["conflicting_values"]
    assert _codes([row], frame, supersede=True) == ["missing_reason"]
    changes, problems = validate_feedback(
        [row], frame, village="福果村", today=TODAY, supersede=True, reason="补点株数"
    )
    assert problems == []
    (ch,) = changes
    assert ch.supersedes and ch.values == {"plants": 25} and ch.previous == {"plants": 20}
    assert ch.to_status == "eradicated"


def test_filling_empty_values_and_notes_needs_no_supersede() -> None:
    frame = _frame(_target(1, "T1", "verified", "confirmed"))
    changes, problems = validate_feedback(
        [_row(label="确认种植", case_no="A-1", remarks="已移交派出所")],
        frame,
        village="福果村",
        today=TODAY,
    )
    assert problems == []
    (ch,) = changes
    assert not ch.supersedes
    assert ch.values == {"case_no": "A-1", "remarks": "已移交派出所"}
    assert ch.to_status == "verified"


def test_reported_target_reopens_only_with_supersede() -> None:
    frame = _frame(_target(1, "T1", "reported", "excluded"))
    # a note only: stays reported, no supersede
    changes, problems = validate_feedback(
        [_row(remarks="补充说明")], frame, village="福果村", today=TODAY
    )
    assert problems == [] and changes[0].to_status == "reported" and not changes[0].supersedes
    # a new value: reopening
    assert _codes([_row(case_no="X")], frame) == ["conflicting_values"]


def test_idempotent_same_file_twice() -> None:
    rows = [_row(label="确认种植", plants=20, area_m2=15.0, eradicated_on=dt.date(2024, 3, 11))]
    changes, problems = validate_feedback(rows, FRESH, village="福果村", today=TODAY)
    assert problems == [] and len(changes) == 1
    # apply the change to the frame, as the store would
    applied = FRESH.copy()
    ch = changes[0]
    i = applied.index[applied["pk"] == ch.pk][0]
    applied["status"] = applied["status"].astype(object)
    applied["result"] = applied["result"].astype(object)
    applied.loc[i, "status"] = ch.to_status
    applied.loc[i, "result"] = ch.to_result
    for k, v in ch.values.items():
        applied[k] = applied[k].astype(object)
        applied.at[i, k] = v
    again, problems2 = validate_feedback(rows, applied, village="福果村", today=TODAY)
    assert again == [] and problems2 == []


def test_all_bad_rows_listed() -> None:
    rows = [
        _row(row=3, tid="NOPE"),
        _row(row=4, tid="T1", label="种了"),
        _row(row=5, tid="T2", verified_on=dt.date(2030, 1, 1), verified_by=None),
    ]
    changes, problems = validate_feedback(rows, FRESH, village="福果村", today=TODAY)
    assert changes == []
    assert [(p.row, p.code) for p in problems] == [
        (3, "unknown_target"),
        (4, "bad_result"),
        (5, "date_in_future"),
        (5, "missing_person"),
    ]
    assert "第 5 行" in str(problems[2])


def test_frame_with_pandas_missing_values() -> None:
    frame = pd.DataFrame(
        {
            "pk": [1],
            "target_id": ["T1"],
            "village": ["福果村"],
            "status": ["dispatched"],
            "result": [pd.NA],
            "issued_on": [pd.Timestamp("2024-03-01")],
            "verified_on": [pd.NaT],
            "verified_by": [pd.NA],
            "plants": [float("nan")],
            "eradicated_area_m2": [float("nan")],
            "eradicated_on": [pd.NaT],
            "case_no": [None],
            "remarks": [None],
        }
    )
    changes, problems = validate_feedback(
        [_row(verified_on=dt.date(2024, 2, 1))], frame, village="福果村", today=TODAY
    )
    assert [p.code for p in problems] == ["date_before_issue"]
    changes, problems = validate_feedback([_row()], frame, village="福果村", today=TODAY)
    assert problems == [] and changes[0].from_result is None and changes[0].pk == 1


@pytest.mark.parametrize(
    ("fields", "label"),
    [({"plants": 0}, "株数"), ({"area_m2": 0}, "铲除面积（平方米）"), ({"plants": "0"}, "株数")],
)
def test_a_confirmed_planting_of_nothing_is_refused(fields: dict[str, Any], label: str) -> None:
    frame = _frame(_target(7, "T1", "dispatched", None))
    changes, problems = validate_feedback(
        [_row(label="确认种植", **fields)], frame, village="福果村", today=TODAY
    )
    assert changes == []
    assert [(p.code, p.field) for p in problems] == [("zero_for_confirmed", label)]
    assert "应大于 0" in problems[0].reason


def test_zero_plants_stay_allowed_where_nothing_was_planted() -> None:
    frame = _frame(_target(7, "T1", "dispatched", None))
    changes, problems = validate_feedback(
        [_row(label="排除", plants=0, area_m2=0)], frame, village="福果村", today=TODAY
    )
    assert problems == [] and len(changes) == 1
    # a confirmed planting without a count yet is saved (the count may follow)
    changes, problems = validate_feedback(
        [_row(label="确认种植")], frame, village="福果村", today=TODAY
    )
    assert problems == [] and len(changes) == 1


def test_an_exclusion_says_what_the_site_really_is() -> None:
    frame = _frame(_target(7, "T1", "dispatched", None))
    changes, problems = validate_feedback(
        [_row(label="排除", remarks=None)], frame, village="福果村", today=TODAY
    )
    assert changes == []
    assert [(p.code, p.field) for p in problems] == [("excluded_without_what", "排除：实际为")]
    assert "实际是什么" in problems[0].reason
    # said in the row (a workbook's 排除：实际为 goes into the remarks) …
    changes, problems = validate_feedback(
        [_row(label="排除", remarks="实际为：油菜")], frame, village="福果村", today=TODAY
    )
    assert problems == [] and len(changes) == 1
    # only 其他（写在备注） chosen says nothing; with the note it does
    other = "实际为：其他（写在备注）"
    for remarks, ok in ((other, False), (f"{other}；玉米", True)):
        _, problems = validate_feedback(
            [_row(label="排除", remarks=remarks)], frame, village="福果村", today=TODAY
        )
        assert [p.code for p in problems] == ([] if ok else ["excluded_without_what"]), remarks
    # a note recorded for another result does not say it (corrected from 确认种植), nor given
    # back unchanged (the answer form and a list show the recorded note filled in); a note
    # changed, or one recorded with no result yet, does
    confirmed = _frame(_target(7, "T1", "verified", "confirmed", remarks="已拔除焚烧"))
    multiline = _frame(_target(7, "T1", "verified", "confirmed", remarks="已拔除\n焚烧"))
    said_it = _frame(_target(7, "T1", "verified", "confirmed", remarks="实际为：油菜等农作物"))
    for target, remarks, ok in (
        (confirmed, None, False),
        (confirmed, "已拔除焚烧", False),
        (confirmed, " 已拔除焚烧 ", False),
        (multiline, "已拔除\r\n焚烧", False),  # sent back by a form: CRLF
        # the workbook's 排除：实际为 其他（写在备注） before the note it still shows
        (confirmed, f"{other}；已拔除焚烧", False),
        (confirmed, f"{other}；复查为玉米", True),
        (confirmed, "实际为：油菜；已拔除焚烧", True),  # a choice says it
        (said_it, "实际为：油菜等农作物", True),  # the recorded note said it already
        (confirmed, "实际为：油菜（原记已拔除焚烧有误）", True),
        (_frame(_target(7, "T1", "dispatched", None, remarks="油菜")), "油菜", True),
    ):
        _, problems = validate_feedback(
            [_row(label="排除", remarks=remarks)],
            target,
            village="福果村",
            today=TODAY,
            supersede=True,
            reason="复核更正",
        )
        assert [p.code for p in problems] == ([] if ok else ["excluded_without_what"]), remarks
        if not ok and remarks is not None:
            assert "备注仍是上次“确认种植”时写的" in problems[0].reason
    # a target already recorded as 排除 (with its note, or by an older version without one)
    # is left as it is: its answer given again is not refused
    for note in ("观赏植物", None):
        said = _frame(_target(7, "T1", "verified", "excluded", remarks=note))
        changes, problems = validate_feedback(
            [_row(label="排除", remarks=None)], said, village="福果村", today=TODAY
        )
        assert problems == [] and changes == [], note
    # other results need no note
    for label in ("未发现", "非本镇辖区"):
        _, problems = validate_feedback([_row(label=label)], frame, village="福果村", today=TODAY)
        assert problems == [], label
