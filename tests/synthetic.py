"""Synthetic batches on the bundled sample town, for tests that need many targets."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geoverify.workflows import sample_boundaries


def town_points(n: int, *, seed: int) -> list[tuple[float, float]]:
    """``n`` random points inside the bundled villages (lon, lat)."""
    villages = gpd.read_file(sample_boundaries(), layer="villages").to_crs(4490)
    town = shapely.union_all(villages.geometry.to_numpy())
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = town.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        x = rng.uniform(minx, maxx, n)
        y = rng.uniform(miny, maxy, n)
        inside = shapely.contains_xy(town, x, y)
        out += list(zip(x[inside].tolist(), y[inside].tolist(), strict=True))
    return out[:n]


def batch_csv(path: Path, n: int, *, seed: int = 7, prefix: str = "SYN") -> Path:
    """A district batch CSV of ``n`` targets inside the town."""
    lines = ["靶标编号,经度,纬度"] + [
        f"{prefix}-{i:06d},{lon:.6f},{lat:.6f}"
        for i, (lon, lat) in enumerate(town_points(n, seed=seed), start=1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
