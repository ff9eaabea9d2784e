"""The compiled kernels of the assignment's cell grid against scipy's array operations."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from scipy import ndimage

from geoverify import assign, cells
from geoverify.segments import Rings
from tests.conftest import same_assignments


@pytest.mark.parametrize("cap", [2, 4, 13])
def test_chebyshev_distance_is_scipys_chessboard_transform(cap: int) -> None:
    rng = np.random.default_rng(cap)
    marked = (rng.random((157, 211)) < 0.004).astype(np.uint8)
    marked[0, 0] = marked[-1, -1] = 1  # at the edges too
    expected = ndimage.distance_transform_cdt(marked == 0, metric="chessboard")
    got = cells.chebyshev(marked, cap)
    np.testing.assert_array_equal(got, np.minimum(expected, cap))
    assert (got == cap).any() and (got == 0).sum() == marked.sum()


@pytest.mark.parametrize("density", [0.3, 0.45, 0.6])
def test_components_are_scipys_labels(density: float) -> None:
    rng = np.random.default_rng(int(density * 100))
    # Touched cells (distance <= 1) at random, so that components snake, split and merge.
    dist = np.where(rng.random((131, 173)) < density, 0, 5).astype(np.uint8)
    expected, n_expected = ndimage.label(dist > 1)
    rep, comp = cells.components(dist)
    assert rep.size == n_expected > 1
    # Each component's last cell is scipy's, and the provisional labels, which classify
    # gives the cells by the same scan, put the cells in scipy's components.
    flat = expected.ravel()
    last = np.zeros(n_expected + 1, np.int64)
    last[flat] = np.arange(flat.size)
    np.testing.assert_array_equal(np.sort(rep), np.sort(last[1:]))
    label_value = np.asarray(flat[rep], dtype=np.int32)[comp]  # scipy's label, per component
    out = np.empty(dist.size, np.int32)
    cells.classify(dist, label_value, 0, 0, False, out)
    np.testing.assert_array_equal(np.where(flat > 0, out, 0), flat)


def _cell_boxes(grid: assign._CellGrid) -> np.ndarray:
    rows, cols = np.divmod(np.arange(grid.width * grid.height), grid.width)
    return shapely.box(
        grid.left + cols * grid.cell,
        grid.top - (rows + 1) * grid.cell,
        grid.left + (cols + 1) * grid.cell,
        grid.top - rows * grid.cell,
    )


def _touched(grid: assign._CellGrid, polygons: np.ndarray, eps: float) -> np.ndarray:
    """The cells the kernel marks as touched by a boundary, checked against shapely: every
    cell a boundary touches (edges and corners included) or comes within ``eps`` of (the
    covering tolerance), and no cell farther from one than that and the kernel's allowance for
    rounding."""
    touched = (grid._distances(Rings.of(polygons), 1, eps) == 0).ravel()
    boxes = _cell_boxes(grid)
    tree = shapely.STRtree(shapely.boundary(polygons))
    exact = np.zeros(boxes.size, bool)
    exact[tree.query(boxes, predicate="dwithin", distance=eps)[0]] = True
    near = np.zeros(boxes.size, bool)
    near[tree.query(boxes, predicate="dwithin", distance=eps + 3e-6 * grid.cell)[0]] = True
    assert exact.any()
    assert not (exact & ~touched).any(), "a cell a boundary touches or nears is not marked"
    assert not (touched & ~near).any(), "a cell no boundary comes near is marked"
    return touched.reshape(grid.height, grid.width)


def _settle_with_filters(
    grid: assign._CellGrid,
    polygons: np.ndarray,
    reach: int,
    near_one: int,
    containment: bool,
    eps: float,
) -> np.ndarray:
    """The grid's values as array operations (the formulation before the kernels): the
    touched cells, components of the rest labelled, and dilations of the touched cells by
    ``reach`` and ``near_one`` squares."""
    touched = _touched(grid, polygons, eps)
    components, n_comp = ndimage.label(~touched)
    flat = components.ravel()
    where = np.flatnonzero(flat)
    rep = np.zeros(n_comp + 1, dtype=np.intp)
    rep[flat[where]] = where
    rows, cols = np.divmod(rep[1:], grid.width)
    centres = shapely.points(
        grid.left + (cols + 0.5) * grid.cell, grid.top - (rows + 0.5) * grid.cell
    )
    ci, pi = shapely.STRtree(polygons).query(centres, predicate="intersects")
    count = np.bincount(ci, minlength=n_comp)
    owner = np.full(n_comp, -1, dtype=np.int32)
    owner[ci] = pi
    comp_value = np.full(n_comp + 1, -2, dtype=np.int32)
    comp_value[1:] = np.where(count == 1, owner, np.where(count == 0, -1, -2))
    value = comp_value[components]
    clear = value.copy()
    u8 = touched.view(np.uint8)
    near_all = ndimage.maximum_filter(u8, size=2 * reach + 1).view(bool)
    value[near_all & (value == -1)] = -2
    if near_one >= reach:
        value[near_all] = -2
    else:
        value[ndimage.maximum_filter(u8, size=2 * near_one + 1).view(bool)] = -2
    if containment:
        band = (value == -2) & ~touched & (clear >= -1)
        value[band] = -3 - (clear[band] + 1)
    return value.ravel()


@pytest.mark.parametrize(("max_cells", "int16_polygons"), [(300_000, 32_763), (150_000, 10)])
def test_cell_grid_of_the_town_is_the_array_formulation(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    max_cells: int,
    int16_polygons: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Village and group grids of the sample town, cell for cell, at two cell sizes; in 16
    bits, and in 32 bits as for a layer of more polygons than 16 bits can name."""
    monkeypatch.setattr(assign, "_GRID_INT16_POLYGONS", int16_polygons)
    villages, groups = town
    native = pyproj.CRS(villages.crs)
    metric = assign._choose_metric(None, villages.geometry)
    assert metric is not None
    layer = assign._Layer.build(villages.geometry, native, metric)
    gl = assign._Groups.build(groups, native, metric)
    assert gl is not None
    grid = assign._CellGrid.build(layer, gl, 50.0, native, metric, max_cells)
    assert grid is not None and grid.group is not None
    reach = grid.reach
    # More than 50 m (and the bend) in whole cells, no more than one cell beyond that.
    scale = assign._min_scale(
        np.asarray(shapely.total_bounds(np.concatenate([layer.native, gl.layer.native]))),
        native,
        metric,
    )
    need = (50.0 + max(layer.bend, gl.layer.bend)) / scale
    assert (reach - 1) * grid.cell <= need < reach * grid.cell
    village = _settle_with_filters(grid, layer.native, reach, reach, True, layer.eps)
    group = _settle_with_filters(grid, gl.layer.native, reach, 1, False, gl.layer.eps)
    np.testing.assert_array_equal(grid.village, village)
    np.testing.assert_array_equal(grid.group, group)
    # 13 villages fit in 16 bits; 52 groups do only when the limit allows.
    assert grid.village.dtype == (np.int16 if int16_polygons >= 13 else np.int32)
    assert grid.group.dtype == (np.int16 if int16_polygons >= 52 else np.int32)
    # Every kind of value occurs: settled, outside, undecided, and known covering.
    assert {-1, -2, -3}.issubset(set(np.unique(grid.village)))
    assert (grid.village >= 0).any() and (grid.village <= -4).any()


