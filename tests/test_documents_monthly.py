"""Cell-by-cell tests of the monthly patrol table (XLSX, DOCX) and the town summary."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest
from docx import Document
from docx.shared import Cm

from geoverify.documents.monthly import (
    MONTHLY_HEADERS,
    SIGNATURE_LINE,
    SUMMARY_HEADERS,
    monthly_title,
    write_monthly_docx,
    write_monthly_tables,
    write_monthly_xlsx,
    write_town_summary,
)
from geoverify.patrols import Patrol, monthly_summary

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
    assert [ws.cell(row=2, column=c).value for c in range(1, 7)] == list(MONTHLY_HEADERS)
    got = []
    for r in (3, 4):
        values = [ws.cell(row=r, column=c).value for c in range(1, 7)]
        values[2] = values[2].date() if isinstance(values[2], dt.datetime) else values[2]
        got.append(values)
    assert got == EXPECTED_ROWS
    assert ws.cell(row=3, column=3).number_format == "yyyy-mm-dd"
    # padded to five rows for handwriting, then an empty row, then the signature line
    for r in (5, 6, 7):
        assert all(ws.cell(row=r, column=c).value is None for c in range(1, 7))
        assert ws.cell(row=r, column=1).border.left.style == "thin"
    assert all(ws.cell(row=8, column=c).value is None for c in range(1, 7))
    assert ws["A9"].value == SIGNATURE_LINE
    assert ws.max_row == 9
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
    assert ws["A12"].value == SIGNATURE_LINE
    people = ws.cell(row=3, column=4)
    assert people.data_type == "s"  # stored as text, never as a formula


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
    assert len(table.rows) == 6  # header + 5 (two patrols, three blank)
    assert all(c.text == "" for c in table.rows[5].cells)
    # the signature comes after the table in the body
    body = list(doc.element.body.iterchildren())
    assert body.index(table._tbl) < len(body) - 2
    section = doc.sections[0]
    assert abs(section.page_width - Cm(21.0)) < Cm(0.01)
    assert abs(section.page_height - Cm(29.7)) < Cm(0.01)
    run = doc.paragraphs[0].runs[0]
    assert run.font.name == "宋体"
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
    assert idle["A9"].value == SIGNATURE_LINE
    q = openpyxl.load_workbook(files[0]).active
    assert q["A3"].value == "青龙村" and q["A5"].value is None  # April's patrol left out


def test_town_summary(tmp_path):
    cov = pd.DataFrame({"code": ["V1", "V2", "V3"], "covered_pct": [12.345, 0.0, None]})
    summary = monthly_summary(_patrols(), _villages(), year=2024, month=3, coverage=cov)
    path = write_town_summary(tmp_path / "s.xlsx", summary)
    wb = openpyxl.load_workbook(path)
    ws = wb["汇总"]
    assert ws["A1"].value == "2024年重庆市铜梁区福果镇禁种铲毒踏查情况3月汇总表"
    assert [ws.cell(row=2, column=c).value for c in range(1, 9)] == list(SUMMARY_HEADERS)
    rows = [[ws.cell(row=r, column=c).value for c in range(1, 9)] for r in range(3, 7)]
    assert rows == [
        ["青龙村", 2, 0, 2, 3, 1, 12.3, "已报送"],
        ["石桥村", 1, 0, 1, 3, 0, 0.0, "已报送"],  # "=cmd|' /C calc'!A0" splits on spaces
        ["福果社区", 0, 0, 0, 0, 0, None, "未报送"],
        ["合计", 3, 0, 3, 6, 1, None, "已报送 2/3"],
    ]
    missing = wb["未报送"]
    assert "截止3月25日" in missing["A1"].value
    assert missing["A3"].value == "福果社区"
    assert missing["B3"].value.date() == dt.date(2024, 3, 25)
    assert missing["A4"].value is None


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_converts_to_pdf(tmp_path):
    files = write_monthly_tables(tmp_path / "out", _patrols(), _villages()[:1], year=2024, month=3)
    cov = pd.DataFrame({"code": ["V1"], "covered_pct": [5.0]})
    summary = monthly_summary(_patrols(), _villages()[:1], year=2024, month=3, coverage=cov)
    files.append(write_town_summary(tmp_path / "out" / "汇总.xlsx", summary))
    profile = (tmp_path / "lo-profile").as_uri()
    pdf_dir = tmp_path / "pdf"
    proc = subprocess.run(
        [
            "libreoffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(pdf_dir),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for f in files:
        pdf = pdf_dir / (f.stem + ".pdf")
        assert pdf.exists(), (f.name, proc.stdout, proc.stderr)
        assert pdf.read_bytes()[:5] == b"%PDF-"
