"""Two defects of reading patrol files, found walking through the web app, on real files:

1. a patrol table's row with a blank 踏查时间 was told its date "cannot be parsed"
   (踏查时间无法识别); it is now told the date is missing (``missing_date``), an unreadable date
   keeping its own message (``bad_date``);
2. a KML's ``<TimeStamp>``/``<TimeSpan>`` was not read: a LineString track had no date, a
   phone app's export of timed point placemarks was refused as having no track lines.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
from shapely.geometry import box

from geoverify.errors import InputError, RejectedInputError
from geoverify.readers.kml import read_kml
from geoverify.readers.patrols import read_patrol_file, read_patrol_table, read_track_file

HEADER = "村、社区,组,踏查时间,踏查人员,踏查情况,备注"


def villages_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["V1", "V2"], "name": ["甲村", "乙村"]},
        geometry=[box(106.00, 29.69, 106.02, 29.71), box(106.02, 29.69, 106.04, 29.71)],
        crs=4490,
    )


# -- 1. a blank patrol date is missing, not unreadable -----------------------------------------
def test_a_blank_date_cell_of_a_csv_is_said_to_be_missing(tmp_path: Path) -> None:
    table = tmp_path / "三月踏查.csv"
    table.write_text(
        f"{HEADER}\n"
        "甲村,一组,2024-03-12,张三,未发现异常,\n"
        "甲村,二组,,李四,未发现异常,\n"  # blank
        "乙村,一组,   ,王五,未发现异常,\n"  # only spaces
        "乙村,二组,三月中旬,赵六,未发现异常,\n",  # not a date
        encoding="utf-8",
    )
    got = read_patrol_table(table, villages=villages_frame())
    assert [p.row for p in got.patrols] == [2]
    said = [(p.row, p.code, p.field, p.value) for p in got.problems]
    assert said == [
        (3, "missing_date", "踏查时间", None),
        (4, "missing_date", "踏查时间", None),
        (5, "bad_date", "踏查时间", "三月中旬"),
    ]
    missing, _, bad = got.problems
    assert missing.reason == "踏查时间为空，请填写 2024-03-12 这样的日期"
    assert missing.reason_en == "patrol date is empty (expected e.g. 2024-03-12)"
    assert "无法识别" not in missing.reason
    assert bad.reason == "踏查时间无法识别，应为 2024-03-12 这样的日期"  # unchanged
    # the refusal names the file, the row and the reason
    with pytest.raises(RejectedInputError) as caught:
        read_patrol_file(table, villages=villages_frame()).check()
    text = str(caught.value)
    assert f"{table} 第 3 行: 踏查时间为空，请填写 2024-03-12 这样的日期" in text
    assert f"{table} 第 5 行: 踏查时间无法识别" in text


def test_a_blank_date_cell_of_an_xlsx_is_said_to_be_missing(tmp_path: Path) -> None:
    path = tmp_path / "三月踏查.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["甲村三月踏查情况"])  # a title row above the header
    ws.append(HEADER.split(","))
    ws.append(["甲村", "一组", dt.datetime(2024, 3, 12), "张三", "未发现异常", None])
    ws.append(["甲村", "二组", None, "李四", "未发现异常", "雨天"])
    ws.append(["甲村", "三组", "", "王五", "未发现异常", None])
    wb.save(path)
    got = read_patrol_file(path, villages=villages_frame())
    assert [p.row for p in got.patrols] == [3]
    assert [(p.row, p.code, p.field) for p in got.problems] == [
        (4, "missing_date", "踏查时间"),
        (5, "missing_date", "踏查时间"),
    ]
    assert all(p.reason.startswith("踏查时间为空") for p in got.problems)


# -- 2. KML TimeStamp / TimeSpan ---------------------------------------------------------------
KML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">'
    "<Document>"
)
KML_TAIL = "</Document></kml>"
LINE = "106.005,29.70,300 106.010,29.70,300 106.015,29.70,300"


def _kml(path: Path, body: str) -> Path:
    path.write_text(KML_HEAD + body + KML_TAIL, encoding="utf-8")
    return path


def _line(name: str, time: str) -> str:
    return (
        f"<Placemark><name>{name}</name>{time}"
        f"<LineString><coordinates>{LINE}</coordinates></LineString></Placemark>"
    )


def test_a_kml_line_takes_its_date_from_its_timestamp_or_timespan(tmp_path: Path) -> None:
    path = _kml(
        tmp_path / "两步路.kml",
        _line("早", "<TimeStamp><when>2024-03-06T02:00:00Z</when></TimeStamp>")
        # 17:30 UTC is the next morning in the town
        + _line("跨夜", "<TimeStamp><when>2024-03-06T17:30:00Z</when></TimeStamp>")
        + _line("带时区", "<TimeStamp><when>2024-03-07T09:00:00+08:00</when></TimeStamp>")
        + _line("只有日期", "<TimeStamp><when>2024-03-08</when></TimeStamp>")
        + _line(
            "时段",
            "<TimeSpan><begin>2024-03-09T01:00:00Z</begin><end>2024-03-09T03:00:00Z</end>"
            "</TimeSpan>",
        )
        + _line("只有结束", "<TimeSpan><end>2024-03-10T03:00:00Z</end></TimeSpan>")
        # no date to be had: a year alone, a reset clock, no time at all
        + _line("只有年份", "<TimeStamp><when>2024</when></TimeStamp>")
        + _line("时钟复位", "<TimeStamp><when>1980-01-06T00:00:00Z</when></TimeStamp>")
        + _line("无时间", ""),
    )
    frame = read_track_file(path)
    assert frame["date"].tolist() == [
        dt.date(2024, 3, 6),
        dt.date(2024, 3, 7),
        dt.date(2024, 3, 7),
        dt.date(2024, 3, 8),
        dt.date(2024, 3, 9),
        dt.date(2024, 3, 10),
        None,
        None,
        None,
    ]
    assert frame["start"].iloc[4] == dt.datetime(2024, 3, 9, 1, tzinfo=dt.UTC)
    # without --date the dated lines are patrols and the undated ones still ask for a date
    got = read_patrol_file(path, villages=villages_frame(), people="张三")
    assert [(p.track_name, p.village, p.date) for p in got.patrols][:2] == [
        ("早", "甲村", dt.date(2024, 3, 6)),
        ("跨夜", "甲村", dt.date(2024, 3, 7)),
    ]
    assert [(p.row, p.target_id, p.code) for p in got.problems] == [
        (7, "只有年份", "missing_date"),
        (8, "时钟复位", "missing_date"),
        (9, "无时间", "missing_date"),
    ]


def test_a_kml_of_timed_point_placemarks_is_a_track(tmp_path: Path) -> None:
    """What some phone apps export: every fix a point placemark with its TimeStamp."""
    start = dt.datetime(2024, 3, 12, 1, 0, tzinfo=dt.UTC)
    fixes = [(106.005 + 0.0005 * i, 29.70) for i in range(12)]
    fixes[6] = (106.06, 29.75)  # a glitch about 6 km away, a minute after its neighbours

    def point(i: int, x: float, y: float) -> str:
        when = (start + dt.timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
        return (
            f"<Placemark><name>{i}</name><TimeStamp><when>{when}</when></TimeStamp>"
            f"<Point><coordinates>{x},{y},320</coordinates></Point></Placemark>"
        )

    points = [point(i, x, y) for i, (x, y) in enumerate(fixes)]
    path = _kml(tmp_path / "手机轨迹.kml", "".join(points))
    frame = read_track_file(path)
    assert len(frame) == 1
    assert frame["date"].tolist() == [dt.date(2024, 3, 12)]
    assert frame["start"].iloc[0] == start
    report = frame["hygiene"].iloc[0]
    assert (report.points, report.kept) == (12, 11)
    assert report.dropped == {"too_fast": 1}  # the fixes have their times: a speed, not a jump
    got = read_patrol_file(path, villages=villages_frame(), people="张三")
    assert not got.problems
    assert [(p.village, p.date, p.people) for p in got.patrols] == [
        ("甲村", dt.date(2024, 3, 12), "张三")
    ]
    assert got.patrols[0].track is not None and got.patrols[0].track.length > 0.004

    # written newest first, it is the same walk
    backwards = _kml(tmp_path / "倒序.kml", "".join(reversed(points)))
    again = read_track_file(backwards)
    assert again["date"].tolist() == [dt.date(2024, 3, 12)]
    assert again.geometry.iloc[0].equals(frame.geometry.iloc[0])

    # one track a folder, named by it; a lone timed point or an untimed one is no track
    folders = _kml(
        tmp_path / "分天.kml",
        "<Folder><name>3月12日</name>" + "".join(points[:4]) + "</Folder>"
        "<Folder><name>3月13日</name>"
        + "".join(points[8:]).replace("2024-03-12", "2024-03-13")
        + "</Folder>"
        "<Folder><name>孤点</name>" + points[5] + "</Folder>"
        "<Placemark><name>航点</name><Point><coordinates>106.01,29.70</coordinates></Point>"
        "</Placemark>",
    )
    tracks = read_track_file(folders)
    assert tracks["name"].tolist() == ["3月12日", "3月13日"]
    assert tracks["number"].tolist() == [1, 2]
    assert tracks["date"].tolist() == [dt.date(2024, 3, 12), dt.date(2024, 3, 13)]

    # a file with a track line keeps it alone: its timed points are waypoints, as before
    mixed = _kml(tmp_path / "线和点.kml", _line("线", "") + "".join(points))
    assert read_track_file(mixed)["name"].tolist() == ["线"]
    # points without times are still no track
    untimed = _kml(
        tmp_path / "航点.kml",
        "".join(p.split("<TimeStamp>")[0] + "<Point>" + p.split("<Point>")[1] for p in points),
    )
    with pytest.raises(InputError, match="没有轨迹线"):
        read_track_file(untimed)
    # a reader of targets sees the frame it always saw
    assert list(read_kml(path, source="t").columns) == [
        "name",
        "description",
        "folder",
        "times",
        "geometry",
    ]


def test_a_kml_multitrack_gives_its_date_and_its_fixes_their_times(tmp_path: Path) -> None:
    def track(t0: str, xs: list[float]) -> str:
        whens = "".join(f"<when>2024-03-15T{t0}:{i:02d}:00Z</when>" for i in range(len(xs)))
        coords = "".join(f"<gx:coord>{x} 29.70 300</gx:coord>" for x in xs)
        return f"<gx:Track>{whens}{coords}</gx:Track>"

    walk = [106.025 + 0.0005 * i for i in range(10)]
    path = _kml(
        tmp_path / "多段.kml",
        "<Placemark><name>两段</name><gx:MultiTrack>"
        + track("01", walk)
        + track("02", [*walk[:5], 106.09, *walk[5:]])  # a fix 6 km off in a minute
        + "</gx:MultiTrack></Placemark>",
    )
    frame = read_track_file(path)
    assert frame["date"].tolist() == [dt.date(2024, 3, 15)]
    assert frame["start"].iloc[0] == dt.datetime(2024, 3, 15, 1, tzinfo=dt.UTC)
    assert frame["hygiene"].iloc[0].dropped == {"too_fast": 1}
    got = read_patrol_file(path, villages=villages_frame())
    assert [(p.village, p.date) for p in got.patrols] == [("乙村", dt.date(2024, 3, 15))]


def _point(name: str, when: str, x: float = 106.005, y: float = 29.70) -> str:
    return (
        f"<Placemark><name>{name}</name>{when}"
        f"<Point><coordinates>{x},{y}</coordinates></Point></Placemark>"
    )


def _stamp(when: dt.datetime) -> str:
    return f"<TimeStamp><when>{when.isoformat().replace('+00:00', 'Z')}</when></TimeStamp>"


def test_timed_points_far_apart_in_time_or_beside_areas_are_no_walk(tmp_path: Path) -> None:
    """Sites marked on different days (or an hour apart) are not one walk between them; nor
    are timed points in a file with areas (a village drawn, its sites marked)."""
    t0 = dt.datetime(2024, 3, 12, 1, 0, tzinfo=dt.UTC)
    walk = [
        _point(f"w{i}", _stamp(t0 + dt.timedelta(minutes=i)), 106.005 + 0.0005 * i)
        for i in range(5)
    ]
    # 3月2日, 3月9日 and 3月20日: three marks, no walk
    marks = [
        _point(f"m{d}", _stamp(dt.datetime(2024, 3, d, 2, tzinfo=dt.UTC)), 106.005 + 0.01 * d)
        for d in (2, 9, 20)
    ]
    with pytest.raises(InputError, match="没有轨迹线"):
        read_track_file(_kml(tmp_path / "标记.kml", "".join(marks)))
    # a walk, an hour's pause, another walk: two tracks
    later = [
        _point(f"x{i}", _stamp(t0 + dt.timedelta(minutes=70 + i)), 106.007 + 0.0005 * i)
        for i in range(3)
    ]
    two = read_track_file(_kml(tmp_path / "两段.kml", "".join(walk + later)))
    assert [r.kept for r in two["hygiene"]] == [5, 3]
    # across the town's midnight (16:00 UTC) within half an hour: two days, two tracks
    night = dt.datetime(2024, 3, 12, 15, 50, tzinfo=dt.UTC)
    late = [_point(f"n{i}", _stamp(night + dt.timedelta(minutes=5 * i))) for i in range(4)]
    days = read_track_file(_kml(tmp_path / "跨夜.kml", "".join(late)))
    assert days["date"].tolist() == [dt.date(2024, 3, 12), dt.date(2024, 3, 13)]
    # a village outline beside the timed points: marked sites, not a walk
    area = (
        "<Placemark><name>甲村</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        "106.0,29.69 106.03,29.69 106.03,29.72 106.0,29.69</coordinates></LinearRing>"
        "</outerBoundaryIs></Polygon></Placemark>"
    )
    with pytest.raises(InputError, match="没有轨迹线"):
        read_track_file(_kml(tmp_path / "村和点.kml", area + "".join(walk)))


def test_a_timed_points_timespan_falls_back_to_its_end_as_a_line_does(tmp_path: Path) -> None:
    t0 = dt.datetime(2024, 3, 12, 1, 0, tzinfo=dt.UTC)
    points = [
        _point(
            f"p{i}",
            "<TimeSpan><begin>1980-01-06T00:00:00Z</begin>"
            f"<end>{(t0 + dt.timedelta(minutes=i)).isoformat().replace('+00:00', 'Z')}</end>"
            "</TimeSpan>",
            106.005 + 0.0005 * i,
        )
        for i in range(4)
    ]
    frame = read_track_file(_kml(tmp_path / "时段.kml", "".join(points)))
    assert frame["date"].tolist() == [dt.date(2024, 3, 12)]
    assert frame["hygiene"].iloc[0].kept == 4


def test_a_date_typed_wins_over_a_placemarks_label_but_not_over_timed_fixes(
    tmp_path: Path,
) -> None:
    """A placemark's TimeStamp may be when the file was made: a date given for the file is
    the patrol's. Fixes that carry their own times say the day themselves, as in a GPX."""
    labelled = _kml(
        tmp_path / "标注.kml",
        _line("线", "<TimeStamp><when>2024-03-06T02:00:00Z</when></TimeStamp>"),
    )
    typed = dt.date(2024, 3, 20)
    got = read_patrol_file(labelled, villages=villages_frame(), people="张三", date=typed)
    assert [p.date for p in got.patrols] == [typed]
    untyped = read_patrol_file(labelled, villages=villages_frame(), people="张三")
    assert [p.date for p in untyped.patrols] == [dt.date(2024, 3, 6)]
    t0 = dt.datetime(2024, 3, 12, 1, 0, tzinfo=dt.UTC)
    timed = _kml(
        tmp_path / "定位.kml",
        "".join(
            _point(f"w{i}", _stamp(t0 + dt.timedelta(minutes=i)), 106.005 + 0.0005 * i)
            for i in range(5)
        ),
    )
    own = read_patrol_file(timed, villages=villages_frame(), people="张三", date=typed)
    assert [p.date for p in own.patrols] == [dt.date(2024, 3, 12)]