@pytest.mark.parametrize("max_cells", [8_000, 100_000])
def test_settled_cells_keep_their_promise(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], max_cells: int
) -> None:
    """What each settled cell of the village grid claims holds for the whole cell, measured
    with shapely in metres: a cell settled as one village's lies in it and more than the
    tolerance from every village boundary, a cell settled as no village's more than the
    tolerance from every village; a cell that says what covers it is covered by that alone.
    At cells coarser than the tolerance (one whole cell of clearance) and finer ones."""
    villages, _groups = town
    native = pyproj.CRS(villages.crs)
    metric = assign._choose_metric(None, villages.geometry)
    assert metric is not None
    layer = assign._Layer.build(villages.geometry, native, metric)
    grid = assign._CellGrid.build(layer, None, 50.0, native, metric, max_cells)
    assert grid is not None
    value = grid.village.astype(np.int64)
    boxes = _cell_boxes(grid)
    metric_boxes = (
        gpd.GeoSeries(shapely.segmentize(boxes, grid.cell / 8), crs=native).to_crs(metric).values
    )
    metric_lines = shapely.boundary(layer.metric)
    settled = np.flatnonzero(value >= -1)
    near = shapely.STRtree(metric_lines).query(
        metric_boxes[settled], predicate="dwithin", distance=50.0
    )[0]
    assert near.size == 0, f"{near.size} settled cells within 50 m of a boundary"
    inside = np.flatnonzero(value >= 0)
    assert shapely.covers(layer.native[value[inside]], boxes[inside]).all()
    far = np.flatnonzero(value == -1)
    assert not shapely.STRtree(layer.native).query(boxes[far], predicate="intersects")[0].size
    known = np.flatnonzero(value <= -3)
    assert known.size
    # No boundary within the covering tolerance of a cell that knows what covers it.
    lines = shapely.boundary(layer.native)
    close = shapely.STRtree(lines).query(boxes[known], predicate="dwithin", distance=layer.eps)
    assert close[0].size == 0, f"{close[0].size} knowing cells within the covering tolerance"
    owner = np.where(value[known] == -3, -1, -4 - value[known])
    ci, pi = shapely.STRtree(layer.native).query(boxes[known], predicate="intersects")
    covering = np.full(known.size, -1)
    covering[ci] = pi
    assert (np.bincount(ci, minlength=known.size) <= 1).all()
    np.testing.assert_array_equal(covering, owner)
    assert shapely.covers(layer.native[owner[owner >= 0]], boxes[known[owner >= 0]]).all()
    # And the grid settles what it can: an undecided cell lies within the tolerance, the
    # bend and two cells of a boundary.
    undecided = np.flatnonzero(value == -2)
    scale_max = 111_500.0  # metres per degree, at most
    reach_m = 50.0 + layer.bend + 2 * grid.cell * scale_max
    close = shapely.STRtree(metric_lines).query(
        metric_boxes[undecided], predicate="dwithin", distance=reach_m
    )[0]
    assert np.unique(close).size == undecided.size
    if max_cells == 8_000:
        assert grid.reach == 1


