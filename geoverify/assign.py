"""Assign suspect targets (疑似靶标) to villages (村/社区) and groups (组); find repeat sites."""

from __future__ import annotations

import concurrent.futures
import functools
import itertools
import math
import os
import re
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numba import njit
from numpy.typing import NDArray
from pyproj.transformer import TransformerGroup

from geoverify import cells, geo, segments
from geoverify.boundaries import polygonal_part
from geoverify.errors import CRSError, InputError
from geoverify.model import Assignment
from geoverify.segments import Rings, SegmentIndex, reference_points
from geoverify.validity import certainly_valid

__all__ = [
    "ASSIGN_COLUMNS",
    "COVER_EPS_DEGREES",
    "COVER_EPS_METRES",
    "DEFAULT_TOLERANCE_M",
    "MIN_SPLIT_AREA_M2",
    "MIN_SPLIT_FRACTION",
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

#: Metres within which a neighbouring village is named (``near_boundary``) and within which a
#: target in a gap between villages goes to the nearest one (``gap_nearest``), by default.
DEFAULT_TOLERANCE_M = 50.0
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
#: From this many point targets on, a cell grid settles the points far from every boundary
#: before the exact geometry tests the rest.
GRID_MIN_POINTS = 20_000
#: Most cells of that grid.
MAX_GRID_CELLS = 8_000_000

_TIE_M = 1e-6
_TIE_M2 = 1e-6

# Worker threads for the exact geometry tests, and the fewest queries worth a thread.
_THREADS = max(1, min(4, os.cpu_count() or 1))
_THREAD_MIN_QUERIES = 20_000
# Metres around the villages that the segment index covers (outside distances beyond it come
# from GEOS).
_INDEX_MARGIN_M = 2_000.0
# Cells across the tolerance, at most (5 m cells for 50 m).
_CELLS_PER_TOLERANCE = 10
#: Coordinates from which :func:`_project` uses two threads.
_PROJECT_THREADS_FROM = 100_000
# Points per chunk of the k-d tree queries.
_CHUNK = 65_536
# Points far from every village measured at a time, by either thread (see :class:`_Pieces`).
_FAR_PIECE = 65_536

_IntArray = NDArray[np.intp]
_T = TypeVar("_T")
_FloatArray = NDArray[np.float64]
_GeomArray = NDArray[np.object_]


# --- helpers ---------------------------------------------------------------------------------


def _require_crs(frame: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> pyproj.CRS:
    if frame.crs is None:
        msg = f"{what}没有坐标系 (CRS missing for {what}); 请设置为 EPSG:4490"
        raise CRSError(msg)
    return pyproj.CRS.from_user_input(frame.crs)


def _geoms(series: gpd.GeoSeries) -> _GeomArray:
    return np.asarray(series.to_numpy(), dtype=object)


def _no_geometry(series: gpd.GeoSeries) -> NDArray[np.bool_]:
    """Which rows have no geometry or an empty one (by shapely: a pandas test of a few dozen
    polygons costs milliseconds)."""
    geoms = _geoms(series)
    return np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms), dtype=bool)


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


def _pick(
    n: int, qi: _IntArray, primary: _FloatArray, secondary: _IntArray, tie: float
) -> _IntArray:
    """For each query, the pair with the smallest ``primary`` (ties within ``tie`` broken by the
    smallest ``secondary``, then by the first pair); -1 when the query has no pair. A NaN
    ``primary`` leaves its query without a pair."""
    out = np.full(n, -1, dtype=np.intp)
    if qi.size:
        _pick_pairs(
            np.ascontiguousarray(qi, dtype=np.intp),
            np.ascontiguousarray(primary, dtype=np.float64),
            np.ascontiguousarray(secondary, dtype=np.int64),
            float(tie),
            out,
        )
    return out


@njit(cache=True, nogil=True)
def _pick_pairs(
    qi: _IntArray,
    primary: _FloatArray,
    secondary: NDArray[np.int64],
    tie: float,
    out: _IntArray,
) -> None:
    """:func:`_pick` in two passes over the pairs: the smallest primary per query (NaN sticks,
    as in ``np.minimum``), then the first pair with the smallest secondary among those within
    ``tie`` of it."""
    pmin = np.full(out.size, np.inf)
    for i in range(qi.size):
        p = primary[i]
        if math.isnan(p) or p < pmin[qi[i]]:
            pmin[qi[i]] = p
    for i in range(qi.size):
        q = qi[i]
        if primary[i] <= pmin[q] + tie:
            b = out[q]
            if b < 0 or secondary[i] < secondary[b]:
                out[q] = i


def _lists(
    n: int, qi: _IntArray, order: _IntArray, ids: _IntArray, codes: NDArray[Any]
) -> NDArray[np.object_]:
    """Per query, the tuple of the codes (``codes[ids]``) of its pairs in ``order`` (pairs
    already filtered by the caller); the one empty tuple for a query without pairs.

    A query with one pair (most of them) shares its village's one 1-tuple."""
    out = _filled(n, ())
    if not order.size:
        return out
    q_sorted = qi[order]
    id_sorted = ids[order]
    starts = np.flatnonzero(np.r_[True, q_sorted[1:] != q_sorted[:-1]])
    ends = np.r_[starts[1:], q_sorted.size]
    alone = ends - starts == 1
    first = id_sorted[starts[alone]]
    if first.size:
        used = np.unique(first)
        ones = np.empty(len(codes), dtype=object)
        for i, code in zip(used.tolist(), codes[used].tolist(), strict=True):
            ones[i] = (code,)
        out[q_sorted[starts[alone]]] = ones[first]
    several = ~alone
    if several.any():
        labels = codes[id_sorted].tolist()
        for q, a, b in zip(
            q_sorted[starts[several]].tolist(),
            starts[several].tolist(),
            ends[several].tolist(),
            strict=True,
        ):
            out[q] = tuple(labels[a:b])
    return out


def _run_parts(run: Callable[[slice], _T], parts: list[slice]) -> list[_T]:
    """``run`` of each part, in a thread each when there are several."""
    if len(parts) == 1:
        return [run(parts[0])]
    with ThreadPoolExecutor(len(parts)) as pool:
        return list(pool.map(run, parts))


