"""Village (村/社区) and group (组) boundary readers: field detection, codes, kinds, EPSG:4490."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geoverify.errors import InputError, RowProblem
from geoverify.geo import STORE_CRS
from geoverify.readers.tables import TABLE_SUFFIXES, find_column, read_table
from geoverify.readers.vector import list_layers, read_vector

__all__ = [
    "GROUP_NAME_FIELDS",
    "GROUP_VILLAGE_FIELDS",
    "VILLAGE_CODE_FIELDS",
    "VILLAGE_KIND_FIELDS",
    "VILLAGE_NAME_FIELDS",
    "BoundaryRead",
    "GroupRead",
    "read_groups",
    "read_villages",
]

#: Candidate village-name fields, in order of preference.
VILLAGE_NAME_FIELDS: tuple[str, ...] = (
    "村名",
    "村（社区）",
    "村(社区)",
    "村社区",
    "村名称",
    "社区名称",
    "名称",
    "NAME",
    "Name",
    "name",
    "XZQMC",
    "CUNMC",
    "MC",
)
#: Candidate village-code fields, in order of preference.
VILLAGE_CODE_FIELDS: tuple[str, ...] = (
    "code",
    "代码",
    "编码",
    "行政区划代码",
    "XZQDM",
    "CUNDM",
    "DM",
)
#: Candidate village-kind (村/社区) fields.
VILLAGE_KIND_FIELDS: tuple[str, ...] = ("kind", "类型")
#: Candidate fields naming a group's village (code or name).
GROUP_VILLAGE_FIELDS: tuple[str, ...] = ("village_code", "村代码", "村名", "村（社区）", "village")
#: Candidate group-name fields.
GROUP_NAME_FIELDS: tuple[str, ...] = ("组", "组名", "name", "NAME", "名称")

_KIND_WORDS: dict[str, str] = {
    "村": "村",
    "行政村": "村",
    "村委会": "村",
    "村民委员会": "村",
    "village": "村",
    "社区": "社区",
    "居委会": "社区",
    "社区居委会": "社区",
    "居民委员会": "社区",
    "community": "社区",
}


@dataclass
class BoundaryRead:
    """Village polygons read from a file.

    Attributes
    ----------
    frame
        EPSG:4490, one row per usable feature: ``code``, ``name``, ``kind`` (村|社区),
        ``attributes`` (dict of the file's columns), ``geometry`` (Polygon/MultiPolygon, 2-D,
        possibly invalid — repair is :mod:`geoverify.boundaries`' job).
    rows
        1-based feature number of each frame row.
    problems
        Features left out of ``frame`` (missing name, duplicate name/code, non-polygon, empty
        geometry, unknown kind) and the second and later rows of duplicates.
    source
        File name as given.
    name_field, code_field
        The fields used; ``code_field`` is None when codes were generated
        (``V`` + 3-digit rank of the name).
    """

    frame: gpd.GeoDataFrame
    rows: list[int]
    problems: list[RowProblem]
    source: str
    name_field: str
    code_field: str | None
    kind_field: str | None = None


@dataclass
class GroupRead:
    """Village groups (组) read from a file.

    Attributes
    ----------
    frame
        EPSG:4490: ``village`` (the village code or name as written in the file), ``name``,
        ``attributes`` (dict), ``geometry`` (Polygon/MultiPolygon, or None when the file has no
        polygon for the group, e.g. a plain table).
    rows
        Feature number (GIS) or spreadsheet row number (CSV/XLSX) of each frame row.
    problems
        Rows left out: missing village or name, duplicate (village, name), non-polygon geometry.
    source
        File name as given.
    """

    frame: gpd.GeoDataFrame
    rows: list[int]
    problems: list[RowProblem]
    source: str
    village_field: str = ""
    name_field: str = ""


# --- helpers -------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """A value fit for a JSON attributes column (None for missing, ISO text for dates)."""
    if value is None:
        return None
    if isinstance(value, BaseGeometry):
        return value.wkt
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _attribute_text(value: Any) -> str | None:
    """Cell value as trimmed text; integral floats lose their ``.0``; blanks become None."""
    value = _jsonable(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u3000", " ").strip()
    return text or None


def _choose_field(
    columns: Sequence[str],
    given: str | None,
    candidates: Sequence[str],
    *,
    source: str,
    option: str,
    what: str,
) -> str | None:
    if given is not None:
        if given in columns:
            return given
        found = find_column(columns, [given])
        if found is None:
            msg = (
                f"{source}: 没有字段 {given!r} (no field {given!r} for {what}); "
                f"现有字段 (fields): {', '.join(columns) or '无 (none)'}; 请检查 {option}"
            )
            raise InputError(msg)
        return found
    return find_column(columns, candidates)


def _missing_field(columns: Sequence[str], *, source: str, option: str, what: str) -> InputError:
    msg = (
        f"{source}: 找不到{what}字段，请用 {option} 指定 (no {what} field found; pass {option}); "
        f"现有字段 (fields): {', '.join(columns) or '无 (none)'}"
    )
    return InputError(msg)


def _default_layer(path: str | os.PathLike[str], layer: str | None, preferred: str) -> str | None:
    """``preferred`` when a GeoPackage has a layer of that name and none was asked for."""
    if layer is not None or Path(path).suffix.lower() != ".gpkg":
        return layer
    layers = list_layers(path)
    return preferred if preferred in layers else None


def _attributes(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [c for c in frame.columns if c != frame.geometry.name]
    values = frame[cols].astype(object).to_numpy() if cols else np.empty((len(frame), 0))
    return [
        {str(c): _jsonable(v) for c, v in zip(cols, row, strict=True)} for row in values.tolist()
    ]


def _to_store_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = shapely.force_2d(frame.geometry.to_numpy())
    out = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    if out.crs is not None and not CRS.from_user_input(out.crs).equals(STORE_CRS):
        out = out.to_crs(STORE_CRS)
    return out.set_crs(STORE_CRS, allow_override=True)


def _geometry_problem(
    geom: BaseGeometry | None, row: int, ident: str | None, *, allow_none: bool
) -> RowProblem | None:
    if geom is None or (isinstance(geom, float) and math.isnan(geom)):
        if allow_none:
            return None
        return RowProblem(
            row, ident, "没有几何图形", "no geometry", field="geometry", code="empty_geometry"
        )
    if isinstance(geom, Polygon | MultiPolygon):
        if geom.is_empty:
            if allow_none:
                return None
            return RowProblem(
                row,
                ident,
                "几何图形为空",
                "empty geometry",
                field="geometry",
                code="empty_geometry",
            )
        return None
    return RowProblem(
        row,
        ident,
        f"几何类型 {geom.geom_type} 不是面 (只支持 Polygon/MultiPolygon)",
        f"unsupported geometry type {geom.geom_type}; only Polygon/MultiPolygon",
        field="geometry",
        value=geom.geom_type,
        code="unsupported_geometry",
    )


# --- villages ------------------------------------------------------------------------------


def read_villages(
    path: str | os.PathLike[str],
    *,
    name_field: str | None = None,
    code_field: str | None = None,
    kind_field: str | None = None,
    crs: str | CRS | None = None,
    layer: str | None = None,
) -> BoundaryRead:
    """Read village/community (村/社区) polygons from any vector file.

    Parameters
    ----------
    path
        GPKG (layer ``villages`` by default when present), Shapefile/zip, GeoJSON, KML/KMZ.
    name_field, code_field, kind_field
        Field names; detected when None among :data:`VILLAGE_NAME_FIELDS`,
        :data:`VILLAGE_CODE_FIELDS`, :data:`VILLAGE_KIND_FIELDS` (headers compared after
        full-width/half-width and case normalisation).
    crs
        CRS of a file that has none (see :func:`geoverify.readers.vector.read_vector`).
    layer
        Layer (GPKG) or ``.shp`` inside a zip.

    Returns
    -------
    BoundaryRead
        Without a code field, codes are ``V001``, ``V002`` … in the order of the names (then
        of the feature number), so the same file always gets the same codes. Without a kind
        field, a name ending in 社区 is a 社区, anything else a 村.

    Raises
    ------
    InputError
        No name field (the message lists the fields that exist and suggests ``--name-field``),
        a named field that does not exist, or any error of ``read_vector``.
    """
    vr = read_vector(path, layer=_default_layer(path, layer, "villages"), crs=crs)
    source = vr.source
    frame = vr.frame
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    nf = _choose_field(
        columns,
        name_field,
        VILLAGE_NAME_FIELDS,
        source=source,
        option="--name-field",
        what="村名",
    )
    if nf is None:
        raise _missing_field(columns, source=source, option="--name-field", what="村名 (name)")
    cf = _choose_field(
        columns, code_field, VILLAGE_CODE_FIELDS, source=source, option="--code-field", what="代码"
    )
    kf = _choose_field(
        columns, kind_field, VILLAGE_KIND_FIELDS, source=source, option="--kind-field", what="类型"
    )

    names = [_attribute_text(v) for v in frame[nf].tolist()]
    rows = vr.rows
    if cf is not None:
        codes = [_attribute_text(v) for v in frame[cf].tolist()]
    else:
        order = sorted(range(len(names)), key=lambda i: (names[i] is None, names[i] or "", i))
        codes = [""] * len(names)
        for rank, i in enumerate(order, start=1):
            codes[i] = f"V{rank:03d}"
    kinds_raw = (
        [_attribute_text(v) for v in frame[kf].tolist()] if kf is not None else [None] * len(names)
    )
    attrs = _attributes(frame)
    geoms = frame.geometry.tolist()

    problems: list[RowProblem] = []
    keep: list[int] = []
    kinds: list[str] = []
    seen_names: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for i, row in enumerate(rows):
        name, code = names[i], codes[i]
        ident = name or code
        if name is None:
            problems.append(
                RowProblem(
                    row, code, "缺少村名", "missing village name", field=nf, code="missing_name"
                )
            )
            continue
        if code is None:
            problems.append(
                RowProblem(
                    row, name, "缺少村代码", "missing village code", field=cf, code="missing_code"
                )
            )
            continue
        kind_text = kinds_raw[i]
        if kind_text is None:
            kind = "社区" if name.endswith("社区") else "村"
        else:
            found = _KIND_WORDS.get(kind_text.lower())
            if found is None:
                problems.append(
                    RowProblem(
                        row,
                        ident,
                        f"类型 {kind_text!r} 无法识别 (应为 村 或 社区)",
                        f"unknown kind {kind_text!r}; expected 村 or 社区",
                        field=kf,
                        value=kind_text,
                        code="bad_kind",
                    )
                )
                continue
            kind = found
        geom_problem = _geometry_problem(geoms[i], row, ident, allow_none=False)
        if geom_problem is not None:
            problems.append(geom_problem)
            continue
        if name in seen_names:
            problems.append(
                RowProblem(
                    row,
                    ident,
                    f"村名重复 (与第 {seen_names[name]} 个要素相同；若为飞地请合并为一个多部件面)",
                    f"duplicate name (same as feature {seen_names[name]}; merge exclaves into "
                    f"one multipart polygon)",
                    field=nf,
                    value=name,
                    code="duplicate_name",
                )
            )
            continue
        if code in seen_codes:
            problems.append(
                RowProblem(
                    row,
                    ident,
                    f"村代码重复 (与第 {seen_codes[code]} 个要素相同)",
                    f"duplicate code (same as feature {seen_codes[code]})",
                    field=cf,
                    value=code,
                    code="duplicate_code",
                )
            )
            continue
        seen_names[name] = row
        seen_codes[code] = row
        keep.append(i)
        kinds.append(kind)

    out = gpd.GeoDataFrame(
        {
            "code": pd.Series([codes[i] for i in keep], dtype="str"),
            "name": pd.Series([names[i] for i in keep], dtype="str"),
            "kind": pd.Series(kinds, dtype="str"),
            "attributes": pd.Series([attrs[i] for i in keep], dtype=object),
        },
        geometry=gpd.GeoSeries([geoms[i] for i in keep], crs=frame.crs),
        crs=frame.crs,
    )
    return BoundaryRead(
        frame=_to_store_crs(out),
        rows=[rows[i] for i in keep],
        problems=problems,
        source=source,
        name_field=nf,
        code_field=cf,
        kind_field=kf,
    )


# --- groups --------------------------------------------------------------------------------


def _read_group_source(
    path: str | os.PathLike[str], *, crs: str | CRS | None, layer: str | None
) -> tuple[gpd.GeoDataFrame, list[int], str]:
    if Path(path).suffix.lower() in TABLE_SUFFIXES:
        sheet: str | int | None = layer
        if isinstance(layer, str) and layer.isdigit():
            sheet = int(layer)
        table = read_table(
            os.fspath(path), sheet=sheet, headers=(*GROUP_VILLAGE_FIELDS, *GROUP_NAME_FIELDS)
        )
        frame = gpd.GeoDataFrame(
            table.frame.reset_index(drop=True),
            geometry=gpd.GeoSeries([None] * len(table.frame), crs=STORE_CRS),
            crs=STORE_CRS,
        )
        return frame, table.rows, table.source
    vr = read_vector(path, layer=_default_layer(path, layer, "groups"), crs=crs)
    return vr.frame, vr.rows, vr.source


def read_groups(
    path: str | os.PathLike[str],
    *,
    village_field: str | None = None,
    name_field: str | None = None,
    crs: str | CRS | None = None,
    layer: str | None = None,
) -> GroupRead:
    """Read village groups (组, 村民小组), with or without polygons.

    Parameters
    ----------
    path
        GPKG (layer ``groups`` by default when present; an attribute-only table is fine),
        Shapefile/zip, GeoJSON, KML/KMZ, or a CSV/XLSX table (no geometry; ``layer`` is then the
        sheet).
    village_field, name_field
        Fields naming the village (its code or its name) and the group; detected when None among
        :data:`GROUP_VILLAGE_FIELDS` and :data:`GROUP_NAME_FIELDS`.
    crs, layer
        As for :func:`read_villages`.

    Raises
    ------
    InputError
        No village or group-name field (the message lists the fields), or any reader error.
    """
    frame, rows, source = _read_group_source(path, crs=crs, layer=layer)
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    vf = _choose_field(
        columns,
        village_field,
        GROUP_VILLAGE_FIELDS,
        source=source,
        option="--village-field",
        what="村",
    )
    if vf is None:
        raise _missing_field(columns, source=source, option="--village-field", what="村 (village)")
    nf = _choose_field(
        columns, name_field, GROUP_NAME_FIELDS, source=source, option="--name-field", what="组名"
    )
    if nf is None or nf == vf:
        raise _missing_field(columns, source=source, option="--name-field", what="组名 (group)")

    villages = [_attribute_text(v) for v in frame[vf].tolist()]
    names = [_attribute_text(v) for v in frame[nf].tolist()]
    attrs = _attributes(frame)
    geoms = frame.geometry.tolist()
    problems: list[RowProblem] = []
    keep: list[int] = []
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        village, name = villages[i], names[i]
        ident = f"{village or '?'}/{name or '?'}"
        if village is None:
            problems.append(
                RowProblem(
                    row, ident, "缺少所属村", "missing village", field=vf, code="missing_village"
                )
            )
            continue
        if name is None:
            problems.append(
                RowProblem(
                    row, ident, "缺少组名", "missing group name", field=nf, code="missing_name"
                )
            )
            continue
        geom_problem = _geometry_problem(geoms[i], row, ident, allow_none=True)
        if geom_problem is not None:
            problems.append(geom_problem)
            continue
        key = (village, name)
        if key in seen:
            problems.append(
                RowProblem(
                    row,
                    ident,
                    f"同一村的组名重复 (与第 {seen[key]} 行相同)",
                    f"duplicate group in the same village (same as row {seen[key]})",
                    field=nf,
                    value=name,
                    code="duplicate_group",
                )
            )
            continue
        seen[key] = row
        keep.append(i)

    kept_geoms = [
        None if g is None or (isinstance(g, BaseGeometry) and g.is_empty) else g
        for g in (geoms[i] for i in keep)
    ]
    out = gpd.GeoDataFrame(
        {
            "village": pd.Series([villages[i] for i in keep], dtype="str"),
            "name": pd.Series([names[i] for i in keep], dtype="str"),
            "attributes": pd.Series([attrs[i] for i in keep], dtype=object),
        },
        geometry=gpd.GeoSeries(kept_geoms, crs=frame.crs),
        crs=frame.crs,
    )
    return GroupRead(
        frame=_to_store_crs(out),
        rows=[rows[i] for i in keep],
        problems=problems,
        source=source,
        village_field=vf,
        name_field=nf,
    )
