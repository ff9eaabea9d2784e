"""Tests for geoverify.assign: villages, groups, boundaries, gaps, polygons, repeat sites."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS
from shapely.geometry import GeometryCollection, LineString, Point, Polygon, box

from geoverify.assign import (
    ASSIGN_COLUMNS,
    COVER_EPS_DEGREES,
    COVER_EPS_METRES,
    MIN_SPLIT_AREA_M2,
    MIN_SPLIT_FRACTION,
    assign_targets,
    find_repeat_sites,
)
from geoverify.errors import CRSError, InputError

METRIC = CRS.from_epsg(4544)
X0, Y0 = 590_000.0, 3_300_000.0  # near Tongliang in EPSG:4544
LON0, LAT0 = 106.0, 29.8


@pytest.fixture(scope="module", params=["direct", "cell grid"], autouse=True)
def path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test twice: the small inputs' direct path, and the cell grid with the compiled
    pass per point and two threads that large inputs take (module-scoped, for hypothesis)."""
    from geoverify import assign

    names = ("GRID_MIN_POINTS", "_THREADS", "_THREAD_MIN_QUERIES", "_FAR_PIECE")
    saved = [getattr(assign, name) for name in names]
    if request.param == "cell grid":  # the far points in pieces of 3, in both threads
        for name, value in zip(names, (1, 2, 2, 3), strict=True):
            setattr(assign, name, value)
    try:
        yield request.param
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(assign, name, value)


# --- a random partition of a square into villages ----------------------------------------------


@dataclass
class Partition:
    nx: int
    ny: int
    vertices: np.ndarray  # (nx+1, ny+1, 2)
    codes: list[str]  # code of cell (i, j) at i * ny + j
    gap_cell: int | None
    geoms: list[Polygon]

    def frame(self, crs: CRS | int) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"code": self.codes, "name": [f"{c}村" for c in self.codes], "kind": "村"},
            geometry=self.geoms,
            crs=crs,
        )

    def cell(self, i: int, j: int) -> int:
        return i * self.ny + j


@st.composite
def partitions(
    draw: st.DrawFn, *, origin: tuple[float, float], cell: float, allow_gap: bool = True
) -> Partition:
    """A grid of ``nx`` × ``ny`` quadrilateral villages with jittered shared vertices.

    Optionally one village is shrunk by a few metres, leaving a gap between it and its
    neighbours (or the town edge).
    """
    nx = draw(st.integers(1, 3))
    ny = draw(st.integers(1, 3))
    jit = 0.25 * cell
    v = np.zeros((nx + 1, ny + 1, 2))
    for i in range(nx + 1):
        for j in range(ny + 1):
            dx = draw(st.floats(-jit, jit)) if 0 < i < nx else 0.0
            dy = draw(st.floats(-jit, jit)) if 0 < j < ny else 0.0
            v[i, j] = (origin[0] + i * cell + dx, origin[1] + j * cell + dy)
    codes = draw(st.permutations([f"5001510{k:02d}" for k in range(nx * ny)]))
    geoms = []
    for i in range(nx):
        for j in range(ny):
            ring = [v[i, j], v[i + 1, j], v[i + 1, j + 1], v[i, j + 1]]
            geoms.append(Polygon([tuple(p) for p in ring]))
    gap_cell = None
    if allow_gap and draw(st.booleans()):
        gap_cell = draw(st.integers(0, nx * ny - 1))
        width = draw(st.floats(0.02, 0.1)) * cell
        geoms[gap_cell] = geoms[gap_cell].buffer(-width, join_style="mitre")
    return Partition(nx, ny, v, list(codes), gap_cell, geoms)


# --- brute-force reference, written plainly -----------------------------------------------------


