"""Compiled kernels of the assignment's cell grid (:class:`geoverify.assign._CellGrid`).

The grid settles most points by a lookup: a cell far from every village boundary lies in one
village (or in none). These kernels mark the cells the boundaries pass through, measure each
cell's distance (in cells, Chebyshev) to the nearest marked one, and turn the distances and the
connected components of the unmarked cells into the grid's values, in a few passes over the
cells instead of one array operation after another (on a grid of millions of cells every fresh
array costs time).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = [
    "chebyshev",
    "classify",
    "components",
    "covering",
    "groups_from_cells",
    "lookup",
    "mark_segments",
    "settle_looked_up",
]

_FloatArray = NDArray[np.float64]


#: How far past a cell's edge (in cells) a segment still marks it: far more than the rounding
#: of coordinates a few thousand cells from the grid's corner, far less than a cell.
_EDGE = 1e-6


@njit(cache=True, nogil=True)
def mark_segments(
    xy: _FloatArray,
    start: NDArray[np.int64],
    left: float,
    top: float,
    cell: float,
    out: NDArray[np.uint8],
    edge: float = 0.0,
) -> None:
    """Mark every cell that a segment ``xy[s]``–``xy[s + 1]`` (``s`` in ``start``) touches,
    its edges and corners included, and every cell it passes within ``edge`` (in cells) of,
    and :data:`_EDGE` more for rounding: no boundary passes through an unmarked cell, nor
    within ``edge`` of one. Rows count down from ``top``.

    Row by row: the part of the segment within the row's band spans the columns between its
    two ends' columns."""
    height, width = out.shape
    edge = edge + _EDGE
    for s in start:
        # In cells: x to the right from ``left``, y down from ``top``.
        ax = (xy[s, 0] - left) / cell
        ay = (top - xy[s, 1]) / cell
        bx = (xy[s + 1, 0] - left) / cell
        by = (top - xy[s + 1, 1]) / cell
        if not (math.isfinite(ax) and math.isfinite(ay) and math.isfinite(bx)):
            continue
        if not math.isfinite(by):
            continue
        if ay > by:
            ax, ay, bx, by = bx, by, ax, ay
        dy = by - ay
        r0 = max(math.floor(ay - edge), 0)
        r1 = min(math.floor(by + edge), height - 1)
        for r in range(r0, r1 + 1):
            # The segment's ends within the row's band [r, r + 1] (clamped to the segment).
            if dy > 0.0:
                t0 = min(max((r - edge - ay) / dy, 0.0), 1.0)
                t1 = min(max((r + 1 + edge - ay) / dy, 0.0), 1.0)
            else:
                t0 = 0.0
                t1 = 1.0
            x0 = ax + t0 * (bx - ax)
            x1 = ax + t1 * (bx - ax)
            if x0 > x1:
                x0, x1 = x1, x0
            c0 = max(math.floor(x0 - edge), 0)
            c1 = min(math.floor(x1 + edge), width - 1)
            for c in range(c0, c1 + 1):
                out[r, c] = 1


@njit(cache=True, nogil=True)
def chebyshev(marked: NDArray[np.uint8], cap: int) -> NDArray[np.uint8]:
    """Per cell, the Chebyshev distance (in cells) to the nearest marked cell, at most ``cap``
    (``cap`` also for none within it; ``cap`` < 255). Cells past the edge count as unmarked."""
    height, width = marked.shape
    # Everything in 8 bits (``dr`` too): the row passes below vectorise 32 cells at a time,
    # and the unconditional min/max store lets them (a conditional store would not).
    top = np.uint8(cap)
    one = np.uint8(1)
    zero = np.uint8(0)
    across = np.empty((height, width), np.uint8)
    for r in range(height):
        d = top
        for c in range(width):
            d = zero if marked[r, c] else min(np.uint8(d + one), top)
            across[r, c] = d
        d = top
        for c in range(width - 1, -1, -1):
            d = zero if marked[r, c] else min(np.uint8(d + one), top)
            across[r, c] = min(d, across[r, c])
    out = across.copy()
    for r in range(height):
        row = out[r]
        # Rows within ``cap`` of this one, a whole row at a time (contiguous, vectorised).
        for rr in range(max(r - cap + 1, 0), min(r + cap, height)):
            if rr == r:
                continue
            dr = np.uint8(abs(rr - r))
            other = across[rr]
            for c in range(width):
                row[c] = min(row[c], max(dr, other[c]))
    return out


@njit(cache=True, nogil=True)
def _root(parent: NDArray[np.int32], k: int) -> int:
    while parent[k] != k:
        parent[k] = parent[parent[k]]  # path halving
        k = parent[k]
    return k


