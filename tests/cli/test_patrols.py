"""`geoverify patrols import|list` on real files (GPX, KML, CSV, XLSX), SQLite and PostGIS."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from geoverify.store import tables as t
from geoverify.store import tables_patrols as tp
from geoverify.workflows import sample_path
from tests.conftest import Cli, snapshot

GPX = sample_path("samples", "patrols_2024-03.gpx")
CSV = sample_path("samples", "patrols_2024-03.csv")

# A short track inside 龙泉村 (taken from the sample GPX), for hand-made files.
_PTS = [(106.03222, 29.67255), (106.0325, 29.6727), (106.0330, 29.6730), (106.0336, 29.6733)]


def _gpx(path: Path, *, times: bool = True, body: str | None = None) -> Path:
    pts = "".join(
        f'<trkpt lat="{y}" lon="{x}">'
        + (f"<time>2024-03-0{5 + 0}T0{i}:00:00Z</time>" if times else "")
        + "</trkpt>"
        for i, (x, y) in enumerate(_PTS)
    )
    doc = body or (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>T1</name><trkseg>{pts}</trkseg></trk></gpx>"
    )
    path.write_text(doc, encoding="utf-8")
    return path


def _kml(path: Path) -> Path:
    coords = " ".join(f"{x},{y},0" for x, y in _PTS)
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><Placemark><name>K1</name><TimeStamp><when>2024-03-06T02:00:00Z</when>"
        f"</TimeStamp><LineString><coordinates>{coords}</coordinates></LineString></Placemark>"
        "</Document></kml>",
        encoding="utf-8",
    )
    return path


def _init(run: Cli) -> None:
    assert run("init").exit_code == 0


def test_gpx_then_table_links_tracks_and_twice_changes_nothing(run: Cli) -> None:
    _init(run)
    res = run("patrols", "import", str(GPX), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "imported"
    assert doc["imported"] == doc["tracked"] == 8
    assert doc["waypoints"] == 2
    res = run("patrols", "import", str(CSV), "--received", "2024-03-22", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["imported"] == 11 and doc["tracked"] == 8 and doc["linked_tracks"] == 8
    listed = json.loads(run("patrols", "list", "--month", "2024-03", "--json").stdout)
    # The 8 GPX patrols are represented by the table rows that name them: 11, not 19.
    assert len(listed) == 11
    assert sum(r["tracked"] for r in listed) == 8
    assert {r["received_on"] for r in listed} == {"2024-03-22"}
    store = run.store()
    before = snapshot(store)
    for f in (GPX, CSV):
        res = run("patrols", "import", str(f), "--json")
        assert res.exit_code == 0
        assert json.loads(res.stdout)["status"] == "already_imported"
    assert snapshot(store) == before
    with store.connect() as conn:
        kinds = [r.kind for r in conn.execute(select(t.events))]
        lengths = conn.execute(select(tp.patrol_villages)).all()
    assert kinds.count("patrol_recorded") == 19
    assert kinds.count("patrols_imported") == 2
    assert lengths and all(r.length_m > 0 for r in lengths)


def test_table_with_tracks_option(run: Cli) -> None:
    _init(run)
    res = run("patrols", "import", str(CSV), "--tracks", str(GPX), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["imported"] == 11 and doc["tracked"] == 8 and doc["linked_tracks"] == 0
    text = run("patrols", "list", "--village", "永安村").stdout
    assert "未携带定位设备" not in text or "—" in text
    assert "永安村" in text


def test_kml_track(run: Cli, tmp_path: Path) -> None:
    _init(run)
    kml = str(_kml(tmp_path / "k.kml"))
    res = run("patrols", "import", kml, "--people", "张三", "--date", "2024-03-06", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["by_village"] == {"龙泉村": 1}
    assert doc["dates"] == ["2024-03-06"]
    listed = json.loads(run("patrols", "list", "--json").stdout)
    assert listed[0]["people"] == "张三" and listed[0]["length_m"] > 100


def test_a_track_file_says_its_group_and_findings(run: Cli, tmp_path: Path) -> None:
    """A track file's patrol carries its group (组) and findings (踏查情况) when given, as a
    table's row does (the monthly table's row is then whole); a group the village does not
    have is refused, and a table takes neither (its rows say them)."""
    _init(run)
    kml = str(_kml(tmp_path / "k.kml"))
    store = run.store()
    before = snapshot(store)
    res = run("patrols", "import", kml, "--date", "2024-03-06", "--group", "九十九组")
    assert res.exit_code == 1 and "龙泉村没有“九十九组”" in res.stderr
    assert snapshot(store) == before
    res = run("patrols", "import", str(CSV), "--group", "三组")
    assert res.exit_code == 1 and "只用于轨迹文件" in res.stderr
    # the group is the given village's: 双河村 has no 四组 (龙泉村, where the track runs, has)
    res = run("patrols", "import", kml, "--date", "2024-03-06", "--village", "双河村",
              "--group", "四组")  # fmt: skip
    assert res.exit_code == 1 and "双河村没有“四组”" in res.stderr, res.output
    assert snapshot(store) == before
    res = run(
        "patrols", "import", kml, "--date", "2024-03-06", "--people", "张三",
        "--group", " 三组 ", "--findings", "未发现异常", "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    listed = json.loads(run("patrols", "list", "--json").stdout)
    assert [(p["group"], p["people"], p["findings"]) for p in listed] == [
        ("三组", "张三", "未发现异常")
    ]


def test_gpx_without_times_needs_date_and_village_option(run: Cli, tmp_path: Path) -> None:
    _init(run)
    f = _gpx(tmp_path / "notime.gpx", times=False)
    store = run.store()
    before = snapshot(store)
    res = run("patrols", "import", str(f))
    assert res.exit_code == 1
    assert "轨迹没有时间" in res.stderr and "notime.gpx" in res.stderr
    assert snapshot(store) == before
    res = run("patrols", "import", str(f), "--date", "2024-03-09", "--village", "石桥", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["by_village"] == {"石桥村": 1}


def test_xlsx_table(run: Cli, tmp_path: Path) -> None:
    _init(run)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["2024年福果镇青龙村禁种铲毒工作踏查情况3月统计表"])
    ws.append(["村、社区", "组", "踏查时间", "踏查人员", "踏查情况", "备注"])
    ws.append(["青龙村", "一组", "2024-03-03", "甲、乙", "未发现异常", None])
    ws.append(["白鹤", "二组", "2024年3月4日", "丙", "发现罂粟3株，已铲除", "已报派出所"])
    f = tmp_path / "表.xlsx"
    wb.save(f)
    res = run("patrols", "import", str(f), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["imported"] == 2 and doc["tracked"] == 0
    assert doc["by_village"] == {"青龙村": 1, "白鹤村": 1}
    assert doc["footer_rows"] == []


def test_a_village_tables_total_and_sign_off_lines_are_not_patrols(
    run: Cli, tmp_path: Path
) -> None:
    """The plan's table ends with 合计 and 填表人…审核人 lines: said, not refused as rows."""
    _init(run)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["村、社区", "组", "踏查时间", "踏查人员", "踏查情况", "备注"])
    ws.append(["青龙村", "一组", "2024-03-03", "甲、乙", "未发现异常", None])
    ws.append(["青龙村", "二组", "2024-03-05", "丙", "未发现异常", "待审核"])
    ws.append(["小计", None, "三月", None, None, None])
    ws.append(["合计", "2次", None, None, None, None])
    ws.append(["填表人：张三　　审核人：李四　　联系电话："])
    f = tmp_path / "表.xlsx"
    wb.save(f)
    res = run("patrols", "import", str(f), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["imported"] == 2 and doc["footer_rows"] == [4, 5, 6]
    listed = json.loads(run("patrols", "list", "--json").stdout)
    assert sorted(p["date"] for p in listed) == ["2024-03-03", "2024-03-05"]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("bad.gpx", "<gpx><trk><trkseg><trkpt lat='1'", "gpx"),
        ("empty.gpx", '<gpx version="1.1"><trk><name>x</name></trk></gpx>', "empty.gpx"),
        (
            "xxe.gpx",
            '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<gpx version="1.1"><wpt lat="29.7" lon="106.0"><name>&x;</name></wpt></gpx>',
            "xxe.gpx",
        ),
        (
            "bad_date.csv",
            "村、社区,组,踏查时间,踏查人员,踏查情况,备注\n青龙村,一组,三月初,甲,无,\n",
            "踏查时间无法识别",
        ),
        (
            "unknown.csv",
            "村、社区,组,踏查时间,踏查人员,踏查情况,备注\n火星村,一组,2024-03-02,甲,无,\n",
            "火星村",
        ),
    ],
)
def test_rejections_leave_the_store_unchanged(
    run: Cli, tmp_path: Path, name: str, content: str, needle: str
) -> None:
    _init(run)
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    store = run.store()
    before = snapshot(store)
    res = run("patrols", "import", str(f))
    assert res.exit_code == 1
    assert needle in res.stderr
    assert "passwd" not in res.stdout
    assert snapshot(store) == before


