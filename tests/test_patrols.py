"""Tests of the pure patrol core: people, findings, length per village, monthly summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import CRS, Transformer
from shapely.geometry import LineString, box

from geoverify.coverage import coverage
from geoverify.errors import InputError
from geoverify.patrols import (
    RECEIVED_UNKNOWN,
    Patrol,
    coverage_inputs,
    is_finding,
    monthly_summary,
    patrols_frame,
    patrols_in_month,
    split_people,
    track_lengths_by_village,
)
from geoverify.readers.patrols import read_patrol_table

M = CRS.from_epsg(4544)
_to_m = Transformer.from_crs(4490, 4544, always_xy=True)
_to_g = Transformer.from_crs(4544, 4490, always_xy=True)
X0, Y0 = (round(v, -3) for v in _to_m.transform(106.03, 29.70))


def villages_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["V1", "V2", "V3"],
            "name": ["甲村", "乙村", "福果社区"],
            "kind": ["村", "村", "社区"],
        },
        geometry=[
            box(X0, Y0, X0 + 2000, Y0 + 2000),
            box(X0 + 2000, Y0, X0 + 4000, Y0 + 2000),
            box(X0 + 4000, Y0, X0 + 5000, Y0 + 2000),
        ],
        crs=M,
    ).to_crs(4490)


def line_geo(*pts_m: tuple[float, float]) -> LineString:
    return LineString([_to_g.transform(X0 + x, Y0 + y) for x, y in pts_m])


def test_split_people():
    assert split_people("张三、李四，王五,赵六 钱七；孙八") == [
        "张三",
        "李四",
        "王五",
        "赵六",
        "钱七",
        "孙八",
    ]
    assert split_people("  张三  ") == ["张三"]
    assert split_people(None) == []
    assert split_people("") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("未发现异常", False),
        ("无异常", False),
        ("无", False),
        ("没有发现", False),
        ("未见种植", False),
        ("", False),
        (None, False),
        ("发现疑似罂粟 1 处，已拍照并报告镇平安办", True),
        ("房前屋后发现罂粟3株，已铲除", True),
    ],
)
def test_is_finding(text, expected):
    assert is_finding(text) is expected


def test_track_length_per_village():
    # 1200 m in 甲村, 500 + 1000 m in 乙村, 300 m outside (north of both).
    track = line_geo((800, 1000), (2500, 1000), (2500, 2300))
    tracks = gpd.GeoDataFrame({"patrol_id": [7]}, geometry=[track], crs=4490)
    got = track_lengths_by_village(tracks, villages_frame())
    assert got["village"].tolist() == ["乙村", "甲村", None]
    by = dict(zip(got["village"].fillna("镇外"), got["length_m"], strict=True))
    assert by["甲村"] == pytest.approx(1200, rel=1e-3)
    assert by["乙村"] == pytest.approx(500 + 1000, rel=1e-3)
    assert by["镇外"] == pytest.approx(300, rel=1e-3)
    assert got["share"].sum() == pytest.approx(1.0)
    assert set(got["patrol_id"]) == {7}


def _patrols() -> list[Patrol]:
    track = line_geo((500, 1000), (1500, 1000))
    return [
        Patrol("甲村", dt.date(2024, 3, 12), "V1", "一组", "张三、李四", "未发现异常", track=track),
        Patrol("甲村", dt.date(2024, 3, 14), "V1", "二组", "张三", "发现罂粟3株，已铲除"),
        Patrol("福果社区", dt.date(2024, 3, 20), None, "三组", "王五、赵六、钱七", "无异常"),
        Patrol("乙村", dt.date(2024, 4, 2), "V2", "一组", "孙八", "未发现异常"),
        Patrol("不存在村", dt.date(2024, 3, 2), None, "一组", "孙八", "未发现异常"),
    ]


def test_patrols_frame_and_month():
    frame = patrols_frame(_patrols())
    assert frame.crs.to_epsg() == 4490
    assert frame["tracked"].tolist() == [True, False, False, False, False]
    assert frame["persons"].tolist() == [2, 1, 3, 1, 1]
    assert frame["finding"].tolist() == [False, True, False, False, False]
    march = patrols_in_month(_patrols(), year=2024, month=3)
    assert [p.date.day for p in march] == [2, 12, 14, 20]


def test_coverage_inputs_keep_tracked_and_reported_apart():
    patrols = _patrols()
    tracks, reported = coverage_inputs(patrols)
    assert tracks["patrol_id"].tolist() == [0]
    assert ("V1", "二组") in reported and ("V1", "一组") not in reported
    result = coverage(villages_frame(), tracks, reported_groups=reported)
    a = result.villages.set_index("code").loc["V1"]
    assert a["covered_m2"] > 0
    assert a["reported_groups"] == ["二组"]


def test_monthly_summary_counts_and_missing_villages():
    cov = gpd.pd.DataFrame({"code": ["V1", "V2", "V3"], "covered_pct": [4.5, 0.0, 0.0]})
    s = monthly_summary(_patrols(), villages_frame(), year=2024, month=3, coverage=cov)
    rows = s.villages.set_index("village")
    assert rows.loc["甲村", "patrols"] == 2
    assert rows.loc["甲村", "tracked"] == 1 and rows.loc["甲村", "reported_only"] == 1
    assert rows.loc["甲村", "person_times"] == 3
    assert rows.loc["甲村", "findings"] == 1
    assert rows.loc["甲村", "covered_pct"] == 4.5
    assert rows.loc["福果社区", "patrols"] == 1  # matched by name
    assert rows.loc["福果社区", "person_times"] == 3
    assert rows.loc["乙村", "patrols"] == 0  # its patrol is in April
    assert rows.loc["乙村", "status"] == "未报送"
    assert s.not_reported == ["乙村"]
    assert s.deadline == dt.date(2024, 3, 25)
    assert s.totals["patrols"] == 3  # the unknown village's record is not counted
    assert s.totals["person_times"] == 6
    assert s.totals["villages_reported"] == 2
    # no received dates: both villages with records are 报送日期未记录, none counted 已报送
    assert s.totals["statuses"] == {RECEIVED_UNKNOWN: 2, "未报送": 1}


def test_monthly_summary_before_deadline_and_late():
    s = monthly_summary(
        _patrols(),
        villages_frame(),
        year=2024,
        month=3,
        as_of=dt.date(2024, 3, 20),
        received={"V1": dt.date(2024, 3, 27)},
    )
    rows = s.villages.set_index("village")
    assert rows.loc["乙村", "status"] == "待报送"
    assert rows.loc["甲村", "status"] == "逾期报送"
    assert rows.loc["甲村", "received_on"] == dt.date(2024, 3, 27)
    # records without a received date are never late: it is not known when the table came
    assert rows.loc["福果社区", "status"] == RECEIVED_UNKNOWN == "报送日期未记录"
    assert rows.loc["福果社区", "received_on"] is None


def test_monthly_summary_received_on_time():
    s = monthly_summary(
        _patrols(),
        villages_frame(),
        year=2024,
        month=3,
        received={"V1": dt.date(2024, 3, 25), "V3": dt.date(2024, 3, 2)},
    )
    rows = s.villages.set_index("village")
    assert rows.loc["甲村", "status"] == "已报送"  # the 25th itself is on time
    assert rows.loc["福果社区", "status"] == "已报送"
    assert rows.loc["甲村", "covered_pct"] is None


def test_a_table_without_the_patrol_columns_names_each_one_whole(tmp_path: Path) -> None:
    """“村、社区” is one column (the plan's table heads it so), quoted as one."""
    path = tmp_path / "notes.csv"
    path.write_text("记录,人员\n去过,张三\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_patrol_table(path)
    assert "缺少列“村、社区”“踏查时间”，踏查表应有列“村、社区”“组”“踏查时间”" in str(e.value)
