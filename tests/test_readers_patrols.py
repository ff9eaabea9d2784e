"""Tests of the patrol table and track-file readers with real files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
from shapely.geometry import LineString, MultiLineString, box

from geoverify.errors import InputError, RejectedInputError
from geoverify.readers.gpx import read_gpx
from geoverify.readers.patrols import (
    parse_patrol_date,
    read_patrol_file,
    read_patrol_table,
    read_track_file,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE_CSV = DATA / "samples" / "patrols_2024-03.csv"
SAMPLE_GPX = DATA / "samples" / "patrols_2024-03.gpx"
SAMPLE_GPKG = DATA / "boundaries" / "fuguo_sample.gpkg"
HEADER = "村、社区,组,踏查时间,踏查人员,踏查情况,备注,轨迹"


def villages_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["V1", "V2", "V3"], "name": ["甲村", "乙村", "福果社区"]},
        geometry=[
            box(106.00, 29.69, 106.02, 29.71),
            box(106.02, 29.69, 106.04, 29.71),
            box(106.04, 29.69, 106.05, 29.71),
        ],
        crs=4490,
    )


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<wpt lat="29.700" lon="106.015"><name>发现点</name></wpt>
<trk><name>甲-1</name><trkseg>
<trkpt lat="29.700" lon="106.005"><time>2024-03-12T01:30:00Z</time></trkpt>
<trkpt lat="29.700" lon="106.018"><time>2024-03-12T02:30:00Z</time></trkpt>
<trkpt lat="29.700" lon="106.021"><time>2024-03-12T02:40:00Z</time></trkpt>
</trkseg></trk>
<trk><name>乙-1</name><trkseg>
<trkpt lat="29.695" lon="106.025"><time>2024-03-13T17:00:00Z</time></trkpt>
<trkpt lat="29.705" lon="106.035"><time>2024-03-13T18:00:00Z</time></trkpt>
</trkseg></trk>
<trk><name>镇外</name><trkseg>
<trkpt lat="29.80" lon="106.10"><time>2024-03-13T01:00:00Z</time></trkpt>
<trkpt lat="29.81" lon="106.10"><time>2024-03-13T02:00:00Z</time></trkpt>
</trkseg></trk>
</gpx>
"""


def test_parse_patrol_date_forms():
    d = dt.date(2024, 3, 12)
    for value in (
        "2024-03-12",
        "2024/3/12",
        "2024.3.12",
        "2024年3月12日",
        "２０２４－０３－１２",
        "20240312",
        "2024-03-12 09:30",
        "2024年3月12日至14日",
        dt.datetime(2024, 3, 12, 9, 30),
        d,
        45363,  # Excel serial day number
    ):
        assert parse_patrol_date(value) == d, value
    assert parse_patrol_date("3月12日", year=2024) == d
    for bad in ("3月12日", "上周", "2024-13-01", None, ""):
        with pytest.raises(ValueError):
            parse_patrol_date(bad)


def test_table_with_tracks_from_a_given_gpx(tmp_path):
    (tmp_path / "p.gpx").write_text(GPX, encoding="utf-8")
    table = tmp_path / "p.csv"
    table.write_text(
        f"{HEADER}\n"
        "甲村,一组,2024-03-12,张三、李四,未发现异常,,甲-1\n"
        "乙,二组,2024/3/14,王五,发现罂粟3株，已铲除,房前屋后,乙-1\n"
        "福果社区,三组,2024年3月20日,赵六 钱七,未发现异常,电话报送,\n",
        encoding="utf-8-sig",
    )
    tracks = read_gpx(tmp_path / "p.gpx").tracks
    got = read_patrol_table(table, villages=villages_frame(), tracks=tracks)
    assert got.problems == []
    assert got.rows == [2, 3, 4]
    a, b, c = got.patrols
    assert (a.village, a.village_code, a.group, a.date) == (
        "甲村",
        "V1",
        "一组",
        dt.date(2024, 3, 12),
    )
    assert a.persons == ["张三", "李四"] and a.tracked and a.track_name == "甲-1"
    assert isinstance(a.track, LineString)
    assert b.village == "乙村" and b.village_code == "V2"  # written without 村
    assert b.findings == "发现罂粟3株，已铲除" and b.remarks == "房前屋后"
    assert not c.tracked and c.track is None and c.group == "三组"
    assert c.source == str(table) and c.row == 4


