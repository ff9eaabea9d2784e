"""Safe, readable XLSX sheets: text never turns into formulas, CJK widths, print setup."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "FONT_NAME",
    "FORMULA_TRIGGERS",
    "ColumnGroup",
    "Link",
    "Validation",
    "display_width",
    "header_name",
    "is_formula_like",
    "new_workbook",
    "safe_cell_value",
    "set_safe_value",
    "shown_text",
    "wrapped_height",
    "write_lines_below",
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


#: Number formats whose shown text :func:`shown_text` works out: ``0``, ``0.0``, ``#,##0.00``,
#: ``0.0%`` and the like.
_FIXED_FORMAT = re.compile(r"^(#,##)?0(?:\.(0+))?(%?)$")


def shown_text(value: Any, number_format: str | None = None) -> str | None:
    """The text a cell shows for ``value`` under ``number_format`` (``None`` when empty).

    Row heights and column widths are sized from what a cell shows, not from the value it
    holds: ``0.6666666666666666`` under ``0.0%`` shows ``66.7%``. Fixed-decimal and percent
    formats are applied; other numbers show as Excel's General format does (at most 11
    characters); dates as ``yyyy-mm-dd`` (with ``hh:mm`` when the format has hours).
    """
    v = safe_cell_value(value.text if isinstance(value, Link) else value)
    if v is None:
        return None
    fmt = (number_format or "General").strip()
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M" if "h" in fmt.lower() else "%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int | float):
        m = _FIXED_FORMAT.match(fmt)
        if m:
            places = len(m.group(2) or "")
            number = float(v) * (100 if m.group(3) else 1)
            sep = "," if m.group(1) else ""
            return f"{number:{sep}.{places}f}{m.group(3)}"
        if isinstance(v, int):
            return str(v)
        return f"{v:.10g}"  # General: about 10 significant digits
    return str(v)


def new_workbook() -> Workbook:
    """An empty workbook whose default sheet is removed (add sheets with ``create_sheet``)."""
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    return wb


@dataclass(frozen=True)
class Validation:
    """Excel data validation of one column (数据验证): what a cell may hold.

    ``kind`` is ``"list"`` (one of ``options``), ``"date"``, ``"whole"`` (an integer) or
    ``"decimal"``; ``minimum``/``maximum`` bound dates and numbers. A ``strict`` validation
    refuses other values; otherwise Excel/WPS only warn (a list then suggests, free text
    stays possible). ``prompt`` is shown when the cell is selected. Messages are Chinese: the
    sheets are for village cadres.
    """

    kind: str
    options: Sequence[str] = ()
    minimum: float | dt.date | None = None
    maximum: float | dt.date | None = None
    strict: bool = True
    prompt: str | None = None


@dataclass(frozen=True)
class ColumnGroup:
    """A header over several adjacent columns (e.g. 村填写 over the fill-in columns)."""

    label: str
    span: int
    fill: str = "DDEBF7"


#: Widths of the columns that name a target, the same in every document that lists targets.
TARGET_WIDTHS: dict[str, float] = {
    "序号": 5,
    "靶标编号": 15,
    "村（社区）": 10,
    "组": 6,
    "经度": 11.5,
    "纬度": 10.5,
}

_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _dv_bound(v: float | dt.date) -> str:
    if isinstance(v, dt.date):
        return str((v - _EXCEL_EPOCH).days)
    return f"{v:g}"


def _data_validation(h: str, spec: Validation) -> DataValidation:
    if spec.kind == "list":
        opts = [str(o) for o in spec.options]
        if any("," in o or '"' in o for o in opts):
            msg = f"drop-down options may not contain ',' or '\"': {opts!r}"
            raise ValueError(msg)
        dv = DataValidation(
            type="list",
            formula1='"' + ",".join(opts) + '"',
            allow_blank=True,
            showDropDown=False,  # openpyxl's name is inverted: False shows the arrow
        )
        error = "请从下拉列表中选择：" + "、".join(opts)
    elif spec.kind in ("date", "whole", "decimal"):
        kind = cast(Literal["date", "whole", "decimal"], spec.kind)
        lo = spec.minimum if spec.minimum is not None else 0
        hi = spec.maximum
        if hi is None:
            dv = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=_dv_bound(lo))
        else:
            dv = DataValidation(
                type=kind, operator="between", formula1=_dv_bound(lo), formula2=_dv_bound(hi)
            )
        dv.allow_blank = True
        error = {
            "date": "请填写日期，例如 2024-03-15",
            "whole": "请填写不小于 0 的整数",
            "decimal": "请填写不小于 0 的数字",
        }[spec.kind]
    else:
        msg = f"unknown validation kind {spec.kind!r} for column {h!r}"
        raise ValueError(msg)
    dv.showErrorMessage = True
    dv.errorStyle = "stop" if spec.strict else "warning"
    dv.errorTitle = "填写有误" if spec.strict else "请核对"
    dv.error = error
    if spec.prompt:
        dv.showInputMessage = True
        dv.promptTitle = h[:32]
        dv.prompt = spec.prompt
    return dv


def wrapped_height(
    texts: Iterable[Any], widths: Iterable[float], *, line_pt: float = 15.0
) -> float:
    """Row height (points) that shows ``texts`` wrapped in columns of ``widths`` (Excel units)."""
    lines = 1
    for text, width in zip(texts, widths, strict=True):
        if text is None:
            continue
        usable = max(width - 1.5, 1.0)
        n = 0
        for part in str(text.text if isinstance(text, Link) else text).splitlines() or [""]:
            n += max(1, math.ceil(display_width(part) / usable))
        lines = max(lines, n)
    return round(lines * line_pt + 3.0, 1)


_OPENING_BRACKET = re.compile(r"[（(〔【]")


def header_name(value: Any) -> Any:
    """The header a header cell names: its text without the line break
    :func:`write_sheet` may put before a bracketed unit ("铲除面积\n（平方米）")."""
    return value.replace("\n", "") if isinstance(value, str) else value


def _break_before_brackets(headers: Sequence[str], widths: Sequence[float]) -> list[str]:
    """Headers as the header row shows them: one too wide for its column breaks its line
    before the bracketed unit ("铲除面积\n（平方米）"), which otherwise wraps mid-unit or leaves
    a lone "）" on the last line. Readers take the header back with :func:`header_name`."""
    out = []
    for h, width in zip(headers, widths, strict=True):
        m = _OPENING_BRACKET.search(h, 1)
        if m is None or "\n" in h or display_width(h) <= max(width - 1.5, 1.0):
            out.append(h)
        else:
            out.append(f"{h[: m.start()]}\n{h[m.start() :]}")
    return out


def write_sheet(
    ws: Worksheet,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    groups: Sequence[ColumnGroup] | None = None,
    widths: Mapping[str, float] | None = None,
    dropdowns: Mapping[str, Sequence[str]] | None = None,
    validations: Mapping[str, Validation] | None = None,
    fills: Mapping[str, str] | None = None,
    wrap: Iterable[str] = (),
    centre: Iterable[str] = (),
    freeze: bool = True,
    freeze_columns: int = 0,
    landscape: bool | None = None,
    dropdown_spare_rows: int = 50,
    number_formats: Mapping[str, str] | None = None,
    print_scale: int | None = None,
    page_breaks_before: Sequence[str] = (),
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
    subtitle
        Optional line under the title (e.g. 填报单位 and the as-of date), merged likewise.
    groups
        Optional group headers above the header row, left to right (their spans must add up
        to the number of columns); a group's fill colours its header cells too.
    widths
        Column widths by header; other columns are sized from their content (CJK counts double).
    dropdowns
        Drop-down lists (Excel data validation) by header; applied to the data rows plus
        ``dropdown_spare_rows`` empty rows below them.
    validations
        Other data validations (dates, whole or decimal numbers, suggestion lists) by header,
        over the same rows as ``dropdowns``.
    fills
        Background colour (hex RGB) of a column's body cells, by header — e.g. the columns a
        village fills in.
    wrap
        Headers of columns whose text wraps; each row gets the height its wrapped text needs.
    centre
        Headers of columns whose body cells are centred (序号, short categories such as 组 or
        核查结果); dates are always centred.
    freeze
        Freeze the panes below the header row.
    freeze_columns
        Also freeze this many columns on the left (e.g. 序号 and 靶标编号); they are printed
        on every page too.
    landscape
        Page orientation; default landscape when there are more than 8 columns.
    dropdown_spare_rows
        Empty rows below the data that also get the drop-downs.
    number_formats
        Excel number formats by header (e.g. ``{"经度": "0.000000"}``), for numeric cells.
    print_scale
        Print at this scale (%) over as many pages across and down as needed (A4, the header
        rows and the frozen columns repeated on every page, the title and subtitle in every
        page's header); default: fit the width of one page.
    page_breaks_before
        With ``print_scale``: headers of the columns that start a new printed page.

    Returns
    -------
    int
        The 1-based sheet row number of the header row (data starts on the next row).
    """
    ncols = len(headers)
    if ncols == 0:
        msg = "write_sheet needs at least one header"
        raise ValueError(msg)
    headers = list(headers)
    # A sheet printed over several pages across keeps its titles on the first page: left
    # aligned and not merged over every column (the text runs on into the empty cells).
    spread = print_scale is not None
    row = 1
    # (row, text, font size, least height) of the title lines, sized once widths are known
    title_rows: list[tuple[int, str, int, float]] = []
    for text, size, height in ((title, 14, 28), (subtitle, 11, 20)):
        if not text:
            continue
        cell = set_safe_value(ws.cell(row=row, column=1), text)
        cell.font = Font(name=FONT_NAME, bold=size > 11, size=size)
        cell.alignment = Alignment(
            horizontal="center" if size > 11 and not spread else "left",
            vertical="center",
            wrap_text=not spread,
        )
        if ncols > 1 and not spread:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        ws.row_dimensions[row].height = height
        title_rows.append((row, text, size, height))
        row += 1
    first_header_row = row
    group_fill: dict[int, str] = {}
    if groups:
        if sum(g.span for g in groups) != ncols:
            msg = f"column groups span {sum(g.span for g in groups)} columns, not {ncols}"
            raise ValueError(msg)
        # A group that runs over a column page break is labelled and merged on each page
        # (a merged cell across the break prints as a band beyond the first page's table).
        page_starts = {
            headers.index(h) + 1 for h in page_breaks_before if h in headers and headers.index(h)
        }
        col = 1
        for g in groups:
            end = col + g.span - 1
            cuts = [col, *sorted(b for b in page_starts if col < b <= end), end + 1]
            # The print-title columns repeat the first group's label on every page: its
            # continuation beside them stays unlabelled.
            repeated = col == 1 and 0 < freeze_columns < g.span
            for first, stop in itertools.pairwise(cuts):
                label = None if first > col and repeated else g.label
                cell = set_safe_value(ws.cell(row=row, column=first), label)
                cell.font = Font(name=FONT_NAME, bold=True)
                cell.alignment = Alignment(
                    horizontal="left" if spread else "center", vertical="center", indent=1
                )
                for j in range(first, stop):
                    c = ws.cell(row=row, column=j)
                    c.fill = PatternFill("solid", fgColor=g.fill)
                    c.border = _BORDER
                    group_fill[j] = g.fill
                if stop - first > 1:
                    ws.merge_cells(
                        start_row=row, start_column=first, end_row=row, end_column=stop - 1
                    )
            col = end + 1
        ws.row_dimensions[row].height = 20
        row += 1
    header_row = row

    col_width = [display_width(h) for h in headers]
    for j, h in enumerate(headers, start=1):
        cell = set_safe_value(ws.cell(row=header_row, column=j), h)
        cell.font = Font(name=FONT_NAME, bold=True)
        cell.fill = PatternFill("solid", fgColor=group_fill[j]) if j in group_fill else _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    fmt_by_col = {
        headers.index(h) + 1: f for h, f in (number_formats or {}).items() if h in headers
    }
    fill_by_col = {
        headers.index(h) + 1: PatternFill("solid", fgColor=f)
        for h, f in (fills or {}).items()
        if h in headers
    }
    wrap_cols = {headers.index(h) + 1 for h in wrap if h in headers}
    centre_cols = {headers.index(h) + 1 for h in centre if h in headers}
    body_font = Font(name=FONT_NAME)
    body_align = Alignment(vertical="center", wrap_text=False)
    wrap_align = Alignment(vertical="center", wrap_text=True)
    # Dates are centred: right-aligned, they ran into the left-aligned text of the next column.
    date_align = Alignment(horizontal="center", vertical="center", wrap_text=False)
    centre_wrap_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    r = header_row
    wrapped_rows: list[tuple[int, list[str | None]]] = []
    for r, values in enumerate(rows, start=header_row + 1):
        values = list(values)
        if len(values) != ncols:
            msg = f"row {r} has {len(values)} values for {ncols} headers"
            raise ValueError(msg)
        shown: list[str | None] = []
        for j, v in enumerate(values, start=1):
            cell = set_safe_value(ws.cell(row=r, column=j), v)
            if not isinstance(v, Link):
                cell.font = body_font
            cell.border = _BORDER
            if j in wrap_cols:
                cell.alignment = centre_wrap_align if j in centre_cols else wrap_align
            elif j in centre_cols or isinstance(cell.value, dt.date):
                cell.alignment = date_align
            else:
                cell.alignment = body_align
            if j in fill_by_col:
                cell.fill = fill_by_col[j]
            if j in fmt_by_col and isinstance(cell.value, int | float):
                cell.number_format = fmt_by_col[j]
            # sized by what the cell shows (66.7%), not by the value it holds (0.666…)
            text = shown_text(cell.value, cell.number_format)
            shown.append(text)
            if j not in wrap_cols:
                col_width[j - 1] = max(col_width[j - 1], display_width(text))
        if wrap_cols:
            wrapped_rows.append((r, shown))
    last_row = r

    final_width: list[float] = []
    for j, h in enumerate(headers, start=1):
        letter = get_column_letter(j)
        if widths and h in widths:
            w = float(widths[h])
        else:
            w = min(max(col_width[j - 1] + 2.0, _MIN_WIDTH), _MAX_WIDTH)
        ws.column_dimensions[letter].width = w
        final_width.append(w)
    # A column sized here fits its header; one of a width the document chose may not.
    shown_headers = _break_before_brackets(headers, final_width)
    for j, (h, text) in enumerate(zip(headers, shown_headers, strict=True), start=1):
        if text != h:
            set_safe_value(ws.cell(row=header_row, column=j), text)
    for r_i, values in wrapped_rows:
        texts = [v if j + 1 in wrap_cols else None for j, v in enumerate(values)]
        ws.row_dimensions[r_i].height = max(wrapped_height(texts, final_width), 18.0)
    ws.row_dimensions[header_row].height = max(wrapped_height(shown_headers, final_width), 20.0)
    if not spread:
        # A title wider than the table wraps in its merged cell: its row grows to show it all.
        span = sum(final_width) if ncols > 1 else final_width[0]
        for r_i, text, size, least in title_rows:
            ws.row_dimensions[r_i].height = _title_height(text, size, span, least=least)

    specs: dict[str, Validation] = {
        h: Validation("list", tuple(opts)) for h, opts in (dropdowns or {}).items()
    }
    specs.update(validations or {})
    if specs:
        end = max(last_row, header_row) + dropdown_spare_rows
        for h, spec in specs.items():
            if h not in headers:
                msg = f"data validation for unknown column {h!r}"
                raise ValueError(msg)
            letter = get_column_letter(headers.index(h) + 1)
            dv = _data_validation(h, spec)
            dv.add(f"{letter}{header_row + 1}:{letter}{end}")
            ws.add_data_validation(dv)

    if freeze:
        ws.freeze_panes = f"{get_column_letter(freeze_columns + 1)}{header_row + 1}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if landscape is None:
        landscape = ncols > 8
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    if print_scale is None:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ws.page_setup.scale = int(print_scale)
        ws.page_setup.pageOrder = "overThenDown"
    ws.print_title_rows = f"{first_header_row}:{header_row}"
    if freeze_columns:
        ws.print_title_cols = f"A:{get_column_letter(freeze_columns)}"
    if spread:
        # The title and subtitle go to every page's header; the table is the print area.
        last_col = get_column_letter(ncols)
        ws.print_area = f"A{first_header_row}:{last_col}{max(last_row, header_row)}"
        head, foot = ws.oddHeader, ws.oddFooter
        if head is not None and head.center is not None and head.right is not None:
            if title:
                head.center.text = _header_text(title, bold=True, size=12)
            head.right.text = "&9第 &P 页，共 &N 页"
        if foot is not None and foot.center is not None and subtitle:
            foot.center.text = _header_text(subtitle, size=8)
        for h in page_breaks_before:
            if h in headers and headers.index(h) > 0:
                ws.col_breaks.append(Break(id=headers.index(h)))
    ws.print_options.horizontalCentered = print_scale is None
    ws.page_margins.left = ws.page_margins.right = 0.4
    # inches; the page header (title) and footer (page numbers) need room between the edges
    ws.page_margins.top = 0.9 if spread else 0.75
    ws.page_margins.bottom = 0.7
    ws.page_margins.header = ws.page_margins.footer = 0.3
    footer = ws.oddFooter
    if not spread and footer is not None and footer.center is not None:
        footer.center.text = "第 &P 页，共 &N 页"
    return header_row


