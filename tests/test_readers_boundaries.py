"""Tests for geoverify.readers.boundaries with real GPKG/SHP/GeoJSON/KML/CSV files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from geoverify.errors import CRSError, InputError
from geoverify.readers.boundaries import read_groups, read_villages


def _square(x: float, y: float, d: float = 0.01) -> Polygon:
    return box(x, y, x + d, y + d)


def _villages(**extra: list[object]) -> gpd.GeoDataFrame:
    data: dict[str, list[object]] = {
        "村名": ["福果村", "石堰社区", "龙井村"],
        "备注": ["a", None, "c"],
        **extra,
    }
    return gpd.GeoDataFrame(
        data,
        geometry=[_square(106.00, 29.70), _square(106.01, 29.70), _square(106.00, 29.71)],
        crs=4490,
    )


def test_gpkg_default_layer_generated_codes_and_kinds(tmp_path: Path) -> None:
    gpkg = tmp_path / "b.gpkg"
    _villages().to_file(gpkg, layer="town")
    _villages().to_file(gpkg, layer="villages")
    read = read_villages(gpkg)
    assert read.problems == []
    assert read.name_field == "村名"
    assert read.code_field is None
    assert read.frame.crs.to_epsg() == 4490
    assert list(read.frame.columns) == ["code", "name", "kind", "attributes", "geometry"]
    # Codes are V + rank of the name in sort order: 石堰社区 < 福果村 < 龙井村 (code points).
    order = sorted(["福果村", "石堰社区", "龙井村"])
    expected = {name: f"V{i:03d}" for i, name in enumerate(order, start=1)}
    assert dict(zip(read.frame["name"], read.frame["code"], strict=True)) == expected
    assert read.frame["kind"].tolist() == ["村", "社区", "村"]
    assert read.frame["attributes"].iloc[0] == {"村名": "福果村", "备注": "a"}
    assert read.frame["attributes"].iloc[1]["备注"] is None
    assert read.rows == [1, 2, 3]
    # deterministic: the same file gives the same codes
    assert read_villages(gpkg).frame["code"].tolist() == read.frame["code"].tolist()


def test_explicit_fields_and_numeric_codes(tmp_path: Path) -> None:
    path = tmp_path / "v.geojson"
    frame = _villages(
        XZQDM=[500151109001, 500151109002, 500151109003],
        类型=["村委会", "社区", None],
    )
    frame.to_file(path)
    read = read_villages(path)
    assert read.code_field == "XZQDM"
    assert read.frame["code"].tolist() == ["500151109001", "500151109002", "500151109003"]
    assert read.frame["kind"].tolist() == ["村", "社区", "村"]
    other = read_villages(path, name_field="备注", code_field="XZQDM")
    assert other.frame["name"].tolist() == ["a", "c"]
    assert [p.code for p in other.problems] == ["missing_name"]
    assert other.problems[0].row == 2


def test_missing_name_field_lists_fields(tmp_path: Path) -> None:
    path = tmp_path / "v.gpkg"
    gpd.GeoDataFrame({"foo": ["x"], "bar": [1]}, geometry=[_square(106, 29.7)], crs=4490).to_file(
        path, layer="villages"
    )
    with pytest.raises(InputError, match="--name-field") as info:
        read_villages(path)
    assert "foo, bar" in str(info.value)
    with pytest.raises(InputError, match="nope"):
        read_villages(path, name_field="nope")
    assert read_villages(path, name_field="foo").frame["name"].tolist() == ["x"]


def test_problems_are_reported_and_rows_left_out(tmp_path: Path) -> None:
    path = tmp_path / "v.gpkg"
    frame = gpd.GeoDataFrame(
        {
            "name": ["甲村", "乙村", "甲村", None, "丙村", "丁村", "戊村", "己社区"],
            "code": ["1", "2", "3", "4", "2", "6", "7", "8"],
            "kind": ["村", "村", "村", "村", "村", "村", "镇", None],
        },
        geometry=[
            _square(106.00, 29.70),
            _square(106.01, 29.70),
            _square(106.02, 29.70),
            _square(106.03, 29.70),
            _square(106.04, 29.70),
            LineString([(106, 29.7), (106.01, 29.71)]),
            _square(106.05, 29.70),
            None,
        ],
        crs=4490,
    )
    frame.to_file(path, layer="villages")
    read = read_villages(path)
    assert read.frame["name"].tolist() == ["甲村", "乙村"]
    assert read.rows == [1, 2]
    got = {(p.row, p.code) for p in read.problems}
    assert got == {
        (3, "duplicate_name"),
        (4, "missing_name"),
        (5, "duplicate_code"),
        (6, "unsupported_geometry"),
        (7, "bad_kind"),
        (8, "empty_geometry"),
    }
    dup = next(p for p in read.problems if p.code == "duplicate_name")
    assert "第 1 个" in dup.reason
    assert dup.value == "甲村"


def test_projected_gpkg_is_reprojected(tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    original = _villages()
    original.to_crs(4544).to_file(path, layer="villages")
    read = read_villages(path)
    assert read.frame.crs.to_epsg() == 4490
    for got, want in zip(read.frame.geometry, original.geometry, strict=True):
        assert got.bounds == pytest.approx(want.bounds, abs=1e-7)


def test_gbk_shapefile_zip_without_prj(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    frame = _villages()
    frame["geometry"] = [MultiPolygon([g]) for g in frame.geometry]
    shp = src / "村界.shp"
    pyogrio.write_dataframe(frame, shp, encoding="GBK")
    (src / "村界.cpg").unlink()
    (src / "村界.prj").unlink()
    archive = tmp_path / "村界.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in src.iterdir():
            zf.write(part, part.name)
    with pytest.raises(CRSError, match="--crs"):
        read_villages(archive)
    read = read_villages(archive, crs="EPSG:4490")
    assert read.frame["name"].tolist() == ["福果村", "石堰社区", "龙井村"]
    assert all(g.geom_type in ("Polygon", "MultiPolygon") for g in read.frame.geometry)


def test_kml_villages_with_z(tmp_path: Path) -> None:
    def ring(x: float) -> str:
        return f"{x},29.7,5 {x + 0.01},29.7,5 {x + 0.01},29.71,5 {x},29.71,5 {x},29.7,5"

    doc = "<kml><Document>" + "".join(
        f"<Placemark><name>{n}</name><Polygon><outerBoundaryIs><LinearRing>"
        f"<coordinates>{ring(106 + i / 100)}</coordinates></LinearRing></outerBoundaryIs>"
        "</Polygon></Placemark>"
        for i, n in enumerate(["福果村", "福果社区"])
    )
    doc += "<Placemark><name>点</name><Point><coordinates>106,29.7</coordinates></Point>"
    doc += "</Placemark></Document></kml>"
    path = tmp_path / "v.kml"
    path.write_text(doc, encoding="utf-8")
    read = read_villages(path)
    assert read.name_field == "name"
    assert read.frame["kind"].tolist() == ["村", "社区"]
    assert not any(g.has_z for g in read.frame.geometry)
    assert read.frame.crs.to_epsg() == 4490
    assert [p.code for p in read.problems] == ["unsupported_geometry"]


def test_invalid_polygon_is_kept_unrepaired(tmp_path: Path) -> None:
    bowtie = Polygon([(106, 29.7), (106.01, 29.71), (106.01, 29.7), (106, 29.71), (106, 29.7)])
    assert not bowtie.is_valid
    path = tmp_path / "v.geojson"
    gpd.GeoDataFrame({"名称": ["坏村"]}, geometry=[bowtie], crs=4326).to_file(path)
    read = read_villages(path)
    assert read.problems == []
    assert not read.frame.geometry.iloc[0].is_valid


def test_groups_gpkg_with_polygons(tmp_path: Path) -> None:
    path = tmp_path / "b.gpkg"
    _villages().to_file(path, layer="villages")
    groups = gpd.GeoDataFrame(
        {
            "village_code": ["V1", "V1", "V2", "V2", None],
            "name": ["一组", "二组", "一组", "一组", "三组"],
        },
        geometry=[
            _square(106.0, 29.7, 0.005),
            _square(106.005, 29.7, 0.005),
            _square(106.01, 29.7, 0.005),
            _square(106.015, 29.7, 0.005),
            _square(106.0, 29.705, 0.005),
        ],
        crs=4490,
    )
    groups.to_file(path, layer="groups")
    read = read_groups(path)
    assert read.village_field == "village_code"
    assert read.name_field == "name"
    assert read.frame["village"].tolist() == ["V1", "V1", "V2"]
    assert read.frame["name"].tolist() == ["一组", "二组", "一组"]
    assert read.rows == [1, 2, 3]
    assert read.frame.crs.to_epsg() == 4490
    assert {(p.row, p.code) for p in read.problems} == {
        (4, "duplicate_group"),
        (5, "missing_village"),
    }


def test_groups_from_attribute_table_and_csv(tmp_path: Path) -> None:
    path = tmp_path / "g.gpkg"
    table = pd.DataFrame({"村名": ["福果村", "福果村"], "组": ["一组", "二组"]})
    pyogrio.write_dataframe(table, path, layer="groups")
    read = read_groups(path)
    assert read.frame["name"].tolist() == ["一组", "二组"]
    assert read.frame.geometry.isna().all()

    csv = tmp_path / "组.csv"
    csv.write_bytes("村（社区）,组名,备注\n福果村,一组,\n石堰社区,三组,x\n".encode("gbk"))
    read = read_groups(csv)
    assert read.village_field == "村（社区）"
    assert read.frame["village"].tolist() == ["福果村", "石堰社区"]
    assert read.frame["name"].tolist() == ["一组", "三组"]
    assert read.rows == [2, 3]
    assert read.frame.geometry.isna().all()
    assert read.frame["attributes"].iloc[1]["备注"] == "x"


def test_groups_missing_fields(tmp_path: Path) -> None:
    path = tmp_path / "g.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"村名": "福果村", "x": 1}, "geometry": None}
        ],
    }
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError, match="--name-field"):
        read_groups(path)
    read = read_groups(path, name_field="x")
    assert read.frame["name"].tolist() == ["1"]
    with pytest.raises(InputError, match="--village-field"):
        read_groups(path, village_field="nope")


def test_group_with_point_geometry_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "g.geojson"
    gpd.GeoDataFrame(
        {"村名": ["福果村"], "组": ["一组"]}, geometry=[Point(106, 29.7)], crs=4326
    ).to_file(path)
    read = read_groups(path)
    assert len(read.frame) == 0
    assert [p.code for p in read.problems] == ["unsupported_geometry"]
