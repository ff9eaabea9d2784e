"""`geoverify patrols import` of a table with a blank 踏查时间 and of KML tracks dated by
TimeStamp, on SQLite and PostGIS."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli, snapshot

# A short walk inside 龙泉村 (from the sample GPX), as in tests/cli/test_patrols.py.
_PTS = [(106.03222, 29.67255), (106.0325, 29.6727), (106.0330, 29.6730), (106.0336, 29.6733)]
_KML = (
    '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
    "<Document>{}</Document></kml>"
)


def test_a_blank_patrol_date_is_refused_as_missing(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    table = tmp_path / "龙泉村三月.csv"
    table.write_text(
        "村、社区,组,踏查时间,踏查人员,踏查情况,备注\n"
        "龙泉村,一组,2024-03-05,张三,未发现异常,\n"
        "龙泉村,二组,,李四,未发现异常,\n"
        "龙泉村,三组,上旬,王五,未发现异常,\n",
        encoding="utf-8",
    )
    store = run.store()
    before = snapshot(store)
    res = run("patrols", "import", str(table))
    assert res.exit_code == 1, res.output
    assert "第 3 行: 踏查时间为空，请填写 2024-03-12 这样的日期 (patrol date is empty" in res.stderr
    assert "第 4 行: 踏查时间无法识别，应为 2024-03-12 这样的日期" in res.stderr
    assert "龙泉村三月.csv" in res.stderr
    assert snapshot(store) == before
    res = run("patrols", "import", str(table), "--json")
    assert res.exit_code == 1
    rows = json.loads(res.stdout)["rejected"]
    assert [(r["row"], r["code"], r["field"]) for r in rows] == [
        (3, "missing_date", "踏查时间"),
        (4, "bad_date", "踏查时间"),
    ]


def test_kml_tracks_dated_by_timestamp_need_no_date(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    coords = " ".join(f"{x},{y},0" for x, y in _PTS)
    line = tmp_path / "线.kml"
    line.write_text(
        _KML.format(
            "<Placemark><name>K1</name><TimeStamp><when>2024-03-06T02:00:00Z</when></TimeStamp>"
            f"<LineString><coordinates>{coords}</coordinates></LineString></Placemark>"
        ),
        encoding="utf-8",
    )
    res = run("patrols", "import", str(line), "--people", "张三", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["by_village"] == {"龙泉村": 1} and doc["dates"] == ["2024-03-06"]

    points = tmp_path / "点.kml"
    points.write_text(
        _KML.format(
            "".join(
                f"<Placemark><TimeStamp><when>2024-03-07T09:{i:02d}:00+08:00</when></TimeStamp>"
                f"<Point><coordinates>{x},{y + 0.0003},0</coordinates></Point></Placemark>"
                for i, (x, y) in enumerate(_PTS)  # another walk, a little to the north
            )
        ),
        encoding="utf-8",
    )
    res = run("patrols", "import", str(points), "--people", "李四", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["by_village"] == {"龙泉村": 1} and doc["dates"] == ["2024-03-07"]
    listed = json.loads(run("patrols", "list", "--json").stdout)
    assert sorted((p["date"], p["people"]) for p in listed) == [
        ("2024-03-06", "张三"),
        ("2024-03-07", "李四"),
    ]
    assert all(p["length_m"] > 100 for p in listed)
