"""Target-batch reader: a district file of suspect targets (疑似靶标) to checked rows + problems."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from geoverify.clock import today_local
from geoverify.errors import CRSError, InputError, RowProblem, where_to_give
from geoverify.geo import STORE_CRS, in_china, metric_crs
from geoverify.jsontext import dumps_json_strict
from geoverify.jsontext import encode_text as _encode_text
from geoverify.readers.coords import parse_angle_detail
from geoverify.readers.tables import (
    AREA_HEADERS,
    DATE_HEADERS,
    ID_HEADERS,
    LAT_HEADERS,
    LON_HEADERS,
    TABLE_SUFFIXES,
    find_column,
    footer_count,
    normalize_header,
    read_table,
)
from geoverify.sanity import (
    MAX_BATCH_ID_LENGTH,
    MAX_ID_LENGTH,
    check_area,
    check_date,
    check_id,
    short,
)
from geoverify.values import is_missing

__all__ = ["MU_TO_M2", "TargetRead", "read_targets"]

#: Square metres in one 亩 (mu).
MU_TO_M2 = 10000.0 / 15.0

_KML_SUFFIXES = frozenset({".kml", ".kmz"})
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_PROGRESS_EVERY = 1000
#: Tabular coordinates larger than this (in absolute value) are metres, not degrees.
_METRES = 1000.0
_POINT, _POLYGON, _MULTIPOINT, _MULTIPOLYGON = 0, 3, 4, 6


@dataclass
class TargetRead:
    """Suspect targets read from one district file, checked row by row.

    Attributes
    ----------
    frame
        Good rows only, EPSG:4490. Columns: ``row`` (int, as the user sees it), ``target_id``
        (str), ``area_m2`` (float or None), ``image_date`` (date or None), ``attributes`` (dict
        of every original column to a JSON-safe value; its JSON text when read with
        ``json_attributes``) and ``geometry`` (Point or Polygon).
    problems
        One :class:`~geoverify.errors.RowProblem` per problem found; a row with a problem is
        never in ``frame``. Sorted by row.
    source
        The file name as the user gave it.
    source_crs
        The CRS the coordinates were read in, e.g. ``"EPSG:4326"`` or ``"EPSG:4544"``.
    n_rows
        Data rows (features) in the file, empty rows not counted.
    ids_generated
        True when the file has no id column and ids were made as ``{batch_id}-{row:04d}``.
    dms_carried
        Rows whose degrees-minutes-seconds had 60 seconds or minutes (a spreadsheet's
        rounding, ``106°05'60.00"``) carried to the next minute or degree.
    footer_rows
        The rows under a table that are its footer, not targets: a total (合计 10 个) or the
        sign-off lines (填表人、审核人), each without coordinates (see :func:`_footer_count`).
        Not read as targets; said, so that nothing is dropped unseen.
    """

    frame: gpd.GeoDataFrame
    problems: list[RowProblem]
    source: str
    source_crs: str
    n_rows: int
    ids_generated: bool
    dms_carried: int = 0
    footer_rows: list[int] = field(default_factory=list)


# --- small value parsers -------------------------------------------------------------------


def _message_text(value: Any) -> str | None:
    """A cell as the user would read it, for messages."""
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def _id_text(value: Any) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return str(value).strip() or None


def json_safe(value: Any) -> Any:
    """Convert a cell value to something ``json.dumps`` accepts without loss of meaning."""
    if type(value) is str:
        return value if value.strip() else None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None and value.time() == dt.time():
        return value.date().isoformat()  # a date cell read as a timestamp: keep it a date
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


_DATE_SEP = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT]+\d{1,2}[:：]\d{2}.*)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[\sT]*\d{2}:?\d{2}.*)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _parse_date(value: Any) -> dt.date | None:
    """Parse an image date; ``None`` for an empty cell; ``ValueError`` when unreadable."""
    if is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer() and 19000101 <= number <= 21001231:
            return _parse_date(str(int(number)))
        if 20000 <= number < 80000:  # an Excel serial day number shown without date format
            return _EXCEL_EPOCH + dt.timedelta(days=int(number))
        msg = f"not a date: {value!r}"
        raise ValueError(msg)
    text = str(value).strip().translate(_FULLWIDTH)
    m = _DATE_SEP.match(text) or _DATE_COMPACT.match(text)
    if m is None:
        msg = f"not a date: {value!r}"
        raise ValueError(msg)
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


_AREA_CELL = re.compile(r"^([-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?)\s*(㎡|m2|m²|平方米|亩|公顷|ha)?$")


def _area_factor(header: str) -> float:
    norm = normalize_header(header)
    if "亩" in norm or "mu" in norm:
        return MU_TO_M2
    if "公顷" in norm or "(ha)" in norm or norm.endswith("_ha"):
        return 10000.0
    return 1.0


def _parse_area(value: Any, factor: float) -> float | None:
    """Area in m² from a cell (unit from the header's ``factor`` unless the cell names one)."""
    if is_missing(value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip().translate(_FULLWIDTH)
        m = _AREA_CELL.match(text.lower().replace(" ", ""))
        if m is None:
            msg = f"not an area: {value!r}"
            raise ValueError(msg)
        number = float(m.group(1).replace(",", ""))
        unit = m.group(2)
        if unit in {"亩"}:
            factor = MU_TO_M2
        elif unit in {"公顷", "ha"}:
            factor = 10000.0
        elif unit is not None:
            factor = 1.0
    if not math.isfinite(number) or number < 0:
        msg = f"not an area: {value!r}"
        raise ValueError(msg)
    return number * factor


# --- the per-row ledger ----------------------------------------------------------------------


class _Ledger:
    """Row numbers, ids and the problems found so far, one slot per data row."""

    def __init__(self, rows: Sequence[int]) -> None:
        self.rows = list(rows)
        self.ids: list[str | None] = [None] * len(self.rows)
        #: Problems of the rows that have any, by index (most rows have none).
        self.problems: dict[int, list[RowProblem]] = {}

    def add(
        self,
        i: int,
        code: str,
        zh: str,
        en: str,
        *,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        self.problems.setdefault(i, []).append(
            RowProblem(
                row=self.rows[i],
                target_id=self.ids[i],
                reason=zh,
                reason_en=en,
                field=field,
                value=_message_text(value) if not isinstance(value, str) else value,
                code=code,
            )
        )

    def bad(self) -> NDArray[np.bool_]:
        out = np.zeros(len(self.rows), dtype=bool)
        out[list(self.problems)] = True
        return out

    def all_problems(self) -> list[RowProblem]:
        return [p for i in sorted(self.problems) for p in self.problems[i]]


def _pick_column(
    columns: Sequence[Any],
    given: str | None,
    candidates: Sequence[str],
    *,
    source: str,
    what: str,
) -> str | None:
    if given is None:
        return find_column(columns, candidates)
    found = find_column(columns, [given])
    if found is None:
        msg = (
            f"{source}: 找不到指定的{what}列 {given!r} (column {given!r} not found); "
            f"现有列 (columns): {', '.join(str(c) for c in columns)}"
        )
        raise InputError(msg)
    return found


def _check_ids(
    ledger: _Ledger,
    values: Sequence[Any] | None,
    *,
    id_col: str | None,
    batch_id: str,
) -> bool:
    """Fill ``ledger.ids`` and report missing and duplicate ids; return ``ids_generated``."""
    if values is None:
        ledger.ids = [f"{batch_id}-{row:04d}" for row in ledger.rows]
        return True
    if _plain_ids(ledger, values):
        return False
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        # A text cell the quick way (what _id_text gives for it); anything else through it.
        tid = (value.strip() or None) if type(value) is str else _id_text(value)
        ledger.ids[i] = tid
        if tid is None:
            ledger.add(
                i, "missing_id", "靶标编号为空", "target id is empty", field=id_col, value=None
            )
            continue
        bad = check_id(tid, what="靶标编号", what_en="target id")
        if bad is not None:
            ledger.ids[i] = short(tid)
            ledger.add(i, bad.code, bad.zh, bad.en, field=id_col, value=short(tid))
            continue
        if tid in first:
            row0 = ledger.rows[first[tid]]
            ledger.add(
                i,
                "duplicate_id",
                f"靶标编号重复，与第 {row0} 行相同",
                f"duplicate target id, same as row {row0}",
                field=id_col,
                value=tid,
            )
        else:
            first[tid] = i
    return False


def _plain_ids(ledger: _Ledger, values: Sequence[Any]) -> bool:
    """Fill ``ledger.ids`` a column at a time when every id is good (text that fits the
    store, no control character, no blank, no two alike: the usual file); False, with nothing
    done, otherwise."""
    if not values or set(map(type, values)) != {str}:
        return False
    ids = [v.strip() for v in values]
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    if lengths.min() == 0 or lengths.max() > MAX_ID_LENGTH:
        return False
    if not "".join(ids).isprintable() or len(set(ids)) < len(ids):
        return False  # check_id's first test, for all at once
    ledger.ids = ids
    return True


def _check_dates(ledger: _Ledger, values: Sequence[Any] | None, col: str | None) -> list[Any]:
    out: list[dt.date | None] = [None] * len(ledger.rows)
    if values is None:
        return out
    latest = today_local()  # an image is never taken in the future
    for i, value in enumerate(values):
        try:
            out[i] = _parse_date(value)
        except (ValueError, OverflowError):
            ledger.add(
                i,
                "bad_date",
                "影像日期无法识别，应为 2024-03-15 这样的日期",
                "image date cannot be parsed (expected e.g. 2024-03-15)",
                field=col,
                value=value,
            )
            continue
        day = out[i]
        bad = check_date(day, latest=latest, what="影像日期", what_en="image date") if day else None
        if bad is not None:
            out[i] = None
            ledger.add(i, bad.code, bad.zh, bad.en, field=col, value=value)
    return out


def _check_areas(ledger: _Ledger, values: Sequence[Any] | None, col: str | None) -> list[Any]:
    out: list[float | None] = [None] * len(ledger.rows)
    if values is None or col is None:
        return out
    factor = _area_factor(col)
    for i, value in enumerate(values):
        try:
            out[i] = area = _parse_area(value, factor)
        except (ValueError, OverflowError):
            ledger.add(
                i,
                "bad_area",
                "面积无法识别，应为非负数",
                "area cannot be parsed (expected a non-negative number)",
                field=col,
                value=value,
            )
            continue
        bad = check_area(area) if area is not None else None
        if bad is not None:
            out[i] = None
            ledger.add(i, bad.code, bad.zh, bad.en, field=col, value=value)
    return out


def _check_location(
    ledger: _Ledger,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    candidates: NDArray[np.bool_],
    *,
    field: str | None,
    hint_projected: NDArray[np.bool_] | None = None,
) -> None:
    """Report ``swapped_coordinates`` / ``outside_china`` among ``candidates`` (vectorised)."""
    with np.errstate(invalid="ignore"):
        inside = in_china(x, y)
        swapped = ~inside & in_china(y, x)
    for i in np.flatnonzero(candidates & ~inside).tolist():
        value = f"{x[i]:.6f}, {y[i]:.6f}"
        if swapped[i]:
            ledger.add(
                i,
                "swapped_coordinates",
                "经纬度疑似颠倒（交换后才在中国境内），请检查经度、纬度列",
                "longitude and latitude look swapped (only swapped do they fall in China)",
                field=field,
                value=value,
            )
        else:
            hint = hint_projected is not None and bool(hint_projected[i])
            extra_zh = (
                "；数值像投影坐标，请指定坐标系" + where_to_give("坐标系", "--crs") if hint else ""
            )
            extra_en = "; the values look projected, pass --crs" if hint else ""
            ledger.add(
                i,
                "outside_china",
                f"坐标不在中国境内{extra_zh}",
                f"coordinates are outside China{extra_en}",
                field=field,
                value=value,
            )


def _json_safe_column(values: list[Any]) -> list[Any]:
    """:func:`json_safe` of each value (a non-blank text cell, the usual one, as it is)."""
    return [v if type(v) is str and v.strip() else json_safe(v) for v in values]


#: Rows of attributes put into JSON text at a time (memory: the column texts of a part).
_JSON_PART = 1 << 16


def _json_value(value: Any) -> str:
    """:func:`json_safe` of ``value`` as the JSON text the store writes for it."""
    v = json_safe(value)
    kind = type(v)
    if v is None:
        return "null"
    if kind is str:
        return _encode_text(v)
    if kind is bool:
        return "true" if v else "false"
    if kind is int:
        return int.__repr__(v)
    if kind is float:
        return float.__repr__(v) if math.isfinite(v) else "null"
    try:
        return dumps_json_strict(v)
    except ValueError:  # an infinite Decimal in a list: null, as a lone one is
        return dumps_json_strict(_finite(v))


def _finite(v: Any) -> Any:
    """``v`` with every non-finite float replaced by None."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, list):
        return [_finite(x) for x in v]
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    return v


def _json_values(values: list[Any]) -> list[str]:
    """:func:`_json_value` of each value; a column of non-blank text (a CSV's) at once."""
    if set(map(type, values)) == {str} and all(values) and not any(map(str.isspace, values)):
        return list(map(_encode_text, values))
    return [_encode_text(v) if type(v) is str and v.strip() else _json_value(v) for v in values]


def _attribute_json(frame: pd.DataFrame) -> list[str]:
    """Each row's original columns as JSON text: exactly what the store writes for the
    row's dict of :func:`_attributes`, put together a column at a time (no dict per row)."""
    cols = [str(c) for c in frame.columns]
    n = len(frame)
    if not cols:
        return ["{}"] * n
    if len(set(cols)) < len(cols):  # two columns of one name: the dict keeps one of them
        return [dumps_json_strict(_finite(d)) for d in _attributes(frame)]
    template = "{" + ", ".join(_encode_text(c).replace("%", "%%") + ": %s" for c in cols) + "}"
    arrays = [frame.iloc[:, j].to_numpy(dtype=object) for j in range(len(cols))]
    out: list[str] = []
    for start in range(0, n, _JSON_PART):
        texts = [_json_values(arr[start : start + _JSON_PART].tolist()) for arr in arrays]
        out.extend(map(template.__mod__, zip(*texts, strict=True)))
    return out


def _attributes(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [str(c) for c in frame.columns]
    values = [
        _json_safe_column(frame.iloc[:, j].to_numpy(dtype=object).tolist())
        for j in range(len(cols))
    ]
    return (
        [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]
        if cols
        else [{} for _ in range(len(frame))]
    )


def _column_values(frame: pd.DataFrame, col: str | None) -> list[Any] | None:
    if col is None:
        return None
    values: list[Any] = frame[col].to_numpy(dtype=object).tolist()
    return values


def _finish(
    ledger: _Ledger,
    *,
    geoms: NDArray[np.object_],
    areas: list[Any],
    dates: list[Any],
    attrs: Sequence[Any],
    source: str,
    source_crs: str,
    ids_generated: bool,
    progress: Callable[[int], None] | None,
) -> TargetRead:
    good = ~ledger.bad()
    idx = np.flatnonzero(good)

    def kept(values: Sequence[Any]) -> Any:
        """The good rows' values (as an object array)."""
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        return arr if len(idx) == len(values) else arr[idx]

    geom = gpd.GeoSeries(geoms[idx] if len(idx) < len(geoms) else geoms, crs=STORE_CRS)
    frame = gpd.GeoDataFrame(
        {
            "row": np.asarray(ledger.rows, dtype=np.int64)[idx],
            "target_id": pd.Series(kept(ledger.ids), dtype="str"),
            "area_m2": pd.Series(kept(areas), dtype=object),
            "image_date": pd.Series(kept(dates), dtype=object),
            "attributes": pd.Series(kept(attrs), dtype=object),
        },
        geometry=geom,
        crs=STORE_CRS,
    )
    problems = sorted(ledger.all_problems(), key=lambda p: p.row)
    if progress is not None:
        progress(len(ledger.rows))
    return TargetRead(
        frame=frame,
        problems=problems,
        source=source,
        source_crs=source_crs,
        n_rows=len(ledger.rows),
        ids_generated=ids_generated,
    )


def _crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg is not None else crs.to_string()


def _as_crs(value: str | CRS, *, source: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError as e:
        msg = (
            f"{source}: 无法识别的坐标系「{value}」，请填写 EPSG 代码，例如 EPSG:4490 或 EPSG:4544 "
            f"(unknown CRS {value!r}: {e})"
        )
        raise CRSError(msg) from e


# --- tabular files ---------------------------------------------------------------------------


_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]*)?")


def _parse_coordinates(
    values: Sequence[Any],
    ledger: _Ledger,
    col: str,
    progress: Callable[[int], None] | None,
    carried: set[int] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], list[tuple[int, str, Any]]]:
    """Parse one coordinate column: values, missing mask and (index, error, raw) failures.

    Rows whose 60 seconds/minutes were carried are added to ``carried``."""
    out = np.full(len(values), np.nan)
    missing = np.zeros(len(values), dtype=bool)
    failures: list[tuple[int, str, Any]] = []
    # Plain decimals ("106.0343", "-3.5") are read at once, exactly as parse_angle reads them.
    n = len(values)
    if n and set(map(type, values)) == {str}:  # a CSV's column: matched at C speed
        plain = np.fromiter(map(bool, map(_PLAIN_DECIMAL.fullmatch, values)), dtype=bool, count=n)
    else:
        plain = np.fromiter(
            (type(v) is str and _PLAIN_DECIMAL.fullmatch(v) is not None for v in values),
            dtype=bool,
            count=n,
        )
    if plain.all():
        out[:] = np.fromiter(map(float, values), dtype=np.float64, count=n)
    elif plain.any():
        out[plain] = np.asarray(values, dtype=object)[plain].astype(np.float64)
    for i in np.flatnonzero(~plain).tolist():
        value = values[i]
        if is_missing(value):
            missing[i] = True
            continue
        try:
            out[i], was_carried = parse_angle_detail(value)
        except ValueError as e:
            failures.append((i, str(e), value))
            continue
        if was_carried and carried is not None:
            carried.add(i)
    if progress is not None:
        for i in range(_PROGRESS_EVERY, len(values), _PROGRESS_EVERY):
            progress(i)
    return out, missing, failures


def _plausible(lon: NDArray[np.float64], lat: NDArray[np.float64], crs: CRS) -> int:
    """How many points fall in China and within the area of use of ``crs`` (0.5° margin)."""
    with np.errstate(invalid="ignore"):
        inside = in_china(lon, lat)
        aou = crs.area_of_use
        if aou is not None and aou.west <= aou.east:
            inside &= (lon >= aou.west - 0.5) & (lon <= aou.east + 0.5)
            inside &= (lat >= aou.south - 0.5) & (lat <= aou.north + 0.5)
    return int(inside.sum())


def _suggest_crs(x: NDArray[np.float64], y: NDArray[np.float64]) -> str:
    """Suggest a CGCS2000 Gauss-Kruger CRS from zone-prefixed eastings (e.g. 35 500 000)."""
    for values in (x, y):
        big = values[np.isfinite(values) & (np.abs(values) >= 1e7)]
        if big.size:
            zone = int(np.median(big) // 1e6)
            if 25 <= zone <= 45:
                return f"EPSG:{4513 + zone - 25}（3度带第 {zone} 带 / 3-degree zone {zone}）"
            if 13 <= zone <= 23:
                return f"EPSG:{4491 + zone - 13}（6度带第 {zone} 带 / 6-degree zone {zone}）"
    return "EPSG:4544"


def _footer_count(frame: pd.DataFrame, id_col: str | None, lon_col: str, lat_col: str) -> int:
    """How many rows at the end of a target table are its footer (:func:`footer_count`): its
    key is the id, and a row whose longitude or latitude reads as an angle is a target's. A
    table without an id column has no footer: a broken row of it could not be told from one."""
    if id_col is None:
        return 0
    names = list(frame.columns)
    lon_at, lat_at = names.index(lon_col), names.index(lat_col)
    return footer_count(
        frame,
        key=id_col,
        holds_data=lambda row: _reads_as_angle(row[lon_at]) or _reads_as_angle(row[lat_at]),
    )


def _reads_as_angle(value: Any) -> bool:
    if is_missing(value):
        return False
    try:
        parse_angle_detail(value)
    except (ValueError, TypeError):
        return False
    return True


def _out_of_range(x: float, y: float, lon_col: str, lat_col: str) -> tuple[str, str, str]:
    """(Chinese reason, English reason, columns) of a point beyond ±180° or ±90°, naming the
    coordinate that is and its value."""
    said_zh, said_en, cols = [], [], []
    if abs(x) > 180:
        said_zh.append(f"经度 {x:g} 超出范围（应在 -180 至 180 之间）")
        said_en.append(f"longitude {x:g} out of range (-180 to 180)")
        cols.append(lon_col)
    if abs(y) > 90:
        said_zh.append(f"纬度 {y:g} 超出范围（应在 -90 至 90 之间）")
        said_en.append(f"latitude {y:g} out of range (-90 to 90)")
        cols.append(lat_col)
    return "；".join(said_zh), "; ".join(said_en), ", ".join(cols)


def _read_tabular(
    frame: pd.DataFrame,
    rows: Sequence[int],
    *,
    source: str,
    batch_id: str,
    id_field: str | None,
    lon_field: str | None,
    lat_field: str | None,
    crs: str | CRS | None,
    kml_name: bool,
    progress: Callable[[int], None] | None,
    json_attributes: bool = False,
    other_sheets: Sequence[str] = (),
) -> TargetRead:
    columns = list(frame.columns)
    id_col = _pick_column(columns, id_field, ID_HEADERS, source=source, what="编号")
    if id_col is None and kml_name and "name" in columns and frame["name"].notna().any():
        id_col = "name"
    lon_col = _pick_column(columns, lon_field, LON_HEADERS, source=source, what="经度")
    lat_col = _pick_column(columns, lat_field, LAT_HEADERS, source=source, what="纬度")
    if lon_col is None or lat_col is None or lon_col == lat_col:
        msg = (
            f"{source}: 找不到经度/纬度列，请指定"
            f"{where_to_give('经度列、纬度列', '--lon-field/--lat-field')} "
            f"(no longitude/latitude columns found; pass --lon-field/--lat-field); "
            f"现有列 (columns): {', '.join(str(c) for c in columns)}"
        )
        if other_sheets:  # the targets may be on another sheet than the first
            names = "、".join(f"“{n}”" for n in other_sheets)
            msg += (
                f"；这是第一个工作表，本文件还有工作表 {names}，靶标在其中时请指定"
                f"{where_to_give('工作表', '--sheet')} (the file has other sheets: pass --sheet)"
            )
        raise InputError(msg)
    area_col = find_column(columns, AREA_HEADERS)
    date_col = find_column(columns, DATE_HEADERS)
    footer = _footer_count(frame, id_col, lon_col, lat_col)
    footer_rows: list[int] = []
    if footer:  # a total or sign-off lines under the table: not targets
        footer_rows = list(rows[-footer:])
        frame, rows = frame.iloc[:-footer], list(rows[:-footer])

    ledger = _Ledger(rows)
    generated = _check_ids(ledger, _column_values(frame, id_col), id_col=id_col, batch_id=batch_id)

    carried: set[int] = set()
    lon_values = frame[lon_col].to_numpy(dtype=object).tolist()
    lat_values = frame[lat_col].to_numpy(dtype=object).tolist()
    xs, x_missing, x_fail = _parse_coordinates(lon_values, ledger, lon_col, progress, carried)
    ys, y_missing, y_fail = _parse_coordinates(lat_values, ledger, lat_col, None, carried)
    failed = np.zeros(len(rows), dtype=bool)
    for fails, col in ((x_fail, lon_col), (y_fail, lat_col)):
        for i, err, raw in fails:
            failed[i] = True
            zh, _, en = str(err).partition(" (")
            ledger.add(
                i,
                "unparsable_coordinates",
                f"坐标无法解析：{zh}",
                f"coordinate cannot be parsed: {en.rstrip(')') or zh}",
                field=col,
                value=raw,
            )
    missing = (x_missing | y_missing) & ~failed
    for i in np.flatnonzero(missing).tolist():
        cols = [c for c, m in ((lon_col, x_missing[i]), (lat_col, y_missing[i])) if m]
        ledger.add(
            i,
            "missing_coordinates",
            "缺少坐标（经度或纬度为空）",
            "missing coordinates (longitude or latitude is empty)",
            field=", ".join(cols),
        )
    parsed = ~(missing | failed)
    finite = np.isfinite(xs) & np.isfinite(ys)
    for i in np.flatnonzero(parsed & ~finite).tolist():
        ledger.add(
            i,
            "non_finite",
            "坐标不是有限数值（NaN 或无穷大）",
            "coordinate is not a finite number (NaN or infinity)",
            field=f"{lon_col}, {lat_col}",
            value=f"{lon_values[i]}, {lat_values[i]}",
        )
    ok = parsed & finite

    beyond = ok & ((np.abs(xs) > 180) | (np.abs(ys) > 90))
    # Metres of a projected CRS run to thousands and more; 95 or 200 are degrees out of range.
    projected_like = beyond & ((np.abs(xs) > _METRES) | (np.abs(ys) > _METRES))
    if crs is None:
        with np.errstate(invalid="ignore"):
            swapped = in_china(ys, xs)  # reported as swapped_coordinates below
        out_of_range = beyond & ~projected_like & ~swapped
        for i in np.flatnonzero(out_of_range).tolist():
            zh, en, named = _out_of_range(xs[i], ys[i], lon_col, lat_col)
            ledger.add(
                i,
                "coordinates_out_of_range",
                zh,
                en,
                field=named,
                value=f"{xs[i]:g}, {ys[i]:g}",
            )
        ok &= ~out_of_range
        src = CRS.from_epsg(4326)
        if ok.any() and projected_like.sum() * 2 >= ok.sum():
            suggestion = _suggest_crs(xs[ok], ys[ok])
            msg = (
                f"{source}: 列 {lon_col!r}/{lat_col!r} 的坐标看起来是投影坐标，请指定坐标系"
                f"{where_to_give('坐标系', '--crs')}，例如 {suggestion} "
                f"(the coordinates in columns {lon_col!r}/{lat_col!r} look "
                f"projected (metres, not degrees); pass --crs, e.g. {suggestion.split('（')[0]})"
            )
            raise CRSError(msg)
    else:
        src = _as_crs(crs, source=source)

    lon = np.full(len(rows), np.nan)
    lat = np.full(len(rows), np.nan)
    if ok.any():
        to_store = Transformer.from_crs(src, STORE_CRS, always_xy=True)
        a_lon, a_lat = to_store.transform(xs[ok], ys[ok])
        if src.is_projected:
            # Chinese surveying names northing X and easting Y: take whichever column order
            # puts more of the file in China (decided once for the whole file).
            b_lon, b_lat = to_store.transform(ys[ok], xs[ok])
            if _plausible(b_lon, b_lat, src) > _plausible(a_lon, a_lat, src):
                a_lon, a_lat = b_lon, b_lat
        lon[ok], lat[ok] = a_lon, a_lat
        bad_transform = ok & ~(np.isfinite(lon) & np.isfinite(lat))
        for i in np.flatnonzero(bad_transform).tolist():
            ledger.add(
                i,
                "outside_china",
                "坐标无法转换到 CGCS2000，超出坐标系范围",
                "coordinates cannot be transformed to CGCS2000 (outside the CRS's range)",
                field=f"{lon_col}, {lat_col}",
                value=f"{xs[i]}, {ys[i]}",
            )
        ok &= ~bad_transform
    _check_location(
        ledger,
        lon,
        lat,
        ok,
        field=f"{lon_col}, {lat_col}",
        hint_projected=projected_like if crs is None else None,
    )

    geoms = np.empty(len(rows), dtype=object)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    areas = _check_areas(ledger, _column_values(frame, area_col), area_col)
    dates = _check_dates(ledger, _column_values(frame, date_col), date_col)
    read = _finish(
        ledger,
        geoms=geoms,
        areas=areas,
        dates=dates,
        attrs=_attribute_json(frame) if json_attributes else _attributes(frame),
        source=source,
        source_crs=_crs_label(src),
        ids_generated=generated,
        progress=progress,
    )
    good = ~ledger.bad()
    read.dms_carried = sum(1 for i in carried if good[i])
    read.footer_rows = footer_rows
    return read


# --- GIS files -------------------------------------------------------------------------------


def _read_gis(
    path: str | os.PathLike[str],
    *,
    batch_id: str,
    id_field: str | None,
    lon_field: str | None,
    lat_field: str | None,
    crs: str | CRS | None,
    layer: str | None,
    progress: Callable[[int], None] | None,
    json_attributes: bool = False,
) -> TargetRead:
    from geoverify.readers.vector import read_vector

    vr = read_vector(path, layer=layer, crs=crs)
    gdf = vr.frame
    source = vr.source
    geom_name = gdf.geometry.name
    attrs_frame = pd.DataFrame(gdf.drop(columns=[geom_name]))
    kml_name = Path(path).suffix.lower() in _KML_SUFFIXES
    raw = np.asarray(gdf.geometry.array, dtype=object)

    if shapely.is_missing(raw).all() and len(raw):
        # an attribute-only layer (e.g. a GeoPackage table) with coordinate columns
        return _read_tabular(
            attrs_frame,
            vr.rows,
            source=source,
            batch_id=batch_id,
            id_field=id_field,
            lon_field=lon_field,
            lat_field=lat_field,
            crs=vr.crs,
            kml_name=kml_name,
            progress=progress,
            json_attributes=json_attributes,
        )

    columns = list(attrs_frame.columns)
    id_col = _pick_column(columns, id_field, ID_HEADERS, source=source, what="编号")
    if id_col is None and kml_name and "name" in columns and attrs_frame["name"].notna().any():
        id_col = "name"
    area_col = find_column(columns, AREA_HEADERS)
    date_col = find_column(columns, DATE_HEADERS)

    ledger = _Ledger(vr.rows)
    generated = _check_ids(
        ledger, _column_values(attrs_frame, id_col), id_col=id_col, batch_id=batch_id
    )
    n = len(raw)
    geoms = shapely.force_2d(raw)
    type_id = shapely.get_type_id(geoms)
    # a multi-part geometry holding a single part counts as that part
    single_multi = np.isin(type_id, [_MULTIPOINT, _MULTIPOLYGON]) & (
        shapely.get_num_geometries(geoms) == 1
    )
    if single_multi.any():
        geoms[single_multi] = shapely.get_geometry(geoms[single_multi], 0)
        type_id = shapely.get_type_id(geoms)

    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    coords, where = shapely.get_coordinates(geoms, return_index=True)
    non_finite = np.zeros(n, dtype=bool)
    bad_coord = ~np.isfinite(coords).all(axis=1)
    non_finite[np.unique(where[bad_coord])] = True
    supported = np.isin(type_id, [_POINT, _POLYGON])
    unsupported = ~empty & ~supported
    checkable = ~empty & ~non_finite & supported
    valid = np.ones(n, dtype=bool)
    valid[checkable] = shapely.is_valid(geoms[checkable])
    invalid = checkable & ~valid
    reasons = np.full(n, None, dtype=object)
    if invalid.any():
        reasons[invalid] = shapely.is_valid_reason(geoms[invalid])

    for i in np.flatnonzero(empty).tolist():
        ledger.add(i, "empty_geometry", "几何为空", "empty geometry", field="geometry")
    for i in np.flatnonzero(~empty & non_finite).tolist():
        ledger.add(
            i,
            "non_finite",
            "几何坐标不是有限数值（NaN 或无穷大）",
            "geometry has non-finite coordinates (NaN or infinity)",
            field="geometry",
        )
    for i in np.flatnonzero(unsupported & ~non_finite).tolist():
        name = str(geoms[i].geom_type)
        ledger.add(
            i,
            "unsupported_geometry",
            f"不支持的几何类型 {name}，靶标应为点或面（多部件请拆分）",
            f"unsupported geometry type {name}; a target is a point or a single polygon",
            field="geometry",
            value=name,
        )
    for i in np.flatnonzero(invalid).tolist():
        ledger.add(
            i,
            "invalid_geometry",
            f"几何无效：{reasons[i]}",
            f"invalid geometry: {reasons[i]}",
            field="geometry",
            value=str(reasons[i]),
        )

    ok = checkable & valid
    store_geoms = np.empty(n, dtype=object)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if ok.any():
        moved = gpd.GeoSeries(list(geoms[ok]), crs=vr.crs).to_crs(STORE_CRS)
        store_geoms[ok] = np.asarray(moved.array, dtype=object)
        rep = shapely.point_on_surface(store_geoms[ok])
        lon[ok], lat[ok] = shapely.get_x(rep), shapely.get_y(rep)
        lost = ok & ~(np.isfinite(lon) & np.isfinite(lat))
        for i in np.flatnonzero(lost).tolist():
            ledger.add(
                i,
                "outside_china",
                "坐标无法转换到 CGCS2000，超出坐标系范围",
                "coordinates cannot be transformed to CGCS2000 (outside the CRS's range)",
                field="geometry",
            )
        ok &= ~lost
    _check_location(ledger, lon, lat, ok, field="geometry")

    areas = _check_areas(ledger, _column_values(attrs_frame, area_col), area_col)
    polygons = ok & (shapely.get_type_id(store_geoms) == _POLYGON)
    need = polygons & np.array([a is None for a in areas], dtype=bool)
    if need.any():
        metric = metric_crs(float(np.median(lon[need])))
        measured = gpd.GeoSeries(list(store_geoms[need]), crs=STORE_CRS).to_crs(metric).area
        for i, a in zip(np.flatnonzero(need).tolist(), measured.to_numpy(), strict=True):
            areas[i] = float(a)
            bad = check_area(float(a), what="面的面积", what_en="the polygon's area")
            if bad is not None:
                ledger.add(i, bad.code, bad.zh, bad.en, field="geometry", value=f"{a:.0f}")
    dates = _check_dates(ledger, _column_values(attrs_frame, date_col), date_col)
    return _finish(
        ledger,
        geoms=store_geoms,
        areas=areas,
        dates=dates,
        attrs=_attribute_json(attrs_frame) if json_attributes else _attributes(attrs_frame),
        source=source,
        source_crs=_crs_label(vr.crs),
        ids_generated=generated,
        progress=progress,
    )


# --- entry point -----------------------------------------------------------------------------


def read_targets(
    path: str | os.PathLike[str],
    *,
    batch_id: str,
    id_field: str | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    crs: str | CRS | None = None,
    layer: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    progress: Callable[[int], None] | None = None,
    json_attributes: bool = False,
) -> TargetRead:
    """Read a district batch of suspect targets (疑似靶标) and check every row.

    Parameters
    ----------
    path
        CSV/XLSX (one row per target with coordinate columns) or a GIS file: GeoJSON,
        Shapefile (``.shp`` or zipped), GeoPackage, KML/KMZ.
    batch_id
        The batch's id; used to make ids ``f"{batch_id}-{row:04d}"`` when the file has none.
    id_field, lon_field, lat_field
        Column names overriding the header recognition (靶标编号/编号/目标编号/图斑编号/id;
        经度/东经/lon/X…; 纬度/北纬/lat/Y…). In KML the placemark name is the id by default.
    crs
        CRS of tabular coordinates (required for projected values such as EPSG:4544 metres),
        or of a shapefile without ``.prj``. Tabular degrees default to WGS84 ≈ CGCS2000.
        For projected tables the column order is decided once per file: whichever of
        (lon, lat) or (lat, lon) puts more points in China, since Chinese surveying calls
        the northing X.
    layer
        GeoPackage layer, or the shapefile inside a zip.
    sheet
        XLSX sheet name or 0-based index.
    encoding
        CSV encoding (detected by default).
    progress
        Called with the number of rows processed so far, and finally with the total.
    json_attributes
        Give each row's ``attributes`` as the JSON text the store writes for its dict
        (what the store keeps), built a column at a time, instead of the dict.

    Returns
    -------
    TargetRead
        Good rows in ``frame`` (EPSG:4490), every problem in ``problems`` with a stable code:
        ``missing_coordinates``, ``unparsable_coordinates``, ``non_finite``, ``outside_china``,
        ``swapped_coordinates``, ``coordinates_out_of_range``, ``duplicate_id``, ``missing_id``,
        ``id_too_long``, ``id_control_characters``, ``empty_geometry``, ``invalid_geometry``,
        ``unsupported_geometry``, ``bad_date``, ``implausible_date``, ``bad_area``,
        ``implausible_area``.

    Raises
    ------
    CRSError
        Tabular coordinates look projected and no ``crs`` was given; a GIS file has no CRS;
        ``crs`` is not a CRS.
    InputError
        The file cannot be read, or has no coordinate columns, or a named column is absent, or
        ``batch_id`` is longer than the store holds or has control characters.
    """
    suffix = Path(path).suffix.lower()
    source = os.fspath(path)
    bad = check_id(batch_id, what="批次编号", what_en="batch id", limit=MAX_BATCH_ID_LENGTH)
    if bad is not None:
        msg = f"{source}: --batch {short(batch_id)}: {bad.zh} ({bad.en})"
        raise InputError(msg)
    from geoverify.readers.vector import is_vector_file

    if is_vector_file(path):
        return _read_gis(
            path,
            batch_id=batch_id,
            id_field=id_field,
            lon_field=lon_field,
            lat_field=lat_field,
            crs=crs,
            layer=layer,
            progress=progress,
            json_attributes=json_attributes,
        )
    if suffix in TABLE_SUFFIXES:
        table = read_table(
            path,
            sheet=sheet,
            encoding=encoding,
            headers=[f for f in (id_field, lon_field, lat_field) if f],
        )
        return _read_tabular(
            table.frame,
            table.rows,
            source=source,
            batch_id=batch_id,
            id_field=id_field,
            lon_field=lon_field,
            lat_field=lat_field,
            crs=crs,
            kml_name=False,
            progress=progress,
            json_attributes=json_attributes,
            other_sheets=table.other_sheets,
        )
    msg = (
        f"{source}: 不支持的靶标文件类型 {suffix or '(无扩展名)'} (unsupported target file type); "
        "支持 (supported): .csv .xlsx .geojson .json .shp .zip .gpkg .kml .kmz"
    )
    raise InputError(msg)