@njit(cache=True, nogil=True)
def components(dist: NDArray[np.uint8]) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """The connected components (4-connected, as ``scipy.ndimage.label`` by default) of the
    cells no boundary touches (``dist > 0``), without a label per cell.

    The cells are scanned row by row and each untouched one takes the provisional label of its
    left or else its upper neighbour, or a new one; labels that meet are merged. The same scan
    in :func:`classify` gives every cell the same provisional label again, so only one row of
    labels is ever kept.

    Returns, per component, its last cell (row-major), and per provisional label its
    component (0-based, in the order of each component's first cell).
    """
    height, width = dist.shape
    parent = np.empty(1024, np.int32)
    last = np.empty(1024, np.int64)
    n = 0
    prev = np.full(width, -1, np.int32)
    cur = np.full(width, -1, np.int32)
    for r in range(height):
        left = -1
        for c in range(width):
            if dist[r, c] > 0:
                up = prev[c]
                if left >= 0:
                    lab = left
                    if up >= 0 and up != left:
                        a = _root(parent, left)
                        b = _root(parent, up)
                        if a != b:  # the smaller label becomes the root
                            if a < b:
                                parent[b] = a
                            else:
                                parent[a] = b
                elif up >= 0:
                    lab = up
                else:
                    if n == parent.size:
                        parent = np.concatenate((parent, np.empty(n, np.int32)))
                        last = np.concatenate((last, np.empty(n, np.int64)))
                    parent[n] = n
                    lab = n
                    n += 1
                last[lab] = r * width + c
                cur[c] = lab
                left = lab
            else:
                cur[c] = -1
                left = -1
        prev, cur = cur, prev
    comp = np.empty(n, np.int32)
    rep = np.empty(n, np.int64)
    k = 0
    for lab in range(n):  # a root is the smallest label of its set: it comes first
        root = _root(parent, lab)
        if root == lab:
            comp[lab] = k
            rep[k] = last[lab]
            k += 1
        else:
            j = comp[root]
            comp[lab] = j
            if last[lab] > rep[j]:
                rep[j] = last[lab]
    return rep[:k].copy(), comp


