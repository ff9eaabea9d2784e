"""Deterministic benchmark data: synthetic villages, random targets, random-walk patrol tracks.

Everything here is a pure function of its arguments and a seed, so two runs (or two machines)
measure the same data.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "boundaries" / "fuguo_sample.gpkg"
#: Projected CRS the synthetic villages are drawn in (CGCS2000 / 3-degree GK CM 105E).
DRAW_CRS = "EPSG:4544"
STORE_CRS = "EPSG:4490"


def town() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The bundled illustrative town: 13 villages and 52 groups (EPSG:4490)."""
    villages = gpd.read_file(SAMPLE, layer="villages")
    groups = gpd.read_file(SAMPLE, layer="groups")
    return villages, groups


def _jittered_edge(line: shapely.LineString, pieces: int, rng: np.random.Generator) -> NDArray:
    """The edge cut into ``pieces`` and bent sideways, ends fixed (a shared, wiggly boundary)."""
    (x0, y0), (x1, y1) = np.asarray(line.coords)[[0, -1]]
    t = np.linspace(0.0, 1.0, pieces + 1)
    length = float(np.hypot(x1 - x0, y1 - y0))
    nx, ny = (-(y1 - y0) / length, (x1 - x0) / length) if length > 0 else (0.0, 0.0)
    walk = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, 1.0, pieces))])
    bridge = walk - t * walk[-1]  # a Brownian bridge: zero at both ends
    scale = 0.04 * length / max(float(np.abs(bridge).max()), 1e-9)
    off = bridge * scale
    return np.column_stack([x0 + t * (x1 - x0) + off * nx, y0 + t * (y1 - y0) + off * ny])


def synthetic_villages(
    n: int, *, seed: int = 10, area_km2: float = 3.0, gap_share: float = 0.03
) -> gpd.GeoDataFrame:
    """``n`` villages of about ``area_km2`` each with shared wiggly edges and a few gaps.

    A Voronoi tessellation of jittered grid seeds; every Voronoi edge is bent once (so both
    villages along it share exactly the same vertices) into about 18 pieces, which gives about
    110 vertices per village. ``gap_share`` of the villages are shrunk by 20-80 m, leaving gaps
    between them and their neighbours, as digitised boundaries do. Returns EPSG:4490 with
    ``code`` and ``name``.
    """
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    step = float(np.sqrt(area_km2) * 1000.0)
    x0, y0 = 560_000.0, 3_250_000.0
    ii, jj = np.divmod(np.arange(side * side), side)
    sx = x0 + (jj + 0.5 + rng.uniform(-0.35, 0.35, ii.size)) * step
    sy = y0 + (ii + 0.5 + rng.uniform(-0.35, 0.35, ii.size)) * step
    seeds = shapely.multipoints(np.column_stack([sx, sy]))
    frame = shapely.box(x0, y0, x0 + side * step, y0 + side * step)
    edges = shapely.voronoi_polygons(seeds, extend_to=frame, only_edges=True)
    lines = np.concatenate(
        [shapely.get_parts(shapely.intersection(edges, frame)), [frame.exterior]]
    )
    lines = shapely.get_parts(shapely.unary_union(lines))
    bent = [
        shapely.LineString(_jittered_edge(line, 18, rng))
        if shapely.get_num_coordinates(line) == 2
        else line
        for line in lines
    ]
    faces = shapely.get_parts(shapely.polygonize(bent))
    order = np.lexsort(
        (shapely.get_y(shapely.centroid(faces)), shapely.get_x(shapely.centroid(faces)))
    )
    faces = faces[order][:n]
    shrink = rng.random(len(faces)) < gap_share
    faces = faces.copy()
    faces[shrink] = shapely.buffer(faces[shrink], -rng.uniform(20.0, 80.0, int(shrink.sum())))
    codes = [f"5001{i:06d}" for i in range(len(faces))]
    out = gpd.GeoDataFrame(
        {"code": codes, "name": [f"村{i}" for i in range(len(faces))]},
        geometry=faces,
        crs=DRAW_CRS,
    )
    return out.to_crs(STORE_CRS)


def random_points(
    villages: gpd.GeoDataFrame, n: int, *, seed: int, pad: float = 0.005
) -> gpd.GeoDataFrame:
    """``n`` target points uniform over the villages' bounding box plus ``pad`` degrees, so that
    some fall in gaps and outside; ``target_id`` ``B0000000``..."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = villages.total_bounds
    xs = rng.uniform(x0 - pad, x1 + pad, n)
    ys = rng.uniform(y0 - pad, y1 + pad, n)
    return gpd.GeoDataFrame(
        {"target_id": pd.array([f"B{i:07d}" for i in range(n)], dtype=object)},
        geometry=shapely.points(xs, ys),
        crs=villages.crs,
    )


def random_walk_tracks(
    villages: gpd.GeoDataFrame,
    n_tracks: int,
    *,
    seed: int,
    seconds: int = 1000,
    speed_m_s: float = 1.2,
    turn_sd: float = 0.12,
) -> gpd.GeoDataFrame:
    """``n_tracks`` patrol tracks recorded at 1 Hz, ``seconds`` fixes each (EPSG:4490).

    Each walk starts at a random point of a random village and keeps a heading that drifts
    (a random walk of ``turn_sd`` radians a second) at about ``speed_m_s``, as a person
    searching field edges does; consecutive fixes are correlated like a phone's smoothed GPS.
    Columns: ``patrol_id`` (one per track), geometry (LineString).
    """
    rng = np.random.default_rng(seed)
    metric = villages.to_crs(DRAW_CRS)
    union = metric.geometry.union_all()
    shapely.prepare(union)
    x0, y0, x1, y1 = union.bounds
    sx = np.empty(0)
    sy = np.empty(0)
    while sx.size < n_tracks:  # uniform over the villages, by rejection
        cx = rng.uniform(x0, x1, 2 * n_tracks)
        cy = rng.uniform(y0, y1, 2 * n_tracks)
        keep = shapely.contains_xy(union, cx, cy)
        sx, sy = np.r_[sx, cx[keep]], np.r_[sy, cy[keep]]
    sx, sy = sx[:n_tracks], sy[:n_tracks]
    heading = rng.uniform(0, 2 * np.pi, (n_tracks, 1)) + np.cumsum(
        rng.normal(0.0, turn_sd, (n_tracks, seconds)), axis=1
    )
    step = speed_m_s * rng.uniform(0.6, 1.4, (n_tracks, seconds))
    xs = sx[:, None] + np.cumsum(step * np.cos(heading), axis=1)
    ys = sy[:, None] + np.cumsum(step * np.sin(heading), axis=1)
    lines = shapely.linestrings(np.stack([xs, ys], axis=-1))
    return gpd.GeoDataFrame(
        {"patrol_id": [f"P{i:05d}" for i in range(n_tracks)]}, geometry=lines, crs=DRAW_CRS
    ).to_crs(STORE_CRS)
