"""Quality checks of village boundary polygons (村界): repairs, overlaps and gaps (pure core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry, BaseMultipartGeometry

from geoverify import geo
from geoverify.errors import CRSError, InputError

__all__ = [
    "MIN_WIDTH_M",
    "BoundaryReport",
    "Gap",
    "Overlap",
    "Repair",
    "check_villages",
    "find_gaps",
    "find_overlaps",
    "polygonal_part",
    "repair_polygons",
    "town_outline",
]

#: Overlaps and gaps thinner than this (mean width, metres) are ignored as noise: a straight
#: shared edge digitised in a projected CRS bends by centimetres once stored in EPSG:4490.
MIN_WIDTH_M = 0.05

_POLYGONAL = (3, 6)  # shapely type ids of Polygon, MultiPolygon
_DETAIL_LINES = 5

# A gap touches a village when it lies within this distance of it (native CRS units).
_TOUCH_DEGREES = 1e-7  # ≈ 1 cm
_TOUCH_METRES = 0.01


@dataclass(frozen=True)
class Repair:
    """One village polygon that was invalid (or not polygonal) and has been repaired.

    ``row`` is the feature's row as the user sees it in the source file (1-based by default).
    ``reason`` is GEOS's explanation (``explain_validity``), e.g. ``Self-intersection[x y]``.
    """

    row: int
    code: str
    name: str
    reason: str
    area_before_m2: float
    area_after_m2: float


@dataclass(frozen=True)
class Overlap:
    """Area claimed by two villages at once (村界重叠); geometry in EPSG:4490."""

    a_code: str
    a_name: str
    b_code: str
    b_name: str
    area_m2: float
    geometry: BaseGeometry


@dataclass(frozen=True)
class Gap:
    """Area inside the town that belongs to no village (村界缝隙); geometry in EPSG:4490.

    ``neighbours`` are the codes of the villages touching it, sorted.
    """

    area_m2: float
    neighbours: list[str]
    geometry: BaseGeometry


@dataclass
class BoundaryReport:
    """What :func:`check_villages` found and did."""

    repairs: list[Repair] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was repaired and no overlap or gap was found."""
        return not (self.repairs or self.overlaps or self.gaps)

    def summary_zh(self) -> str:
        """A short summary for the user, Chinese first, English after."""
        if self.ok:
            return (
                "村界检查通过：无需修复，无重叠，无缝隙。"
                " (Boundary check passed: no repairs, overlaps or gaps.)"
            )
        o_area = sum(o.area_m2 for o in self.overlaps)
        g_area = sum(g.area_m2 for g in self.gaps)
        lines = [
            f"村界检查：修复 {len(self.repairs)} 个无效面，"
            f"发现 {len(self.overlaps)} 处重叠（共 {o_area:.1f} 平方米），"
            f"{len(self.gaps)} 处缝隙（共 {g_area:.1f} 平方米）。",
            f"(Boundary check: {len(self.repairs)} invalid polygon(s) repaired, "
            f"{len(self.overlaps)} overlap(s) totalling {o_area:.1f} m², "
            f"{len(self.gaps)} gap(s) totalling {g_area:.1f} m².)",
        ]
        for r in self.repairs[:_DETAIL_LINES]:
            lines.append(
                f"  修复 第 {r.row} 行 {r.code} {r.name}：{r.reason}；"
                f"面积 {r.area_before_m2:.1f} → {r.area_after_m2:.1f} 平方米 (repaired)"
            )
        lines += _more(len(self.repairs))
        for o in self.overlaps[:_DETAIL_LINES]:
            lines.append(
                f"  重叠 {o.a_code} {o.a_name} 与 {o.b_code} {o.b_name}："
                f"{o.area_m2:.1f} 平方米 (overlap)"
            )
        lines += _more(len(self.overlaps))
        for g in self.gaps[:_DETAIL_LINES]:
            near = "、".join(g.neighbours) if g.neighbours else "无"
            lines.append(f"  缝隙 {g.area_m2:.1f} 平方米，相邻村 {near} (gap)")
        lines += _more(len(self.gaps))
        return "\n".join(lines)


def _more(n: int) -> list[str]:
    return [f"  … 另有 {n - _DETAIL_LINES} 处 (and more)"] if n > _DETAIL_LINES else []


# --- helpers ---------------------------------------------------------------------------------


