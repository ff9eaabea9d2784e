"""Tabular readers: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) and XLSX, with true row numbers."""

from __future__ import annotations

import csv
import io
import itertools
import operator
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from geoverify.errors import InputError, TooLargeError
from geoverify.readers.safety import check_zip, parser_errors
from geoverify.values import is_missing

__all__ = [
    "AREA_HEADERS",
    "DATE_HEADERS",
    "ID_HEADERS",
    "LAT_HEADERS",
    "LON_HEADERS",
    "TABLE_SUFFIXES",
    "Table",
    "columns_matching",
    "find_column",
    "normalize_header",
    "read_table",
]

#: Headers that name a target's id column (靶标编号), in order of preference.
ID_HEADERS: tuple[str, ...] = (
    "靶标编号",
    "疑似靶标编号",
    "目标编号",
    "图斑编号",
    "编号",
    "target_id",
    "targetid",
    "id",
)
#: Headers of a longitude (easting) column, in order of preference.
LON_HEADERS: tuple[str, ...] = (
    "经度",
    "东经",
    "lon",
    "lng",
    "long",
    "longitude",
    "中心点经度",
    "中心经度",
    "x",
    "x坐标",
    "坐标x",
)
#: Headers of a latitude (northing) column, in order of preference.
LAT_HEADERS: tuple[str, ...] = (
    "纬度",
    "北纬",
    "lat",
    "latitude",
    "中心点纬度",
    "中心纬度",
    "y",
    "y坐标",
    "坐标y",
)
#: Headers of an area column (the unit is read from the header: 亩, 公顷, otherwise m²).
AREA_HEADERS: tuple[str, ...] = (
    "面积",
    "面积(平方米)",
    "面积(m2)",
    "面积m2",
    "面积平方米",  # a shapefile's field name has no room for brackets (10 bytes)
    "面积_平方米",
    "图斑面积",
    "图斑面积平方米",
    "tbmj",  # 图斑面积 in the land survey's pinyin initials
    "mj",
    "area",
    "area_m2",
    "面积(亩)",
    "面积亩",
    "亩",
    "area_mu",
)
#: Headers of the satellite image date column.
DATE_HEADERS: tuple[str, ...] = (
    "影像时间",
    "影像日期",
    "成像时间",
    "成像日期",
    "拍摄时间",
    "image_date",
    "imagedate",
)

#: File suffixes read by :func:`read_table`.
TABLE_SUFFIXES: frozenset[str] = frozenset({".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls"})

#: Most cells (rows × columns as stored) read from one sheet; memory stays bounded.
MAX_TABLE_CELLS = 10_000_000

_HEADER_SCAN_ROWS = 10
_BRACKETS = re.compile(r"[(\[{<][^)\]}>]*[)\]}>]")
_WS = re.compile(r"\s+")
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_CJK_BRACKETS = str.maketrans({"【": "[", "】": "]", "〔": "(", "〕": ")", "《": "<", "》": ">"})


@dataclass
class Table:
    """A table read from a CSV or XLSX file.

    Attributes
    ----------
    frame
        One column per header cell (object dtype). CSV cells are ``str`` or ``None``; XLSX
        cells keep their type (``str``, ``int``, ``float``, ``datetime``, ``bool``) or ``None``.
    rows
        For each frame row, the row number a user sees in Excel/WPS or a text editor (the
        header and any title rows above it are counted).
    source
        The file name as the user gave it.
    encoding
        The text encoding a CSV was decoded with (``None`` for XLSX).
    header_row
        The row number of the header row.
    other_sheets
        An XLSX read from its first sheet (none named): the names of its other sheets.
    """

    frame: pd.DataFrame
    rows: list[int]
    source: str
    encoding: str | None
    header_row: int
    other_sheets: list[str] = field(default_factory=list)


def normalize_header(name: object) -> str:
    """Normalise a header for matching: full-width → half-width, lower case, no spaces.

    ``面积（平方米）``, ``面积 (平方米)`` and ``面积(平方米)`` all become ``面积(平方米)``.
    """
    text = "" if name is None else str(name)
    text = text.translate(_FULLWIDTH).translate(_CJK_BRACKETS)
    text = unicodedata.normalize("NFKC", text)
    return _WS.sub("", text).strip().lower()


