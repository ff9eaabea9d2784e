"""Generate geoverify's illustrative sample data (示意数据，非官方) deterministically.

Run ``python scripts/make_sample_data.py`` (writes into ``data/``) or
``python scripts/make_sample_data.py --out DIR``. Fixed seeds: two runs give the same
geometries and attribute values. Boundaries, names and codes are made up; they only imitate
the shape of real data for Fuguo town (福果镇), Tongliang district, Chongqing.
"""

from __future__ import annotations

# ruff: noqa: E501  (the README templates below hold long Markdown table rows)
import argparse
import csv
import datetime as dt
import io
import itertools
import json
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import rasterio
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from rasterio.features import rasterize
from rasterio.transform import from_origin
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import polygonize, unary_union

METRIC_EPSG = 4544  # CGCS2000 / 3-degree Gauss-Kruger CM 105E
STORE_EPSG = 4490  # CGCS2000 geographic
TOWN_CENTRE = (106.044, 29.701)  # lon, lat: middle of the real town's extent
TOWN_EXTENT = (105.999, 29.658, 106.089, 29.744)
TOWN_AREA_M2 = 39.0e6
NOTE = "示意边界，非官方数据 (illustrative, not official)"
TOWN_CODE = "500151109"  # 500151 = Tongliang district; 109 is made up
COMMUNITY_NAME = "福果社区"
VILLAGE_NAMES = [
    "青龙村",
    "石桥村",
    "白鹤村",
    "龙泉村",
    "双河村",
    "高峰村",
    "新华村",
    "柏林村",
    "金竹村",
    "大坪村",
    "永安村",
    "三合村",
]
GROUP_NAMES = ["一组", "二组", "三组", "四组", "五组", "六组", "七组"]
CLASSES = {1: ("farmland", "耕地"), 2: ("forest", "林地"), 3: ("residential", "居民点")}
CLASSES |= {4: ("water", "水域"), 5: ("other", "其他")}
GAP_WIDTH_M = 20.0
GAP_LENGTH_M = 450.0
NEAR_M = 50.0

_TO_STORE = Transformer.from_crs(METRIC_EPSG, STORE_EPSG, always_xy=True)
_TO_METRIC = Transformer.from_crs(STORE_EPSG, METRIC_EPSG, always_xy=True)


def to_store(geom: BaseGeometry) -> BaseGeometry:
    """Project a metric (EPSG:4544) geometry to EPSG:4490, vertex by vertex."""

    def f(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = _TO_STORE.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, f)


def to_metric(geom: BaseGeometry) -> BaseGeometry:
    """Project an EPSG:4490 geometry to EPSG:4544."""

    def f(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = _TO_METRIC.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, f)


# --- town outline and partitions ------------------------------------------------------------


def make_outline(rng: np.random.Generator) -> Polygon:
    """An irregular, natural-looking town outline of exactly TOWN_AREA_M2 (metric CRS)."""
    cx, cy = _TO_METRIC.transform(*TOWN_CENTRE)
    n = 360
    theta = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    r = np.ones(n)
    for k, amp in ((2, 0.09), (3, 0.08), (4, 0.05), (5, 0.04), (7, 0.03), (11, 0.02), (17, 0.01)):
        r += amp * np.sin(k * theta + rng.uniform(0, 2 * math.pi))
    r += rng.normal(0.0, 0.004, n)
    # slight north-south elongation, like the real town's extent
    x = cx + 0.95 * r * np.cos(theta)
    y = cy + 1.05 * r * np.sin(theta)
    poly = Polygon(np.column_stack([x, y]))
    scale = math.sqrt(TOWN_AREA_M2 / poly.area)
    x = cx + (x - cx) * scale
    y = cy + (y - cy) * scale
    return Polygon(np.round(np.column_stack([x, y]), 2))


def poisson_seeds(
    rng: np.random.Generator, region: BaseGeometry, n: int, min_dist: float
) -> list[Point] | None:
    """Up to ``n`` random points in ``region`` at least ``min_dist`` apart (None if it fails)."""
    minx, miny, maxx, maxy = region.bounds
    pts: list[Point] = []
    for _ in range(20000):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if not region.contains(p):
            continue
        if all(p.distance(q) >= min_dist for q in pts):
            pts.append(p)
            if len(pts) == n:
                return pts
    return None


def wiggle(
    rng: np.random.Generator, a: tuple[float, float], b: tuple[float, float], *, amp: float
) -> NDArray[np.float64]:
    """A gently wiggled line from ``a`` to ``b`` whose end points are exactly ``a`` and ``b``."""
    ax, ay = a
    bx, by = b
    length = math.hypot(bx - ax, by - ay)
    n = max(3, int(length / 30.0))
    t = np.linspace(0.0, 1.0, n + 1)
    nx, ny = -(by - ay) / length, (bx - ax) / length
    a_eff = min(amp * length, 160.0)
    d = a_eff * (
        rng.uniform(-1, 1) * np.sin(math.pi * t)
        + 0.5 * rng.uniform(-1, 1) * np.sin(2 * math.pi * t)
        + 0.25 * rng.uniform(-1, 1) * np.sin(3 * math.pi * t)
        + 0.12 * rng.uniform(-1, 1) * np.sin(7 * math.pi * t)
    )
    # small meanders, like a boundary that follows field edges and streams
    d += np.sin(math.pi * t) * np.convolve(
        rng.normal(0.0, 6.0, t.size), np.ones(3) / 3, mode="same"
    )
    xs = ax + (bx - ax) * t + nx * d
    ys = ay + (by - ay) * t + ny * d
    xy: NDArray[np.float64] = np.column_stack([xs, ys]).astype(np.float64).round(2)
    xy[0] = a
    xy[-1] = b
    return xy