def _crs(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    if frame.crs is None:
        msg = "村界数据没有坐标系 (village boundaries have no CRS); 请设置为 EPSG:4490"
        raise CRSError(msg)
    return pyproj.CRS.from_user_input(frame.crs)


def _metric(series: gpd.GeoSeries, metric: Any) -> pyproj.CRS:
    if metric is not None:
        return pyproj.CRS.from_user_input(metric)
    valid = series[~(series.isna() | series.is_empty)]
    if len(valid):
        box = gpd.GeoSeries([shapely.box(*valid.total_bounds)], crs=valid.crs)
        x0, _, x1, _ = box.to_crs(geo.STORE_CRS).total_bounds
        lon = (x0 + x1) / 2.0
        if np.isfinite(lon):
            return geo.metric_crs(float(lon))
    return geo.metric_crs(106.0)


def _areas(geoms: NDArray[np.object_], crs: pyproj.CRS, metric: pyproj.CRS) -> NDArray[np.float64]:
    return _sizes(geoms, crs, metric)[0]


def _sizes(
    geoms: NDArray[np.object_], crs: pyproj.CRS, metric: pyproj.CRS
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Area (m²) and mean width (m, ``2 * area / perimeter``) of each geometry."""
    if len(geoms) == 0:
        return np.empty(0), np.empty(0)
    projected = gpd.GeoSeries(geoms, crs=crs).to_crs(metric).to_numpy()
    area = np.asarray(shapely.area(projected), dtype=float)
    perimeter = np.asarray(shapely.length(projected), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(perimeter > 0, 2.0 * area / perimeter, 0.0)
    return area, width


def _to_store(geoms: Sequence[BaseGeometry], crs: pyproj.CRS) -> list[BaseGeometry]:
    if len(geoms) == 0:
        return []
    return list(gpd.GeoSeries(list(geoms), crs=crs).to_crs(geo.STORE_CRS).to_numpy())


def _polygon_parts(geom: BaseGeometry | None) -> list[Polygon]:
    """Non-empty Polygons inside ``geom`` (collections flattened, lines and points dropped)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if not isinstance(geom, BaseMultipartGeometry):  # points and lines
        return []
    parts: list[Polygon] = []
    for part in geom.geoms:
        parts += _polygon_parts(part)
    return parts


def polygonal_part(geom: BaseGeometry | None) -> Polygon | MultiPolygon:
    """Keep only the polygonal part of ``geom``, as a Polygon or MultiPolygon (maybe empty)."""
    parts = _polygon_parts(geom)
    if not parts:
        return Polygon()
    if len(parts) == 1:
        return parts[0]
    multi = MultiPolygon(parts)
    if multi.is_valid:
        return multi
    merged = shapely.union_all(parts)
    return polygonal_part(merged) if not isinstance(merged, Polygon | MultiPolygon) else merged


def _fill_holes(geom: BaseGeometry) -> Polygon | MultiPolygon:
    shells = [Polygon(p.exterior) for p in _polygon_parts(geom)]
    if not shells:
        return Polygon()
    return polygonal_part(shapely.union_all(shells))


def _labels(frame: gpd.GeoDataFrame, column: str) -> NDArray[np.object_]:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    values = frame[column].astype(object).to_numpy()
    return np.array(["" if pd.isna(v) else str(v) for v in values], dtype=object)


def _valid_geoms(series: gpd.GeoSeries) -> NDArray[np.object_]:
    """Geometries with invalid ones made valid (polygonal part), None for missing ones."""
    geoms = np.asarray(series.to_numpy(), dtype=object).copy()
    present = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    bad = present & ~shapely.is_valid(geoms)
    for k in np.flatnonzero(bad):  # only the (rare) invalid ones
        geoms[k] = polygonal_part(shapely.make_valid(geoms[k]))
    geoms[~present] = None
    return geoms


# --- public ----------------------------------------------------------------------------------


def repair_polygons(
    frame: gpd.GeoDataFrame,
    *,
    rows: list[int] | None = None,
    metric: pyproj.CRS | None = None,
) -> tuple[gpd.GeoDataFrame, list[Repair]]:
    """Repair invalid or non-polygonal village geometries.

    Each invalid geometry goes through ``shapely.make_valid``; only its polygonal parts are
    kept, as a Polygon or MultiPolygon. Valid geometries that are not polygonal (e.g. a
    GeometryCollection) keep their polygonal parts too. Missing geometries are left alone.

    Parameters
    ----------
    frame
        Villages frame (``code`` and ``name`` are used for the report when present), with a CRS.
    rows
        Row number the user sees for each row of ``frame`` (e.g. the feature number in the
        source layer); default 1, 2, 3, …
    metric
        Metric CRS for the areas; default ``geo.metric_crs`` at the frame's centre.

    Returns
    -------
    (GeoDataFrame, list of Repair)
        A copy of ``frame`` with repaired geometries, and one :class:`Repair` per changed row.
    """
    crs = _crs(frame)
    if rows is not None and len(rows) != len(frame):
        msg = f"rows 的长度 {len(rows)} 与要素数 {len(frame)} 不符 (rows must match the frame)"
        raise InputError(msg)
    row_numbers = list(rows) if rows is not None else list(range(1, len(frame) + 1))
    metric_crs = _metric(frame.geometry, metric)
    geoms = np.asarray(frame.geometry.to_numpy(), dtype=object)
    present = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    invalid = present & ~shapely.is_valid(geoms)
    not_polygonal = present & ~np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    todo = np.flatnonzero(invalid | not_polygonal)
    out = frame.copy()
    if todo.size == 0:
        return out, []

    before = geoms[todo]
    reasons = [
        str(shapely.is_valid_reason(g))
        if not shapely.is_valid(g)
        else f"不是面要素 (not polygonal: {g.geom_type})"
        for g in before
    ]
    after = np.empty(todo.size, dtype=object)
    after[:] = [polygonal_part(g) for g in shapely.make_valid(before)]
    area_before = _areas(before, crs, metric_crs)
    area_after = _areas(after, crs, metric_crs)

    new_geoms = geoms.copy()
    new_geoms[todo] = after
    out[frame.geometry.name] = gpd.GeoSeries(new_geoms, index=frame.index, crs=crs)
    codes = _labels(frame, "code")
    names = _labels(frame, "name")
    repairs = [
        Repair(
            row=int(row_numbers[k]),
            code=str(codes[k]),
            name=str(names[k]),
            reason=reasons[i],
            area_before_m2=float(area_before[i]),
            area_after_m2=float(area_after[i]),
        )
        for i, k in enumerate(todo.tolist())
    ]
    return out, repairs


def find_overlaps(
    villages: gpd.GeoDataFrame,
    *,
    min_area_m2: float = 1.0,
    min_width_m: float = MIN_WIDTH_M,
    metric: pyproj.CRS | None = None,
) -> list[Overlap]:
    """Pairs of villages whose polygons overlap by at least ``min_area_m2`` square metres.

    Each connected piece counts separately towards the thresholds; pieces thinner than
    ``min_width_m`` (mean width ``2 * area / perimeter``) are ignored: they are digitising or
    reprojection noise along a shared boundary, not a real overlap.

    Candidates come from an STRtree; intersections are computed in the villages' CRS (invalid
    polygons are made valid first, silently — use :func:`check_villages` to report them) and
    measured in the metric CRS. Each pair is reported once, ``a_code`` < ``b_code``, sorted by
    codes.
    """
    crs = _crs(villages)
    metric_crs = _metric(villages.geometry, metric)
    geoms = _valid_geoms(villages.geometry)
    codes = _labels(villages, "code")
    names = _labels(villages, "name")
    present = np.flatnonzero(~pd.isna(geoms))
    if present.size < 2:
        return []
    g = geoms[present]
    tree = shapely.STRtree(g)
    qi, ti = tree.query(g, predicate="intersects")
    keep = qi < ti
    qi, ti = qi[keep], ti[keep]
    if qi.size == 0:
        return []
    inter = shapely.intersection(g[qi], g[ti])
    pieces = [_polygon_parts(x) for x in inter]
    owner = np.repeat(np.arange(qi.size), [len(p) for p in pieces])
    flat = np.empty(owner.size, dtype=object)
    flat[:] = [p for ps in pieces for p in ps]
    area, width = _sizes(flat, crs, metric_crs)
    keep = (area >= min_area_m2) & (width >= min_width_m)
    kept_owner = np.unique(owner[keep])
    result = []
    for k in kept_owner.tolist():
        mine = keep & (owner == k)
        geom = polygonal_part(shapely.union_all(flat[mine]))
        a, b = present[qi[k]], present[ti[k]]
        if codes[b] < codes[a]:
            a, b = b, a
        result.append(
            Overlap(
                a_code=str(codes[a]),
                a_name=str(names[a]),
                b_code=str(codes[b]),
                b_name=str(names[b]),
                area_m2=float(area[mine].sum()),
                geometry=_to_store([geom], crs)[0],
            )
        )
    result.sort(key=lambda o: (o.a_code, o.b_code))
    return result


def _outline_in(outline: Any, crs: pyproj.CRS) -> BaseGeometry:
    if isinstance(outline, gpd.GeoDataFrame | gpd.GeoSeries):
        series = outline.geometry if isinstance(outline, gpd.GeoDataFrame) else outline
        if series.crs is None:
            msg = "镇界没有坐标系 (the town outline has no CRS)"
            raise CRSError(msg)
        return shapely.union_all(_valid_geoms(series.to_crs(crs)))
    if isinstance(outline, BaseGeometry):
        series = gpd.GeoSeries([outline], crs=geo.STORE_CRS).to_crs(crs)
        return shapely.union_all(_valid_geoms(series))
    msg = f"镇界必须是几何对象或 GeoSeries (outline must be a geometry), got {type(outline)!r}"
    raise InputError(msg)


def find_gaps(
    villages: gpd.GeoDataFrame,
    *,
    outline: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    min_area_m2: float = 1.0,
    min_width_m: float = MIN_WIDTH_M,
    metric: pyproj.CRS | None = None,
) -> list[Gap]:
    """Areas inside the town covered by no village, of at least ``min_area_m2`` m².

    Without ``outline`` these are the holes of the union of the villages (an enclave of another
    town inside the union counts too). With ``outline`` (a shapely geometry in EPSG:4490, or a
    GeoSeries/GeoDataFrame with its own CRS) they are the parts of the outline not covered by
    any village. Gaps are sorted by area, largest first; ``neighbours`` are the codes of the
    villages touching each gap (within ≈ 1 cm). Gaps thinner than ``min_width_m`` (mean width
    ``2 * area / perimeter``) are ignored as noise, like in :func:`find_overlaps`.
    """
    crs = _crs(villages)
    metric_crs = _metric(villages.geometry, metric)
    geoms = _valid_geoms(villages.geometry)
    codes = _labels(villages, "code")
    present = np.flatnonzero(~pd.isna(geoms))
    union = shapely.union_all(geoms[present]) if present.size else Polygon()
    if outline is None:
        region = _fill_holes(union).difference(union)
    else:
        region = _outline_in(outline, crs).difference(union)
    parts = np.empty(0, dtype=object)
    plist = _polygon_parts(region)
    if plist:
        parts = np.empty(len(plist), dtype=object)
        parts[:] = plist
    area, width = _sizes(parts, crs, metric_crs)
    big = np.flatnonzero((area >= min_area_m2) & (width >= min_width_m))
    if big.size == 0:
        return []
    touch = _TOUCH_DEGREES if crs.is_geographic else _TOUCH_METRES
    neighbours: list[list[str]] = [[] for _ in range(big.size)]
    if present.size:
        tree = shapely.STRtree(geoms[present])
        gi, vi = tree.query(parts[big], predicate="dwithin", distance=touch)
        for g_, v_ in zip(gi.tolist(), vi.tolist(), strict=True):
            neighbours[g_].append(str(codes[present[v_]]))
    store = _to_store(list(parts[big]), crs)
    gaps = [
        Gap(area_m2=float(area[k]), neighbours=sorted(set(neighbours[n])), geometry=store[n])
        for n, k in enumerate(big.tolist())
    ]
    gaps.sort(key=lambda g: -g.area_m2)
    return gaps


def town_outline(villages: gpd.GeoDataFrame) -> Polygon | MultiPolygon:
    """The town's outline in EPSG:4490: the union of the villages with its holes filled."""
    _crs(villages)
    store = villages.geometry.to_crs(geo.STORE_CRS)
    geoms = _valid_geoms(store)
    present = geoms[~pd.isna(geoms)]
    if present.size == 0:
        return Polygon()
    return _fill_holes(shapely.union_all(present))


def check_villages(
    frame: gpd.GeoDataFrame,
    *,
    rows: list[int] | None = None,
    min_area_m2: float = 1.0,
    min_width_m: float = MIN_WIDTH_M,
    metric: pyproj.CRS | None = None,
) -> tuple[gpd.GeoDataFrame, BoundaryReport]:
    """Repair the village polygons, then look for overlaps and gaps between them.

    Returns the repaired frame and a :class:`BoundaryReport` (its ``summary_zh()`` is what the
    user reads). See :func:`repair_polygons`, :func:`find_overlaps`, :func:`find_gaps`.
    """
    repaired, repairs = repair_polygons(frame, rows=rows, metric=metric)
    overlaps = find_overlaps(
        repaired, min_area_m2=min_area_m2, min_width_m=min_width_m, metric=metric
    )
    gaps = find_gaps(repaired, min_area_m2=min_area_m2, min_width_m=min_width_m, metric=metric)
    return repaired, BoundaryReport(repairs=repairs, overlaps=overlaps, gaps=gaps)
