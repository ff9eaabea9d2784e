"""Patrol coverage of villages on a metric grid: effort and unsurveyed areas (踏查覆盖)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from scipy import ndimage
from shapely import union_all
from shapely.geometry.base import BaseGeometry

from geoverify.geo import STORE_CRS, metric_crs
from geoverify.landcover import ClassGrid, PriorityWeights, priority_grid

__all__ = [
    "DEFAULT_RADIUS_M",
    "MAX_CELLS",
    "SIMPLIFY_SHARE",
    "CoverageResult",
    "Grid",
    "coverage",
    "coverage_grid",
    "exact_coverage",
    "track_buffers",
    "track_segments",
]

#: Half-width in metres of the strip a patrol sees on each side of its track.
DEFAULT_RADIUS_M = 30.0
#: Largest grid (number of cells) computed in memory; a bigger one asks for a larger cell.
MAX_CELLS = 150_000_000
_QUAD_SEGS = 16
#: Tracks are simplified within this share of the cell size before their strip is measured.
SIMPLIFY_SHARE = 0.05
_EFFORT_MAX = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid with square cells in a metric CRS."""

    transform: Affine
    width: int
    height: int
    crs: CRS

    @property
    def cell_m(self) -> float:
        """Cell size in metres."""
        return float(abs(self.transform.a))

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, as numpy arrays of the grid are shaped."""
        return (self.height, self.width)


@dataclass
class CoverageResult:
    """What :func:`coverage` computes.

    Attributes
    ----------
    villages
        One row per village: ``village``, ``code``, ``area_m2``, ``covered_m2``,
        ``covered_pct``, ``priority_covered_pct`` (None without land cover), ``patrols``
        (distinct tracked patrols seeing the village), ``reported_groups`` (list of group names
        with a patrol record but no track), ``reported_m2`` / ``reported_pct`` (area of those
        groups' polygons; None when no group polygons), ``unsurveyed_areas`` (count).
        Areas are counted on the grid (cells whose centre lies in the village).
    effort
        ``uint16`` grid: number of DISTINCT patrols whose strip covers each cell.
    transform, crs
        Georeferencing of ``effort`` (and ``priority``, ``village_index``).
    unsurveyed
        GeoDataFrame (EPSG:4490) of unsurveyed areas of at least ``min_unsurveyed_m2``:
        ``village``, ``code``, ``area_m2``, ``priority_score`` (priority-weighted hectares),
        ``rank`` (1 = walk first), geometry.
    totals
        Town totals: ``area_m2``, ``covered_m2``, ``covered_pct``, ``priority_covered_pct``,
        ``patrols``, ``unsurveyed_areas``, ``unsurveyed_m2``, ``villages``, ``villages_covered``.
    radius_m, cell_m
        Strip half-width and cell size used.
    priority
        ``float32`` priority-weight grid, or None without land cover.
    village_index
        ``int32`` grid: 1-based row of ``villages`` owning each cell, 0 outside every village.
    """

    villages: pd.DataFrame
    effort: NDArray[np.uint16]
    transform: Affine
    crs: CRS
    unsurveyed: gpd.GeoDataFrame
    totals: dict[str, Any]
    radius_m: float
    cell_m: float
    priority: NDArray[np.float32] | None = None
    village_index: NDArray[np.int32] = field(default_factory=lambda: np.zeros((0, 0), np.int32))

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` document: radius, cell, per-village rows and town totals.

        Each village's ``unsurveyed_areas`` lists its unsurveyed areas, ranked town-wide
        (rank, area, priority score and a representative point in degrees);
        ``unsurveyed_count`` is their number.
        """
        areas: dict[str, list[dict[str, Any]]] = {}
        if len(self.unsurveyed):
            points = self.unsurveyed.geometry.representative_point().to_crs(STORE_CRS)
            for rec, pt in zip(self.unsurveyed.to_dict("records"), points, strict=True):
                areas.setdefault(str(rec["code"]), []).append(
                    {
                        "rank": _jsonable(rec.get("rank")),
                        "area_m2": round(float(rec["area_m2"]), 1),
                        "priority_score": _jsonable(rec.get("priority_score")),
                        "lon": round(pt.x, 6),
                        "lat": round(pt.y, 6),
                    }
                )
        rows = []
        for rec in self.villages.to_dict("records"):
            row = {k: _jsonable(v) for k, v in rec.items()}
            row["unsurveyed_count"] = row.pop("unsurveyed_areas")
            row["unsurveyed_areas"] = sorted(
                areas.get(str(rec["code"]), []), key=lambda a: a["rank"] or 0
            )
            rows.append(row)
        return {
            "radius_m": self.radius_m,
            "cell_m": self.cell_m,
            "crs": self.crs.to_string(),
            "villages": rows,
            "totals": {k: _jsonable(v) for k, v in self.totals.items()},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _metric_crs_of(villages: gpd.GeoDataFrame) -> CRS:
    if villages.crs is None:
        msg = "村界没有坐标系 (villages frame has no CRS)"
        raise ValueError(msg)
    lon = float(villages.to_crs(STORE_CRS).union_all().centroid.x)
    return metric_crs(lon)


def coverage_grid(villages: gpd.GeoDataFrame, *, cell_m: float, crs: CRS | None = None) -> Grid:
    """The metric grid :func:`coverage` computes on, covering every village.

    The grid's origin is snapped to a multiple of ``cell_m``, so a caller can reproject a
    land-cover raster onto exactly this grid before calling :func:`coverage`.

    Parameters
    ----------
    villages
        Villages frame (any CRS; EPSG:4490 as stored).
    cell_m
        Cell size in metres.
    crs
        Metric CRS; ``geo.metric_crs`` of the villages' centroid when None.
    """
    if not (cell_m > 0 and math.isfinite(cell_m)):
        msg = f"cell_m must be a positive number, got {cell_m!r}"
        raise ValueError(msg)
    if len(villages) == 0:
        msg = "没有村界 (no villages)"
        raise ValueError(msg)
    crs = crs or _metric_crs_of(villages)
    x0, y0, x1, y1 = villages.to_crs(crs).total_bounds
    left = math.floor(x0 / cell_m) * cell_m
    bottom = math.floor(y0 / cell_m) * cell_m
    right = math.ceil(x1 / cell_m) * cell_m
    top = math.ceil(y1 / cell_m) * cell_m
    width = max(1, round((right - left) / cell_m))
    height = max(1, round((top - bottom) / cell_m))
    if width * height > MAX_CELLS:
        msg = (
            f"网格过大：{width}×{height} 个格网，请增大半径或格网大小 "
            f"(grid of {width}x{height} cells is too large; use a larger radius or cell)"
        )
        raise ValueError(msg)
    return Grid(Affine(cell_m, 0.0, left, 0.0, -cell_m, top), width, height, crs)


def _patrol_keys(tracks: gpd.GeoDataFrame) -> list[Any]:
    """One key per track row: the ``patrol_id`` when given, else the row itself."""
    if "patrol_id" not in tracks.columns:
        return [("row", i) for i in range(len(tracks))]
    keys: list[Any] = []
    for i, value in enumerate(tracks["patrol_id"].tolist()):
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        keys.append(("row", i) if missing else ("id", value))
    return keys


def track_buffers(
    tracks: gpd.GeoDataFrame, *, radius_m: float, crs: CRS
) -> list[tuple[Any, BaseGeometry]]:
    """The strip each DISTINCT patrol sees: the union of its tracks buffered by ``radius_m``.

    Rows with the same ``patrol_id`` (when that column exists) are one patrol; otherwise
    each row is a patrol. Empty or missing geometries are skipped. Returns
    ``[(patrol key, polygon in crs), …]`` in first-seen order.
    """
    if tracks.crs is None:
        msg = "轨迹没有坐标系 (tracks frame has no CRS)"
        raise ValueError(msg)
    geoms = tracks.geometry.to_crs(crs)
    parts: dict[Any, list[BaseGeometry]] = {}
    for key, geom in zip(_patrol_keys(tracks), geoms, strict=True):
        if geom is None or geom.is_empty:
            continue
        parts.setdefault(key, []).append(geom.buffer(radius_m, quad_segs=_QUAD_SEGS))
    return [(key, union_all(polys)) for key, polys in parts.items()]


def track_segments(
    tracks: gpd.GeoDataFrame, *, crs: CRS, simplify_m: float
) -> list[tuple[Any, NDArray[np.float64]]]:
    """The segments each DISTINCT patrol walked: ``[(patrol key, (n, 4) array), …]``.

    Rows of ``(x0, y0, x1, y1)`` in ``crs``; tracks are first simplified within ``simplify_m``
    (a 1 Hz track has a vertex every metre or so; the strip it sees does not need them). A lone
    vertex is a segment of length 0. Patrols as in :func:`track_buffers`, in first-seen order.
    """
    if tracks.crs is None:
        msg = "轨迹没有坐标系 (tracks frame has no CRS)"
        raise ValueError(msg)
    geoms = np.asarray(tracks.geometry.to_crs(crs).to_numpy(), dtype=object)
    keys = _patrol_keys(tracks)
    ok = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return []
    geoms = geoms[rows]
    if simplify_m > 0:
        geoms = shapely.simplify(geoms, simplify_m, preserve_topology=False)
    pieces, owner = shapely.get_parts(geoms, return_index=True)
    xy, piece_of = shapely.get_coordinates(pieces, return_index=True)
    same = np.flatnonzero(piece_of[1:] == piece_of[:-1])
    seg_piece = piece_of[same]
    segs = np.column_stack([xy[same], xy[same + 1]])
    # A piece with a single vertex (a point, a line simplified to nothing): a segment of length 0.
    n_vertices = np.bincount(piece_of, minlength=len(pieces))
    lone = np.flatnonzero(n_vertices == 1)
    if lone.size:
        first = np.searchsorted(piece_of, lone)
        segs = np.vstack([segs, np.column_stack([xy[first], xy[first]])])
        seg_piece = np.concatenate([seg_piece, lone])
    finite = np.isfinite(segs).all(axis=1)
    segs, seg_piece = segs[finite], seg_piece[finite]
    seg_row = owner[seg_piece]  # position in ``rows``
    order = np.argsort(seg_row, kind="stable")
    seg_row, segs = seg_row[order], segs[order]
    cuts = np.searchsorted(seg_row, np.arange(rows.size + 1))
    parts: dict[Any, list[NDArray[np.float64]]] = {}
    for i, row in enumerate(rows.tolist()):
        if cuts[i + 1] > cuts[i]:
            parts.setdefault(keys[row], []).append(segs[cuts[i] : cuts[i + 1]])
    return [(key, np.vstack(arrays)) for key, arrays in parts.items()]


def _strip_cells(
    segs: NDArray[np.float64], grid: Grid, radius_m: float
) -> tuple[tuple[int, int, int, int], NDArray[np.bool_]] | None:
    """Window and mask of the cells whose centre lies within ``radius_m`` of the segments.

    Row by row: each segment's strip crosses a row of cell centres in one interval, found
    exactly (:func:`geoverify.strips.mark_strips`).
    """
    # Imported here: numba loads when coverage is computed, not with every command.
    from geoverify.strips import mark_strips

    lo = np.minimum(segs[:, :2], segs[:, 2:]) - radius_m
    hi = np.maximum(segs[:, :2], segs[:, 2:]) + radius_m
    bounds = (
        float(lo[:, 0].min()),
        float(lo[:, 1].min()),
        float(hi[:, 0].max()),
        float(hi[:, 1].max()),
    )
    window = _window(bounds, grid)
    if window is None:
        return None
    r0, c0, h, w = window
    mask = np.zeros((h, w), dtype=bool)
    mark_strips(
        np.ascontiguousarray(segs, dtype=np.float64),
        float(radius_m),
        float(grid.transform.f),
        float(grid.transform.c),
        float(grid.cell_m),
        r0,
        c0,
        mask,
    )
    return window, mask


def _polygons(
    found: Iterable[tuple[dict[str, Any], float]],
) -> list[tuple[BaseGeometry, int]]:
    """The polygons of ``rasterio.features.shapes`` (GeoJSON-like) with their values, made at
    once from their coordinates (``shapely.geometry.shape`` one by one took longer than
    tracing them)."""
    values: list[int] = []
    ring_sizes: list[int] = []
    polygon_rings: list[int] = []
    coords: list[Any] = []
    for geom, value in found:
        rings = geom["coordinates"]
        values.append(int(value))
        polygon_rings.append(len(rings))
        for ring in rings:
            ring_sizes.append(len(ring))
            coords.extend(ring)
    if not values:
        return []
    xy = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    ring_offsets = np.concatenate([[0], np.cumsum(ring_sizes)])
    polygon_offsets = np.concatenate([[0], np.cumsum(polygon_rings)])
    made = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON, xy, (ring_offsets, polygon_offsets)
    )
    return list(zip(made.tolist(), values, strict=True))


def _window(
    bounds: tuple[float, float, float, float], grid: Grid
) -> tuple[int, int, int, int] | None:
    """``(row_off, col_off, height, width)`` of the cells touching ``bounds``, clipped."""
    minx, miny, maxx, maxy = bounds
    left, top, cell = grid.transform.c, grid.transform.f, grid.cell_m
    c0 = max(0, math.floor((minx - left) / cell))
    c1 = min(grid.width, math.ceil((maxx - left) / cell))
    r0 = max(0, math.floor((top - maxy) / cell))
    r1 = min(grid.height, math.ceil((top - miny) / cell))
    if c1 <= c0 or r1 <= r0:
        return None
    return r0, c0, r1 - r0, c1 - c0


def _check_radius(radius_m: float) -> None:
    if not (radius_m > 0 and math.isfinite(radius_m)):
        msg = f"半径必须为正数 (radius must be > 0), got {radius_m!r}"
        raise ValueError(msg)


def _landcover_array(landcover: ClassGrid | NDArray[Any], grid: Grid) -> NDArray[Any]:
    if isinstance(landcover, ClassGrid):
        same = (
            landcover.classes.shape == grid.shape
            and landcover.transform.almost_equals(grid.transform, precision=1e-6)
            and CRS.from_user_input(landcover.crs) == grid.crs
        )
        if not same:
            msg = (
                "土地覆盖栅格与覆盖网格不一致，请先用 coverage_grid() 的网格重投影 "
                "(land-cover grid differs from the coverage grid; reproject it onto "
                "coverage_grid(villages, cell_m=...) first)"
            )
            raise ValueError(msg)
        return landcover.classes
    arr = np.asarray(landcover)
    if arr.shape != grid.shape:
        msg = f"land-cover array shape {arr.shape} differs from the grid shape {grid.shape}"
        raise ValueError(msg)
    return arr


def _reported(
    villages: gpd.GeoDataFrame,
    reported_groups: Iterable[tuple[str, str]] | None,
    groups: gpd.GeoDataFrame | None,
    crs: CRS,
) -> tuple[dict[str, list[str]], dict[str, float | None]]:
    """Group names reported per village code, and the exact area of their polygons."""
    names: dict[str, set[str]] = {}
    for code, name in reported_groups or ():
        if code is None or name is None or str(name).strip() == "":
            continue
        names.setdefault(str(code), set()).add(str(name).strip())
    areas: dict[str, float | None] = {}
    has_polys = (
        groups is not None
        and len(groups) > 0
        and groups.geometry.notna().any()
        and not groups.geometry.is_empty.all()
    )
    if has_polys:
        assert groups is not None
        gm = groups.to_crs(crs)
        vm = villages.to_crs(crs)
        for code, geom in zip(vm["code"].astype(str), vm.geometry, strict=True):
            chosen = gm[
                (gm["village_code"].astype(str) == code)
                & gm["name"].astype(str).isin(names.get(code, set()))
                & gm.geometry.notna()
            ]
            if len(chosen) == 0:
                areas[code] = 0.0
                continue
            areas[code] = float(union_all(list(chosen.geometry)).intersection(geom).area)
    return {k: sorted(v) for k, v in names.items()}, areas


def coverage(
    villages: gpd.GeoDataFrame,
    tracks: gpd.GeoDataFrame,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    cell_m: float | None = None,
    landcover: ClassGrid | NDArray[Any] | None = None,
    weights: PriorityWeights | None = None,
    min_unsurveyed_m2: float = 5000.0,
    reported_groups: Iterable[tuple[str, str]] | None = None,
    groups: gpd.GeoDataFrame | None = None,
    crs: CRS | None = None,
) -> CoverageResult:
    """Tracked patrol coverage of every village, patrol effort per cell, unsurveyed areas.

    A patrol sees a strip of ``radius_m`` on each side of its track. The computation is on
    the grid: each distinct patrol's tracks are simplified within :data:`SIMPLIFY_SHARE` of a
    cell (0.3 m at the default 6 m cell), cut into segments, and every cell whose centre lies
    within ``radius_m`` of a segment counts as seen — the exact distance, evaluated only at the
    cells of each segment's box widened by the radius. A patrol is counted once per cell
    however often it crosses it. No strip polygon is built: buffering a 1 Hz track vertex by
    vertex was 80 % of the time before. (A distance transform from burned track cells measures
    from cell centres and widens every strip by up to a cell, about 10 % at a cell of
    radius/5; the distance to the segments does not.) Unsurveyed areas are the connected
    uncovered cells of each village (``rasterio.features.shapes``), kept from
    ``min_unsurveyed_m2`` up and ranked by their priority score.

    Parameters
    ----------
    villages
        Villages frame (``code``, ``name``, geometry; EPSG:4490 as stored).
    tracks
        Track lines (any CRS), optionally with a ``patrol_id`` column: rows sharing it are one
        patrol. Patrol records without a track must NOT be here (see ``reported_groups``).
    radius_m
        Half-width of the strip seen, metres (default 30).
    cell_m
        Cell size; default ``radius_m / 5``, and never more than that.
    landcover
        Class grid on the grid of :func:`coverage_grid` (same cell size), or None.
    weights
        Priority weights for ``landcover``.
    min_unsurveyed_m2
        Smallest unsurveyed area reported (default 5000 m² = 0.5 ha).
    reported_groups
        ``(village_code, group name)`` of patrol records without a track: *reported*, never
        *tracked* coverage.
    groups
        Groups frame; when it has polygons, the reported groups' area is given per village.
    crs
        Metric CRS; ``geo.metric_crs`` of the villages when None (EPSG:4544 for the sample).

    Returns
    -------
    CoverageResult
    """
    _check_radius(radius_m)
    max_cell = radius_m / 5.0
    if cell_m is None:
        cell_m = max_cell
    elif not (cell_m > 0 and math.isfinite(cell_m)):
        msg = f"cell_m must be a positive number, got {cell_m!r}"
        raise ValueError(msg)
    elif cell_m > max_cell * (1 + 1e-9):
        msg = (
            f"格网 {cell_m} m 大于半径的五分之一 ({max_cell} m) "
            f"(cell must be at most a fifth of the radius)"
        )
        raise ValueError(msg)
    for column in ("code", "name"):
        if column not in villages.columns:
            msg = f"villages frame lacks column {column!r}"
            raise ValueError(msg)
    grid = coverage_grid(villages, cell_m=cell_m, crs=crs)
    cell_area = cell_m * cell_m
    vm = villages.to_crs(grid.crs)
    codes = vm["code"].astype(str).tolist()
    names = vm["name"].astype(str).tolist()

    village_index = np.zeros(grid.shape, dtype=np.int32)
    shapes_in = [
        (geom, i + 1)
        for i, geom in enumerate(vm.geometry)
        if geom is not None and not geom.is_empty
    ]
    if shapes_in:
        village_index = rasterio.features.rasterize(
            shapes_in, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32"
        )

    effort = np.zeros(grid.shape, dtype=np.uint16)
    seen_by: list[set[int]] = [set() for _ in codes]
    n_patrols = 0
    simplify_m = SIMPLIFY_SHARE * cell_m
    for _key, segs in track_segments(tracks, crs=grid.crs, simplify_m=simplify_m):
        n_patrols += 1
        found = _strip_cells(segs, grid, radius_m)
        if found is None:
            continue  # entirely outside the grid
        (r0, c0, h, w), burned = found
        sub = effort[r0 : r0 + h, c0 : c0 + w]
        sub[burned & (sub < _EFFORT_MAX)] += 1
        for idx in np.unique(village_index[r0 : r0 + h, c0 : c0 + w][burned]):
            if idx > 0:
                seen_by[idx - 1].add(n_patrols)

    priority: NDArray[np.float32] | None = None
    if landcover is not None:
        classes = _landcover_array(landcover, grid)
        priority = priority_grid(classes, cell_m=cell_m, weights=weights)
    score_weights = priority if priority is not None else np.ones(grid.shape, dtype=np.float32)

    covered = effort > 0
    n = len(codes)
    cells = np.bincount(village_index.ravel(), minlength=n + 1)
    cov_cells = np.bincount(village_index[covered].ravel(), minlength=n + 1)
    pri_sum = pri_cov = None
    if priority is not None:
        pri_sum = np.bincount(village_index.ravel(), weights=priority.ravel(), minlength=n + 1)
        pri_cov = np.bincount(
            village_index[covered].ravel(), weights=priority[covered].ravel(), minlength=n + 1
        )

    # Unsurveyed areas, village by village, in the village's own window (its cells' box).
    unsurveyed_rows: list[dict[str, Any]] = []
    unsurveyed_count = [0] * n
    boxes = ndimage.find_objects(village_index, max_label=n)
    for i in range(n):
        box = boxes[i]
        if box is None:
            continue
        r0, r1 = int(box[0].start), int(box[0].stop)
        c0, c1 = int(box[1].start), int(box[1].stop)
        mask = (village_index[r0:r1, c0:c1] == i + 1) & ~covered[r0:r1, c0:c1]
        labels, n_labels = ndimage.label(mask)
        if n_labels == 0:
            continue
        counts = np.bincount(labels.ravel(), minlength=n_labels + 1)
        wsum = np.bincount(
            labels.ravel(), weights=score_weights[r0:r1, c0:c1].ravel(), minlength=n_labels + 1
        )
        keep = np.zeros(n_labels + 1, dtype=bool)
        keep[1:] = counts[1:] * cell_area >= min_unsurveyed_m2
        if not keep.any():
            continue
        labels = np.where(keep[labels], labels, 0).astype(np.int32)
        win_transform = grid.transform @ Affine.translation(c0, r0)
        polys: dict[int, list[BaseGeometry]] = {}
        found = rasterio.features.shapes(
            labels, mask=labels > 0, transform=win_transform, connectivity=4
        )
        for geom, value in _polygons(found):
            polys.setdefault(value, []).append(geom)
        for label, parts in polys.items():
            unsurveyed_rows.append(
                {
                    "village": names[i],
                    "code": codes[i],
                    "area_m2": float(counts[label] * cell_area),
                    "priority_score": float(wsum[label] * cell_area / 10_000.0),
                    "geometry": parts[0] if len(parts) == 1 else union_all(parts),
                }
            )
            unsurveyed_count[i] += 1

    if unsurveyed_rows:
        unsurveyed = gpd.GeoDataFrame(unsurveyed_rows, geometry="geometry", crs=grid.crs)
        unsurveyed = unsurveyed.sort_values(
            ["priority_score", "area_m2"], ascending=False, kind="stable"
        ).reset_index(drop=True)
        unsurveyed["rank"] = np.arange(1, len(unsurveyed) + 1)
        unsurveyed = unsurveyed.to_crs(STORE_CRS)
    else:
        unsurveyed = gpd.GeoDataFrame(
            {
                "village": pd.Series([], dtype=object),
                "code": pd.Series([], dtype=object),
                "area_m2": pd.Series([], dtype=float),
                "priority_score": pd.Series([], dtype=float),
                "rank": pd.Series([], dtype=int),
            },
            geometry=gpd.GeoSeries([], crs=STORE_CRS),
        )
    unsurveyed = unsurveyed[["village", "code", "area_m2", "priority_score", "rank", "geometry"]]

    reported_names, reported_areas = _reported(villages, reported_groups, groups, grid.crs)
    exact_area = vm.geometry.area.tolist()
    rows: list[dict[str, Any]] = []
    for i in range(n):
        area = float(cells[i + 1] * cell_area)
        cov = float(cov_cells[i + 1] * cell_area)
        pct = 100.0 * cov / area if area > 0 else None
        ppct = None
        if pri_sum is not None and pri_cov is not None and pri_sum[i + 1] > 0:
            ppct = float(100.0 * pri_cov[i + 1] / pri_sum[i + 1])
        rep_m2 = reported_areas.get(codes[i]) if reported_areas else None
        rep_pct = (
            100.0 * rep_m2 / exact_area[i] if rep_m2 is not None and exact_area[i] > 0 else None
        )
        rows.append(
            {
                "village": names[i],
                "code": codes[i],
                "area_m2": area,
                "covered_m2": cov,
                "covered_pct": pct,
                "priority_covered_pct": ppct,
                "patrols": len(seen_by[i]),
                "reported_groups": reported_names.get(codes[i], []),
                "reported_m2": rep_m2,
                "reported_pct": rep_pct,
                "unsurveyed_areas": unsurveyed_count[i],
            }
        )
    frame = pd.DataFrame(rows)

    town_area = float(cells[1:].sum() * cell_area)
    town_cov = float(cov_cells[1:].sum() * cell_area)
    town_ppct = None
    if pri_sum is not None and pri_cov is not None and pri_sum[1:].sum() > 0:
        town_ppct = float(100.0 * pri_cov[1:].sum() / pri_sum[1:].sum())
    totals: dict[str, Any] = {
        "area_m2": town_area,
        "covered_m2": town_cov,
        "covered_pct": 100.0 * town_cov / town_area if town_area > 0 else None,
        "priority_covered_pct": town_ppct,
        "patrols": n_patrols,
        "unsurveyed_areas": len(unsurveyed),
        "unsurveyed_m2": float(unsurveyed["area_m2"].sum()) if len(unsurveyed) else 0.0,
        "villages": n,
        "villages_covered": int(sum(1 for c in cov_cells[1:] if c > 0)),
    }
    return CoverageResult(
        villages=frame,
        effort=effort,
        transform=grid.transform,
        crs=grid.crs,
        unsurveyed=unsurveyed,
        totals=totals,
        radius_m=float(radius_m),
        cell_m=float(cell_m),
        priority=priority,
        village_index=village_index,
    )


def exact_coverage(
    villages: gpd.GeoDataFrame,
    tracks: gpd.GeoDataFrame,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    crs: CRS | None = None,
) -> pd.DataFrame:
    """Tracked coverage by vector geometry (buffer, union, intersection), for checking the grid.

    Returns one row per village: ``village``, ``code``, ``area_m2``, ``covered_m2``,
    ``covered_pct`` (exact areas in the metric CRS).
    """
    _check_radius(radius_m)
    crs = crs or _metric_crs_of(villages)
    strips = [geom for _key, geom in track_buffers(tracks, radius_m=radius_m, crs=crs)]
    seen = union_all(strips) if strips else None
    rows = []
    vm = villages.to_crs(crs)
    for code, name, geom in zip(
        vm["code"].astype(str), vm["name"].astype(str), vm.geometry, strict=True
    ):
        area = float(geom.area) if geom is not None else 0.0
        cov = float(geom.intersection(seen).area) if seen is not None and area > 0 else 0.0
        rows.append(
            {
                "village": name,
                "code": code,
                "area_m2": area,
                "covered_m2": cov,
                "covered_pct": 100.0 * cov / area if area > 0 else None,
            }
        )
    return pd.DataFrame(rows)