@njit(cache=True, nogil=True)
def covering(
    x: _FloatArray,
    y: _FloatArray,
    point: NDArray[np.intp],
    polygon: NDArray[np.intp],
    xy: _FloatArray,
    owner: NDArray[np.int32],
    starts: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """For points ``x``, ``y`` and candidate pairs (``point``, ``polygon``), how many of the
    candidates cover each point and one that does (-1: none), by the even–odd rule over the
    polygon's rings (``xy``, ``owner``, ``starts`` as in :class:`geoverify.segments.Rings`).

    For points away from every boundary (the centres of cells no boundary touches), where
    the rule and GEOS agree; much cheaper than GEOS's point-in-polygon for one point a
    polygon, which first builds an index of the polygon's edges."""
    count = np.zeros(x.size, np.int64)
    found = np.full(x.size, -1, np.int32)
    for k in range(point.size):
        q = point[k]
        p = polygon[k]
        px = x[q]
        py = y[q]
        inside = False
        for i in range(starts[p], starts[p + 1] - 1):
            if owner[i] != p:
                continue
            ay = xy[i, 1]
            by = xy[i + 1, 1]
            if (ay > py) != (by > py):
                ax = xy[i, 0]
                cross = ax + (py - ay) * (xy[i + 1, 0] - ax) / (by - ay)
                if px < cross:
                    inside = not inside
        if inside:
            count[q] += 1
            found[q] = p
    return count, found


@njit(cache=True, nogil=True)
def classify(
    dist: NDArray[np.uint8],
    label_value: NDArray[np.int32],
    reach: int,
    near_one: int,
    containment: bool,
    out: NDArray[Any],
) -> None:
    """The grid's values from each cell's distance to a touched cell and its component's value.

    ``dist`` counts from the "touched" cells, those a boundary touches (:func:`mark_segments`):
    a cell at distance ``d`` has ``d - 1`` whole cells between it and every boundary.
    ``label_value`` is, per provisional label of :func:`components` (the same scan is made
    again here), what covers its component of untouched cells: a polygon's index, -1 none, -2
    several. Touched cells are -2.

    The values are written into ``out`` (flat, one per cell; 16 bits hold them for up to
    32,763 polygons).

    Per cell: the component's polygon when at least ``near_one`` whole cells (``reach`` when
    ``near_one`` is not smaller) lie between it and every touched cell; -1 (covered by none)
    when at least ``reach`` do; else -2, undecided. With ``containment``, an undecided cell
    that is not touched says what covers it: -3 none, ``-4 - i`` polygon ``i`` (the cells were
    marked with the covering tolerance as their ``edge``, so no boundary is that close to it).
    """
    height, width = dist.shape
    n = 0
    prev = np.full(width, -1, np.int32)
    cur = np.full(width, -1, np.int32)
    for r in range(height):
        left = -1
        for c in range(width):
            d = dist[r, c]
            if d > 0:
                # The label rule of components(), written out again: a shared inlined helper
                # made both passes 90 ms slower on 8 million cells.
                up = prev[c]
                if left >= 0:
                    lab = left
                elif up >= 0:
                    lab = up
                else:
                    lab = n
                    n += 1
                cur[c] = lab
                left = lab
                clear = label_value[lab]
            else:
                cur[c] = -1
                left = -1
                clear = -2
            v = clear
            if d <= reach and v == -1:
                v = -2
            if near_one >= reach:
                if d <= reach:
                    v = -2
            elif d <= near_one:
                v = -2
            if containment and v == -2 and d > 0 and clear >= -1:
                v = -3 - (clear + 1)
            out[r * width + c] = v
        prev, cur = cur, prev


@njit(cache=True, nogil=True)
def lookup(
    x: _FloatArray,
    y: _FloatArray,
    values: NDArray[Any],
    left: float,
    top: float,
    cell: float,
    width: int,
    height: int,
    out: NDArray[np.int32],
) -> None:
    """The value of each point's cell; -1 for a point off the grid (far from every polygon),
    -2 for a point without finite coordinates."""
    for k in range(x.size):
        px = x[k]
        py = y[k]
        if not (math.isfinite(px) and math.isfinite(py)):
            out[k] = -2
            continue
        c = math.floor((px - left) / cell)
        r = math.floor((top - py) / cell)
        if 0 <= c < width and 0 <= r < height:
            out[k] = values[r * width + c]
        else:
            out[k] = -1


@njit(cache=True, nogil=True, inline="always")
def _grid_row(y: float, top: float, cell: float, height: int) -> int:
    """The grid row of ``y``, clamped to the grid (in floating point, before the conversion)."""
    return int(min(max(math.floor((top - y) / cell), 0.0), height - 1.0))


@njit(cache=True, nogil=True)
def settle_looked_up(
    cell_village: NDArray[np.int32],
    rows: NDArray[np.intp],
    y: _FloatArray,
    top: float,
    cell: float,
    height: int,
    village: NDArray[np.int32],
    kind: NDArray[np.int8],
    overlap: _FloatArray,
    distance: _FloatArray,
    inside: int,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp], NDArray[np.int64]]:
    """What the village grid's values ``cell_village`` (of points ``rows``, as
    :func:`lookup` gives them) settle, in two passes over the points instead of an array
    operation per answer and per kind.

    A point whose cell lies in one village gets it in ``village``, ``inside`` in ``kind``,
    1 in ``overlap`` and 0 in ``distance``. Returns the other points' rows: those far from every
    village (value -1) ordered by their grid row (of their ``y``; stable, clamped to the grid),
    those the exact geometry decides (-2), and those whose covering the cell knows (-3 and
    below) with that covering (-1: none, else the village's index).
    """
    n = rows.size
    n_far = 0
    n_exact = 0
    n_known = 0
    per_row = np.zeros(height + 1, np.int64)
    for i in range(n):
        v = cell_village[i]
        r = rows[i]
        if v >= 0:
            village[r] = v
            kind[r] = inside
            overlap[r] = 1.0
            distance[r] = 0.0
        elif v == -1:
            n_far += 1
            per_row[_grid_row(y[r], top, cell, height) + 1] += 1
        elif v == -2:
            n_exact += 1
        else:
            n_known += 1
    for k in range(height):
        per_row[k + 1] += per_row[k]
    far = np.empty(n_far, np.intp)
    exact = np.empty(n_exact, np.intp)
    known = np.empty(n_known, np.intp)
    cover = np.empty(n_known, np.int64)
    e = 0
    k = 0
    for i in range(n):
        v = cell_village[i]
        r = rows[i]
        if v == -1:
            g = _grid_row(y[r], top, cell, height)
            far[per_row[g]] = r
            per_row[g] += 1
        elif v == -2:
            exact[e] = r
            e += 1
        elif v <= -3:
            known[k] = r
            cover[k] = -4 - v
            k += 1
    return far, exact, known, cover


@njit(cache=True, nogil=True)
def groups_from_cells(
    cell_group: NDArray[np.int32],
    rows: NDArray[np.intp],
    village: NDArray[np.int32],
    group_village: NDArray[np.int64],
    group: NDArray[np.int32],
    todo: NDArray[np.bool_],
) -> None:
    """The groups the cell grid settles: point ``rows[i]`` (its cell's group value
    ``cell_group[i]``, as :meth:`_CellGrid.lookup` gives it) is in the cell's group when that
    group is of the point's ``village``, and in none when no group is near (-1); either way it
    is no longer ``todo``. Other points are left as they are."""
    for i in range(rows.size):
        g = cell_group[i]
        r = rows[i]
        if g >= 0:
            v = village[r]
            if v >= 0 and group_village[g] == v:
                group[r] = g
                todo[r] = False
        elif g == -1:
            todo[r] = False