def ref_point(p: Point, villages: list[tuple[str, Polygon]], tol: float) -> dict:
    """Plain loop over villages with shapely ``distance``; same rules as the docstring."""
    eps = COVER_EPS_METRES
    dist = {}
    for code, geom in villages:
        d = geom.distance(p)
        dist[code] = 0.0 if d <= eps else d
    covering = sorted(c for c, d in dist.items() if d == 0.0)
    within = sorted((d, c) for c, d in dist.items() if d <= tol or d == 0.0)
    if covering:
        village = covering[0]
        neighbours = tuple(c for _, c in within if c != village)
        kind = "near_boundary" if neighbours else "inside"
        distance = 0.0
    elif within:
        dmin = within[0][0]
        village = min(c for d, c in within if d <= dmin + 1e-6)
        neighbours = tuple(c for _, c in within if c != village)
        kind = "gap_nearest"
        distance = dist[village]
    else:
        village = None
        neighbours = ()
        kind = "outside"
        distance = min(dist.values()) if dist else math.nan
    return {
        "village_code": village,
        "assignment": kind,
        "neighbours": neighbours,
        "split_into": (),
        "distance_m": distance,
    }


def ref_polygon(poly: Polygon, villages: list[tuple[str, Polygon]], tol: float) -> dict:
    area = {c: g.intersection(poly).area for c, g in villages}
    positive = {c: a for c, a in area.items() if a > 0}
    if not positive:
        return ref_point(poly.point_on_surface(), villages, tol)
    amax = max(positive.values())
    village = min(c for c, a in positive.items() if a >= amax - 1e-6)
    significant = [
        c
        for c, a in positive.items()
        if a > MIN_SPLIT_AREA_M2 and a / poly.area > MIN_SPLIT_FRACTION
    ]
    split_into = tuple(
        sorted((c for c in significant if c != village), key=lambda c: (-area[c], c))
    )
    near = sorted((g.distance(poly), c) for c, g in villages if g.distance(poly) <= tol)
    neighbours = tuple(c for _, c in near if c != village)
    if len(significant) >= 2:
        kind = "split"
    elif neighbours:
        kind = "near_boundary"
    else:
        kind = "inside"
    return {
        "village_code": village,
        "assignment": kind,
        "neighbours": neighbours,
        "split_into": split_into,
        "distance_m": 0.0,
    }


def _targets(geoms: list, crs: CRS | int = METRIC) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"target_id": [f"T{i}" for i in range(len(geoms))]}, geometry=geoms, crs=crs
    )


def _compare(got: pd.DataFrame, expected: list[dict], neighbours_as_set: bool = False) -> None:
    assert list(got.columns) == ASSIGN_COLUMNS
    for k, exp in enumerate(expected):
        row = got.iloc[k]
        where = f"target {k}: got {row.to_dict()}, expected {exp}"
        assert row["village_code"] == exp["village_code"], where
        assert row["assignment"] == exp["assignment"], where
        assert row["neighbours"] == exp["neighbours"], where
        assert row["split_into"] == exp["split_into"], where
        if math.isnan(exp["distance_m"]):
            assert math.isnan(row["distance_m"]), where
        else:
            assert row["distance_m"] == pytest.approx(exp["distance_m"], abs=1e-6), where


CELL = 400.0
coord_x = st.floats(X0 - 120, X0 + 3 * CELL + 120)
coord_y = st.floats(Y0 - 120, Y0 + 3 * CELL + 120)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    part=partitions(origin=(X0, Y0), cell=CELL),
    xy=st.lists(st.tuples(coord_x, coord_y), min_size=1, max_size=25),
    tol=st.floats(0.0, 80.0),
)
def test_points_match_brute_force(part: Partition, xy: list, tol: float) -> None:
    villages = part.frame(METRIC)
    pairs = list(zip(part.codes, part.geoms, strict=True))
    points = [Point(x, y) for x, y in xy]
    got = assign_targets(_targets(points), villages, tolerance_m=tol, metric=METRIC)
    _compare(got, [ref_point(p, pairs, tol) for p in points])
    covered = got["assignment"].isin(["inside", "near_boundary"])
    assert (got.loc[covered, "overlap"] == 1.0).all()
    assert got.loc[~covered, "overlap"].isna().all()


