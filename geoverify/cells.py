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

__all__ = ["chebyshev", "classify", "groups_from_cells", "last_cells", "lookup", "mark_segments"]

_FloatArray = NDArray[np.float64]


@njit(cache=True, nogil=True)
def mark_segments(
    xy: _FloatArray,
    start: NDArray[np.int64],
    left: float,
    top: float,
    cell: float,
    out: NDArray[np.uint8],
) -> None:
    """Mark the cells of points along each segment ``xy[s]``–``xy[s + 1]`` (``s`` in
    ``start``), its ends included, no more than 0.99 of a cell apart: every cell the segment
    passes through is marked or next to a marked one. Rows count down from ``top``."""
    height, width = out.shape
    step = 0.99 * cell
    for s in start:
        ax = xy[s, 0]
        ay = xy[s, 1]
        bx = xy[s + 1, 0]
        by = xy[s + 1, 1]
        length = math.sqrt((bx - ax) * (bx - ax) + (by - ay) * (by - ay))
        n = max(1, math.ceil(length / step))
        for k in range(n + 1):
            t = k / n
            x = ax + t * (bx - ax)
            y = ay + t * (by - ay)
            c = math.floor((x - left) / cell)
            r = math.floor((top - y) / cell)
            if 0 <= r < height and 0 <= c < width:
                out[r, c] = 1


@njit(cache=True, nogil=True)
def chebyshev(marked: NDArray[np.uint8], cap: int) -> NDArray[np.uint8]:
    """Per cell, the Chebyshev distance (in cells) to the nearest marked cell, at most ``cap``
    (``cap`` also for none within it; ``cap`` < 255). Cells past the edge count as unmarked."""
    height, width = marked.shape
    across = np.empty((height, width), np.uint8)
    for r in range(height):
        d = cap
        for c in range(width):
            d = 0 if marked[r, c] else min(d + 1, cap)
            across[r, c] = d
        d = cap
        for c in range(width - 1, -1, -1):
            d = 0 if marked[r, c] else min(d + 1, cap)
            if d < across[r, c]:
                across[r, c] = d
    out = across.copy()
    for r in range(height):
        # Rows within ``cap`` of this one, a whole row at a time (contiguous, vectorised).
        for rr in range(max(r - cap + 1, 0), min(r + cap, height)):
            dr = abs(rr - r)
            if dr == 0:
                continue
            for c in range(width):
                v = across[rr, c]
                e = dr if dr > v else v
                if e < out[r, c]:
                    out[r, c] = e
    return out


@njit(cache=True, nogil=True)
def last_cells(labels: NDArray[np.int32], n: int) -> NDArray[np.int64]:
    """Per label ``1..n`` (index ``label - 1``), the last cell (row-major) that carries it."""
    flat = labels.ravel()
    out = np.zeros(n, np.int64)
    for i in range(flat.size):
        k = flat[i]
        if k > 0:
            out[k - 1] = i
    return out


@njit(cache=True, nogil=True)
def classify(
    dist: NDArray[np.uint8],
    labels: NDArray[np.int32],
    label_value: NDArray[np.int32],
    reach: int,
    near_one: int,
    containment: bool,
    out: NDArray[Any],
) -> None:
    """The grid's values from each cell's distance to a boundary cell and its component's value.

    ``dist`` counts from the cells the boundaries pass through, so the "touched" cells (those
    and their neighbours) are the cells at distance 1 or less, and a cell within ``k`` cells of
    a touched one is within ``k + 1``. ``label_value[label]`` is what covers a component of
    untouched cells: a polygon's index, -1 none, -2 several (label 0, touched: -2).

    The values are written into ``out`` (flat, one per cell; 16 bits hold them for up to
    32,763 polygons).

    Per cell: the component's polygon when it is more than ``near_one`` cells (``reach`` when
    ``near_one`` is not smaller) clear of touched cells; -1 (covered by none) when more than
    ``reach`` clear; else -2, undecided. With ``containment``, an undecided cell at least two
    cells clear of touched ones says what covers it: -3 none, ``-4 - i`` polygon ``i``.
    """
    flat_d = dist.ravel()
    flat_l = labels.ravel()
    for i in range(out.size):
        d = flat_d[i]
        clear = label_value[flat_l[i]]
        v = clear
        if d <= reach + 1 and v == -1:
            v = -2
        if near_one >= reach:
            if d <= reach + 1:
                v = -2
        elif d <= near_one + 1:
            v = -2
        if containment and v == -2 and d > 2 and clear >= -1:
            v = -3 - (clear + 1)
        out[i] = v


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