def voronoi_edges(
    seeds: Sequence[Point], envelope: BaseGeometry
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Unique Voronoi edges of ``seeds`` (vertices snapped to 1 cm), in a stable order."""
    cells = shapely.voronoi_polygons(MultiPoint(list(seeds)), extend_to=envelope)
    canon: dict[tuple[float, float], tuple[float, float]] = {}
    edges: dict[tuple[tuple[float, float], tuple[float, float]], None] = {}
    for cell in cells.geoms:
        coords = list(cell.exterior.coords)
        for p, q in itertools.pairwise(coords):
            kp = (round(p[0], 2), round(p[1], 2))
            kq = (round(q[0], 2), round(q[1], 2))
            canon.setdefault(kp, kp)
            canon.setdefault(kq, kq)
            if kp == kq:
                continue
            key = (kp, kq) if kp < kq else (kq, kp)
            edges.setdefault(key, None)
    return sorted(edges)


def partition(
    rng: np.random.Generator,
    region: Polygon,
    seeds: Sequence[Point],
    *,
    amp: float,
    extra_lines: Callable[[int, NDArray[np.float64]], list[NDArray[np.float64]] | None]
    | None = None,
) -> tuple[list[Polygon], list[Polygon]] | None:
    """Split ``region`` into one wiggled Voronoi face per seed; returns (faces, leftover faces).

    ``extra_lines(i, line)`` may replace edge ``i``'s line by other lines (used to open the
    deliberate gap). Returns None when the wiggled edges do not give one clean face per seed.
    """
    envelope = region.buffer(3000.0)
    lines: list[LineString] = [LineString(region.exterior.coords)]
    for i, (a, b) in enumerate(voronoi_edges(seeds, envelope)):
        xy = wiggle(rng, a, b, amp=amp)
        replaced = extra_lines(i, xy) if extra_lines is not None else None
        for part in replaced if replaced is not None else [xy]:
            lines.append(LineString(part))
    faces = [f for f in polygonize(unary_union(lines)) if region.contains(f.representative_point())]
    own: list[Polygon | None] = [None] * len(seeds)
    rest: list[Polygon] = []
    for f in faces:
        hits = [k for k, s in enumerate(seeds) if f.contains(s)]
        if len(hits) > 1:
            return None
        if hits:
            if own[hits[0]] is not None:
                return None
            own[hits[0]] = f
        else:
            rest.append(f)
    if any(f is None for f in own):
        return None
    return [f for f in own if f is not None], rest


@dataclass
class Boundaries:
    """Metric (EPSG:4544) boundaries: town outline, villages, groups and the gap."""

    town: Polygon
    codes: list[str]
    names: list[str]
    kinds: list[str]
    villages: list[Polygon]
    gap: Polygon
    gap_line: NDArray[np.float64]
    groups: list[list[Polygon]] = field(default_factory=list)


def make_boundaries(rng: np.random.Generator) -> Boundaries:
    """Town outline, 12 villages + 1 community with one deliberate gap, and their groups."""
    town = make_outline(rng)
    n_units = len(VILLAGE_NAMES) + 1
    cx, cy = _TO_METRIC.transform(*TOWN_CENTRE)
    for _attempt in range(200):
        seeds = poisson_seeds(rng, town.buffer(-700.0), n_units, 1350.0)
        if seeds is None:
            continue
        gap_state: dict[str, Any] = {}

        def open_gap(
            i: int, xy: NDArray[np.float64], state: dict[str, Any] = gap_state
        ) -> list[NDArray[np.float64]] | None:
            if "done" in state:
                return None
            line = LineString(xy)
            if line.length < GAP_LENGTH_M + 400.0 or not town.buffer(-300.0).contains(line):
                return None
            state["done"] = i
            lines, state["centre"] = gap_lines(line)
            return lines

        result = partition(rng, town, seeds, amp=0.08, extra_lines=open_gap)
        if result is None:
            continue
        faces, rest = result
        if len(rest) != 1 or not all(isinstance(f, Polygon) for f in faces):
            continue
        gap = rest[0]
        if not (0.6 * GAP_WIDTH_M * GAP_LENGTH_M < gap.area < 1.2 * GAP_WIDTH_M * GAP_LENGTH_M):
            continue
        # the community (town seat) is the unit nearest the centre; villages ordered west->east
        centre = Point(cx, cy)
        seat = min(range(n_units), key=lambda k: seeds[k].distance(centre))
        order = sorted(
            (k for k in range(n_units) if k != seat),
            key=lambda k: (round(seeds[k].x, -2), seeds[k].y),
        )
        villages = [faces[seat]] + [faces[k] for k in order]
        codes = [f"{TOWN_CODE}001"] + [f"{TOWN_CODE}{201 + j}" for j in range(len(order))]
        names = [COMMUNITY_NAME, *VILLAGE_NAMES]
        kinds = ["社区"] + ["村"] * len(order)
        gap_line = np.asarray(gap_state["centre"], dtype=float)
        b = Boundaries(town, codes, names, kinds, villages, gap, gap_line)
        b.groups = [make_groups(rng, v) for v in villages]
        return b
    msg = "could not build a clean partition"
    raise RuntimeError(msg)


def gap_lines(line: LineString) -> tuple[list[NDArray[np.float64]], NDArray[np.float64]]:
    """Replace the middle of a shared edge by a 20 m wide lens (the deliberate gap).

    Returns the replacement lines and the lens's centre line.
    """
    length = line.length
    s1 = (length - GAP_LENGTH_M) / 2.0
    s2 = s1 + GAP_LENGTH_M
    coords = np.asarray(line.coords)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
    p1 = np.round(np.asarray(line.interpolate(s1).coords[0]), 2)
    p2 = np.round(np.asarray(line.interpolate(s2).coords[0]), 2)
    before = np.vstack([coords[cum < s1], p1])
    after = np.vstack([p2, coords[cum > s2]])
    ss = np.arange(s1 + 10.0, s2 - 5.0, 10.0)
    centre = np.array([line.interpolate(s).coords[0] for s in ss])
    ahead = np.array([line.interpolate(s + 1.0).coords[0] for s in ss])
    behind = np.array([line.interpolate(s - 1.0).coords[0] for s in ss])
    tang = ahead - behind
    tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
    normal = np.column_stack([-tang[:, 1], tang[:, 0]])
    taper = np.clip(np.minimum(ss - s1, s2 - ss) / 40.0, 0.0, 1.0)
    half = GAP_WIDTH_M / 2.0 * np.sin(taper * math.pi / 2.0)
    left = np.round(centre + normal * half[:, None], 2)
    right = np.round(centre - normal * half[:, None], 2)
    return [before, np.vstack([p1, left, p2]), np.vstack([p1, right, p2]), after], centre


def make_groups(rng: np.random.Generator, village: Polygon) -> list[Polygon]:
    """Split a village into 3-7 groups (村民小组) that partition it exactly."""
    k = int(np.clip(round(village.area / 0.75e6), 3, 7))
    inner = village.buffer(-120.0)
    for _attempt in range(300):
        spacing = math.sqrt(village.area / k) * 0.6
        seeds = poisson_seeds(rng, inner, k, spacing)
        if seeds is None:
            continue
        result = partition(rng, village, seeds, amp=0.06)
        if result is None:
            continue
        faces, rest = result
        if rest or not all(isinstance(f, Polygon) for f in faces):
            continue
        # number groups from north-west to south-east, as a village would
        faces.sort(key=lambda f: (-round(f.centroid.y, -2), f.centroid.x))
        return faces
    msg = "could not split a village into groups"
    raise RuntimeError(msg)


# --- land cover -----------------------------------------------------------------------------


@dataclass
class Raster:
    """The land-cover grid (EPSG:4544, 10 m) and its georeferencing."""

    data: NDArray[np.uint8]
    x0: float
    y1: float
    cell: float = 10.0

    def class_at(self, x: float, y: float) -> int:
        col = int((x - self.x0) // self.cell)
        row = int((self.y1 - y) // self.cell)
        return int(self.data[row, col])


def value_noise(
    rng: np.random.Generator, xs: NDArray[np.float64], ys: NDArray[np.float64], spacing: float
) -> NDArray[np.float64]:
    """Smooth noise in [0, 1]: a random lattice at ``spacing`` metres, smoothstep-interpolated."""
    gx = (xs - xs.min()) / spacing
    gy = (ys - ys.min()) / spacing
    lattice = rng.random((int(gy.max()) + 2, int(gx.max()) + 2))
    ix, iy = np.floor(gx).astype(int), np.floor(gy).astype(int)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    top = (
        lattice[iy[:, None], ix[None, :]] * (1 - fx)[None, :]
        + lattice[iy[:, None], ix[None, :] + 1] * fx[None, :]
    )
    bot = (
        lattice[iy[:, None] + 1, ix[None, :]] * (1 - fx)[None, :]
        + lattice[iy[:, None] + 1, ix[None, :] + 1] * fx[None, :]
    )
    out: NDArray[np.float64] = top * (1 - fy)[:, None] + bot * fy[:, None]
    return out


def make_landcover(
    rng: np.random.Generator, b: Boundaries
) -> tuple[Raster, dict[str, BaseGeometry]]:
    """Illustrative land cover: forested hills, a river, the town seat, hamlets, farmland."""
    cell = 10.0
    minx, miny, maxx, maxy = b.town.bounds
    x0 = math.floor((minx - 200.0) / cell) * cell
    y0 = math.floor((miny - 200.0) / cell) * cell
    x1 = math.ceil((maxx + 200.0) / cell) * cell
    y1 = math.ceil((maxy + 200.0) / cell) * cell
    width, height = round((x1 - x0) / cell), round((y1 - y0) / cell)
    xs = x0 + cell * (np.arange(width) + 0.5)
    ys = y1 - cell * (np.arange(height) + 0.5)
    hills = 0.6 * value_noise(rng, xs, ys, 900.0) + 0.3 * value_noise(rng, xs, ys, 300.0)
    hills += 0.1 * value_noise(rng, xs, ys, 80.0)
    fine = value_noise(rng, xs, ys, 60.0)
    data = np.ones((height, width), dtype=np.uint8)
    data[hills > np.quantile(hills, 0.68)] = 2
    data[(fine > 0.93) & (data == 1)] = 5
    transform = from_origin(x0, y1, cell, cell)

    def burn(geoms: list[BaseGeometry], value: int, *, all_touched: bool = False) -> None:
        mask = rasterize(
            [(g, 1) for g in geoms],
            out_shape=data.shape,
            transform=transform,
            fill=0,
            all_touched=all_touched,
            dtype="uint8",
        )
        data[mask == 1] = value

    # a river crossing the town from south-west to north-east, and a few ponds
    t = np.linspace(0.0, 1.0, 120)
    rx = minx - 300 + (maxx - minx + 600) * t
    ry = (
        miny
        + (maxy - miny) * (0.25 + 0.45 * t)
        + 350 * np.sin(7.0 * t + 0.5)
        + 120 * np.sin(19 * t)
    )
    river = LineString(np.column_stack([rx, ry]))
    ponds = [
        Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy)).buffer(rng.uniform(25, 60))
        for _ in range(12)
    ]
    ponds = [p for p in ponds if b.town.contains(p)]
    # roads: two country roads through the town seat
    seat = b.villages[0].representative_point()
    roads = [
        LineString([(minx - 200, seat.y - 400), (seat.x, seat.y), (maxx + 200, seat.y + 900)]),
        LineString([(seat.x - 500, miny - 200), (seat.x, seat.y), (seat.x + 300, maxy + 200)]),
    ]
    # residential: the town seat and scattered hamlets (not in the river)
    town_seat = unary_union(
        [
            blob(
                rng,
                Point(seat.x + rng.normal(0, 180), seat.y + rng.normal(0, 180)),
                float(rng.uniform(80, 200)),
            )
            for _ in range(14)
        ]
    )
    hamlets: list[BaseGeometry] = []
    while len(hamlets) < 45:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if b.town.contains(p) and p.distance(river) > 80 and p.distance(seat) > 500:
            hamlets.append(blob(rng, p, float(rng.uniform(35, 90))))
    burn([town_seat, *hamlets], 3)
    burn([r.buffer(4.0) for r in roads], 5, all_touched=True)
    burn([river.buffer(12.0), *ponds], 4, all_touched=True)
    near = rasterize(
        [(b.town.buffer(200.0), 1)],
        out_shape=data.shape,
        transform=transform,
        fill=0,
        dtype="uint8",
    )
    data[near == 0] = 0
    features = {"river": river, "seat": town_seat}
    return Raster(data, x0, y1, cell), features


def write_landcover(path: Path, r: Raster) -> None:
    """Write the land cover as a deflate-compressed, tagged GeoTIFF."""
    height, width = r.data.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": "uint8",
        "crs": f"EPSG:{METRIC_EPSG}",
        "transform": from_origin(r.x0, r.y1, r.cell, r.cell),
        "nodata": 0,
        "compress": "deflate",
        "predictor": 2,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(r.data, 1)
        tags = {f"CLASS_{k}": v[0] for k, v in CLASSES.items()}
        tags |= {f"CLASS_{k}_ZH": v[1] for k, v in CLASSES.items()}
        tags["NOTE"] = "示意土地覆盖，非官方数据 (illustrative land cover, not official)"
        dst.update_tags(**tags)
        dst.set_band_description(1, "landcover")
        dst.write_colormap(
            1,
            {
                0: (0, 0, 0, 0),
                1: (240, 220, 130, 255),
                2: (50, 130, 60, 255),
                3: (200, 80, 70, 255),
                4: (70, 130, 220, 255),
                5: (170, 170, 170, 255),
            },
        )


# --- suspect targets -------------------------------------------------------------------------


@dataclass
class Site:
    """One generated suspect target in metric coordinates, with its intended case."""

    geom: BaseGeometry
    case: str
    detail: str
    exact: bool = False  # keep full coordinate precision (points exactly on a boundary)
    target_id: str = ""
    store: BaseGeometry | None = None


class Sampler:
    """Finds points with a given relation to the (metric) villages, town and gap."""

    def __init__(self, rng: np.random.Generator, b: Boundaries) -> None:
        self.rng = rng
        self.b = b
        self.union = unary_union(b.villages)
        self.used: list[Point] = []

    def clearance(self, p: Point, home: int) -> float:
        """Distance from ``p`` to the nearest village other than ``home``."""
        return min(p.distance(v) for k, v in enumerate(self.b.villages) if k != home)

    def free(self, p: Point, spacing: float = 150.0) -> bool:
        return all(p.distance(q) >= spacing for q in self.used)

    def take(self, p: Point) -> Point:
        self.used.append(p)
        return p

    def in_village(self, k: int, *, lo: float, hi: float, spacing: float = 150.0) -> Point:
        """A point inside village ``k`` whose clearance to the rest is within [lo, hi]."""
        v = self.b.villages[k]
        minx, miny, maxx, maxy = v.bounds
        for _ in range(200000):
            p = Point(
                round(self.rng.uniform(minx, maxx), 2), round(self.rng.uniform(miny, maxy), 2)
            )
            if (
                v.contains(p)
                and self.free(p, spacing)
                and lo <= self.clearance(p, k) <= hi
                and p.distance(self.b.gap) >= max(lo, 120.0)
            ):
                return self.take(p)
        msg = f"no point in village {k} with clearance {lo}-{hi}"
        raise RuntimeError(msg)

    def outside(self, *, lo: float, hi: float) -> Point:
        """A point outside the town whose distance to the villages is within [lo, hi]."""
        minx, miny, maxx, maxy = self.b.town.buffer(hi).bounds
        for _ in range(200000):
            p = Point(
                round(self.rng.uniform(minx, maxx), 2), round(self.rng.uniform(miny, maxy), 2)
            )
            d = p.distance(self.union)
            if lo <= d <= hi and not self.b.town.contains(p) and self.free(p, 400.0):
                return self.take(p)
        msg = "no outside point"
        raise RuntimeError(msg)


def blob(rng: np.random.Generator, centre: Point, radius: float) -> Polygon:
    """A small irregular polygon (a field plot) around ``centre``."""
    n = int(rng.integers(6, 10))
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    rad = radius * rng.uniform(0.75, 1.2, n)
    xy = np.column_stack([centre.x + rad * np.cos(ang), centre.y + rad * np.sin(ang)])
    poly = Polygon(np.round(xy, 2))
    return poly if poly.is_valid else centre.buffer(radius, quad_segs=2)


def shared_edges(b: Boundaries) -> list[tuple[int, int, LineString]]:
    """Shared boundaries between pairs of villages, as lines."""
    out: list[tuple[int, int, LineString]] = []
    for i in range(len(b.villages)):
        for j in range(i + 1, len(b.villages)):
            inter = b.villages[i].boundary.intersection(b.villages[j].boundary)
            merged = shapely.line_merge(inter) if not inter.is_empty else inter
            for part in getattr(merged, "geoms", [merged]):
                if isinstance(part, LineString) and part.length > 300:
                    out.append((i, j, part))
    return out


def make_targets(rng: np.random.Generator, b: Boundaries) -> list[Site]:
    """About 60 March targets covering every assignment case."""
    s = Sampler(rng, b)
    n = len(b.villages)
    sites: list[Site] = []
    # inside: 34 points spread over every village
    for j in range(34):
        k = j % n
        p = s.in_village(k, lo=120.0, hi=1e9)
        sites.append(Site(p, "inside", f"{b.names[k]}内 (inside)"))
    # near boundary: 6 points 10-40 m from another village
    for j in range(6):
        k = (3 * j + 1) % n
        p = s.in_village(k, lo=10.0, hi=40.0, spacing=300.0)
        sites.append(
            Site(
                p,
                "near_boundary",
                f"{b.names[k]}内，距邻村 {s.clearance(p, k):.0f} m (near boundary)",
            )
        )
    # exactly on a shared boundary, computed from the stored (EPSG:4490) coordinates
    edges = shared_edges(b)
    stored = [to_store(v) for v in b.villages]
    i, j, line = edges[2]
    mid_vertex = to_store(Point(line.coords[len(line.coords) // 2]))
    vx, vy = mid_vertex.coords[0]
    ring = list(stored[i].exterior.coords)
    vertex = min(ring, key=lambda c: (c[0] - vx) ** 2 + (c[1] - vy) ** 2)
    sites.append(
        Site(
            Point(vertex),
            "near_boundary",
            f"{b.names[i]}/{b.names[j]} 共用顶点 (shared vertex)",
            exact=True,
        )
    )
    i2, j2, line2 = edges[7]
    k2 = len(line2.coords) // 3
    a = to_store(Point(line2.coords[k2]))
    ring2 = list(stored[i2].exterior.coords)
    ia = min(
        range(len(ring2) - 1), key=lambda q: (ring2[q][0] - a.x) ** 2 + (ring2[q][1] - a.y) ** 2
    )
    p_a, p_b = ring2[ia], ring2[ia + 1]
    midpoint = ((p_a[0] + p_b[0]) / 2.0, (p_a[1] + p_b[1]) / 2.0)
    sites.append(
        Site(
            Point(midpoint),
            "near_boundary",
            f"{b.names[i2]}/{b.names[j2]} 共用边中点 (shared edge midpoint)",
            exact=True,
        )
    )
    # gap: two points on the gap's centre line; two just outside the outline
    for frac in (0.35, 0.7):
        c = b.gap_line[int(frac * (len(b.gap_line) - 1))]
        sites.append(
            Site(
                s.take(Point(round(c[0], 2), round(c[1], 2))),
                "gap_nearest",
                "村界缝隙内 (in the gap)",
            )
        )
    for _ in range(2):
        p = s.outside(lo=12.0, hi=40.0)
        sites.append(
            Site(p, "gap_nearest", f"镇界外 {p.distance(s.union):.0f} m (just outside the town)")
        )
    # outside: more than 50 m outside the town
    for lo, hi in ((90.0, 200.0), (300.0, 800.0), (1000.0, 2500.0), (1500.0, 3000.0)):
        p = s.outside(lo=lo, hi=hi)
        sites.append(Site(p, "outside", f"镇界外 {p.distance(s.union):.0f} m (outside the town)"))
    # split polygons across a shared boundary
    for i, j, line in (edges[0], edges[4], edges[9], edges[13]):
        for _ in range(1000):
            c = line.interpolate(rng.uniform(0.2, 0.8), normalized=True)
            c = Point(c.x + rng.uniform(-4, 4), c.y + rng.uniform(-4, 4))
            poly = blob(rng, c, float(rng.uniform(11, 14)))
            parts = [poly.intersection(v).area / poly.area for v in b.villages]
            crossing = sorted(parts, reverse=True)[:2]
            if (
                crossing[1] > 0.2
                and sum(parts) > 0.999
                and poly.distance(b.gap) > 200
                and s.free(c, 300.0)
                and poly.distance(b.town.exterior) > 200
            ):
                s.take(c)
                sites.append(
                    Site(poly, "split", f"跨 {b.names[i]}/{b.names[j]} (crosses the boundary)")
                )
                break
    # small polygons fully inside a village
    for j in range(6):
        k = (2 * j + 5) % n
        c = s.in_village(k, lo=150.0, hi=1e9)
        sites.append(
            Site(
                blob(rng, c, float(rng.uniform(9, 15))),
                "inside",
                f"{b.names[k]}内的小面 (polygon inside)",
            )
        )
    if sum(site.case == "split" for site in sites) != 4:
        msg = "could not place the split polygons"
        raise RuntimeError(msg)
    order = rng.permutation(len(sites))
    out = [sites[q] for q in order]
    for q, site in enumerate(out, start=1):
        site.target_id = f"TL2024-03-{q:03d}"
        site.store = site.geom if site.exact else to_store(site.geom)
    return out


REMARKS = {1: "耕地", 2: "林区", 3: "房前屋后", 4: "近水域", 5: "地块边缘"}


def remark_for(r: Raster, geom: BaseGeometry, rng: np.random.Generator) -> str:
    c = geom.representative_point() if not isinstance(geom, Point) else geom
    try:
        cls = r.class_at(c.x, c.y)
    except IndexError:
        cls = 0
    if cls == 0 or rng.random() < 0.3:
        return ""
    return REMARKS[cls]


def round_geom(g: BaseGeometry, ndigits: int) -> BaseGeometry:
    return shapely.transform(g, lambda xy: np.round(xy, ndigits))


def geojson_geometry(g: BaseGeometry) -> dict[str, Any]:
    if isinstance(g, Point):
        return {"type": "Point", "coordinates": [g.x, g.y]}
    assert isinstance(g, Polygon)
    ring = [list(c) for c in orient(g, 1.0).exterior.coords]
    return {"type": "Polygon", "coordinates": [ring]}


def write_march(
    path: Path, sites: list[Site], b: Boundaries, r: Raster, rng: np.random.Generator
) -> None:
    """Write the March batch as RFC 7946 GeoJSON with the district's Chinese properties."""
    features = []
    for site in sites:
        assert site.store is not None
        g = site.store if site.exact else round_geom(site.store, 7)
        if isinstance(site.geom, Point):
            area = round(float(rng.uniform(30, 600)), 1)
        else:
            area = round(site.geom.area, 1)
        day = dt.date(2024, 2, 1) + dt.timedelta(days=int(rng.integers(0, 27)))
        props = {
            "靶标编号": site.target_id,
            "面积（平方米）": area,
            "影像时间": day.isoformat(),
            "疑似类型": "罂粟",
            "备注": remark_for(r, site.geom, rng),
        }
        features.append({"type": "Feature", "properties": props, "geometry": geojson_geometry(g)})
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    json.loads(text)  # stays valid JSON
    path.write_text(text, encoding="utf-8")


