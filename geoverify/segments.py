"""Distances from many points to the ring segments of many polygons, compiled with numba.

The villages' (or groups') ring segments are put into a bucket grid in metric coordinates.
Two kernels read it:

* :func:`SegmentIndex.near` — for each point, every polygon with a ring segment within the
  tolerance, with the smallest such distance (what ``shapely.dwithin`` + ``shapely.distance``
  give for a point outside the polygon);
* :func:`SegmentIndex.nearest` — for each point, the distance to the nearest segment of any
  polygon (the distance to the nearest polygon for a point outside all of them), found by
  searching rings of buckets outwards.

Both use GEOS's own point-to-segment formula, operation for operation (``Distance::
pointToSegment``), and numba does not fuse or reorder floating-point operations without
``fastmath``, so a distance is equal to the bit to the one GEOS computes. Whether a point lies
*inside* a polygon is not decided here; callers ask GEOS for the few pairs where it can matter
(see :attr:`SegmentIndex.bend`).
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import shapely
from numba import njit
from numpy.typing import NDArray

__all__ = [
    "PassPoints",
    "Rings",
    "SegmentIndex",
    "reference_points",
    "settle_groups",
    "settle_points",
]

_FloatArray = NDArray[np.float64]
_IntArray = NDArray[np.intp]

#: A segment index as the kernels take it: ``(ax, ay, bx, by, owner, offsets, items, x0, y0,
#: cell, nx, ny)`` — the segments' ends and owners (-1: not a segment), the segments of each
#: bucket (CSR) and the bucket grid (origin, cell size, columns, rows).
Grid = tuple[Any, ...]

#: Most polygons within the tolerance of one point that the kernel keeps; a point with more
#: is reported back (``count`` -1) for the caller to measure another way.
MAX_NEAR = 16
#: Points per call of a kernel that returns several answers a point.
_CHUNK = 16_384
#: Most items a segment index holds (its offsets are 32-bit).
_MAX_ITEMS = 2**31 - 1
#: Points from which a second thread helps.
_THREAD_MIN_POINTS = 20_000


def _threads(n: int, most: int | None = None) -> int:
    return max(1, min(most or os.cpu_count() or 1, 4, n // _THREAD_MIN_POINTS))


#: Points per occupied bucket from which :meth:`SegmentIndex.nearest` finds each bucket's
#: candidate segments once instead of searching from every point.
_POINTS_PER_CANDIDATE_CELL = 4

#: Candidate cells per bucket, across (finer cells: fewer candidates a point, more cells).
_CANDIDATE_SUBCELLS = 2

#: Buckets per segment, about (the grid is coarser when segments are long).
_BUCKETS_PER_SEGMENT = 2.0


@njit(cache=True, nogil=True)
def _psd(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """Point-to-segment distance, operation for operation as GEOS ``Distance::pointToSegment``
    (and as ``geoverify.assign._point_segment_distance``)."""
    if ax == bx and ay == by:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    dx = bx - ax
    dy = by - ay
    len2 = dx * dx + dy * dy
    r = ((px - ax) * dx + (py - ay) * dy) / len2
    if r <= 0.0:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    if r >= 1.0:
        return math.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    s = ((ay - py) * dx - (ax - px) * dy) / len2
    return abs(s) * math.sqrt(len2)


@njit(cache=True, nogil=True)
def _buckets(
    ax: _FloatArray,
    ay: _FloatArray,
    bx: _FloatArray,
    by: _FloatArray,
    owner: NDArray[np.int32],
    x0: float,
    y0: float,
    g: float,
    nx: int,
    ny: int,
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """CSR buckets: the segments (with an owner) whose bounding box overlaps each cell
    (row-major), in segment order. One array of offsets is all the memory besides the items:
    it counts each cell's segments, is summed into the cells' ends, and counts down to their
    starts while the segments are put in from the last."""
    n = ax.size
    # 32-bit offsets: an index holds far fewer than 2**31 items (checked below).
    offsets = np.zeros(nx * ny + 1, np.int32)
    for i in range(n):
        if owner[i] < 0:
            continue
        c0 = math.floor((min(ax[i], bx[i]) - x0) / g)
        c1 = math.floor((max(ax[i], bx[i]) - x0) / g)
        r0 = math.floor((min(ay[i], by[i]) - y0) / g)
        r1 = math.floor((max(ay[i], by[i]) - y0) / g)
        for r in range(max(r0, 0), min(r1, ny - 1) + 1):
            for c in range(max(c0, 0), min(c1, nx - 1) + 1):
                offsets[r * nx + c] += 1
    total = 0
    for cell in range(nx * ny):
        total += offsets[cell]
        if total > _MAX_ITEMS:
            raise ValueError("segment index too large")
        offsets[cell] = total
    offsets[nx * ny] = total
    items = np.empty(total, np.int32)
    for i in range(n - 1, -1, -1):
        if owner[i] < 0:
            continue
        c0 = math.floor((min(ax[i], bx[i]) - x0) / g)
        c1 = math.floor((max(ax[i], bx[i]) - x0) / g)
        r0 = math.floor((min(ay[i], by[i]) - y0) / g)
        r1 = math.floor((max(ay[i], by[i]) - y0) / g)
        for r in range(max(r0, 0), min(r1, ny - 1) + 1):
            for c in range(max(c0, 0), min(c1, nx - 1) + 1):
                cell = r * nx + c
                offsets[cell] -= 1
                items[offsets[cell]] = i
    return offsets, items


@njit(cache=True, nogil=True)
def _near_one(
    x: float,
    y: float,
    tol: float,
    grid: Grid,
    out_owner: NDArray[np.int32],
    out_dist: _FloatArray,
) -> int:
    """The polygons with a segment within ``tol`` of (``x``, ``y``), each with its smallest such
    distance, into ``out_owner`` and ``out_dist`` in the order found; returns how many, or -1
    when there are more than those hold."""
    ax, ay, bx, by, owner, offsets, items, x0, y0, g, nx, ny = grid
    k_max = out_owner.size
    reach = tol * (1.0 + 1e-9) + 1e-9 * g  # a little wider than ``tol``: rounding of the cells
    cnt = 0
    if not (math.isfinite(x) and math.isfinite(y)):
        return 0
    c0 = max(math.floor((x - reach - x0) / g), 0)
    c1 = min(math.floor((x + reach - x0) / g), nx - 1)
    r0 = max(math.floor((y - reach - y0) / g), 0)
    r1 = min(math.floor((y + reach - y0) / g), ny - 1)
    for r in range(r0, r1 + 1):
        for c in range(c0, c1 + 1):
            cell = r * nx + c
            for j in range(offsets[cell], offsets[cell + 1]):
                i = items[j]
                d = _psd(x, y, ax[i], ay[i], bx[i], by[i])
                if d <= tol and cnt >= 0:
                    o = owner[i]
                    found = False
                    for m in range(cnt):
                        if out_owner[m] == o:
                            if d < out_dist[m]:
                                out_dist[m] = d
                            found = True
                            break
                    if not found:
                        if cnt == k_max:
                            cnt = -1
                        else:
                            out_owner[cnt] = o
                            out_dist[cnt] = d
                            cnt += 1
    return cnt


@njit(cache=True, nogil=True)
def _near(
    px: _FloatArray,
    py: _FloatArray,
    tol: float,
    grid: Grid,
    out_owner: NDArray[np.int32],
    out_dist: _FloatArray,
    out_count: NDArray[np.int64],
) -> None:
    for k in range(px.size):
        out_count[k] = _near_one(
            px[k],
            py[k],
            tol,
            grid,
            out_owner[k],
            out_dist[k],
        )


@njit(cache=True, nogil=True)
def _slot(o: int, seen: NDArray[np.int64], cnt: int) -> int:
    """Index of ``o`` among the first ``cnt`` of ``seen`` (``cnt`` when absent)."""
    m = 0
    while m < cnt and seen[m] != o:
        m += 1
    return m


@njit(cache=True, nogil=True)
def _cover_one(
    x: float,
    y: float,
    qx: float,
    q_owner: int,
    eps: float,
    grid: Grid,
    seen: NDArray[np.int64],
    odd: NDArray[np.bool_],
    near: NDArray[np.bool_],
    out_owner: NDArray[np.int32],
) -> int:
    """Polygons covering (``x``, ``y``) — inside, or within ``eps`` of a ring — into
    ``out_owner`` (one longer than ``seen``, ``odd`` and ``near``, the work space); returns how
    many, or -1 when the point meets more polygons than the work space holds.

    Inside is told by the crossings of the horizontal segment from the point to a reference
    point at ``qx`` (same ``y``, to the right) whose covering polygon ``q_owner`` is known
    (-1: none): the point is inside a polygon when the crossings of its rings are odd, unless
    it is the reference's (then even). A crossing is counted only in the bucket column where it
    lies, so a segment registered in several buckets counts once.
    """
    ax, ay, bx, by, owner, offsets, items, x0, y0, g, nx, ny = grid
    k_max = seen.size
    cnt = 0
    full = False
    # Rings within eps of the point.
    c0 = max(math.floor((x - eps - x0) / g), 0)
    c1 = min(math.floor((x + eps - x0) / g), nx - 1)
    r0 = max(math.floor((y - eps - y0) / g), 0)
    r1 = min(math.floor((y + eps - y0) / g), ny - 1)
    for rr in range(r0, r1 + 1):
        for c in range(c0, c1 + 1):
            cell = rr * nx + c
            for j in range(offsets[cell], offsets[cell + 1]):
                i = items[j]
                if _psd(x, y, ax[i], ay[i], bx[i], by[i]) <= eps:
                    m = _slot(owner[i], seen, cnt)
                    if m == cnt:
                        if cnt == k_max:
                            full = True
                            break
                        seen[m] = owner[i]
                        odd[m] = False
                        cnt += 1
                    near[m] = True
    # Crossings between the point and the reference.
    r = math.floor((y - y0) / g)
    if 0 <= r < ny and not full:
        for c in range(
            max(math.floor((x - x0) / g), 0), min(math.floor((qx - x0) / g), nx - 1) + 1
        ):
            cell = r * nx + c
            for j in range(offsets[cell], offsets[cell + 1]):
                i = items[j]
                if (ay[i] > y) == (by[i] > y):
                    continue
                xi = ax[i] + (y - ay[i]) * (bx[i] - ax[i]) / (by[i] - ay[i])
                xi = min(max(xi, min(ax[i], bx[i])), max(ax[i], bx[i]))
                if math.floor((xi - x0) / g) != c or not (x < xi <= qx):
                    continue
                m = _slot(owner[i], seen, cnt)
                if m == cnt:
                    if cnt == k_max:
                        full = True
                        break
                    seen[m] = owner[i]
                    odd[m] = False
                    near[m] = False
                    cnt += 1
                odd[m] = not odd[m]
    if full:
        return -1
    n_out = 0
    q_seen = False
    for m in range(cnt):
        is_q = seen[m] == q_owner
        q_seen = q_seen or is_q
        if (odd[m] != is_q) or near[m]:
            out_owner[n_out] = seen[m]
            n_out += 1
    if not q_seen and q_owner >= 0:  # no crossing of the reference's rings: inside it
        out_owner[n_out] = q_owner
        n_out += 1
    return n_out


@njit(cache=True, nogil=True)
def _cover(
    px: _FloatArray,
    py: _FloatArray,
    qx: _FloatArray,
    q_owner: NDArray[np.int64],
    eps: float,
    grid: Grid,
    out_owner: NDArray[np.int32],
    out_count: NDArray[np.int64],
) -> None:
    """:func:`_cover_one` for each point; ``out_count`` -1 for a point that meets more polygons
    than a row of ``out_owner`` holds, less one."""
    k_max = out_owner.shape[1] - 1  # one more for the reference's polygon
    seen = np.empty(k_max, np.int64)
    odd = np.empty(k_max, np.bool_)
    near = np.empty(k_max, np.bool_)
    for k in range(px.size):
        out_count[k] = _cover_one(
            px[k],
            py[k],
            qx[k],
            q_owner[k],
            eps,
            grid,
            seen,
            odd,
            near,
            out_owner[k],
        )


@njit(cache=True, nogil=True)
def _nearest_one(
    x: float,
    y: float,
    grid: Grid,
) -> float:
    """Distance from (``x``, ``y``), on the grid, to the nearest segment (inf without any),
    searching rings of buckets outwards."""
    ax, ay, bx, by, _, offsets, items, x0, y0, g, nx, ny = grid
    c = math.floor((x - x0) / g)
    r = math.floor((y - y0) / g)
    best = np.inf
    last = max(nx, ny)
    for ring in range(last + 1):
        for rr in range(r - ring, r + ring + 1):
            if rr < 0 or rr >= ny:
                continue
            edge = rr == r - ring or rr == r + ring
            step = 1 if edge else 2 * ring
            cc = c - ring
            while cc <= c + ring:
                if 0 <= cc < nx:
                    cell = rr * nx + cc
                    for j in range(offsets[cell], offsets[cell + 1]):
                        i = items[j]
                        d = _psd(x, y, ax[i], ay[i], bx[i], by[i])
                        if d < best:
                            best = d
                if step == 0:
                    break
                cc += step
        # Cells beyond this ring are at least ``ring`` cells away (less a hair for the
        # rounding of the point's cell).
        if best < (ring - 1e-6) * g:
            break
    return best


@njit(cache=True, nogil=True)
def _nearest(
    px: _FloatArray,
    py: _FloatArray,
    grid: Grid,
    out: _FloatArray,
) -> None:
    """Distance to the nearest segment; NaN for a point off the grid (the caller measures it)."""
    _, _, _, _, _, _, _, x0, y0, g, nx, ny = grid
    for k in range(px.size):
        x = px[k]
        y = py[k]
        out[k] = np.nan
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        c = math.floor((x - x0) / g)
        r = math.floor((y - y0) / g)
        if c < 0 or c >= nx or r < 0 or r >= ny:
            continue
        best = _nearest_one(x, y, grid)
        if math.isfinite(best):
            out[k] = best


@njit(cache=True, nogil=True)
def _candidates(
    cells: NDArray[np.int64],
    grid: Grid,
    sub: int,
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Per cell of a grid ``sub`` times finer than the buckets (row-major, ``nx * sub``
    across), every segment that can be the nearest to a point in it (CSR).

    With ``d`` the distance from the cell's centre to its nearest segment and ``h`` half the
    cell's diagonal, a point of the cell lies within ``d + h`` of that segment, so its nearest
    segment lies within ``d + 2h`` of the centre: those are the cell's candidates (with a
    margin for rounding). A cell without segments anywhere gets none.
    """
    ax, ay, bx, by, _, offsets, items, x0, y0, g, nx, ny = grid
    f = g / sub
    h = f * math.sqrt(0.5)
    stamp = np.full(ax.size, -1, np.int32)
    out_offsets = np.zeros(cells.size + 1, np.int64)
    out = np.empty(max(16, 8 * cells.size), np.int32)
    n_out = 0
    for k in range(cells.size):
        cell = cells[k]
        r = cell // (nx * sub)
        c = cell - r * (nx * sub)
        x = x0 + (c + 0.5) * f
        y = y0 + (r + 0.5) * f
        d = _nearest_one(x, y, grid)
        if math.isfinite(d):
            reach = (d + 2.0 * h) * (1.0 + 1e-9) + 1e-9 * g
            c0 = max(math.floor((x - reach - x0) / g), 0)
            c1 = min(math.floor((x + reach - x0) / g), nx - 1)
            r0 = max(math.floor((y - reach - y0) / g), 0)
            r1 = min(math.floor((y + reach - y0) / g), ny - 1)
            for rr in range(r0, r1 + 1):
                for cc in range(c0, c1 + 1):
                    b = rr * nx + cc
                    for j in range(offsets[b], offsets[b + 1]):
                        i = items[j]
                        if stamp[i] == k:
                            continue
                        stamp[i] = k
                        if _psd(x, y, ax[i], ay[i], bx[i], by[i]) <= reach:
                            if n_out == out.size:
                                grown = np.empty(2 * out.size, np.int32)
                                grown[:n_out] = out[:n_out]
                                out = grown
                            out[n_out] = i
                            n_out += 1
        out_offsets[k + 1] = n_out
    return out_offsets, out[:n_out].copy()


