"""Tests for the district report workbook."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from geoverify.documents.district import (
    DISTRICT_HEADERS,
    OUTSIDE_HEADERS,
    REJECTED_HEADERS,
    write_district_report,
)
from geoverify.progress import status_summary
from tests.conftest import header_texts


def _t(tid: str, village: str | None, status: str, result: str | None, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "pk": 1,
        "target_id": tid,
        "batch": "2024-03",
        "village": village,
        "village_code": None if village is None else {"福果村": "001", "玉峡村": "002"}[village],
        "group": "一组" if village else None,
        "lon": 106.0312346,
        "lat": 29.8412346,
        "status": status,
        "result": result,
        "issued_on": dt.date(2024, 3, 1),
        "due_on": dt.date(2024, 3, 20),
        "verified_on": None,
        "verified_by": None,
        "plants": None,
        "eradicated_area_m2": None,
        "eradicated_on": None,
        "case_no": None,
        "remarks": None,
    }
    if result:
        rec.update(verified_on=dt.date(2024, 3, 10), verified_by="张三")
    rec.update(kw)
    return rec


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            _t("T1", "福果村", "verified", "excluded", remarks="=油菜"),
            _t("T2", "福果村", "dispatched", None),
            _t("T3", "玉峡村", "eradicated", "confirmed", plants=3500, eradicated_area_m2=200.0,
               eradicated_on=dt.date(2024, 3, 11), case_no="铜公刑〔2024〕7号"),
            _t("T4", "玉峡村", "eradicated", "confirmed", plants=40, eradicated_area_m2=10.0,
               eradicated_on=dt.date(2024, 3, 12)),
            _t("T5", None, "verified", "outside"),
        ]
    )  # fmt: skip


def test_district_report_cells(tmp_path: Path) -> None:
    frame = _frame()
    as_of = dt.date(2024, 3, 25)
    summary = status_summary(frame, as_of=as_of)
    path = write_district_report(
        tmp_path / "district.xlsx",
        frame,
        batch="2024-03",
        summary=summary,
        town="福果镇",
        as_of=as_of,
        reviewer="李主任",
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["核查反馈", "汇总", "镇外靶标"]
    ws = wb["核查反馈"]
    assert ws["A1"].value == "福果镇疑似靶标核查情况反馈表（批次 2024-03）"
    sub = ws["A2"].value
    assert "填报单位：福果镇平安办" in sub and "统计截至 2024-03-25" in sub
    assert "本镇靶标 4 个" in sub and "镇外靶标 1 个" in sub
    assert tuple(header_texts(ws[3])) == DISTRICT_HEADERS
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4, max_row=7)]
    assert [r[1] for r in rows] == ["T3", "T1", "T2", "T4"]  # threshold case first; no T5
    assert rows[0] == [
        1, "T3", "玉峡村", "一组", 106.031235, 29.841235, "确认种植",
        dt.datetime(2024, 3, 10), "张三", 3500, 200.0, 0.3,
        dt.datetime(2024, 3, 11), "铜公刑〔2024〕7号", "数量较大（≥3000株）", "已铲除", None,
    ]  # fmt: skip
    assert rows[1][6] == "排除" and rows[1][16] == "=油菜"
    assert ws.cell(row=5, column=17).data_type == "s"
    assert rows[2][6] == "未核查" and rows[2][15] == "已派发" and rows[2][7] is None
    assert rows[3][14] is None and rows[3][11] == 0.015
    # under the table: unit (seal), who filled in, reviewer, date
    tail = [ws.cell(row=r, column=1).value for r in range(8, ws.max_row + 1)]
    tail = [t for t in tail if t]
    assert tail[0].startswith("填报单位（盖章）：福果镇平安办") and "审核人：李主任" in tail[0]
    assert "填报人：" in tail[0] and tail[1].startswith("填报日期：2024年3月25日")
    assert ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0

    s = wb["汇总"]
    assert s["A1"].value == "福果镇疑似靶标核查情况汇总（批次 2024-03）"
    assert "统计截至 2024-03-25" in s["A2"].value and "镇外靶标单列" in s["A2"].value
    header = header_texts(s[3])
    assert header[:4] == ["村（社区）代码", "村（社区）", "下发", "已派发"]
    assert header[-2:] == ["核查率", "吻合率"]
    body = {r[1]: r for r in s.iter_rows(min_row=4, max_row=7, values_only=True)}
    assert list(body) == ["玉峡村", "福果村", "全镇合计", "镇外，建议退回区禁毒办"]
    town = body["全镇合计"]
    assert town[2] == 4 and town[-2] == 0.75 and town[-1] == 0.5
    assert body["镇外，建议退回区禁毒办"][2] == 1
    assert s.cell(row=4, column=len(header)).number_format == "0.0%"

    o = wb["镇外靶标"]
    assert "建议退回区禁毒办" in o["A1"].value
    assert header_texts(o[3]) == list(OUTSIDE_HEADERS)
    assert [c.value for c in o[4]] == [
        1, "T5", 106.031235, 29.841235, None, "非本镇辖区", "镇外，建议退回区禁毒办"
    ]  # fmt: skip


def test_no_outside_sheet_without_outside_targets(tmp_path: Path) -> None:
    frame = _frame().iloc[:4]
    summary = status_summary(frame, as_of=dt.date(2024, 3, 25))
    path = write_district_report(tmp_path / "d.xlsx", frame, batch="B", summary=summary)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["核查反馈", "汇总"]
    assert "镇外" not in wb["核查反馈"]["A2"].value
    assert "审核人：　" in wb["核查反馈"].cell(row=9, column=1).value  # blank for ink


def test_empty_batch(tmp_path: Path) -> None:
    empty = pd.DataFrame(columns=list(_frame().columns))
    summary = status_summary(empty, as_of=dt.date(2024, 3, 25))
    path = write_district_report(tmp_path / "d.xlsx", empty, batch="B", summary=summary)
    ws = openpyxl.load_workbook(path)["核查反馈"]
    assert ws["A1"].value == "疑似靶标核查情况反馈表（批次 B）"
    assert ws.cell(row=3, column=2).value == "靶标编号"
    assert ws.cell(row=4, column=2).value is None


def test_far_outside_targets_and_refused_rows_go_back_with_their_reasons(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[frame["target_id"] == "T5", "distance_m"] = 1_477_606.0  # Beijing for Fuguo
    near = _t("T6", None, "dispatched", None, distance_m=850.0)
    frame = pd.concat([frame, pd.DataFrame([near])], ignore_index=True)
    refused = [
        {"row": 9, "target_id": "X9", "reason": "缺少坐标 (missing coordinates)"},
        {"row": 4, "target_id": "X4", "reason": "经度无法识别"},
        {"row": 4, "target_id": "X4", "reason": "纬度无法识别"},
    ]
    summary = status_summary(frame, as_of=dt.date(2024, 3, 25))
    path = write_district_report(
        tmp_path / "d.xlsx", frame, batch="B", summary=summary, rejected=refused
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["核查反馈", "汇总", "镇外靶标", "有误未导入"]
    assert "原表有误未导入 2 行，见“有误未导入”表" in wb["核查反馈"]["A2"].value
    o = wb["镇外靶标"]
    notes = {r[1]: r[-1] for r in o.iter_rows(min_row=4, max_row=5, values_only=True)}
    assert notes == {
        "T5": "距本镇超过 10 公里，多半是坐标录错或经纬度颠倒，请核对后退回",
        "T6": "镇外，建议退回区禁毒办",
    }
    r = wb["有误未导入"]
    assert "请核实后重新下发" in r["A1"].value
    assert header_texts(r[3]) == list(REJECTED_HEADERS)
    assert [list(x) for x in r.iter_rows(min_row=4, max_row=5, values_only=True)] == [
        [1, 4, "X4", "经度无法识别；纬度无法识别", "请核实后重新下发"],
        [2, 9, "X9", "缺少坐标", "请核实后重新下发"],
    ]
    assert r.print_title_rows == "$3:$3" and r.page_setup.orientation == "landscape"