def test_covering_is_shapelys_for_points_off_the_boundaries() -> None:
    """The even–odd count over a polygon's rings agrees with GEOS for polygons with holes
    and multipolygons, for points not on a boundary."""
    rng = np.random.default_rng(7)
    outer = shapely.Point(0, 0).buffer(10, quad_segs=16)
    holed = outer.difference(shapely.Point(2, 1).buffer(3)).difference(shapely.box(-8, -2, -5, 2))
    parts = shapely.MultiPolygon(
        [shapely.box(12, 0, 20, 5), shapely.box(14, -9, 19, -4).exterior.buffer(0.8)]
    )
    assert holed.is_valid and parts.is_valid
    overlapping = shapely.box(-3, -12, 18, 2)  # covers parts of both: counted twice there
    polygons = np.array([holed, parts, overlapping], dtype=object)
    x = rng.uniform(-12, 22, 4_000)
    y = rng.uniform(-13, 12, 4_000)
    points = shapely.points(x, y)
    boundary = shapely.boundary(polygons)
    off = ~np.any([shapely.dwithin(b, points, 1e-6) for b in boundary], axis=0)
    x, y, points = x[off], y[off], points[off]
    qi, pi = shapely.STRtree(polygons).query(points)
    rings = Rings.of(polygons)
    count, found = cells.covering(x, y, qi, pi, rings.xy, rings.owner, rings.starts)
    ei, ep = shapely.STRtree(polygons).query(points, predicate="intersects")
    np.testing.assert_array_equal(count, np.bincount(ei, minlength=x.size))
    assert (count == 2).any() and (count == 0).any() and (count == 1).any()
    once = count == 1
    expected = np.full(x.size, -1)
    expected[ei] = ep
    np.testing.assert_array_equal(found[once], expected[once])