def test_track_cell_naming_a_file_next_to_the_table(tmp_path):
    (tmp_path / "walk.gpx").write_text(GPX, encoding="utf-8")
    table = tmp_path / "t.csv"
    table.write_text(f"{HEADER}\n甲村,一组,2024-03-12,张三,未发现异常,,walk.gpx\n", "utf-8")
    got = read_patrol_table(table, villages=villages_frame())
    assert got.problems == []
    assert isinstance(got.patrols[0].track, MultiLineString)  # all three tracks of the file


def test_bad_rows_are_problems_with_row_numbers(tmp_path):
    table = tmp_path / "bad.csv"
    # GBK, as WPS saves it, with a title row above the header.
    table.write_bytes(
        (
            "2024年重庆市铜梁区福果镇甲村禁种铲毒工作踏查情况3月统计表\n"
            f"{HEADER}\n"
            "甲村,一组,2024-03-12,张三,未发现异常,,\n"
            "丁村,一组,2024-03-12,张三,未发现异常,,\n"
            "甲村,二组,上周三,张三,未发现异常,,\n"
            ",二组,2024-03-12,张三,未发现异常,,\n"
            "甲村,三组,2024-03-13,张三,未发现异常,,没有这条轨迹\n"
        ).encode("gbk")
    )
    got = read_patrol_table(table, villages=villages_frame())
    assert [p.row for p in got.patrols] == [3]
    codes = {(p.row, p.code) for p in got.problems}
    assert codes == {
        (4, "unknown_village"),
        (5, "bad_date"),
        (6, "missing_village"),
        (7, "track_not_found"),
    }
    bad_date = next(p for p in got.problems if p.code == "bad_date")
    assert bad_date.field == "踏查时间" and bad_date.value == "上周三"
    with pytest.raises(RejectedInputError) as info:
        got.check()
    text = str(info.value)
    assert "bad.csv" in text and "第 4 行" in text and "丁村" in text


