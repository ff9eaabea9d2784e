"""Printing defects found on paper: row heights from what a cell shows, titles that wrap, dates
clear of the next column, no rate for the targets outside the town, a readable district list,
page numbers in the DOCX table. Each test reads back the written file (openpyxl, python-docx);
the ``libreoffice`` ones print it and measure the text on the page."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn

from geoverify.documents.district import DISTRICT_HEADERS, write_district_report
from geoverify.documents.monthly import write_monthly_docx, write_monthly_xlsx, write_town_summary
from geoverify.documents.xlsx import new_workbook, shown_text, write_sheet
from geoverify.patrols import Patrol, monthly_summary
from geoverify.progress import OUTSIDE_LABEL, TOWN_LABEL, status_summary
from tests.conftest import header_texts
from tests.office import libreoffice_convert

# --- xlsx: what a cell shows -------------------------------------------------------------------


def test_shown_text_applies_the_number_format() -> None:
    assert shown_text(2 / 3, "0.0%") == "66.7%"
    assert shown_text(0.0, "0.0%") == "0.0%"
    assert shown_text(106.0312346, "0.000000") == "106.031235"
    assert shown_text(1234.5, "#,##0.0") == "1,234.5"
    assert shown_text(2 / 3) == "0.6666666667"  # General: about ten digits, as Excel
    assert shown_text(7) == "7" and shown_text("=x") == "=x" and shown_text(None) is None
    assert shown_text(dt.date(2024, 3, 5), "yyyy-mm-dd") == "2024-03-05"
    assert shown_text(dt.datetime(2024, 3, 5, 8, 30), "yyyy-mm-dd hh:mm") == "2024-03-05 08:30"


def test_wrapped_rows_are_sized_by_the_shown_number(tmp_path: Path) -> None:
    """A rate like 0.6666666666666666 shown as 66.7% does not make its row four lines tall."""
    wb = new_workbook()
    ws = wb.create_sheet("汇总")
    header_row = write_sheet(
        ws,
        ["村（社区）", "核查率"],
        [["福果社区", 2 / 3], ["青龙村", 0.6], ["石桥村", 0.0]],
        widths={"村（社区）": 12, "核查率": 7},
        wrap=["村（社区）", "核查率"],
        number_formats={"核查率": "0.0%"},
    )
    wb.save(tmp_path / "t.xlsx")
    ws2 = openpyxl.load_workbook(tmp_path / "t.xlsx")["汇总"]
    heights = [ws2.row_dimensions[r].height for r in range(header_row + 1, header_row + 4)]
    assert heights == [18.0, 18.0, 18.0]
    assert ws2.cell(header_row + 1, 2).value == pytest.approx(2 / 3)  # the value stays exact


def test_auto_width_follows_the_shown_number(tmp_path: Path) -> None:
    wb = new_workbook()
    ws = wb.create_sheet("x")
    write_sheet(ws, ["率"], [[1 / 3]], number_formats={"率": "0.0%"})
    assert ws.column_dimensions["A"].width < 10  # "33.3%", not "0.3333333333333333"


def test_a_title_wider_than_the_table_gets_the_lines_it_needs(tmp_path: Path) -> None:
    title = "2024年3月未报送踏查情况统计表的村（社区）（截止3月25日）"
    wb = new_workbook()
    ws = wb.create_sheet("x")
    write_sheet(ws, ["村（社区）", "状态"], [["石桥村", "未报送"]], title=title, subtitle="说明")
    short = wb.create_sheet("y")
    write_sheet(short, ["村（社区）", "状态"], [["石桥村", "未报送"]], title="短标题")
    wb.save(tmp_path / "t.xlsx")
    wb2 = openpyxl.load_workbook(tmp_path / "t.xlsx")
    ws2 = wb2["x"]
    width = sum(ws2.column_dimensions[c].width for c in "AB")
    lines = -(-(len(title) * 2 * 14 / 11) // width)  # CJK counts 2; 14 pt title
    assert lines >= 3
    assert ws2.row_dimensions[1].height >= lines * 14 * 1.3  # every line shows
    assert ws2["A1"].alignment.wrap_text
    assert ws2.row_dimensions[2].height == 20  # the one-line subtitle keeps its height
    assert wb2["y"].row_dimensions[1].height == 28  # a one-line title too


def test_dates_are_centred(tmp_path: Path) -> None:
    """Right-aligned dates ran into the left-aligned names of the next column."""
    wb = new_workbook()
    ws = wb.create_sheet("x")
    write_sheet(ws, ["序号", "日期", "人员"], [[1, dt.date(2024, 3, 12), "王建国"]])
    wb.save(tmp_path / "t.xlsx")
    ws2 = openpyxl.load_workbook(tmp_path / "t.xlsx")["x"]
    assert ws2["B2"].alignment.horizontal == "center"
    assert ws2["A2"].alignment.horizontal is None  # numbers stay right (general)
    assert ws2["C2"].alignment.horizontal is None  # text stays left (general)


def test_named_columns_are_centred(tmp_path: Path) -> None:
    wb = new_workbook()
    ws = wb.create_sheet("x")
    write_sheet(
        ws,
        ["序号", "靶标编号", "备注"],
        [[1, "T1", "长备注"]],
        centre=["序号", "备注"],
        wrap=["备注"],
    )
    wb.save(tmp_path / "t.xlsx")
    ws2 = openpyxl.load_workbook(tmp_path / "t.xlsx")["x"]
    assert ws2["A2"].alignment.horizontal == "center"  # 序号 clear of 靶标编号
    assert ws2["B2"].alignment.horizontal is None
    assert ws2["C2"].alignment.horizontal == "center" and ws2["C2"].alignment.wrap_text


# --- district report ---------------------------------------------------------------------------


def _target(tid: str, village: str | None, code: str | None, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "pk": 1, "target_id": tid, "batch": "2024-03", "village": village, "village_code": code,
        "group": "一组" if village else None, "lon": 106.0312346, "lat": 29.8412346,
        "status": "dispatched", "result": None, "issued_on": dt.date(2024, 3, 1),
        "due_on": dt.date(2024, 3, 20), "verified_on": None, "verified_by": None,
        "plants": None, "eradicated_area_m2": None, "eradicated_on": None, "case_no": None,
        "remarks": None,
    }  # fmt: skip
    rec.update(kw)
    return rec


def _district_frame() -> pd.DataFrame:
    checked = {
        "status": "verified",
        "result": "excluded",
        "verified_on": dt.date(2024, 3, 10),
        "verified_by": "村禁毒专干",
    }
    return pd.DataFrame(
        [
            _target("T1", "福果社区", "001", **checked),
            _target("T2", "福果社区", "001", **checked),
            _target("T3", "福果社区", "001"),  # 核查率 2/3
            _target("T4", "青龙村", "002", **checked),
            _target("T5", "青龙村", "002"),
            _target("T6", None, None),  # outside the town
            _target("T7", None, None),
        ]
    )


def _district_report(tmp_path: Path) -> Path:
    frame = _district_frame()
    summary = status_summary(frame, as_of=dt.date(2024, 3, 25))
    return write_district_report(
        tmp_path / "district.xlsx", frame, batch="2024-03", summary=summary, town="福果镇"
    )


def test_summary_rows_are_sized_by_the_shown_rates(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(_district_report(tmp_path))["汇总"]
    body = range(4, ws.max_row + 1)
    labels = {r: ws.cell(r, 2).value for r in body if ws.cell(r, 2).value}
    assert list(labels.values()) == ["福果社区", "青龙村", TOWN_LABEL, OUTSIDE_LABEL]
    rate = header_texts(ws[3]).index("核查率") + 1
    assert ws.cell(4, rate).value == pytest.approx(2 / 3)  # the unrounded rate is kept
    heights = [ws.row_dimensions[r].height for r in labels]
    assert max(heights) <= 20, heights  # one line each (63 pt before)


def test_outside_row_has_no_rates(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(_district_report(tmp_path))["汇总"]
    header = header_texts(ws[3])
    row = next(r for r in ws.iter_rows(min_row=4) if r[1].value == OUTSIDE_LABEL)
    for name in ("核查率", "吻合率"):
        cell = row[header.index(name)]
        assert cell.value == "—" and cell.alignment.horizontal == "center"
    town = next(r for r in ws.iter_rows(min_row=4) if r[1].value == TOWN_LABEL)
    assert town[header.index("核查率")].value == pytest.approx(3 / 5)  # the town is rated


def test_feedback_list_fits_one_landscape_page_wide_at_a_readable_scale(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(_district_report(tmp_path))["核查反馈"]
    assert header_texts(ws[3]) == list(DISTRICT_HEADERS)
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    width = sum(ws.column_dimensions[chr(65 + i)].width for i in range(len(DISTRICT_HEADERS)))
    # 181 units printed 11 pt at 6.7 pt; at most 160 prints at 8 pt or more
    assert width <= 160, width
    date = DISTRICT_HEADERS.index("核查日期") + 1
    assert ws.cell(4, date).alignment.horizontal == "center"


def _pdf(src: Path, out: Path) -> Path:
    return libreoffice_convert(src, out)[0]


def printed_sizes(pdf_path: Path) -> list[tuple[str, float]]:
    """(page text, median font size in points of its letters) of each page of a PDF."""
    pdfium = pytest.importorskip("pypdfium2")
    raw = pytest.importorskip("pypdfium2.raw")
    pdf = pdfium.PdfDocument(str(pdf_path))
    out = []
    for i in range(len(pdf)):
        text = pdf[i].get_textpage()
        n = raw.FPDFText_CountChars(text.raw)
        sizes = [
            raw.FPDFText_GetFontSize(text.raw, k)
            for k in range(n)
            if chr(raw.FPDFText_GetUnicode(text.raw, k)).strip()
        ]
        out.append((text.get_text_range(), statistics.median(sizes) if sizes else 0.0))
    pdf.close()
    return out


@pytest.mark.libreoffice
def test_feedback_list_prints_at_8_pt_or_more(tmp_path: Path) -> None:
    frame = pd.concat([_district_frame()] * 6, ignore_index=True)
    frame["target_id"] = [f"TL2024-03-{i:03d}" for i in range(1, len(frame) + 1)]
    summary = status_summary(frame, as_of=dt.date(2024, 3, 25))
    path = write_district_report(
        tmp_path / "d.xlsx", frame, batch="2024-03", summary=summary, town="福果镇"
    )
    wb = openpyxl.load_workbook(path)
    for name in ("汇总", "镇外靶标"):  # print the list only
        wb.remove(wb[name])
    wb.save(path)
    pages = printed_sizes(_pdf(path, tmp_path))
    assert pages
    for text, size in pages:
        assert "备注" in text  # one page wide
        assert size >= 8.0, size  # 6.7 pt before


# --- monthly tables ----------------------------------------------------------------------------


def _patrols() -> list[Patrol]:
    return [
        Patrol("龙泉村", dt.date(2024, 3, 12), "V1", "四组", "王建国、周国平", "未发现异常"),
    ]


def test_monthly_xlsx_dates_are_centred(tmp_path: Path) -> None:
    path = write_monthly_xlsx(tmp_path / "m.xlsx", "龙泉村", _patrols(), year=2024, month=3)
    ws = openpyxl.load_workbook(path).active
    assert ws["C2"].value == "踏查时间" and ws["C3"].value == dt.datetime(2024, 3, 12)
    assert ws["C3"].alignment.horizontal == "center"  # clear of 踏查人员's 王建国


def test_monthly_docx_footer_numbers_the_pages(tmp_path: Path) -> None:
    path = write_monthly_docx(tmp_path / "m.docx", "龙泉村", _patrols(), year=2024, month=3)
    footer = Document(str(path)).sections[0].footer
    assert not footer.is_linked_to_previous
    xml = footer._element
    codes = [t.text.strip() for t in xml.iter(qn("w:instrText"))]
    assert codes == ["PAGE", "NUMPAGES"]
    kinds = [f.get(qn("w:fldCharType")) for f in xml.iter(qn("w:fldChar"))]
    assert kinds == ["begin", "separate", "end"] * 2
    text = "".join(t.text for t in xml.iter(qn("w:t")))
    assert text == "第 1 页，共 1 页"  # field results shown until the fields are updated


@pytest.mark.libreoffice
def test_monthly_docx_prints_its_page_number(tmp_path: Path) -> None:
    path = write_monthly_docx(tmp_path / "m.docx", "龙泉村", _patrols(), year=2024, month=3)
    ((text, _),) = printed_sizes(_pdf(path, tmp_path))
    assert "第1页，共1页" in "".join(text.split())


def test_not_reported_title_is_shown_whole(tmp_path: Path) -> None:
    villages = pd.DataFrame({"code": ["V1", "V2"], "name": ["龙泉村", "石桥村"]})
    summary = monthly_summary(_patrols(), villages, year=2024, month=3)
    path = write_town_summary(tmp_path / "s.xlsx", summary)
    ws = openpyxl.load_workbook(path)["未报送"]
    title = ws["A1"].value
    assert "截止3月25日" in title and ws["A3"].value == "石桥村"
    width = sum(ws.column_dimensions[c].width for c in "ABC")
    lines = -(-(sum(2 if ord(ch) > 0x2E80 else 1 for ch in title) * 14 / 11) // (width - 1.5))
    assert ws.row_dimensions[1].height >= lines * 14 * 1.3, (lines, width)
    assert ws.row_dimensions[1].height > 28  # one 14 pt line only, before
