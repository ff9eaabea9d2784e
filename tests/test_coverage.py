"""Tests of the pure coverage core against geometry computed by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from pyproj import CRS, Transformer
from shapely.geometry import LineString, box

from geoverify.coverage import coverage, coverage_grid, exact_coverage
from geoverify.landcover import ClassGrid, LandCover, PriorityWeights

M = CRS.from_epsg(4544)
_to_m = Transformer.from_crs(4490, 4544, always_xy=True)
X0, Y0 = (round(v, -3) for v in _to_m.transform(106.03, 29.70))


def villages_frame() -> gpd.GeoDataFrame:
    """Two 2 km × 2 km villages side by side (west A, east B), stored in EPSG:4490."""
    frame = gpd.GeoDataFrame(
        {
            "code": ["500151109001", "500151109002"],
            "name": ["甲村", "乙村"],
            "kind": ["村", "村"],
        },
        geometry=[box(X0, Y0, X0 + 2000, Y0 + 2000), box(X0 + 2000, Y0, X0 + 4000, Y0 + 2000)],
        crs=M,
    )
    return frame.to_crs(4490)


def tracks_frame(lines: list[LineString], patrol_ids: list[object] | None = None):
    data = {} if patrol_ids is None else {"patrol_id": patrol_ids}
    return gpd.GeoDataFrame(data, geometry=lines, crs=M).to_crs(4490)


def row(result, name):
    frame = result.villages
    return frame[frame["village"] == name].iloc[0]


def test_straight_track_covers_strip_plus_caps():
    radius, length = 30.0, 1000.0
    line = LineString([(X0 + 500, Y0 + 1000), (X0 + 500 + length, Y0 + 1000)])
    result = coverage(villages_frame(), tracks_frame([line]), radius_m=radius)
    expected = 2 * radius * length + math.pi * radius**2
    got = row(result, "甲村")["covered_m2"]
    assert abs(got - expected) / expected < 0.02
    assert result.cell_m == pytest.approx(6.0)
    assert result.radius_m == 30.0
    assert row(result, "乙村")["covered_m2"] == 0
    assert result.totals["patrols"] == 1


def test_diagonal_track_also_within_two_percent():
    radius = 25.0
    line = LineString([(X0 + 300, Y0 + 300), (X0 + 1500, Y0 + 1400)])
    result = coverage(villages_frame(), tracks_frame([line]), radius_m=radius)
    expected = 2 * radius * line.length + math.pi * radius**2
    assert abs(row(result, "甲村")["covered_m2"] - expected) / expected < 0.02


def test_overlapping_tracks_not_counted_twice():
    line = LineString([(X0 + 200, Y0 + 1000), (X0 + 1200, Y0 + 1000)])
    shifted = LineString([(X0 + 700, Y0 + 1010), (X0 + 1700, Y0 + 1010)])
    one = coverage(villages_frame(), tracks_frame([line]))
    same_twice = coverage(villages_frame(), tracks_frame([line, line]))
    assert row(same_twice, "甲村")["covered_m2"] == row(one, "甲村")["covered_m2"]
    both = coverage(villages_frame(), tracks_frame([line, shifted]))
    union = line.buffer(30, quad_segs=16).union(shifted.buffer(30, quad_segs=16)).area
    assert abs(row(both, "甲村")["covered_m2"] - union) / union < 0.02
    assert row(both, "甲村")["covered_m2"] < 2 * row(one, "甲村")["covered_m2"] * 0.8


def test_track_outside_every_village_covers_nothing():
    far = LineString([(X0 + 10_000, Y0 + 10_000), (X0 + 11_000, Y0 + 10_000)])
    just_outside = LineString([(X0, Y0 - 500), (X0 + 4000, Y0 - 500)])
    result = coverage(villages_frame(), tracks_frame([far, just_outside]))
    assert result.villages["covered_m2"].tolist() == [0.0, 0.0]
    assert result.totals["covered_pct"] == 0.0
    assert result.villages["patrols"].tolist() == [0, 0]
    assert int(result.effort.max()) == 0


def test_effort_counts_distinct_patrols():
    a = LineString([(X0 + 100, Y0 + 1000), (X0 + 1900, Y0 + 1000)])
    back = LineString([(X0 + 1900, Y0 + 1005), (X0 + 100, Y0 + 1005)])
    cross = LineString([(X0 + 1000, Y0 + 100), (X0 + 1000, Y0 + 1900)])
    # Patrol p1 walks there and back (two rows), p2 crosses once, p3 repeats p2 exactly.
    tracks = tracks_frame([a, back, cross, cross], ["p1", "p1", "p2", "p3"])
    result = coverage(villages_frame(), tracks)
    assert result.effort.dtype == np.uint16
    assert int(result.effort.max()) == 3  # the crossing: p1, p2, p3 — not 4
    # A cell on p1's line away from the crossing: walked twice, one patrol.
    col = int((X0 + 300 - result.transform.c) / result.cell_m)
    r = int((result.transform.f - (Y0 + 1002)) / result.cell_m)
    assert int(result.effort[r, col]) == 1
    assert result.totals["patrols"] == 3
    assert row(result, "甲村")["patrols"] == 3


def test_grid_agrees_with_exact_vector_computation():
    rng = np.random.default_rng(7)
    lines = []
    for _ in range(12):
        pts = np.cumsum(rng.normal(0, 150, size=(8, 2)), axis=0) + np.array([X0 + 2000, Y0 + 1000])
        lines.append(LineString(pts))
    villages = villages_frame()
    tracks = tracks_frame(lines)
    grid = coverage(villages, tracks)
    exact = exact_coverage(villages, tracks, radius_m=30)
    for name in ("甲村", "乙村"):
        g = row(grid, name)["covered_pct"]
        e = exact[exact["village"] == name].iloc[0]["covered_pct"]
        assert e > 1.0
        assert abs(g - e) < 1.0


def test_tracked_and_reported_kept_apart():
    villages = villages_frame()
    groups = gpd.GeoDataFrame(
        {"village_code": ["500151109002", "500151109002"], "name": ["一组", "二组"]},
        geometry=[
            box(X0 + 2000, Y0, X0 + 3000, Y0 + 2000),
            box(X0 + 3000, Y0, X0 + 4000, Y0 + 2000),
        ],
        crs=M,
    ).to_crs(4490)
    line = LineString([(X0 + 500, Y0 + 1000), (X0 + 1500, Y0 + 1000)])
    result = coverage(
        villages,
        tracks_frame([line]),
        reported_groups=[("500151109002", "一组")],
        groups=groups,
    )
    b = row(result, "乙村")
    assert b["covered_m2"] == 0.0  # reported only: never tracked coverage
    assert b["reported_groups"] == ["一组"]
    assert b["reported_pct"] == pytest.approx(50.0, abs=0.01)
    a = row(result, "甲村")
    assert a["reported_groups"] == []
    assert a["covered_m2"] > 0
    doc = result.as_dict()
    assert doc["radius_m"] == 30.0 and doc["cell_m"] == 6.0
    assert {
        "village",
        "area_m2",
        "covered_m2",
        "covered_pct",
        "priority_covered_pct",
        "reported_groups",
        "unsurveyed_areas",
    } <= set(doc["villages"][0])


def test_reported_without_group_polygons_has_names_only():
    result = coverage(
        villages_frame(), tracks_frame([]), reported_groups=[("500151109001", "三组")]
    )
    a = row(result, "甲村")
    assert a["reported_groups"] == ["三组"]
    assert a["reported_m2"] is None
    assert a["covered_m2"] == 0.0


def test_unsurveyed_areas_ranked_and_sized():
    # Cover the western half of village A: its eastern half is one unsurveyed area of ~2 km².
    lines = [LineString([(X0 + x, Y0 - 100), (X0 + x, Y0 + 2100)]) for x in range(0, 1001, 50)]
    result = coverage(villages_frame(), tracks_frame(lines), min_unsurveyed_m2=5000)
    uns = result.unsurveyed
    assert uns.crs.to_epsg() == 4490
    a_areas = uns[uns["village"] == "甲村"]
    assert len(a_areas) == 1
    expected = 2000 * (2000 - 1000 - 30)
    assert a_areas.iloc[0]["area_m2"] == pytest.approx(expected, rel=0.01)
    assert a_areas.to_crs(M).geometry.area.iloc[0] == pytest.approx(expected, rel=0.01)
    # village B is untouched: one area the size of the village, ranked first (larger)
    assert uns.iloc[0]["village"] == "乙村"
    assert uns["rank"].tolist() == list(range(1, len(uns) + 1))
    assert row(result, "甲村")["unsurveyed_areas"] == 1
    assert row(result, "甲村")["covered_pct"] == pytest.approx(51.5, abs=0.5)


def test_small_gaps_below_minimum_are_not_listed():
    # A loop 1000 m x 70 m encloses an uncovered ribbon about 10 m x 940 m (under 1.2 ha).
    lines = [
        LineString(
            [
                (X0 + 500, Y0 + 1000),
                (X0 + 1500, Y0 + 1000),
                (X0 + 1500, Y0 + 1070),
                (X0 + 500, Y0 + 1070),
                (X0 + 500, Y0 + 1000),
            ]
        )
    ]
    result = coverage(villages_frame(), tracks_frame(lines), min_unsurveyed_m2=20_000)
    assert len(result.unsurveyed[result.unsurveyed["village"] == "甲村"]) == 1  # the rest
    result = coverage(villages_frame(), tracks_frame(lines), min_unsurveyed_m2=1000)
    assert len(result.unsurveyed[result.unsurveyed["village"] == "甲村"]) == 2


def test_priority_coverage_with_landcover():
    villages = villages_frame()
    grid = coverage_grid(villages, cell_m=6.0)
    classes = np.full(grid.shape, LandCover.OTHER, dtype=np.uint8)
    # Forest band in the northern 500 m of the grid.
    classes[: int(500 / 6), :] = LandCover.FOREST
    lc = ClassGrid(classes, grid.transform, grid.crs)
    # A track along the forest band.
    top = grid.transform.f
    line = LineString([(X0 + 100, top - 250), (X0 + 1900, top - 250)])
    weights = PriorityWeights(forest=2.0, other=1.0)
    result = coverage(villages, tracks_frame([line]), landcover=lc, weights=weights)
    a = row(result, "甲村")
    assert a["priority_covered_pct"] > a["covered_pct"]
    assert row(result, "乙村")["priority_covered_pct"] == 0.0
    # Unsurveyed areas in the forest score higher than the same area elsewhere.
    assert (
        result.unsurveyed["priority_score"].iloc[0] >= result.unsurveyed["priority_score"].iloc[-1]
    )
    assert result.priority is not None and result.priority.max() == 2.0


def test_landcover_on_another_grid_is_refused():
    villages = villages_frame()
    grid = coverage_grid(villages, cell_m=5.0)
    lc = ClassGrid(np.ones(grid.shape, np.uint8), grid.transform, grid.crs)
    with pytest.raises(ValueError, match="coverage_grid"):
        coverage(villages, tracks_frame([]), landcover=lc)  # default cell 6 m


def test_cell_never_more_than_fifth_of_radius():
    with pytest.raises(ValueError, match="五分之一"):
        coverage(villages_frame(), tracks_frame([]), radius_m=30, cell_m=7)
    result = coverage(villages_frame(), tracks_frame([]), radius_m=30, cell_m=5)
    assert result.cell_m == 5.0
    with pytest.raises(ValueError):
        coverage(villages_frame(), tracks_frame([]), radius_m=0)


def test_grid_is_snapped_and_metric():
    grid = coverage_grid(villages_frame(), cell_m=6.0)
    assert grid.crs.to_epsg() == 4544
    assert grid.transform.c % 6 == pytest.approx(0) or grid.transform.c % 6 == pytest.approx(6)
    assert grid.cell_m == 6.0


SAMPLE = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.skipif(
    not (SAMPLE / "boundaries" / "fuguo_sample.gpkg").exists()
    or not (SAMPLE / "samples" / "patrols_2024-03.gpx").exists(),
    reason="sample data not generated yet",
)
def test_sample_grid_vs_exact_within_one_point():
    from geoverify.readers.gpx import read_gpx

    villages = gpd.read_file(SAMPLE / "boundaries" / "fuguo_sample.gpkg", layer="villages")
    tracks = read_gpx(SAMPLE / "samples" / "patrols_2024-03.gpx").tracks
    assert len(tracks) > 0
    grid = coverage(villages, tracks, radius_m=30)
    exact = exact_coverage(villages, tracks, radius_m=30)
    merged = grid.villages.merge(exact, on="code", suffixes=("_grid", "_exact"))
    assert len(merged) == len(villages)
    assert (merged["covered_pct_exact"] > 0).sum() >= 3
    assert (merged["covered_pct_exact"] == 0).sum() >= 1
    diff = (merged["covered_pct_grid"] - merged["covered_pct_exact"]).abs()
    assert diff.max() < 1.0


@pytest.mark.skipif(
    not (SAMPLE / "samples" / "landcover_sample.tif").exists()
    or not (SAMPLE / "samples" / "patrols_2024-03.csv").exists()
    or not (SAMPLE / "boundaries" / "fuguo_sample.gpkg").exists(),
    reason="sample data not generated yet",
)
def test_sample_end_to_end_with_landcover_and_reported_groups():
    from geoverify.patrols import coverage_inputs
    from geoverify.readers.gpx import read_gpx
    from geoverify.readers.patrols import read_patrol_table
    from geoverify.readers.raster import read_landcover

    gpkg = SAMPLE / "boundaries" / "fuguo_sample.gpkg"
    villages = gpd.read_file(gpkg, layer="villages")
    groups = gpd.read_file(gpkg, layer="groups")
    gpx = read_gpx(SAMPLE / "samples" / "patrols_2024-03.gpx")
    read = read_patrol_table(
        SAMPLE / "samples" / "patrols_2024-03.csv", villages=villages, tracks=gpx.tracks
    )
    tracks, reported = coverage_inputs(read.patrols)
    assert reported  # the sample has rows without a track
    lc = read_landcover(
        SAMPLE / "samples" / "landcover_sample.tif", grid=coverage_grid(villages, cell_m=6.0)
    )
    result = coverage(villages, tracks, landcover=lc, reported_groups=reported, groups=groups)
    frame = result.villages.set_index("code")
    for code, group in reported:
        assert group in frame.loc[code, "reported_groups"]
        assert frame.loc[code, "reported_pct"] > 0
    assert (frame["covered_pct"] == 0).sum() >= 1  # some villages remain unpatrolled
    assert frame["priority_covered_pct"].notna().all()
    assert result.totals["patrols"] == len(tracks)
    assert (result.unsurveyed["area_m2"] >= 5000).all()
    assert result.unsurveyed["rank"].tolist() == list(range(1, len(result.unsurveyed) + 1))
    doc = result.as_dict()
    assert len(doc["villages"]) == len(villages)
    assert json.loads(json.dumps(doc, ensure_ascii=False))["radius_m"] == 30.0


def _random_walks(villages: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` walks of 600 fixes at 1 Hz, heading drifting, starting inside the villages."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = villages.to_crs(M).total_bounds
    sx, sy = rng.uniform(x0, x1, (n, 1)), rng.uniform(y0, y1, (n, 1))
    heading = rng.uniform(0, 2 * math.pi, (n, 1)) + np.cumsum(rng.normal(0, 0.12, (n, 600)), 1)
    step = rng.uniform(0.7, 1.7, (n, 600))
    xs = sx + np.cumsum(step * np.cos(heading), 1)
    ys = sy + np.cumsum(step * np.sin(heading), 1)
    lines = [LineString(np.column_stack([x, y])) for x, y in zip(xs, ys, strict=True)]
    return tracks_frame(lines, [f"P{i % (n - 3)}" for i in range(n)])  # a few patrols twice


@pytest.mark.parametrize("seed", [1, 2])
def test_random_walks_within_half_a_point_of_exact(seed: int) -> None:
    """1 Hz tracks, coverage well below 100 %: each village within 0.5 percentage points of
    the exact vector computation (buffer, union, intersection)."""
    villages = villages_frame()
    tracks = _random_walks(villages, 40, seed)
    grid = coverage(villages, tracks, radius_m=30)
    exact = exact_coverage(villages, tracks, radius_m=30)
    merged = grid.villages.merge(exact, on="code", suffixes=("_grid", "_exact"))
    assert ((merged["covered_pct_exact"] > 5) & (merged["covered_pct_exact"] < 60)).all()
    diff = (merged["covered_pct_grid"] - merged["covered_pct_exact"]).abs()
    assert diff.max() < 0.5, merged
    assert grid.totals["patrols"] == 37


def test_a_track_of_one_fix_and_a_vertical_track_see_their_disks_and_strips() -> None:
    point_like = LineString([(X0 + 300, Y0 + 300), (X0 + 300, Y0 + 300)])
    vertical = LineString([(X0 + 1000, Y0 + 500), (X0 + 1000, Y0 + 1500)])
    result = coverage(villages_frame(), tracks_frame([point_like, vertical]), radius_m=30)
    expected = math.pi * 30**2 + (1000 * 60 + math.pi * 30**2)
    got = row(result, "甲村")["covered_m2"]
    assert abs(got - expected) / expected < 0.02