def _strip_brackets(norm: str) -> str:
    return _BRACKETS.sub("", norm)


def columns_matching(columns: Iterable[str], candidates: Iterable[str]) -> set[str]:
    """Every one of ``columns`` that one of ``candidates`` takes by :func:`find_column`'s rules
    (all of them, not only the first)."""
    names = list(columns)
    hits: set[str] = set()
    for candidate in candidates:
        while True:
            hit = find_column([n for n in names if n not in hits], [candidate])
            if hit is None:
                break
            hits.add(hit)
    return hits


def find_column(columns: Iterable[object], candidates: Iterable[str]) -> str | None:
    """Return the first of ``columns`` that matches one of ``candidates``, or ``None``.

    Headers are compared after :func:`normalize_header`. Candidates are tried in order; an exact
    match is preferred, then a match ignoring bracketed content on either side (so ``经度(°)``
    matches ``经度``). The original column name is returned.
    """
    cols = [c for c in columns if c is not None]
    norm = [normalize_header(c) for c in cols]
    cands = [normalize_header(c) for c in candidates]
    for cand in cands:
        for col, n in zip(cols, norm, strict=True):
            if n == cand:
                return str(col)
    for cand in cands:
        bare = _strip_brackets(cand)
        if not bare:
            continue
        for col, n in zip(cols, norm, strict=True):
            if _strip_brackets(n) == bare:
                return str(col)
    return None


_KNOWN_HEADERS = frozenset(normalize_header(h) for h in (*ID_HEADERS, *LON_HEADERS, *LAT_HEADERS))


#: Words of a table's footer: its totals and its sign-off lines.
_FOOTER_WORDS = re.compile(
    r"合\s*计|总\s*计|小\s*计|共\s*计|填表|制表|填报|审核|审批|负责人|联系电话|盖章|签字|签名"
)
#: A count in a total's key cell (合计 | 3个), which an id or a village never is.
_FOOTER_COUNT = re.compile(r"^\s*共?\s*\d+\s*[个处条]\s*$")
#: Rows at the end of a table looked at for a footer.
FOOTER_SCAN = 6


def footer_said(rows: Sequence[int], what: str) -> str:
    """The footer ``rows`` (:func:`footer_count`) as a person reads them, for a table of
    ``what`` (靶标, 踏查记录); empty when there are none."""
    if not rows:
        return ""
    return f"表格下方第 {'、'.join(str(r) for r in rows)} 行是合计或签名等，不是{what}，未导入"


def footer_count(frame: pd.DataFrame, *, key: str, holds_data: Callable[[list[Any]], bool]) -> int:
    """How many rows at the end of ``frame`` are its footer — a total (合计 10个) or the
    sign-off lines (填表人…审核人…) a district's or a village's sheet ends with — not data.

    Each such row begins with a footer's word (its first cell that holds anything), its
    ``key`` cell (a target's id, a patrol's village) is empty, a footer's word too or a
    count (3个), and ``holds_data`` (the row's cells, in the frame's column order) says it
    holds none of the data a row must have (coordinates, a date). Only the last
    :data:`FOOTER_SCAN` rows are looked at, from the bottom up; the first row that is not a
    footer's ends the footer.
    """
    tail = frame.tail(FOOTER_SCAN)
    cells = tail.to_numpy(dtype=object).tolist()
    key_at = list(tail.columns).index(key)
    count = 0
    for row in reversed(cells):
        lead = next((str(v) for v in row if not is_missing(v)), "")
        given = row[key_at]
        keyed = (
            is_missing(given) or _FOOTER_WORDS.search(str(given)) or _FOOTER_COUNT.match(str(given))
        )
        if not (_FOOTER_WORDS.search(lead) and keyed) or holds_data(row):
            break
        count += 1
    return count


