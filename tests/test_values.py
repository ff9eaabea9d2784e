"""geoverify.values: one behaviour per helper, pinned on every kind of cell value."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from geoverify.values import as_date, is_missing, text_or_none

SHANGHAI = ZoneInfo("Asia/Shanghai")
MISSING = [None, float("nan"), np.nan, np.float64("nan"), np.float32("nan"), pd.NA, pd.NaT]
MISSING += [np.datetime64("NaT")]
PRESENT = [0, 3, 3.0, -0.0, np.int64(3), np.float64(3.5), np.float32(2.0), True, False]
PRESENT += [np.bool_(False), float("inf"), dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 10)]
PRESENT += [pd.Timestamp("2024-03-05"), np.datetime64("2024-03-05"), "x", " x ", "nan", "NaT"]
CONTAINERS = [[], [None], (), {}, set(), {"a": None}, np.array([]), np.array([np.nan])]
CONTAINERS += [np.array(np.nan), [float("nan")]]
NOT_DATES = [np.datetime64("2024-03-05"), dt.time(10)]
BLANK = ["", " ", "\t\n", "\u3000", " \u3000 "]


@pytest.mark.parametrize("value", MISSING, ids=repr)
@pytest.mark.parametrize("blank", [True, False])
def test_is_missing_markers(value: object, blank: bool) -> None:
    assert is_missing(value, blank=blank) is True


@pytest.mark.parametrize("value", PRESENT + CONTAINERS, ids=repr)
@pytest.mark.parametrize("blank", [True, False])
def test_is_missing_values_and_containers(value: object, blank: bool) -> None:
    assert is_missing(value, blank=blank) is False


@pytest.mark.parametrize("value", BLANK, ids=repr)
def test_is_missing_blank_text_by_keyword(value: str) -> None:
    assert is_missing(value) is True
    assert is_missing(value, blank=False) is False


def test_is_missing_objects_pandas_cannot_judge() -> None:
    assert is_missing(object()) is False
    assert is_missing(b"") is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (float("nan"), None),
        (np.float64("nan"), None),
        ("", None),
        ("   ", None),
        ("\u3000", None),
        ("  甲村 ", "甲村"),
        ("甲\u3000村", "甲\u3000村"),  # inner ideographic space kept
        (3.0, "3"),
        (-2.0, "-2"),
        (np.float64(3.0), "3"),
        (3.5, "3.5"),
        (float("inf"), "inf"),
        (np.float32(3.0), "3.0"),  # not a Python float: str() as it is
        (3, "3"),
        (np.int64(7), "7"),
        (True, "True"),
        (False, "False"),
        (dt.date(2024, 3, 5), "2024-03-05"),
        (dt.datetime(2024, 3, 5, 10, 30), "2024-03-05 10:30:00"),
        (pd.Timestamp("2024-03-05"), "2024-03-05 00:00:00"),
        # Only None and float NaN are missing here: use is_missing first for the others.
        (pd.NA, "<NA>"),
        (pd.NaT, "NaT"),
        (np.float32("nan"), "nan"),
        ([1, 2], "[1, 2]"),
    ],
    ids=repr,
)
def test_text_or_none(value: object, expected: str | None) -> None:
    assert text_or_none(value) == expected


def test_as_date_dates_and_datetimes() -> None:
    day = dt.date(2024, 3, 5)
    assert as_date(day) is day
    assert as_date(dt.datetime(2024, 3, 5, 23, 59)) == day
    assert as_date(pd.Timestamp("2024-03-05 10:00")) == day
    # an aware value keeps its own date: no conversion to Asia/Shanghai
    assert as_date(pd.Timestamp("2024-03-05 20:00", tz="UTC")) == day
    assert as_date(dt.datetime(2024, 3, 5, 1, tzinfo=SHANGHAI)) == day
    assert type(as_date(pd.Timestamp("2024-03-05"))) is dt.date


@pytest.mark.parametrize(
    "value",
    [*MISSING, "", " ", "2024-03-05", "20240305", 3, 3.0, np.int64(3), True, [], {}, *NOT_DATES],
    ids=repr,
)
def test_as_date_parses_nothing(value: object) -> None:
    assert as_date(value) is None