@st.composite
def small_polygons(draw: st.DrawFn) -> Polygon:
    x = draw(coord_x)
    y = draw(coord_y)
    w = draw(st.floats(0.5, 60.0))
    h = draw(st.floats(0.5, 60.0))
    if draw(st.booleans()):
        return box(x, y, x + w, y + h)
    return Polygon([(x, y), (x + w, y), (x + w / 3, y + h)])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    part=partitions(origin=(X0, Y0), cell=CELL),
    polys=st.lists(small_polygons(), min_size=1, max_size=15),
    tol=st.floats(0.0, 80.0),
)
def test_polygons_match_brute_force(part: Partition, polys: list, tol: float) -> None:
    villages = part.frame(METRIC)
    pairs = list(zip(part.codes, part.geoms, strict=True))
    got = assign_targets(_targets(polys), villages, tolerance_m=tol, metric=METRIC)
    _compare(got, [ref_polygon(p, pairs, tol) for p in polys])


# --- points on shared boundaries ----------------------------------------------------------------


def _boundary_points(part: Partition) -> list[tuple[Point, set[int]]]:
    """Interior vertices and edge midpoints with the cells that share them."""
    out: list[tuple[Point, set[int]]] = []
    v = part.vertices
    for i in range(part.nx + 1):
        for j in range(part.ny + 1):
            cells = {
                part.cell(a, b)
                for a in (i - 1, i)
                for b in (j - 1, j)
                if 0 <= a < part.nx and 0 <= b < part.ny
            }
            out.append((Point(*v[i, j]), cells))
            if i < part.nx:  # horizontal edge (i, j) -> (i + 1, j)
                mid = (v[i, j] + v[i + 1, j]) / 2.0
                cells = {part.cell(i, b) for b in (j - 1, j) if 0 <= b < part.ny}
                out.append((Point(*mid), cells))
            if j < part.ny:  # vertical edge (i, j) -> (i, j + 1)
                mid = (v[i, j] + v[i, j + 1]) / 2.0
                cells = {part.cell(a, j) for a in (i - 1, i) if 0 <= a < part.nx}
                out.append((Point(*mid), cells))
    return out


def _check_boundary(part: Partition, crs: CRS | int, metric: CRS | None, seed: int) -> None:
    villages = part.frame(crs)
    bpts = _boundary_points(part)
    targets = _targets([p for p, _ in bpts], crs)
    got = assign_targets(targets, villages, tolerance_m=0.0, metric=metric)
    for k, (_, cells) in enumerate(bpts):
        codes = sorted(part.codes[c] for c in cells)
        row = got.iloc[k]
        assert row["village_code"] == codes[0], (k, row.to_dict(), codes)
        expected_kind = "near_boundary" if len(codes) > 1 else "inside"
        assert row["assignment"] == expected_kind, (k, row.to_dict(), codes)
        assert set(row["neighbours"]) == set(codes[1:]), (k, row.to_dict(), codes)
    # Same answer whatever the order of villages and targets.
    rng = np.random.default_rng(seed)
    v2 = villages.iloc[rng.permutation(len(villages))]
    t2 = targets.iloc[rng.permutation(len(targets))]
    again = assign_targets(t2, v2, tolerance_m=0.0, metric=metric)
    pd.testing.assert_frame_equal(again.loc[got.index], got)


@settings(max_examples=60, deadline=None)
@given(part=partitions(origin=(X0, Y0), cell=CELL, allow_gap=False), seed=st.integers(0, 2**16))
def test_boundary_points_metric(part: Partition, seed: int) -> None:
    _check_boundary(part, METRIC, METRIC, seed)


@settings(max_examples=60, deadline=None)
@given(
    part=partitions(origin=(LON0, LAT0), cell=0.02, allow_gap=False),
    seed=st.integers(0, 2**16),
)
def test_boundary_points_in_epsg4490(part: Partition, seed: int) -> None:
    """Vertices and edge midpoints computed from stored CGCS2000 degrees (cells ≈ 2 km)."""
    _check_boundary(part, 4490, None, seed)


def test_boundary_midpoint_of_long_edge_4490() -> None:
    # A 10 km straight edge bends by about 1 m in EPSG:4544; the midpoint is still on it.
    west = box(105.9, 29.7, 106.0, 29.8)
    east = Polygon([(106.0, 29.7), (106.2, 29.7), (106.2, 29.8), (106.0, 29.8)])
    villages = gpd.GeoDataFrame(
        {"code": ["Z9", "A1"], "name": ["西", "东"]}, geometry=[west, east], crs=4490
    )
    mid = Point(106.0, (29.7 + 29.8) / 2)
    got = assign_targets(_targets([mid], 4490), villages, tolerance_m=0.0)
    assert got.iloc[0]["village_code"] == "A1"
    assert got.iloc[0]["assignment"] == "near_boundary"
    assert got.iloc[0]["neighbours"] == ("Z9",)
    assert COVER_EPS_DEGREES < 1e-8


