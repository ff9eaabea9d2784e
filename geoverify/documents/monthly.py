"""Monthly patrol table (踏查情况统计表) per village as XLSX and DOCX, and the town summary."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from openpyxl.styles import Alignment, Font

from geoverify.documents.xlsx import (
    FONT_NAME,
    new_workbook,
    write_lines_below,
    write_sheet,
)
from geoverify.patrols import (
    RECEIVED_UNKNOWN,
    STATUS_ORDER,
    MonthlySummary,
    Patrol,
    patrols_in_month,
)

__all__ = [
    "MONTHLY_HEADERS",
    "PLAN_ROWS",
    "SIGNATURE_LINE",
    "SUMMARY_HEADERS",
    "monthly_filename",
    "monthly_rows",
    "monthly_title",
    "title_font_pt",
    "write_monthly_docx",
    "write_monthly_tables",
    "write_monthly_xlsx",
    "write_town_summary",
]

#: The six columns of the plan's attachment, in order.
MONTHLY_HEADERS: tuple[str, ...] = ("村、社区", "组", "踏查时间", "踏查人员", "踏查情况", "备注")
#: The signature line below the table (left blank for ink).
SIGNATURE_LINE = "村（社区）书记签字：         填报人：          填报时间："
#: Data rows of the plan's attachment: the table always has at least this many (blank rows
#: are left for handwriting).
PLAN_ROWS = 15
_TOWN = "重庆市铜梁区福果镇"
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\s]+')
_WIDTHS = {"村、社区": 10, "组": 7, "踏查时间": 12, "踏查人员": 22, "踏查情况": 30, "备注": 14}
#: DOCX column widths (cm): 17 cm between the A4 margins; 五号 (10.5 pt) text fits a name
#: list of three people and a line of findings.
_DOCX_WIDTHS_CM = (1.9, 1.3, 2.7, 4.5, 4.7, 1.9)
_DOCX_TEXT_PT = 10.5
_DOCX_ROW_CM = 1.1
_DOCX_PAGE_TEXT_CM = 17.0


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
    min_rows: int = PLAN_ROWS,
) -> Path:
    """Write one village's monthly patrol table as an A4 workbook.

    Row 1 is the title (merged over the six columns), row 2 the headers, then one row per
    patrol of the month (padded with blank bordered rows to ``min_rows`` — the plan's 15 —
    for handwriting), then an empty row and the signature line. A row whose text wraps gets
    the height it needs; blank rows are tall enough to write in.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    rows = monthly_rows(patrols_in_month(patrols, year=year, month=month))
    filled = len(rows)
    rows += [[None] * len(MONTHLY_HEADERS) for _ in range(max(0, min_rows - len(rows)))]
    wb = new_workbook()
    ws = wb.create_sheet(f"{month}月")
    header_row = write_sheet(
        ws,
        MONTHLY_HEADERS,
        rows,
        title=monthly_title(year, month, village),
        widths=_WIDTHS,
        wrap=("村、社区", "组", "踏查人员", "踏查情况", "备注"),
        freeze=False,
        landscape=False,
        number_formats={"踏查时间": "yyyy-mm-dd"},
    )
    for r in range(header_row + 1, header_row + 1 + len(rows)):
        day = ws.cell(row=r, column=3)
        day.number_format = "yyyy-mm-dd"
        # centred, clear of the names in 踏查人员 (right-aligned, they touched)
        day.alignment = Alignment(horizontal="center", vertical="center")
        if r > header_row + filled:
            ws.row_dimensions[r].height = 30  # room for handwriting
        else:
            ws.row_dimensions[r].height = max(ws.row_dimensions[r].height or 0, 24)
    write_lines_below(ws, header_row + len(rows) + 2, [SIGNATURE_LINE], columns=6)
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


def _docx_grid(table: Any, widths_cm: Sequence[float]) -> None:
    """Fixed column widths that Word, WPS and LibreOffice all honour (tblGrid + tblLayout)."""
    table.autofit = False
    tbl = table._tbl
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl.tblPr.append(layout)
    grid = tbl.tblGrid
    for col, w in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(int(Cm(w).twips)))
    for row in table.rows:
        for cell, w in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(w)


def _docx_row(row: Any, *, height_cm: float, header: bool = False) -> None:
    row.height = Cm(height_cm)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    tr_pr = row._tr.get_or_add_trPr()
    cant = OxmlElement("w:cantSplit")
    tr_pr.append(cant)
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))  # repeated on every page


