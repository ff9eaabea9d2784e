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
    "groups_from_cells",
    "lookup",
    "mark_segments",
]

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
def _root(parent: NDArray[np.int32], k: int) -> int:
    while parent[k] != k:
        parent[k] = parent[parent[k]]  # path halving
        k = parent[k]
    return k


@njit(cache=True, nogil=True)
def components(dist: NDArray[np.uint8]) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """The connected components (4-connected, as ``scipy.ndimage.label`` by default) of the
    untouched cells (``dist > 1``), without a label per cell.

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
            if dist[r, c] > 1:
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
def classify(
    dist: NDArray[np.uint8],
    label_value: NDArray[np.int32],
    reach: int,
    near_one: int,
    containment: bool,
    out: NDArray[Any],
) -> None:
    """The grid's values from each cell's distance to a boundary cell and its component's value.

    ``dist`` counts from the cells the boundaries pass through, so the "touched" cells (those
    and their neighbours) are the cells at distance 1 or less, and a cell within ``k`` cells of
    a touched one is within ``k + 1``. ``label_value`` is, per provisional label of
    :func:`components` (the same scan is made again here), what covers its component of
    untouched cells: a polygon's index, -1 none, -2 several. Touched cells are -2.

    The values are written into ``out`` (flat, one per cell; 16 bits hold them for up to
    32,763 polygons).

    Per cell: the component's polygon when it is more than ``near_one`` cells (``reach`` when
    ``near_one`` is not smaller) clear of touched cells; -1 (covered by none) when more than
    ``reach`` clear; else -2, undecided. With ``containment``, an undecided cell at least two
    cells clear of touched ones says what covers it: -3 none, ``-4 - i`` polygon ``i``.
    """
    height, width = dist.shape
    n = 0
    prev = np.full(width, -1, np.int32)
    cur = np.full(width, -1, np.int32)
    for r in range(height):
        left = -1
        for c in range(width):
            d = dist[r, c]
            if d > 1:
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
            if d <= reach + 1 and v == -1:
                v = -2
            if near_one >= reach:
                if d <= reach + 1:
                    v = -2
            elif d <= near_one + 1:
                v = -2
            if containment and v == -2 and d > 2 and clear >= -1:
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