def _is_header_row(cells: Sequence[object], extra: frozenset[str]) -> bool:
    for cell in cells:
        if cell is None:
            continue
        n = normalize_header(cell)
        if n in _KNOWN_HEADERS or n in extra or _strip_brackets(n) in _KNOWN_HEADERS:
            return True
    return False


_LON_NAMES = frozenset(normalize_header(h) for h in LON_HEADERS)
_LAT_NAMES = frozenset(normalize_header(h) for h in LAT_HEADERS)


def _names_one_of(cell: object, names: frozenset[str]) -> bool:
    n = normalize_header(cell)
    return n in names or _strip_brackets(n) in names


def _is_number(cell: object) -> bool:
    if isinstance(cell, int | float):
        return True
    try:
        float(str(cell))
    except ValueError:
        return False
    return True


def _is_lower_header(
    upper: Sequence[object], lower: Sequence[object], extra: frozenset[str]
) -> bool:
    """Whether ``lower`` is the second row of a header on two rows (坐标 merged over 经度 and
    纬度): it names a longitude and a latitude, holds no number, and leaves empty every column
    the upper row names (a data row has its id under 靶标编号)."""
    lon = lat = False
    for up, low in zip(upper, lower, strict=True):
        if low is None:
            continue
        if (up is not None and _is_header_row([up], extra)) or _is_number(low):
            return False
        lon = lon or _names_one_of(low, _LON_NAMES)
        lat = lat or _names_one_of(low, _LAT_NAMES)
    return lon and lat