@njit(cache=True, nogil=True)
def _nearest_among(
    px: _FloatArray,
    py: _FloatArray,
    slot: NDArray[np.int64],
    cand_offsets: NDArray[np.int64],
    cand_items: NDArray[np.int32],
    ax: _FloatArray,
    ay: _FloatArray,
    bx: _FloatArray,
    by: _FloatArray,
    out: _FloatArray,
) -> None:
    """Distance to the nearest of the candidates of each point's cell (``slot``); NaN for a
    point without candidates."""
    for k in range(px.size):
        s = slot[k]
        best = np.inf
        for j in range(cand_offsets[s], cand_offsets[s + 1]):
            i = cand_items[j]
            d = _psd(px[k], py[k], ax[i], ay[i], bx[i], by[i])
            if d < best:
                best = d
        out[k] = best if math.isfinite(best) else np.nan


@njit(cache=True, nogil=True)
def _reference(
    x: _FloatArray,
    y: _FloatArray,
    values: NDArray[Any],
    left: float,
    top: float,
    cell: float,
    width: int,
    height: int,
    qx: _FloatArray,
    q_owner: NDArray[np.int64],
) -> None:
    """For each point, the first cell to its right whose covering is known (see
    :func:`reference_points`)."""
    for k in range(x.size):
        row = math.floor((top - y[k]) / cell)
        col = math.floor((x[k] - left) / cell) + 1
        owner = -1
        if 0 <= row < height:
            while col < width:
                v = values[row * width + col]
                if v != -2:
                    owner = v if v >= 0 else (-1 if v >= -3 else -4 - v)
                    break
                col += 1
        qx[k] = left + (col + 0.5) * cell
        q_owner[k] = owner


