"""Cell-by-cell tests of the monthly patrol table (XLSX, DOCX) and the town summary."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest
from docx import Document
from docx.shared import Cm

from geoverify.documents.monthly import (
    MONTHLY_HEADERS,
    PLAN_ROWS,
    SIGNATURE_LINE,
    SUMMARY_HEADERS,
    monthly_title,
    title_font_pt,
    write_monthly_docx,
    write_monthly_tables,
    write_monthly_xlsx,
    write_town_summary,
)
from geoverify.patrols import Patrol, monthly_summary
from tests.conftest import header_texts
from tests.office import libreoffice_convert

TITLE = "2024年重庆市铜梁区福果镇青龙村禁种铲毒工作踏查情况3月统计表"


def _patrols() -> list[Patrol]:
    return [
        Patrol(
            "青龙村",
            dt.date(2024, 3, 14),
            "V1",
            "二组",
            "王五",
            "发现罂粟3株，已铲除",
            "已报派出所",
        ),
        Patrol("青龙村", dt.date(2024, 3, 12), "V1", "五组", "孙晓燕、赵永华", "未发现异常"),
        Patrol("青龙村", dt.date(2024, 4, 2), "V1", "一组", "孙八", "未发现异常"),  # April
        Patrol("石桥村", dt.date(2024, 3, 12), "V2", "一组", "=cmd|' /C calc'!A0", "未发现异常"),
    ]


EXPECTED_ROWS = [
    ["青龙村", "五组", dt.date(2024, 3, 12), "孙晓燕、赵永华", "未发现异常", None],
    ["青龙村", "二组", dt.date(2024, 3, 14), "王五", "发现罂粟3株，已铲除", "已报派出所"],
]


def test_title():
    assert monthly_title(2024, 3, "青龙村") == TITLE
    assert SIGNATURE_LINE.startswith("村（社区）书记签字：")
    assert "填报人：" in SIGNATURE_LINE and SIGNATURE_LINE.rstrip().endswith("填报时间：")


def test_xlsx_cell_by_cell(tmp_path):
    village = [p for p in _patrols() if p.village == "青龙村"]
    path = write_monthly_xlsx(tmp_path / "t.xlsx", "青龙村", village, year=2024, month=3)
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws.title == "3月"
    assert ws["A1"].value == TITLE
    assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert header_texts(ws.cell(row=2, column=c) for c in range(1, 7)) == list(MONTHLY_HEADERS)
    got = []
    for r in (3, 4):
        values = [ws.cell(row=r, column=c).value for c in range(1, 7)]
        values[2] = values[2].date() if isinstance(values[2], dt.datetime) else values[2]
        got.append(values)
    assert got == EXPECTED_ROWS
    assert ws.cell(row=3, column=3).number_format == "yyyy-mm-dd"
    # padded to the plan's 15 rows for handwriting, then an empty row, then the signature line
    assert PLAN_ROWS == 15
    for r in range(5, 18):
        assert all(ws.cell(row=r, column=c).value is None for c in range(1, 7))
        assert ws.cell(row=r, column=1).border.left.style == "thin"
        assert ws.row_dimensions[r].height >= 30  # room for handwriting
    assert all(ws.cell(row=18, column=c).value is None for c in range(1, 7))
    assert ws["A19"].value == SIGNATURE_LINE
    assert ws.max_row == 19
    assert ws.print_area == "'3月'!$A$1:$F$19"
    assert ws["D3"].alignment.wrap_text and ws["E4"].alignment.wrap_text
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws["A1"].font.name == "宋体" and ws["A3"].font.name == "宋体"


def test_xlsx_many_rows_and_formula_safety(tmp_path):
    many = [
        Patrol("石桥村", dt.date(2024, 3, d), "V2", "一组", "=cmd|' /C calc'!A0", "未发现异常")
        for d in range(1, 9)
    ]
    path = write_monthly_xlsx(tmp_path / "m.xlsx", "石桥村", many, year=2024, month=3)
    ws = openpyxl.load_workbook(path).active
    assert ws.cell(row=10, column=3).value.date() == dt.date(2024, 3, 8)
    assert ws["A19"].value == SIGNATURE_LINE
    people = ws.cell(row=3, column=4)
    assert people.data_type == "s"  # stored as text, never as a formula


def test_xlsx_wrapped_rows_get_their_height(tmp_path):
    long = "发现疑似罂粟 1 处，已拍照并报告镇平安办，派出所已到场固定证据，现场已铲除并拍照留存"
    patrols = [
        Patrol("龙泉村", dt.date(2024, 3, d), "V2", "四组", "王建国、周国平、刘玉兰", f)
        for d, f in ((1, "未发现异常"), (2, long))
    ] + [Patrol("龙泉村", dt.date(2024, 3, 3), "V2", "四组", "、".join(["张三"] * 30), "无")]
    path = write_monthly_xlsx(tmp_path / "w.xlsx", "龙泉村", patrols, year=2024, month=3)
    ws = openpyxl.load_workbook(path).active
    short, wrapped, names = (ws.row_dimensions[r].height for r in (3, 4, 5))
    width = ws.column_dimensions["E"].width
    lines = -(-sum(2 for _ in long.replace(" ", "")) // int(width - 1.5))  # CJK counts 2
    assert wrapped >= lines * 15 > short
    assert names > short  # thirty names wrap too


def test_docx_cell_by_cell(tmp_path):
    village = [p for p in _patrols() if p.village == "青龙村"]
    path = write_monthly_docx(tmp_path / "t.docx", "青龙村", village, year=2024, month=3)
    doc = Document(str(path))
    texts = [p.text for p in doc.paragraphs if p.text.strip()]
    assert texts[0] == TITLE
    assert texts[-1] == SIGNATURE_LINE
    assert len(doc.tables) == 1
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == list(MONTHLY_HEADERS)
    assert [c.text for c in table.rows[1].cells] == [
        "青龙村",
        "五组",
        "2024-03-12",
        "孙晓燕、赵永华",
        "未发现异常",
        "",
    ]
    assert [c.text for c in table.rows[2].cells] == [
        "青龙村",
        "二组",
        "2024-03-14",
        "王五",
        "发现罂粟3株，已铲除",
        "已报派出所",
    ]
    assert len(table.rows) == 16  # header + the plan's 15 (two patrols, thirteen blank)
    assert all(c.text == "" for c in table.rows[15].cells)
    # the signature comes after the table in the body and is kept with its last rows
    body = list(doc.element.body.iterchildren())
    assert body.index(table._tbl) < len(body) - 2
    last_rows = [table.rows[i].cells[0].paragraphs[0] for i in (14, 15)]
    assert all(p.paragraph_format.keep_with_next for p in last_rows)
    assert not table.rows[3].cells[0].paragraphs[0].paragraph_format.keep_with_next
    ns = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    # fixed column widths that add up to the 17 cm between the margins
    grid = [int(c.get(f"{ns}w")) for c in table._tbl.tblGrid.findall(f"{ns}gridCol")]
    assert abs(sum(grid) - Cm(17).twips) < 30 and min(grid) >= Cm(1.3).twips
    assert table._tbl.tblPr.find(f"{ns}tblLayout").get(f"{ns}type") == "fixed"
    # rows at least 1.1 cm (handwriting), never split; the header repeats on every page
    assert all(r.height >= Cm(1.1) for r in table.rows[1:])
    assert table.rows[0]._tr.trPr.find(f"{ns}tblHeader") is not None
    assert all(r._tr.trPr.find(f"{ns}cantSplit") is not None for r in table.rows)
    section = doc.sections[0]
    assert abs(section.page_width - Cm(21.0)) < Cm(0.01)
    assert abs(section.page_height - Cm(29.7)) < Cm(0.01)
    run = doc.paragraphs[0].runs[0]
    assert run.font.name == "宋体"
    assert run.font.size.pt == title_font_pt(TITLE) <= 16
    # the title fits one line between the margins
    units = sum(1 for ch in TITLE if ord(ch) > 0x2E80) + 0.55 * sum(
        1 for ch in TITLE if ord(ch) <= 0x2E80
    )
    assert units * run.font.size.pt <= 17 / 2.54 * 72
    assert (
        run._element.rPr.rFonts.get(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia"
        )
        == "宋体"
    )


def _villages() -> pd.DataFrame:
    return pd.DataFrame({"code": ["V1", "V2", "V3"], "name": ["青龙村", "石桥村", "福果社区"]})


def test_tables_for_every_village(tmp_path):
    files = write_monthly_tables(tmp_path / "out", _patrols(), _villages(), year=2024, month=3)
    names = [f.name for f in files]
    assert names == [
        "2024年3月_青龙村_踏查情况统计表.xlsx",
        "2024年3月_青龙村_踏查情况统计表.docx",
        "2024年3月_石桥村_踏查情况统计表.xlsx",
        "2024年3月_石桥村_踏查情况统计表.docx",
        "2024年3月_福果社区_踏查情况统计表.xlsx",
        "2024年3月_福果社区_踏查情况统计表.docx",
    ]
    idle = openpyxl.load_workbook(files[4]).active
    assert idle["A1"].value == "2024年重庆市铜梁区福果镇福果社区禁种铲毒工作踏查情况3月统计表"
    assert all(idle.cell(row=3, column=c).value is None for c in range(1, 7))
    assert idle["A19"].value == SIGNATURE_LINE
    q = openpyxl.load_workbook(files[0]).active
    assert q["A3"].value == "青龙村" and q["A5"].value is None  # April's patrol left out


def test_town_summary(tmp_path):
    cov = pd.DataFrame({"code": ["V1", "V2", "V3"], "covered_pct": [12.345, 0.0, None]})
    summary = monthly_summary(
        _patrols(),
        _villages(),
        year=2024,
        month=3,
        coverage=cov,
        received={"V1": dt.date(2024, 3, 20)},  # 石桥村: records but no received date
    )
    summary.totals["covered_pct"] = 4.16
    path = write_town_summary(tmp_path / "s.xlsx", summary)
    wb = openpyxl.load_workbook(path)
    ws = wb["汇总"]
    assert ws["A1"].value == "2024年重庆市铜梁区福果镇禁种铲毒踏查情况3月汇总表"
    assert "报送截止日期：2024-03-25" in ws["A2"].value
    assert header_texts(ws.cell(row=3, column=c) for c in range(1, 10)) == list(SUMMARY_HEADERS)
    rows = [[ws.cell(row=r, column=c).value for c in range(1, 10)] for r in range(4, 8)]
    assert rows == [
        ["青龙村", 2, 0, 2, 3, 1, 12.3, "已报送", dt.datetime(2024, 3, 20)],
        # "=cmd|' /C calc'!A0" splits on spaces; no received date: not late, 未记录
        ["石桥村", 1, 0, 1, 3, 0, 0.0, "报送日期未记录", "未记录"],
        ["福果社区", 0, 0, 0, 0, 0, None, "未报送", None],
        # the town's coverage; the total counts villages as the rows above name them
        ["合计", 3, 0, 3, 6, 1, 4.2, "有记录 2/3\n已报送 1\n报送日期未记录 1", None],
    ]
    missing = wb["未报送"]
    assert "截止3月25日" in missing["A1"].value
    assert missing["A3"].value == "福果社区"
    assert missing["B3"].value.date() == dt.date(2024, 3, 25)
    assert missing["A4"].value is None


def test_town_summary_total_when_all_on_time(tmp_path):
    on_time = {c: dt.date(2024, 3, 20) for c in _villages()["code"]}
    summary = monthly_summary(_patrols(), _villages(), year=2024, month=3, received=on_time)
    ws = openpyxl.load_workbook(write_town_summary(tmp_path / "s.xlsx", summary))["汇总"]
    total = next(r for r in ws.iter_rows(values_only=True) if r[0] == "合计")
    reported = sum(r[7] == "已报送" for r in ws.iter_rows(values_only=True))
    assert total[7] == f"已报送 {reported}/{len(_villages())}"


@pytest.mark.libreoffice
def test_libreoffice_converts_to_pdf(tmp_path):
    files = write_monthly_tables(tmp_path / "out", _patrols(), _villages()[:1], year=2024, month=3)
    cov = pd.DataFrame({"code": ["V1"], "covered_pct": [5.0]})
    summary = monthly_summary(_patrols(), _villages()[:1], year=2024, month=3, coverage=cov)
    files.append(write_town_summary(tmp_path / "out" / "汇总.xlsx", summary))
    pdf_dir = tmp_path / "pdf"
    pdf_dir.mkdir()
    for pdf in libreoffice_convert(files, pdf_dir):
        assert pdf.read_bytes()[:5] == b"%PDF-"