# --- edge cases ---------------------------------------------------------------------------------


def _two_villages() -> gpd.GeoDataFrame:
    """Two 1 km squares with a 20 m gap between them, in EPSG:4544."""
    a = box(X0, Y0, X0 + 1000, Y0 + 1000)
    b = box(X0 + 1020, Y0, X0 + 2020, Y0 + 1000)
    return gpd.GeoDataFrame(
        {"code": ["V2", "V1"], "name": ["乙村", "甲村"]}, geometry=[a, b], crs=METRIC
    )


def test_gap_between_villages_goes_to_nearest() -> None:
    villages = _two_villages()
    pts = [
        Point(X0 + 1005, Y0 + 500),
        Point(X0 + 1013, Y0 + 500),
        Point(X0 + 1010, Y0 + 500),
        Point(X0 + 1010 - 3e-7, Y0 + 500),  # 0.6 µm nearer V2: still a tie
    ]
    got = assign_targets(_targets(pts), villages, tolerance_m=50, metric=METRIC)
    assert got["assignment"].tolist() == ["gap_nearest"] * 4
    # The middle ones: a tie (within 1 µm) -> the smaller code.
    assert got["village_code"].tolist() == ["V2", "V1", "V1", "V1"]
    assert got["neighbours"].tolist() == [("V1",), ("V2",), ("V2",), ("V2",)]
    assert got["distance_m"].tolist() == pytest.approx([5.0, 7.0, 10.0, 10.0])
    assert got["overlap"].isna().all()


@pytest.mark.parametrize(("offset", "kind"), [(49.0, "gap_nearest"), (51.0, "outside")])
def test_tolerance_edge(offset: float, kind: str) -> None:
    villages = _two_villages()
    got = assign_targets(
        _targets([Point(X0 - offset, Y0 + 500)]), villages, tolerance_m=50, metric=METRIC
    )
    row = got.iloc[0]
    assert row["assignment"] == kind
    assert row["village_code"] == ("V2" if kind == "gap_nearest" else None)
    assert row["distance_m"] == pytest.approx(offset)


def test_inside_and_near_boundary() -> None:
    villages = _two_villages()
    pts = [Point(X0 + 500, Y0 + 500), Point(X0 + 990, Y0 + 500)]
    got = assign_targets(_targets(pts), villages, tolerance_m=50, metric=METRIC)
    assert got["assignment"].tolist() == ["inside", "near_boundary"]
    assert got["neighbours"].tolist() == [(), ("V1",)]
    assert got["village_code"].tolist() == ["V2", "V2"]
    assert got["overlap"].tolist() == [1.0, 1.0]


def test_swapped_coordinates_are_outside() -> None:
    villages = _two_villages().to_crs(4490)
    lon, lat = villages.geometry.iloc[0].representative_point().coords[0]
    targets = _targets([Point(lat, lon), Point(lon, lat)], 4490)
    got = assign_targets(targets, villages)
    assert got["assignment"].tolist() == ["outside", "inside"]
    assert got.iloc[0]["village_code"] is None
    assert got.iloc[1]["village_code"] == "V2"


def test_far_point_distance_reported() -> None:
    villages = _two_villages()
    got = assign_targets(_targets([Point(X0 + 500, Y0 - 3000)]), villages, metric=METRIC)
    assert got.iloc[0]["assignment"] == "outside"
    assert got.iloc[0]["distance_m"] == pytest.approx(3000.0)
    assert got.iloc[0]["neighbours"] == ()