def reference_points(
    x: _FloatArray,
    y: _FloatArray,
    values: NDArray[Any],
    left: float,
    top: float,
    cell: float,
    width: int,
    height: int,
) -> tuple[_FloatArray, NDArray[np.int64]]:
    """Reference points for :meth:`SegmentIndex.cover`: walking right along a cell grid.

    ``values`` (row-major, rows from ``top`` down) says per cell which polygon covers all of
    it: ``i >= 0`` polygon ``i`` alone, -1 or -3 none, ``-4 - i`` polygon ``i`` alone, -2 not
    known. Returns the ``x`` of the centre of the first known cell right of each point (or of
    the first column past the grid, covered by none) and its polygon (-1: none).
    """
    qx = np.empty(x.size, np.float64)
    q_owner = np.empty(x.size, np.int64)
    _reference(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(y, dtype=np.float64),
        values,
        float(left),
        float(top),
        float(cell),
        int(width),
        int(height),
        qx,
        q_owner,
    )
    return qx, q_owner


def _joined(arrays: list[NDArray[Any]], dtype: type) -> NDArray[Any]:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.empty(0, dtype)


@dataclass(frozen=True)
class Rings:
    """The vertices of polygons' rings, ring after ring, and per pair of consecutive vertices
    the polygon whose ring edge they are (-1 for the pair that ends one ring and starts the
    next): the segments, without copying a coordinate."""

    xy: _FloatArray  # (vertices, 2)
    owner: NDArray[np.int32]  # (vertices - 1,)
    starts: NDArray[np.int64]  # (polygons + 1,): polygon i's vertices are starts[i]:starts[i + 1]

    @classmethod
    def of(cls, polygons: NDArray[np.object_]) -> Rings:
        """The rings of (Multi)Polygons, read in one pass where shapely can (no geometry is
        made for a part or a ring); other collections part by part."""
        try:
            kind, xy, offsets = shapely.to_ragged_array(polygons, include_z=False)
        except (ValueError, TypeError, NotImplementedError):  # e.g. a GeometryCollection
            return cls._of_parts(polygons)
        if kind == shapely.GeometryType.POLYGON:
            ring_ends, polygon_rings = offsets
        elif kind == shapely.GeometryType.MULTIPOLYGON:
            ring_ends, part_rings, polygon_parts = offsets
            polygon_rings = part_rings[polygon_parts]
        else:
            return cls._of_parts(polygons)
        ring_ends = ring_ends.astype(np.int64)
        ring_sizes = np.diff(ring_ends)
        n_rings = np.diff(polygon_rings)
        polygon_of_ring = np.repeat(np.arange(len(polygons), dtype=np.int32), n_rings)
        owner = np.repeat(polygon_of_ring, ring_sizes)[:-1]
        last = ring_ends[1:][ring_sizes > 0] - 1  # each ring's last vertex: no edge after it
        owner[last[last < owner.size]] = -1
        starts = ring_ends[polygon_rings].astype(np.int64)
        return cls(np.ascontiguousarray(xy, dtype=np.float64), owner, starts)

    @classmethod
    def _of_parts(cls, polygons: NDArray[np.object_]) -> Rings:
        """:meth:`of` by way of each part's rings (for collections of other geometries)."""
        parts, part_of = shapely.get_parts(polygons, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        xy, ring_of = shapely.get_coordinates(rings, return_index=True)
        polygon_of_ring = part_of[ring_part]
        owner = np.empty(max(len(xy) - 1, 0), dtype=np.int32)
        if owner.size:
            owner[:] = polygon_of_ring[ring_of[:-1]]
            owner[ring_of[1:] != ring_of[:-1]] = -1
        # Vertices before each polygon's first: those of the rings before its first ring.
        ring_sizes = np.bincount(ring_of, minlength=len(rings))
        ring_starts = np.concatenate([[0], np.cumsum(ring_sizes)])
        first_ring = np.searchsorted(polygon_of_ring, np.arange(len(polygons) + 1))
        starts = ring_starts[first_ring].astype(np.int64)
        return cls(np.ascontiguousarray(xy, dtype=np.float64), owner, starts)

    def moved(self, xy: _FloatArray) -> Rings:
        """The same rings with their vertices at ``xy`` (e.g. projected)."""
        return Rings(np.ascontiguousarray(xy, dtype=np.float64), self.owner, self.starts)

    @property
    def edges(self) -> NDArray[np.bool_]:
        """Which pairs of consecutive vertices are ring edges."""
        return self.owner >= 0


@dataclass
class SegmentIndex:
    """The ring segments of metric polygons in a bucket grid.

    ``bend`` bounds, in metres, how far a point may lie inside a metric polygon while lying
    outside the polygon it was projected from (the sagitta of a projected edge, with a wide
    margin): a point farther than that from every segment is inside the one exactly when it is
    inside the other.

    Segment ``i`` runs from vertex ``i`` to vertex ``i + 1`` of :class:`Rings`; ``ax`` … ``by``
    are views of the rings' coordinates, and a pair that is no edge (owner -1) is in no bucket.
    """

    ax: _FloatArray
    ay: _FloatArray
    bx: _FloatArray
    by: _FloatArray
    owner: NDArray[np.int32]
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    offsets: NDArray[np.int32]
    items: NDArray[np.int32]
    bend: float

    @classmethod
    def build(
        cls,
        polygons: Rings | NDArray[np.object_],
        bend: float,
        tolerance: float,
        margin: float,
        min_cell: float = 1.0,
    ) -> SegmentIndex | None:
        """Index the rings of ``polygons`` (or their :class:`Rings`); None when there are no
        segments.

        The grid covers the polygons' bounds plus ``margin``; its cells are no smaller than
        ``tolerance`` nor ``min_cell`` (in the polygons' units: metres for metric ones).
        """
        rings = polygons if isinstance(polygons, Rings) else Rings.of(polygons)
        n_edges = int(np.count_nonzero(rings.edges))
        if n_edges == 0:
            return None
        xy = rings.xy
        ax, ay = xy[:-1, 0], xy[:-1, 1]
        bx, by = xy[1:, 0], xy[1:, 1]
        x0 = float(xy[:, 0].min()) - margin
        y0 = float(xy[:, 1].min()) - margin
        x1 = float(xy[:, 0].max()) + margin
        y1 = float(xy[:, 1].max()) + margin
        area = max((x1 - x0) * (y1 - y0), min_cell * min_cell)
        cell = max(math.sqrt(area / (_BUCKETS_PER_SEGMENT * n_edges)), tolerance, min_cell)
        # One column (row) past the last full one: a vertex on the far bound, which a margin
        # of 0 allows, lies in a bucket even when the span is a whole number of cells.
        nx = math.floor((x1 - x0) / cell) + 1
        ny = math.floor((y1 - y0) / cell) + 1
        offsets, items = _buckets(ax, ay, bx, by, rings.owner, x0, y0, cell, nx, ny)
        return cls(ax, ay, bx, by, rings.owner, x0, y0, cell, nx, ny, offsets, items, bend)

    def order(self, x: _FloatArray, y: _FloatArray) -> _IntArray:
        """The points in bucket order (neighbouring points read the same buckets; the order
        among the points of one bucket is arbitrary, as no answer depends on it)."""
        with np.errstate(invalid="ignore"):
            col = np.clip(np.floor((x - self.x0) / self.cell), -1, self.nx)
            row = np.clip(np.floor((y - self.y0) / self.cell), -1, self.ny)
        key = np.nan_to_num(row * (self.nx + 2) + col, nan=-1.0)
        return np.argsort(key).astype(np.intp, copy=False)

    def _grid_args(self) -> Grid:
        """The index as the kernels take it (see :data:`Grid`)."""
        return (
            self.ax,
            self.ay,
            self.bx,
            self.by,
            self.owner,
            self.offsets,
            self.items,
            self.x0,
            self.y0,
            self.cell,
            self.nx,
            self.ny,
        )

    def near(
        self, x: _FloatArray, y: _FloatArray, tol: float, order: _IntArray | None = None
    ) -> tuple[_IntArray, _IntArray, _FloatArray, _IntArray]:
        """Pairs (point, polygon) with a segment of the polygon within ``tol`` metres, and that
        smallest distance; plus the points with more than :data:`MAX_NEAR` such polygons
        (not in the pairs). Points go through in chunks, so memory does not grow with
        ``MAX_NEAR`` times the points, in ``order`` (default: bucket order)."""
        if order is None:
            order = self.order(x, y)
        xs = np.ascontiguousarray(x[order], dtype=np.float64)
        ys = np.ascontiguousarray(y[order], dtype=np.float64)
        found_q, found_o, found_d, found_over = [], [], [], []
        k = MAX_NEAR
        for start in range(0, x.size, _CHUNK):
            part = slice(start, min(start + _CHUNK, x.size))
            m = part.stop - part.start
            out_owner = np.empty((m, k), np.int32)
            out_dist = np.empty((m, k), np.float64)
            count = np.empty(m, np.int64)
            _near(xs[part], ys[part], float(tol), self._grid_args(), out_owner, out_dist, count)
            cnt = np.maximum(count, 0)
            mask = np.arange(k)[None, :] < cnt[:, None]
            found_q.append(np.repeat(order[part], cnt))
            found_o.append(out_owner[mask].astype(np.intp))
            found_d.append(out_dist[mask])
            found_over.append(order[part][count < 0])
        return (
            _joined(found_q, np.intp),
            _joined(found_o, np.intp),
            _joined(found_d, np.float64),
            np.sort(_joined(found_over, np.intp)),
        )

    def cover(
        self,
        x: _FloatArray,
        y: _FloatArray,
        qx: _FloatArray,
        q_owner: NDArray[np.int64],
        eps: float,
        order: _IntArray | None = None,
    ) -> tuple[_IntArray, _IntArray, _IntArray]:
        """Pairs (point, polygon) where the polygon covers the point (inside, or within ``eps``
        of a ring), given reference points from :func:`reference_points`; plus the points that
        met more polygons than :data:`MAX_NEAR` (not in the pairs). Points go through in
        ``order`` (default: bucket order)."""
        if order is None:
            order = self.order(x, y)
        xs = np.ascontiguousarray(x[order], dtype=np.float64)
        ys = np.ascontiguousarray(y[order], dtype=np.float64)
        qxs = np.ascontiguousarray(qx[order], dtype=np.float64)
        qos = np.ascontiguousarray(q_owner[order], dtype=np.int64)
        found_q, found_o, found_over = [], [], []
        k = MAX_NEAR + 1
        for start in range(0, x.size, _CHUNK):
            part = slice(start, min(start + _CHUNK, x.size))
            m = part.stop - part.start
            out_owner = np.empty((m, k), np.int32)
            count = np.empty(m, np.int64)
            _cover(
                xs[part],
                ys[part],
                qxs[part],
                qos[part],
                float(eps),
                self._grid_args(),
                out_owner,
                count,
            )
            cnt = np.maximum(count, 0)
            mask = np.arange(k)[None, :] < cnt[:, None]
            found_q.append(np.repeat(order[part], cnt))
            found_o.append(out_owner[mask].astype(np.intp))
            found_over.append(order[part][count < 0])
        return (
            _joined(found_q, np.intp),
            _joined(found_o, np.intp),
            np.sort(_joined(found_over, np.intp)),
        )

    def nearest(self, x: _FloatArray, y: _FloatArray, threads: int | None = None) -> _FloatArray:
        """Distance to the nearest segment (NaN for points off the grid), in up to ``threads``
        threads.

        Where points crowd the buckets (several a bucket, as for the many targets outside a
        town), each occupied bucket's candidates (:func:`_candidates`) are found once and its
        points measured against those alone; otherwise each point searches rings of buckets.
        """
        n = x.size
        sub = _CANDIDATE_SUBCELLS
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / (self.cell / sub))
            row = np.floor((y - self.y0) / (self.cell / sub))
        on = (col >= 0) & (col < self.nx * sub) & (row >= 0) & (row < self.ny * sub)
        cell = np.where(on, row * (self.nx * sub) + col, -1).astype(np.int64)
        order = np.argsort(cell)
        sorted_cells = cell[order]
        first = int(np.searchsorted(sorted_cells, 0))  # points off the grid sort first
        order = order[first:]
        sorted_cells = sorted_cells[first:]
        out = np.full(n, np.nan)
        if order.size == 0:
            return out
        starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
        xs = np.ascontiguousarray(x[order], dtype=np.float64)
        ys = np.ascontiguousarray(y[order], dtype=np.float64)
        found = np.empty(order.size, np.float64)
        if starts.size * _POINTS_PER_CANDIDATE_CELL <= order.size:
            cells = np.ascontiguousarray(sorted_cells[starts])
            slot = np.cumsum(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]]) - 1
            self._split_run(
                starts.size,
                threads,
                lambda r: self._nearest_by_cell(xs, ys, slot, starts, cells, r, found),
                points=order.size,  # threads by the points to measure, not by the cells
            )
        else:
            self._split_run(
                order.size, threads, lambda r: self._nearest_part(xs[r], ys[r], found[r])
            )
        out[order] = found
        return out

    @staticmethod
    def _split_run(n: int, threads: int | None, run: Any, points: int | None = None) -> None:
        """``run(slice)`` over ``range(n)`` in up to ``threads`` threads (as many as ``points``,
        by default ``n``, call for)."""
        workers = min(_threads(n if points is None else points, threads), max(n, 1))
        cuts = np.linspace(0, n, workers + 1).astype(int)
        parts = [slice(int(a), int(b)) for a, b in itertools.pairwise(cuts)]
        if len(parts) == 1:
            run(parts[0])
        else:
            with ThreadPoolExecutor(len(parts)) as pool:
                list(pool.map(run, parts))

    def _nearest_by_cell(
        self,
        xs: _FloatArray,
        ys: _FloatArray,
        slot: NDArray[np.int64],
        starts: _IntArray,
        cells: NDArray[np.int64],
        r: slice,
        found: _FloatArray,
    ) -> None:
        """Points of the occupied cells ``r`` (points sorted by cell; ``starts`` the first
        point of each cell) measured against their cell's candidates."""
        cand_offsets, cand_items = _candidates(
            cells[r],
            self._grid_args(),
            _CANDIDATE_SUBCELLS,
        )
        a = int(starts[r.start])
        b = int(starts[r.stop]) if r.stop < starts.size else xs.size
        _nearest_among(
            xs[a:b],
            ys[a:b],
            slot[a:b] - r.start,
            cand_offsets,
            cand_items,
            self.ax,
            self.ay,
            self.bx,
            self.by,
            found[a:b],
        )

    def _nearest_part(self, x: _FloatArray, y: _FloatArray, out: _FloatArray) -> None:
        _nearest(
            x,
            y,
            self._grid_args(),
            out,
        )


