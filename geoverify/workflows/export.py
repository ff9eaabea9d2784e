"""Export to one GeoPackage (导出 GeoPackage) for QGIS and other GIS: the whole picture in layers.

Layers (table name → what a user sees in QGIS, with Chinese field names):

| layer | 图层 | geometry |
| --- | --- | --- |
| ``villages`` | 村（社区） | MultiPolygon |
| ``groups`` | 组 | MultiPolygon (empty for groups without a polygon) |
| ``targets`` | 靶标：状态、核查结果、反馈与原始列 | Point (representative point) |
| ``target_areas`` | 靶标范围 (targets given as polygons) | Polygon |
| ``patrol_tracks`` | 踏查轨迹 | MultiLineString |
| ``coverage`` | 踏查覆盖率 per village | MultiPolygon |
| ``unsurveyed`` | 未踏查区域, ranked | MultiPolygon |

Everything is in CGCS2000 (EPSG:4490). The file is written as GeoPackage 1.3 (what GDAL's
``validate_gpkg.py`` and every QGIS 3 read) into a temporary file that replaces ``out`` when
complete. Dates are ISO text (``2024-03-12``), times ISO 8601 in UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import MultiLineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geoverify.coverage import CoverageResult
from geoverify.errors import InputError
from geoverify.geo import STORE_CRS
from geoverify.model import ASSIGNMENT_LABELS, RESULT_LABELS, STATUS_LABELS
from geoverify.store import Store, repo
from geoverify.store import batches as store_batches
from geoverify.workflows.common import today_local
from geoverify.workflows.coverage import coverage_for_period
from geoverify.workflows.patrols import load_patrol_tracks, load_patrols, month_range

__all__ = ["LAYERS", "ExportResult", "export_geopackage"]

#: Layer table name → (title shown in GIS, description).
LAYERS: dict[str, tuple[str, str]] = {
    "villages": ("村（社区）", "村（社区）边界 (village and community boundaries)"),
    "groups": ("组", "村民小组 (village groups)"),
    "targets": ("靶标", "疑似靶标：状态、核查结果、反馈与区里下发的原始列 (suspect targets)"),
    "target_areas": ("靶标范围", "以面下发的疑似靶标范围 (targets issued as polygons)"),
    "patrol_tracks": ("踏查轨迹", "踏查轨迹，已去除 GPS 异常点 (patrol tracks, cleaned)"),
    "coverage": ("踏查覆盖率", "各村（社区）轨迹覆盖率 (tracked coverage per village)"),
    "unsurveyed": ("未踏查区域", "未踏查区域，按优先顺序排列 (unsurveyed areas, ranked)"),
}

_SOURCE_LABELS = {"district": "区级下发", "self": "自主发现", "tip": "举报线索"}
_RESERVED = {"fid", "geom", "geometry"}


@dataclass
class ExportResult:
    """What ``export_geopackage`` wrote: the file and the features in each layer."""

    path: Path
    batch: str | None
    month: str | None
    period: tuple[dt.date, dt.date] | None
    layers: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "batch": self.batch,
            "month": self.month,
            "period": [d.isoformat() for d in self.period] if self.period else None,
            "layers": [
                {"name": name, "title": LAYERS[name][0], "features": n}
                for name, n in self.layers.items()
            ],
        }


# --- values -----------------------------------------------------------------------------------


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _iso(v: Any) -> str | None:
    if _missing(v):
        return None
    if isinstance(v, dt.datetime | pd.Timestamp):
        return pd.Timestamp(v).isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _export_text(v: Any) -> str | None:
    """``str(v)`` as it is (not trimmed), lists joined with 、; ``None`` when missing."""
    if _missing(v):
        return None
    if isinstance(v, list | tuple):
        return "、".join(str(x) for x in v) or None
    return str(v)


def _number(v: Any) -> float | None:
    if _missing(v):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _ints(values: list[Any]) -> pd.Series:
    return pd.Series([None if _missing(v) else int(v) for v in values], dtype="Int64")


def _floats(values: list[Any]) -> pd.Series:
    return pd.Series([_number(v) for v in values], dtype="float64")


def _texts(values: list[Any]) -> pd.Series:
    return pd.Series([_export_text(v) for v in values], dtype=object)


def _column(values: list[Any]) -> pd.Series:
    """A district column: integers, numbers or text, whichever holds every value."""
    present = [v for v in values if not _missing(v)]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return _ints(values)
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return _floats(values)
    return pd.Series(
        [
            None
            if _missing(v)
            else json.dumps(v, ensure_ascii=False)
            if isinstance(v, dict | list)
            else str(v)
            for v in values
        ],
        dtype=object,
    )


def _multi(geom: BaseGeometry | None) -> BaseGeometry | None:
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon | MultiLineString):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(parts) if parts else None


def _frame(columns: dict[str, pd.Series], geoms: list[BaseGeometry | None]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {k: v.reset_index(drop=True) for k, v in columns.items()},
        geometry=gpd.GeoSeries(geoms, crs=STORE_CRS),
        crs=STORE_CRS,
    )


# --- layers -----------------------------------------------------------------------------------


def villages_layer(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return _frame(
        {
            "代码": _texts(list(villages["code"])),
            "名称": _texts(list(villages["name"])),
            "类型": _texts(list(villages["kind"])),
            "示意数据": pd.Series([bool(v) for v in villages["illustrative"]], dtype=bool),
        },
        [_multi(g) for g in villages.geometry],
    )


def groups_layer(groups: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return _frame(
        {
            "村代码": _texts(list(groups["village_code"])),
            "村（社区）": _texts(list(groups["village"])),
            "组": _texts(list(groups["name"])),
        },
        [_multi(g) for g in groups.geometry],
    )


#: Target fields, in order: name → (frame column, kind).
_TARGET_FIELDS: dict[str, tuple[str, str]] = {
    "靶标编号": ("target_id", "text"),
    "批次": ("batch", "text"),
    "来源": ("source", "source"),
    "村（社区）": ("village", "text"),
    "村代码": ("village_code", "text"),
    "组": ("group", "text"),
    "归属": ("assignment", "assignment"),
    "状态": ("status", "status"),
    "核查结果": ("result", "result"),
    "核查日期": ("verified_on", "date"),
    "核查人员": ("verified_by", "text"),
    "株数": ("plants", "int"),
    "铲除面积（平方米）": ("eradicated_area_m2", "float"),
    "铲除日期": ("eradicated_on", "date"),
    "案件编号": ("case_no", "text"),
    "备注": ("remarks", "text"),
    "面积（平方米）": ("area_m2", "float"),
    "影像日期": ("image_date", "date"),
    "下发日期": ("issued_on", "date"),
    "核查时限": ("due_on", "date"),
    "复种点": ("repeat_of", "text"),
    "经度": ("lon", "float"),
    "纬度": ("lat", "float"),
}
_LABELS = {
    "source": _SOURCE_LABELS,
    "assignment": ASSIGNMENT_LABELS,
    "status": STATUS_LABELS,
    "result": RESULT_LABELS,
}


def _target_column(values: list[Any], kind: str) -> pd.Series:
    if kind in _LABELS:
        labels = _LABELS[kind]
        return _texts([None if _missing(v) else labels.get(str(v), str(v)) for v in values])
    if kind == "date":
        return _texts([_iso(v) for v in values])
    if kind == "int":
        return _ints(values)
    if kind == "float":
        return _floats(values)
    return _texts(values)


def targets_layers(targets: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The ``targets`` points (our fields, then the district's own columns) and the
    ``target_areas`` polygons of targets issued as polygons."""
    columns = {
        name: _target_column(list(targets[col]), kind)
        for name, (col, kind) in _TARGET_FIELDS.items()
    }
    taken = {n.lower() for n in columns} | _RESERVED
    attrs = [a if isinstance(a, dict) else {} for a in targets["attributes"]]
    keys: list[str] = []
    for a in attrs:
        keys.extend(k for k in a if k not in keys)
    for key in keys:
        name = str(key).strip() or "列"
        while name.lower() in taken:
            name = f"{name}（原）"
        taken.add(name.lower())
        columns[name] = _column([a.get(key) for a in attrs])
    points = (
        shapely.points([float(x) for x in targets["lon"]], [float(y) for y in targets["lat"]])
        if len(targets)
        else []
    )
    layer = _frame(columns, list(points))
    polygons = [isinstance(g, Polygon) for g in targets.geometry]
    areas = _frame(
        {
            "靶标编号": columns["靶标编号"][polygons],
            "状态": columns["状态"][polygons],
            "核查结果": columns["核查结果"][polygons],
            "村（社区）": columns["村（社区）"][polygons],
            "面积（平方米）": columns["面积（平方米）"][polygons],
        },
        [g for g, keep in zip(targets.geometry, polygons, strict=True) if keep],
    )
    return layer, areas


