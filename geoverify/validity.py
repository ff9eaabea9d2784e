"""Polygons that are certainly valid, told from their rings by a compiled pass.

GEOS's ``is_valid`` builds a graph of each polygon's edges; on ten thousand village polygons of
a hundred vertices it takes longer than projecting them. Most villages are one simple ring, and
for those a sweep over the ring's edges tells validity at a fraction of the cost: a single
closed ring of at least three distinct points, no two consecutive edges on one line, and no two
other edges meeting, is a valid polygon. Every test is made with the sign of an orientation
determinant taken only when floating point cannot have flipped it (Shewchuk's error bound for
``orient2d``); whatever this pass cannot tell for certain — a polygon with holes or parts, a
repeated vertex, collinear edges, two edges closer than the rounding — is left to GEOS. So the
pass only ever says "valid" where GEOS does.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from geoverify.segments import Rings

__all__ = ["certainly_valid"]

#: Shewchuk's bound on the error of the orientation determinant, relative to the sum of the
#: magnitudes of its two products: ``(3 + 16 ε) ε`` with ε = 2⁻⁵³.
_ORIENT_ERROR = (3.0 + 16.0 * 2.0**-53) * 2.0**-53


@njit(cache=True, nogil=True, inline="always")
def _side(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """The side of line a→b that c lies on: 1 left, -1 right, 0 when rounding could flip it."""
    left = (ax - cx) * (by - cy)
    right = (ay - cy) * (bx - cx)
    det = left - right
    bound = _ORIENT_ERROR * (abs(left) + abs(right))
    if det > bound:
        return 1
    if -det > bound:
        return -1
    return 0


#: Insertion moves per edge after the counting sort, and pairs of edges whose x-ranges meet
#: per edge, past which a ring's edges are bunched: it is sorted by ``np.argsort``, and left
#: to GEOS (whose edge index does not slow down so) respectively. Either keeps the pass linear.
_MOVES_PER_EDGE = 8
_PAIRS_PER_EDGE = 64


@njit(cache=True, nogil=True)
def _bucket(value: float, least: float, scale: float, m: int) -> int:
    """The counting sort's bucket of ``value``: 0 … ``m - 1`` (0 where the arithmetic fails,
    e.g. a span that over- or underflows)."""
    b = (value - least) * scale
    if not (b >= 0.0):  # NaN too
        return 0
    return int(min(b, m - 1.0))


@njit(cache=True, nogil=True)
def _sort_by(
    lo: NDArray[np.float64], m: int, order: NDArray[np.int64], count: NDArray[np.int64]
) -> None:
    """``order[:m]``: the indices of ``lo[:m]`` (finite) in increasing order (ties in any
    order), by a counting sort into ``m`` buckets between the least and the greatest, then an
    insertion sort, which only moves items within a bucket; ``np.argsort`` when that would
    move them more than :data:`_MOVES_PER_EDGE` times each (values bunched in a few buckets).
    ``count`` is work space of ``m + 1``."""
    least = lo[0]
    most = lo[0]
    for k in range(1, m):
        least = min(least, lo[k])
        most = max(most, lo[k])
    span = most - least
    scale = (m - 1) / span if span > 0.0 else 0.0
    if not math.isfinite(scale):
        scale = 0.0
    for b in range(m + 1):
        count[b] = 0
    for k in range(m):
        count[_bucket(lo[k], least, scale, m) + 1] += 1
    for b in range(m):
        count[b + 1] += count[b]
    for k in range(m):
        b = _bucket(lo[k], least, scale, m)
        order[count[b]] = k
        count[b] += 1
    budget = _MOVES_PER_EDGE * m + 64
    for i in range(1, m):
        item = order[i]
        v = lo[item]
        j = i
        while j > 0 and lo[order[j - 1]] > v:
            order[j] = order[j - 1]
            j -= 1
            budget -= 1
        order[j] = item
        if budget < 0:
            order[:m] = np.argsort(lo[:m])
            return


@njit(cache=True, nogil=True)
def _simple_ring(
    xy: NDArray[np.float64],
    s: int,
    e: int,
    lo: NDArray[np.float64],
    order: NDArray[np.int64],
    count: NDArray[np.int64],
) -> bool:
    """True when vertices ``s`` … ``e - 1`` (the last repeating the first) certainly form a
    simple ring: consecutive edges turn (never on one line), other edges never meet. ``lo``,
    ``order`` and ``count`` are work space of at least ``e - s`` items."""
    m = e - s - 1  # edges
    if m < 3:
        return False
    for k in range(s, e):
        if not (math.isfinite(xy[k, 0]) and math.isfinite(xy[k, 1])):
            return False
    if xy[s, 0] != xy[e - 1, 0] or xy[s, 1] != xy[e - 1, 1]:
        return False
    # Consecutive edges turn at their shared vertex (a repeated vertex or a spike does not).
    for k in range(m):
        a = s + (k - 1 if k > 0 else m - 1)
        b = s + k
        c = b + 1
        if _side(xy[a, 0], xy[a, 1], xy[b, 0], xy[b, 1], xy[c, 0], xy[c, 1]) == 0:
            return False
    # Other edges: a sweep in x; two edges whose boxes meet must each lie wholly on one side
    # of the other's line (for one of the two), or the ring is left to GEOS.
    for k in range(m):
        lo[k] = min(xy[s + k, 0], xy[s + k + 1, 0])
    _sort_by(lo, m, order, count)
    budget = _PAIRS_PER_EDGE * m + 4096
    for i in range(m):
        p = order[i]
        ax, ay = xy[s + p, 0], xy[s + p, 1]
        bx, by = xy[s + p + 1, 0], xy[s + p + 1, 1]
        hi_x = max(ax, bx)
        lo_y = min(ay, by)
        hi_y = max(ay, by)
        for j in range(i + 1, m):
            q = order[j]
            if lo[q] > hi_x:
                break
            budget -= 1
            if budget < 0:
                return False  # edges bunched (a comb, a sawtooth): GEOS tells
            gap = abs(p - q)
            if gap == 1 or gap == m - 1:
                continue  # consecutive: they share a vertex (tested above)
            cx, cy = xy[s + q, 0], xy[s + q, 1]
            dx, dy = xy[s + q + 1, 0], xy[s + q + 1, 1]
            if max(cy, dy) < lo_y or min(cy, dy) > hi_y:
                continue
            c_side = _side(ax, ay, bx, by, cx, cy)
            d_side = _side(ax, ay, bx, by, dx, dy)
            if c_side != 0 and c_side == d_side:
                continue  # both ends of q on one side of p's line
            a_side = _side(cx, cy, dx, dy, ax, ay)
            b_side = _side(cx, cy, dx, dy, bx, by)
            if a_side != 0 and a_side == b_side:
                continue
            return False  # they cross, touch, or are too close to tell
    return True


@njit(cache=True, nogil=True)
def _certainly_valid(
    xy: NDArray[np.float64], owner: NDArray[np.int32], starts: NDArray[np.int64]
) -> NDArray[np.bool_]:
    n = starts.size - 1
    out = np.zeros(n, np.bool_)
    longest = 0
    for i in range(n):
        longest = max(longest, starts[i + 1] - starts[i])
    lo = np.empty(longest)
    order = np.empty(longest, np.int64)
    count = np.empty(longest + 1, np.int64)
    for i in range(n):
        s = starts[i]
        e = starts[i + 1]
        if e - s < 4:
            continue
        one_ring = True
        for k in range(s, e - 1):
            if owner[k] != i:
                one_ring = False  # holes or parts: GEOS tells
                break
        if one_ring:
            out[i] = _simple_ring(xy, s, e, lo, order, count)
    return out


def certainly_valid(rings: Rings) -> NDArray[np.bool_]:
    """Per polygon of ``rings``, True when it is certainly valid (a simple ring, as above);
    False when GEOS must tell (it may well be valid)."""
    return _certainly_valid(rings.xy, rings.owner, rings.starts)
