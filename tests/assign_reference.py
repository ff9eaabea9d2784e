"""The assignment of geoverify before issue 10 (kept unchanged as the reference for tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from geoverify import geo
from geoverify.errors import CRSError, InputError
from geoverify.model import Assignment

__all__ = [
    "ASSIGN_COLUMNS",
    "COVER_EPS_DEGREES",
    "COVER_EPS_METRES",
    "MIN_SPLIT_AREA_M2",
    "MIN_SPLIT_FRACTION",
    "AssignParams",
    "assign_targets",
    "find_repeat_sites",
]

#: A point within this distance (in degrees, when villages are stored in a geographic CRS) of a
#: village counts as covered by it (≈ 0.1 mm). The test is made in the villages' own CRS, where a
#: vertex or an edge midpoint computed from the stored coordinates lies on the edge up to
#: rounding; a projection would bend a long straight edge by centimetres.
COVER_EPS_DEGREES = 1e-9
#: The same, in metres, when villages are given in a projected CRS.
COVER_EPS_METRES = 1e-4
#: A polygon target overlapping a second village counts as ``split`` only when that overlap is
#: larger than this many m² ...
MIN_SPLIT_AREA_M2 = 1.0
#: ... and larger than this fraction of the target's area.
MIN_SPLIT_FRACTION = 0.01

#: Columns of the frame returned by :func:`assign_targets`, in order.
ASSIGN_COLUMNS = [
    "village_code",
    "group",
    "assignment",
    "neighbours",
    "split_into",
    "overlap",
    "distance_m",
]

# Distances (m) and areas (m²) closer than this are ties, decided by code / name.
_TIE_M = 1e-6
_TIE_M2 = 1e-6

_IntArray = NDArray[np.intp]
_FloatArray = NDArray[np.float64]
_GeomArray = NDArray[np.object_]


@dataclass(frozen=True)
class AssignParams:
    """Parameters of :func:`assign_targets`.

    Attributes
    ----------
    tolerance_m
        Distance in metres within which a neighbouring village is named (``near_boundary``) and
        within which a target in a gap between villages goes to the nearest one (``gap_nearest``).
    """

    tolerance_m: float = 50.0


# --- helpers ---------------------------------------------------------------------------------


def _require_crs(frame: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> pyproj.CRS:
    if frame.crs is None:
        msg = f"{what}没有坐标系 (CRS missing for {what}); 请设置为 EPSG:4490"
        raise CRSError(msg)
    return pyproj.CRS.from_user_input(frame.crs)


def _geoms(series: gpd.GeoSeries) -> _GeomArray:
    return np.asarray(series.to_numpy(), dtype=object)


def _centre_lon(series: gpd.GeoSeries) -> float | None:
    valid = series[~(series.isna() | series.is_empty)]
    if len(valid) == 0:
        return None
    box = gpd.GeoSeries([shapely.box(*valid.total_bounds)], crs=valid.crs).to_crs(geo.STORE_CRS)
    x0, _, x1, _ = box.total_bounds
    lon = (x0 + x1) / 2.0
    return float(lon) if np.isfinite(lon) else None


def _choose_metric(metric: Any, *series: gpd.GeoSeries) -> pyproj.CRS | None:
    """``metric`` if given, else the Gauss-Kruger zone at the centre of the first non-empty one."""
    if metric is not None:
        return pyproj.CRS.from_user_input(metric)
    for s in series:
        lon = _centre_lon(s)
        if lon is not None:
            return geo.metric_crs(lon)
    return None


def _cover_eps(crs: pyproj.CRS) -> float:
    return COVER_EPS_DEGREES if crs.is_geographic else COVER_EPS_METRES


def _first_per_query(n: int, qi: _IntArray, order: _IntArray) -> _IntArray:
    """Pair index of the first pair of each query in ``order`` (-1 when a query has no pair)."""
    best = np.full(n, -1, dtype=np.intp)
    if order.size == 0:
        return best
    q_sorted = qi[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = q_sorted[1:] != q_sorted[:-1]
    best[q_sorted[first]] = order[first]
    return best


def _pick(
    n: int, qi: _IntArray, primary: _FloatArray, secondary: _IntArray, tie: float
) -> _IntArray:
    """For each query, the pair with the smallest ``primary`` (ties within ``tie`` broken by the
    smallest ``secondary``); -1 when the query has no pair."""
    if qi.size == 0:
        return np.full(n, -1, dtype=np.intp)
    pmin = np.full(n, np.inf)
    np.minimum.at(pmin, qi, primary)
    cand = np.flatnonzero(primary <= pmin[qi] + tie)
    order = cand[np.lexsort((secondary[cand], qi[cand]))]
    return _first_per_query(n, qi, order)


def _lists(n: int, qi: _IntArray, order: _IntArray, labels: NDArray[Any]) -> list[list[str]]:
    """Per query, the labels of its pairs in ``order`` (pairs already filtered by the caller)."""
    q_sorted = qi[order]
    lab_sorted = labels[order]
    cuts = np.searchsorted(q_sorted, np.arange(n + 1))
    return [lab_sorted[cuts[i] : cuts[i + 1]].tolist() for i in range(n)]


def _dedupe_pairs(
    qi: _IntArray, ti: _IntArray, d: _FloatArray, n_tree: int
) -> tuple[_IntArray, _IntArray, _FloatArray]:
    """Keep one pair per (query, tree item), with its smallest distance."""
    key = qi.astype(np.int64) * max(n_tree, 1) + ti
    order = np.lexsort((d, key))
    _, first = np.unique(key[order], return_index=True)
    keep = order[first]
    return qi[keep], ti[keep], d[keep]


@dataclass
class _Layer:
    """Polygons (villages or groups) in the native and the metric CRS, with their trees."""

    native: _GeomArray
    metric: _GeomArray
    tree_native: shapely.STRtree
    tree_metric: shapely.STRtree
    eps: float

    @classmethod
    def build(cls, series: gpd.GeoSeries, native_crs: pyproj.CRS, metric_crs: pyproj.CRS) -> _Layer:
        native_s = series.to_crs(native_crs)
        native = _geoms(native_s)
        bad = ~shapely.is_valid(native)
        if bad.any():
            # Repairs are reported by boundaries.check_villages; here we only need sound geometry.
            native = native.copy()
            native[bad] = shapely.make_valid(native[bad])
        metric = _geoms(gpd.GeoSeries(native, crs=native_crs).to_crs(metric_crs))
        return cls(
            native=native,
            metric=metric,
            tree_native=shapely.STRtree(native),
            tree_metric=shapely.STRtree(metric),
            eps=_cover_eps(native_crs),
        )

    def near_pairs(
        self, q_native: _GeomArray, q_metric: _GeomArray, tol: float
    ) -> tuple[_IntArray, _IntArray, _FloatArray, NDArray[np.bool_]]:
        """Pairs (query, polygon) covered in the native CRS (distance 0) or within ``tol`` metres.

        Returns query indices, polygon indices, metric distances (0 for covered pairs) and a
        "covered" flag.
        """
        nq, nt = self.tree_native.query(q_native, predicate="dwithin", distance=self.eps)
        mq, mt = self.tree_metric.query(q_metric, predicate="dwithin", distance=max(tol, 0.0))
        dm = shapely.distance(q_metric[mq], self.metric[mt]) if mq.size else np.empty(0)
        qi = np.concatenate([nq, mq]).astype(np.intp)
        ti = np.concatenate([nt, mt]).astype(np.intp)
        d = np.concatenate([np.zeros(nq.size), np.asarray(dm, dtype=float)])
        n_tree = len(self.native)
        qi, ti, d = _dedupe_pairs(qi, ti, d, n_tree)
        covered_keys = nq.astype(np.int64) * max(n_tree, 1) + nt
        covered = np.isin(qi.astype(np.int64) * max(n_tree, 1) + ti, covered_keys)
        return qi, ti, d, covered

    def overlap_pairs(self, q_metric: _GeomArray) -> tuple[_IntArray, _IntArray, _FloatArray]:
        """Pairs (query polygon, polygon) with a positive overlap area in m²."""
        qi, ti = self.tree_metric.query(q_metric, predicate="intersects")
        qi = qi.astype(np.intp)
        ti = ti.astype(np.intp)
        if qi.size == 0:
            return qi, ti, np.empty(0)
        area = np.asarray(
            shapely.area(shapely.intersection(q_metric[qi], self.metric[ti])), dtype=float
        )
        keep = area > 0
        return qi[keep], ti[keep], area[keep]


def _ranks(values: NDArray[Any]) -> _IntArray:
    """Rank of each value in sorted (string) order; equal values share no rank (stable)."""
    order = np.argsort(values.astype(str), kind="stable")
    ranks = np.empty(len(values), dtype=np.intp)
    ranks[order] = np.arange(len(values))
    return ranks


# --- villages --------------------------------------------------------------------------------


@dataclass
class _Result:
    village: _IntArray  # index into villages, -1 for none
    kind: NDArray[np.object_]
    neighbours: list[list[str]]
    split_into: list[list[str]]
    overlap: _FloatArray
    distance: _FloatArray
    point_path: NDArray[np.bool_]  # decided by a point (True) or by polygon overlap (False)


def _assign_points(
    q_native: _GeomArray,
    q_metric: _GeomArray,
    layer: _Layer,
    codes: NDArray[np.object_],
    code_rank: _IntArray,
    tol: float,
) -> _Result:
    n = len(q_native)
    qi, vi, d, covered = layer.near_pairs(q_native, q_metric, tol)
    within = covered | (d <= tol)
    qi, vi, d, covered = qi[within], vi[within], d[within], covered[within]

    has_cov = np.zeros(n, dtype=bool)
    has_cov[qi[covered]] = True
    # Covered targets: the covering village with the smallest code.
    cov_pick = _pick(n, qi[covered], np.zeros(int(covered.sum())), code_rank[vi[covered]], 0.0)
    # Others: the nearest village within tolerance, ties by code.
    near_pick = _pick(n, qi, d, code_rank[vi], _TIE_M)

    cov_idx = np.flatnonzero(covered)
    village = np.full(n, -1, dtype=np.intp)
    sel = cov_pick >= 0
    village[sel] = vi[cov_idx[cov_pick[sel]]]
    sel = ~has_cov & (near_pick >= 0)
    village[sel] = vi[near_pick[sel]]

    others = vi != village[qi]
    idx = np.flatnonzero(others)
    order = idx[np.lexsort((code_rank[vi[idx]], d[idx], qi[idx]))]
    neighbours = _lists(n, qi, order, codes[vi])

    has_nb = np.array([len(x) > 0 for x in neighbours], dtype=bool)
    kind = np.full(n, Assignment.OUTSIDE.value, dtype=object)
    kind[has_cov] = Assignment.INSIDE.value
    kind[has_cov & has_nb] = Assignment.NEAR_BOUNDARY.value
    gap = ~has_cov & (village >= 0)
    kind[gap] = Assignment.GAP_NEAREST.value

    distance = np.full(n, np.nan)
    distance[has_cov] = 0.0
    if gap.any():
        distance[gap] = np.asarray(d[near_pick[gap]], dtype=float)
    out = np.flatnonzero(village < 0)
    if out.size and len(layer.metric):
        ni, nd = layer.tree_metric.query_nearest(q_metric[out], return_distance=True)
        dist_out = np.full(out.size, np.inf)
        np.minimum.at(dist_out, ni[0], nd)
        dist_out[~np.isfinite(dist_out)] = np.nan
        distance[out] = dist_out

    overlap = np.where(has_cov, 1.0, np.nan)
    return _Result(
        village=village,
        kind=kind,
        neighbours=neighbours,
        split_into=[[] for _ in range(n)],
        overlap=overlap,
        distance=distance,
        point_path=np.ones(n, dtype=bool),
    )


def _assign_polygons(
    q_metric: _GeomArray,
    layer: _Layer,
    codes: NDArray[np.object_],
    code_rank: _IntArray,
    tol: float,
) -> _Result:
    """Polygon targets overlapping at least one village; others get village -1 (no overlap)."""
    n = len(q_metric)
    t_area = np.asarray(shapely.area(q_metric), dtype=float)
    qi, vi, area = layer.overlap_pairs(q_metric)
    best = _pick(n, qi, -area, code_rank[vi], _TIE_M2)
    village = np.full(n, -1, dtype=np.intp)
    sel = best >= 0
    village[sel] = vi[best[sel]]
    overlap = np.full(n, np.nan)
    overlap[sel] = area[best[sel]] / t_area[sel]

    with np.errstate(divide="ignore", invalid="ignore"):
        frac = area / t_area[qi]
    significant = (area > MIN_SPLIT_AREA_M2) & (frac > MIN_SPLIT_FRACTION)
    n_sig = np.bincount(qi[significant], minlength=n)
    idx = np.flatnonzero(significant & (vi != village[qi]))
    order = idx[np.lexsort((code_rank[vi[idx]], -area[idx], qi[idx]))]
    split_into = _lists(n, qi, order, codes[vi])

    mq, mv = layer.tree_metric.query(q_metric, predicate="dwithin", distance=max(tol, 0.0))
    md = np.asarray(shapely.distance(q_metric[mq], layer.metric[mv]), dtype=float)
    mq = mq.astype(np.intp)
    mv = mv.astype(np.intp)
    idx = np.flatnonzero(mv != village[mq])
    order = idx[np.lexsort((code_rank[mv[idx]], md[idx], mq[idx]))]
    neighbours = _lists(n, mq, order, codes[mv])

    has_nb = np.array([len(x) > 0 for x in neighbours], dtype=bool)
    kind = np.full(n, Assignment.OUTSIDE.value, dtype=object)
    kind[sel] = Assignment.INSIDE.value
    kind[sel & has_nb] = Assignment.NEAR_BOUNDARY.value
    kind[sel & (n_sig >= 2)] = Assignment.SPLIT.value
    distance = np.where(sel, 0.0, np.nan)
    return _Result(
        village=village,
        kind=kind,
        neighbours=neighbours,
        split_into=split_into,
        overlap=overlap,
        distance=distance,
        point_path=np.zeros(n, dtype=bool),
    )


# --- groups ----------------------------------------------------------------------------------


def _assign_groups(
    groups: gpd.GeoDataFrame | None,
    village_codes: NDArray[np.object_],
    q_native: _GeomArray,
    q_metric: _GeomArray,
    is_poly: NDArray[np.bool_],
    native_crs: pyproj.CRS,
    metric_crs: pyproj.CRS,
    tol: float,
) -> NDArray[np.object_]:
    """Group name per target (None when the village has no group polygon near the target).

    ``q_native``/``q_metric`` hold the point used for point-path targets and the polygon for
    polygon-path targets (``is_poly``).
    """
    n = len(village_codes)
    result = np.full(n, None, dtype=object)
    if groups is None or len(groups) == 0 or n == 0:
        return result
    for col in ("village_code", "name"):
        if col not in groups.columns:
            msg = f"村民小组数据缺少字段 {col} (groups frame has no column {col!r})"
            raise InputError(msg)
    has_geom = ~(groups.geometry.isna() | groups.geometry.is_empty)
    g = groups[has_geom.to_numpy()]
    if len(g) == 0:
        return result
    _require_crs(g, "村民小组 (groups)")
    layer = _Layer.build(g.geometry, native_crs, metric_crs)
    g_village = g["village_code"].astype(object).to_numpy()
    g_names = g["name"].astype(object).to_numpy()
    name_rank = _ranks(g_names)

    # Points: covered (distance 0) or nearest within tolerance, same village only; ties by name.
    pts = np.flatnonzero(~is_poly & (village_codes != None))  # noqa: E711
    if pts.size:
        qi, gi, d, _ = layer.near_pairs(q_native[pts], q_metric[pts], tol)
        ok = g_village[gi] == village_codes[pts][qi]
        qi, gi, d = qi[ok], gi[ok], d[ok]
        pick = _pick(pts.size, qi, d, name_rank[gi], _TIE_M)
        sel = pick >= 0
        result[pts[sel]] = g_names[gi[pick[sel]]]

    polys = np.flatnonzero(is_poly & (village_codes != None))  # noqa: E711
    if polys.size:
        qm = q_metric[polys]
        qi, gi, area = layer.overlap_pairs(qm)
        ok = g_village[gi] == village_codes[polys][qi]
        qi, gi, area = qi[ok], gi[ok], area[ok]
        pick = _pick(polys.size, qi, -area, name_rank[gi], _TIE_M2)
        sel = pick >= 0
        result[polys[sel]] = g_names[gi[pick[sel]]]
        rest = np.flatnonzero(~sel)
        if rest.size:
            mq, mg = layer.tree_metric.query(qm[rest], predicate="dwithin", distance=max(tol, 0.0))
            mq = mq.astype(np.intp)
            mg = mg.astype(np.intp)
            md = np.asarray(shapely.distance(qm[rest][mq], layer.metric[mg]), dtype=float)
            ok = g_village[mg] == village_codes[polys[rest]][mq]
            mq, mg, md = mq[ok], mg[ok], md[ok]
            pick = _pick(rest.size, mq, md, name_rank[mg], _TIE_M)
            sel2 = pick >= 0
            result[polys[rest[sel2]]] = g_names[mg[pick[sel2]]]
    return result


# --- public ----------------------------------------------------------------------------------


def _empty_result(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "village_code": pd.Series([], dtype=object),
            "group": pd.Series([], dtype=object),
            "assignment": pd.Series([], dtype=object),
            "neighbours": pd.Series([], dtype=object),
            "split_into": pd.Series([], dtype=object),
            "overlap": pd.Series([], dtype=float),
            "distance_m": pd.Series([], dtype=float),
        },
        index=index,
    )


def _check_villages(villages: gpd.GeoDataFrame) -> NDArray[np.object_]:
    if "code" not in villages.columns:
        msg = "村界数据缺少字段 code (villages frame has no column 'code')"
        raise InputError(msg)
    codes = villages["code"].astype(object).to_numpy()
    missing = pd.isna(codes)
    if missing.any():
        labels = villages.index[missing].tolist()[:10]
        msg = f"村界数据有 {int(missing.sum())} 个要素没有村代码 (villages without code): {labels}"
        raise InputError(msg)
    codes = np.array([str(c) for c in codes], dtype=object)
    dup = pd.Series(codes).duplicated(keep=False).to_numpy()
    if dup.any():
        msg = f"村代码重复 (duplicate village codes): {sorted(set(codes[dup].tolist()))}"
        raise InputError(msg)
    geom = villages.geometry
    bad = (geom.isna() | geom.is_empty).to_numpy()
    if bad.any():
        msg = f"村界数据有要素没有几何 (villages without geometry): {codes[bad].tolist()[:10]}"
        raise InputError(msg)
    return codes


def assign_targets(
    targets: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    groups: gpd.GeoDataFrame | None = None,
    *,
    tolerance_m: float = 50.0,
    metric: pyproj.CRS | None = None,
) -> pd.DataFrame:
    """Assign each target to a village (村/社区) and, where group polygons exist, a group (组).

    Parameters
    ----------
    targets
        Points or polygons with a CRS (any; usually EPSG:4490).
    villages
        Villages frame: unique ``code`` and a (Multi)Polygon ``geometry``, with a CRS.
    groups
        Optional groups frame: ``village_code``, ``name``, ``geometry`` (may be None).
    tolerance_m
        Metres within which neighbouring villages are named and gap targets are assigned.
    metric
        Metric CRS for distances and areas; default ``geo.metric_crs`` of the centre longitude
        of the villages' bounding box (EPSG:4544 for the sample town).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``targets``, columns :data:`ASSIGN_COLUMNS`:

        ``village_code`` (str or None), ``group`` (str or None), ``assignment``
        (:class:`~geoverify.model.Assignment` value), ``neighbours`` (codes of other villages
        within ``tolerance_m``, nearest first, ties by code), ``split_into`` (codes of other
        villages a polygon target overlaps significantly, largest overlap first), ``overlap``
        (share of a polygon target's area in its village; 1.0 for a covered point; NaN
        otherwise), ``distance_m`` (0 inside; the gap for ``gap_nearest``; the distance to the
        nearest village for ``outside``; NaN without villages).

    Notes
    -----
    Rules:

    * A point is *covered* by a village when it lies within :data:`COVER_EPS_DEGREES`
      (≈ 0.1 mm; :data:`COVER_EPS_METRES` for a projected village CRS) of it, tested in the
      villages' own CRS so that vertices and edge midpoints computed from the stored coordinates
      are found on the boundary. A point covered by several villages (on a shared boundary)
      goes to the one with the **smallest code** (string order), kind ``near_boundary``, the
      others as neighbours. A point covered by one village is ``inside``, or ``near_boundary``
      if another village lies within ``tolerance_m``.
    * A point covered by none but within ``tolerance_m`` of a village is ``gap_nearest``
      (nearest village; distances within 1 µm are ties, broken by smallest code); beyond that
      it is ``outside`` with ``village_code`` None.
    * A polygon target goes to the village with the largest overlap area (ties within 1e-6 m²
      broken by smallest code). It is ``split`` when at least two villages each overlap it by
      more than :data:`MIN_SPLIT_AREA_M2` m² **and** more than :data:`MIN_SPLIT_FRACTION` of
      its area; otherwise ``inside``/``near_boundary`` as for points. A polygon overlapping no
      village (zero area) is handled as its representative point (``point_on_surface``).
    * Groups: among the assigned village's group polygons, the one covering the point (or
      overlapping the polygon most); else the nearest within ``tolerance_m``; else None.
      Ties are broken by group name.
    * Targets with a missing or empty geometry raise :class:`~geoverify.errors.InputError`.
    """
    if tolerance_m < 0 or not np.isfinite(tolerance_m):
        msg = f"容差必须是非负数 (tolerance_m must be >= 0), got {tolerance_m!r}"
        raise InputError(msg)
    t_crs = _require_crs(targets, "靶标 (targets)")
    v_crs = _require_crs(villages, "村界 (villages)")
    codes = _check_villages(villages)
    if len(targets) == 0:
        return _empty_result(targets.index)

    tgeom = targets.geometry
    missing = (tgeom.isna() | tgeom.is_empty).to_numpy()
    if missing.any():
        labels = targets.index[missing].tolist()[:10]
        msg = f"{int(missing.sum())} 个靶标没有坐标或几何 (targets without geometry): {labels}"
        raise InputError(msg)

    native_crs = v_crs if len(villages) else t_crs
    metric_crs = _choose_metric(metric, villages.geometry, tgeom)
    assert metric_crs is not None  # targets are non-empty with geometry
    n = len(targets)

    t_native = _geoms(tgeom.to_crs(native_crs))
    is_poly = np.isin(shapely.get_type_id(t_native), [3, 6])  # Polygon, MultiPolygon
    reps = t_native.copy()
    non_point = shapely.get_type_id(t_native) != 0
    reps[non_point] = shapely.point_on_surface(t_native[non_point])
    reps_metric = _geoms(gpd.GeoSeries(reps, crs=native_crs).to_crs(metric_crs))

    village = np.full(n, -1, dtype=np.intp)
    kind = np.full(n, Assignment.OUTSIDE.value, dtype=object)
    neighbours: list[list[str]] = [[] for _ in range(n)]
    split_into: list[list[str]] = [[] for _ in range(n)]
    overlap = np.full(n, np.nan)
    distance = np.full(n, np.nan)
    by_polygon = np.zeros(n, dtype=bool)
    q_native = reps.copy()
    q_metric = reps_metric.copy()

    if len(villages) == 0:
        res_village = village
    else:
        layer = _Layer.build(villages.geometry, native_crs, metric_crs)
        code_rank = _ranks(codes)

        def put(rows: _IntArray, r: _Result, take: NDArray[np.bool_]) -> None:
            dst = rows[take]
            village[dst] = r.village[take]
            kind[dst] = r.kind[take]
            overlap[dst] = r.overlap[take]
            distance[dst] = r.distance[take]
            for i, j in zip(dst.tolist(), np.flatnonzero(take).tolist(), strict=True):
                neighbours[i] = r.neighbours[j]
                split_into[i] = r.split_into[j]

        poly_rows = np.flatnonzero(is_poly)
        point_rows = np.flatnonzero(~is_poly)
        if poly_rows.size:
            t_metric_poly = _geoms(
                gpd.GeoSeries(t_native[poly_rows], crs=native_crs).to_crs(metric_crs)
            )
            rp = _assign_polygons(t_metric_poly, layer, codes, code_rank, tolerance_m)
            took = rp.village >= 0
            put(poly_rows, rp, took)
            by_polygon[poly_rows[took]] = True
            q_native[poly_rows[took]] = t_native[poly_rows[took]]
            q_metric[poly_rows[took]] = t_metric_poly[took]
            point_rows = np.sort(np.concatenate([point_rows, poly_rows[~took]]))
        if point_rows.size:
            rpt = _assign_points(
                reps[point_rows], reps_metric[point_rows], layer, codes, code_rank, tolerance_m
            )
            put(point_rows, rpt, np.ones(point_rows.size, dtype=bool))
        res_village = village

    village_codes = np.full(n, None, dtype=object)
    has = res_village >= 0
    village_codes[has] = codes[res_village[has]]
    group = _assign_groups(
        groups, village_codes, q_native, q_metric, by_polygon, native_crs, metric_crs, tolerance_m
    )
    return pd.DataFrame(
        {
            "village_code": pd.Series(village_codes, dtype=object, index=targets.index),
            "group": pd.Series(group, dtype=object, index=targets.index),
            "assignment": pd.Series(kind, dtype=object, index=targets.index),
            "neighbours": pd.Series(neighbours, dtype=object, index=targets.index),
            "split_into": pd.Series(split_into, dtype=object, index=targets.index),
            "overlap": pd.Series(overlap, dtype=float, index=targets.index),
            "distance_m": pd.Series(distance, dtype=float, index=targets.index),
        },
        index=targets.index,
    )


def find_repeat_sites(
    new: gpd.GeoDataFrame,
    earlier: gpd.GeoDataFrame,
    *,
    radius_m: float = 30.0,
    metric: pyproj.CRS | None = None,
) -> pd.DataFrame:
    """Find, for each new target, the nearest earlier target within ``radius_m`` (重复点位).

    Parameters
    ----------
    new, earlier
        Target frames (points or polygons) with a CRS.
    radius_m
        Search radius in metres; the distance is between the geometries (a polygon by its shape,
        0 when a point lies in an earlier polygon).
    metric
        Metric CRS; default ``geo.metric_crs`` of the centre longitude of ``new``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``new``: ``repeat_of`` (index label of the nearest row of ``earlier``, or
        None) and ``distance_m`` (NaN when none). Distances within 1 µm are ties, given to the
        row that comes first in ``earlier``. Rows with a missing geometry get None.
    """
    if radius_m < 0 or not np.isfinite(radius_m):
        msg = f"半径必须是非负数 (radius_m must be >= 0), got {radius_m!r}"
        raise InputError(msg)
    n = len(new)
    repeat_of = np.full(n, None, dtype=object)
    distance = np.full(n, np.nan)
    if n and len(earlier):
        _require_crs(new, "新靶标 (new targets)")
        _require_crs(earlier, "以往靶标 (earlier targets)")
        metric_crs = _choose_metric(metric, new.geometry, earlier.geometry)
        if metric_crs is not None:
            a = _geoms(new.geometry.to_crs(metric_crs))
            b = _geoms(earlier.geometry.to_crs(metric_crs))
            b_ok = ~(pd.isna(b) | shapely.is_empty(b))
            b_pos = np.flatnonzero(b_ok)
            tree = shapely.STRtree(b[b_pos])
            a_ok = np.flatnonzero(~(pd.isna(a) | shapely.is_empty(a)))
            (qi, ti), d = tree.query_nearest(
                a[a_ok], max_distance=max(radius_m, 1e-9), return_distance=True, all_matches=True
            )
            qi = qi.astype(np.intp)
            ti = ti.astype(np.intp)
            d = np.asarray(d, dtype=float)
            keep = d <= radius_m
            qi, ti, d = qi[keep], ti[keep], d[keep]
            pick = _pick(a_ok.size, qi, d, b_pos[ti], _TIE_M)
            sel = pick >= 0
            labels = np.asarray(earlier.index.to_numpy(), dtype=object)
            repeat_of[a_ok[sel]] = labels[b_pos[ti[pick[sel]]]]
            distance[a_ok[sel]] = d[pick[sel]]
    return pd.DataFrame(
        {
            "repeat_of": pd.Series(repeat_of, dtype=object, index=new.index),
            "distance_m": pd.Series(distance, dtype=float, index=new.index),
        },
        index=new.index,
    )