def _add_field(par: Any, instr: str, placeholder: str) -> None:
    """Append a Word field (``PAGE``, ``NUMPAGES``) to ``par``; ``placeholder`` is shown until
    the field is updated (Word, WPS and LibreOffice update page fields when they lay out)."""

    def run_with(child: Any) -> None:
        run = par.add_run()
        _set_run_font(run, size=9)
        run._r.append(child)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    run_with(begin)
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instr} "
    run_with(code)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    _set_run_font(par.add_run(placeholder), size=9)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _page_number_footer(section: Any) -> None:
    """``第 N 页，共 M 页`` centred in the footer, as the XLSX tables print."""
    par = section.footer.paragraphs[0]
    par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_run_font(par.add_run("第 "), size=9)
    _add_field(par, "PAGE", "1")
    _set_run_font(par.add_run(" 页，共 "), size=9)
    _add_field(par, "NUMPAGES", "1")
    _set_run_font(par.add_run(" 页"), size=9)


def title_font_pt(title: str, *, width_cm: float = _DOCX_PAGE_TEXT_CM) -> float:
    """The largest size (≤ 16 pt, in half points) at which ``title`` fits on one line."""
    width_pt = width_cm / 2.54 * 72
    units = sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in title)
    return min(16.0, math.floor(2 * width_pt / units * 0.97) / 2)


def write_monthly_docx(
    path: str | os.PathLike[str],
    village: str,
    patrols: Sequence[Patrol],
    *,
    year: int,
    month: int,
    min_rows: int = PLAN_ROWS,
) -> Path:
    """Write one village's monthly patrol table as an A4 Word document (宋体 / CJK fonts).

    The document holds the title on one line, a six-column table with fixed widths (header
    row repeated on every page, one row per patrol of the month, blank rows up to
    ``min_rows`` — the plan's 15 — at least 1.1 cm high for handwriting, rows never split)
    and the signature line kept on the page of the table's last row.
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
    section.footer_distance = Cm(1.0)
    _page_number_footer(section)
    normal = doc.styles["Normal"]
    normal.font.name = FONT_NAME
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT_NAME)
    normal.font.size = Pt(_DOCX_TEXT_PT)

    text = monthly_title(year, month, village)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_run_font(title.add_run(text), size=title_font_pt(text), bold=True)

    table = doc.add_table(rows=1 + len(rows), cols=len(MONTHLY_HEADERS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _docx_grid(table, _DOCX_WIDTHS_CM)
    _docx_row(table.rows[0], height_cm=0.9, header=True)
    for j, header in enumerate(MONTHLY_HEADERS):
        cell = table.cell(0, j)
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        par = cell.paragraphs[0]
        par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _set_run_font(par.add_run(header), bold=True)
    last = len(rows)
    for i, row in enumerate(rows, start=1):
        _docx_row(table.rows[i], height_cm=_DOCX_ROW_CM)
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            par = cell.paragraphs[0]
            if j in (0, 1, 2):
                par.alignment = WD_ALIGN_PARAGRAPH.CENTER
            # the last rows stay on the page of the signature line below them
            par.paragraph_format.keep_with_next = i >= last - 1
            _set_run_font(par.add_run(value))

    gap = doc.add_paragraph()
    gap.paragraph_format.keep_with_next = True
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
    "报送日期",
)


def _received_text(rec: Mapping[Any, Any]) -> Any:
    day = rec.get("received_on")
    if isinstance(day, dt.date):
        return day
    return "未记录" if rec.get("patrols") else None


def _status_total(totals: Mapping[str, Any]) -> str:
    """The 合计 row's reporting cell, counting villages as the rows above name them.

    "已报送 6/13" when every village with records is 已报送; otherwise the villages with
    records, then one line per status: "有记录 2/13", "已报送 1", "报送日期未记录 1". It never
    says more villages reported than the rows do.
    """
    counts = totals.get("statuses", {})
    shown = [s for s in STATUS_ORDER[:3] if counts.get(s)]
    of = f"{totals['villages_reported']}/{totals['villages']}"
    if shown in ([], ["已报送"]):
        return f"已报送 {of}"
    return "\n".join([f"有记录 {of}", *(f"{s} {counts[s]}" for s in shown)])


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
                _received_text(rec),
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
            None if t.get("covered_pct") is None else round(float(t["covered_pct"]), 1),
            _status_total(t),
            None,
        ]
    )
    title = f"{summary.year}年{_TOWN}禁种铲毒踏查情况{summary.month}月汇总表"
    header_row = write_sheet(
        ws,
        SUMMARY_HEADERS,
        rows,
        title=title,
        subtitle=f"报送截止日期：{summary.deadline.isoformat()}；“{RECEIVED_UNKNOWN}”表示"
        "只收到轨迹、未登记报送日期，不计为逾期",
        wrap=("报送状态",),
        widths={"报送状态": 14},
        number_formats={"轨迹覆盖率(%)": "0.0", "报送日期": "yyyy-mm-dd"},
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
        # wide enough for the 14 pt title on two lines (its row grows to show them)
        widths={"村（社区）": 22, "报送截止日期": 16, "状态": 16},
        number_formats={"报送截止日期": "yyyy-mm-dd"},
    )
    out = Path(path)
    wb.save(out)
    return out
