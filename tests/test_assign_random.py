"""Random towns on a lattice, every answer as the implementation before issue 10 gave it.

Villages are boxes on round coordinates (so that spans are whole numbers of grid cells and
buckets, where off-by-one errors hide), some shrunk to leave gaps, some holed, two merged into
a MultiPolygon; groups are cut from them, some reaching over a neighbour, some shifted by a
hair (near-ties), some duplicated, some of a village that does not exist. Points lie anywhere,
on vertices, on edge midpoints and just off the edges; some are 3D, some targets are in
another CRS, a few are polygons. Each seed runs on the direct path and on the cell grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import assign_reference as reference
import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from shapely.geometry import box

from geoverify import assign
from tests.conftest import same_assignments

SEEDS = range(36)


@pytest.fixture(params=["direct", "cell grid"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "cell grid":  # the grid and two threads even for a few hundred points
        monkeypatch.setattr(assign, "GRID_MIN_POINTS", 1)
        monkeypatch.setattr(assign, "_THREADS", 2)
        monkeypatch.setattr(assign, "_THREAD_MIN_QUERIES", 50)
        monkeypatch.setattr(assign, "_FAR_PIECE", 7)  # the far points in pieces
    else:
        monkeypatch.setattr(assign, "GRID_MIN_POINTS", 10**9)
    yield str(request.param)


def _town(rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, float, float]:
    """Villages and groups; the cell size in native units and native units per metre."""
    if rng.random() < 0.5:
        crs, ox, oy, s, per_m = (
            4544,
            500_000.0,
            3_300_000.0,
            float(rng.choice([50, 200, 1000])),
            1.0,
        )
    else:
        crs, ox, oy, s = 4490, 111.3, 30.2, float(rng.choice([0.0005, 0.002, 0.01]))
        per_m = 1 / (110_900.0 * math.cos(math.radians(oy)))
    geoms, codes = [], []
    for i in range(int(rng.integers(1, 5))):
        for j in range(int(rng.integers(1, 4))):
            b = box(ox + i * s, oy + j * s, ox + (i + 1) * s, oy + (j + 1) * s)
            r = rng.random()
            if r < 0.12:
                b = b.buffer(-s * 0.05, join_style="mitre")  # a gap around it
            elif r < 0.25:
                hole = box(
                    ox + (i + 0.3) * s, oy + (j + 0.3) * s, ox + (i + 0.6) * s, oy + (j + 0.6) * s
                )
                b = b.difference(hole)
            geoms.append(b)
            codes.append(f"V{int(rng.integers(0, 1000)):03d}_{len(codes)}")
    if len(geoms) > 2 and rng.random() < 0.5:  # two villages as one MultiPolygon
        a, b2 = (int(k) for k in rng.choice(len(geoms), 2, replace=False))
        parts = [*shapely.get_parts(geoms[a]), *shapely.get_parts(geoms[b2])]
        merged = shapely.MultiPolygon(parts)
        geoms[a] = merged if merged.is_valid else shapely.union_all(parts)
        del geoms[b2], codes[b2]
    villages = gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs=crs)

    g_geoms, g_village, g_names = [], [], []
    for g, code in zip(geoms, codes, strict=True):
        x0, y0, x1, y1 = g.bounds
        k = int(rng.integers(1, 4))
        inner = np.sort(rng.choice([0.25, 0.5, 0.75], k - 1, replace=False))
        cuts = np.r_[x0, x0 + (x1 - x0) * inner, x1]
        rows = [(y0, y1)] if rng.random() < 0.6 else [(y0, (y0 + y1) / 2), ((y0 + y1) / 2, y1)]
        for a, b2 in itertools_pairs(cuts):
            for ya, yb in rows:
                part = box(a, ya, b2, yb)
                if rng.random() < 0.8:
                    part = part.intersection(g)
                if rng.random() < 0.1:  # reaches over the neighbour
                    part = part.buffer(s * 0.1, join_style="mitre")
                if rng.random() < 0.1:  # shifted by a hair: near-ties
                    d = float(rng.choice([3e-7, 1e-6, 2e-6, 0.004, 0.012, 0.5]))
                    part = shapely.affinity.translate(part, d * per_m * rng.choice([-1, 1]), 0)
                polys = [p for p in shapely.get_parts(part) if p.geom_type == "Polygon"]
                if not polys:
                    continue
                part = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
                owner = code if rng.random() > 0.08 else "NOPE"
                for _ in range(2 if rng.random() < 0.1 else 1):  # a duplicate, other name
                    g_geoms.append(part)
                    g_village.append(owner)
                    g_names.append(f"{rng.choice(list('ABCDEFGH'))}{len(g_names)}组")
    groups = gpd.GeoDataFrame(
        {"village_code": g_village, "name": g_names}, geometry=g_geoms, crs=crs
    )
    return villages, groups, s, per_m


def itertools_pairs(values: np.ndarray) -> list[tuple[float, float]]:
    return list(zip(values[:-1].tolist(), values[1:].tolist(), strict=True))


def _targets(
    rng: np.random.Generator,
    villages: gpd.GeoDataFrame,
    groups: gpd.GeoDataFrame,
    s: float,
    per_m: float,
) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = villages.total_bounds
    n = int(rng.integers(50, 300))
    xy = [
        np.column_stack(
            [rng.uniform(x0 - s * 0.2, x1 + s * 0.2, n), rng.uniform(y0 - s * 0.2, y1 + s * 0.2, n)]
        )
    ]
    lines = np.concatenate([villages.geometry.to_numpy(), groups.geometry.to_numpy()])
    ring = shapely.get_coordinates(shapely.boundary(lines))
    pick = rng.choice(len(ring) - 1, min(200, len(ring) - 1))
    a, b = ring[pick], ring[pick + 1]
    normal = np.column_stack([a[:, 1] - b[:, 1], b[:, 0] - a[:, 0]])
    length = np.hypot(normal[:, 0], normal[:, 1]) / per_m
    length[length == 0] = 1.0
    off = rng.choice([3e-7, 1e-6, 1.5e-6, 0.003, 0.011, 0.5, 4.9, 5.1, 49.9, 50.1], len(pick))
    off = off * rng.choice([-1.0, 1.0], len(pick))
    xy += [a, (a + b) / 2, (a + b) / 2 + normal / length[:, None] * off[:, None]]
    pts = np.concatenate(xy)
    geoms = list(shapely.points(pts))
    if rng.random() < 0.3:
        geoms = [shapely.force_3d(g, 5.0) if rng.random() < 0.5 else g for g in geoms]
    if rng.random() < 0.3:  # a few small polygons
        geoms += [box(x, y, x + s * 1e-4, y + s * 1e-4) for x, y in pts[rng.choice(len(pts), 5)]]
    targets = gpd.GeoDataFrame({"target_id": range(len(geoms))}, geometry=geoms, crs=villages.crs)
    if rng.random() < 0.2:
        return targets.to_crs(int(rng.choice([4326, 3857, 4545])))
    return targets


@pytest.mark.parametrize("seed", SEEDS)
def test_random_towns_match_the_reference(seed: int, path: str) -> None:
    rng = np.random.default_rng(seed)
    villages, groups, s, per_m = _town(rng)
    targets = _targets(rng, villages, groups, s, per_m)
    tol = float(rng.choice([0.0, 0.005, 0.02, 1.0, 5.0, 50.0, 300.0]))
    same_assignments(
        assign.assign_targets(targets, villages, groups, tolerance_m=tol),
        reference.assign_targets(targets, villages, groups, tolerance_m=tol),
    )