#: Kinds of answer of :func:`settle_points`.
OUTSIDE, INSIDE, NEAR_BOUNDARY, GAP_NEAREST, UNSETTLED = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True)
def _settle(
    points: tuple[Any, ...],
    known: NDArray[np.int64],
    tol: float,
    eps: float,
    bend: float,
    tie: float,
    rank: NDArray[np.int64],
    m_grid: Grid,
    n_grid: Grid,
    out_village: NDArray[np.int64],
    out_kind: NDArray[np.int8],
    out_dist: _FloatArray,
    out_nb: NDArray[np.int32],
    out_nb_count: NDArray[np.int64],
) -> None:
    """See :func:`settle_points` (``points`` as in :class:`PassPoints`)."""
    mx, my, nxs, nys, qx, q_owner = points
    k_max = out_nb.shape[1]
    seen = np.empty(k_max, np.int64)
    odd = np.empty(k_max, np.bool_)
    near = np.empty(k_max, np.bool_)
    cov = np.empty(k_max + 1, np.int32)
    m_own = np.empty(k_max, np.int32)
    m_dist = np.empty(k_max, np.float64)
    p_own = np.empty(2 * k_max + 1, np.int32)
    p_dist = np.empty(2 * k_max + 1, np.float64)
    order = np.empty(2 * k_max + 1, np.int64)
    for k in range(mx.size):
        out_kind[k] = UNSETTLED
        out_village[k] = -1
        out_dist[k] = np.nan
        out_nb_count[k] = 0
        # The polygons covering the point (in the native CRS).
        if known[k] == -2:
            n_cov = _cover_one(
                nxs[k],
                nys[k],
                qx[k],
                q_owner[k],
                eps,
                n_grid,
                seen,
                odd,
                near,
                cov,
            )
            if n_cov < 0:
                continue
        elif known[k] >= 0:
            n_cov = 1
            cov[0] = known[k]
        else:
            n_cov = 0
        # The others within the tolerance (in metres), each at its distance.
        n_near = _near_one(
            mx[k],
            my[k],
            tol,
            m_grid,
            m_own,
            m_dist,
        )
        if n_near < 0:
            continue
        n_pairs = 0
        for m in range(n_cov):
            p_own[n_pairs] = cov[m]
            p_dist[n_pairs] = 0.0
            n_pairs += 1
        close = False
        for m in range(n_near):
            covered = False
            for c in range(n_cov):
                if cov[c] == m_own[m]:
                    covered = True
                    break
            if covered:
                continue
            if m_dist[m] <= bend:  # may lie inside the metric polygon: GEOS decides
                close = True
                break
            p_own[n_pairs] = m_own[m]
            p_dist[n_pairs] = m_dist[m]
            n_pairs += 1
        if close:
            continue
        # The village: the covering one with the smallest code, else the nearest (distances
        # within ``tie`` are ties, broken by the smallest code).
        village = -1
        dist = np.nan
        if n_cov > 0:
            for m in range(n_cov):
                if village < 0 or rank[p_own[m]] < rank[village]:
                    village = p_own[m]
            dist = 0.0
        elif n_pairs > 0:
            dmin = np.inf
            for m in range(n_pairs):
                if p_dist[m] < dmin:
                    dmin = p_dist[m]
            best = -1
            for m in range(n_pairs):
                if p_dist[m] <= dmin + tie and (best < 0 or rank[p_own[m]] < rank[p_own[best]]):
                    best = m
            village = p_own[best]
            dist = p_dist[best]
        # The others, nearest first, ties by code (insertion sort: a few at most).
        n_nb = 0
        for m in range(n_pairs):
            if p_own[m] == village:
                continue
            j = n_nb
            while j > 0:
                o = order[j - 1]
                if p_dist[o] < p_dist[m] or (
                    p_dist[o] == p_dist[m] and rank[p_own[o]] < rank[p_own[m]]
                ):
                    break
                order[j] = o
                j -= 1
            order[j] = m
            n_nb += 1
        if n_nb > k_max:
            continue
        for j in range(n_nb):
            out_nb[k, j] = p_own[order[j]]
        out_nb_count[k] = n_nb
        out_village[k] = village
        out_dist[k] = dist
        if n_cov > 0:
            out_kind[k] = NEAR_BOUNDARY if n_nb > 0 else INSIDE
        elif village >= 0:
            out_kind[k] = GAP_NEAREST
        else:
            out_kind[k] = OUTSIDE