def test_without_villages_any_name_is_kept(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text(f"{HEADER}\n丁村,一组,2024-03-12,张三,未发现异常,,\n", "utf-8")
    got = read_patrol_table(table)
    assert got.problems == [] and got.patrols[0].village == "丁村"
    assert got.patrols[0].village_code is None


def test_xlsx_with_title_row_and_date_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024年重庆市铜梁区福果镇乙村禁种铲毒工作踏查情况3月统计表"])
    ws.append(["村、社区", "组", "踏查时间", "踏查人员", "踏查情况", "备注"])
    ws.append(["乙村", "一组", dt.datetime(2024, 3, 5), "张三，李四", "未发现异常", None])
    ws.append([None, None, None, None, None, None])
    ws.append(["乙村", 2, "2024-03-06", "王五", "无异常", "雨天"])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    got = read_patrol_file(path, villages=villages_frame())
    assert got.problems == []
    assert got.rows == [3, 5]
    assert got.patrols[0].date == dt.date(2024, 3, 5)
    assert got.patrols[0].persons == ["张三", "李四"]
    assert got.patrols[1].group == "2"


def test_missing_columns(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("村、社区,组,踏查人员\n甲村,一组,张三\n", "utf-8")
    with pytest.raises(InputError, match="踏查时间"):
        read_patrol_table(table)


def test_gpx_file_assigns_each_track_to_its_village(tmp_path):
    path = tmp_path / "p.gpx"
    path.write_text(GPX, encoding="utf-8")
    got = read_patrol_file(path, villages=villages_frame(), people="张三")
    assert [p.village for p in got.patrols] == ["甲村", "乙村"]
    a, b = got.patrols
    assert a.extra["villages"] == ["甲村", "乙村"]  # longest first
    assert a.date == dt.date(2024, 3, 12)
    assert b.date == dt.date(2024, 3, 14)  # 17:00 UTC is the next morning locally
    assert a.people == "张三"
    assert [(p.row, p.code) for p in got.problems] == [(3, "track_outside")]
    assert got.waypoints is not None and got.waypoints["name"].tolist() == ["发现点"]
    with pytest.raises(InputError, match="村界"):
        read_patrol_file(path)


def test_gpx_without_times_needs_a_date(tmp_path):
    path = tmp_path / "nt.gpx"
    path.write_text(
        '<gpx version="1.0"><trk><name>x</name><trkseg><trkpt lat="29.70" lon="106.005"/>'
        '<trkpt lat="29.70" lon="106.015"/></trkseg></trk></gpx>',
        encoding="utf-8",
    )
    got = read_patrol_file(path, villages=villages_frame())
    assert [p.code for p in got.problems] == ["missing_date"]
    got = read_patrol_file(path, villages=villages_frame(), date=dt.date(2024, 3, 9))
    assert got.patrols[0].date == dt.date(2024, 3, 9)


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>
<Placemark><name>两步路轨迹</name><LineString><coordinates>
106.005,29.70,300 106.015,29.70,310 106.018,29.701,305
</coordinates></LineString></Placemark>
<Placemark><name>航点</name><Point><coordinates>106.01,29.70</coordinates></Point></Placemark>
<Placemark><name>gx轨迹</name><gx:Track>
<when>2024-03-15T01:00:00Z</when><when>2024-03-15T02:00:00Z</when>
<gx:coord>106.025 29.70 300</gx:coord><gx:coord>106.035 29.70 300</gx:coord>
</gx:Track></Placemark>
</Document></kml>
"""


def test_kml_tracks(tmp_path):
    path = tmp_path / "t.kml"
    path.write_text(KML, encoding="utf-8")
    frame = read_track_file(path)
    assert frame.crs.to_epsg() == 4490
    assert frame["name"].tolist() == ["两步路轨迹", "gx轨迹"]
    assert frame["date"].tolist() == [None, dt.date(2024, 3, 15)]
    got = read_patrol_file(path, villages=villages_frame(), date=dt.date(2024, 3, 1))
    assert [(p.village, p.date) for p in got.patrols] == [
        ("甲村", dt.date(2024, 3, 1)),
        ("乙村", dt.date(2024, 3, 15)),
    ]


def test_hostile_track_file_is_a_problem_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-42", encoding="utf-8")
    (tmp_path / "evil.gpx").write_text(
        f'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<gpx version="1.1"><trk><name>&x;</name></trk></gpx>',
        encoding="utf-8",
    )
    table = tmp_path / "t.csv"
    table.write_text(f"{HEADER}\n甲村,一组,2024-03-12,张三,未发现异常,,evil.gpx\n", "utf-8")
    got = read_patrol_table(table, villages=villages_frame())
    assert [p.code for p in got.problems] == ["bad_track_file"]
    assert "TOPSECRET" not in str(got.problems[0])
    with pytest.raises(InputError, match="refused"):
        read_patrol_file(tmp_path / "evil.gpx", villages=villages_frame())


def test_unsupported_type(tmp_path):
    path = tmp_path / "x.docx"
    path.write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported"):
        read_patrol_file(path)


@pytest.mark.skipif(
    not (SAMPLE_CSV.exists() and SAMPLE_GPX.exists() and SAMPLE_GPKG.exists()),
    reason="sample data not generated yet",
)
def test_sample_table_and_gpx():
    villages = gpd.read_file(SAMPLE_GPKG, layer="villages")
    tracks = read_gpx(SAMPLE_GPX).tracks
    got = read_patrol_table(SAMPLE_CSV, villages=villages, tracks=tracks)
    assert got.problems == []
    assert len(got.patrols) >= 8
    tracked = [p for p in got.patrols if p.tracked]
    reported = [p for p in got.patrols if not p.tracked]
    assert len(tracked) == len(tracks) and reported
    assert all(p.date.year == 2024 and p.date.month == 3 for p in got.patrols)
    # every tracked patrol's track runs mostly in the village its row names
    from geoverify.patrols import track_lengths_by_village

    for p in tracked:
        frame = gpd.GeoDataFrame({"patrol_id": [0]}, geometry=[p.track], crs=4490)
        lengths = track_lengths_by_village(frame, villages)
        assert lengths.iloc[0]["code"] == p.village_code, p.track_name