@pytest.mark.parametrize("every", [True, False])
def test_settling_looked_up_points_is_the_array_operations(every: bool) -> None:
    """What the grid's values settle, and the rest sorted, as numpy's operations give them."""
    rng = np.random.default_rng(7 + every)
    n, top, cell, height = 5_000, 29.9, 0.001, 60
    y = rng.uniform(top - cell * (height + 5), top + cell * 5, n)  # some off the grid
    rows = np.arange(n) if every else np.sort(rng.choice(n, n // 2, replace=False))
    cell_village = rng.integers(-6, 4, rows.size).astype(np.int32)

    def fresh() -> tuple[np.ndarray, ...]:
        return (np.full(n, -1, np.int32), np.zeros(n, np.int8), np.full(n, np.nan),
                np.full(n, np.nan))  # fmt: skip

    village, kind, overlap, distance = fresh()
    far, exact, known, cover = cells.settle_looked_up(
        cell_village, rows, y, top, cell, height, village, kind, overlap, distance, 1
    )
    # numpy's operations, one after another
    e_village, e_kind, e_overlap, e_distance = fresh()
    inside = cell_village >= 0
    e_village[rows[inside]] = cell_village[inside]
    e_kind[rows[inside]] = 1
    e_overlap[rows[inside]] = 1.0
    e_distance[rows[inside]] = 0.0
    e_far = rows[cell_village == -1]
    grid_row = np.clip(np.floor((top - y[e_far]) / cell), 0, height - 1)
    e_far = e_far[np.argsort(grid_row, kind="stable")]
    band = cell_village <= -3
    for got, expected in (
        (village, e_village), (kind, e_kind), (overlap, e_overlap), (distance, e_distance),
        (far, e_far), (exact, rows[cell_village == -2]), (known, rows[band]),
        (cover, (-4 - cell_village[band]).astype(np.int64)),
    ):  # fmt: skip
        np.testing.assert_array_equal(got, expected)
    assert far.size and exact.size and known.size and (cover == -1).any()


def test_a_boundary_within_the_covering_tolerance_of_a_cell_leaves_it_undecided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A shared village edge a fraction of the covering tolerance (0.1 mm) short of a cell's
    border: the cell beside it does not say what covers its points, and a point in it within
    the tolerance of the edge is covered by both villages (the smaller code's, near the
    boundary), as without the grid."""
    west, east, south, north = 114.0, 114.04, 30.0, 30.02
    eps = assign.COVER_EPS_DEGREES

    def villages(xs: float) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"code": ["A", "B"]},
            geometry=[shapely.box(west, south, xs, north), shapely.box(xs, south, east, north)],
            crs="EPSG:4490",
        )

    rng = np.random.default_rng(3)
    n = assign.GRID_MIN_POINTS + 1
    max_cells = min(assign.MAX_GRID_CELLS, max(2**18, 8 * (n + 1)))
    native = pyproj.CRS("EPSG:4490")
    first = villages(114.02)
    metric = assign._choose_metric(None, first.geometry)
    assert metric is not None

    def grid_of(v: gpd.GeoDataFrame) -> assign._CellGrid:
        layer = assign._Layer.build(v.geometry, native, metric)
        grid = assign._CellGrid.build(layer, None, 50.0, native, metric, max_cells)
        assert grid is not None
        return grid

    grid = grid_of(first)
    col = round((114.02 - grid.left) / grid.cell)
    border = grid.left + col * grid.cell  # the west side of cell column ``col``
    v = villages(border - 0.5 * eps)  # the edge inside the cell west of it
    grid = grid_of(v)  # the same cells: the outer bounds are the same
    assert border == grid.left + col * grid.cell
    x = np.append(rng.uniform(west, east, n), border + 0.25 * eps)
    y = np.append(rng.uniform(south, north, n), 30.01)
    row = math.floor((grid.top - y[-1]) / grid.cell)
    assert math.floor((x[-1] - grid.left) / grid.cell) == col
    # Without the tolerance the cell would be untouched, beside a touched one, and know "B".
    assert 0.5 * eps / grid.cell > 1e-6
    assert grid.village[row * grid.width + col] == -2
    targets = gpd.GeoDataFrame(geometry=shapely.points(x, y), crs="EPSG:4490")
    got = assign.assign_targets(targets, v)
    assert got.iloc[-1]["village_code"] == "A"
    assert got.iloc[-1]["assignment"] == "near_boundary"
    assert got.iloc[-1]["neighbours"] == ("B",)
    monkeypatch.setattr(assign, "GRID_MIN_POINTS", n + 10)  # the same without the grid
    same_assignments(got, assign.assign_targets(targets, v))
