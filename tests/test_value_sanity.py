"""Value sanity (issue 11, item 4): values that parse but cannot be right are refused by name.

A 100,009-character target id, control characters in ids, an area of 1e308, image dates in
1970 or 2099, latitude 95 (which was reported as "looks projected"), a plant count of 20
million; and a corrected result that kept the values of the old one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from geoverify.clock import today_local
from geoverify.errors import InputError
from geoverify.readers.patrols import read_patrol_table
from geoverify.readers.targets import read_targets
from geoverify.sanity import MAX_AREA_M2, check_area, check_date, check_id, check_plants, short
from geoverify.store import tables as t
from tests.cli.feedback_helpers import full_snapshot, with_batch
from tests.conftest import Cli

LON, LAT = 106.0345, 29.6930  # inside the sample town
LONG_ID = "T" * 100_009


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("靶标编号,经度,纬度,面积,影像时间\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _bad_rows() -> list[str]:
    """One row per implausible value; row numbers as in the file (header = row 1)."""
    return [
        f"OK1,{LON},{LAT},120,2024-03-01",  # 2 good
        f"{LONG_ID},{LON},{LAT},,",  # 3 id_too_long
        f"T\x1f4,{LON},{LAT},,",  # 4 id_control_characters (a control character)
        f"T\u200b5,{LON},{LAT},,",  # 5 id_control_characters (zero-width space)
        f"T6,{LON},{LAT},1e308,",  # 6 implausible_area
        f"T7,{LON},{LAT},,2099-01-01",  # 7 implausible_date (future)
        f"T8,{LON},{LAT},,1970-01-01",  # 8 implausible_date (before 2000)
        f"T9,{LON},95,,",  # 9 coordinates_out_of_range
        f"T10,200,{LAT},,",  # 10 coordinates_out_of_range
        f"OK2,{LON},{LAT},3亩,2024-03-02",  # 11 good
    ]


EXPECTED = {
    3: "id_too_long",
    4: "id_control_characters",
    5: "id_control_characters",
    6: "implausible_area",
    7: "implausible_date",
    8: "implausible_date",
    9: "coordinates_out_of_range",
    10: "coordinates_out_of_range",
}


def test_reader_names_each_implausible_value(tmp_path: Path) -> None:
    read = read_targets(_csv(tmp_path / "b.csv", _bad_rows()), batch_id="B")
    assert {p.row: p.code for p in read.problems} == EXPECTED
    assert read.frame["target_id"].tolist() == ["OK1", "OK2"]
    by_row = {p.row: p for p in read.problems}
    # Long values are shortened in messages, never echoed whole.
    assert by_row[3].value is not None and len(by_row[3].value) < 100
    assert "100009" in by_row[3].reason_en
    assert "U+001F" in by_row[4].reason_en and "U+200B" in by_row[5].reason_en
    assert "latitude" in by_row[9].reason_en and "projected" not in by_row[9].reason_en


def test_latitude_95_alone_is_out_of_range_not_projected(tmp_path: Path) -> None:
    # Was a CRSError "the coordinates look projected, pass --crs" for the whole file.
    read = read_targets(_csv(tmp_path / "one.csv", [f"A,{LON},95,,"]), batch_id="B")
    assert [p.code for p in read.problems] == ["coordinates_out_of_range"]


def test_out_of_range_names_the_coordinate_and_its_value(tmp_path: Path) -> None:
    rows = [f"A,{LON},95.2,,", f"B,200.5,{LAT},,", "C,-181,-90.5,,"]
    read = read_targets(_csv(tmp_path / "far.csv", rows), batch_id="B")
    said = {p.target_id: p for p in read.problems}
    assert said["A"].reason == "纬度 95.2 超出范围（应在 -90 至 90 之间）"
    assert said["A"].field == "纬度"
    assert said["B"].reason == "经度 200.5 超出范围（应在 -180 至 180 之间）"
    assert said["B"].field == "经度"
    assert (
        said["C"].reason.startswith("经度 -181 超出范围")
        and "纬度 -90.5 超出范围" in said["C"].reason
    )
    assert (
        said["C"].reason_en
        == "longitude -181 out of range (-180 to 180); latitude -90.5 out of range (-90 to 90)"
    )


def test_polygon_of_an_implausible_area(tmp_path: Path) -> None:
    path = tmp_path / "big.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"靶标编号": "HUGE"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[106.0, 29.6], [106.1, 29.6], [106.1, 29.7], [106.0, 29.6]]
                            ],
                        },
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    read = read_targets(path, batch_id="B")
    assert [p.code for p in read.problems] == ["implausible_area"]


def test_batch_id_too_long_or_with_control_characters(tmp_path: Path) -> None:
    path = _csv(tmp_path / "b.csv", [f"OK1,{LON},{LAT},,"])
    with pytest.raises(InputError, match=r"batch id is too long \(65 characters, at most 64\)"):
        read_targets(path, batch_id="B" * 65)
    with pytest.raises(InputError, match="control characters"):
        read_targets(path, batch_id="2024\n03")


def test_patrol_table_date_in_the_future(tmp_path: Path) -> None:
    """Today in the town is the last day a patrol can be reported for; tomorrow is not."""
    today = today_local()
    path = tmp_path / "p.csv"
    path.write_text(
        "村、社区,组,踏查时间,踏查人员,踏查情况,备注\n"
        "青龙村,一组,2099-03-12,张三,未发现,\n"
        "青龙村,二组,2024-03-12,李四,未发现,\n"
        f"青龙村,三组,{today + dt.timedelta(days=1)},王五,未发现,\n"
        f"青龙村,四组,{today},赵六,未发现,\n",
        encoding="utf-8",
    )
    read = read_patrol_table(path)
    assert [(p.row, p.code) for p in read.problems] == [
        (2, "implausible_date"),
        (4, "implausible_date"),
    ]


def test_an_image_date_of_tomorrow_is_refused(tmp_path: Path) -> None:
    today = today_local()
    rows = [f"T1,{LON},{LAT},,{today + dt.timedelta(days=1)}", f"T2,{LON},{LAT},,{today}"]
    read = read_targets(_csv(tmp_path / "b.csv", rows), batch_id="B")
    assert [(p.row, p.code) for p in read.problems] == [(2, "implausible_date")]
    assert read.frame["target_id"].tolist() == ["T2"]


def test_checks() -> None:
    assert check_id("TL2024-03-011") is None
    assert check_id("x" * 101) is not None and check_id("x" * 101).code == "id_too_long"  # type: ignore[union-attr]
    assert check_area(MAX_AREA_M2) is None and check_area(MAX_AREA_M2 * 2) is not None
    assert check_plants(3000) is None and check_plants(10**8) is not None
    assert check_date(dt.date(2024, 3, 1), latest=dt.date(2024, 3, 31)) is None
    assert check_date(dt.date(2024, 4, 1), latest=dt.date(2024, 3, 31)) is not None
    assert short("abc") == "abc" and short("a" * 50).startswith("a" * 40 + "…")


# --- the command line on both stores -------------------------------------------------------------


def test_cli_batch_with_implausible_values_is_refused_whole(run: Cli, tmp_path: Path) -> None:
    # On PostgreSQL the 100,009-character id ended in a traceback (value too long for
    # character varying(100)); on SQLite it was stored.
    assert run("init").exit_code == 0
    before = full_snapshot(run.store())
    res = run(
        "batch", "import", str(_csv(tmp_path / "b.csv", _bad_rows())), "--batch", "B1", "--json"
    )
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert {r["row"]: r["code"] for r in doc["rejected"]} == EXPECTED
    assert full_snapshot(run.store()) == before
    # With --accept-partial the good rows are written and the rejected ones recorded (ids cut).
    res = run(
        "batch", "import", str(tmp_path / "b.csv"), "--batch", "B1", "--accept-partial", "--json"
    )
    assert res.exit_code == 0, res.output
    with run.store().connect() as conn:
        ids = sorted(conn.execute(select(t.targets.c.target_id)).scalars())
        rejected = conn.execute(select(t.rejected_rows.c.target_id)).scalars().all()
    assert ids == ["OK1", "OK2"]
    assert all(r is None or len(r) <= 100 for r in rejected)


def _history(run: Cli, tid: str) -> list[dict]:
    res = run("history", tid, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["events"]


def test_cli_correction_clears_values_that_no_longer_apply(run: Cli) -> None:
    with_batch(run)
    tid = _first_target(run)
    args = ["feedback", "set", tid, "--date", "2024-03-08", "--checked-by", "张三"]
    res = run(*args, "--result", "确认种植", "--plants", "12", "--area", "30", "--case", "C-1")
    assert res.exit_code == 0, res.output
    res = run(*args, "--result", "未发现", "--supersede", "--reason", "复核：现场无种植", "--json")
    assert res.exit_code == 0, res.output
    with run.store().connect() as conn:
        row = conn.execute(select(t.targets).where(t.targets.c.target_id == tid)).one()
    assert (row.status, row.result) == ("verified", "not_found")
    assert row.plants is None and row.eradicated_area_m2 is None and row.case_no is None
    assert row.verified_by == "张三"
    last = _history(run, tid)[-1]
    assert last["kind"] == "superseded"
    payload = last["payload"]
    assert payload["from"]["plants"] == 12 and payload["from"]["case_no"] == "C-1"
    assert payload["from"]["eradicated_area_m2"] == 30
    assert payload["to"]["plants"] is None and payload["to"]["case_no"] is None
    assert payload["to"]["result"] == "not_found"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--result", "确认种植", "--plants", "20000000"], "plant count 20000000 is implausible"),
        (["--result", "确认种植", "--area", "1e308"], "area of 1e+308 m² is implausible"),
        (["--result", "排除", "--plants", "5"], "confirmed planting only"),
        (["--result", "排除", "--date", "1999-12-31"], "1999-12-31 is implausible"),
    ],
)
def test_cli_feedback_values_out_of_range(run: Cli, extra: list[str], reason: str) -> None:
    with_batch(run)
    tid = _first_target(run)
    before = full_snapshot(run.store())
    date = [] if "--date" in extra else ["--date", "2024-03-08"]
    res = run("feedback", "set", tid, "--checked-by", "张三", *date, *extra, "--json")
    assert res.exit_code == 1
    assert reason in json.loads(res.stdout)["error"]
    assert full_snapshot(run.store()) == before


def _first_target(run: Cli) -> str:
    c = t.targets.c
    with run.store().connect() as conn:
        return str(conn.execute(select(c.target_id).order_by(c.target_id)).scalars().first())