class PassPoints(NamedTuple):
    """Points as the compiled passes read them: metric ``mx``, ``my``; native ``nx``, ``ny``;
    and their reference points ``qx``, ``q_owner`` (see :func:`reference_points`)."""

    mx: _FloatArray
    my: _FloatArray
    nx: _FloatArray
    ny: _FloatArray
    qx: _FloatArray
    q_owner: NDArray[np.int64]


def settle_points(
    metric: SegmentIndex,
    native: SegmentIndex,
    points: PassPoints,
    known: NDArray[np.int64],
    tol: float,
    eps: float,
    tie: float,
    rank: NDArray[np.int64],
    order: _IntArray,
    village: NDArray[np.intp],
    kind: NDArray[np.int8],
    dist: _FloatArray,
) -> tuple[_IntArray, _IntArray]:
    """Assign points to the polygons in one pass: covering, near ones, the choice, neighbours.

    For each of the ``points``: the polygons covering it — ``known`` when it is -1 (none) or a
    polygon, else told with its reference point on the ``native`` index; the polygons within
    ``tol`` metres of it on the ``metric`` index; then its polygon — the covering one with the
    smallest ``rank``, else the nearest within ``tol`` (distances within ``tie`` are ties,
    broken by the smallest rank) — and the others, nearest first, ties by rank.

    Writes, for the points in ``order`` (in bucket order; taken in chunks of :data:`_CHUNK`),
    into ``village`` its polygon (-1: none), into ``kind`` :data:`OUTSIDE` (``dist`` is left
    NaN for the caller), :data:`INSIDE`, :data:`NEAR_BOUNDARY`, :data:`GAP_NEAREST` or
    :data:`UNSETTLED` (crowded, or within the metric ``bend`` of a polygon it does not cover:
    for the caller to decide another way), into ``dist`` the distance (0 when covered).
    Returns the neighbours: point indices and polygons, in order, for the points with any.
    """
    nb_q: list[Any] = []
    nb_o: list[Any] = []
    k = MAX_NEAR
    for start in range(0, order.size, _CHUNK):
        rows = order[start : start + _CHUNK]
        m = rows.size
        v = np.empty(m, np.int64)
        kd = np.empty(m, np.int8)
        dd = np.empty(m, np.float64)
        nb = np.empty((m, k), np.int32)
        cnt = np.empty(m, np.int64)
        _settle(
            tuple(np.ascontiguousarray(a[rows]) for a in points),
            np.ascontiguousarray(known[rows]),
            float(tol),
            float(eps),
            float(metric.bend),
            float(tie),
            rank,
            metric._grid_args(),
            native._grid_args(),
            v,
            kd,
            dd,
            nb,
            cnt,
        )
        village[rows] = v
        kind[rows] = kd
        dist[rows] = dd
        has = cnt > 0
        if has.any():
            c = cnt[has]
            nb_q.append(np.repeat(rows[has], c))
            nb_o.append(nb[has][np.arange(k)[None, :] < c[:, None]])
    return _joined(nb_q, np.intp), _joined(nb_o, np.intp)