def tracks_layer(tracks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return _frame(
        {
            "编号": _ints(list(tracks["patrol_id"])),
            "踏查日期": _texts([_iso(d) for d in tracks["date"]]),
            "村（社区）": _texts(list(tracks["village"])),
            "村代码": _texts(list(tracks["village_code"])),
            "组": _texts(list(tracks["group"])),
            "踏查人员": _texts(list(tracks["people"])),
            "轨迹名称": _texts(list(tracks["track_name"])),
            "长度（米）": _floats(list(tracks["length_m"])),
        },
        list(tracks.geometry),
    )


def coverage_layers(
    villages: gpd.GeoDataFrame, cov: CoverageResult
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Per-village coverage on the village polygons, and the ranked unsurveyed areas."""
    rows = cov.villages.set_index("code")
    codes = [c for c in villages["code"] if c in rows.index]
    geoms = dict(zip(villages["code"], villages.geometry, strict=True))
    r = rows.loc[codes]
    coverage = _frame(
        {
            "代码": _texts(codes),
            "村（社区）": _texts(list(r["village"])),
            "面积（平方米）": _floats(list(r["area_m2"])),
            "轨迹覆盖面积（平方米）": _floats(list(r["covered_m2"])),
            "轨迹覆盖率（%）": _floats(list(r["covered_pct"])),
            "重点区域覆盖率（%）": _floats(list(r["priority_covered_pct"])),
            "经过本村的轨迹（条）": _ints(list(r["patrols"])),
            "仅报送的组": _texts(list(r["reported_groups"])),
            "未踏查区域（块）": _ints(list(r["unsurveyed_areas"])),
        },
        [_multi(geoms[c]) for c in codes],
    )
    u = cov.unsurveyed.to_crs(STORE_CRS) if len(cov.unsurveyed) else cov.unsurveyed
    unsurveyed = _frame(
        {
            "排序": _ints(list(u["rank"]) if len(u) else []),
            "村（社区）": _texts(list(u["village"]) if len(u) else []),
            "代码": _texts(list(u["code"]) if len(u) else []),
            "面积（平方米）": _floats(list(u["area_m2"]) if len(u) else []),
            "优先分值": _floats(list(u["priority_score"]) if len(u) else []),
        },
        [_multi(g) for g in u.geometry] if len(u) else [],
    )
    return coverage, unsurveyed


# --- the workflow -----------------------------------------------------------------------------

_GEOMETRY_TYPES = {
    "villages": "MultiPolygon",
    "groups": "MultiPolygon",
    "targets": "Point",
    "target_areas": "Polygon",
    "patrol_tracks": "MultiLineString",
    "coverage": "MultiPolygon",
    "unsurveyed": "MultiPolygon",
}


def _period(store: Store, month: str | None) -> tuple[dt.date, dt.date] | None:
    if month is not None:
        return month_range(month)
    with store.connect() as conn:
        dates = [p.date for p in load_patrols(conn)]
    return (min(dates), max(dates)) if dates else None


def export_geopackage(
    store: Store,
    out: str | os.PathLike[str],
    *,
    batch: str | None = None,
    month: str | None = None,
    radius_m: float = 30.0,
) -> ExportResult:
    """Write villages, groups, targets, patrol tracks, coverage and unsurveyed areas to ``out``.

    Parameters
    ----------
    batch
        Only the targets issued in this batch (default: every target).
    month
        ``YYYY-MM``: the patrol tracks, coverage and unsurveyed areas of this month (default:
        every patrol, from the first to the last patrol date).
    radius_m
        Half-width of the strip a track sees, for coverage.

    Raises
    ------
    InputError
        ``out`` does not end in ``.gpkg``, its folder cannot be written, or ``month`` is not
        ``YYYY-MM``.
    NotFoundError
        No such batch.
    """
    dest = Path(out)
    if dest.suffix.lower() != ".gpkg":
        msg = f"{dest}: 导出文件应以 .gpkg 结尾 (the export must be a .gpkg file)"
        raise InputError(msg)
    store.require()
    period = _period(store, month)
    with store.connect() as conn:
        if batch is not None:
            store_batches.get_batch(conn, batch)
        villages = repo.load_villages(conn)
        groups = repo.load_groups(conn)
        # Every batch's targets as the web list shows them today: one issued again has the
        # latest deadline of its batches issued by today.
        targets = repo.load_targets(conn, batch=batch, as_of=today_local())
    start, end = period if period else (today_local(), today_local())
    tracks = load_patrol_tracks(store, start=start, end=end) if period else None
    cov = coverage_for_period(store, start=start, end=end, radius_m=radius_m)
    target_points, target_areas = targets_layers(targets)
    coverage, unsurveyed = coverage_layers(villages, cov)
    layers = {
        "villages": villages_layer(villages),
        "groups": groups_layer(groups),
        "targets": target_points,
        "target_areas": target_areas,
        "patrol_tracks": tracks_layer(tracks) if tracks is not None else tracks_layer(_no_tracks()),
        "coverage": coverage,
        "unsurveyed": unsurveyed,
    }
    res = ExportResult(dest, batch, month, period)
    _write(dest, layers, batch=batch, period=period)
    res.layers = {name: len(frame) for name, frame in layers.items()}
    return res


def _no_tracks() -> gpd.GeoDataFrame:
    cols = ["patrol_id", "date", "village", "village_code", "group", "people", "track_name"]
    return gpd.GeoDataFrame(
        {**{c: [] for c in cols}, "length_m": []}, geometry=gpd.GeoSeries([], crs=STORE_CRS)
    )


def _describe(name: str, *, batch: str | None, period: tuple[dt.date, dt.date] | None) -> str:
    text = LAYERS[name][1]
    if name in ("targets", "target_areas") and batch is not None:
        text += f"；批次 (batch) {batch}"
    if name in ("patrol_tracks", "coverage", "unsurveyed") and period is not None:
        text += f"；{period[0].isoformat()} – {period[1].isoformat()}"
    return text


def _write(
    dest: Path,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    batch: str | None,
    period: tuple[dt.date, dt.date] | None,
) -> None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        folder = tempfile.mkdtemp(prefix=".geoverify-export-", dir=dest.parent)
    except OSError as e:
        msg = f"无法写入文件夹 (cannot write to the folder) {dest.parent}: {e.strerror}"
        raise InputError(msg) from e
    tmp = Path(folder) / dest.name
    try:
        for name, frame in layers.items():
            pyogrio.write_dataframe(
                frame,
                tmp,
                layer=name,
                driver="GPKG",
                geometry_type=_GEOMETRY_TYPES[name],
                promote_to_multi=False,
                dataset_options={"VERSION": "1.3"},
                layer_options={
                    "IDENTIFIER": LAYERS[name][0],
                    "DESCRIPTION": _describe(name, batch=batch, period=period),
                    "SPATIAL_INDEX": "YES",
                },
            )
        os.replace(tmp, dest)
    finally:
        for leftover in Path(folder).glob("*"):
            leftover.unlink()
        Path(folder).rmdir()
