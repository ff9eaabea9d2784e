"""Tests for the formula-safe XLSX writer."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from geoverify.documents.xlsx import (
    ColumnGroup,
    Link,
    display_width,
    header_name,
    new_workbook,
    safe_cell_value,
    wrapped_height,
    write_sheet,
)
from tests.office import libreoffice_convert

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "@SUM(1)",
    "+1",
    "-2+3",
    "\t=1",
    "\r=1+1",
    "=1+1",
]


def _write_hostile(path: Path) -> None:
    wb = new_workbook()
    ws = wb.create_sheet("表")
    write_sheet(ws, ["编号", "值", "数"], [[i, v, -5] for i, v in enumerate(HOSTILE, start=1)])
    wb.save(path)


def test_hostile_strings_round_trip_as_text(tmp_path: Path) -> None:
    path = tmp_path / "hostile.xlsx"
    _write_hostile(path)
    wb = openpyxl.load_workbook(path)
    ws = wb["表"]
    for i, text in enumerate(HOSTILE, start=2):
        cell = ws.cell(row=i, column=2)
        assert cell.value == text
        assert cell.data_type == "s"
        number = ws.cell(row=i, column=3)
        assert number.value == -5
        assert number.data_type == "n"
    # No formula anywhere in the file's XML.
    import zipfile

    with zipfile.ZipFile(path) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_formula_like_cells_carry_quote_prefix(tmp_path: Path) -> None:
    path = tmp_path / "hostile.xlsx"
    _write_hostile(path)
    ws = openpyxl.load_workbook(path)["表"]
    assert ws.cell(row=2, column=2).quotePrefix is True
    assert not ws.cell(row=2, column=1).quotePrefix


@pytest.mark.libreoffice
def test_hostile_strings_stay_text_in_libreoffice(tmp_path: Path) -> None:
    path = tmp_path / "hostile.xlsx"
    _write_hostile(path)
    out = libreoffice_convert(path, tmp_path, "csv:Text - txt - csv (StarCalc):44,34,76")[0]
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["编号", "值", "数"]
    # A formula would have been evaluated: "y", "1", "1", "1", ...; text stays verbatim.
    assert [r[1] for r in rows[1:]] == HOSTILE
    assert [r[2] for r in rows[1:]] == ["-5"] * len(HOSTILE)


def test_safe_cell_value_types() -> None:
    assert safe_cell_value(3) == 3
    assert safe_cell_value(2.5) == 2.5
    assert safe_cell_value(float("nan")) is None
    assert safe_cell_value(None) is None
    assert safe_cell_value(True) == "是"
    assert safe_cell_value(dt.date(2024, 3, 1)) == dt.date(2024, 3, 1)
    aware = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
    assert safe_cell_value(aware) == dt.datetime(2024, 3, 1, 8, 0)
    assert safe_cell_value(["a"]) == "['a']"
    import numpy as np
    import pandas as pd

    assert safe_cell_value(np.int64(7)) == 7
    assert isinstance(safe_cell_value(np.int64(7)), int)
    assert safe_cell_value(pd.NA) is None
    assert safe_cell_value(pd.NaT) is None
    assert safe_cell_value(pd.Timestamp("2024-03-01 10:00")) == dt.datetime(2024, 3, 1, 10)


def test_display_width_counts_cjk_double() -> None:
    assert display_width("abc") == 3
    assert display_width("福果镇") == 6
    assert display_width("（全角）") == 8
    assert display_width(None) == 0


def test_write_sheet_layout(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    wb = new_workbook()
    ws = wb.create_sheet("派发")
    header_row = write_sheet(
        ws,
        ["序号", "村（社区）", "核查结果", "日期", "链接"],
        [
            [1, "福果村", None, dt.date(2024, 3, 15), Link("https://uri.amap.com/x", "高德")],
            [2, "=cmd", None, None, None],
        ],
        title="福果镇疑似靶标派发表",
        widths={"序号": 5},
        dropdowns={"核查结果": ["确认种植", "排除", "未发现", "非本镇辖区"]},
    )
    assert header_row == 2
    wb.save(path)
    ws2 = openpyxl.load_workbook(path)["派发"]
    assert ws2["A1"].value == "福果镇疑似靶标派发表"
    assert "A1:E1" in {str(r) for r in ws2.merged_cells.ranges}
    assert [c.value for c in ws2[2]] == ["序号", "村（社区）", "核查结果", "日期", "链接"]
    assert ws2["A2"].font.bold
    assert ws2["A2"].font.name == "宋体"
    assert ws2["B3"].value == "福果村"
    assert ws2["D3"].value == dt.datetime(2024, 3, 15)
    assert ws2["D3"].number_format == "yyyy-mm-dd"
    assert ws2["E3"].value == "高德"
    assert ws2["E3"].hyperlink.target == "https://uri.amap.com/x"
    assert ws2["B4"].value == "=cmd" and ws2["B4"].data_type == "s"
    assert ws2.freeze_panes == "A3"
    assert ws2.column_dimensions["A"].width == 5
    # "村（社区）" is 10 display units wide; its column is at least that.
    assert ws2.column_dimensions["B"].width >= 10
    dvs = ws2.data_validations.dataValidation
    assert len(dvs) == 1
    assert dvs[0].formula1 == '"确认种植,排除,未发现,非本镇辖区"'
    assert str(dvs[0].sqref).startswith("C3:C")
    assert ws2.page_setup.paperSize == 9  # A4
    setup = ws2.sheet_properties.pageSetUpPr
    assert setup is not None and setup.fitToPage
    assert ws2.print_title_rows == "$2:$2"


def test_column_groups_are_merged_page_by_page(tmp_path: Path) -> None:
    """A group running over a column page break is merged on each page, not across the break
    (LibreOffice printed such a cell as a band beyond the first page's table); beside the
    print-title columns, which repeat the first group's label, its continuation is unlabelled."""
    headers = ["序号", "编号", "经度", "纬度", "说明", "导航", "核查日期", "核查结果"]
    wb = new_workbook()
    ws = wb.create_sheet("派发")
    header_row = write_sheet(
        ws,
        headers,
        [[1, "T1", 106.0, 29.7, "", "高德", None, None]],
        groups=[
            ColumnGroup("区禁毒办下发信息", 6),
            ColumnGroup("村（社区）核查后填写", 2, "FFF2CC"),
        ],
        freeze_columns=2,
        print_scale=80,
        page_breaks_before=["说明", "核查日期"],
    )
    path = tmp_path / "t.xlsx"
    wb.save(path)
    ws2 = openpyxl.load_workbook(path)["派发"]
    group_row = header_row - 1
    merged = sorted(
        (r.min_col, r.max_col) for r in ws2.merged_cells.ranges if r.min_row == group_row
    )
    assert merged == [(1, 4), (5, 6), (7, 8)]
    breaks = [b.id for b in ws2.col_breaks.brk]
    for first, last in merged:
        assert not any(first <= b < last for b in breaks), (first, last, breaks)
    labels = [ws2.cell(row=group_row, column=c).value for c in (1, 5, 7)]
    assert labels == ["区禁毒办下发信息", None, "村（社区）核查后填写"]
    assert ws2.cell(row=group_row, column=5).fill.fgColor.rgb.endswith("DDEBF7")


def test_write_sheet_rejects_ragged_rows() -> None:
    ws = new_workbook().create_sheet("x")
    with pytest.raises(ValueError, match="row 2"):
        write_sheet(ws, ["a", "b"], [[1]])


def test_a_header_too_wide_breaks_before_its_bracketed_unit():
    """A header wider than the width a document gave its column goes to a second line at its
    bracket, not mid-unit or with a lone "）" (LibreOffice and Excel wrap CJK text anywhere);
    the header read back is the header written."""
    wb = openpyxl.Workbook()
    ws = wb.active
    headers = ["序号", "铲除面积（平方米）", "图斑面积（亩）", "距最近村界（米）", "面积（亩）"]
    rows = [[1, 12.5, 0.02, 120, 0.1], [2, 3.0, 0.1, 2774, 0.2]]
    widths = {"铲除面积（平方米）": 8, "图斑面积（亩）": 7, "距最近村界（米）": 8}
    write_sheet(ws, headers, rows, widths=widths)
    shown = [c.value for c in ws[1]]
    assert shown[0] == "序号" and shown[-1] == "面积（亩）"  # they fit: as written
    for text, header in zip(shown[1:4], headers[1:4], strict=True):
        head, _, unit = header.partition("（")
        assert text == f"{head}\n（{unit}", text
        assert header_name(text) == header
    assert [ws.column_dimensions[c].width for c in "BCD"] == [8, 7, 8]  # as chosen
    # the header row is tall enough for its two-line headers
    assert ws.row_dimensions[1].height >= wrapped_height(shown, [8.0] * 5)