def test_polygon_across_boundary_is_split_largest_wins() -> None:
    a = box(X0, Y0, X0 + 1000, Y0 + 1000)
    b = box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)
    villages = gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["甲", "乙"]}, geometry=[a, b], crs=METRIC
    )
    # 30 m² in A, 70 m² in B
    target = box(X0 + 997, Y0 + 500, X0 + 1007, Y0 + 510)
    sliver = box(X0 + 999.995, Y0 + 100, X0 + 1010, Y0 + 110)  # 0.05 m² in A: not a split
    got = assign_targets(_targets([target, sliver]), villages, tolerance_m=0, metric=METRIC)
    assert got.iloc[0]["village_code"] == "B"
    assert got.iloc[0]["assignment"] == "split"
    assert got.iloc[0]["split_into"] == ("A",)
    assert got.iloc[0]["overlap"] == pytest.approx(0.7)
    assert got.iloc[1]["village_code"] == "B"
    assert got.iloc[1]["assignment"] == "near_boundary"
    assert got.iloc[1]["split_into"] == ()
    assert got.iloc[1]["neighbours"] == ("A",)


def test_polygon_outside_villages_uses_representative_point() -> None:
    villages = _two_villages()
    near = box(X0 + 1004, Y0 + 400, X0 + 1008, Y0 + 404)  # in the 20 m gap, 6 m from V2
    got = assign_targets(_targets([near]), villages, tolerance_m=50, metric=METRIC)
    assert got.iloc[0]["assignment"] == "gap_nearest"
    assert got.iloc[0]["village_code"] == "V2"
    assert got.iloc[0]["distance_m"] == pytest.approx(6.0)
    assert math.isnan(got.iloc[0]["overlap"])


def _groups() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "village_code": ["V2", "V2", "V1"],
            "name": ["一组", "二组", "一组"],
        },
        geometry=[
            box(X0, Y0, X0 + 500, Y0 + 1000),
            box(X0 + 500, Y0, X0 + 900, Y0 + 1000),  # 100 m strip at the east edge has no group
            None,
        ],
        crs=METRIC,
    )


def test_groups_with_and_without_polygons() -> None:
    villages = _two_villages()
    pts = [
        Point(X0 + 100, Y0 + 100),  # 一组
        Point(X0 + 500, Y0 + 100),  # on the line between 一组 and 二组 -> name order
        Point(X0 + 930, Y0 + 100),  # in V2 but no group polygon; 二组 30 m away
        Point(X0 + 990, Y0 + 100),  # in V2, 90 m from 二组 -> None
        Point(X0 + 1500, Y0 + 100),  # V1 whose group has no polygon
        box(X0 + 880, Y0 + 200, X0 + 920, Y0 + 210),  # polygon: half in 二组 -> 二组
    ]
    got = assign_targets(_targets(pts), villages, _groups(), tolerance_m=50, metric=METRIC)
    assert got["group"].tolist() == ["一组", "一组", "二组", None, None, "二组"]


def test_group_of_other_village_never_used() -> None:
    villages = _two_villages()
    groups = gpd.GeoDataFrame(
        {"village_code": ["V1"], "name": ["三组"]},
        geometry=[box(X0 + 1020, Y0, X0 + 1100, Y0 + 1000)],
        crs=METRIC,
    )
    got = assign_targets(_targets([Point(X0 + 990, Y0 + 5)]), villages, groups, metric=METRIC)
    assert got.iloc[0]["village_code"] == "V2"
    assert got.iloc[0]["group"] is None
    # A group drawn inside another village (inconsistent data) covers the point, far from
    # every boundary (on the cell grid, its cell names that group): still not used.
    stray = gpd.GeoDataFrame(
        {"village_code": ["V1"], "name": ["飞地组"]},
        geometry=[box(X0 + 100, Y0 + 100, X0 + 400, Y0 + 400)],
        crs=METRIC,
    )
    got = assign_targets(_targets([Point(X0 + 250, Y0 + 250)]), villages, stray, metric=METRIC)
    assert got.iloc[0]["village_code"] == "V2"
    assert got.iloc[0]["assignment"] == "inside"
    assert got.iloc[0]["group"] is None


def test_empty_targets_and_empty_villages() -> None:
    villages = _two_villages()
    empty = _targets([])
    got = assign_targets(empty, villages, metric=METRIC)
    assert list(got.columns) == ASSIGN_COLUMNS
    assert len(got) == 0
    none = villages.iloc[0:0]
    got = assign_targets(_targets([Point(X0, Y0)]), none, _groups())
    assert got.iloc[0]["assignment"] == "outside"
    assert got.iloc[0]["village_code"] is None
    assert math.isnan(got.iloc[0]["distance_m"])


