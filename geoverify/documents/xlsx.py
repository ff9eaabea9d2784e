"""Safe, readable XLSX sheets: text never turns into formulas, CJK widths, print setup."""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "FONT_NAME",
    "FORMULA_TRIGGERS",
    "Link",
    "display_width",
    "is_formula_like",
    "new_workbook",
    "safe_cell_value",
    "set_safe_value",
    "write_sheet",
]

#: Font of every cell we write. 宋体 (SimSun) ships with every Chinese Windows, Excel and WPS;
#: LibreOffice substitutes Noto Serif CJK / any CJK font for it.
FONT_NAME = "宋体"

#: First characters that make a spreadsheet program read text as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_MAX_WIDTH = 60.0
_MIN_WIDTH = 6.0


@dataclass(frozen=True)
class Link:
    """A clickable hyperlink cell: ``text`` is shown, ``url`` is opened."""

    url: str
    text: str


def safe_cell_value(value: Any) -> Any:
    """Return ``value`` in a form fit for a spreadsheet cell (number, date, text or ``None``).

    Numbers (not bools), dates and ``None`` pass through unchanged; NaN becomes ``None``; every
    other value becomes ``str``. The caller (:func:`set_safe_value`) forces text cells to the
    string type so that no string is ever stored as a formula.

    Parameters
    ----------
    value
        Any Python value.

    Returns
    -------
    object
        ``None``, an ``int``/``float``, a ``date``/``datetime``, or a ``str``.
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else safe_cell_value(value.to_pydatetime())
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        try:
            return safe_cell_value(value.item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, dt.datetime):
        # Excel has no time zones: write the wall-clock time as given.
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str | list | tuple | dict | set) and bool(pd.isna(value)):
        return None  # pd.NA, pd.NaT, numpy NaN
    return str(value)


def is_formula_like(text: str) -> bool:
    """True when ``text`` would be read as a formula by Excel, WPS or LibreOffice."""
    return text.startswith(FORMULA_TRIGGERS)


def set_safe_value(cell: Cell | MergedCell, value: Any) -> Cell:
    """Write ``value`` into ``cell`` so that a string is always text, never a formula.

    A string starting with ``=``, ``+``, ``-``, ``@``, tab or CR is stored as a string cell with
    the quote-prefix style (Excel's leading apostrophe). A :class:`Link` becomes a hyperlink.
    """
    if isinstance(cell, MergedCell):
        msg = f"cell {cell.coordinate} is inside a merged range and cannot hold a value"
        raise ValueError(msg)
    if isinstance(value, Link):
        cell.hyperlink = value.url
        set_safe_value(cell, value.text)
        cell.font = Font(name=FONT_NAME, color="0563C1", underline="single")
        return cell
    v = safe_cell_value(value)
    cell.value = v
    if isinstance(v, str):
        # openpyxl guesses "f" for a leading "="; force the string type for every str.
        cell.data_type = "s"
        if is_formula_like(v):
            cell.quotePrefix = True
    elif isinstance(v, dt.datetime):
        cell.number_format = _DATETIME_FORMAT
    elif isinstance(v, dt.date):
        cell.number_format = _DATE_FORMAT
    return cell


def display_width(value: Any) -> float:
    """Width of ``value`` in Excel character units: wide (CJK, full-width) characters count 2."""
    v = safe_cell_value(value.text if isinstance(value, Link) else value)
    if v is None:
        return 0.0
    if isinstance(v, dt.datetime):
        return 16.0
    if isinstance(v, dt.date):
        return 10.0
    text = str(v)
    longest = 0.0
    for line in text.splitlines() or [""]:
        w = sum(2.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 1.0 for ch in line)
        longest = max(longest, w)
    return longest


def new_workbook() -> Workbook:
    """An empty workbook whose default sheet is removed (add sheets with ``create_sheet``)."""
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    return wb


def write_sheet(
    ws: Worksheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    widths: Mapping[str, float] | None = None,
    dropdowns: Mapping[str, Sequence[str]] | None = None,
    freeze: bool = True,
    landscape: bool | None = None,
    dropdown_spare_rows: int = 50,
    number_formats: Mapping[str, str] | None = None,
) -> int:
    """Write a bordered table with a styled header into ``ws``; every cell is formula-safe.

    Parameters
    ----------
    ws
        The worksheet (usually fresh from ``wb.create_sheet(name)``).
    headers
        Column headers, in order.
    rows
        Row values in header order (:class:`Link` values become hyperlinks).
    title
        Optional title written above the table, merged across all columns.
    widths
        Column widths by header; other columns are sized from their content (CJK counts double).
    dropdowns
        Drop-down lists (Excel data validation) by header; applied to the data rows plus
        ``dropdown_spare_rows`` empty rows below them.
    freeze
        Freeze the panes below the header row.
    landscape
        Page orientation; default landscape when there are more than 8 columns.
    dropdown_spare_rows
        Empty rows below the data that also get the drop-downs.
    number_formats
        Excel number formats by header (e.g. ``{"经度": "0.000000"}``), for numeric cells.

    Returns
    -------
    int
        The 1-based sheet row number of the header row (data starts on the next row).
    """
    ncols = len(headers)
    if ncols == 0:
        msg = "write_sheet needs at least one header"
        raise ValueError(msg)
    header_row = 1
    if title:
        cell = set_safe_value(ws.cell(row=1, column=1), title)
        cell.font = Font(name=FONT_NAME, bold=True, size=14)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if ncols > 1:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
        ws.row_dimensions[1].height = 28
        header_row = 2

    col_width = [display_width(h) for h in headers]
    for j, h in enumerate(headers, start=1):
        cell = set_safe_value(ws.cell(row=header_row, column=j), h)
        cell.font = Font(name=FONT_NAME, bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    fmt_by_col = {
        list(headers).index(h) + 1: f for h, f in (number_formats or {}).items() if h in headers
    }
    body_font = Font(name=FONT_NAME)
    body_align = Alignment(vertical="center", wrap_text=False)
    r = header_row
    for r, values in enumerate(rows, start=header_row + 1):
        values = list(values)
        if len(values) != ncols:
            msg = f"row {r} has {len(values)} values for {ncols} headers"
            raise ValueError(msg)
        for j, v in enumerate(values, start=1):
            cell = set_safe_value(ws.cell(row=r, column=j), v)
            if not isinstance(v, Link):
                cell.font = body_font
            cell.border = _BORDER
            cell.alignment = body_align
            if j in fmt_by_col and isinstance(cell.value, int | float):
                cell.number_format = fmt_by_col[j]
            col_width[j - 1] = max(col_width[j - 1], display_width(v))
    last_row = r

    for j, h in enumerate(headers, start=1):
        letter = get_column_letter(j)
        if widths and h in widths:
            ws.column_dimensions[letter].width = float(widths[h])
        else:
            w = min(max(col_width[j - 1] + 2.0, _MIN_WIDTH), _MAX_WIDTH)
            ws.column_dimensions[letter].width = w

    if dropdowns:
        end = max(last_row, header_row) + dropdown_spare_rows
        for h, options in dropdowns.items():
            if h not in headers:
                msg = f"drop-down for unknown column {h!r}"
                raise ValueError(msg)
            opts = [str(o) for o in options]
            if any("," in o or '"' in o for o in opts):
                msg = f"drop-down options may not contain ',' or '\"': {opts!r}"
                raise ValueError(msg)
            letter = get_column_letter(list(headers).index(h) + 1)
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(opts) + '"',
                allow_blank=True,
                showDropDown=False,  # openpyxl's name is inverted: False shows the arrow
                showErrorMessage=True,
                errorTitle="无效的值 (invalid value)",
                error="请从下拉列表中选择 (choose from the list): " + "、".join(opts),
            )
            dv.add(f"{letter}{header_row + 1}:{letter}{end}")
            ws.add_data_validation(dv)

    if freeze:
        ws.freeze_panes = f"A{header_row + 1}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if landscape is None:
        landscape = ncols > 8
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    return header_row
