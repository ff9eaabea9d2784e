"""Tests for progress summaries and list ordering."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from geoverify.progress import (
    OUTSIDE_LABEL,
    SUMMARY_LABELS,
    TOWN_LABEL,
    natural_key,
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
    # threshold village (玉峡村, 600 plants) comes first; outside, then town last
    assert list(s["village"]) == ["玉峡村", "福果村", OUTSIDE_LABEL, TOWN_LABEL]
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
    town = s.iloc[-1].to_dict()
    assert town["village_code"] is None
    assert (town["issued"], town["verified"], town["outside"], town["overdue"]) == (8, 5, 1, 1)
    assert town["plants_eradicated"] == 630
    assert town["verification_rate"] == 5 / 8
    outside = s.iloc[2].to_dict()
    assert outside["issued"] == 1 and outside["outside"] == 1


def test_status_summary_empty_frame() -> None:
    empty = pd.DataFrame(columns=["target_id", "village", "village_code", "status", "result"])
    s = status_summary(empty, today=TODAY)
    assert list(s["village"]) == [TOWN_LABEL]
    assert s.iloc[0]["issued"] == 0
    assert math.isnan(s.iloc[0]["verification_rate"])


def test_overdue_mask() -> None:
    f = _frame()
    m = overdue_mask(f, today=TODAY)
    assert list(f.loc[m, "target_id"]) == ["T1"]
    # due date itself is not overdue
    assert not overdue_mask(f, today=DUE).any()


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