def dms(value: float) -> str:
    """Degrees-minutes-seconds like ``106°02'03.5"``."""
    d = int(value)
    m_float = (value - d) * 60
    m = int(m_float)
    sec = round((m_float - m) * 60, 1)
    if sec >= 60.0:
        m, sec = m + 1, 0.0
    return f"{d}°{m:02d}'{sec:04.1f}\""


@dataclass
class AprilRow:
    """One row of the April batch."""

    target_id: str
    point: Point  # metric
    relation: str  # new / reissue / repeat
    march_id: str = ""
    remark: str = ""


def make_april(rng: np.random.Generator, b: Boundaries, sites: list[Site]) -> list[AprilRow]:
    """15 April rows: 2 re-issued March ids, 2 new ids within 30 m of March targets, 11 new."""
    s = Sampler(rng, b)
    s.used = [site.geom.representative_point() for site in sites]
    inside = [(st.target_id, st.geom) for st in sites if st.case == "inside"]
    points = [(tid, g) for tid, g in inside if isinstance(g, Point)]
    rows: list[AprilRow] = []
    for tid, g in points[:2]:
        rows.append(AprilRow(tid, g, "reissue", tid, "重复下发"))
    for (tid, g), dist in zip(points[2:4], (14.0, 22.0), strict=True):
        ang = float(rng.uniform(0, 2 * math.pi))
        p = Point(round(g.x + dist * math.cos(ang), 2), round(g.y + dist * math.sin(ang), 2))
        rows.append(AprilRow("", p, "repeat", tid, "疑似复种"))
    n = len(b.villages)
    for j in range(11):
        k = (5 * j + 2) % n
        rows.append(AprilRow("", s.in_village(k, lo=120.0, hi=1e9, spacing=250.0), "new"))
    order = rng.permutation(len(rows))
    rows = [rows[q] for q in order]
    q = 0
    for row in rows:
        if not row.target_id:
            q += 1
            row.target_id = f"TL2024-04-{q:03d}"
    return rows