def _clean_cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The cells of ``rows`` column by column, short rows padded with None."""
    lengths = set(map(len, rows))
    if len(lengths) == 1:
        return [list(map(operator.itemgetter(j), rows)) for j in range(lengths.pop())]
    return [list(col) for col in itertools.zip_longest(*rows, fillvalue=None)]


def _build(
    columns: list[list[Any]],
    *,
    source: str,
    encoding: str | None,
    extra_headers: Iterable[str],
) -> Table:
    """Pick the header row among the file's rows and build the table.

    ``columns`` holds the cleaned cells of every row of the file (row ``i`` is the file's row
    ``i + 1``) column by column, short rows padded with None."""
    n = len(columns[0]) if columns else 0
    gaps = [None in col for col in columns]
    if not all(gaps):  # a column without an empty cell: no row is empty
        nonempty = np.arange(n)
    else:
        filled = np.zeros(n, dtype=bool)
        for col in columns:
            filled |= np.fromiter((v is not None for v in col), dtype=bool, count=n)
        nonempty = np.flatnonzero(filled)
    if not len(nonempty):
        msg = f"{source}: 文件中没有任何数据 (the file has no data)"
        raise InputError(msg)
    extra = frozenset(normalize_header(h) for h in extra_headers if h)
    header_idx = -1
    for i, r in enumerate(nonempty[:_HEADER_SCAN_ROWS].tolist()):
        if _is_header_row([col[r] for col in columns], extra):
            header_idx = i
            break
    recognised = header_idx >= 0
    header_idx = max(header_idx, 0)
    header_row = int(nonempty[header_idx])
    header_cells = [col[header_row] for col in columns]
    if recognised and header_idx + 1 < len(nonempty):
        # A header on two rows (坐标 merged over 经度 and 纬度): the lower row names the
        # columns it has a name for, the upper one the rest.
        below = int(nonempty[header_idx + 1])
        lower = [col[below] for col in columns]
        if _is_lower_header(header_cells, lower, extra):
            header_cells = [h if b is None else b for h, b in zip(header_cells, lower, strict=True)]
            header_idx += 1
            header_row = below
    data = nonempty[header_idx + 1 :]
    # the data rows follow each other (no empty row among them): a view, not a copy
    where: slice | np.ndarray = (
        slice(header_row + 1, n) if len(data) == n - header_row - 1 else data
    )

    names: list[str] = []
    kept: list[np.ndarray] = []
    seen: dict[str, int] = {}
    for j, (raw, col, gap) in enumerate(zip(header_cells, columns, gaps, strict=True)):
        values = np.fromiter(col, dtype=object, count=n)[where]
        if raw is None and (not len(values) or (gap and not any(v is not None for v in values))):
            continue  # no header and no data
        name = str(raw).strip() if raw is not None else f"列{j + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
        kept.append(values)
    frame = pd.DataFrame(dict(enumerate(kept)), dtype=object)
    frame.columns = pd.Index(names, dtype=object)
    return Table(
        frame=frame,
        rows=(data + 1).tolist(),
        source=source,
        encoding=encoding,
        header_row=header_row + 1,
    )


#: Half of a UTF-16 surrogate pair: no character, and no text the store can keep.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _decode(raw: bytes, source: str, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as e:
            msg = f"{source}: 无法用编码 {encoding} 读取文件 (cannot decode with {encoding}): {e}"
            raise InputError(msg) from e
        # A codec asked for by name (UTF-7, unicode_escape, …) may give lone surrogates; the
        # ones tried below never do.
        bad = _SURROGATE.search(text)
        if bad is not None:
            line = text.count("\n", 0, bad.start()) + 1
            msg = (
                f"{source}: 第 {line} 行用编码 {encoding} 读出的不是有效字符，请确认文件的编码 "
                f"(line {line}: the encoding {encoding} gives no valid character there "
                f"(an unpaired surrogate); check the file's encoding)"
            )
            raise InputError(msg)
        return text, encoding
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        attempts = ["utf-16"]
    elif raw.startswith(b"\xef\xbb\xbf"):
        attempts = ["utf-8-sig"]
    else:
        attempts = ["utf-8"]
    for enc in attempts:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as e:
        msg = (
            f"{source}: 文件编码无法识别，请另存为 UTF-8 "
            f"(encoding is neither UTF-8 nor GBK/GB18030; save the file as UTF-8): {e}"
        )
        raise InputError(msg) from e


def _first_lines(text: str, count: int, size: int = 1 << 16) -> list[str]:
    """The first ``count`` non-blank lines of ``text`` (as ``str.splitlines`` splits it),
    from as little of the text as that takes (``size`` characters first)."""
    while True:
        head = text[:size]
        lines = head.splitlines()
        if len(head) < len(text):
            lines.pop()  # perhaps cut short
        found = [ln for ln in lines if ln.strip()][:count]
        if len(found) == count or len(head) == len(text):
            return found
        size *= 4


def _sniff_delimiter(text: str) -> str:
    lines = _first_lines(text, 20)
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        counts = {d: sum(ln.count(d) for ln in lines) for d in (",", "\t", ";")}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _read_csv(path: Path, source: str, encoding: str | None, extra: Iterable[str]) -> Table:
    try:
        raw = path.read_bytes()
    except OSError as e:
        msg = f"{source}: 无法读取文件 (cannot read file): {e}"
        raise InputError(msg) from e
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        msg = (
            f"{source}: 这是 Excel 文件而不是 CSV，请使用 .xlsx 扩展名 "
            "(this is an Excel file, not CSV)"
        )
        raise InputError(msg)
    text, used = _decode(raw, source, encoding)
    with parser_errors(source, "CSV"):
        delimiter = _sniff_delimiter(text)
    del text  # decoded again as it is read: a StringIO of it would take four bytes a character
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding=used, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as e:
        line = reader.line_num
        msg = f"{source}: 第 {line} 行 CSV 格式错误 (malformed CSV at line {line}): {e}"
        raise InputError(msg) from e
    del stream, raw
    columns = _columns(rows)
    del rows
    # csv gives text cells only (None where a row is short): _clean_cell of each, the quick
    # way, a column at a time
    for j, col in enumerate(columns):
        if None in col:
            columns[j] = [(c.strip() or None) if c else None for c in col]
        else:
            columns[j] = [c.strip() or None for c in col]
    return _build(columns, source=source, encoding=used, extra_headers=extra)


def _read_xlsx(path: Path, source: str, sheet: str | int | None, extra: Iterable[str]) -> Table:
    import openpyxl

    check_zip(path, source=source, kind="XLSX")  # before any part is unpacked
    # The file is opened here so that it is closed whatever openpyxl raises half-way.
    with (
        parser_errors(source, "XLSX"),
        warnings.catch_warnings(),
        _open_binary(path, source) as fh,
    ):
        # openpyxl warns about parts it drops (extensions WPS writes); they do not matter here.
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        try:
            ws = _pick_sheet(wb, sheet, source)
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # some writers store a wrong <dimension>; read everything
            records: list[list[Any]] = []
            cells = 0
            for row in ws.iter_rows(values_only=True):
                cells += max(len(row), 1)
                if cells > MAX_TABLE_CELLS:
                    msg = (
                        f"{source}: 表格过大（超过 {MAX_TABLE_CELLS} 个单元格），拒绝读取 "
                        f"(the sheet has more than {MAX_TABLE_CELLS} cells)"
                    )
                    raise TooLargeError(msg)
                records.append([_clean_cell(c) for c in row])
            others = [str(n) for n in wb.sheetnames[1:]] if sheet is None else []
        finally:
            wb.close()
    table = _build(_columns(records), source=source, encoding=None, extra_headers=extra)
    table.other_sheets = others
    return table


@contextmanager
def _open_binary(path: Path, source: str) -> Iterator[BinaryIO]:
    try:
        fh = path.open("rb")
    except OSError as e:
        msg = f"{source}: 无法读取文件 (cannot read file): {e.strerror or e}"
        raise InputError(msg) from e
    with fh:
        yield fh


def _pick_sheet(wb: Any, sheet: str | int | None, source: str) -> Any:
    names = wb.sheetnames
    if not names:
        msg = f"{source}: 工作簿中没有工作表 (the workbook has no sheet)"
        raise InputError(msg)
    if sheet is None:
        return wb.worksheets[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            msg = f"{source}: 没有第 {sheet} 个工作表 (no sheet index {sheet}); 工作表: {names}"
            raise InputError(msg)
        return wb.worksheets[sheet]
    if sheet not in names:
        msg = f"{source}: 没有名为 {sheet!r} 的工作表 (no sheet named {sheet!r}); 工作表: {names}"
        raise InputError(msg)
    return wb[sheet]


def read_table(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    headers: Iterable[str] = (),
) -> Table:
    """Read a CSV or XLSX table with true row numbers.

    Parameters
    ----------
    path
        ``.csv`` / ``.txt`` / ``.tsv`` (delimiter sniffed among comma, tab, semicolon) or
        ``.xlsx`` / ``.xlsm``. ``.xls`` is refused with a request to save as ``.xlsx``.
    sheet
        XLSX sheet name or 0-based index; the first sheet by default.
    encoding
        CSV text encoding; by default UTF-8 with BOM, UTF-8, then GB18030 (a superset of GBK).
    headers
        Extra header names (for example a user's ``--lon-field``) that mark the header row.

    Returns
    -------
    Table
        The header row is the first of the first 10 non-empty rows that contains a recognised
        id or coordinate header (or one of ``headers``); title rows above it are skipped. When
        no row qualifies, the first non-empty row is the header. Fully empty rows are dropped
        but row numbers stay true.

    Raises
    ------
    InputError
        The file is missing, unreadable, empty, of an unsupported type, or the sheet is absent.
    """
    p = Path(path)
    source = os.fspath(path)
    suffix = p.suffix.lower()
    if suffix == ".xls":
        msg = (
            f"{source}: 不支持旧版 .xls 格式，请在 Excel/WPS 中另存为 .xlsx "
            "(legacy .xls is not supported; save it as .xlsx)"
        )
        raise InputError(msg)
    if not p.is_file():
        msg = f"{source}: 文件不存在 (file not found)"
        raise InputError(msg)
    extra = tuple(headers)
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(p, source, sheet, extra)
    if suffix in {".csv", ".txt", ".tsv"}:
        return _read_csv(p, source, encoding, extra)
    kind = suffix or "(无扩展名)"
    msg = f"{source}: 不支持的表格类型 {kind} (unsupported table type; use .csv or .xlsx)"
    raise InputError(msg)