def _split(n: int, threads: int = 0) -> list[slice]:
    """Slices of ``range(n)`` for the worker threads (one slice when ``n`` is small)."""
    workers = min(threads or _THREADS, max(1, n // _THREAD_MIN_QUERIES))
    if workers <= 1:
        return [slice(0, n)]
    cuts = np.linspace(0, n, workers + 1).astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(cuts)]


def _absent(
    n: int, qi: _IntArray, ti: _IntArray, mq: _IntArray, mt: _IntArray
) -> NDArray[np.bool_]:
    """Whether each pair (``mq``, ``mt``) is absent from the pairs (``qi``, ``ti``), queries
    ``< n``."""
    out = np.ones(mq.size, dtype=bool)
    if qi.size and mq.size:
        _mark_present(
            n,
            np.ascontiguousarray(qi, dtype=np.int64),
            np.ascontiguousarray(ti, dtype=np.int64),
            np.ascontiguousarray(mq, dtype=np.int64),
            np.ascontiguousarray(mt, dtype=np.int64),
            out,
        )
    return out


@njit(cache=True, nogil=True)
def _mark_present(
    n: int,
    qi: NDArray[np.int64],
    ti: NDArray[np.int64],
    mq: NDArray[np.int64],
    mt: NDArray[np.int64],
    out: NDArray[np.bool_],
) -> None:
    """Clear ``out`` where (``mq``, ``mt``) is among (``qi``, ``ti``): the items of each query
    gathered by counting sort (a query has a few), then looked through."""
    offsets = np.zeros(n + 1, np.int64)
    for q in qi:
        offsets[q + 1] += 1
    for q in range(n):
        offsets[q + 1] += offsets[q]
    fill = offsets[:-1].copy()
    items = np.empty(qi.size, np.int64)
    for i in range(qi.size):
        items[fill[qi[i]]] = ti[i]
        fill[qi[i]] += 1
    for i in range(mq.size):
        q = mq[i]
        for j in range(offsets[q], offsets[q + 1]):
            if items[j] == mt[i]:
                out[i] = False
                break


class _Reference(NamedTuple):
    """Points in the native CRS (``x``, ``y``) with their reference points for the covering
    test: the ``x`` of a point to the right (same ``y``) and the polygon covering it, -1 none
    (see :func:`geoverify.segments.reference_points`)."""

    x: _FloatArray
    y: _FloatArray
    qx: _FloatArray
    owner: NDArray[np.int64]

    def part(self, rows: slice | _IntArray) -> _Reference:
        return _Reference(self.x[rows], self.y[rows], self.qx[rows], self.owner[rows])

    def passing(self, xy: _FloatArray) -> segments.PassPoints:
        """These points, with their metric coordinates ``xy`` (rows), for the compiled passes."""
        mx, my = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        return segments.PassPoints(mx, my, self.x, self.y, self.qx, self.owner)


@dataclass
class _Layer:
    """Polygons (villages or groups) in the native and the metric CRS, with their trees.

    The metric polygons and their tree are made when first asked for: the compiled paths read
    the rings alone (:meth:`metric_of` makes a few polygons for the few pairs GEOS decides).
    """

    native: _GeomArray
    tree_native: shapely.STRtree
    eps: float
    # Metres by which a projected edge may stray from its metric chord, with margin: measured
    # in the background while the layer is first used (see :attr:`bend`).
    bend_future: concurrent.futures.Future[float]
    rings: Rings  # the native polygons' rings
    metric_rings: Rings  # the metric polygons' rings (the same vertices, projected)
    _segments: SegmentIndex | bool | None = False  # False: not built yet
    _native_segments: SegmentIndex | bool | None = False
    _metric_lock: threading.Lock = field(default_factory=threading.Lock)
    _native_lock: threading.Lock = field(default_factory=threading.Lock)
    threads: int = 0  # worker threads for the exact tests; 0: as many as the CPUs (up to 4)
    _metric: _GeomArray | None = None
    _tree_metric: shapely.STRtree | None = None
    _geometry_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bend(self) -> float:
        """Metres by which a projected edge may stray from its chord in the metric polygons."""
        return self.bend_future.result()

    @property
    def metric(self) -> _GeomArray:
        """The metric polygons: the native ones with their vertices projected."""
        with self._geometry_lock:
            if self._metric is None:
                self._metric = shapely.set_coordinates(self.native.copy(), self.metric_rings.xy)
            return self._metric

    @property
    def tree_metric(self) -> shapely.STRtree:
        metric = self.metric
        with self._geometry_lock:
            if self._tree_metric is None:
                self._tree_metric = shapely.STRtree(metric)
            return self._tree_metric

    def metric_of(self, ids: _IntArray) -> _GeomArray:
        """The metric polygons ``ids`` (made alone when the layer has not made them all)."""
        if self._metric is not None:
            return self._metric[ids]
        wanted, back = np.unique(ids, return_inverse=True)
        starts = self.rings.starts
        coords = np.concatenate([self.metric_rings.xy[starts[i] : starts[i + 1]] for i in wanted])
        made = shapely.set_coordinates(self.native[wanted].copy(), coords)
        return np.asarray(made, dtype=object)[back]

    @classmethod
    def build(
        cls,
        series: gpd.GeoSeries,
        native_crs: pyproj.CRS,
        metric_crs: pyproj.CRS,
        threads: int = 0,
    ) -> _Layer:
        same_crs = series.crs is not None and pyproj.CRS.from_user_input(series.crs) == native_crs
        native = _geoms(series if same_crs else series.to_crs(native_crs))
        rings = Rings.of(native)
        # The validity check runs beside the projection, which is made again in the rare case
        # that a polygon needs repair.
        valid, projected = _side_by_side(
            lambda: _is_valid(native, rings),
            lambda: _Projected.of(native, native_crs, metric_crs, threads, rings),
            threads,
        )
        type_id = shapely.get_type_id(native)
        bad = ~np.asarray(valid, dtype=bool) | ((type_id != 3) & (type_id != 6))
        if bad.any():
            # Repairs are reported by boundaries.check_villages; here we only need sound
            # polygons: the areal part of each repair (a spike's line or a lone point covers
            # nothing), and of anything else given as a village or a group.
            native = native.copy()
            native[bad] = [polygonal_part(g) for g in shapely.make_valid(native[bad])]
            projected = _Projected.of(native, native_crs, metric_crs, threads)
        return cls(
            native=native,
            tree_native=shapely.STRtree(native),
            eps=_cover_eps(native_crs),
            bend_future=projected.bend,
            rings=projected.rings,
            metric_rings=projected.metric_rings,
            threads=threads,
            _metric=projected.metric,
        )

    def segment_index(self, tol: float) -> SegmentIndex | None:
        """The metric ring segments in a bucket grid (made once; None without segments)."""
        with self._metric_lock:  # threads share the layer: one of them makes it
            if self._segments is False:
                self._segments = SegmentIndex.build(
                    self.metric_rings, self.bend, tolerance=tol, margin=max(tol, _INDEX_MARGIN_M)
                )
        assert not isinstance(self._segments, bool)
        return self._segments

    def native_index(self) -> SegmentIndex | None:
        """The ring segments in the native CRS in a bucket grid, for covering tests."""
        with self._native_lock:
            if self._native_segments is False:
                self._native_segments = SegmentIndex.build(
                    self.rings, 0.0, tolerance=0.0, margin=0.0, min_cell=1e-9
                )
        assert not isinstance(self._native_segments, bool)
        return self._native_segments

    def indexes(
        self, tol: float, native: bool = True
    ) -> tuple[SegmentIndex | None, SegmentIndex | None]:
        """The metric segment index (None when ``tol`` is within the bend: GEOS measures) and,
        if ``native``, the native one, made side by side when not made yet."""
        return _side_by_side(
            lambda: self.segment_index(tol) if tol > self.bend else None,
            lambda: self.native_index() if native else None,
            self.threads,
        )

    def near_pairs(
        self,
        q_native: _GeomArray,
        xy: _FloatArray,
        tol: float,
        cover: _IntArray | None = None,
        ref: _Reference | None = None,
    ) -> tuple[_IntArray, _IntArray, _FloatArray, NDArray[np.bool_]]:
        """Pairs (query point, polygon) covered in the native CRS (distance 0) or within ``tol``
        metres.

        ``q_native`` are the points in the native CRS, ``xy`` their metric coordinates (rows).
        Returns query indices, polygon indices, metric distances (0 for covered pairs) and a
        "covered" flag. Metric distances come from the segment index; GEOS, with each polygon
        prepared once, tests the covering. Large inputs are split between threads (numba and
        GEOS release the GIL). ``cover``, when known, is the one polygon covering each query
        (-1: none); ``q_native`` is then not read. Otherwise ``ref``, reference points from
        :meth:`_CellGrid.reference`, lets the native segment index tell the covering polygons.
        """
        n = len(xy)
        parts = _split(n, self.threads)
        if n and cover is None and ref is not None:
            self.indexes(tol)  # both first, side by side (numba and GEOS release the GIL)

        def part(r: slice) -> tuple[_IntArray, _IntArray, _FloatArray, NDArray[np.bool_]]:
            known = None if cover is None else cover[r]
            r_ref = None if ref is None else ref.part(r)
            return self._near_pairs_part(q_native[r], xy[r], tol, r.start, known, r_ref)

        found = _run_parts(part, parts)
        qi = np.concatenate([f[0] for f in found])
        ti = np.concatenate([f[1] for f in found])
        d = np.concatenate([f[2] for f in found])
        covered = np.concatenate([f[3] for f in found])
        return qi, ti, d, covered

    def _near_pairs_part(
        self,
        q_native: _GeomArray,
        xy: _FloatArray,
        tol: float,
        offset: int,
        cover: _IntArray | None,
        ref: _Reference | None = None,
    ) -> tuple[_IntArray, _IntArray, _FloatArray, NDArray[np.bool_]]:
        index = self.segment_index(tol) if tol > self.bend else None
        if index is None:
            return self._near_pairs_geos(q_native, xy, tol, offset, cover)
        native_index = self.native_index() if cover is None and ref is not None else None
        # One order for both kernels: neighbouring points read the same buckets of either.
        order = index.order(xy[:, 0], xy[:, 1])
        if native_index is not None and ref is not None:
            nq, nt, crowded = native_index.cover(
                ref.x, ref.y, ref.qx, ref.owner, self.eps, order=order
            )
            if crowded.size:  # more rings between point and reference than kept: GEOS tells
                cq, ct = self._covering_pairs(q_native[crowded], None)
                nq = np.concatenate([nq, crowded[cq]])
                nt = np.concatenate([nt, ct])
        else:
            nq, nt = self._covering_pairs(q_native, cover)
        mq, mt, d, over = index.near(xy[:, 0], xy[:, 1], tol, order=order)
        far = _absent(len(xy), nq, nt, mq, mt)
        mq, mt, d = mq[far], mt[far], d[far]
        # Within ``bend`` of a ring, a point outside the native polygon may lie inside the
        # metric one (distance 0): GEOS decides those few pairs.
        close = np.flatnonzero(d <= self.bend)
        if close.size:
            d[close] = shapely.distance(shapely.points(xy[mq[close]]), self.metric_of(mt[close]))
        qi = np.concatenate([nq, mq]).astype(np.intp)
        ti = np.concatenate([nt, mt]).astype(np.intp)
        dist = np.concatenate([np.zeros(nq.size), d])
        covered = np.concatenate([np.ones(nq.size, dtype=bool), np.zeros(mq.size, dtype=bool)])
        if over.size:  # crowded points: GEOS alone
            keep = ~np.isin(qi, over)
            qi, ti, dist, covered = qi[keep], ti[keep], dist[keep], covered[keep]
            known = None if cover is None else cover[over]
            oq, ot, od, oc = self._near_pairs_geos(q_native[over], xy[over], tol, 0, known)
            qi = np.concatenate([qi, over[oq]])
            ti = np.concatenate([ti, ot])
            dist = np.concatenate([dist, od])
            covered = np.concatenate([covered, oc])
        return qi + offset, ti, dist, covered

    def _covering_pairs(
        self, q_native: _GeomArray, cover: _IntArray | None
    ) -> tuple[_IntArray, _IntArray]:
        """(query, polygon) pairs where the polygon covers the query: ``cover`` when known,
        else GEOS (polygons prepared once, querying a tree of the points)."""
        if cover is not None:
            nq = np.flatnonzero(cover >= 0)
            return nq, cover[nq]
        nt, nq = shapely.STRtree(q_native).query(
            self.native, predicate="dwithin", distance=self.eps
        )
        return nq, nt

    def _near_pairs_geos(
        self,
        q_native: _GeomArray,
        xy: _FloatArray,
        tol: float,
        offset: int,
        cover: _IntArray | None,
    ) -> tuple[_IntArray, _IntArray, _FloatArray, NDArray[np.bool_]]:
        q_metric = shapely.points(xy)
        nq, nt = self._covering_pairs(q_native, cover)
        mt, mq = shapely.STRtree(q_metric).query(
            self.metric, predicate="dwithin", distance=max(tol, 0.0)
        )
        far = _absent(len(xy), nq, nt, mq, mt)
        mq, mt = mq[far], mt[far]
        dm = shapely.distance(q_metric[mq], self.metric[mt]) if mq.size else np.empty(0)
        qi = np.concatenate([nq, mq]).astype(np.intp) + offset
        ti = np.concatenate([nt, mt]).astype(np.intp)
        d = np.concatenate([np.zeros(nq.size), np.asarray(dm, dtype=float)])
        covered = np.concatenate([np.ones(nq.size, dtype=bool), np.zeros(mq.size, dtype=bool)])
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


@dataclass(frozen=True)
class _Projected:
    """Polygons' rings, the polygons in the metric CRS with theirs, and the bend of the
    projection (see :class:`_Layer`)."""

    rings: Rings
    metric: _GeomArray | None  # None: the native polygons with the metric rings' vertices
    metric_rings: Rings
    bend: concurrent.futures.Future[float]

    @classmethod
    def of(
        cls,
        native: _GeomArray,
        native_crs: pyproj.CRS,
        metric_crs: pyproj.CRS,
        threads: int,
        rings: Rings | None = None,
    ) -> _Projected:
        """``native``'s rings (or the ``rings`` already read from them) and their metric
        polygons; the bend measured in the background."""
        rings = Rings.of(native) if rings is None else rings
        if native_crs == metric_crs:
            return cls(rings, native, rings, _done(0.01))
        if shapely.has_z(native).any():
            metric = _geoms(gpd.GeoSeries(native, crs=native_crs).to_crs(metric_crs))
            metric_rings = Rings.of(metric)
            return cls(
                rings,
                metric,
                metric_rings,
                _done(_bend(rings, metric_rings, native_crs, metric_crs, threads)),
            )
        # The metric polygons are the native ones with projected vertices (as ``to_crs``
        # makes them; made when needed), projected in threads.
        metric_rings = rings.moved(_project(rings.xy, native_crs, metric_crs, threads))
        # The bend is measured in the background: the cell grid does not need it.
        return cls(
            rings,
            None,
            metric_rings,
            _in_background(
                lambda: _bend(rings, metric_rings, native_crs, metric_crs, threads), threads
            ),
        )


def _is_valid(native: _GeomArray, rings: Rings) -> NDArray[np.bool_]:
    """``shapely.is_valid`` of the polygons ``native`` (``rings`` their rings): GEOS asked only
    about those a compiled pass does not find certainly valid (most are one simple ring)."""
    valid = certainly_valid(rings)
    unsure = np.flatnonzero(~valid)
    if unsure.size:
        valid[unsure] = shapely.is_valid(native[unsure])
    return valid


def _done(value: _T) -> concurrent.futures.Future[_T]:
    future: concurrent.futures.Future[_T] = concurrent.futures.Future()
    future.set_result(value)
    return future


def _in_background(make: Callable[[], _T], threads: int = 0) -> concurrent.futures.Future[_T]:
    """``make()`` in a thread of its own (at once when ``threads`` is 1)."""
    if threads == 1:
        return _done(make())
    pool = ThreadPoolExecutor(1, "geoverify-assign")
    try:
        return pool.submit(make)
    finally:
        pool.shutdown(wait=False)  # the thread ends when ``make`` returns


class _Pieces:
    """``run(slice)`` over ``range(n)`` in pieces of ``piece``, handed to the background: a
    thread of its own starts on them at once (unless ``threads`` is 1: then all are run at
    once), and :meth:`finish`, called when the caller's own work is done, runs the pieces
    still left in the caller's thread too, then waits for the other thread. Whichever of the
    two works is larger, neither thread waits for a fixed share of it."""

    def __init__(self, run: Callable[[slice], None], n: int, threads: int, piece: int) -> None:
        self._run = run
        self._parts = [slice(a, min(a + piece, n)) for a in range(0, n, piece)]
        self._lock = threading.Lock()
        self._taken = 0
        self._future = _in_background(self._work, threads if self._parts else 1)

    def _work(self) -> None:
        while True:
            with self._lock:
                i = self._taken
                self._taken += 1
            if i >= len(self._parts):
                return
            self._run(self._parts[i])

    def finish(self) -> None:
        """Run the pieces not yet taken here, then wait for the other thread's."""
        self._work()
        self._future.result()

    def cancel(self) -> None:
        """Leave the pieces not yet taken, and wait for the one the other thread is on (when
        the caller fails: nothing goes on writing after it has returned)."""
        with self._lock:
            self._taken = len(self._parts)
        concurrent.futures.wait([self._future])


def _side_by_side(
    first: Callable[[], Any], second: Callable[[], Any], threads: int = 0
) -> tuple[Any, Any]:
    """``first()`` and ``second()``, the second in another thread unless ``threads`` is 1."""
    if threads == 1:
        return first(), second()
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(second)
        return first(), other.result()


def _project(
    xy: _FloatArray, source: pyproj.CRS, target: pyproj.CRS, threads: int = 0
) -> _FloatArray:
    """``xy`` (rows) from ``source`` to ``target``, in two threads for many points unless
    ``threads`` is 1 (PROJ releases the GIL; each thread has its own transformer)."""
    out = np.empty_like(xy)
    n = len(xy)
    one = n < _PROJECT_THREADS_FROM or threads == 1
    halves = [slice(0, n)] if one else [slice(0, n // 2), slice(n // 2, n)]

    def run(part: slice) -> None:
        tr = pyproj.Transformer.from_crs(source, target, always_xy=True)
        x, y = tr.transform(xy[part, 0], xy[part, 1])
        out[part, 0] = x
        out[part, 1] = y

    if len(halves) == 1:
        run(halves[0])
    else:
        with ThreadPoolExecutor(len(halves)) as pool:
            list(pool.map(run, halves))
    return out


#: Edges whose midpoints :func:`_bend` projects at a time (memory: four floats an edge).
_BEND_CHUNK = 262_144
#: Metres an edge may stray from its chord, by :func:`_curvature`'s bound, for :func:`_bend`
#: to leave it unmeasured: far below the centimetre the bend adds to its measure.
_BEND_UNMEASURED_M = 0.001


#: PROJ operations that are smooth (twice differentiable) wherever they are defined: a pipeline
#: of these alone has a curvature :func:`_curvature` can bound from a lattice. Piecewise
#: projections (Robinson, Van der Grinten, …) and grid shifts (bilinear between nodes) are not.
_SMOOTH_OPERATIONS = frozenset(
    {
        "pipeline", "unitconvert", "axisswap", "noop", "push", "pop", "cart", "helmert",
        "tmerc", "etmerc", "utm", "merc", "webmerc", "lcc", "aea", "laea", "stere", "sterea",
        "eqc", "longlat", "latlong", "lonlat", "latlon",
    }
)  # fmt: skip
_PROJ_STEP = re.compile(r"(?:^|\s)proj=(\S+)")


@functools.cache
def _smooth_projection(native_crs: pyproj.CRS, metric_crs: pyproj.CRS) -> bool:
    """True when PROJ has one way from ``native_crs`` to ``metric_crs`` and every step of it is
    smooth (:data:`_SMOOTH_OPERATIONS`). Several candidate operations mean PROJ may switch
    between them from place to place (a jump), e.g. WGS 84 to the British National Grid."""
    with warnings.catch_warnings():  # "best transformation is not available": not smooth
        warnings.simplefilter("ignore")
        try:
            group = TransformerGroup(native_crs, metric_crs, always_xy=True)
        except pyproj.exceptions.ProjError:
            return False
    if len(group.transformers) != 1 or group.unavailable_operations:
        return False
    steps = _PROJ_STEP.findall(group.transformers[0].definition)
    return bool(steps) and all(step in _SMOOTH_OPERATIONS for step in steps)


def _curvature(xy: _FloatArray, native_crs: pyproj.CRS, metric_crs: pyproj.CRS) -> float:
    """An upper estimate of the projection's second derivative over the box of ``xy``: metric
    metres per native unit squared, so that an edge of native length ``L`` strays from its
    metric chord by no more than ``curvature * L**2 / 8``. Infinite when unknown.

    The Hessians of both metric coordinates are taken by central differences at a 9 x 9
    lattice over the box, and the largest (Frobenius) norm is doubled: a projection's second
    derivative changes slowly over the breadth of a town or a district.
    """
    # Column by column: numpy reduces an (n, 2) array along its first axis far more slowly.
    x0, y0 = np.nanmin(xy[:, 0]), np.nanmin(xy[:, 1])
    x1, y1 = np.nanmax(xy[:, 0]), np.nanmax(xy[:, 1])
    span = float(max(x1 - x0, y1 - y0))
    if not (math.isfinite(span) and span > 0):
        return math.inf
    h = span / 16.0
    gx, gy = np.meshgrid(np.linspace(x0, x1, 9), np.linspace(y0, y1, 9))
    cx, cy = gx.ravel(), gy.ravel()
    steps = [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)]
    sx = np.concatenate([cx + i * h for i, _ in steps])
    sy = np.concatenate([cy + j * h for _, j in steps])
    tr = pyproj.Transformer.from_crs(native_crs, metric_crs, always_xy=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        px, py = (np.asarray(v, dtype=float).reshape(9, -1) for v in tr.transform(sx, sy))
        norm2 = np.zeros(cx.size)
        for p in (px, py):
            at = {step: p[k] for k, step in enumerate(steps)}
            pxx = (at[1, 0] - 2.0 * at[0, 0] + at[-1, 0]) / (h * h)
            pyy = (at[0, 1] - 2.0 * at[0, 0] + at[0, -1]) / (h * h)
            pxy = (at[1, 1] - at[1, -1] - at[-1, 1] + at[-1, -1]) / (4.0 * h * h)
            norm2 += pxx * pxx + 2.0 * pxy * pxy + pyy * pyy
    worst = float(np.max(norm2))
    return 2.0 * math.sqrt(worst) if math.isfinite(worst) else math.inf


def _bend(
    native: Rings,
    metric: Rings,
    native_crs: pyproj.CRS,
    metric_crs: pyproj.CRS,
    threads: int = 0,
) -> float:
    """Metres by which a projected edge may stray from its chord in the metric polygons.

    The largest distance between a projected edge midpoint and the midpoint of the metric edge
    (where a gently curving projected edge strays most), times four, plus a centimetre.
    ``metric`` holds the ``native`` rings' vertices projected. When the projection is smooth
    (:func:`_smooth_projection`), edges too short to stray more than a millimetre by
    :func:`_curvature`'s bound count as straying a millimetre, unmeasured (village edges are
    mostly tens of metres long: projecting their midpoints would cost as much as projecting
    the villages); otherwise every edge is measured.
    """
    if len(metric.xy) != len(native.xy):
        return math.inf
    worst = -math.inf  # stays so without edges, or when no midpoint projects (then inf)
    any_edge = False
    xy, mxy = native.xy, metric.xy
    smooth = len(xy) > 0 and _smooth_projection(native_crs, metric_crs)
    curvature = _curvature(xy, native_crs, metric_crs) if smooth else math.inf
    # Edges longer than this (squared, native units) are measured.
    measured_from = 8.0 * _BEND_UNMEASURED_M / curvature if curvature > 0 else math.inf
    with warnings.catch_warnings():  # an unprojectable midpoint: NaN, skipped
        warnings.simplefilter("ignore", RuntimeWarning)
        for a in range(0, len(native.owner), _BEND_CHUNK):
            b = min(a + _BEND_CHUNK, len(native.owner))
            edges = native.owner[a:b] >= 0
            if not edges.any():
                continue
            any_edge = True
            d = xy[a + 1 : b + 1] - xy[a:b]
            long = edges & ~(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] <= measured_from)
            if long.sum() < edges.sum():
                worst = max(worst, _BEND_UNMEASURED_M)
            if not long.any():
                continue
            mids = (xy[a:b] + xy[a + 1 : b + 1])[long] / 2.0
            mids = _project(mids, native_crs, metric_crs, threads)
            chord = ((mxy[a:b] + mxy[a + 1 : b + 1]) / 2.0)[long]
            off = np.hypot(mids[:, 0] - chord[:, 0], mids[:, 1] - chord[:, 1])
            if not np.isnan(off).all():
                worst = max(worst, float(np.nanmax(off)))
    if not any_edge:
        return 0.01
    if not np.isfinite(worst):
        return math.inf
    return 4.0 * worst + 0.01


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
    kind: NDArray[np.int8]  # codes of :data:`_KINDS`
    neighbours: NDArray[np.object_]  # a tuple per row (the shared empty tuple for none)
    split_into: NDArray[np.object_]
    overlap: _FloatArray
    distance: _FloatArray
    point_path: NDArray[np.bool_]  # decided by a point (True) or by polygon overlap (False)


def _assign_points(
    q_native: _GeomArray,
    xy: _FloatArray,
    layer: _Layer,
    codes: NDArray[np.object_],
    code_rank: _IntArray,
    tol: float,
    cover: _IntArray | None = None,
    ref: _Reference | None = None,
) -> _Result:
    n = len(xy)
    qi, vi, d, covered = layer.near_pairs(q_native, xy, tol, cover, ref)
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
    neighbours = _lists(n, qi, order, vi, codes)

    has_nb = np.bincount(qi[idx], minlength=n) > 0
    kind = np.full(n, segments.OUTSIDE, dtype=np.int8)
    kind[has_cov] = segments.INSIDE
    kind[has_cov & has_nb] = segments.NEAR_BOUNDARY
    gap = ~has_cov & (village >= 0)
    kind[gap] = segments.GAP_NEAREST

    distance = np.full(n, np.nan)
    distance[has_cov] = 0.0
    if gap.any():
        distance[gap] = np.asarray(d[near_pick[gap]], dtype=float)
    out = np.flatnonzero(village < 0)
    if out.size:
        distance[out] = _outside_distance(layer, xy[out], tol)

    overlap = np.where(has_cov, 1.0, np.nan)
    return _Result(
        village=village,
        kind=kind,
        neighbours=neighbours,
        split_into=_filled(n, ()),
        overlap=overlap,
        distance=distance,
        point_path=np.ones(n, dtype=bool),
    )


#: The code of a split polygon target (after those of :func:`geoverify.segments.settle_points`).
_SPLIT = np.int8(segments.UNSETTLED + 1)
#: Assignment kinds by their codes: those of :func:`geoverify.segments.settle_points` (None:
#: unsettled), then :data:`_SPLIT`. Kinds are codes until the result frame is made: a million
#: object references written row by row cost more than one lookup at the end.
_KINDS = np.array(
    [
        Assignment.OUTSIDE.value,
        Assignment.INSIDE.value,
        Assignment.NEAR_BOUNDARY.value,
        Assignment.GAP_NEAREST.value,
        None,
        Assignment.SPLIT.value,
    ],
    dtype=object,
)


def _assign_grid_points(
    q_native: _GeomArray,
    xy: _FloatArray,
    layer: _Layer,
    codes: NDArray[np.object_],
    code_rank: _IntArray,
    tol: float,
    ref: _Reference,
    cover: _IntArray | None = None,
) -> _Result:
    """:func:`_assign_points` of points the cell grid did not settle, in one compiled pass per
    point (:func:`geoverify.segments.settle_points`); the few it leaves (crowded, or within the
    bend of a polygon) go through :func:`_assign_points`.

    ``ref`` holds the points' native coordinates and reference points; ``cover``, where
    known, the one polygon covering each point (-1: none; -2 or no ``cover``: the references
    tell).
    """
    n = len(xy)
    if cover is not None and bool((cover == -2).all()):
        cover = None  # the references tell every covering
    told = cover is None or bool((cover == -2).any())  # some by their references
    index, native_index = layer.indexes(tol, native=told)
    if not told:
        native_index = index  # not read
    if index is None or native_index is None or n == 0:
        return _assign_points(q_native, xy, layer, codes, code_rank, tol, _known(cover), ref)
    known = np.full(n, -2, dtype=np.int64) if cover is None else cover.astype(np.int64)
    rank = code_rank.astype(np.int64)
    order = index.order(xy[:, 0], xy[:, 1])
    points = ref.passing(xy)
    # Each thread writes the rows of its part of ``order``.
    village = np.full(n, -1, dtype=np.intp)
    kind_code = np.full(n, segments.UNSETTLED, dtype=np.int8)
    distance = np.full(n, np.nan)

    def run(r: slice) -> tuple[_IntArray, _IntArray]:
        return segments.settle_points(
            index,
            native_index,
            points,
            known,
            tol,
            layer.eps,
            _TIE_M,
            rank,
            order[r],
            village,
            kind_code,
            distance,
        )

    found = _run_parts(run, _split(n, layer.threads))
    nb_q = np.concatenate([f[0] for f in found])
    nb_o = np.concatenate([f[1] for f in found])
    neighbours = _lists(n, nb_q, np.arange(nb_q.size), nb_o, codes)
    covered = (kind_code == segments.INSIDE) | (kind_code == segments.NEAR_BOUNDARY)
    overlap = np.where(covered, 1.0, np.nan)
    out = np.flatnonzero(kind_code == segments.OUTSIDE)
    if out.size:
        distance[out] = _outside_distance(layer, xy[out], tol)
    result = _Result(
        village=village,
        kind=kind_code,
        neighbours=neighbours,
        split_into=_filled(n, ()),
        overlap=overlap,
        distance=distance,
        point_path=np.ones(n, dtype=bool),
    )
    rest = np.flatnonzero(kind_code == segments.UNSETTLED)
    if rest.size:
        r = _assign_points(
            q_native[rest],
            xy[rest],
            layer,
            codes,
            code_rank,
            tol,
            None if cover is None else _known(cover[rest]),
            ref.part(rest),
        )
        _put_answers(result, rest, r)
    return result


def _known(cover: _IntArray | None) -> _IntArray | None:
    """``cover`` when it knows every point's covering, else None (the references tell: a point
    whose covering is known is its own reference, with that covering)."""
    return None if cover is None or (cover == -2).any() else cover


def _put_answers(
    into: _Result | _Columns, rows: _IntArray, r: _Result, take: NDArray[np.bool_] | None = None
) -> None:
    """The answers ``r`` (village, kind, neighbours, split, overlap, distance) for ``rows`` of
    ``into`` (those ``take`` marks, else all)."""
    src: slice | NDArray[np.bool_] = slice(None) if take is None else take
    dst = rows[src]
    into.village[dst] = r.village[src]
    into.kind[dst] = r.kind[src]
    into.overlap[dst] = r.overlap[src]
    into.distance[dst] = r.distance[src]
    into.neighbours[dst] = r.neighbours[src]
    into.split_into[dst] = r.split_into[src]


def _outside_distance(layer: _Layer, xy: _FloatArray, tol: float, threads: int = 0) -> _FloatArray:
    """Metres from each point (metric ``x, y`` rows) to the nearest village; NaN without any;
    in up to ``threads`` threads (else the layer's).

    The points lie outside every (metric) village, so the distance to the villages is the
    smallest distance to a segment of their rings: the segment index finds it with GEOS's own
    formula (so to the same bit); points off its grid go to GEOS's nearest-neighbour tree.
    """
    n = len(xy)
    if not len(layer.native) or n == 0:
        return np.full(n, np.nan)
    index = layer.segment_index(tol)
    if index is not None:
        dist = index.nearest(xy[:, 0], xy[:, 1], threads or layer.threads or _THREADS)
        todo = np.flatnonzero(np.isnan(dist))
    else:
        dist = np.full(n, np.nan)
        todo = np.arange(n)
    if todo.size:
        pts = shapely.points(xy[todo])
        ni, nd = layer.tree_metric.query_nearest(pts, return_distance=True)
        best = np.full(todo.size, np.inf)
        np.minimum.at(best, ni[0], nd)
        best[~np.isfinite(best)] = np.nan
        dist[todo] = best
    return dist


def _filled(n: int, value: object) -> NDArray[np.object_]:
    """An object array of ``n`` references to ``value`` (``np.full`` would copy a string per
    element, 25 times slower)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _with_none(values: NDArray[np.object_]) -> NDArray[np.object_]:
    """``values`` and None after them: indexing it with -1 gives None."""
    out = np.empty(len(values) + 1, dtype=object)
    out[:-1] = values
    out[-1] = None
    return out


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
    split_into = _lists(n, qi, order, vi, codes)

    mq, mv = layer.tree_metric.query(q_metric, predicate="dwithin", distance=max(tol, 0.0))
    md = np.asarray(shapely.distance(q_metric[mq], layer.metric[mv]), dtype=float)
    mq = mq.astype(np.intp)
    mv = mv.astype(np.intp)
    idx = np.flatnonzero(mv != village[mq])
    order = idx[np.lexsort((code_rank[mv[idx]], md[idx], mq[idx]))]
    neighbours = _lists(n, mq, order, mv, codes)

    has_nb = np.bincount(mq[idx], minlength=n) > 0
    kind = np.full(n, segments.OUTSIDE, dtype=np.int8)
    kind[sel] = segments.INSIDE
    kind[sel & has_nb] = segments.NEAR_BOUNDARY
    kind[sel & (n_sig >= 2)] = _SPLIT
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


@dataclass
class _Groups:
    """Group (组) polygons as a layer, with their village codes, names and name ranks."""

    layer: _Layer
    village: NDArray[np.object_]
    names: NDArray[np.object_]
    name_rank: _IntArray

    def village_index(self, codes: NDArray[np.object_]) -> _IntArray:
        """Per group, the index of its village among ``codes`` (-1: none of them)."""
        where = {c: i for i, c in enumerate(codes.tolist())}
        return np.array([where.get(v, -1) for v in self.village.tolist()], dtype=np.intp)

    @classmethod
    def build(
        cls,
        groups: gpd.GeoDataFrame | None,
        native_crs: pyproj.CRS,
        metric_crs: pyproj.CRS,
        threads: int = 0,
    ) -> _Groups | None:
        """The groups with a geometry, or None when there are none."""
        if groups is None or len(groups) == 0:
            return None
        for col in ("village_code", "name"):
            if col not in groups.columns:
                msg = f"村民小组数据缺少字段 {col} (groups frame has no column {col!r})"
                raise InputError(msg)
        has_geom = ~_no_geometry(groups.geometry)
        g = groups if has_geom.all() else groups[has_geom]
        if len(g) == 0:
            return None
        _require_crs(g, "村民小组 (groups)")
        names = g["name"].astype(object).to_numpy()
        return cls(
            layer=_Layer.build(g.geometry, native_crs, metric_crs, threads),
            village=g["village_code"].astype(object).to_numpy(),
            names=names,
            name_rank=_ranks(names),
        )


def _assign_groups(
    gl: _Groups | None,
    village: NDArray[np.signedinteger[Any]],
    codes: NDArray[np.object_],
    q_native: _GeomArray,
    q_metric: _GeomArray,
    xy: _FloatArray,
    is_poly: NDArray[np.bool_],
    tol: float,
    result: NDArray[np.signedinteger[Any]],
    todo: NDArray[np.bool_],
    reference: Callable[[_IntArray], _Reference] | None = None,
) -> None:
    """Set the group (index into the groups; -1 when the village, ``codes[village]``, has no
    group polygon near the target) of the targets in ``todo``, in ``result``.

    ``q_native`` holds the point used for point-path targets and the polygon for polygon-path
    targets (``is_poly``); ``xy`` the metric coordinates of the points, ``q_metric`` the metric
    polygons; only rows in ``todo`` are read. ``reference``, when given, makes the reference
    points of rows for the covering test (see :meth:`_Layer.near_pairs`).
    """
    if gl is None:
        return
    layer, name_rank = gl.layer, gl.name_rank
    g_village = gl.village_index(codes)
    assigned = todo & (village >= 0)

    # Points: covered (distance 0) or nearest within tolerance, same village only; ties by name.
    pts = np.flatnonzero(assigned & ~is_poly)
    if pts.size:
        ref = None if reference is None else reference(pts)
        found = _group_points(layer, g_village, name_rank, village[pts], xy[pts], tol, ref)
        rest = np.flatnonzero(found == segments.GROUP_UNSETTLED)
        if rest.size:  # without the compiled pass, or the few it leaves: pairs, then a pick
            r_ref = None if ref is None else ref.part(rest)
            r_pts = pts[rest]
            qi, gi, d, _ = layer.near_pairs(q_native[r_pts], xy[r_pts], tol, ref=r_ref)
            ok = g_village[gi] == village[r_pts][qi]
            qi, gi, d = qi[ok], gi[ok], d[ok]
            pick = _pick(rest.size, qi, d, name_rank[gi], _TIE_M)
            got = pick >= 0
            found[rest] = -1
            found[rest[got]] = gi[pick[got]]
        sel = found >= 0
        result[pts[sel]] = found[sel]

    polys = np.flatnonzero(assigned & is_poly)
    if polys.size:
        qm = q_metric[polys]
        qi, gi, area = layer.overlap_pairs(qm)
        ok = g_village[gi] == village[polys][qi]
        qi, gi, area = qi[ok], gi[ok], area[ok]
        pick = _pick(polys.size, qi, -area, name_rank[gi], _TIE_M2)
        sel = pick >= 0
        result[polys[sel]] = gi[pick[sel]]
        rest = np.flatnonzero(~sel)
        if rest.size:
            mq, mg = layer.tree_metric.query(qm[rest], predicate="dwithin", distance=max(tol, 0.0))
            mq = mq.astype(np.intp)
            mg = mg.astype(np.intp)
            md = np.asarray(shapely.distance(qm[rest][mq], layer.metric[mg]), dtype=float)
            ok = g_village[mg] == village[polys[rest]][mq]
            mq, mg, md = mq[ok], mg[ok], md[ok]
            pick = _pick(rest.size, mq, md, name_rank[mg], _TIE_M)
            sel2 = pick >= 0
            result[polys[rest[sel2]]] = mg[pick[sel2]]


def _group_points(
    layer: _Layer,
    g_village: _IntArray,
    name_rank: _IntArray,
    village: NDArray[np.signedinteger[Any]],
    xy: _FloatArray,
    tol: float,
    ref: _Reference | None,
) -> NDArray[np.int64]:
    """Per point (metric ``xy`` rows, in ``village``), its group in one compiled pass
    (:func:`geoverify.segments.settle_groups`; -1: none), or ``GROUP_UNSETTLED`` for the
    points it leaves, and for all when there are no reference points or segment indexes."""
    n = len(xy)
    out = np.full(n, segments.GROUP_UNSETTLED, dtype=np.int64)
    if ref is None or n == 0:
        return out
    index, native_index = layer.indexes(tol)
    if index is None or native_index is None:
        return out
    order = index.order(xy[:, 0], xy[:, 1])
    points = ref.passing(xy)
    point_class = village.astype(np.int64)
    poly_class = g_village.astype(np.int64)
    rank = name_rank.astype(np.int64)

    def run(r: slice) -> None:
        segments.settle_groups(
            index,
            native_index,
            points,
            point_class,
            poly_class,
            tol,
            layer.eps,
            _TIE_M,
            rank,
            order[r],
            out,
        )

    _run_parts(run, _split(n, layer.threads))
    return out


# --- the cell grid ---------------------------------------------------------------------------


def _min_scale(bounds: NDArray[np.float64], native: pyproj.CRS, metric: pyproj.CRS) -> float:
    """A lower bound of metric metres per native unit over ``bounds`` (0 when unknown).

    The smallest singular value of the projection's Jacobian at a lattice of points over the
    box, less 10 %: two points that far apart natively are at least that far apart in metres.
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    if native == metric:
        return 0.9
    tr = pyproj.Transformer.from_crs(native, metric, always_xy=True)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 7), np.linspace(y0, y1, 7))
    x, y = gx.ravel(), gy.ravel()
    h = max(x1 - x0, y1 - y0, 1e-9) * 1e-4
    fx, fy = tr.transform(x, y)
    ax, ay = tr.transform(x + h, y)
    bx, by = tr.transform(x, y + h)
    jac = np.stack(
        [
            np.stack([(np.asarray(ax) - fx) / h, (np.asarray(bx) - fx) / h], axis=-1),
            np.stack([(np.asarray(ay) - fy) / h, (np.asarray(by) - fy) / h], axis=-1),
        ],
        axis=-2,
    )
    if not np.isfinite(jac).all():
        return 0.0
    return 0.9 * float(np.linalg.svd(jac, compute_uv=False).min())


