"""Monthly patrol table (踏查情况统计表) per village as XLSX and DOCX, and the town summary."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from openpyxl.styles import Alignment, Font

from geoverify.documents.xlsx import FONT_NAME, new_workbook, set_safe_value, write_sheet
from geoverify.patrols import MonthlySummary, Patrol, patrols_in_month

__all__ = [
    "MONTHLY_HEADERS",
    "SIGNATURE_LINE",
    "SUMMARY_HEADERS",
    "monthly_filename",
    "monthly_rows",
    "monthly_title",
    "write_monthly_docx",
    "write_monthly_tables",
    "write_monthly_xlsx",
    "write_town_summary",
]

#: The six columns of the plan's attachment, in order.
MONTHLY_HEADERS: tuple[str, ...] = ("村、社区", "组", "踏查时间", "踏查人员", "踏查情况", "备注")
#: The signature line below the table (left blank for ink).
SIGNATURE_LINE = "村（社区）书记签字：         填报人：          填报时间："
_TOWN = "重庆市铜梁区福果镇"
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\s]+')
_WIDTHS = {"村、社区": 12, "组": 8, "踏查时间": 13, "踏查人员": 20, "踏查情况": 30, "备注": 16}
_DOCX_WIDTHS_CM = (2.4, 1.6, 2.5, 3.4, 4.6, 2.5)


def monthly_title(year: int, month: int, village: str) -> str:
    """``{year}年重庆市铜梁区福果镇{village}禁种铲毒工作踏查情况{month}月统计表``."""
    return f"{year}年{_TOWN}{village}禁种铲毒工作踏查情况{month}月统计表"


def monthly_filename(year: int, month: int, village: str, suffix: str) -> str:
    """File name of a village's table, e.g. ``2024年3月_青龙村_踏查情况统计表.xlsx``."""
    safe = _UNSAFE_NAME.sub("_", village).strip("_") or "village"
    return f"{year}年{month}月_{safe}_踏查情况统计表{suffix}"


def monthly_rows(patrols: Iterable[Patrol]) -> list[list[Any]]:
    """One row per patrol, in the six columns' order (dates as :class:`datetime.date`)."""
    return [
        [p.village, p.group, p.date, p.people, p.findings, p.remarks]
        for p in sorted(patrols, key=lambda p: (p.date, p.group or "", p.row or 0))
    ]


def write_monthly_xlsx(
    path: str | os.PathLike[str],
    village: str,
    patrols: Sequence[Patrol],
    *,
    year: int,
    month: int,
    min_rows: int = 5,
) -> Path:
    """Write one village's monthly patrol table as an A4 workbook.

    Row 1 is the title (merged over the six columns), row 2 the headers, then one row per
    patrol of the month (padded with blank bordered rows to ``min_rows`` for handwriting),
    then an empty row and the signature line.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    rows = monthly_rows(patrols_in_month(patrols, year=year, month=month))
    rows += [[None] * len(MONTHLY_HEADERS) for _ in range(max(0, min_rows - len(rows)))]
    wb = new_workbook()
    ws = wb.create_sheet(f"{month}月")
    header_row = write_sheet(
        ws,
        MONTHLY_HEADERS,
        rows,
        title=monthly_title(year, month, village),
        widths=_WIDTHS,
        freeze=False,
        landscape=False,
        number_formats={"踏查时间": "yyyy-mm-dd"},
    )
    for r in range(header_row + 1, header_row + 1 + len(rows)):
        ws.cell(row=r, column=3).number_format = "yyyy-mm-dd"
        for c in (4, 5, 6):
            ws.cell(row=r, column=c).alignment = Alignment(vertical="center", wrap_text=True)
    sig_row = header_row + len(rows) + 2
    cell = set_safe_value(ws.cell(row=sig_row, column=1), SIGNATURE_LINE)
    cell.font = Font(name=FONT_NAME, size=12)
    ws.merge_cells(start_row=sig_row, start_column=1, end_row=sig_row, end_column=6)
    ws.row_dimensions[sig_row].height = 30
    ws.print_area = f"A1:F{sig_row}"
    out = Path(path)
    wb.save(out)
    return out


def _set_run_font(run: Any, *, size: float | None = None, bold: bool = False) -> None:
    run.font.name = FONT_NAME
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT_NAME)
    if size is not None:
        run.font.size = Pt(size)
    run.font.bold = bold


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_monthly_docx(
    path: str | os.PathLike[str],
    village: str,
    patrols: Sequence[Patrol],
    *,
    year: int,
    month: int,
    min_rows: int = 5,
) -> Path:
    """Write one village's monthly patrol table as an A4 Word document (宋体 / CJK fonts).

    The document holds the title paragraph, a six-column table (header row, one row per
    patrol of the month, blank rows up to ``min_rows``) and the signature line below it.
    """
    rows = [
        [_cell_text(v) for v in row]
        for row in monthly_rows(patrols_in_month(patrols, year=year, month=month))
    ]
    rows += [[""] * len(MONTHLY_HEADERS) for _ in range(max(0, min_rows - len(rows)))]
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    section.top_margin = section.bottom_margin = Cm(2.2)
    normal = doc.styles["Normal"]
    normal.font.name = FONT_NAME
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT_NAME)
    normal.font.size = Pt(11)

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_run_font(title.add_run(monthly_title(year, month, village)), size=16, bold=True)

    table = doc.add_table(rows=1 + len(rows), cols=len(MONTHLY_HEADERS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for j, header in enumerate(MONTHLY_HEADERS):
        cell = table.cell(0, j)
        cell.width = Cm(_DOCX_WIDTHS_CM[j])
        par = cell.paragraphs[0]
        par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _set_run_font(par.add_run(header), bold=True)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.width = Cm(_DOCX_WIDTHS_CM[j])
            _set_run_font(cell.paragraphs[0].add_run(value))
        table.rows[i].height = Cm(1.0)

    doc.add_paragraph()
    _set_run_font(doc.add_paragraph().add_run(SIGNATURE_LINE), size=12)
    out = Path(path)
    doc.save(str(out))
    return out


def write_monthly_tables(
    out_dir: str | os.PathLike[str],
    patrols: Sequence[Patrol],
    villages: pd.DataFrame,
    *,
    year: int,
    month: int,
) -> list[Path]:
    """Write the XLSX and DOCX table of every village (also those without a patrol).

    Patrols are matched to villages by ``village_code``, else by name. Returns the files, in
    the villages' order (XLSX then DOCX for each).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for code, name in zip(villages["code"].astype(str), villages["name"].astype(str), strict=True):
        mine = [
            p
            for p in patrols
            if p.village_code == code or (p.village_code is None and p.village == name)
        ]
        written.append(
            write_monthly_xlsx(
                out / monthly_filename(year, month, name, ".xlsx"),
                name,
                mine,
                year=year,
                month=month,
            )
        )
        written.append(
            write_monthly_docx(
                out / monthly_filename(year, month, name, ".docx"),
                name,
                mine,
                year=year,
                month=month,
            )
        )
    return written