def _title_height(text: str, size: int, width: float, *, least: float) -> float:
    """Row height (points) of ``text`` at ``size`` pt wrapped in ``width`` Excel units.

    ``least`` when the text fits on one line. Widths count units of 11 pt text; bold CJK runs
    a little wider than two units a character in some fonts, hence the 10 % margin. A line
    takes 1.5 × the font size (CJK fonts are tall).
    """
    usable = max(width - 1.5, 1.0)
    lines = sum(
        max(1, math.ceil(display_width(part) * size / 11 * 1.1 / usable))
        for part in text.splitlines() or [""]
    )
    return least if lines <= 1 else max(least, round(lines * size * 1.5 + 6.0, 1))


def _header_text(text: str | None, *, bold: bool = False, size: int = 10) -> str:
    """A line of a printed page header (``&`` doubled; Excel's font codes)."""
    if not text:
        return ""
    font = '&"-,Bold"' if bold else ""
    return f"{font}&{size}{text.replace('&', '&&')}"


def write_lines_below(
    ws: Worksheet, first_row: int, lines: Sequence[str], *, columns: int, height: float = 30
) -> int:
    """Write text lines (signatures, 填报单位, notes) merged over ``columns`` from ``first_row``.

    Returns the last row written; the sheet's print area is extended to include it.
    """
    r = first_row
    for text in lines:
        cell = set_safe_value(ws.cell(row=r, column=1), text)
        cell.font = Font(name=FONT_NAME, size=12)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        if columns > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=columns)
        ws.row_dimensions[r].height = height
        r += 1
    ws.print_area = f"A1:{get_column_letter(columns)}{r - 1}"
    return r - 1
