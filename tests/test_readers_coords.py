"""Tests for geoverify.readers.coords: decimal and degrees-minutes-seconds angles."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoverify.readers.coords import format_dms, parse_angle, parse_angle_detail

DMS_106 = 106 + 2 / 60 + 3.5 / 3600


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (106.0343, 106.0343),
        (106, 106.0),
        ("106.0343", 106.0343),
        (" 29.8 ", 29.8),
        ("106°02'03.5\"", DMS_106),
        ("106°2′3.5″", DMS_106),
        ("106 2 3.5", DMS_106),
        ("106度2分3.5秒", DMS_106),
        ("106°02'03.5''", DMS_106),
        ("106:02:03.5", DMS_106),
        ("E106°02'03.5\"", DMS_106),
        ("106°02'03.5\"E", DMS_106),
        ("东经106°02′03.5″", DMS_106),
        ("１０６°０２′０３.５″", DMS_106),
        ("１０６．０３４３", 106.0343),
        ("106°02.058'", 106 + 2.058 / 60),
        ("29°39'N", 29.65),
        ("N29°39'", 29.65),
        ("29.5°", 29.5),
        ("3,285,000.5", 3285000.5),
        ("-106.5", -106.5),
        ("106°30'W", -106.5),
        ("29°39'S", -29.65),
        ("南纬29°39'", -29.65),
        ("-106°30'", -106.5),
    ],
)
def test_parse_angle_accepts(text: object, expected: float) -> None:
    assert parse_angle(text) == pytest.approx(expected, abs=1e-12)


def test_non_finite_values_come_back_for_the_caller_to_report() -> None:
    assert math.isnan(parse_angle("NaN"))
    assert parse_angle("inf") == math.inf
    assert math.isnan(parse_angle(float("nan")))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "空值"),
        ("   ", "空值"),
        (None, "空值"),
        (True, "空值"),
        ("abc", "无法识别"),
        ("106,5", "无法识别"),
        ("106°61'", "应小于 60"),
        ("106°02'60.01\"", "应小于 60"),
        ("106°60'30\"", "应小于 60"),
        ("106.5°30'", "只有最后一项"),
        ("106°02.5'03\"", "只有最后一项"),
        ("200°01'", "超过 180"),
        ("-106°W", "矛盾"),
        ("E106°E", "重复"),
        ("106'02°", "顺序"),
        ("106 2 3 4", "顺序"),
        ("N", "没有数字"),
    ],
)
def test_parse_angle_rejects_with_chinese_and_english(text: object, fragment: str) -> None:
    with pytest.raises(ValueError, match="cannot parse angle") as info:
        parse_angle(text)
    assert fragment in str(info.value)
    assert "无法解析坐标" in str(info.value)


@pytest.mark.parametrize(
    ("value", "hemi", "text"),
    [
        (DMS_106, "EW", "106°02'03.50\"E"),
        (-29.65, "NS", "29°39'00.00\"S"),
        (29.65, "lat", "29°39'00.00\"N"),
        (-106.5, "lon", "106°30'00.00\"W"),
        (29.999999999, "NS", "30°00'00.00\"N"),  # rounding carries into minutes and degrees
        (0.0, "EW", "0°00'00.00\"E"),
    ],
)
def test_format_dms(value: float, hemi: str, text: str) -> None:
    assert format_dms(value, hemi=hemi) == text


def test_format_dms_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="hemi"):
        format_dms(1.0, hemi="XY")
    with pytest.raises(ValueError, match="finite"):
        format_dms(math.nan, hemi="EW")


@given(st.floats(min_value=-180, max_value=180, allow_nan=False), st.sampled_from(["EW", "NS"]))
def test_format_then_parse_round_trips_to_a_hundredth_of_a_second(value: float, hemi: str) -> None:
    back = parse_angle(format_dms(value, hemi=hemi))
    assert back == pytest.approx(value, abs=0.005 / 3600 + 1e-12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("106°05'60.00\"", 106 + 6 / 60),  # rounding's 60″: the next minute
        ("106°05'60\"E", 106 + 6 / 60),
        ("29°59'60.00\"N", 30.0),  # carried twice: 60″ → 60′ → the next degree
        ("29°60'", 30.0),
        ("29°60.00'", 30.0),
        ("106 5 60", 106 + 6 / 60),
        ("106度05分60.00秒", 106 + 6 / 60),
        ("W106°05'60\"", -(106 + 6 / 60)),
    ],
)
def test_sixty_seconds_or_minutes_are_carried(text: str, expected: float) -> None:
    parsed = parse_angle_detail(text)
    assert parsed.carried is True
    assert parsed.degrees == pytest.approx(expected, abs=1e-12)
    assert parse_angle(text) == parsed.degrees


@pytest.mark.parametrize("text", ["106°05'59.99\"", "106°05'", "106.1", 106.1])
def test_nothing_carried_below_sixty(text: object) -> None:
    assert parse_angle_detail(text).carried is False
