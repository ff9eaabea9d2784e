"""The fast assignment paths give exactly what the previous implementation gave.

``tests/assign_reference.py`` is ``geoverify/assign.py`` as it was before the cell grid, the
prepared-polygon queries and the threads (issue 10). Every column is compared on every point:
codes, groups, kinds and neighbour lists as equal values, distances and overlaps bit for bit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import assign_reference as reference
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from geoverify import assign
from geoverify.segments import Rings
from tests.conftest import same_assignments


@pytest.fixture
def grid_always(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Use the cell grid and two threads even for a few thousand points."""
    monkeypatch.setattr(assign, "GRID_MIN_POINTS", 1)
    monkeypatch.setattr(assign, "_THREADS", 2)
    monkeypatch.setattr(assign, "_THREAD_MIN_QUERIES", 100)
    monkeypatch.setattr(assign, "_FAR_PIECE", 97)  # the far points in pieces, in both threads
    yield


def _points(villages: gpd.GeoDataFrame, n: int, seed: int, pad: float) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = villages.total_bounds
    return gpd.GeoDataFrame(
        {"target_id": [f"T{i}" for i in range(n)]},
        geometry=shapely.points(
            rng.uniform(x0 - pad, x1 + pad, n), rng.uniform(y0 - pad, y1 + pad, n)
        ),
        crs=villages.crs,
    )