#: Headers of the town summary sheet.
SUMMARY_HEADERS: tuple[str, ...] = (
    "村（社区）",
    "踏查次数",
    "有轨迹",
    "仅报送（无轨迹）",
    "踏查人次",
    "发现情况（次）",
    "轨迹覆盖率(%)",
    "报送状态",
)


def write_town_summary(path: str | os.PathLike[str], summary: MonthlySummary) -> Path:
    """Write the town's monthly summary workbook (全镇踏查情况汇总).

    Sheet ``汇总``: one row per village (patrols, tracked, reported only, person-times,
    findings, tracked coverage %, reporting status) and a 合计 row. Sheet ``未报送``: the
    villages without a patrol record for the month, with the deadline (the 25th).
    """
    wb = new_workbook()
    ws = wb.create_sheet("汇总")
    rows: list[list[Any]] = []
    for rec in summary.villages.to_dict("records"):
        cov = rec["covered_pct"]
        rows.append(
            [
                rec["village"],
                rec["patrols"],
                rec["tracked"],
                rec["reported_only"],
                rec["person_times"],
                rec["findings"],
                None if cov is None or pd.isna(cov) else round(float(cov), 1),
                rec["status"],
            ]
        )
    t = summary.totals
    rows.append(
        [
            "合计",
            t["patrols"],
            t["tracked"],
            t["reported_only"],
            t["person_times"],
            t["findings"],
            None,
            f"已报送 {t['villages_reported']}/{t['villages']}",
        ]
    )
    title = f"{summary.year}年{_TOWN}禁种铲毒踏查情况{summary.month}月汇总表"
    header_row = write_sheet(
        ws, SUMMARY_HEADERS, rows, title=title, number_formats={"轨迹覆盖率(%)": "0.0"}
    )
    total_row = header_row + len(rows)
    for c in range(1, len(SUMMARY_HEADERS) + 1):
        ws.cell(row=total_row, column=c).font = Font(name=FONT_NAME, bold=True)

    missing = wb.create_sheet("未报送")
    deadline = summary.deadline
    write_sheet(
        missing,
        ("村（社区）", "报送截止日期", "状态"),
        [
            [name, deadline, "未报送" if status == "未报送" else status]
            for name, status in zip(
                summary.villages["village"], summary.villages["status"], strict=True
            )
            if name in summary.not_reported
        ],
        title=f"{summary.year}年{summary.month}月未报送踏查情况统计表的村（社区）（截止{deadline.month}月{deadline.day}日）",
        number_formats={"报送截止日期": "yyyy-mm-dd"},
    )
    out = Path(path)
    wb.save(out)
    return out
