"""The coverage strips' kernel against distances measured by shapely."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geoverify.strips import mark_strips


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_marked_cells_are_the_centres_within_the_radius(seed: int) -> None:
    """Every cell whose centre lies within the radius of a segment is marked, and no other:
    random segments (long, short, horizontal, vertical, of length zero, partly off the
    window) on a window of a larger grid."""
    rng = np.random.default_rng(seed)
    cell, radius = 6.0, 30.0
    left, top = 1_000.0, 5_000.0
    r0, c0, h, w = 7, 11, 90, 120  # the window within the grid
    n = 60
    ax = left + rng.uniform(-100, (c0 + w) * cell + 100, n)
    ay = top - rng.uniform(-100, (r0 + h) * cell + 100, n)
    bx = ax + rng.normal(0, 80, n)
    by = ay + rng.normal(0, 80, n)
    bx[:5] = ax[:5]  # vertical
    by[5:10] = ay[5:10]  # horizontal
    bx[10:13], by[10:13] = ax[10:13], ay[10:13]  # a point
    segs = np.column_stack([ax, ay, bx, by])
    mask = np.zeros((h, w), dtype=bool)
    mark_strips(segs, radius, top, left, cell, r0, c0, mask)

    rows, cols = np.mgrid[0:h, 0:w]
    centres = shapely.points(
        left + (cols.ravel() + c0 + 0.5) * cell, top - (rows.ravel() + r0 + 0.5) * cell
    )
    lines = shapely.linestrings(segs.reshape(-1, 2, 2))
    lines[10:13] = shapely.points(segs[10:13, :2])
    d = shapely.distance(centres[:, None], lines[None, :]).min(axis=1)
    clear = np.abs(d - radius) > 1e-6  # no centre on the edge of a strip
    expected = (d <= radius).reshape(h, w)
    np.testing.assert_array_equal(mask.ravel()[clear], expected.ravel()[clear])
    assert mask.any() and not mask.all()
