"""Compiled kernel of the coverage grid (:func:`geoverify.coverage.coverage`): the cells a
patrol's strip covers.

A patrol sees every cell whose centre lies within the radius of one of its track's segments.
Row by row, each segment's strip (a capsule: two disks and the rectangle between them, convex)
crosses the row of cell centres in one interval; the cells in it are marked. One pass over the
segments and their rows, instead of arrays of every (segment, row) pair.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["mark_strips"]


@njit(cache=True, nogil=True)
def _range(slope: float, offset: float, low: float, high: float) -> tuple[float, float]:
    """The x with ``low <= slope * x + offset <= high``: all x, none or an interval."""
    if slope == 0.0:
        if low <= offset <= high:
            return -np.inf, np.inf
        return np.inf, -np.inf
    a = (low - offset) / slope
    b = (high - offset) / slope
    return min(a, b), max(a, b)


@njit(cache=True, nogil=True)
def mark_strips(
    segs: NDArray[np.float64],
    radius: float,
    top: float,
    left: float,
    cell: float,
    r0: int,
    c0: int,
    mask: NDArray[np.bool_],
) -> None:
    """Mark in ``mask`` (the window of ``h`` x ``w`` cells from row ``r0``, column ``c0`` of
    a grid of ``cell``-sized cells whose top-left corner is ``left``, ``top``) every cell
    whose centre lies within ``radius`` of a segment ``(ax, ay, bx, by)`` of ``segs``."""
    h, w = mask.shape
    r2 = radius * radius
    for k in range(segs.shape[0]):
        ax = segs[k, 0]
        ay = segs[k, 1]
        bx = segs[k, 2]
        by = segs[k, 3]
        # Rows whose centre lies in the strip's vertical extent.
        lo_y = min(ay, by) - radius
        hi_y = max(ay, by) + radius
        first = math.ceil((top - hi_y) / cell - 0.5)
        stop = math.floor((top - lo_y) / cell - 0.5) + 1
        ra = min(max(first - r0, 0), h)
        rb = min(max(stop - r0, 0), h)
        dx = bx - ax
        dy = by - ay
        length = math.hypot(dx, dy)
        ok = length > 0.0
        ux = dx / length if ok else 0.0
        uy = dy / length if ok else 0.0
        for rr in range(ra, rb):
            y = top - (rr + r0 + 0.5) * cell
            lo = np.inf
            hi = -np.inf
            # The two disks.
            d2 = r2 - (y - ay) ** 2
            if d2 >= 0.0:
                half = math.sqrt(d2)
                lo = min(lo, ax - half)
                hi = max(hi, ax + half)
            d2 = r2 - (y - by) ** 2
            if d2 >= 0.0:
                half = math.sqrt(d2)
                lo = min(lo, bx - half)
                hi = max(hi, bx + half)
            # The rectangle: 0 <= along <= length, |across| <= radius.
            if ok:
                along_lo, along_hi = _range(ux, -ax * ux + (y - ay) * uy, 0.0, length)
                across_lo, across_hi = _range(uy, -ax * uy - (y - ay) * ux, -radius, radius)
                a = max(along_lo, across_lo)
                b = min(along_hi, across_hi)
                if a <= b:
                    lo = min(lo, a)
                    hi = max(hi, b)
            if not lo <= hi:
                continue
            ca = min(max(math.ceil((lo - left) / cell - 0.5) - c0, 0), w)
            cb = min(max(math.floor((hi - left) / cell - 0.5) + 1 - c0, 0), w)
            for c in range(ca, cb):
                mask[rr, c] = True
