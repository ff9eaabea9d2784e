"""`geoverify init` and `geoverify villages import|list` on real files, SQLite and PostGIS."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geoverify.store import Store, repo
from geoverify.workflows import sample_boundaries
from tests.conftest import Cli, snapshot


def _sample(layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(sample_boundaries(), layer=layer)


def test_init_loads_the_bundled_sample(run: Cli) -> None:
    res = run("init", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    villages = _sample("villages")
    assert doc["sample"] is True
    assert doc["villages"]["imported"] == len(villages)
    assert doc["villages"]["illustrative"] is True
    assert doc["groups"]["imported"] == len(_sample("groups"))
    # The deliberate sliver between two villages is reported with its area.
    assert len(doc["villages"]["gaps"]) == 1
    assert doc["villages"]["gaps"][0]["area_m2"] > 1000

    listed = json.loads(run("villages", "list", "--json").stdout)
    assert sorted(v["name"] for v in listed) == sorted(villages["name"])
    assert {v["kind"] for v in listed} == {"村", "社区"}
    assert sum(v["area_km2"] for v in listed) == pytest.approx(39, abs=1.5)
    assert all(v["groups"] >= 3 for v in listed)


def test_init_twice_changes_nothing(run: Cli) -> None:
    assert run("init").exit_code == 0
    store = run.store()
    before = snapshot(store)
    res = run("init", "--json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["villages"]["status"] == "already_imported"
    assert snapshot(store) == before


def _write(frame: gpd.GeoDataFrame, path: Path, **kw: object) -> Path:
    pyogrio.write_dataframe(frame, path, **kw)
    return path


def _shp_zip(frame: gpd.GeoDataFrame, tmp: Path, *, encoding: str = "UTF-8") -> Path:
    d = tmp / "shp"
    d.mkdir()
    _write(frame, d / "村界.shp", encoding=encoding)
    if encoding.upper() != "UTF-8":
        (d / "村界.cpg").unlink(missing_ok=True)
    z = tmp / "村界.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in d.iterdir():
            zf.write(f, f.name)
    return z


def _kml(frame: gpd.GeoDataFrame, path: Path) -> Path:
    marks = []
    for r in frame.itertuples():
        geom = r.geometry.geoms[0] if r.geometry.geom_type == "MultiPolygon" else r.geometry
        coords = " ".join(f"{x},{y}" for x, y in geom.exterior.coords)
        marks.append(
            f"<Placemark><name>{r.村名}</name><Polygon><outerBoundaryIs><LinearRing>"
            f"<coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
            "</Placemark>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document>{''.join(marks)}</Document></kml>",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("fmt", ["gpkg", "shp_zip_gbk", "geojson", "kml", "projected_gpkg"])
def test_init_with_real_boundary_files(run: Cli, tmp_path: Path, fmt: str) -> None:
    villages = _sample("villages").rename(columns={"name": "村名", "code": "XZQDM"})
    villages = villages[["XZQDM", "村名", "geometry"]]
    if fmt == "gpkg":
        path = _write(villages, tmp_path / "村界.gpkg", layer="村界")
    elif fmt == "shp_zip_gbk":
        path = _shp_zip(villages, tmp_path, encoding="GBK")
    elif fmt == "geojson":
        path = _write(villages, tmp_path / "村界.geojson")
    elif fmt == "kml":
        path = _kml(villages, tmp_path / "村界.kml")
    else:
        path = _write(villages.to_crs(4544), tmp_path / "村界_4544.gpkg")
    res = run("init", "--boundaries", str(path), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["villages"]["imported"] == len(villages)
    assert doc["villages"]["illustrative"] is False
    listed = json.loads(run("villages", "list", "--json").stdout)
    assert sorted(v["name"] for v in listed) == sorted(villages["村名"])
    if fmt != "kml":  # KML has no code attribute: codes are generated
        assert sorted(v["code"] for v in listed) == sorted(villages["XZQDM"].astype(str))


def _empty_workspace(run: Cli, tmp_path: Path) -> Store:
    """A workspace whose villages come from a tiny two-village file."""
    a = shapely.box(106.00, 29.70, 106.01, 29.71)
    b = shapely.box(106.01, 29.70, 106.02, 29.71)
    frame = gpd.GeoDataFrame(
        {"NAME": ["甲村", "乙村"], "code": ["1", "2"]}, geometry=[a, b], crs=4490
    )
    path = _write(frame, tmp_path / "two.gpkg")
    assert run("init", "--boundaries", str(path)).exit_code == 0
    return run.store()


def test_village_with_a_different_boundary_is_refused(run: Cli, tmp_path: Path) -> None:
    store = _empty_workspace(run, tmp_path)
    before = snapshot(store)
    moved = gpd.GeoDataFrame(
        {"NAME": ["甲村"], "code": ["1"]},
        geometry=[shapely.box(106.0, 29.70, 106.012, 29.71)],
        crs=4490,
    )
    path = _write(moved, tmp_path / "moved.gpkg")
    res = run("villages", "import", str(path))
    assert res.exit_code == 1
    assert "moved.gpkg" in res.stderr and "第 1 行" in res.stderr and "不会覆盖" in res.stderr
    assert snapshot(store) == before


def test_boundary_file_without_crs_needs_crs(run: Cli, tmp_path: Path) -> None:
    store = _empty_workspace(run, tmp_path)
    before = snapshot(store)
    frame = gpd.GeoDataFrame(
        {"NAME": ["丙村"]}, geometry=[shapely.box(106.02, 29.70, 106.03, 29.71)]
    )
    d = tmp_path / "nocrs"
    d.mkdir()
    with pytest.warns(UserWarning, match="crs"):
        path = _write(frame, d / "nocrs.shp")
    res = run("villages", "import", str(path))
    assert res.exit_code == 1
    assert "nocrs.shp" in res.stderr and "--crs" in res.stderr
    assert snapshot(store) == before
    res = run("villages", "import", str(path), "--crs", "EPSG:4490", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["imported"] == 1


def test_boundary_file_without_a_name_field(run: Cli, tmp_path: Path) -> None:
    store = _empty_workspace(run, tmp_path)
    before = snapshot(store)
    frame = gpd.GeoDataFrame(
        {"foo": ["丙村"]}, geometry=[shapely.box(106.02, 29.70, 106.03, 29.71)], crs=4490
    )
    path = _write(frame, tmp_path / "noname.geojson")
    res = run("villages", "import", str(path))
    assert res.exit_code == 1
    assert "noname.geojson" in res.stderr and "--name-field" in res.stderr
    assert snapshot(store) == before
    res = run("villages", "import", str(path), "--name-field", "foo", "--json")
    assert res.exit_code == 0, res.output


def test_invalid_polygon_is_repaired_and_overlap_reported(run: Cli, tmp_path: Path) -> None:
    _empty_workspace(run, tmp_path)
    bowtie = shapely.Polygon(
        [(106.02, 29.70), (106.03, 29.71), (106.03, 29.70), (106.02, 29.71), (106.02, 29.70)]
    )
    overlapping = shapely.box(106.015, 29.70, 106.02, 29.705)  # overlaps 乙村
    frame = gpd.GeoDataFrame(
        {"NAME": ["丙村", "丁村"], "code": ["3", "4"]}, geometry=[bowtie, overlapping], crs=4490
    )
    path = _write(frame, tmp_path / "bad.gpkg")
    res = run("villages", "import", str(path), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["imported"] == 2
    assert len(doc["repairs"]) == 1 and doc["repairs"][0]["name"] == "丙村"
    assert [(o["a"], o["b"]) for o in doc["overlaps"]] == [("乙村", "丁村")]
    assert doc["overlaps"][0]["area_m2"] == pytest.approx(
        0.005 * 0.005 * 96_700 * 111_000, rel=0.05
    )


def test_groups_import_from_a_table_and_unknown_village(run: Cli, tmp_path: Path) -> None:
    store = _empty_workspace(run, tmp_path)
    before = snapshot(store)
    bad = tmp_path / "组.csv"
    bad.write_text("村名,组名\n甲村,一组\n戊村,二组\n", encoding="utf-8")
    res = run("villages", "import", str(bad), "--groups")
    assert res.exit_code == 1
    assert "组.csv" in res.stderr and "第 3 行" in res.stderr and "戊村" in res.stderr
    assert snapshot(store) == before
    good = tmp_path / "组2.csv"
    good.write_text("村名,组名\n甲村,一组\n乙村,一组\n", encoding="utf-8")
    res = run("villages", "import", str(good), "--groups", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["imported"] == 2


def test_group_with_a_spike_is_stored_as_its_area(run: Cli, tmp_path: Path) -> None:
    """An invalid group polygon with a spike is repaired to its area alone: the spike's line
    would otherwise be stored and later "cover" targets along it."""
    store = _empty_workspace(run, tmp_path)
    spike = shapely.Polygon(
        [
            (106.0, 29.70),
            (106.005, 29.70),
            (106.005, 29.705),
            (106.009, 29.705),
            (106.005, 29.705),
            (106.0, 29.705),
        ]
    )
    assert not spike.is_valid
    frame = gpd.GeoDataFrame({"村名": ["甲村"], "组名": ["一组"]}, geometry=[spike], crs=4490)
    path = _write(frame, tmp_path / "spike.gpkg")
    res = run("villages", "import", str(path), "--groups", "--json")
    assert res.exit_code == 0, res.output
    with store.connect() as conn:
        groups = repo.load_groups(conn)
    stored = groups.geometry.iloc[0]
    assert stored.geom_type == "MultiPolygon" and stored.is_valid
    assert stored.equals(shapely.box(106.0, 29.70, 106.005, 29.705))
