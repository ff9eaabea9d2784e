"""``geoverify dispatch`` on SQLite and PostGIS: files per village, state moves, safe re-runs."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from tests.cli.feedback_helpers import BATCH, full_snapshot, with_batch
from tests.conftest import Cli


def test_dispatch_one_village_then_again(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    out = tmp_path / "d"
    res = run("dispatch", "--batch", BATCH, "--out", str(out), "--village", "青龙村", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [v["village"] for v in doc["villages"]] == ["青龙村"]
    n = doc["villages"][0]["targets"]
    assert doc["dispatched"] == n > 0
    assert doc["villages"][0]["map_html"] is None or Path(doc["villages"][0]["map_html"]).exists()
    for name in ("青龙村.xlsx", "青龙村.html", "汇总.xlsx"):
        assert (out / name).stat().st_size > 0
    page = (out / "青龙村.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
    wb = openpyxl.load_workbook(out / "青龙村.xlsx")
    assert wb["_geoverify"].sheet_state == "hidden"
    listed = json.loads(run("targets", "list", "--village", "青龙村", "--json").stdout)
    assert {x["status"] for x in listed if x["batch"] == BATCH} == {"dispatched"}

    store = run.store()
    before = full_snapshot(store)
    res = run("dispatch", "--batch", BATCH, "--out", str(out), "--village", "青龙村", "--json")
    again = json.loads(res.stdout)
    assert (again["dispatched"], again["already_dispatched"]) == (0, n)
    assert full_snapshot(store) == before


def test_dispatch_unknown_batch_or_village(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    store = run.store()
    before = full_snapshot(store)
    res = run("dispatch", "--batch", "1999-01", "--out", str(tmp_path / "x"))
    assert res.exit_code == 1 and "1999-01" in res.stderr
    res = run("dispatch", "--batch", BATCH, "--out", str(tmp_path / "x"), "--village", "无此村")
    assert res.exit_code == 1 and "无此村" in res.stderr
    assert full_snapshot(store) == before


def test_status_shows_no_rate_where_there_is_nothing_to_rate(run: Cli) -> None:
    """The row of targets outside the town (returned to the district) and a spot check with
    nothing checked yet show "—", not 0.0% or a blank."""
    with_batch(run)
    doc = json.loads(run("status", "--batch", BATCH, "--json").stdout)
    assert doc["outside"] and doc["outside"]["issued"] > 0  # the sample has such targets
    out = run("status", "--batch", BATCH).stdout
    outside = next(line for line in out.splitlines() if line.startswith("镇外"))
    assert outside.split()[-2:] == ["—", "—"], outside
    town = next(line for line in out.splitlines() if line.startswith("全镇合计"))
    assert town.split()[-1].endswith("%")