#: Most polygons whose cell grid values fit in 16 bits (down to ``-4 - (polygons - 1)``).
_GRID_INT16_POLYGONS = int(np.iinfo(np.int16).max) - 4


@dataclass
class _CellGrid:
    """A grid over the villages in their own CRS that settles most points by a lookup.

    Per cell, ``village`` holds the village index when the whole cell lies in exactly one village
    and no boundary of any village is within ``tolerance_m`` of it (``inside``, no neighbours);
    -1 when no village is within ``tolerance_m`` of it (``outside``; the distance is still
    measured); -2 when the exact geometry must decide. ``group`` likewise holds the group index
    of a cell inside exactly one group polygon and clear of group boundaries, -1 when no group
    is within ``tolerance_m``, -2 otherwise.
    """

    left: float
    top: float
    cell: float
    width: int
    height: int
    village: NDArray[np.signedinteger[Any]]  # 16 or 32 bits (see :meth:`_settle`)
    group: NDArray[np.signedinteger[Any]] | None
    #: Whole cells between a settled cell and every boundary (see :meth:`build`).
    reach: int = 0

    @classmethod
    def build(
        cls,
        layer: _Layer,
        groups: _Groups | None,
        tol: float,
        native: pyproj.CRS,
        metric: pyproj.CRS,
        max_cells: int,
    ) -> _CellGrid | None:
        parts = [layer.native] + ([groups.layer.native] if groups is not None else [])
        bounds = np.asarray(shapely.total_bounds(np.concatenate(parts)), dtype=float)
        if not np.isfinite(bounds).all():
            return None
        scale = _min_scale(bounds, native, metric)  # metres per native unit, at least
        if not scale > 0:
            return None
        span_x, span_y = bounds[2] - bounds[0], bounds[3] - bounds[1]
        cell = math.sqrt(max(span_x * span_y, 1e-18) / max_cells)
        # Cells much finer than the tolerance band only cost time and memory.
        cell = max(cell, tol / _CELLS_PER_TOLERANCE / scale)
        cell = max(cell, max(span_x, span_y) / math.sqrt(max_cells) / 64.0, 1e-12)
        # Whole cells between a settled cell and every boundary: more than ``tol`` metres, plus
        # the bend (the metric polygons' edges are the chords of the projected ones) and the
        # covering tolerance.
        bend = max(layer.bend, groups.layer.bend if groups is not None else 0.0)
        need = (tol + bend) / scale + layer.eps
        if not math.isfinite(need):
            return None
        reach = math.floor(need * (1.0 + 1e-9) / cell) + 1
        pad = reach + 3
        width = math.ceil(span_x / cell) + 2 * pad
        height = math.ceil(span_y / cell) + 2 * pad
        if width * height > 4 * max_cells or reach > 1000:
            return None
        left = bounds[0] - pad * cell
        top = bounds[3] + pad * cell
        grid = cls(left, top, cell, width, height, np.empty(0, np.int32), None, reach)
        grid.village = grid._settle(layer, reach, near_one=reach, containment=True)
        if groups is not None:
            grid.group = grid._settle(groups.layer, reach, near_one=1)
        return grid

    def _distances(self, rings: Rings, cap: int, eps: float) -> NDArray[np.uint8]:
        """Per cell, the distance in cells (Chebyshev, at most ``cap``) to a cell that one of
        the ``rings`` passes through or within ``eps`` of."""
        start = np.flatnonzero(rings.edges).astype(np.int64)
        marked = np.zeros((self.height, self.width), dtype=np.uint8)
        edge = eps / self.cell
        cells.mark_segments(rings.xy, start, self.left, self.top, self.cell, marked, edge)
        return cells.chebyshev(marked, cap)

    def _settle(
        self, layer: _Layer, reach: int, *, near_one: int, containment: bool = False
    ) -> NDArray[np.signedinteger[Any]]:
        """Per cell: index of the one polygon covering it, far from boundaries; -1 none near;
        -2 undecided. ``reach`` whole cells between the cell and every boundary when no
        polygon covers it; ``near_one`` when one does.

        With ``containment``, an undecided cell that no boundary passes through or within the
        covering tolerance of says what covers it: -3 nothing, ``-4 - i`` polygon ``i`` alone.
        """
        # Cells a boundary touches, or comes within the covering tolerance of, are at distance 0.
        dist = self._distances(layer.rings, max(reach, near_one) + 1, layer.eps)
        rep, comp = cells.components(dist)
        # One cell of each component (the last one) tells which polygons cover it.
        rows, cols = np.divmod(rep, self.width)
        cx = self.left + (cols + 0.5) * self.cell
        cy = self.top - (rows + 0.5) * self.cell
        ci, pi = layer.tree_native.query(shapely.points(cx, cy))
        r = layer.rings
        count, owner = cells.covering(cx, cy, ci, pi, r.xy, r.owner, r.starts)
        comp_value = np.where(count == 1, owner, np.where(count == 0, -1, -2)).astype(np.int32)
        # Values down to -4 - (polygons - 1): 16 bits for all but the largest layers.
        small = len(layer.native) <= _GRID_INT16_POLYGONS
        values: NDArray[np.signedinteger[Any]] = (
            np.empty(dist.size, dtype=np.int16) if small else np.empty(dist.size, np.int32)
        )
        cells.classify(dist, comp_value[comp], reach, near_one, containment, values)
        return values

    def reference(
        self, x: _FloatArray, y: _FloatArray, values: NDArray[np.signedinteger[Any]]
    ) -> _Reference:
        """For points on the grid, the first cell to the right whose covering ``values`` (the
        village or the group grid) knows: its centre's ``x`` and its polygon (-1: none)."""
        qx, owner = reference_points(
            x, y, values, self.left, self.top, self.cell, self.width, self.height
        )
        return _Reference(x, y, qx, owner)

    def group_reference(self, x: _FloatArray, y: _FloatArray, rows: _IntArray) -> _Reference:
        """:meth:`reference` on the group grid for the points ``rows`` of ``x``, ``y``."""
        assert self.group is not None
        return self.reference(x[rows], y[rows], self.group)

    def settle(
        self, cell_village: NDArray[np.int32], rows: _IntArray, y: _FloatArray, cols: _Columns
    ) -> tuple[_IntArray, _IntArray, _IntArray, NDArray[np.int64]]:
        """Put into ``cols`` the points ``rows`` (``y``: every target's) that their cells'
        ``cell_village`` (:meth:`lookup`) place inside one village; return the rest: those far
        from every village in the order of their grid rows, those the exact geometry decides,
        and those whose covering the cell knows, with it (-1: none)."""
        return cells.settle_looked_up(
            cell_village,
            np.ascontiguousarray(rows, dtype=np.intp),
            y,
            self.top,
            self.cell,
            self.height,
            cols.village,
            cols.kind,
            cols.overlap,
            cols.distance,
            segments.INSIDE,
        )

    def lookup(
        self, x: _FloatArray, y: _FloatArray, threads: int = 0
    ) -> tuple[NDArray[np.int32], NDArray[np.int32] | None]:
        """Village and group values (as in the class) of the cells of points ``x``, ``y``; -1
        off the grid, -2 for coordinates that are not finite. The two grids are read side by
        side (in one thread when ``threads`` is 1), or the one grid in parts as the exact tests
        split their points (:func:`_split`): each read waits on memory, a cell a point, in a
        compiled loop that releases the GIL."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        grid = (self.left, self.top, self.cell, self.width, self.height)
        village = np.empty(x.size, dtype=np.int32)

        def read(values: NDArray[np.signedinteger[Any]], out: NDArray[np.int32], r: slice) -> None:
            cells.lookup(x[r], y[r], values, *grid, out[r])

        if self.group is None:
            _run_parts(lambda r: read(self.village, village, r), _split(x.size, threads))
            return village, None
        groups, group = self.group, np.empty(x.size, dtype=np.int32)
        _side_by_side(
            lambda: read(self.village, village, slice(None)),
            lambda: read(groups, group, slice(None)),
            threads,
        )
        return village, group


# --- public ----------------------------------------------------------------------------------


def _types(
    geoms: _GeomArray,
) -> tuple[NDArray[np.int32], NDArray[np.bool_], _FloatArray | None]:
    """Each geometry's type id (-1: None) and emptiness, and the points' ``x`` when it could
    be read first: it is NaN only for what is not a point (or has NaN coordinates), and only
    those are asked the rest. Without ``x`` when an empty point is among them."""
    try:
        x = np.asarray(shapely.get_x(geoms), dtype=np.float64)
    except shapely.errors.GEOSException:  # an empty point
        return shapely.get_type_id(geoms), np.asarray(shapely.is_empty(geoms)), None
    odd = np.flatnonzero(np.isnan(x))
    type_id = np.zeros(len(geoms), dtype=np.int32)
    empty = np.zeros(len(geoms), dtype=bool)
    if odd.size:
        type_id[odd] = shapely.get_type_id(geoms[odd])
        empty[odd] = shapely.is_empty(geoms[odd])
    return type_id, empty, x


def _y_or_none(geoms: _GeomArray) -> _FloatArray | None:
    """The points' ``y`` (NaN for what is not a point); None when an empty point is among them."""
    try:
        return np.asarray(shapely.get_y(geoms), dtype=np.float64)
    except shapely.errors.GEOSException:
        return None


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
    bad = _no_geometry(villages.geometry)
    if bad.any():
        msg = f"村界数据有要素没有几何 (villages without geometry): {codes[bad].tolist()[:10]}"
        raise InputError(msg)
    return codes