def _boundary_points(villages: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    """Vertices, edge midpoints and points a few metres off the boundaries: the hard cases."""
    rng = np.random.default_rng(seed)
    xy = shapely.get_coordinates(villages.geometry.boundary.to_numpy())
    mids = (xy[:-1] + xy[1:]) / 2.0
    pick = rng.choice(len(xy) - 1, n)
    jitter = rng.normal(0.0, 3e-4, (n, 2))  # tens of metres in degrees
    parts = [
        xy[pick[: n // 4]],
        mids[pick[n // 4 : n // 2]],
        mids[pick[n // 2 :]] + jitter[n // 2 :],
    ]
    pts = np.concatenate(parts)
    return gpd.GeoDataFrame(
        {"target_id": [f"E{i}" for i in range(len(pts))]},
        geometry=shapely.points(pts),
        crs=villages.crs,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_town_with_groups_matches_the_reference(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], grid_always: None, seed: int
) -> None:
    villages, groups = town
    targets = pd.concat(
        [_points(villages, 4000, seed, pad=0.01), _boundary_points(villages, 1500, seed)],
        ignore_index=True,
    )
    new = assign.assign_targets(targets, villages, groups)
    same_assignments(new, reference.assign_targets(targets, villages, groups))
    # every kind of answer is exercised
    assert set(new["assignment"]) >= {"inside", "near_boundary", "gap_nearest", "outside"}
    assert new["group"].notna().sum() > 1000


def test_multipolygon_villages_as_stored_match_the_reference(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], grid_always: None
) -> None:
    """The store keeps villages and groups as MultiPolygons."""
    villages, groups = town
    villages = villages.assign(geometry=[shapely.MultiPolygon([g]) for g in villages.geometry])
    groups = groups.assign(geometry=[shapely.MultiPolygon([g]) for g in groups.geometry])
    targets = pd.concat(
        [_points(villages, 3000, 4, pad=0.01), _boundary_points(villages, 800, 4)],
        ignore_index=True,
    )
    new = assign.assign_targets(targets, villages, groups)
    same_assignments(new, reference.assign_targets(targets, villages, groups))
    assert (new["assignment"] == "outside").sum() > 500


def test_default_path_matches_the_reference(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    villages, groups = town
    targets = _points(villages, 3000, 7, pad=0.005)
    same_assignments(
        assign.assign_targets(targets, villages, groups),
        reference.assign_targets(targets, villages, groups),
    )


@pytest.mark.parametrize("tolerance_m", [0.0, 5.0, 200.0])
def test_tolerances_match_the_reference(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], grid_always: None, tolerance_m: float
) -> None:
    villages, groups = town
    targets = pd.concat(
        [_points(villages, 2000, 3, pad=0.005), _boundary_points(villages, 600, 3)],
        ignore_index=True,
    )
    new = assign.assign_targets(targets, villages, groups, tolerance_m=tolerance_m)
    same_assignments(
        new, reference.assign_targets(targets, villages, groups, tolerance_m=tolerance_m)
    )


def test_mixed_targets_and_other_crs_match_the_reference(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], grid_always: None
) -> None:
    """Polygons (split, overlapping none), lines, points given in a projected CRS."""
    villages, groups = town
    pts = _points(villages, 1500, 5, pad=0.003).to_crs(4544)
    rng = np.random.default_rng(5)
    centres = shapely.get_coordinates(pts.geometry.to_numpy()[:300])
    sizes = rng.uniform(5.0, 300.0, 300)
    polys = [box(x - s, y - s, x + s, y + s) for (x, y), s in zip(centres, sizes, strict=True)]
    lines = [shapely.LineString([(x, y), (x + 40.0, y + 25.0)]) for x, y in centres[:50]]
    geoms = list(pts.geometry.to_numpy()[300:]) + polys + lines
    targets = gpd.GeoDataFrame({"target_id": range(len(geoms))}, geometry=geoms, crs=4544)
    targets.index = targets.index * 3 + 100  # the result keeps the targets' index
    new = assign.assign_targets(targets, villages, groups)
    same_assignments(new, reference.assign_targets(targets, villages, groups))
    assert "split" in set(new["assignment"])


def test_projected_villages_with_a_gap_match_the_reference(grid_always: None) -> None:
    """Villages stored in a projected CRS; one shrunk, leaving a gap; no groups."""
    cells = [
        box(590_000 + i * 900, 3_300_000 + j * 700, 590_900 + i * 900, 3_300_700 + j * 700)
        for i in range(4)
        for j in range(3)
    ]
    cells[5] = cells[5].buffer(-30.0)
    villages = gpd.GeoDataFrame(
        {"code": [f"V{k:02d}" for k in range(12)]}, geometry=cells, crs=4544
    )
    targets = _points(villages, 5000, 11, pad=300.0)
    new = assign.assign_targets(targets, villages)
    same_assignments(new, reference.assign_targets(targets, villages))
    assert (new["assignment"] == "gap_nearest").sum() > 10


def _brute_force(targets: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, tol: float) -> pd.DataFrame:
    """Village, kind and neighbours of point targets, one point and one village at a time."""
    metric = assign._choose_metric(None, villages.geometry)
    vn = list(villages.geometry)
    vm = list(villages.to_crs(metric).geometry)
    codes = [str(c) for c in villages["code"]]
    rows = []
    for pn, pm in zip(targets.geometry, targets.to_crs(metric).geometry, strict=True):
        covered = [
            c for c, g in zip(codes, vn, strict=True) if g.distance(pn) <= assign.COVER_EPS_DEGREES
        ]
        near = sorted(
            (g.distance(pm), c)
            for c, g in zip(codes, vm, strict=True)
            if c not in covered and g.distance(pm) <= tol
        )
        if covered:
            code = min(covered)
            others = [(0.0, c) for c in sorted(covered) if c != code] + near
            kind = "near_boundary" if others else "inside"
        elif near:
            code = near[0][1]
            others = near[1:]
            kind = "gap_nearest"
        else:
            code, others, kind = None, [], "outside"
        rows.append(
            {"village_code": code, "assignment": kind, "neighbours": tuple(c for _, c in others)}
        )
    return pd.DataFrame(rows, index=targets.index, dtype=object)


def test_matches_a_brute_force_reference(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], grid_always: None
) -> None:
    villages, _ = town
    targets = pd.concat(
        [_points(villages, 700, 21, pad=0.004), _boundary_points(villages, 300, 21)],
        ignore_index=True,
    )
    new = assign.assign_targets(targets, villages)
    brute = _brute_force(targets, villages, 50.0)
    assert new["village_code"].tolist() == brute["village_code"].tolist()
    assert new["assignment"].tolist() == brute["assignment"].tolist()
    assert new["neighbours"].tolist() == brute["neighbours"].tolist()


def test_neighbour_and_split_columns_hold_tuples_and_share_the_empty_one(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], grid_always: None
) -> None:
    """Tuples, immutable: every row without neighbours holds the one empty tuple, so a million
    rows cost no million objects, and no caller can change another row's value through it."""
    villages, _ = town
    targets = pd.concat(
        [_points(villages, 500, 1, pad=0.0), _boundary_points(villages, 200, 1)],
        ignore_index=True,
    )
    res = assign.assign_targets(targets, villages)
    values = res["neighbours"].tolist() + res["split_into"].tolist()
    assert all(type(v) is tuple for v in values)
    empty = [v for v in values if not v]
    assert len(empty) > 500 and all(v is empty[0] for v in empty)
    assert sum(1 for v in res["neighbours"] if v) > 20


def test_crowded_and_far_points_fall_back_to_geos_and_match_the_reference(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    grid_always: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A point near more villages than the segment index keeps, and a point beyond the index's
    grid, are measured by GEOS instead; the answers are the same."""
    from geoverify import segments

    monkeypatch.setattr(segments, "MAX_NEAR", 1)
    villages, groups = town
    targets = pd.concat(
        [
            _points(villages, 1500, 8, pad=0.08),  # up to ~8 km out: beyond the index's grid
            _boundary_points(villages, 800, 8),  # on shared boundaries: two villages or more
        ],
        ignore_index=True,
    )
    new = assign.assign_targets(targets, villages, groups)
    same_assignments(new, reference.assign_targets(targets, villages, groups))
    assert (new["neighbours"].map(len) >= 1).sum() > 100
    assert new["distance_m"].max() > 3_000.0


def test_one_thread_gives_the_same_answers(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], grid_always: None
) -> None:
    villages, groups = town
    targets = pd.concat(
        [_points(villages, 3000, 12, pad=0.01), _boundary_points(villages, 800, 12)],
        ignore_index=True,
    )
    same_assignments(
        assign.assign_targets(targets, villages, groups, threads=1),
        assign.assign_targets(targets, villages, groups),
    )
    with pytest.raises(assign.InputError, match="threads"):
        assign.assign_targets(targets, villages, groups, threads=0)


def test_pieces_run_each_piece_once_in_both_threads() -> None:
    """The other thread starts at once; the caller takes pieces too; ``finish`` returns only
    when every piece has been run to its end."""
    main = threading.get_ident()
    done: list[tuple[int, int, int]] = []
    lock = threading.Lock()
    caller_took_one = threading.Event()

    def run(r: slice) -> None:
        if threading.get_ident() == main:
            caller_took_one.set()
        else:
            # The other thread's first piece holds it until the caller has run one of its own
            # (so both threads take pieces, whatever the machine's load).
            assert caller_took_one.wait(30)
            time.sleep(0.001)
        with lock:
            done.append((r.start, r.stop, threading.get_ident()))

    pieces = assign._Pieces(run, 1000, 2, 37)
    pieces.finish()
    assert sorted((a, b) for a, b, _ in done) == [
        (a, min(a + 37, 1000)) for a in range(0, 1000, 37)
    ]
    assert len({ident for *_, ident in done}) == 2


def test_pieces_with_one_thread_run_at_once() -> None:
    main = threading.get_ident()
    done: list[tuple[int, int]] = []
    assign._Pieces(lambda r: done.append((r.start, threading.get_ident())), 10, 1, 4)
    assert done == [(0, main), (4, main), (8, main)]  # before finish, in the caller's thread


def test_pieces_error_in_the_other_thread_reaches_the_caller() -> None:
    main = threading.get_ident()
    failed = threading.Event()

    def run(r: slice) -> None:
        if threading.get_ident() != main:
            failed.set()
            raise ValueError("piece failed")
        assert failed.wait(30)  # the caller's pieces wait until the other thread has failed

    pieces = assign._Pieces(run, 100, 2, 10)
    with pytest.raises(ValueError, match="piece failed"):
        pieces.finish()


def test_pieces_cancel_leaves_the_rest_and_waits_for_the_piece_under_way() -> None:
    started, release = threading.Event(), threading.Event()
    done: list[int] = []

    def run(r: slice) -> None:
        started.set()
        assert release.wait(30)
        done.append(r.start)

    pieces = assign._Pieces(run, 100, 2, 10)
    assert started.wait(30)
    threading.Timer(0.05, release.set).start()
    pieces.cancel()
    assert done == [0]  # the piece under way ended before cancel returned; no other began


@pytest.mark.parametrize("per_cell", [1, 10**9], ids=["candidates per bucket", "ring search"])
def test_nearest_segment_distance_is_geos_distance_to_the_rings(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    monkeypatch: pytest.MonkeyPatch,
    per_cell: int,
) -> None:
    """Both ways of finding the nearest segment (each occupied bucket's candidates found once,
    or a ring search from every point) give GEOS's distance to the rings, to the bit: for
    points crowding a few buckets, scattered far out, on vertices and on edge midpoints."""
    from geoverify import segments

    monkeypatch.setattr(segments, "_POINTS_PER_CANDIDATE_CELL", per_cell)
    villages, _ = town
    metric = villages.to_crs(3857).geometry.to_numpy()
    index = segments.SegmentIndex.build(metric, 0.0, tolerance=50.0, margin=2_000.0)
    assert index is not None
    rng = np.random.default_rng(4)
    x0, y0, x1, y1 = shapely.total_bounds(metric)
    rings = shapely.get_coordinates(shapely.boundary(metric))
    pick = rng.choice(len(rings) - 1, 300)
    xy = np.concatenate(
        [
            rng.uniform([x0, y0], [x0 + 400.0, y0 + 400.0], (3000, 2)),  # a few buckets
            rng.uniform([x0 - 1_900, y0 - 1_900], [x1 + 1_900, y1 + 1_900], (3000, 2)),
            rings[pick],
            (rings[pick] + rings[pick + 1]) / 2.0,
            [[x1 + 5_000.0, y1 + 5_000.0], [np.nan, 0.0]],  # off the grid: NaN
        ]
    )
    got = index.nearest(xy[:, 0], xy[:, 1], threads=2)
    expected = shapely.distance(
        shapely.points(xy[:-2])[:, None], shapely.boundary(metric)[None, :]
    ).min(axis=1)
    np.testing.assert_array_equal(got[:-2], expected)
    assert np.isnan(got[-2:]).all()


def test_pick_per_query_matches_the_sorting_reference() -> None:
    """The compiled choice of one pair per query (smallest primary, ties within a tolerance by
    smallest secondary, then the first pair; NaN leaves the query without one) is the previous
    sort-based choice, on random pairs full of ties."""
    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(1, 40))
        m = int(rng.integers(0, 250))
        qi = rng.integers(0, n, m).astype(np.intp)
        primary = rng.integers(0, 5, m) * rng.choice([1.0, 1e-7], m)
        if trial % 5 == 0 and m:
            primary[rng.integers(0, m)] = np.nan
        secondary = rng.integers(0, 4, m).astype(np.intp)
        tie = float(rng.choice([0.0, 1e-6, 1.5]))
        with np.errstate(invalid="ignore"):
            expected = reference._pick(n, qi, primary, secondary, tie)
        np.testing.assert_array_equal(assign._pick(n, qi, primary, secondary, tie), expected)


def _bend_by_geopandas(native: np.ndarray, native_crs: object, metric_crs: object) -> float:
    """The bend as first defined: metric polygons from ``to_crs``, edge midpoints projected
    one edge at a time from the native rings."""
    import pyproj

    metric = gpd.GeoSeries(native, crs=native_crs).to_crs(metric_crs).to_numpy()
    rings = shapely.get_rings(shapely.get_parts(native))
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    start = np.flatnonzero(ring_of[1:] == ring_of[:-1])
    mxy = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(metric)))
    mid = (xy[start] + xy[start + 1]) / 2.0
    tr = pyproj.Transformer.from_crs(native_crs, metric_crs, always_xy=True)
    px, py = tr.transform(mid[:, 0], mid[:, 1])
    chord = (mxy[start] + mxy[start + 1]) / 2.0
    return 4.0 * float(np.nanmax(np.hypot(px - chord[:, 0], py - chord[:, 1]))) + 0.01


@pytest.mark.parametrize(
    ("crs", "metric", "lon0", "lat0"),
    [
        (4490, 4544, 106.4, 29.6),  # the town's CGCS2000 Gauss-Kruger zone, off its meridian
        (4490, 4544, 103.6, 45.0),  # at the zone's edge, further north
        (4326, 32648, 101.0, 22.0),  # WGS 84 to UTM
        (4326, 3857, 120.0, 60.0),  # Web Mercator, far north
    ],
)
def test_curvature_bounds_every_edge_s_bend(
    crs: int, metric: int, lon0: float, lat0: float
) -> None:
    """No edge of any length or direction strays from its chord by more than the curvature
    bound says, so the edges :func:`assign._bend` leaves unmeasured stray less than a
    millimetre."""
    import pyproj

    rng = np.random.default_rng(crs + metric)
    native_crs, metric_crs = pyproj.CRS(crs), pyproj.CRS(metric)
    a = np.column_stack([lon0 + rng.random(5000) * 0.4, lat0 + rng.random(5000) * 0.3])
    step = rng.normal(size=(5000, 2)) * np.exp(rng.uniform(-9, -3, (5000, 1)))
    b = a + step
    curvature = assign._curvature(np.vstack([a, b]), native_crs, metric_crs)
    tr = pyproj.Transformer.from_crs(native_crs, metric_crs, always_xy=True)
    pa, pb, pm = (np.column_stack(tr.transform(p[:, 0], p[:, 1])) for p in (a, b, (a + b) / 2))
    stray = np.hypot(*(pm - (pa + pb) / 2).T)
    length2 = (step**2).sum(axis=1)
    # Rounding of metre coordinates near 1e7 m (about 2e-9 m) is no bend.
    assert (stray <= curvature * length2 / 8 + 1e-8).all()
    assert (stray > 1e-3).any()  # the longest edges do stray: the bound is put to the test
    assert curvature < 100 * np.max(8 * stray / length2)  # and it is not absurdly loose


@pytest.mark.parametrize(
    ("boxes", "metric"),
    [
        # PROJ switches between several WGS 84 -> British National Grid operations (a jump
        # near 1.92°E, between the lattice points over these villages).
        (
            [
                (-0.65, 55.31, -0.64, 55.32, 1e-3),
                (2.83, 56.55, 2.84, 56.56, 1e-3),
                (1.9180, 55.368, 1.9220, 55.371, 0.0004),
            ],
            "EPSG:27700",
        ),
        # Robinson is interpolated from a table (a jump at 55°N).
        ([(-160.90, 54.998, -160.89, 55.002, 0.00002)], "ESRI:54030"),
    ],
)
def test_a_projection_that_is_not_smooth_has_every_edge_measured(
    boxes: list[tuple[float, ...]], metric: str
) -> None:
    """Where the projection jumps between lattice points, no curvature bound holds: the bend
    is measured on every edge (a short edge across the jump strays metres)."""
    import pyproj

    from geoverify.segments import Rings

    villages = np.asarray(
        [shapely.segmentize(shapely.box(*b[:4]), b[4]) for b in boxes], dtype=object
    )
    native_crs, metric_crs = pyproj.CRS(4326), pyproj.CRS(metric)
    assert not assign._smooth_projection(native_crs, metric_crs)
    assert assign._smooth_projection(native_crs, pyproj.CRS(32648))
    rings = Rings.of(villages)
    metric_rings = rings.moved(assign._project(rings.xy, native_crs, metric_crs))
    bend = assign._bend(rings, metric_rings, native_crs, metric_crs)
    assert bend == _bend_by_geopandas(villages, native_crs, metric_crs) > 1.0


@pytest.mark.parametrize("case", ["town", "repaired", "3d"])
def test_layer_projects_as_to_crs_does(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The metric polygons (vertices projected in threads) are ``to_crs``'s to the bit, and the
    bend is the one measured edge by edge; also after a repair and for 3D polygons."""
    import pyproj

    monkeypatch.setattr(assign, "_PROJECT_THREADS_FROM", 10)  # two threads even here
    monkeypatch.setattr(assign, "_BEND_CHUNK", 37)  # the midpoints in many chunks
    villages, _ = town
    geoms = villages.geometry.to_numpy().copy()
    if case == "repaired":
        x0, y0, _, _ = villages.total_bounds
        bowtie = shapely.Polygon(
            [(x0, y0), (x0 + 0.01, y0 + 0.01), (x0 + 0.01, y0), (x0, y0 + 0.01)]
        )
        geoms = np.append(geoms, bowtie)
    if case == "3d":
        geoms = shapely.force_3d(geoms, 12.0)
    native = pyproj.CRS(villages.crs)
    metric = assign._choose_metric(None, villages.geometry)
    layer = assign._Layer.build(gpd.GeoSeries(geoms, crs=villages.crs), native, metric)
    expected = gpd.GeoSeries(layer.native, crs=native).to_crs(metric).to_numpy()
    ids = np.array([len(expected) - 1, 0, 3, 0, len(expected) - 1])  # repeats, any order
    few = layer.metric_of(ids)  # made alone, before the layer makes them all
    assert shapely.equals_exact(few, expected[ids], tolerance=0.0).all()
    assert shapely.equals_exact(layer.metric, expected, tolerance=0.0).all()
    np.testing.assert_array_equal(
        shapely.get_coordinates(layer.metric), shapely.get_coordinates(expected)
    )
    # Edges too short to stray a millimetre are not measured but count as straying one.
    measured = _bend_by_geopandas(layer.native, native, metric)
    assert measured <= layer.bend <= max(measured, 4.0 * assign._BEND_UNMEASURED_M + 0.01)
    monkeypatch.setattr(assign, "_BEND_UNMEASURED_M", 0.0)  # every edge measured
    again = assign._Layer.build(gpd.GeoSeries(geoms, crs=villages.crs), native, metric)
    assert again.bend == measured
    if case == "repaired":
        assert shapely.is_valid(layer.native).all() and not shapely.is_valid(geoms[-1])


def test_points_near_a_wide_bend_are_settled_by_geos_and_match_the_reference(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
    grid_always: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A point within the projection's bend of a village (or a group of its village) it is not
    covered by is left to GEOS by the compiled passes; with a bend of 20 m thousands are, and
    the answers stay the same."""
    from geoverify import segments

    monkeypatch.setattr(assign, "_bend", lambda *args, **kwargs: 20.0)
    left: list[int] = []
    settle = segments.settle_points

    def counting(*args: object, **kwargs: object) -> object:
        found = settle(*args, **kwargs)  # type: ignore[arg-type]
        kind = args[-2]
        assert isinstance(kind, np.ndarray)
        left.append(int((kind[args[-4]] == segments.UNSETTLED).sum()))  # type: ignore[index]
        return found

    monkeypatch.setattr(segments, "settle_points", counting)
    groups_left: list[int] = []
    settle_groups = segments.settle_groups

    def counting_groups(*args: object, **kwargs: object) -> None:
        settle_groups(*args, **kwargs)  # type: ignore[arg-type]
        out, rows = args[-1], args[-2]
        assert isinstance(out, np.ndarray)
        groups_left.append(int((out[rows] == segments.GROUP_UNSETTLED).sum()))  # type: ignore[index]

    monkeypatch.setattr(segments, "settle_groups", counting_groups)
    villages, groups = town
    targets = pd.concat(
        [_points(villages, 3000, 21, pad=0.01), _boundary_points(villages, 1500, 21)],
        ignore_index=True,
    )
    same_assignments(
        assign.assign_targets(targets, villages, groups),
        reference.assign_targets(targets, villages, groups),
    )
    assert sum(left) > 300
    assert sum(groups_left) > 100  # the groups' compiled pass leaves them to GEOS too


def _rings_one_by_one(polygons: list[shapely.Geometry]) -> tuple[np.ndarray, list[int], list[int]]:
    """Vertices, edge owners and polygon starts, ring by ring in plain Python."""
    xy: list[tuple[float, float]] = []
    owner: list[int] = []
    starts = []
    for i, polygon in enumerate(polygons):
        starts.append(len(xy))
        for part in getattr(polygon, "geoms", [polygon]):
            if part.is_empty or not isinstance(part, shapely.Polygon):
                continue
            for ring in [part.exterior, *part.interiors]:
                coords = [(c[0], c[1]) for c in ring.coords]
                if owner or xy:
                    owner.append(-1)  # from the last ring's last vertex to this ring
                owner.extend([i] * (len(coords) - 1))
                xy.extend(coords)
    starts.append(len(xy))
    return np.array(xy, dtype=np.float64).reshape(-1, 2), owner, starts


@pytest.mark.parametrize(
    "case", ["town", "groups", "holes-and-parts", "empties", "3d", "collection"]
)
def test_rings_are_read_in_order_with_their_owners(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], case: str
) -> None:
    """``Rings.of`` (one pass where shapely can, part by part otherwise) gives every ring's
    vertices in order, the polygon of each edge and -1 between rings, as plain Python does."""
    villages, groups = town
    holed = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2)], [(3, 3), (3.5, 3), (3.5, 3.5)]]
    )
    multi = shapely.MultiPolygon([shapely.Polygon([(5, 5), (6, 5), (6, 6)]), holed])
    polygons = {
        "town": list(villages.geometry),
        "groups": list(groups.geometry),
        "holes-and-parts": [holed, multi, holed, multi],
        "empties": [shapely.Polygon(), holed, shapely.MultiPolygon(), multi, shapely.Polygon()],
        "3d": list(shapely.force_3d(np.array([holed, multi], dtype=object), 7.0)),
        "collection": [
            holed,
            shapely.GeometryCollection([multi, shapely.LineString([(0, 0), (1, 1)])]),
        ],
    }[case]
    rings = Rings.of(np.array(polygons, dtype=object))
    xy, owner, starts = _rings_one_by_one(polygons)
    np.testing.assert_array_equal(rings.xy, xy)
    assert rings.owner.tolist() == owner
    assert rings.starts.tolist() == starts
