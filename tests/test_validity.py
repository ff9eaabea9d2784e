"""The compiled validity pass says "valid" only where GEOS does, and says it of simple rings."""

from __future__ import annotations

import warnings

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geoverify.segments import Rings
from geoverify.validity import certainly_valid


def _check(polygons: list[shapely.Geometry]) -> np.ndarray:
    """The pass on ``polygons``, checked against GEOS: never valid where GEOS says invalid."""
    array = np.array(polygons, dtype=object)
    certain = certainly_valid(Rings.of(array))
    geos = shapely.is_valid(array)
    wrong = np.flatnonzero(certain & ~geos)
    assert not wrong.size, [shapely.to_wkt(array[i]) for i in wrong[:3]]
    return certain


def _star(rng: np.random.Generator, n: int, cx: float = 0.0, cy: float = 0.0) -> shapely.Polygon:
    """A simple ring: vertices at increasing angles and random radii around a centre."""
    angle = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = rng.uniform(0.3, 1.0, n)
    return shapely.Polygon(
        np.column_stack([cx + radius * np.cos(angle), cy + radius * np.sin(angle)])
    )


def test_simple_rings_are_certainly_valid() -> None:
    rng = np.random.default_rng(1)
    stars = [_star(rng, n, 114.0, 30.0) for n in rng.integers(3, 400, 300)]
    stars = [s for s in stars if shapely.get_num_coordinates(s) >= 4]
    certain = _check(stars)
    assert certain.mean() > 0.95  # all but rings with three points on a line (rare)
    # The same as a one-part multipolygon; the two rings of a polygon with a hole, and two
    # parts, are left to GEOS.
    holed = shapely.box(0, 0, 10, 10).difference(shapely.box(2, 2, 4, 4))
    two = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)])
    assert _check([shapely.MultiPolygon([stars[0]]), holed, two]).tolist() == [True, False, False]


def test_invalid_rings_are_left_to_geos() -> None:
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    figure_eight = shapely.Polygon(
        [(0, 0), (1, 1), (2, 0), (2, 2), (1, 1), (0, 2)]
    )  # a vertex twice
    spike = shapely.Polygon([(0, 0), (4, 0), (4, 4), (5, 5), (4, 4), (0, 4)])
    on_edge = shapely.Polygon([(0, 0), (4, 0), (4, 4), (2, 0), (0, 4)])  # a vertex on an edge
    overlap = shapely.Polygon([(0, 0), (4, 0), (4, 1), (1, 1), (1, 0), (0, 0), (0, 3)])
    near = shapely.Polygon([(0, 0), (4, 0), (4, 4), (2, -1e-300), (0, 4)])  # crosses, barely
    repeated = shapely.Polygon([(0, 0), (4, 0), (4, 0), (4, 4), (0, 4)])  # valid, GEOS tells
    collinear = shapely.Polygon([(0, 0), (2, 0), (4, 0), (4, 4), (0, 4)])  # valid, GEOS tells
    empty = shapely.Polygon()
    with warnings.catch_warnings():  # shapely warns of the NaN it makes
        warnings.simplefilter("ignore", RuntimeWarning)
        nan = shapely.Polygon([(0, 0), (4, 0), (float("nan"), 4), (0, 4)])
    polygons = [
        bowtie,
        figure_eight,
        spike,
        on_edge,
        overlap,
        near,
        repeated,
        collinear,
        empty,
        nan,
    ]
    assert not _check(polygons).any()
    # Clear of the edge by as little: certainly valid (the determinants are exact there).
    assert _check([shapely.Polygon([(0, 0), (4, 0), (4, 4), (2, 1e-300), (0, 4)])]).all()
    # A crossing between two edges far apart along a long ring, which a sweep must not miss.
    rng = np.random.default_rng(2)
    long_star = np.asarray(_star(rng, 300).exterior.coords)
    long_star[150] = long_star[0] * -3.0  # reaches across the ring
    assert not _check([shapely.Polygon(long_star)]).any()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=3, max_size=14),
    st.sampled_from([0.0, 1e-15, 1e-9, 0.5]),
    st.integers(0, 2**32 - 1),
)
def test_rings_on_a_small_lattice_agree_with_geos(
    points: list[tuple[int, int]], jitter: float, seed: int
) -> None:
    """Vertices on a 7 × 7 lattice (three on a line, touching and crossing edges are common),
    moved by nothing, by less than the rounding, or by a visible amount."""
    xy = np.asarray(points, dtype=float)
    xy += np.random.default_rng(seed).uniform(-jitter, jitter, xy.shape)
    xy = xy * 0.001 + [114.0, 30.0]  # in degrees, as villages are
    _check([shapely.Polygon(xy)])


def test_the_random_lattice_finds_both_answers() -> None:
    """The lattice rings above include rings the pass calls valid and rings GEOS calls
    invalid (so the test above can fail either way)."""
    rng = np.random.default_rng(4)
    rings = [shapely.Polygon(rng.integers(0, 7, (rng.integers(3, 9), 2)) * 1.0) for _ in range(500)]
    certain = _check(rings)
    assert certain.any() and not shapely.is_valid(np.array(rings, dtype=object)).all()


def test_extreme_and_bunched_rings_are_safe() -> None:
    """Coordinates whose span under- or overflows do not upset the pass (it once wrote past
    its work space on them); a ring whose x values bunch in one bucket (one far vertex) is
    sorted all the same, so a crossing among the bunched edges is not missed; a comb, whose
    every edge meets every other's x-range, is left to GEOS rather than swept pair by pair."""
    tiny = shapely.Polygon([(0, 0), (5e-324, 1), (5e-324, 2), (0, 3)])
    huge = shapely.Polygon([(-1e308, 0), (1e308, 0), (0, 5), (-5, 5)])
    _check([tiny, huge])
    # A band, its top running east and its bottom west, and one vertex far east: every other
    # x falls in the counting sort's first bucket.
    x = np.linspace(0.0, 1.0, 300)
    wave = 0.1 * np.sin(x * 40)
    band = np.r_[np.column_stack([x, 1 + wave]), [[1e6, 0.5]], np.column_stack([x, wave])[::-1]]
    assert _check([shapely.Polygon(band)]).all()
    crossed = band.copy()
    crossed[[100, 450]] = crossed[[450, 100]]  # a vertex of the top and one of the bottom
    assert not shapely.is_valid(shapely.Polygon(crossed))
    assert not _check([shapely.Polygon(crossed)]).any()
    teeth = 2_000
    y = np.arange(2 * teeth + 1) * 0.001
    x = np.tile([0.0, 1.0], teeth + 1)[: y.size]
    comb = shapely.Polygon(np.column_stack([np.r_[x, -1.0, -1.0], np.r_[y, y[-1], 0.0]]))
    assert shapely.is_valid(comb)
    assert not _check([comb]).any()
