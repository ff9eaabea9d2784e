"""Feedback round trip on SQLite and PostGIS: dispatch → village fills the workbook → import."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.cli.feedback_helpers import BATCH, fill, full_snapshot, target_ids, with_batch
from tests.conftest import Cli

HOSTILE = '=HYPERLINK("http://example.invalid","点我")'


def _dispatch(run: Cli, tmp_path: Path) -> tuple[Path, list[str], dict[str, Any]]:
    """Dispatch the village with the most targets; its workbook and target ids."""
    res = run("dispatch", "--batch", BATCH, "--out", str(tmp_path / "all"), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    best = max(doc["villages"], key=lambda v: v["targets"])
    xlsx = Path(best["xlsx"])
    return xlsx, target_ids(xlsx), doc


def _answers_ok(ids: list[str]) -> dict[str, dict[str, Any]]:
    return {
        ids[0]: {
            "核查日期": dt.date(2024, 3, 8),
            "核查人员": "张三",
            "核查结果": "确认种植",
            "株数": 650,
            "铲除面积（平方米）": 40.5,
            "铲除日期": dt.date(2024, 3, 9),
            "案件编号": "铜公(福)立字〔2024〕12号",
        },
        ids[1]: {"核查日期": dt.date(2024, 3, 8), "核查人员": "张三", "核查结果": "排除"},
        ids[2]: {
            "核查日期": "2024年3月10日",
            "核查人员": "李四",
            "核查结果": "未发现",
            "备注": HOSTILE,
        },
    }


def test_round_trip_dispatch_feedback_status_report(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    xlsx, ids, doc = _dispatch(run, tmp_path)
    assert len(ids) >= 3
    filled = tmp_path / "filled.xlsx"
    fill(xlsx, filled, _answers_ok(ids))

    res = run("feedback", "import", str(filled), "--json")
    assert res.exit_code == 0, res.output
    fb = json.loads(res.stdout)
    assert fb["changed"] == 3
    to = {c["target_id"]: (c["to"]["status"], c["to"]["result"]) for c in fb["changes"]}
    assert to == {
        ids[0]: ("eradicated", "confirmed"),
        ids[1]: ("verified", "excluded"),
        ids[2]: ("verified", "not_found"),
    }
    assert next(c for c in fb["changes"] if c["target_id"] == ids[0])["threshold"] == "criminal"

    st = json.loads(run("status", "--batch", BATCH, "--json").stdout)
    town = st["town"]
    # the 4 targets outside the town are listed apart, never the town's work
    assert st["outside"]["issued"] == 4 and st["outside"]["overdue"] == 0
    assert town["issued"] == 56 == doc["dispatched"]
    assert town["dispatched"] == doc["dispatched"]
    assert (town["verified"], town["confirmed"], town["excluded"], town["not_found"]) == (
        3,
        1,
        1,
        1,
    )
    assert town["eradicated"] == 1
    assert town["plants_eradicated"] == 650
    assert town["area_eradicated_m2"] == pytest.approx(40.5)
    assert town["verification_rate"] == pytest.approx(3 / 56, abs=1e-4)
    assert town["match_rate"] == pytest.approx(1 / 56, abs=1e-4)
    assert town["overdue"] == 53  # dispatched, due 2024-03-20, long past, no answer
    assert st["as_of"] == st["today"]

    report = tmp_path / "reports" / "district.xlsx"
    res = run("report", "district", "--batch", BATCH, "--out", str(report), "--json")
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert sorted(rep["marked"]) == sorted(ids[:3])
    assert len(rep["without_result"]) == 53 == rep["overdue"]
    assert len(rep["outside"]) == 4

    wb = openpyxl.load_workbook(report)
    ws = wb["核查反馈"]
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "序号")
    first = rows[header + 1]
    assert first[1] == ids[0]  # the threshold case comes first
    remark_col = rows[header].index("备注")
    cells = [c for c in ws.iter_rows(min_row=header + 2) if c[1].value == ids[2]]
    cell = cells[0][remark_col]
    assert cell.value == HOSTILE
    assert cell.data_type == "s"  # text, never a formula
    assert "汇总" in wb.sheetnames

    hist = json.loads(run("history", ids[0], "--json").stdout)["events"]
    assert [e["kind"] for e in hist] == ["issued", "dispatched", "eradicated", "reported"]
    assert all(e["at"].endswith("+08:00") for e in hist)
    assert hist[2]["source"].startswith("file:filled.xlsx:row ")
    assert hist[2]["payload"]["to"]["plants"] == 650
    assert hist[2]["actor"] == "pytest"

    # Reporting again marks nothing new and changes no target.
    store = run.store()
    before = full_snapshot(store)
    res = run("report", "district", "--batch", BATCH, "--out", str(report), "--json")
    assert json.loads(res.stdout)["marked"] == []
    assert full_snapshot(store)["targets"] == before["targets"]


def test_same_file_twice_changes_nothing(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    xlsx, ids, _ = _dispatch(run, tmp_path)
    filled = tmp_path / "filled.xlsx"
    fill(xlsx, filled, _answers_ok(ids))
    assert run("feedback", "import", str(filled)).exit_code == 0
    store = run.store()
    before = full_snapshot(store)
    res = run("feedback", "import", str(filled), "--json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["status"] == "already_imported"
    assert full_snapshot(store) == before
    # The same answers in another file (re-saved) change nothing either.
    again = tmp_path / "again.xlsx"
    fill(filled, again, {ids[1]: {"组": "（村里改过的表）"}})
    res = run("feedback", "import", str(again), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["status"] == "unchanged"
    assert full_snapshot(store) == before


def _bad_cases(ids: list[str], other: str) -> dict[str, dict[str, dict[str, Any]]]:
    ok = {"核查日期": dt.date(2024, 3, 8), "核查人员": "张三"}
    return {
        "unknown_target": {ids[0]: {**ok, "靶标编号": "NOPE-404", "核查结果": "排除"}},
        "other_village": {ids[0]: {**ok, "靶标编号": other, "核查结果": "排除"}},
        "bad_result": {ids[0]: {**ok, "核查结果": "也许有"}},
        "date_before_issue": {ids[0]: {**ok, "核查日期": dt.date(2024, 3, 1), "核查结果": "排除"}},
        "date_in_future": {ids[0]: {**ok, "核查日期": dt.date(2099, 1, 1), "核查结果": "排除"}},
        "bad_date": {ids[0]: {**ok, "核查日期": "上周三", "核查结果": "排除"}},
        "eradication_without_confirmed": {
            ids[0]: {**ok, "核查结果": "排除", "铲除日期": dt.date(2024, 3, 9)}
        },
        "bad_plants": {ids[0]: {**ok, "核查结果": "确认种植", "株数": "-5"}},
        "missing_person": {ids[0]: {"核查日期": dt.date(2024, 3, 8), "核查结果": "排除"}},
    }


@pytest.mark.parametrize(
    "code",
    [
        "unknown_target",
        "other_village",
        "bad_result",
        "date_before_issue",
        "date_in_future",
        "bad_date",
        "eradication_without_confirmed",
        "bad_plants",
        "missing_person",
    ],
)
def test_each_bad_row_is_refused_and_nothing_written(run: Cli, tmp_path: Path, code: str) -> None:
    with_batch(run)
    xlsx, ids, doc = _dispatch(run, tmp_path)
    other_village = next(v for v in doc["villages"] if Path(v["xlsx"]) != xlsx)
    other = target_ids(Path(other_village["xlsx"]))[0]
    good = {ids[1]: {"核查日期": dt.date(2024, 3, 8), "核查人员": "张三", "核查结果": "排除"}}
    filled = tmp_path / "bad.xlsx"
    rows = fill(xlsx, filled, {**good, **_bad_cases(ids, other)[code]})
    store = run.store()
    before = full_snapshot(store)
    res = run("feedback", "import", str(filled), "--json")
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["status"] == "rejected"
    assert [(p["row"], p["code"]) for p in out["rejected"]] == [(rows[ids[0]], code)]
    assert f"第 {rows[ids[0]]} 行" in res.stderr
    assert "nothing was written" in res.stderr
    assert full_snapshot(store) == before


def test_supersede_needs_a_reason_and_keeps_history(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    xlsx, ids, _ = _dispatch(run, tmp_path)
    first = tmp_path / "first.xlsx"
    fill(
        xlsx,
        first,
        {ids[0]: {"核查日期": dt.date(2024, 3, 8), "核查人员": "张三", "核查结果": "排除"}},
    )
    assert run("feedback", "import", str(first)).exit_code == 0
    second = tmp_path / "second.xlsx"
    fill(
        xlsx,
        second,
        {
            ids[0]: {
                "核查日期": dt.date(2024, 3, 12),
                "核查人员": "王五",
                "核查结果": "确认种植",
                "株数": 40,
            }
        },
    )
    store = run.store()
    before = full_snapshot(store)
    res = run("feedback", "import", str(second), "--json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["rejected"][0]["code"] == "conflicting_result"
    # The command line names its own way to correct (the message itself is the web form's).
    assert "--supersede --reason" in res.stderr
    res = run("feedback", "import", str(second), "--supersede")
    assert res.exit_code == 1
    assert "--reason" in res.stderr
    assert full_snapshot(store) == before

    res = run("feedback", "import", str(second), "--supersede", "--reason", "复核发现误判")
    assert res.exit_code == 0, res.output
    targets = json.loads(run("targets", "list", "--batch", BATCH, "--json").stdout)
    assert next(x for x in targets if x["target_id"] == ids[0])["result"] == "confirmed"
    hist = json.loads(run("history", ids[0], "--json").stdout)["events"]
    assert [e["kind"] for e in hist] == ["issued", "dispatched", "verified", "superseded"]
    sup = hist[-1]["payload"]
    assert sup["reason"] == "复核发现误判"
    assert sup["from"]["result"] == "excluded"
    assert sup["from"]["verified_by"] == "张三"
    assert sup["to"]["result"] == "confirmed"
    assert sup["to"]["verified_by"] == "王五"


def test_feedback_set_one_target(run: Cli) -> None:
    with_batch(run)
    tid = "TL2024-03-005"
    res = run(
        "feedback",
        "set",
        tid,
        "--result",
        "确认种植",
        "--date",
        "2024-03-07",
        "--checked-by",
        "赵六",
        "--plants",
        "3200",
        "--json",
    )
    assert res.exit_code == 0, res.output
    change = json.loads(res.stdout)["changes"][0]
    assert change["to"] == {"status": "verified", "result": "confirmed"}
    assert change["threshold"] == "heavier"
    store = run.store()
    before = full_snapshot(store)
    # eradication date before the verification date: refused, nothing written
    res = run("feedback", "set", tid, "--result", "confirmed", "--eradicated", "2024-03-06")
    assert res.exit_code == 1
    assert "铲除日期" in res.stderr
    assert full_snapshot(store) == before
    # a later eradication: verified → eradicated, keeping the recorded date and person
    res = run(
        "feedback", "set", tid, "--result", "confirmed", "--eradicated", "2024-03-08", "--json"
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["changes"][0]["to"]["status"] == "eradicated"
    # reporting needs the case number of a threshold case
    before = full_snapshot(store)
    res = run("report", "district", "--batch", BATCH, "--out", str(run.ws.parent / "r.xlsx"))
    assert res.exit_code == 1
    assert tid in res.stderr and "案件编号" in res.stderr
    assert "核查反馈中打开该靶标" in res.stderr and "feedback set --case" in res.stderr
    assert not (run.ws.parent / "r.xlsx").exists()
    assert full_snapshot(store) == before
    assert run("feedback", "set", tid, "--result", "confirmed", "--case", "A-1").exit_code == 0
    res = run(
        "report", "district", "--batch", BATCH, "--out", str(run.ws.parent / "r.xlsx"), "--json"
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["marked"] == [tid]


def test_feedback_set_if_version_refuses_a_stale_answer(run: Cli) -> None:
    """``--if-version`` writes only while the target is at the version the user read; after
    another change it is refused with a clear message and nothing is written."""
    with_batch(run)
    tid = "TL2024-03-005"
    shown = run("targets", "show", tid, "--json")
    assert shown.exit_code == 0, shown.output
    version = json.loads(shown.stdout)["version"]
    answer = ["feedback", "set", tid, "--result", "排除", "--date", "2024-03-07"]
    answer += ["--checked-by", "赵六", "--remarks", "油菜", "--if-version", str(version), "--json"]
    res = run(*answer)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["changes"][0]["to"]["result"] == "excluded"
    store = run.store()
    before = full_snapshot(store)
    # The same answer again, typed from the old listing: the target has moved on.
    stale = ["feedback", "set", tid, "--result", "未发现", "--date", "2024-03-08"]
    res = run(*stale, "--supersede", "--reason", "复核", "--if-version", str(version))
    assert res.exit_code == 1
    assert tid in res.stderr and "Traceback" not in res.stderr
    assert full_snapshot(store) == before
    # At the version `targets show` gives now, the correction goes through.
    now = json.loads(run("targets", "show", tid, "--json").stdout)["version"]
    assert now > version
    # A version the target never had (a typo) is said as such, not as a change by another.
    res = run(*stale, "--supersede", "--reason", "复核", "--if-version", str(now + 90))
    assert res.exit_code == 1
    assert f"没有版本 {now + 90}（现在是版本 {now}）" in res.stderr
    assert "在您打开后已被修改" not in res.stderr
    assert full_snapshot(store) == before
    res = run(*stale, "--supersede", "--reason", "复核", "--if-version", str(now))
    assert res.exit_code == 0, res.output
