"""Read a filled dispatch workbook (反馈表) back into :class:`~geoverify.lifecycle.FeedbackRow`s."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel

from geoverify.documents.dispatch import (
    DISPATCH_FORMAT,
    DISPATCH_FORMAT_VERSION,
    FEEDBACK_FIELDS,
    META_SHEET,
    SUPPORTED_FORMAT_VERSIONS,
)
from geoverify.documents.xlsx import header_name
from geoverify.errors import InputError
from geoverify.lifecycle import FeedbackRow
from geoverify.model import EXCLUDED_AS_LEAD
from geoverify.readers.safety import ZipLimits, check_size, check_zip, parser_errors
from geoverify.values import text_or_none

__all__ = ["FeedbackWorkbook", "parse_date_text", "read_feedback"]

#: Largest unpacked size of a filled dispatch workbook (read in full, not streamed).
MAX_FEEDBACK_BYTES = 32 * 1024 * 1024
#: Feedback fields a workbook of every supported version has (排除：实际为 came with version 2).
_OPTIONAL_FIELDS = frozenset({"excluded_as"})

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


@dataclass(frozen=True)
class FeedbackWorkbook:
    """What a filled dispatch workbook holds: its metadata and its rows."""

    path: Path
    batch: str
    village: str | None
    village_code: str | None
    version: str
    issued_on: dt.date | None
    due_on: dt.date | None
    rows: list[FeedbackRow] = field(default_factory=list)


def parse_date_text(text: str) -> dt.date | None:
    """Parse ``2024-03-15``, ``2024/3/15``, ``2024.3.15``, ``2024年3月15日`` or ``20240315``.

    Returns ``None`` when the text is not one of those forms or not a real date.
    """
    t = text.strip()
    for pat in _DATE_PATTERNS:
        m = pat.match(t)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    return None


def _date_cell(v: Any) -> dt.date | str | None:
    """A date from an Excel date, an Excel serial number or date text; unparsable text stays."""
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        if 20000 <= v <= 80000:  # an Excel serial day number typed into a general cell
            d = from_excel(v)
            return d.date() if isinstance(d, dt.datetime) else None
        return str(v)
    text = str(v).strip()
    if not text:
        return None
    return parse_date_text(text) or text


def _number(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        return v.strip() or None
    return v


def _at(values: tuple[Any, ...], i: int | None) -> Any:
    if i is None or i >= len(values):
        return None
    v = values[i]
    return None if isinstance(v, str) and not v.strip() else v


def _remarks(excluded_as: str | None, remarks: str | None) -> str | None:
    """排除：实际为 (what an excluded site really is) goes first into the remarks."""
    if excluded_as is None:
        return remarks
    lead = f"{EXCLUDED_AS_LEAD}{excluded_as}"
    return f"{lead}；{remarks}" if remarks else lead


def read_feedback(path: str | os.PathLike[str]) -> FeedbackWorkbook:
    """Read a dispatch workbook that a village filled in.

    Parameters
    ----------
    path
        The ``.xlsx`` written by :func:`geoverify.documents.dispatch.write_village_workbook`
        (possibly re-saved by Excel, WPS or LibreOffice).

    Returns
    -------
    FeedbackWorkbook
        Metadata (batch, village, code, format version, dates) and one
        :class:`~geoverify.lifecycle.FeedbackRow` per non-empty row, with its true Excel row
        number. Values are as typed; :func:`geoverify.lifecycle.validate_feedback` judges them.

    Raises
    ------
    InputError
        When the file cannot be opened as XLSX or is not one of our dispatch workbooks.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: 文件不存在 (file not found)"
        raise InputError(msg)
    source = str(p)
    # Before any part is unpacked; a village's workbook is small and is read in full.
    check_zip(p, source=source, kind="XLSX", limits=ZipLimits(total=MAX_FEEDBACK_BYTES))
    with parser_errors(source, "XLSX"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # parts openpyxl drops do not matter
        try:
            check_size(p.stat().st_size, source=source, limit=MAX_FEEDBACK_BYTES)
            data = p.read_bytes()
        except OSError as e:
            msg = f"{p}: 无法读取文件 (cannot read file): {e.strerror or e}"
            raise InputError(msg) from e
        wb = load_workbook(io.BytesIO(data), data_only=True)
        # The same cells as typed: a formula whose result was never computed (a file saved by
        # a program that does not calculate) is read as the text that was typed.
        typed = load_workbook(io.BytesIO(data), data_only=False)
        meta, batch, version, rows = _read_workbook(p, wb, typed)

    def meta_date(key: str) -> dt.date | None:
        v = _date_cell(meta.get(key))
        return v if isinstance(v, dt.date) else None

    return FeedbackWorkbook(
        path=p,
        batch=batch,
        village=text_or_none(meta.get("village")),
        village_code=text_or_none(meta.get("village_code")),
        version=version,
        issued_on=meta_date("issued_on"),
        due_on=meta_date("due_on"),
        rows=rows,
    )


#: Rows below the recorded header row where a moved header is looked for.
_HEADER_SEARCH_ROWS = 20


def _header(ws: Any, row: int, first_fb: int) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """The columns of the header on ``row`` of ``ws``: the target's (by header) and the fill-in
    block's fields (looked up from its first column ``first_fb``: the district's own columns
    before it may also be called 备注, …), and the required headers missing."""
    cells = next(ws.iter_rows(min_row=row, max_row=row, values_only=True), ())
    # A header shown on two lines ("铲除面积\n（平方米）") is the same header.
    headers = [header_name(text_or_none(c)) for c in cells]
    col: dict[str, int] = {}
    for i, h in enumerate(headers):
        if h is not None and h not in col:
            col[h] = i
    fb_col: dict[str, int] = {}
    for field_name, names in FEEDBACK_FIELDS.items():
        for name in names:
            hits = [i for i, h in enumerate(headers) if h == name and i >= first_fb]
            if hits:
                fb_col[field_name] = hits[0]
                break
    missing = [] if "靶标编号" in col else ["靶标编号"]
    missing += [
        names[0]
        for field_name, names in FEEDBACK_FIELDS.items()
        if field_name not in fb_col and field_name not in _OPTIONAL_FIELDS
    ]
    return col, fb_col, missing


def _read_workbook(
    p: Path, wb: Any, typed: Any
) -> tuple[dict[str, Any], str, str, list[FeedbackRow]]:
    """Metadata, batch, format version and rows of an opened dispatch workbook."""
    try:
        if META_SHEET not in wb.sheetnames:
            msg = (
                f"{p}: 不是本系统生成的派发表（缺少隐藏的元数据工作表 {META_SHEET}）"
                f" (not a geoverify dispatch workbook: sheet {META_SHEET!r} is missing)"
            )
            raise InputError(msg)
        meta: dict[str, Any] = {}
        for key, value in wb[META_SHEET].iter_rows(min_row=2, max_col=2, values_only=True):
            if key is not None:
                meta[str(key)] = value
        if meta.get("format") != DISPATCH_FORMAT:
            msg = (
                f"{p}: 不是本系统生成的派发表（格式标记为 {meta.get('format')!r}）"
                f" (not a geoverify dispatch workbook)"
            )
            raise InputError(msg)
        version = str(meta.get("version"))
        if version not in SUPPORTED_FORMAT_VERSIONS:
            msg = (
                f"{p}: 派发表格式版本 {version} 不受支持，应为 {DISPATCH_FORMAT_VERSION} "
                f"(unsupported dispatch format version {version!r})"
            )
            raise InputError(msg)
        batch = text_or_none(meta.get("batch"))
        if not batch:
            msg = f"{p}: 元数据缺少批次编号 (metadata has no batch id)"
            raise InputError(msg)
        sheet_name = str(meta.get("sheet") or "")
        if sheet_name not in wb.sheetnames:
            msg = f"{p}: 找不到工作表 {sheet_name!r} (sheet {sheet_name!r} not found)"
            raise InputError(msg)
        ws = wb[sheet_name]
        try:
            header_row = int(meta.get("header_row") or 1)
        except (TypeError, ValueError) as e:
            msg = f"{p}: 元数据中的表头行号无效 (bad header_row {meta.get('header_row')!r})"
            raise InputError(msg) from e
        try:
            first_fb = max(int(meta.get("feedback_first_column") or 1) - 1, 0)
        except (TypeError, ValueError):
            first_fb = 0
        col, fb_col, missing = _header(ws, header_row, first_fb)
        if missing:
            # A row inserted above the table (a title, a note), or one deleted, moves the
            # header: it is then the first row (to 20 below the recorded one) that has every
            # column. Without one, the row that has most of them is the header said to be
            # changed (moved and changed, the recorded row may be a title or an answer).
            best = (len(missing), header_row, missing)
            last = header_row + _HEADER_SEARCH_ROWS
            for r in range(1, min(last, ws.max_row or last) + 1):
                if r == header_row:
                    continue
                found = _header(ws, r, first_fb)
                if not found[2]:
                    header_row = r
                    col, fb_col, missing = found
                    break
                if len(found[2]) < best[0]:
                    best = (len(found[2]), r, found[2])
            else:
                _, header_row, missing = best
        if missing:
            msg = (
                f"{p}: 第 {header_row} 行缺少列：{'、'.join(missing)}，其他行也找不到完整的表头"
                f"（表头被改动？） (columns missing on row {header_row}: {', '.join(missing)}; "
                "no other row has the whole header)"
            )
            raise InputError(msg)

        def get(values: tuple[Any, ...], name: str) -> Any:
            i = col.get(name)
            return _at(values, i)

        def fb(values: tuple[Any, ...], field_name: str) -> Any:
            return _at(values, fb_col.get(field_name))

        typed_rows = typed[sheet_name].iter_rows(min_row=header_row + 1, values_only=True)
        rows: list[FeedbackRow] = []
        for r, (cached, as_typed) in enumerate(
            zip(ws.iter_rows(min_row=header_row + 1, values_only=True), typed_rows, strict=False),
            start=header_row + 1,
        ):
            values = tuple(
                t if c is None and isinstance(t, str) and t.startswith("=") else c
                for c, t in zip(cached, as_typed, strict=False)
            )
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            rows.append(
                FeedbackRow(
                    row=r,
                    target_id=text_or_none(get(values, "靶标编号")),
                    village=text_or_none(get(values, "村（社区）")),
                    verified_on=_date_cell(fb(values, "verified_on")),
                    verified_by=text_or_none(fb(values, "verified_by")),
                    result_label=text_or_none(fb(values, "result_label")),
                    plants=_number(fb(values, "plants")),
                    area_m2=_number(fb(values, "area_m2")),
                    eradicated_on=_date_cell(fb(values, "eradicated_on")),
                    case_no=text_or_none(fb(values, "case_no")),
                    remarks=_remarks(
                        text_or_none(fb(values, "excluded_as")), text_or_none(fb(values, "remarks"))
                    ),
                )
            )
    finally:
        wb.close()
        typed.close()

    return meta, batch, version, rows