def test_villages_in_4490_targets_in_metric_index_kept() -> None:
    villages = _two_villages().to_crs(4490)
    targets = _targets([Point(X0 + 500, Y0 + 500), Point(X0 + 1500, Y0 + 500)])
    targets.index = pd.Index([17, 3])
    got = assign_targets(targets, villages)
    assert got.index.tolist() == [17, 3]
    assert got["village_code"].tolist() == ["V2", "V1"]


def test_bad_inputs_raise() -> None:
    villages = _two_villages()
    with pytest.raises(CRSError):
        assign_targets(gpd.GeoDataFrame(geometry=[Point(0, 0)]), villages)
    dup = villages.assign(code=["X", "X"])
    with pytest.raises(InputError, match="duplicate"):
        assign_targets(_targets([Point(X0, Y0)]), dup)
    with pytest.raises(InputError, match="without geometry"):
        assign_targets(_targets([Point(X0, Y0), None]), villages)
    # An empty point among points, and among other geometries: named by its label.
    with pytest.raises(InputError, match=r"without geometry\): \[1\]"):
        assign_targets(_targets([Point(X0, Y0), Point()]), villages)
    with pytest.raises(InputError, match=r"without geometry\): \[0\]"):
        assign_targets(
            _targets([Point(), Polygon([(X0, Y0), (X0 + 1, Y0), (X0, Y0 + 1)])]), villages
        )
    # Points with coordinates that are no numbers: named, on every path.
    for odd in (Point(math.nan, math.nan), Point(math.nan, Y0), Point(X0, math.inf)):
        with pytest.raises(InputError, match=r"not finite numbers\): \[1\]"):
            assign_targets(_targets([Point(X0, Y0), odd]), villages)
    with pytest.raises(InputError):
        assign_targets(_targets([Point(X0, Y0)]), villages, tolerance_m=-1)


def test_corners_on_the_far_bounds_are_covered() -> None:
    """A square of eight edges: its segment index is a whole number of buckets across, so the
    far corner and edges lie exactly on the index's far bounds; every vertex is covered."""
    ring = [(0, 0), (100, 0), (200, 0), (200, 100), (200, 200), (100, 200), (0, 200), (0, 100)]
    square = Polygon([(X0 + x, Y0 + y) for x, y in ring])
    villages = gpd.GeoDataFrame({"code": ["S"], "name": ["方村"]}, geometry=[square], crs=METRIC)
    pts = [Point(X0 + x, Y0 + y) for x, y in ring] + [Point(X0 + 150, Y0 + 150)]
    got = assign_targets(_targets(pts), villages, tolerance_m=1.0, metric=METRIC)
    assert got["village_code"].tolist() == ["S"] * len(pts)
    assert got["assignment"].tolist() == ["inside"] * len(pts)
    assert got["distance_m"].tolist() == [0.0] * len(pts)


@pytest.mark.parametrize("crowd", [0, 17])
@pytest.mark.parametrize("shape", ["collection", "spike"])
def test_only_the_area_of_a_group_or_village_counts(shape: str, crowd: int) -> None:
    """A group given as a polygon and a line (or as an invalid polygon with a spike, which
    repairs to that): the line covers nothing, on every path, crowded by other villages' groups
    or not; the same for a village."""
    x, y = X0, Y0 + 100
    villages = gpd.GeoDataFrame(
        {"code": ["V1"], "name": ["甲村"]}, geometry=[box(x, y - 100, x + 200, y + 100)], crs=METRIC
    )
    a = GeometryCollection([box(x, y - 100, x + 100, y), LineString([(x + 100, y), (x + 200, y)])])
    if shape == "spike":
        a = Polygon(
            [(x, y - 100), (x + 100, y - 100), (x + 100, y), (x + 200, y), (x + 100, y), (x, y)]
        )
        assert not a.is_valid
    c = box(x + 100, y, x + 200, y + 100)
    geoms, names, codes = [a, c], ["A组", "C组"], ["V1", "V1"]
    for k in range(crowd):  # other villages' groups within the tolerance
        geoms.append(box(x + 150 + 2 * k, y - 60, x + 151 + 2 * k, y - 59))
        names.append(f"Z{k}")
        codes.append("OTHER")
    groups = gpd.GeoDataFrame({"village_code": codes, "name": names}, geometry=geoms, crs=METRIC)
    on_line = _targets([Point(x + 150, y)])
    got = assign_targets(on_line, villages, groups, tolerance_m=100.0, metric=METRIC)
    assert got.iloc[0]["group"] == "C组"  # on C's edge; A's line is no area
    # A village with a line beside it covers the line's points no more than a group does.
    lined = villages.set_geometry(
        [GeometryCollection([villages.geometry.iloc[0], LineString([(x + 200, y), (x + 400, y)])])]
    )
    off = _targets([Point(x + 300, y)])
    got = assign_targets(off, lined, tolerance_m=10.0, metric=METRIC)
    assert got.iloc[0]["assignment"] == "outside"
    assert got.iloc[0]["distance_m"] == 100.0