#: What :func:`settle_groups` leaves for the caller to decide another way.
GROUP_UNSETTLED = -2


@njit(cache=True, nogil=True)
def _settle_groups(
    points: tuple[Any, ...],
    point_class: NDArray[np.int64],
    poly_class: NDArray[np.int64],
    tol: float,
    eps: float,
    bend: float,
    tie: float,
    rank: NDArray[np.int64],
    m_grid: Grid,
    n_grid: Grid,
    rows: _IntArray,
    out: NDArray[np.int64],
) -> None:
    """See :func:`settle_groups` (``points`` as in :class:`PassPoints`)."""
    mx, my, nxs, nys, qx, q_owner = points
    k_max = MAX_NEAR
    seen = np.empty(k_max, np.int64)
    odd = np.empty(k_max, np.bool_)
    near = np.empty(k_max, np.bool_)
    cov = np.empty(k_max + 1, np.int32)
    m_own = np.empty(k_max, np.int32)
    m_dist = np.empty(k_max, np.float64)
    for t in range(rows.size):
        k = rows[t]
        out[k] = GROUP_UNSETTLED
        n_cov = _cover_one(nxs[k], nys[k], qx[k], q_owner[k], eps, n_grid, seen, odd, near, cov)
        if n_cov < 0:
            continue
        cls = point_class[k]
        best = -1
        for m in range(n_cov):
            c = cov[m]
            if poly_class[c] == cls and (best < 0 or rank[c] < rank[best]):
                best = c
        # Covered: only a rival within the bend (which may cover the point in metres) or the
        # tie could matter, and GEOS decides those; else all within the tolerance compete.
        reach = max(bend, tie) if best >= 0 else tol
        n_near = _near_one(mx[k], my[k], reach, m_grid, m_own, m_dist)
        if n_near < 0:
            continue
        close = False
        dmin = np.inf
        for m in range(n_near):
            o = m_own[m]
            if poly_class[o] != cls:
                continue
            covered = False
            for c in range(n_cov):
                if cov[c] == o:
                    covered = True
                    break
            if covered:
                continue
            if best >= 0 or m_dist[m] <= bend:  # may lie inside the metric polygon, or tie
                close = True
                break
            dmin = min(dmin, m_dist[m])
        if close:
            continue
        if best < 0 and dmin < np.inf:
            for m in range(n_near):
                o = m_own[m]
                within = poly_class[o] == cls and m_dist[m] <= dmin + tie
                if within and (best < 0 or rank[o] < rank[best]):
                    best = o
        out[k] = best


def settle_groups(
    metric: SegmentIndex,
    native: SegmentIndex,
    points: PassPoints,
    point_class: NDArray[np.int64],
    poly_class: NDArray[np.int64],
    tol: float,
    eps: float,
    tie: float,
    rank: NDArray[np.int64],
    rows: _IntArray,
    out: NDArray[np.int64],
) -> None:
    """Each point's polygon among those of its class (a village's groups), in one pass.

    For the ``points`` in ``rows``: among the polygons whose
    ``poly_class`` is the point's ``point_class``, the covering one with the smallest
    ``rank``, else the nearest within ``tol`` metres (distances within ``tie`` are ties, broken
    by the smallest rank), else -1. Writes it into ``out``, or :data:`GROUP_UNSETTLED` for a
    point that meets too many polygons or lies within the metric ``bend`` of one of its class
    it does not cover (or, when one covers it, within ``tie`` of another), for the caller to
    decide another way.
    """
    _settle_groups(
        tuple(points),
        point_class,
        poly_class,
        float(tol),
        float(eps),
        float(metric.bend),
        float(tie),
        rank,
        metric._grid_args(),
        native._grid_args(),
        np.ascontiguousarray(rows, dtype=np.intp),
        out,
    )
