"""Tests for progress summaries and list ordering."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from geoverify.progress import (
    OUTSIDE_LABEL,
    SUMMARY_LABELS,
    TAKEN_ON_LABEL,
    TOWN_LABEL,
    natural_key,
    outside_town_mask,
    overdue_mask,
    sort_targets_for_lists,
    status_summary,
)

TODAY = dt.date(2024, 3, 25)
DUE = dt.date(2024, 3, 20)


def _t(
    tid: str, village: str | None, code: str | None, status: str, result: str | None, **kw: Any
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "pk": len(tid),
        "target_id": tid,
        "village": village,
        "village_code": code,
        "status": status,
        "result": result,
        "due_on": DUE,
        "plants": None,
        "eradicated_area_m2": None,
        "eradicated_on": None,
    }
    rec.update(kw)
    return rec


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            _t("T1", "福果村", "001", "dispatched", None),  # overdue
            _t("T2", "福果村", "001", "verified", "excluded"),
            _t(
                "T3",
                "福果村",
                "001",
                "eradicated",
                "confirmed",
                plants=30,
                eradicated_area_m2=12.5,
                eradicated_on=dt.date(2024, 3, 12),
            ),
            _t("T4", "玉峡村", "002", "issued", None, due_on=dt.date(2024, 3, 30)),  # not yet due
            _t(
                "T5",
                "玉峡村",
                "002",
                "reported",
                "confirmed",
                plants=600,
                eradicated_area_m2=100.0,
                eradicated_on=dt.date(2024, 3, 13),
            ),
            _t("T6", "玉峡村", "002", "verified", "not_found"),
            _t("T7", None, None, "verified", "outside"),
            _t("T8", "福果村", "001", "dispatched", None, due_on=None),  # no due date
        ]
    )


def test_status_summary_counts() -> None:
    s = status_summary(_frame(), today=TODAY)
    assert list(s.columns) == list(SUMMARY_LABELS)
    # threshold village (玉峡村, 600 plants) comes first; the town; outside the town last
    assert list(s["village"]) == ["玉峡村", "福果村", TOWN_LABEL, OUTSIDE_LABEL]
    assert OUTSIDE_LABEL == "镇外，建议退回区禁毒办"
    yx = s.iloc[0].to_dict()
    assert yx["village_code"] == "002"
    assert (yx["issued"], yx["dispatched"], yx["verified"]) == (3, 2, 2)
    assert (yx["confirmed"], yx["not_found"], yx["eradicated"], yx["reported"]) == (1, 1, 1, 1)
    assert yx["plants_eradicated"] == 600 and yx["area_eradicated_m2"] == 100.0
    assert yx["overdue"] == 0 and yx["threshold_cases"] == 1
    assert math.isclose(yx["verification_rate"], 2 / 3)
    assert math.isclose(yx["match_rate"], 1 / 3)
    fg = s.iloc[1].to_dict()
    assert (fg["issued"], fg["verified"], fg["excluded"], fg["overdue"]) == (4, 2, 1, 1)
    assert fg["plants_eradicated"] == 30 and fg["area_eradicated_m2"] == 12.5
    assert fg["verification_rate"] == 0.5 and fg["match_rate"] == 0.25
    town = s.iloc[2].to_dict()
    assert town["village_code"] is None
    # T7 (outside the town, 非本镇辖区) is not the town's work: not in the total
    assert (town["issued"], town["verified"], town["outside"], town["overdue"]) == (7, 4, 0, 1)
    assert town["plants_eradicated"] == 630
    assert town["verification_rate"] == 4 / 7
    outside = s.iloc[3].to_dict()
    assert outside["issued"] == 1 and outside["outside"] == 1


def test_status_summary_empty_frame() -> None:
    empty = pd.DataFrame(columns=["target_id", "village", "village_code", "status", "result"])
    s = status_summary(empty, today=TODAY)
    assert list(s["village"]) == [TOWN_LABEL]
    assert s.iloc[0]["issued"] == 0
    assert math.isnan(s.iloc[0]["verification_rate"])


def test_overdue_mask() -> None:
    f = _frame()
    m = overdue_mask(f, as_of=TODAY)
    assert list(f.loc[m, "target_id"]) == ["T1"]
    # due date itself is not overdue; ``today`` is the old name of ``as_of``
    assert not overdue_mask(f, as_of=DUE).any()
    assert list(overdue_mask(f, today=TODAY)) == list(m)


def test_overdue_needs_a_dispatched_target_of_the_town() -> None:
    f = pd.DataFrame(
        [
            _t("A", "福果村", "001", "dispatched", None),  # overdue
            _t("B", "福果村", "001", "issued", None),  # never dispatched: not overdue
            _t("C", None, None, "issued", None),  # outside the town, never dispatched
            _t("D", None, None, "dispatched", None),  # outside the town: not the town's work
            _t("E", "福果村", "001", "verified", "excluded"),  # answered
            _t("F", "福果村", "001", "dispatched", None, due_on=pd.Timestamp("2024-03-24")),
        ]
    )
    assert list(f.loc[overdue_mask(f, as_of=TODAY), "target_id"]) == ["A", "F"]
    assert list(f.loc[outside_town_mask(f), "target_id"]) == ["C", "D"]
    s = status_summary(f, as_of=TODAY).set_index("village")
    assert s.loc[TOWN_LABEL, "issued"] == 4 and s.loc[TOWN_LABEL, "overdue"] == 2
    assert s.loc[OUTSIDE_LABEL, "issued"] == 2 and s.loc[OUTSIDE_LABEL, "overdue"] == 0
    with pytest.raises(TypeError, match="as_of"):
        overdue_mask(f)


def test_an_outside_target_the_office_took_on_is_the_towns_work() -> None:
    f = pd.DataFrame(
        [
            _t("A", "福果村", "001", "verified", "excluded"),
            _t("X", None, None, "verified", "confirmed", plants=12),  # checked by the office
            _t("Y", None, None, "verified", "outside"),  # confirmed outside: returned
        ]
    )
    assert list(outside_town_mask(f)) == [False, False, True]
    s = status_summary(f, as_of=TODAY).set_index("village")
    assert list(s.index) == ["福果村", TAKEN_ON_LABEL, TOWN_LABEL, OUTSIDE_LABEL]
    assert s.loc[TOWN_LABEL, "issued"] == 2 and s.loc[TOWN_LABEL, "confirmed"] == 1
    assert s.loc[OUTSIDE_LABEL, "issued"] == 1


def test_sort_targets_for_lists() -> None:
    f = pd.DataFrame(
        [
            _t("T10", "福果村", "001", "verified", "excluded"),
            _t("T2", "福果村", "001", "verified", "excluded"),
            _t("X1", None, None, "verified", "outside"),
            _t("T3", "玉峡村", "002", "verified", "confirmed", plants=800),
            _t("T4", "福果村", "001", "verified", "confirmed", plants=5000),
            _t("T5", "安居村", "003", "verified", "excluded", plants=9000),  # not confirmed
        ]
    )
    out = sort_targets_for_lists(f)
    # then by village code: 福果村 001 before 安居村 003
    assert list(out["target_id"]) == ["T4", "T3", "T2", "T10", "T5", "X1"]


def test_natural_key() -> None:
    assert sorted(["T10", "T2", "T1"], key=natural_key) == ["T1", "T2", "T10"]