def assign_targets(
    targets: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    groups: gpd.GeoDataFrame | None = None,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    metric: pyproj.CRS | None = None,
    threads: int | None = None,
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
    threads
        Worker threads for the exact tests near boundaries; default as many as the CPUs, up
        to 4. A caller that runs several assignments at once (e.g. on dask) gives 1.
    Returns
    -------
    pandas.DataFrame
        Indexed like ``targets``, columns :data:`ASSIGN_COLUMNS`:

        ``village_code`` (str or None), ``group`` (str or None), ``assignment``
        (:class:`~geoverify.model.Assignment` value), ``neighbours`` (tuple of the codes of
        other villages within ``tolerance_m``, nearest first, ties by code; one shared empty
        tuple where there are none), ``split_into`` (tuple of the codes of other villages a
        polygon target overlaps significantly, largest overlap first), ``overlap``
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
    * Targets with a missing or empty geometry, or with coordinates that are not finite
      numbers, raise :class:`~geoverify.errors.InputError`.
    * Only the area of a village or group counts: an invalid polygon is repaired
      (``make_valid``) and the lines or points a repair (or a collection) holds are dropped.
    """
    if tolerance_m < 0 or not np.isfinite(tolerance_m):
        msg = f"容差必须是非负数 (tolerance_m must be >= 0), got {tolerance_m!r}"
        raise InputError(msg)
    if threads is not None and threads < 1:
        msg = f"线程数必须至少为 1 (threads must be >= 1), got {threads!r}"
        raise InputError(msg)
    t_crs = _require_crs(targets, "靶标 (targets)")
    v_crs = _require_crs(villages, "村界 (villages)")
    codes = _check_villages(villages)
    if len(targets) == 0:
        return _empty_result(targets.index)

    native_crs = v_crs if len(villages) else t_crs
    tg = _Targets.read(
        targets, t_crs, native_crs, metric, villages.geometry, threads or 0, keep=groups is not None
    )
    cols = _Columns.start(tg.reps)
    gl = _Groups.build(groups, native_crs, tg.metric_crs, threads or 0)
    grid: _CellGrid | None = None
    if len(villages):
        layer = _Layer.build(villages.geometry, native_crs, tg.metric_crs, threads or 0)
        code_rank = _ranks(codes)
        point_rows = _assign_polygon_targets(tg, cols, layer, codes, code_rank, tolerance_m)
        grid = _assign_point_targets(tg, cols, layer, gl, codes, code_rank, tolerance_m, point_rows)
    if gl is not None:
        todo = cols.group_todo & (cols.village >= 0)
        tg.metric_xy(np.flatnonzero(todo & ~cols.by_polygon))  # projected before, in one go
        group_ref = None
        if grid is not None and grid.group is not None:
            group_ref = functools.partial(grid.group_reference, tg.x, tg.y)
        _assign_groups(
            gl,
            cols.village,
            codes,
            cols.q_native,
            cols.q_metric,
            tg.all_metric_xy,
            cols.by_polygon,
            tolerance_m,
            cols.group,
            todo,
            group_ref,
        )
    return cols.frame(targets.index, codes, gl)


@dataclass
class _Targets:
    """The targets as the assignment reads them: each one's geometry in the villages' CRS, a
    point for it (its own, or one on its surface) with that point's coordinates, and the
    points' metric coordinates, projected when first asked for (:meth:`metric_xy`)."""

    native: _GeomArray
    reps: _GeomArray
    is_poly: NDArray[np.bool_]
    x: _FloatArray
    y: _FloatArray
    native_crs: pyproj.CRS
    metric_crs: pyproj.CRS
    threads: int
    # (rows, 2), NaN until projected; kept for the group pass (empty when there is none: the
    # other steps ask for disjoint rows, and a million rows' cache costs 16 MB)
    all_metric_xy: _FloatArray

    @classmethod
    def read(
        cls,
        targets: gpd.GeoDataFrame,
        t_crs: pyproj.CRS,
        native_crs: pyproj.CRS,
        metric: pyproj.CRS | None,
        villages: gpd.GeoSeries,
        threads: int,
        keep: bool = True,
    ) -> _Targets:
        """Read ``targets`` (refused when one has no geometry); the metric CRS is ``metric``,
        else chosen from the villages' (or the targets') longitude. With ``keep``, projected
        points are kept (see :attr:`all_metric_xy`)."""
        tgeom = targets.geometry
        t_given = _geoms(tgeom)
        # The points' y is read beside their x and types (GEOS releases the GIL); it is used
        # when the targets are plain points in the villages' CRS, as they mostly are.
        (type_given, empty, x_given), y_given = _side_by_side(
            lambda: _types(t_given), lambda: _y_or_none(t_given), threads
        )
        missing = (type_given < 0) | empty
        if missing.any():
            labels = targets.index[missing].tolist()[:10]
            msg = f"{int(missing.sum())} 个靶标没有坐标或几何 (targets without geometry): {labels}"
            raise InputError(msg)
        metric_crs = _choose_metric(metric, villages, tgeom)
        assert metric_crs is not None  # targets are non-empty with geometry

        same_crs = native_crs == t_crs
        t_native = t_given if same_crs else _geoms(tgeom.to_crs(native_crs))
        type_id = type_given if same_crs else shapely.get_type_id(t_native)
        reps = t_native
        non_point = type_id != 0
        if non_point.any():
            reps = t_native.copy()
            reps[non_point] = shapely.point_on_surface(t_native[non_point])
        if reps is t_given and x_given is not None and y_given is not None:
            x, y = x_given, y_given
        else:
            x, y = _side_by_side(lambda: shapely.get_x(reps), lambda: shapely.get_y(reps), threads)
        odd = ~(np.isfinite(x) & np.isfinite(y))
        if odd.any():
            labels = targets.index[odd].tolist()[:10]
            msg = (
                f"{int(odd.sum())} 个靶标的坐标不是有效数字 "
                f"(targets with coordinates that are not finite numbers): {labels}"
            )
            raise InputError(msg)
        return cls(
            native=t_native,
            reps=reps,
            is_poly=(type_id == 3) | (type_id == 6),  # Polygon, MultiPolygon
            x=x,
            y=y,
            native_crs=native_crs,
            metric_crs=metric_crs,
            threads=threads,
            all_metric_xy=np.full((len(reps) if keep else 0, 2), np.nan),
        )

    def metric_xy(self, rows: _IntArray, keep: bool = True, threads: int = 0) -> _FloatArray:
        """The metric coordinates of the points ``rows`` (projected now where not yet, in
        ``threads`` threads, else the targets' own); kept for later unless not ``keep``."""
        if not keep or not len(self.all_metric_xy):
            return self._projected(rows, threads)
        todo = rows[np.isnan(self.all_metric_xy[rows, 0])]
        if todo.size:
            self.all_metric_xy[todo] = self._projected(todo, threads)
        return self.all_metric_xy[rows]

    def _projected(self, rows: _IntArray, threads: int = 0) -> _FloatArray:
        xy = np.column_stack([self.x[rows], self.y[rows]])
        return _project(xy, self.native_crs, self.metric_crs, threads or self.threads)


@dataclass
class _Columns:
    """The answer being built, a row per target: indexes into the villages and groups (-1:
    none) in 32 bits (a million rows are many), kinds as 8-bit codes, neighbour and split
    tuples (one shared empty tuple where there are none: a million empty lists cost 0.2 s and
    120 MB), overlaps and distances; and for the group pass, which targets the polygon path
    placed, with their polygon as the query (``q_native``, else the point) and its metric form
    (``q_metric``)."""

    village: NDArray[np.int32]
    kind: NDArray[np.int8]  # codes of :data:`_KINDS`
    neighbours: NDArray[np.object_]
    split_into: NDArray[np.object_]
    overlap: _FloatArray
    distance: _FloatArray
    group: NDArray[np.int32]
    group_todo: NDArray[np.bool_]
    by_polygon: NDArray[np.bool_]
    q_native: _GeomArray
    q_metric: _GeomArray

    @classmethod
    def start(cls, reps: _GeomArray) -> _Columns:
        """Every target outside, in no group, its point its query."""
        n = len(reps)
        return cls(
            village=np.full(n, -1, dtype=np.int32),
            kind=np.full(n, segments.OUTSIDE, dtype=np.int8),
            neighbours=_filled(n, ()),
            split_into=_filled(n, ()),
            overlap=np.full(n, np.nan),
            distance=np.full(n, np.nan),
            group=np.full(n, -1, dtype=np.int32),
            group_todo=np.ones(n, dtype=bool),
            by_polygon=np.zeros(n, dtype=bool),
            q_native=reps,  # copied before a polygon takes a point's place
            q_metric=np.empty(0, dtype=object),
        )

    def put(self, rows: _IntArray, r: _Result, take: NDArray[np.bool_] | None = None) -> None:
        """The answers ``r`` for ``rows`` (those ``take`` marks, else all)."""
        _put_answers(self, rows, r, take)

    def frame(
        self, index: pd.Index, codes: NDArray[np.object_], groups: _Groups | None
    ) -> pd.DataFrame:
        """The result frame, columns handed over as they are (no copy, no consolidation into
        one block: that would copy a million-row object block), object columns kept object."""
        n = len(self.village)
        columns = {
            "village_code": _with_none(codes)[self.village],  # -1: the last, None
            "group": _filled(n, None) if groups is None else _with_none(groups.names)[self.group],
            "assignment": _KINDS[self.kind],
            "neighbours": self.neighbours,
            "split_into": self.split_into,
            "overlap": self.overlap,
            "distance_m": self.distance,
        }
        return pd.DataFrame(
            {
                name: pd.Series(values, dtype=values.dtype, index=index, copy=False)
                for name, values in columns.items()
            },
            index=index,
            copy=False,
        )


def _assign_polygon_targets(
    tg: _Targets,
    cols: _Columns,
    layer: _Layer,
    codes: NDArray[np.object_],
    code_rank: _IntArray,
    tol: float,
) -> _IntArray:
    """Polygon targets by their overlaps with the villages; returns the rows left for the
    point path: the points, and the polygons that overlap no village."""
    poly_rows = np.flatnonzero(tg.is_poly)
    point_rows = np.flatnonzero(~tg.is_poly)
    if poly_rows.size == 0:
        return point_rows
    t_metric_poly = _geoms(
        gpd.GeoSeries(tg.native[poly_rows], crs=tg.native_crs).to_crs(tg.metric_crs)
    )
    rp = _assign_polygons(t_metric_poly, layer, codes, code_rank, tol)
    took = rp.village >= 0
    cols.put(poly_rows, rp, took)
    placed = poly_rows[took]
    cols.by_polygon[placed] = True
    cols.q_native = tg.reps.copy()
    cols.q_native[placed] = tg.native[placed]
    cols.q_metric = _filled(len(tg.reps), None)
    cols.q_metric[placed] = t_metric_poly[took]
    return np.sort(np.concatenate([point_rows, poly_rows[~took]]))


def _assign_point_targets(
    tg: _Targets,
    cols: _Columns,
    layer: _Layer,
    gl: _Groups | None,
    codes: NDArray[np.object_],
    code_rank: _IntArray,
    tol: float,
    rows: _IntArray,
) -> _CellGrid | None:
    """The targets ``rows`` by their points: the cell grid (when there are enough of them)
    settles most by a lookup — inside one village, far from all, or with their covering known
    — and its group cells most groups; the rest are measured. Returns the grid, if any."""
    grid: _CellGrid | None = None
    if rows.size >= GRID_MIN_POINTS:
        max_cells = min(MAX_GRID_CELLS, max(2**18, 8 * int(rows.size)))
        # The segment indexes the points near boundaries will need are built meanwhile.
        grid, _ = _side_by_side(
            lambda: _CellGrid.build(layer, gl, tol, tg.native_crs, tg.metric_crs, max_cells),
            lambda: layer.indexes(tol),
            tg.threads,
        )
    if grid is None:
        if rows.size:
            xy = tg.metric_xy(rows)
            cols.put(rows, _assign_points(tg.reps[rows], xy, layer, codes, code_rank, tol))
        return None
    every = rows.size == len(tg.reps)
    cell_village, cell_group = grid.lookup(
        tg.x if every else tg.x[rows], tg.y if every else tg.y[rows], tg.threads
    )
    far, exact, known, known_cover = grid.settle(cell_village, rows, tg.y, cols)
    del cell_village
    # The points far from every village are projected and measured in pieces, in a thread of
    # their own while this one settles those near boundaries, then in both (PROJ and the
    # compiled search release the GIL); nothing later reads their metric coordinates.
    # In bands of grid rows (``far`` comes so ordered): a piece of neighbouring points finds
    # its candidate segments once per bucket (a piece of scattered ones took twice as long).
    far_distance = np.full(far.size, np.nan)

    def measure(r: slice) -> None:
        xy = tg.metric_xy(far[r], keep=False, threads=1)
        far_distance[r] = _outside_distance(layer, xy, tol, threads=1)

    far_pieces = _Pieces(measure, far.size, tg.threads, _FAR_PIECE)
    try:
        if exact.size or known.size:
            # In one pass: those whose covering their references tell (-2), then those whose
            # covering the cell knows; a known one is its own reference, with that covering.
            todo = np.concatenate([exact, known])
            ref_exact = grid.reference(tg.x[exact], tg.y[exact], grid.village)
            x_known = tg.x[known]
            ref = _Reference(
                tg.x[todo],
                tg.y[todo],
                np.concatenate([ref_exact.qx, x_known]),
                np.concatenate([ref_exact.owner, known_cover]),
            )
            cover = np.concatenate([np.full(exact.size, -2, np.int64), known_cover])
            xy = tg.metric_xy(todo)
            r = _assign_grid_points(tg.reps[todo], xy, layer, codes, code_rank, tol, ref, cover)
            cols.put(todo, r)
            del r, ref, ref_exact, cover
    except BaseException:
        far_pieces.cancel()
        raise
    far_pieces.finish()
    cols.distance[far] = far_distance
    if gl is not None and cell_group is not None:
        # A point's group is settled by its cell when the cell lies in one group polygon of
        # the point's village, clear of group boundaries, or far from every group.
        cells.groups_from_cells(
            cell_group,
            np.ascontiguousarray(rows, dtype=np.intp),
            cols.village,
            gl.village_index(codes).astype(np.int64),
            cols.group,
            cols.group_todo,
        )
    return grid


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
    repeat_of = _filled(n, None)
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
