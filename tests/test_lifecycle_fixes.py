"""The rules' own words about an answer that would change a recorded one: what differs, old and
new, and no door's way to correct it (each door adds its own); the order of the two dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from geoverify.errors import (
    HOW_TO_SUPERSEDE,
    HOW_TO_SUPERSEDE_WORKBOOK,
    SUPERSEDE_NEEDS_REASON,
    how_to_correct,
)
from geoverify.lifecycle import FeedbackRow, validate_feedback

TODAY = dt.date(2024, 4, 1)


def _frame(status: str, result: str | None, **recorded: Any) -> pd.DataFrame:
    rec: dict[str, Any] = {
        "pk": 1,
        "target_id": "T1",
        "batch": "B1",
        "village": "青龙村",
        "village_code": "500151001",
        "status": status,
        "result": result,
        "issued_on": dt.date(2024, 3, 1),
        "due_on": dt.date(2024, 3, 20),
        "verified_on": dt.date(2024, 3, 10) if result else None,
        "verified_by": "张三" if result else None,
        "plants": None,
        "eradicated_area_m2": None,
        "eradicated_on": None,
        "case_no": None,
        "remarks": None,
        **recorded,
    }
    return pd.DataFrame([rec])


def _row(**kw: Any) -> FeedbackRow:
    base: dict[str, Any] = {
        "row": 3,
        "target_id": "T1",
        "verified_on": dt.date(2024, 3, 10),
        "verified_by": "张三",
        "result_label": "确认种植",
    }
    return FeedbackRow(**{**base, **kw})


def test_a_count_filled_in_is_an_update_and_a_count_changed_is_a_correction() -> None:
    empty = _frame("verified", "confirmed")
    changes, problems = validate_feedback([_row(plants=20)], empty, today=TODAY)
    assert problems == []
    (ch,) = changes
    assert not ch.supersedes and ch.values == {"plants": 20} and ch.previous == {"plants": None}
    given = _frame("eradicated", "confirmed", plants=20, eradicated_on=dt.date(2024, 3, 10))
    row = _row(plants=35, area_m2=12.5)  # the count changed, the area filled in
    changes, problems = validate_feedback([row], given, today=TODAY)
    (p,) = problems
    assert changes == [] and p.code == "conflicting_values"
    assert p.reason == (
        f"靶标 T1 已登记的株数与本次不同（株数：已登记 20，本次 35）；{SUPERSEDE_NEEDS_REASON}"
    )
    assert p.field == "株数、铲除面积（平方米）"
    assert "勾选" not in p.reason and "--supersede" not in p.reason
    changes, problems = validate_feedback(
        [row], given, today=TODAY, supersede=True, reason="复查又发现 15 株"
    )
    assert problems == [] and changes[0].supersedes
    assert changes[0].previous == {"plants": 20, "eradicated_area_m2": None}


def test_a_reported_target_says_a_value_filled_in_changes_the_report() -> None:
    reported = _frame("reported", "confirmed", plants=20, eradicated_on=dt.date(2024, 3, 10))
    _, problems = validate_feedback([_row(case_no="A-1")], reported, today=TODAY)
    (p,) = problems
    assert p.reason == (
        f"靶标 T1 已上报区禁毒办，补填案件编号也会改动已上报的内容；{SUPERSEDE_NEEDS_REASON}"
    )


def test_each_door_adds_its_own_way_to_correct() -> None:
    recorded = _frame("verified", "excluded")
    _, problems = validate_feedback([_row(result_label="未发现")], recorded, today=TODAY)
    (p,) = problems
    assert p.code == "conflicting_result"
    assert p.reason == f"靶标 T1 已登记结果“排除”，本次为“未发现”；{SUPERSEDE_NEEDS_REASON}"
    (form,) = how_to_correct(problems, HOW_TO_SUPERSEDE)
    (book,) = how_to_correct(problems, HOW_TO_SUPERSEDE_WORKBOOK)
    assert form.reason == f"{p.reason}；{HOW_TO_SUPERSEDE}"
    assert book.reason == f"{p.reason}；{HOW_TO_SUPERSEDE_WORKBOOK}"
    assert "改回已登记的内容后重新上传" in book.reason
    # Other problems are left as they are.
    _, other = validate_feedback([_row(verified_by=" ")], recorded, today=TODAY)
    assert how_to_correct(other, HOW_TO_SUPERSEDE) == other


def test_an_eradication_before_the_check_says_which_date_to_change() -> None:
    fresh = _frame("dispatched", None)
    row = _row(verified_on=dt.date(2024, 3, 12), eradicated_on=dt.date(2024, 3, 11))
    _, problems = validate_feedback([row], fresh, today=TODAY)
    (p,) = problems
    assert p.code == "eradication_before_verification"
    assert p.reason == (
        "铲除日期 2024-03-11 早于核查日期 2024-03-12（先核查、后铲除）："
        "请把核查日期改为实际到现场核查的那天（不晚于铲除日期），或改正铲除日期"
    )
    # The same day is fine: checked and eradicated at once.
    same = _row(verified_on=dt.date(2024, 3, 11), eradicated_on=dt.date(2024, 3, 11))
    changes, problems = validate_feedback([same], fresh, today=TODAY)
    assert problems == [] and changes[0].to_status == "eradicated"
