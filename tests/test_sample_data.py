"""Checks that the bundled illustrative sample data is what its READMEs say it is."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio
import shapely
from defusedxml import ElementTree
from pyproj import Transformer
from shapely.geometry import LinearRing, LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_sample_data.py"
METRIC = "EPSG:4544"
NEAR_M = 50.0
GPX_NS = {"g": "http://www.topografix.com/GPX/1/1"}
SAMPLE_FILES = {
    "boundaries": ["fuguo_sample.gpkg", "README.md"],
    "samples": [
        "district_batch_2024-03.geojson",
        "expected_cases.csv",
        "district_batch_2024-04.csv",
        "district_batch_2024-04.xlsx",
        "expected_2024-04.csv",
        "landcover_sample.tif",
        "patrols_2024-03.gpx",
        "patrols_2024-03.csv",
        "README.md",
    ],
}


def data_dir() -> Path:
    return Path(str(files("geoverify") / "sample_data"))


@pytest.fixture(scope="module")
def gpkg() -> Path:
    return data_dir() / "boundaries" / "fuguo_sample.gpkg"


@pytest.fixture(scope="module")
def villages(gpkg: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(gpkg, layer="villages")


@pytest.fixture(scope="module")
def villages_m(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return villages.to_crs(METRIC)


@pytest.fixture(scope="module")
def town_m(gpkg: Path) -> BaseGeometry:
    town = gpd.read_file(gpkg, layer="town")
    assert len(town) == 1
    return town.to_crs(METRIC).geometry.iloc[0]


@pytest.fixture(scope="module")
def groups(gpkg: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(gpkg, layer="groups")


@pytest.fixture(scope="module")
def march() -> gpd.GeoDataFrame:
    frame = gpd.read_file(data_dir() / "samples" / "district_batch_2024-03.geojson")
    expected = pd.read_csv(data_dir() / "samples" / "expected_cases.csv", dtype=str)
    merged = frame.merge(
        expected, left_on="靶标编号", right_on="target_id", how="outer", indicator=True
    )
    assert (merged["_merge"] == "both").all(), "expected_cases.csv and the batch disagree"
    return merged.drop(columns="_merge")


def metric_point(lon: float, lat: float) -> Point:
    x, y = Transformer.from_crs(4490, 4544, always_xy=True).transform(lon, lat)
    return Point(x, y)


def parse_coordinate(value: str) -> float:
    m = re.fullmatch(r"(\d+)°(\d+)'([\d.]+)\"", value)
    if m:
        return int(m[1]) + int(m[2]) / 60 + float(m[3]) / 3600
    return float(value)


# --- package data ----------------------------------------------------------------------------


def test_package_data_is_findable_via_importlib_resources() -> None:
    root = files("geoverify") / "sample_data"
    for folder, names in SAMPLE_FILES.items():
        for name in names:
            assert (root / folder / name).is_file(), f"{folder}/{name} missing"


def test_data_is_small() -> None:
    total = sum(p.stat().st_size for p in data_dir().rglob("*") if p.is_file())
    assert total < 2_000_000


def test_readmes_say_illustrative() -> None:
    for folder in ("boundaries", "samples"):
        text = (data_dir() / folder / "README.md").read_text(encoding="utf-8")
        assert "示意数据，非官方" in text
        assert "not official" in text
        assert "scripts/make_sample_data.py" in text


# --- boundaries ------------------------------------------------------------------------------


def test_layers_are_cgcs2000(gpkg: Path) -> None:
    for layer in ("town", "villages", "groups"):
        assert gpd.read_file(gpkg, layer=layer).crs.to_epsg() == 4490


def test_town_outline_area_and_extent(gpkg: Path, town_m: BaseGeometry) -> None:
    assert isinstance(town_m, Polygon) and town_m.is_valid
    assert 38e6 <= town_m.area <= 40e6
    x0, y0, x1, y1 = gpd.read_file(gpkg, layer="town").total_bounds
    assert 105.999 < x0 < x1 < 106.089
    assert 29.658 < y0 < y1 < 29.744


def test_villages_attributes(villages: gpd.GeoDataFrame) -> None:
    assert list(villages.columns) == ["code", "name", "kind", "note", "geometry"]
    kinds = villages["kind"].value_counts()
    assert 10 <= kinds["村"] <= 14
    assert kinds["社区"] == 1
    assert set(kinds.index) == {"村", "社区"}
    assert villages["code"].is_unique and villages["name"].is_unique
    assert all(re.fullmatch(r"500151\d{6}", c) for c in villages["code"])
    assert (villages["note"] == "示意边界，非官方数据 (illustrative, not official)").all()
    assert villages.geometry.is_valid.all()


def test_villages_do_not_overlap(villages_m: gpd.GeoDataFrame) -> None:
    geoms = list(villages_m.geometry)
    for a, b in itertools.combinations(geoms, 2):
        assert a.intersection(b).area <= 1.0


def test_villages_partition_outline_except_one_gap(
    villages_m: gpd.GeoDataFrame, town_m: BaseGeometry
) -> None:
    union = shapely.union_all(list(villages_m.geometry))
    assert union.difference(town_m).area <= 1.0
    holes = [g for g in shapely.get_parts(town_m.difference(union)) if g.area > 1.0]
    assert len(holes) == 1, "exactly one deliberate gap"
    gap = holes[0]
    assert abs(villages_m.area.sum() + gap.area - town_m.area) <= 1.0
    assert 20 * 300 * 0.6 <= gap.area <= 20 * 600
    width = 2 * shapely.maximum_inscribed_circle(gap, 0.1).length
    assert 15.0 <= width <= 25.0
    assert 300.0 <= gap.length / 2 <= 650.0
    # inside the outline, between exactly two villages
    assert town_m.buffer(-100.0).contains(gap)
    touching = [g for g in villages_m.geometry if g.distance(gap) < 1e-6]
    assert len(touching) == 2


def test_neighbours_share_exact_vertices(villages: gpd.GeoDataFrame) -> None:
    geoms = list(villages.geometry)
    coords = [{tuple(c) for c in shapely.get_coordinates(g)} for g in geoms]
    shared_pairs = 0
    for i, j in itertools.permutations(range(len(geoms)), 2):
        boundary = geoms[j].boundary
        on_other = [c for c in coords[i] if boundary.distance(Point(c)) < 1e-9]
        if len(on_other) > 2:
            shared_pairs += 1
            missing = [c for c in on_other if c not in coords[j]]
            assert not missing, f"{i}->{j}: vertices on the other's edge but not its vertices"
    assert shared_pairs >= 2 * len(geoms)


def test_groups_partition_each_village(
    groups: gpd.GeoDataFrame, villages: gpd.GeoDataFrame
) -> None:
    assert list(groups.columns) == ["village_code", "name", "note", "geometry"]
    assert set(groups["village_code"]) == set(villages["code"])
    names = ["一组", "二组", "三组", "四组", "五组", "六组", "七组"]
    groups_m = groups.to_crs(METRIC)
    for code, village in zip(villages["code"], villages.to_crs(METRIC).geometry, strict=True):
        mine = groups_m[groups_m["village_code"] == code]
        assert 3 <= len(mine) <= 7
        assert list(mine["name"]) == names[: len(mine)]
        parts = list(mine.geometry)
        assert shapely.union_all(parts).symmetric_difference(village).area <= 1.0
        assert abs(sum(p.area for p in parts) - village.area) <= 1.0
        for a, b in itertools.combinations(parts, 2):
            assert a.intersection(b).area <= 1.0


# --- March batch -----------------------------------------------------------------------------


def test_march_geojson_is_rfc7946() -> None:
    doc = json.loads((data_dir() / "samples" / "district_batch_2024-03.geojson").read_text("utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    keys = {"靶标编号", "面积（平方米）", "影像时间", "疑似类型", "备注"}
    for f in doc["features"]:
        assert set(f["properties"]) == keys
        assert f["properties"]["疑似类型"] == "罂粟"
        assert re.fullmatch(r"TL2024-03-\d{3}", f["properties"]["靶标编号"])
        assert re.fullmatch(r"2024-0[12]-\d\d", f["properties"]["影像时间"])
        if f["geometry"]["type"] == "Polygon":
            ring = f["geometry"]["coordinates"][0]
            assert ring[0] == ring[-1]
            assert LinearRing(ring).is_ccw, "RFC 7946 exterior rings are counter-clockwise"


def test_march_batch_composition(march: gpd.GeoDataFrame) -> None:
    assert 55 <= len(march) <= 65
    assert march["target_id"].is_unique
    polys = march[march.geom_type == "Polygon"]
    assert 8 <= len(polys) <= 12
    assert (polys.to_crs(METRIC).area.between(100, 1000)).all()
    counts = march["case"].value_counts()
    assert counts["inside"] == counts.max()
    assert counts["near_boundary"] >= 6
    assert counts["gap_nearest"] >= 3
    assert counts["outside"] >= 3
    assert counts["split"] >= 3
    assert set(polys["case"]) == {"split", "inside"}
    assert (polys["case"] == "inside").sum() >= 3
    assert set(counts.index) == {"inside", "near_boundary", "gap_nearest", "outside", "split"}


def _distances(geom: BaseGeometry, villages_m: gpd.GeoDataFrame) -> np.ndarray[Any, Any]:
    return np.sort(np.asarray(villages_m.distance(geom), dtype=float))


def test_every_case_holds_geometrically(
    march: gpd.GeoDataFrame, villages_m: gpd.GeoDataFrame, town_m: BaseGeometry
) -> None:
    m = march.to_crs(METRIC)
    for tid, case, geom in zip(m["target_id"], m["case"], m.geometry, strict=True):
        d = _distances(geom, villages_m)
        where = f"{tid} ({case})"
        if case == "inside":
            home = villages_m.geometry[villages_m.covers(geom)]
            assert len(home) == 1, where
            assert d[1] > NEAR_M, where
        elif case == "near_boundary":
            assert d[0] < 1e-6, where
            assert d[1] <= NEAR_M, where
        elif case == "gap_nearest":
            assert 0 < d[0] <= NEAR_M, where
        elif case == "outside":
            assert d[0] > NEAR_M and not town_m.intersects(geom), where
        elif case == "split":
            shares = np.asarray(villages_m.intersection(geom).area, dtype=float) / geom.area
            assert (shares > 0.05).sum() >= 2, where
        else:
            pytest.fail(f"unknown case {where}")


def test_points_exactly_on_shared_boundary(
    march: gpd.GeoDataFrame, villages: gpd.GeoDataFrame
) -> None:
    # in the stored coordinates (degrees): distance 0 to two villages
    vertices = {tuple(c) for g in villages.geometry for c in shapely.get_coordinates(g)}
    polygons = np.asarray(villages.geometry)
    on_boundary = [
        g
        for g in march.geometry
        if isinstance(g, Point) and (np.sort(shapely.distance(polygons, g))[:2] < 1e-12).all()
    ]
    assert len(on_boundary) >= 2
    assert any((p.x, p.y) in vertices for p in on_boundary), "one point on a shared vertex"
    assert any((p.x, p.y) not in vertices for p in on_boundary), "one on an edge midpoint"


# --- April batch -----------------------------------------------------------------------------


def april_rows() -> list[dict[str, str]]:
    raw = (data_dir() / "samples" / "district_batch_2024-04.csv").read_bytes()
    return list(csv.DictReader(io.StringIO(raw.decode("gb18030"))))


def test_april_csv_is_gbk() -> None:
    raw = (data_dir() / "samples" / "district_batch_2024-04.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert text.splitlines()[0] == "序号,靶标编号,经度,纬度,面积（平方米）,影像时间,备注"
    rows = april_rows()
    assert 12 <= len(rows) <= 18
    assert any("°" in r["经度"] for r in rows) and any("°" not in r["经度"] for r in rows)


def test_april_reissues_and_repeats(march: gpd.GeoDataFrame, villages_m: gpd.GeoDataFrame) -> None:
    rows = april_rows()
    march_m = march.to_crs(METRIC)
    march_pts = dict(
        zip(march_m["target_id"], march_m.geometry.representative_point(), strict=True)
    )
    text = (data_dir() / "samples" / "expected_2024-04.csv").read_text(encoding="utf-8")
    expected = {r["target_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert [r["靶标编号"] for r in rows] == list(expected)
    relations = {"reissue": 0, "repeat": 0, "new": 0}
    for r in rows:
        p = metric_point(parse_coordinate(r["经度"]), parse_coordinate(r["纬度"]))
        assert (villages_m.covers(p)).sum() == 1, r
        assert _distances(p, villages_m)[1] > NEAR_M, r
        nearest_id = min(march_pts, key=lambda t: march_pts[t].distance(p))
        dist = march_pts[nearest_id].distance(p)
        e = expected[r["靶标编号"]]
        relations[e["relation"]] += 1
        if e["relation"] == "reissue":
            assert r["靶标编号"] in march_pts and nearest_id == r["靶标编号"] and dist < 5.0
        elif e["relation"] == "repeat":
            assert r["靶标编号"] not in march_pts
            assert nearest_id == e["march_target_id"] and 5.0 < dist <= 30.0
        else:
            assert r["靶标编号"] not in march_pts and dist > 30.0
    assert relations["reissue"] == 2 and relations["repeat"] == 2


def test_april_xlsx_matches_csv() -> None:
    wb = openpyxl.load_workbook(data_dir() / "samples" / "district_batch_2024-04.xlsx")
    ws = wb.active
    assert ws is not None
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert values[0][0] == "2024年4月疑似靶标下发清单"
    assert values[1] == ["序号", "靶标编号", "经度", "纬度", "面积（平方米）", "影像时间", "备注"]
    rows = april_rows()
    assert len(values) == len(rows) + 2
    for xl, r in zip(values[2:], rows, strict=True):
        for v, text in zip(xl, r.values(), strict=True):
            if isinstance(v, int | float):
                assert float(text) == v
            else:
                assert ("" if v is None else v) == text


# --- land cover ------------------------------------------------------------------------------


def test_landcover_geotiff(gpkg: Path, town_m: BaseGeometry) -> None:
    with rasterio.open(data_dir() / "samples" / "landcover_sample.tif") as src:
        assert src.crs.to_epsg() == 4544
        assert src.res == (10.0, 10.0)
        assert src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.compression is not None and src.compression.value == "DEFLATE"
        tags = src.tags()
        names = {"1": "farmland", "2": "forest", "3": "residential", "4": "water", "5": "other"}
        for k, v in names.items():
            assert tags[f"CLASS_{k}"] == v
        data = src.read(1)
        bounds = src.bounds
    assert set(np.unique(data)) == {0, 1, 2, 3, 4, 5}
    x0, y0, x1, y1 = town_m.bounds
    assert bounds.left <= x0 - 200 and bounds.bottom <= y0 - 200
    assert bounds.right >= x1 + 200 and bounds.top >= y1 + 200
    # farmland dominates, forest is common, nodata only away from the town
    valid = data[data > 0]
    share = {c: float((valid == c).mean()) for c in range(1, 6)}
    assert share[1] == max(share.values()) and share[2] > 0.1
    assert data[data.shape[0] // 2, data.shape[1] // 2] != 0


# --- patrols ---------------------------------------------------------------------------------


def read_gpx() -> tuple[dict[str, list[tuple[float, float, str]]], list[Any]]:
    root = ElementTree.parse(data_dir() / "samples" / "patrols_2024-03.gpx").getroot()
    assert root.get("version") == "1.1"
    tracks: dict[str, list[tuple[float, float, str]]] = {}
    for trk in root.findall("g:trk", GPX_NS):
        name = trk.findtext("g:name", namespaces=GPX_NS)
        assert name
        pts = []
        for seg in trk.findall("g:trkseg", GPX_NS):
            for pt in seg.findall("g:trkpt", GPX_NS):
                pts.append(
                    (
                        float(pt.get("lon")),
                        float(pt.get("lat")),
                        pt.findtext("g:time", namespaces=GPX_NS),
                    )
                )
        tracks[name] = pts
    return tracks, root.findall("g:wpt", GPX_NS)


def test_gpx_parses_with_times() -> None:
    tracks, waypoints = read_gpx()
    assert len(tracks) >= 4
    stamp = re.compile(r"2024-03-\d\dT\d\d:\d\d:\d\dZ")
    for pts in tracks.values():
        assert all(t is not None and stamp.fullmatch(t) for _, _, t in pts)
        times = [t for _, _, t in pts]
        assert times == sorted(times)
    assert len(waypoints) >= 2
    for w in waypoints:
        assert stamp.fullmatch(w.findtext("g:time", namespaces=GPX_NS) or "")


def test_patrol_table_matches_tracks_and_villages(
    villages: gpd.GeoDataFrame, groups: gpd.GeoDataFrame
) -> None:
    raw = (data_dir() / "samples" / "patrols_2024-03.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == ["村、社区", "组", "踏查时间", "踏查人员", "踏查情况", "备注", "轨迹"]
    tracks, _ = read_gpx()
    by_name = dict(zip(villages["name"], villages.to_crs(METRIC).geometry, strict=True))
    code_of = dict(zip(villages["name"], villages["code"], strict=True))
    to_m = Transformer.from_crs(4490, 4544, always_xy=True)
    tracked_villages = set()
    for r in rows:
        assert r["村、社区"] in by_name
        group_names = set(groups.loc[groups["village_code"] == code_of[r["村、社区"]], "name"])
        assert r["组"] in group_names
        assert re.fullmatch(r"2024-03-\d\d", r["踏查时间"])
        assert r["踏查人员"] and r["踏查情况"]
        if not r["轨迹"]:
            continue
        pts = tracks[r["轨迹"]]
        xs, ys = to_m.transform([p[0] for p in pts], [p[1] for p in pts])
        line = LineString(list(zip(xs, ys, strict=True)))
        assert 1000.0 <= line.length <= 5000.0
        assert by_name[r["村、社区"]].contains(line)
        # 01:30Z is 09:30 in Asia/Shanghai: same local date as the table says
        assert all(t.startswith(r["踏查时间"]) for _, _, t in pts)
        tracked_villages.add(r["村、社区"])
    assert {r["轨迹"] for r in rows if r["轨迹"]} == set(tracks)
    assert any(not r["轨迹"] for r in rows)
    assert 4 <= len(tracked_villages) <= 6
    assert len(tracked_villages) < len(villages)


# --- determinism -----------------------------------------------------------------------------


def test_generator_is_deterministic(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, timeout=300)
    here = data_dir()
    for layer in ("town", "villages", "groups"):
        a = gpd.read_file(here / "boundaries" / "fuguo_sample.gpkg", layer=layer)
        b = gpd.read_file(tmp_path / "boundaries" / "fuguo_sample.gpkg", layer=layer)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        assert list(a.geometry.to_wkb()) == list(b.geometry.to_wkb()), layer
    for name in SAMPLE_FILES["samples"]:
        if name.endswith((".tif", ".xlsx")):
            continue
        assert (here / "samples" / name).read_bytes() == (
            tmp_path / "samples" / name
        ).read_bytes(), name
    assert (here / "boundaries" / "README.md").read_bytes() == (
        tmp_path / "boundaries" / "README.md"
    ).read_bytes()
    with (
        rasterio.open(here / "samples" / "landcover_sample.tif") as a,
        rasterio.open(tmp_path / "samples" / "landcover_sample.tif") as b,
    ):
        assert a.profile == b.profile and a.tags() == b.tags()
        assert np.array_equal(a.read(1), b.read(1))
    wa = openpyxl.load_workbook(here / "samples" / "district_batch_2024-04.xlsx").active
    wb = openpyxl.load_workbook(tmp_path / "samples" / "district_batch_2024-04.xlsx").active
    assert wa is not None and wb is not None
    assert list(wa.iter_rows(values_only=True)) == list(wb.iter_rows(values_only=True))


def test_dms_parser_used_here_is_right() -> None:
    assert math.isclose(parse_coordinate("106°02'03.5\""), 106 + 2 / 60 + 3.5 / 3600)
    assert parse_coordinate("29.70125") == 29.70125