APRIL_HEADER = ["序号", "靶标编号", "经度", "纬度", "面积（平方米）", "影像时间", "备注"]


def april_values(rows: list[AprilRow], rng: np.random.Generator) -> list[list[Any]]:
    out: list[list[Any]] = []
    for q, row in enumerate(rows, start=1):
        g = to_store(row.point)
        if q % 2 == 1:
            lon: Any = dms(g.x)
            lat: Any = dms(g.y)
        else:
            lon, lat = round(g.x, 6), round(g.y, 6)
        area = round(float(rng.uniform(40, 500)), 1)
        day = dt.date(2024, 3, 10) + dt.timedelta(days=int(rng.integers(0, 15)))
        out.append([q, row.target_id, lon, lat, area, day.isoformat(), row.remark])
    return out


def write_april(samples: Path, values: list[list[Any]]) -> None:
    """The April batch as a GBK CSV (the district's Excel export) and as XLSX with a title row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(APRIL_HEADER)
    w.writerows(values)
    (samples / "district_batch_2024-04.csv").write_bytes(buf.getvalue().encode("gbk"))
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sheet1"
    ws.append(["2024年4月疑似靶标下发清单"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(APRIL_HEADER))
    ws.append(APRIL_HEADER)
    for row in values:
        ws.append(row)
    for col, width in zip("ABCDEFG", (6, 16, 16, 16, 14, 12, 12), strict=True):
        ws.column_dimensions[col].width = width
    fixed = dt.datetime(2024, 3, 28, 9, 0, 0)
    wb.properties.creator = "geoverify sample generator"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    raw = io.BytesIO()
    wb.save(raw)
    # rewrite the archive with fixed member timestamps, so that regenerating gives the same bytes
    with (
        zipfile.ZipFile(raw) as src,
        zipfile.ZipFile(samples / "district_batch_2024-04.xlsx", "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            fixed_info = zipfile.ZipInfo(info.filename, date_time=(2024, 3, 28, 9, 0, 0))
            fixed_info.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" on save
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2024-03-28T09:00:00Z\g<2>",
                    content,
                )
            dst.writestr(fixed_info, content)


# --- patrols ---------------------------------------------------------------------------------


@dataclass
class Patrol:
    """One patrol: a row of the village's monthly table, with or without a GPX track."""

    village: int
    group: str
    day: dt.date
    people: str
    finding: str
    remark: str
    track_name: str = ""
    segments: list[list[tuple[Point, dt.datetime]]] = field(default_factory=list)


