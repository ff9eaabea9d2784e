"""Tests for geoverify.readers.vector with real files written in tmp_path."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from pyproj import CRS
from shapely.geometry import Point, Polygon

from geoverify.errors import CRSError, InputError
from geoverify.readers.vector import dbf_encoding, is_vector_file, list_layers, read_vector

NAMES = ["福果村", "石堰社区", "龙井村"]


def _points(crs: int | None = 4490) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"村名": NAMES, "备注": ["一", "", "三组"], "n": [1, 2, 3]},
        geometry=[Point(106.01, 29.70), Point(106.02, 29.71), Point(106.03, 29.72)],
        crs=crs,
    )


def _gbk_shapefile(folder: Path, stem: str = "gbk") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shp = folder / f"{stem}.shp"
    pyogrio.write_dataframe(_points(), shp, encoding="GBK")
    (folder / f"{stem}.cpg").unlink()
    return shp


def test_is_vector_file() -> None:
    for name in ["a.gpkg", "a.SHP", "a.zip", "a.geojson", "a.json", "a.kml", "a.KMZ"]:
        assert is_vector_file(name)
    for name in ["a.csv", "a.xlsx", "a.gpx", "a", "a.tif"]:
        assert not is_vector_file(name)


def test_gbk_shapefile_without_cpg_decodes(tmp_path: Path) -> None:
    shp = _gbk_shapefile(tmp_path)
    raw = (tmp_path / "gbk.dbf").read_bytes()
    assert "福果村".encode("gbk") in raw  # really GBK on disk
    assert not (tmp_path / "gbk.cpg").exists()
    assert dbf_encoding(raw) == "GB18030"

    read = read_vector(shp)
    assert list(read.frame.columns) == ["村名", "备注", "n", "geometry"]
    assert read.frame["村名"].tolist() == NAMES
    assert read.frame["备注"].tolist()[2] == "三组"
    assert read.rows == [1, 2, 3]
    assert read.source == str(shp)
    assert read.crs.to_epsg() == 4490


def test_utf8_shapefile_without_cpg_decodes(tmp_path: Path) -> None:
    shp = tmp_path / "u.shp"
    pyogrio.write_dataframe(_points(), shp, encoding="UTF-8")
    (tmp_path / "u.cpg").unlink()
    assert dbf_encoding((tmp_path / "u.dbf").read_bytes()) == "UTF-8"
    assert read_vector(shp).frame["村名"].tolist() == NAMES


def test_ascii_dbf_needs_no_encoding(tmp_path: Path) -> None:
    shp = tmp_path / "a.shp"
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[Point(0, 0), Point(1, 1)], crs=4490)
    pyogrio.write_dataframe(frame, shp)
    assert dbf_encoding((tmp_path / "a.dbf").read_bytes()) is None


def test_gbk_shapefile_zip_in_subfolder(tmp_path: Path) -> None:
    shp = _gbk_shapefile(tmp_path / "src")
    archive = tmp_path / "村界.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp.parent.iterdir():
            zf.write(part, f"数据/{part.name}")
    read = read_vector(archive)
    assert read.frame["村名"].tolist() == NAMES
    assert read.crs.to_epsg() == 4490
    assert read.source == str(archive)


def test_zip_with_several_shapefiles_needs_layer(tmp_path: Path) -> None:
    a = _gbk_shapefile(tmp_path / "src", "villages")
    _gbk_shapefile(tmp_path / "src", "groups")
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in a.parent.iterdir():
            zf.write(part, part.name)
    with pytest.raises(InputError, match=r"--layer") as info:
        read_vector(archive)
    assert "villages.shp" in str(info.value)
    assert "groups.shp" in str(info.value)
    assert read_vector(archive, layer="groups").frame["村名"].tolist() == NAMES
    assert read_vector(archive, layer="villages.shp").rows == [1, 2, 3]
    with pytest.raises(InputError, match="nope"):
        read_vector(archive, layer="nope")


def test_zip_without_shapefile(tmp_path: Path) -> None:
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "nothing")
    with pytest.raises(InputError, match=r"empty\.zip"):
        read_vector(archive)


def test_gpkg_layers(tmp_path: Path) -> None:
    gpkg = tmp_path / "b.gpkg"
    _points().to_file(gpkg, layer="villages")
    _points().iloc[:2].to_file(gpkg, layer="groups")
    pyogrio.write_dataframe(pd.DataFrame({"x": ["一", "二"]}), gpkg, layer="table")
    assert list_layers(gpkg) == ["villages", "groups", "table"]
    with pytest.raises(InputError, match="--layer") as info:
        read_vector(gpkg)
    assert "villages, groups, table" in str(info.value)
    assert read_vector(gpkg, layer="groups").frame["村名"].tolist() == NAMES[:2]
    table = read_vector(gpkg, layer="table")
    assert table.frame["x"].tolist() == ["一", "二"]
    assert table.frame.geometry.isna().all()
    with pytest.raises(InputError, match="nope"):
        read_vector(gpkg, layer="nope")


def test_gpkg_single_layer_and_projected_crs_kept(tmp_path: Path) -> None:
    gpkg = tmp_path / "p.gpkg"
    _points().to_crs(4544).to_file(gpkg, layer="only")
    read = read_vector(gpkg)
    assert read.crs.to_epsg() == 4544
    assert read.frame.crs.to_epsg() == 4544
    assert read.frame.geometry.iloc[0].x > 100_000  # metres, untouched


def test_geojson_is_wgs84(tmp_path: Path) -> None:
    path = tmp_path / "t.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"靶标编号": f"TL-{i}", "面积（平方米）": 12.5},
                "geometry": {"type": "Point", "coordinates": [106.0 + i / 100, 29.7]},
            }
            for i in range(3)
        ]
        + [
            {
                "type": "Feature",
                "properties": {"靶标编号": "TL-P", "面积（平方米）": None},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[106, 29.7], [106.001, 29.7], [106.001, 29.701], [106, 29.7]]],
                },
            }
        ],
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    read = read_vector(path)
    assert read.crs.to_epsg() == 4326
    assert read.frame["靶标编号"].tolist() == ["TL-0", "TL-1", "TL-2", "TL-P"]
    assert read.rows == [1, 2, 3, 4]
    assert read.frame.geometry.iloc[3].geom_type == "Polygon"
    # CGCS2000 given for a WGS84 file is accepted (same at map scale); the file's CRS is kept.
    assert read_vector(path, crs="EPSG:4490").crs.to_epsg() == 4326


def test_shapefile_without_prj(tmp_path: Path) -> None:
    shp = tmp_path / "noprj.shp"
    pyogrio.write_dataframe(_points(), shp, encoding="UTF-8")
    (tmp_path / "noprj.prj").unlink()
    with pytest.raises(CRSError, match=r"--crs") as info:
        read_vector(shp)
    assert "noprj.shp" in str(info.value)
    read = read_vector(shp, crs="EPSG:4490")
    assert read.crs.to_epsg() == 4490
    assert read.frame.crs.to_epsg() == 4490
    assert read.frame["村名"].tolist() == NAMES


def test_conflicting_crs_is_refused(tmp_path: Path) -> None:
    gpkg = tmp_path / "p.gpkg"
    _points().to_crs(4544).to_file(gpkg, layer="only")
    with pytest.raises(InputError, match="4544"):
        read_vector(gpkg, crs="EPSG:4490")
    assert read_vector(gpkg, crs=CRS.from_epsg(4544)).crs.to_epsg() == 4544
    with pytest.raises(CRSError):
        read_vector(gpkg, crs="not a crs")


def test_missing_corrupt_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothere\.gpkg"):
        read_vector(tmp_path / "nothere.gpkg")
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"this is not a geopackage at all" * 10)
    with pytest.raises(InputError, match=r"bad\.gpkg"):
        read_vector(bad)
    bad_json = tmp_path / "bad.geojson"
    bad_json.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.geojson"):
        read_vector(bad_json)
    empty = tmp_path / "empty.gpkg"
    _points().iloc[:0].to_file(empty, layer="v")
    with pytest.raises(InputError, match=r"empty\.gpkg.*没有要素"):
        read_vector(empty)
    with pytest.raises(InputError, match="不支持"):
        (tmp_path / "x.csv").write_text("a\n1\n", encoding="utf-8")
        read_vector(tmp_path / "x.csv")


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>TL-1</name><Point><coordinates>106.01,29.70,0</coordinates></Point></Placemark>
<Placemark><name>TL-2</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
106,29.7 106.001,29.7 106.001,29.701 106,29.7</coordinates></LinearRing></outerBoundaryIs>
</Polygon></Placemark>
</Document></kml>"""


def test_kml_and_kmz_through_read_vector(tmp_path: Path) -> None:
    kml = tmp_path / "t.kml"
    kml.write_text(KML, encoding="utf-8")
    read = read_vector(kml)
    assert read.frame["name"].tolist() == ["TL-1", "TL-2"]
    assert read.crs.to_epsg() == 4326
    assert read.rows == [1, 2]
    assert isinstance(read.frame.geometry.iloc[1], Polygon)

    kmz = tmp_path / "t.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.writestr("files/other.kml", KML.replace("TL-1", "WRONG"))
        zf.writestr("doc.kml", KML)
    assert read_vector(kmz).frame["name"].tolist() == ["TL-1", "TL-2"]