def test_table_naming_a_missing_track_is_refused(run: Cli, tmp_path: Path) -> None:
    _init(run)
    f = tmp_path / "t.csv"
    shutil.copy(CSV, f)
    store = run.store()
    before = snapshot(store)
    res = run("patrols", "import", str(f), "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["status"] == "rejected"
    assert {r["code"] for r in doc["rejected"]} == {"track_not_found"}
    assert snapshot(store) == before


def test_table_with_tracks_then_the_same_gpx_is_not_counted_twice(run: Cli) -> None:
    _init(run)
    res = run(
        "patrols", "import", str(CSV), "--tracks", str(GPX), "--received", "2024-03-22", "--json"
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["tracked"] == 8
    store = run.store()
    before = snapshot(store)
    res = run("patrols", "import", str(GPX), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "already_recorded" and doc["already_recorded"] == 8
    assert snapshot(store) == before
    listed = json.loads(run("patrols", "list", "--month", "2024-03", "--json").stdout)
    assert len(listed) == 11


@pytest.mark.parametrize("order", ["gpx_first", "table_first"])
def test_readme_commands_in_either_order_count_each_patrol_once(run: Cli, order: str) -> None:
    """The README's two commands (GPX, then the table with --tracks naming the same tracks),
    in either order: 11 records, 8 tracks, the same coverage and monthly counts."""
    _init(run)
    gpx = ["patrols", "import", str(GPX), "--json"]
    table = ["patrols", "import", str(CSV), "--tracks", str(GPX), "--received", "2024-03-22"]
    steps = [gpx, [*table, "--json"]] if order == "gpx_first" else [[*table, "--json"], gpx]
    docs = []
    for args in steps:
        res = run(*args)
        assert res.exit_code == 0, res.output
        docs.append(json.loads(res.stdout))
    if order == "gpx_first":
        assert docs[1]["imported"] == 11 and docs[1]["linked_tracks"] == 8
    else:
        assert docs[1]["status"] == "already_recorded" and docs[1]["already_recorded"] == 8
    listed = json.loads(run("patrols", "list", "--month", "2024-03", "--json").stdout)
    assert len(listed) == 11 and sum(r["tracked"] for r in listed) == 8
    cov = json.loads(run("coverage", "--month", "2024-03", "--json").stdout)
    assert cov["totals"]["patrols"] == 8
    res = run("report", "monthly", "--month", "2024-03", "--out", str(run.ws / "m"), "--json")
    monthly = json.loads(res.stdout)
    assert monthly["totals"]["patrols"] == 11 and monthly["totals"]["tracked"] == 8
    by_village = {v["village"]: v for v in monthly["villages"]}
    assert by_village["龙泉村"]["patrols"] == 3 and by_village["龙泉村"]["status"] == "已报送"
    assert {v["status"] for v in monthly["villages"]} <= {"已报送", "未报送"}


def test_tracks_alone_have_no_received_date_and_are_never_late(run: Cli) -> None:
    _init(run)
    res = run("patrols", "import", str(GPX), "--json")
    assert json.loads(res.stdout)["received_on"] is None
    text = run("patrols", "import", str(GPX)).stdout  # already imported: one line
    assert "已导入" in text
    res = run("report", "monthly", "--month", "2024-03", "--out", str(run.ws / "m"), "--json")
    monthly = json.loads(res.stdout)
    walked = [v for v in monthly["villages"] if v["patrols"]]
    assert walked and {v["status"] for v in walked} == {"报送日期未记录"}
    assert all(v["received_on"] is None for v in walked)
    # a table imported without --received counts as received on the day it is imported
    # (today, long after 2024-03-25): late
    res = run("patrols", "import", str(CSV), "--json")
    assert json.loads(res.stdout)["received_on"] is not None
    res = run("report", "monthly", "--month", "2024-03", "--out", str(run.ws / "m2"), "--json")
    statuses = {v["village"]: v["status"] for v in json.loads(res.stdout)["villages"]}
    assert statuses["龙泉村"] == "逾期报送"