PEOPLE = [
    "张德明",
    "李秀英",
    "王建国",
    "刘玉兰",
    "陈志强",
    "杨桂芳",
    "赵永华",
    "黄春梅",
    "周国平",
    "吴淑珍",
    "徐长林",
    "孙晓燕",
    "胡光荣",
    "朱德芬",
    "高世军",
    "林翠华",
]


def walk(rng: np.random.Generator, area: BaseGeometry, start: Point, length: float) -> list[Point]:
    """A plausible walk: a smooth random heading with 15 m steps that stays inside ``area``."""
    pts = [start]
    heading = float(rng.uniform(0, 2 * math.pi))
    travelled = 0.0
    while travelled < length:
        heading += float(rng.normal(0.0, 0.25))
        step = float(rng.uniform(12.0, 18.0))
        for _ in range(36):
            nxt = Point(pts[-1].x + step * math.cos(heading), pts[-1].y + step * math.sin(heading))
            if area.contains(nxt):
                break
            heading += float(rng.uniform(0.5, 1.5))
        else:
            break
        pts.append(nxt)
        travelled += step
    return pts


def make_patrols(
    rng: np.random.Generator, b: Boundaries
) -> tuple[list[Patrol], list[dict[str, Any]]]:
    """March patrols: 8 tracked walks in 5 villages, 3 reported-only rows, 2 waypoints."""
    patrolled = [1, 4, 6, 9, 0]  # four villages and the community; the rest stay unpatrolled
    plan = [
        (1, 12),
        (1, 19),
        (4, 12),
        (4, 26),
        (6, 14),
        (9, 15),
        (9, 21),
        (0, 18),
    ]
    assert {v for v, _ in plan} == set(patrolled)
    patrols: list[Patrol] = []
    waypoints: list[dict[str, Any]] = []
    for q, (k, day_no) in enumerate(plan, start=1):
        village = b.villages[k]
        groups = b.groups[k]
        g_idx = int(rng.integers(0, len(groups)))
        area = village.buffer(-40.0)
        start = groups[g_idx].buffer(-60.0).representative_point()
        pts = walk(rng, area, start, float(rng.uniform(1500.0, 3800.0)))
        day = dt.date(2024, 3, day_no)
        t = dt.datetime(2024, 3, day_no, 0, 30, tzinfo=dt.UTC) + dt.timedelta(
            minutes=int(rng.integers(0, 150))
        )
        timed: list[tuple[Point, dt.datetime]] = []
        for p in pts:
            timed.append((p, t))
            t += dt.timedelta(seconds=int(rng.integers(12, 24)))
        if q % 3 == 0:  # signal lost for a while: two segments
            cut = len(timed) // 2
            segments = [timed[: cut - 6], timed[cut + 6 :]]
        else:
            segments = [timed]
        two = rng.choice(len(PEOPLE), size=int(rng.integers(2, 4)), replace=False)
        people = "、".join(PEOPLE[int(i)] for i in two)
        finding, remark = "未发现异常", ""
        if q in (3, 7):
            p, when = timed[len(timed) // 3]
            finding = "发现疑似罂粟 1 处，已拍照并报告镇平安办"
            remark = "已标记航点"
            waypoints.append({"name": f"疑似点{len(waypoints) + 1:02d}", "point": p, "time": when})
        elif q == 5:
            remark = "重点踏查房前屋后"
        counts = [sum(1 for p, _ in timed if g.contains(p)) for g in groups]
        group = GROUP_NAMES[int(np.argmax(counts))]
        name = f"TRK-{day:%m%d}-{q:02d}"
        patrols.append(Patrol(k, group, day, people, finding, remark, name, segments))
    # reported only (no track): one in a patrolled village, two in villages without tracks
    for k, day_no, group in ((4, 20, "二组"), (11, 15, "一组"), (11, 22, "三组")):
        two = rng.choice(len(PEOPLE), size=2, replace=False)
        patrols.append(
            Patrol(
                k,
                group,
                dt.date(2024, 3, day_no),
                "、".join(PEOPLE[int(i)] for i in two),
                "未发现异常",
                "未携带定位设备",
                "",
                [],
            )
        )
    patrols.sort(key=lambda p: (p.day, p.village))
    return patrols, waypoints


def elevation(p: Point) -> float:
    """A smooth, made-up terrain height in metres (for <ele>)."""
    return round(
        300.0
        + 60.0 * math.sin(p.x / 900.0) * math.cos(p.y / 1100.0)
        + 25.0 * math.sin(p.y / 300.0),
        1,
    )


def gpx_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_gpx(path: Path, patrols: list[Patrol], waypoints: list[dict[str, Any]]) -> None:
    """GPX 1.1 as a handheld GPS writes it: waypoints first, then tracks with segments."""
    first = min(t for p in patrols for seg in p.segments for _, t in seg)
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>',
        '<gpx xmlns="http://www.topografix.com/GPX/1/1" creator="eTrex 22x" version="1.1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 '
        'http://www.topografix.com/GPX/1/1/gpx.xsd">',
        f"  <metadata><time>{gpx_time(first)}</time></metadata>",
    ]
    for w in waypoints:
        g = to_store(w["point"])
        out += [
            f'  <wpt lat="{g.y:.7f}" lon="{g.x:.7f}">',
            f"    <ele>{elevation(w['point'])}</ele>",
            f"    <time>{gpx_time(w['time'])}</time>",
            f"    <name>{escape(w['name'])}</name>",
            "    <desc>疑似罂粟种植点 (suspected poppy)</desc>",
            "    <sym>Flag, Red</sym>",
            "  </wpt>",
        ]
    for p in patrols:
        if not p.segments:
            continue
        out += ["  <trk>", f"    <name>{escape(p.track_name)}</name>"]
        for seg in p.segments:
            out.append("    <trkseg>")
            for pt, t in seg:
                g = to_store(pt)
                out.append(
                    f'      <trkpt lat="{g.y:.7f}" lon="{g.x:.7f}"><ele>{elevation(pt)}</ele>'
                    f"<time>{gpx_time(t)}</time></trkpt>"
                )
            out.append("    </trkseg>")
        out.append("  </trk>")
    out.append("</gpx>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def write_patrol_csv(path: Path, patrols: list[Patrol], b: Boundaries) -> None:
    """The patrol table (UTF-8 with BOM): one row per patrol, naming its GPX track if any."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["村、社区", "组", "踏查时间", "踏查人员", "踏查情况", "备注", "轨迹"])
    for p in patrols:
        w.writerow(
            [
                b.names[p.village],
                p.group,
                p.day.isoformat(),
                p.people,
                p.finding,
                p.remark,
                p.track_name,
            ]
        )
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))


# --- writers for boundaries and documentation ------------------------------------------------


def write_boundaries(path: Path, b: Boundaries) -> None:
    """The GeoPackage with layers ``town``, ``villages`` and ``groups`` (EPSG:4490)."""
    if path.exists():
        path.unlink()
    crs = f"EPSG:{STORE_EPSG}"
    town = gpd.GeoDataFrame(
        {"code": [TOWN_CODE], "name": ["福果镇"], "note": [NOTE]},
        geometry=[to_store(b.town)],
        crs=crs,
    )
    villages = gpd.GeoDataFrame(
        {"code": b.codes, "name": b.names, "kind": b.kinds, "note": [NOTE] * len(b.codes)},
        geometry=[to_store(v) for v in b.villages],
        crs=crs,
    )
    rows: list[dict[str, Any]] = []
    for code, groups in zip(b.codes, b.groups, strict=True):
        for q, g in enumerate(groups):
            rows.append(
                {
                    "village_code": code,
                    "name": GROUP_NAMES[q],
                    "note": NOTE,
                    "geometry": to_store(g),
                }
            )
    groups_gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    # a fixed gpkg_contents.last_change, so that regenerating gives the same bytes
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-03-01T00:00:00.000Z"})
    try:
        town.to_file(path, layer="town", driver="GPKG")
        villages.to_file(path, layer="villages", driver="GPKG")
        groups_gdf.to_file(path, layer="groups", driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def write_expected(samples: Path, sites: list[Site], april: list[AprilRow]) -> None:
    with (samples / "expected_cases.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["target_id", "case"])
        for site in sorted(sites, key=lambda s: s.target_id):
            w.writerow([site.target_id, site.case])
    with (samples / "expected_2024-04.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["target_id", "case", "relation", "march_target_id"])
        for row in april:
            w.writerow([row.target_id, "inside", row.relation, row.march_id])


NO_TRACK = "（无轨迹 none）"

BOUNDARIES_README = """\
# 示意村界数据 (illustrative village boundaries)

**示意数据，非官方。** 福果镇各村（社区）的真实边界未公开，本目录中的镇界、村界、组界、村名和
行政区划代码均为程序生成的虚构数据，仅用于演示和测试 geoverify，不得用于任何实际工作。村名为常见
的虚构名称，如与真实村名相同，纯属巧合。

**Illustrative data, not official.** The real village boundaries of Fuguo town (福果镇, Tongliang
district, Chongqing) are not public. The town outline, village and group polygons, names and codes
here are generated and fictional; they exist only to demonstrate and test geoverify.

## 文件 (file)
`fuguo_sample.gpkg` — GeoPackage, EPSG:4490 (CGCS2000 经纬度 / geographic).

| 图层 layer | 字段 columns | 内容 content |
| --- | --- | --- |
| `town` | `code`, `name`, `note` | 镇界：位于真实镇域范围内的不规则多边形，面积 {town_km2:.2f} km² (town outline) |
| `villages` | `code`, `name`, `kind`, `note` | {n_villages} 个村 + 1 个社区，互不重叠、拼合成镇界 (villages and the town-seat community, partitioning the outline) |
| `groups` | `village_code`, `name`, `note` | 每村（社区）3–7 个组，拼合成该村 (3–7 groups per village, partitioning it) |

- `code`：12 位，仿统计用区划代码：`500151`（铜梁区）+ `109`（虚构的镇代码）+ 村级 3 位
  （社区 `001`，村 `201` 起）。12 digits like statistical division codes; the town part is made up.
- `kind`：`村` 或 `社区`。
- `note`：`{note}`。
- 相邻村共用完全相同的顶点（无缝隙、无重叠）——**只有一处故意留下的缝隙**：{gap_a} 与 {gap_b}
  之间一条约 20 m × 450 m 的狭长缝隙（面积约 {gap_m2:.0f} m²），不属于任何村，用来模拟真实边界数据
  中常见的"村界缝隙"。Neighbouring villages share exactly the same vertices, except for ONE
  deliberate sliver gap (about 20 m × 450 m, {gap_m2:.0f} m²) between {gap_a} and {gap_b} that belongs
  to no village, as real boundary data often has.

| code | name | kind | 组数 groups | 面积 area (km²) |
| --- | --- | --- | --- | --- |
{village_rows}

## 如何生成 (how it was generated)
`python scripts/make_sample_data.py`（写入 `data/`；`--out DIR` 写入其他目录）。固定随机种子，
重复运行得到相同的几何和属性。镇界由若干正弦起伏的半径函数生成并缩放到 39 km²；村界为种子点的
Voronoi 图，共用边轻微弯曲后与镇界一起多边形化；组界在每个村内用同样方法生成。
Fixed seeds: running it twice gives the same geometries and attributes. The outline is a
radius function with a few sine harmonics scaled to 39 km²; villages are a Voronoi diagram of
seed points with gently wiggled shared edges, polygonized together with the outline; groups
are made the same way inside each village.

As package data: `importlib.resources.files("geoverify") / "sample_data" / "boundaries"`.
"""

SAMPLES_README = """\
# 示意样例数据 (illustrative sample data)

**示意数据，非官方。** 本目录中的靶标、坐标、日期、人员姓名、踏查记录和土地覆盖均为程序生成的
虚构数据，村名与 `../boundaries/fuguo_sample.gpkg` 一致（同样是虚构的）。
**Illustrative, not official.** Every target, coordinate, date, person's name, patrol and land-cover
cell here is generated and fictional. Village names match `../boundaries/fuguo_sample.gpkg`
(also fictional). Generated by `python scripts/make_sample_data.py` (fixed seeds, deterministic).

## 文件 (files)

| 文件 file | 内容 content |
| --- | --- |
| `district_batch_2024-03.geojson` | 3 月区级下发疑似靶标 {n_march} 个（{n_points} 个点、{n_polys} 个小面），GeoJSON (RFC 7946, WGS84 经纬度)。属性 properties: `靶标编号`, `面积（平方米）`, `影像时间`, `疑似类型`, `备注` |
| `expected_cases.csv` | `target_id,case`：3 月每个靶标设计上应得到的归属情形 (intended assignment case per March target) |
| `district_batch_2024-04.csv` | 4 月下发清单 {n_april} 行，**GBK 编码**（区里 Excel 导出的样子），表头 `序号,靶标编号,经度,纬度,面积（平方米）,影像时间,备注`；奇数行为度分秒（如 `106°02'03.5"`），偶数行为十进制度 (odd rows DMS, even rows decimal degrees) |
| `district_batch_2024-04.xlsx` | 同样的行，第 1 行为标题"2024年4月疑似靶标下发清单"，第 2 行为表头 (same rows; a title row above the header) |
| `expected_2024-04.csv` | `target_id,case,relation,march_target_id`：`reissue` = 3 月已下发的编号再次下发，`repeat` = 新编号但距某个 3 月靶标 30 m 以内（复种点），`new` = 新点 |
| `landcover_sample.tif` | 示意土地覆盖，EPSG:4544，10 m 像元，uint8，deflate 压缩；1 耕地 farmland、2 林地 forest、3 居民点 residential、4 水域 water、5 其他 other；0 = nodata。范围为镇界外包矩形外扩 200 m；距镇界 200 m 以外的像元为 0。Tags `CLASS_1=farmland` … and `CLASS_1_ZH=耕地` … |
| `patrols_2024-03.gpx` | 2024 年 3 月踏查轨迹，GPX 1.1（手持 GPS 的写法），{n_tracks} 条 `<trk>`（部分有两个 `<trkseg>`，模拟信号中断），时间为 UTC；{n_wpt} 个 `<wpt>` 为发现的疑似点。只覆盖 {n_pvill} 个村（社区），其余村没有轨迹 |
| `patrols_2024-03.csv` | 踏查登记表（UTF-8 带 BOM）：`村、社区,组,踏查时间,踏查人员,踏查情况,备注,轨迹`；`轨迹` 为 GPX 中 `<trk><name>`，仅口头上报、无轨迹的行为空 |

坐标：3 月靶标一般保留 7 位小数；两个"恰在村界上"的点保留完整双精度，取自 GPKG 中存储的坐标
（一个为两村共用顶点，一个为共用边上两个相邻顶点的中点）。
Coordinates: March targets are rounded to 7 decimals, except the two points exactly on a shared
boundary, which keep full double precision taken from the stored GeoPackage coordinates (one on a
shared vertex, one at the midpoint of a shared edge segment).

## 归属情形 (assignment cases)
- `inside` 村内：在某村内，且距其他村 > 50 m（点与完全在村内的小面）。
- `near_boundary` 临近村界：在某村内（或恰在村界上），距另一村 ≤ 50 m。
- `gap_nearest` 缝隙就近：不在任何村内，但距最近的村 ≤ 50 m（在故意留的缝隙中，或刚出镇界）。
- `outside` 镇外：距镇界 > 50 m。
- `split` 跨村：小面跨越两村边界。

| 靶标编号 target_id | 情形 case | 说明 detail |
| --- | --- | --- |
{case_rows}

## 4 月批次 (April batch)

全部 15 行都在某村内、距其他村 > 50 m（情形 `inside`）。重新下发的 2 行沿用 3 月的编号和位置
（度分秒取整带来几厘米偏差），所以按 30 m 查找复种点时它们也会匹配到自己的 3 月靶标。
All 15 rows are `inside`. The 2 re-issued rows keep their March id and position (a few cm off from
DMS rounding), so a 30 m repeat-site search also matches them to their own March target.

| 序号 | 靶标编号 | 关系 relation | 对应 3 月靶标 March target |
| --- | --- | --- | --- |
{april_rows}

## 3 月踏查 (March patrols)

| 村、社区 | 组 | 踏查时间 | 轨迹 track |
| --- | --- | --- | --- |
{patrol_rows}
"""


def write_readmes(
    out: Path,
    b: Boundaries,
    sites: list[Site],
    april: list[AprilRow],
    patrols: list[Patrol],
    n_wpt: int,
) -> None:
    inter = [k for k, v in enumerate(b.villages) if v.distance(b.gap) < 1e-6]
    village_rows = "\n".join(
        f"| {c} | {n} | {k} | {len(g)} | {v.area / 1e6:.2f} |"
        for c, n, k, g, v in zip(b.codes, b.names, b.kinds, b.groups, b.villages, strict=True)
    )
    (out / "boundaries" / "README.md").write_text(
        BOUNDARIES_README.format(
            town_km2=b.town.area / 1e6,
            n_villages=len(b.villages) - 1,
            note=NOTE,
            gap_a=b.names[inter[0]],
            gap_b=b.names[inter[1]],
            gap_m2=b.gap.area,
            village_rows=village_rows,
        ),
        encoding="utf-8",
    )
    case_rows = "\n".join(
        f"| {s.target_id} | {s.case} | {s.detail} |"
        for s in sorted(sites, key=lambda s: s.target_id)
    )
    april_rows = "\n".join(
        f"| {q} | {r.target_id} | {r.relation} | {r.march_id} |"
        for q, r in enumerate(april, start=1)
    )
    patrol_rows = "\n".join(
        "| "
        + " | ".join([b.names[p.village], p.group, p.day.isoformat(), p.track_name or NO_TRACK])
        + " |"
        for p in patrols
    )
    n_points = sum(isinstance(s.geom, Point) for s in sites)
    (out / "samples" / "README.md").write_text(
        SAMPLES_README.format(
            n_march=len(sites),
            n_points=n_points,
            n_polys=len(sites) - n_points,
            n_april=len(april),
            n_tracks=sum(1 for p in patrols if p.segments),
            n_wpt=n_wpt,
            n_pvill=len({p.village for p in patrols if p.segments}),
            case_rows=case_rows,
            april_rows=april_rows,
            patrol_rows=patrol_rows,
        ),
        encoding="utf-8",
    )


def generate(out: Path) -> None:
    """Write every sample file under ``out/boundaries`` and ``out/samples``."""
    (out / "boundaries").mkdir(parents=True, exist_ok=True)
    samples = out / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    b = make_boundaries(np.random.default_rng(20240301))
    x0, y0, x1, y1 = to_store(b.town).bounds
    ex0, ey0, ex1, ey1 = TOWN_EXTENT
    assert ex0 < x0 and x1 < ex1 and ey0 < y0 and y1 < ey1, "outline leaves the town's extent"
    write_boundaries(out / "boundaries" / "fuguo_sample.gpkg", b)
    raster, _features = make_landcover(np.random.default_rng(20240302), b)
    write_landcover(samples / "landcover_sample.tif", raster)
    rng_t = np.random.default_rng(20240303)
    sites = make_targets(rng_t, b)
    write_march(samples / "district_batch_2024-03.geojson", sites, b, raster, rng_t)
    rng_a = np.random.default_rng(20240304)
    april = make_april(rng_a, b, sites)
    write_april(samples, april_values(april, rng_a))
    write_expected(samples, sites, april)
    patrols, waypoints = make_patrols(np.random.default_rng(20240305), b)
    write_gpx(samples / "patrols_2024-03.gpx", patrols, waypoints)
    write_patrol_csv(samples / "patrols_2024-03.csv", patrols, b)
    write_readmes(out, b, sites, april, patrols, len(waypoints))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default = Path(__file__).resolve().parents[1] / "data"
    parser.add_argument(
        "--out", type=Path, default=default, help=f"output directory (default {default})"
    )
    args = parser.parse_args(argv)
    generate(args.out)


if __name__ == "__main__":
    main()
