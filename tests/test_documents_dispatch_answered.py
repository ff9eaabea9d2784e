"""Dispatching again after feedback: answered targets show their recorded answer, marked as
answered, and the workbook returned unchanged imports as "nothing new" (SQLite and PostGIS)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import openpyxl

from geoverify.documents.dispatch import FEEDBACK_HEADERS, FILL_COLOUR
from tests.cli.feedback_helpers import BATCH, fill, full_snapshot, target_ids, with_batch
from tests.conftest import Cli, header_texts

VILLAGE = "青龙村"
DAY = dt.date(2024, 3, 10)
#: The column that says whether a target is answered, and the grey of recorded answers.
STATE_HEADER = "反馈状态"
ANSWERED_COLOUR = "E7E6E6"


def _dispatch(run: Cli, out: Path) -> Path:
    res = run("dispatch", "--batch", BATCH, "--out", str(out), "--village", VILLAGE, "--json")
    assert res.exit_code == 0, res.output
    return Path(json.loads(res.stdout)["villages"][0]["xlsx"])


def _import(run: Cli, path: Path) -> dict[str, Any]:
    res = run("feedback", "import", str(path), "--json")
    assert res.exit_code == 0, res.output
    return dict(json.loads(res.stdout))


def _rows(path: Path) -> tuple[Any, dict[str, int], dict[str, dict[str, Any]]]:
    """The list sheet, each header's column and each target's cells by header."""
    ws = openpyxl.load_workbook(path)["核查清单"]
    header_row = next(r for r in range(1, 8) if ws.cell(r, 1).value == "序号")
    col = {str(h): c for c, h in enumerate(header_texts(ws[header_row]), start=1)}
    rows = {}
    for r in range(header_row + 1, ws.max_row + 1):
        tid = ws.cell(r, col["靶标编号"]).value
        if tid:
            rows[str(tid)] = {"_row": r} | {h: ws.cell(r, c).value for h, c in col.items()}
    return ws, col, rows


def _day(v: Any) -> Any:
    return v.date() if isinstance(v, dt.datetime) else v


def test_answered_targets_are_shown_and_the_workbook_imports_unchanged(
    run: Cli, tmp_path: Path
) -> None:
    with_batch(run)
    first = _dispatch(run, tmp_path / "first")
    ids = target_ids(first)
    assert len(ids) >= 4
    confirmed, excluded, not_found, *open_ids = ids
    filled = tmp_path / "filled.xlsx"
    fill(
        first,
        filled,
        {
            # confirmed, not yet eradicated: the eradication is still to be filled
            confirmed: {"核查日期": DAY, "核查人员": "张三、李四", "核查结果": "确认种植",
                        "株数": 40, "铲除面积（平方米）": 12.25, "案件编号": "=1+2"},
            excluded: {"核查日期": DAY, "核查人员": "王五", "核查结果": "排除",
                       "排除：实际为": "油菜等农作物", "备注": "花色偏黄"},
            not_found: {"核查日期": "2024/3/11", "核查人员": "王五", "核查结果": "未发现"},
        },
    )  # fmt: skip
    assert _import(run, filled)["changed"] == 3

    again = _dispatch(run, tmp_path / "again")
    ws, col, rows = _rows(again)
    # each answered target shows its recorded answer, marked as answered
    assert rows[confirmed][STATE_HEADER] == "已反馈，待填铲除"
    got = {h: _day(rows[confirmed][h]) for h in FEEDBACK_HEADERS}
    assert got == {
        "核查日期": DAY, "核查人员": "张三、李四", "核查结果": "确认种植", "排除：实际为": None,
        "株数": 40, "铲除面积（平方米）": 12.25, "铲除日期": None, "案件编号": "=1+2",
        "备注": None,
    }  # fmt: skip
    case = ws.cell(rows[confirmed]["_row"], col["案件编号"])
    assert case.data_type == "s"  # recorded text stays text
    assert rows[excluded][STATE_HEADER] == "已反馈，无需重填"
    assert (rows[excluded]["核查结果"], rows[excluded]["排除：实际为"], rows[excluded]["备注"]) == (
        "排除", "油菜等农作物", "花色偏黄"
    )  # fmt: skip
    assert (rows[not_found]["核查结果"], _day(rows[not_found]["核查日期"])) == (
        "未发现", dt.date(2024, 3, 11)
    )  # fmt: skip
    for tid in open_ids:  # the others are still to do, with empty fill-in cells
        assert rows[tid][STATE_HEADER] == "待核查"
        assert all(rows[tid][h] is None for h in FEEDBACK_HEADERS)

    # answered cells are shaded grey, the cells still to fill yellow
    def colour(tid: str, h: str) -> str:
        return str(ws.cell(rows[tid]["_row"], col[h]).fill.fgColor.rgb)

    assert colour(excluded, "核查日期").endswith(ANSWERED_COLOUR)
    assert colour(confirmed, "核查结果").endswith(ANSWERED_COLOUR)
    assert colour(confirmed, "铲除日期").endswith(FILL_COLOUR)
    assert colour(open_ids[0], "核查日期").endswith(FILL_COLOUR)
    note = ws["A2"].value
    assert "灰色为已反馈的 3 个靶标" in note and "无需重填" in note

    # the workbook returned unchanged: accepted, nothing changes
    store = run.store()
    before = full_snapshot(store)
    doc = _import(run, again)
    assert (doc["status"], doc["changed"]) == ("unchanged", 0)
    assert full_snapshot(store) == before

    # the eradication written into the pre-filled row is a new answer, not a conflict
    done = tmp_path / "eradicated.xlsx"
    fill(again, done, {confirmed: {"铲除日期": dt.date(2024, 3, 12)}})
    doc = _import(run, done)
    assert doc["changed"] == 1
    (change,) = doc["changes"]
    assert change["target_id"] == confirmed and change["to"]["status"] == "eradicated"


def test_printable_page_shows_the_recorded_answers(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    first = _dispatch(run, tmp_path / "first")
    tid, *_ = target_ids(first)
    filled = tmp_path / "filled.xlsx"
    answer = {"核查日期": DAY, "核查人员": "张三", "核查结果": "确认种植", "株数": 7,
              "铲除面积（平方米）": 3.0, "铲除日期": DAY}  # fmt: skip
    fill(first, filled, {tid: answer})
    _import(run, filled)
    again = _dispatch(run, tmp_path / "again")
    page = again.with_suffix(".html").read_text(encoding="utf-8")
    (line,) = [ln for ln in page.splitlines() if f">{tid}<" in ln]
    assert line.startswith('<tbody class="t done')  # marked as answered
    text = re.sub(r"<[^>]+>", " ", line)
    for part in ("已反馈，无需重填", "2024-03-10", "张三", "确认种植", "3.0"):
        assert part in text, part
    assert page.count('<div class="box state">待核查</div>') == len(target_ids(first)) - 1
    assert "其中已反馈 1 个，无需重填" in page