def test_invalid_village_polygon_is_tolerated() -> None:
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    villages = gpd.GeoDataFrame({"code": ["B"], "name": ["蝴蝶"]}, geometry=[bowtie], crs=METRIC)
    got = assign_targets(
        _targets([Point(X0 + 90, Y0 + 50)]), villages, tolerance_m=0, metric=METRIC
    )
    assert got.iloc[0]["assignment"] == "inside"


# --- repeat sites -------------------------------------------------------------------------------


def test_find_repeat_sites() -> None:
    earlier = _targets(
        [
            Point(X0, Y0),
            Point(X0 + 100, Y0),
            box(X0 + 200, Y0, X0 + 210, Y0 + 10),
            Point(X0 + 5, Y0),
        ]
    )
    earlier.index = pd.Index(["e0", "e1", "e2", "e3"])
    new = _targets(
        [
            Point(X0 + 2, Y0),  # e0 at 2 m (e3 at 3 m)
            Point(X0 + 129, Y0),  # e1 at 29 m
            Point(X0 + 131, Y0),  # nothing within 30 m
            Point(X0 + 205, Y0 + 5),  # inside e2's polygon -> 0 m
            Point(X0 + 2.5, Y0),  # tie e0/e3 -> the first in `earlier`
        ]
    )
    got = find_repeat_sites(new, earlier, radius_m=30, metric=METRIC)
    assert got["repeat_of"].tolist() == ["e0", "e1", None, "e2", "e0"]
    assert got["distance_m"].iloc[[0, 1, 3, 4]].tolist() == pytest.approx([2, 29, 0, 2.5])
    assert math.isnan(got["distance_m"].iloc[2])


def test_find_repeat_sites_4490_and_empty() -> None:
    earlier = _targets([Point(X0, Y0)]).to_crs(4490)
    new = _targets([Point(X0 + 20, Y0), Point(X0 + 40, Y0)]).to_crs(4490)
    got = find_repeat_sites(new, earlier)
    assert got["repeat_of"].tolist() == [0, None]
    assert got["distance_m"].iloc[0] == pytest.approx(20.0, abs=0.01)
    none = find_repeat_sites(new, earlier.iloc[0:0])
    assert none["repeat_of"].tolist() == [None, None]
    assert len(find_repeat_sites(new.iloc[0:0], earlier)) == 0


@settings(max_examples=50, deadline=None)
@given(
    a=st.lists(st.tuples(coord_x, coord_y), min_size=1, max_size=20),
    b=st.lists(st.tuples(coord_x, coord_y), min_size=1, max_size=20),
    radius=st.floats(0.0, 300.0),
)
def test_find_repeat_sites_brute_force(a: list, b: list, radius: float) -> None:
    new = _targets([Point(*p) for p in a])
    earlier = _targets([Point(*p) for p in b])
    got = find_repeat_sites(new, earlier, radius_m=radius, metric=METRIC)
    for k, p in enumerate(new.geometry):
        d = [p.distance(q) for q in earlier.geometry]
        best = min(range(len(d)), key=lambda i: d[i])
        if d[best] <= radius:
            assert got.iloc[k]["distance_m"] == pytest.approx(d[best])
            assert d[got.iloc[k]["repeat_of"]] == pytest.approx(d[best], abs=1e-6)
        else:
            assert got.iloc[k]["repeat_of"] is None
