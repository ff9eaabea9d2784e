"""Tests for geoverify.readers.targets: district target files to checked rows and problems."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from geoverify.errors import CRSError, InputError, RowProblem
from geoverify.readers.targets import MU_TO_M2, read_targets
from geoverify.values import is_missing

LON, LAT = 106.05, 29.8  # Fuguo town, Tongliang


def _csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _codes(problems: list[RowProblem]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for p in problems:
        out.setdefault(p.row, []).append(p.code)
    return out


def test_csv_with_decimal_and_dms_coordinates(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "batch.csv",
        "靶标编号,经度,纬度,面积（平方米）,影像时间,备注\n"
        f"TL-001,{LON},{LAT},120.5,2024-03-15,房前屋后\n"
        'TL-002,"106°03\'00""E",29°48\'N,,2024年3月16日,\n',
        "utf-8-sig",
    )
    calls: list[int] = []
    read = read_targets(path, batch_id="2024-01", progress=calls.append)
    assert read.problems == []
    assert read.n_rows == 2
    assert not read.ids_generated
    assert read.source == str(path)
    assert read.source_crs == "EPSG:4326"
    assert calls[-1] == 2
    f = read.frame
    assert f.crs.to_epsg() == 4490
    assert list(f.columns) == [
        "row",
        "target_id",
        "area_m2",
        "image_date",
        "attributes",
        "geometry",
    ]
    assert f["row"].tolist() == [2, 3]
    assert f["target_id"].tolist() == ["TL-001", "TL-002"]
    assert f["area_m2"].tolist() == [120.5, None]
    assert f["image_date"].tolist() == [dt.date(2024, 3, 15), dt.date(2024, 3, 16)]
    p0, p1 = f.geometry
    assert (p0.x, p0.y) == pytest.approx((LON, LAT), abs=1e-7)
    assert (p1.x, p1.y) == pytest.approx((106.05, 29.8), abs=1e-7)
    assert f["attributes"].iloc[0] == {
        "靶标编号": "TL-001",
        "经度": "106.05",
        "纬度": "29.8",
        "面积（平方米）": "120.5",
        "影像时间": "2024-03-15",
        "备注": "房前屋后",
    }
    json.dumps(f["attributes"].tolist(), ensure_ascii=False)


def test_gbk_csv_with_title_row_and_mu_area(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "gbk.csv",
        "铜梁区禁毒办 2024年第一批疑似靶标\n编号,东经,北纬,面积(亩)\nA1,106.05,29.8,1.5\n",
        "gbk",
    )
    read = read_targets(path, batch_id="b")
    assert read.problems == []
    assert read.frame["row"].tolist() == [3]
    assert read.frame["area_m2"].iloc[0] == pytest.approx(1.5 * MU_TO_M2)
    assert read.frame["area_m2"].iloc[0] == pytest.approx(1000.0)


def test_every_tabular_problem_code(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "bad.csv",
        "靶标编号,经度,纬度,面积,影像时间\n"
        f"A,{LON},{LAT},10,2024-03-01\n"  # 2 good
        f"B,,{LAT},,\n"  # 3 missing_coordinates
        f"C,abc,{LAT},,\n"  # 4 unparsable_coordinates
        f"D,NaN,{LAT},,\n"  # 5 non_finite
        "E,2.35,48.85,,\n"  # 6 outside_china (Paris)
        f"F,{LAT},{LON},,\n"  # 7 swapped_coordinates
        f"A,{LON},{LAT},,\n"  # 8 duplicate_id of row 2
        f",{LON},{LAT},,\n"  # 9 missing_id
        f"G,{LON},{LAT},,2024-13-45\n"  # 10 bad_date
        f"H,{LON},{LAT},很大,\n"  # 11 bad_area
        f"I,106°61',{LAT},,\n"  # 12 unparsable (minutes >= 60)
        f"J,{LON},{LAT},-5,\n",  # 13 bad_area (negative)
    )
    read = read_targets(path, batch_id="b")
    assert read.frame["row"].tolist() == [2]
    assert read.n_rows == 12
    assert _codes(read.problems) == {
        3: ["missing_coordinates"],
        4: ["unparsable_coordinates"],
        5: ["non_finite"],
        6: ["outside_china"],
        7: ["swapped_coordinates"],
        8: ["duplicate_id"],
        9: ["missing_id"],
        10: ["bad_date"],
        11: ["bad_area"],
        12: ["unparsable_coordinates"],
        13: ["bad_area"],
    }
    by_row = {p.row: p for p in read.problems}
    assert "第 2 行" in by_row[8].reason and by_row[8].target_id == "A"
    assert "经纬度疑似颠倒" in by_row[7].reason
    assert by_row[3].field == "经度"
    assert by_row[4].field == "经度" and by_row[4].value == "abc"
    assert by_row[9].target_id is None
    assert by_row[10].value == "2024-13-45"
    assert "应小于 60" in by_row[12].reason
    assert str(by_row[6]).startswith("第 6 行 编号 E:")


def test_row_with_several_problems_lists_them_all(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", f"编号,经度,纬度,影像日期\nA,{LON},{LAT},x\nA,,1,y\n")
    read = read_targets(path, batch_id="b")
    assert _codes(read.problems) == {
        2: ["bad_date"],
        3: ["duplicate_id", "missing_coordinates", "bad_date"],
    }
    assert read.frame.empty


def test_ids_are_generated_when_there_is_no_id_column(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", f"经度,纬度\n{LON},{LAT}\n\n{LON},{LAT}\n")
    read = read_targets(path, batch_id="2024-03")
    assert read.ids_generated
    assert read.frame["target_id"].tolist() == ["2024-03-0002", "2024-03-0004"]


def test_named_fields_override_headers(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", f"序号,东坐标,北坐标,编号\n7,{LON},{LAT},X1\n")
    read = read_targets(path, batch_id="b", id_field="序号", lon_field="东坐标", lat_field="北坐标")
    assert read.frame["target_id"].tolist() == ["7"]
    with pytest.raises(InputError, match="找不到指定的编号列 '无此列'"):
        read_targets(path, batch_id="b", id_field="无此列", lon_field="东坐标", lat_field="北坐标")
    with pytest.raises(InputError, match="找不到经度/纬度列"):
        read_targets(path, batch_id="b")


def _projected_csv(tmp_path: Path, header: str, swap: bool = False, prefix: int = 0) -> Path:
    fwd = Transformer.from_crs(4490, 4544, always_xy=True)
    e, n = fwd.transform(LON, LAT)
    e += prefix
    a, b = (n, e) if swap else (e, n)
    return _csv(
        tmp_path / "proj.csv", f"编号,{header}\nP1,{a:.3f},{b:.3f}\nP2,{a + 100:.3f},{b:.3f}\n"
    )


def test_projected_coordinates_need_a_crs(tmp_path: Path) -> None:
    path = _projected_csv(tmp_path, "x坐标,y坐标")
    with pytest.raises(CRSError, match="请指定坐标系（网页填写“坐标系”，命令行用 --crs）") as info:
        read_targets(path, batch_id="b")
    assert "'x坐标'/'y坐标'" in str(info.value)
    assert "EPSG:4544" in str(info.value)
    read = read_targets(path, batch_id="b", crs="EPSG:4544")
    assert read.problems == []
    assert read.source_crs == "EPSG:4544"
    p = read.frame.geometry.iloc[0]
    assert (p.x, p.y) == pytest.approx((LON, LAT), abs=1e-6)
    assert read.frame.geometry.iloc[1].x > p.x  # 100 m further east


def test_projected_with_northing_in_x_as_chinese_surveyors_write_it(tmp_path: Path) -> None:
    path = _projected_csv(tmp_path, "X,Y", swap=True)
    read = read_targets(path, batch_id="b", crs="EPSG:4544")
    assert read.problems == []
    p = read.frame.geometry.iloc[0]
    assert (p.x, p.y) == pytest.approx((LON, LAT), abs=1e-6)
    assert read.frame.geometry.iloc[1].y > p.y  # the +100 went to X, the northing


def test_zone_prefixed_eastings_suggest_the_zone_crs(tmp_path: Path) -> None:
    path = _projected_csv(tmp_path, "经度,纬度", prefix=35_000_000)
    with pytest.raises(CRSError, match="EPSG:4523"):
        read_targets(path, batch_id="b")
    read = read_targets(path, batch_id="b", crs="EPSG:4523")
    assert read.frame.geometry.iloc[0].x == pytest.approx(LON, abs=1e-6)


def test_a_few_projected_looking_rows_are_problems_not_a_crs_error(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "t.csv", f"编号,经度,纬度\nA,{LON},{LAT}\nB,{LON},{LAT}\nC,601516,3298405\n"
    )
    read = read_targets(path, batch_id="b")
    assert _codes(read.problems) == {4: ["outside_china"]}
    assert "投影坐标" in read.problems[0].reason


def test_unknown_crs(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", f"编号,经度,纬度\nA,{LON},{LAT}\n")
    with pytest.raises(CRSError, match="无法识别的坐标系"):
        read_targets(path, batch_id="b", crs="EPSG:999999")


def test_xlsx_with_title_row_excel_numbers_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "batch.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["铜梁区2024年第一批卫星遥感疑似靶标（福果镇）"])
    ws.append([])
    ws.append(["序号", "靶标编号", "经度", "纬度", "面积(亩)", "影像时间"])
    ws.append([1, 500101, LON, LAT, 0.3, dt.datetime(2024, 3, 15)])
    ws.append([2, 500102.0, "106°03'00\"", "29°48'00\"", None, 45367])
    ws.append([3, "500103", LON, LAT, "2亩", "20240317"])
    ws.append([4, 500104, LON, LAT, None, 3.5])
    wb.save(path)
    read = read_targets(path, batch_id="b")
    assert _codes(read.problems) == {7: ["bad_date"]}
    f = read.frame
    assert f["row"].tolist() == [4, 5, 6]
    assert f["target_id"].tolist() == ["500101", "500102", "500103"]
    # 45367 is the Excel serial day number of 2024-03-16
    assert f["image_date"].tolist() == [
        dt.date(2024, 3, 15),
        dt.date(2024, 3, 16),
        dt.date(2024, 3, 17),
    ]
    assert f["area_m2"].iloc[0] == pytest.approx(200.0)
    assert f["area_m2"].iloc[2] == pytest.approx(2 * MU_TO_M2)
    attrs = f["attributes"].iloc[0]
    assert attrs["靶标编号"] == 500101 and attrs["影像时间"] == "2024-03-15"
    json.dumps(f["attributes"].tolist(), ensure_ascii=False)


def test_unsupported_file_type(tmp_path: Path) -> None:
    path = tmp_path / "t.dat"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="不支持的靶标文件类型"):
        read_targets(path, batch_id="b")


# --- GIS files -------------------------------------------------------------------------------


def _square(lon: float, lat: float, side_deg: float = 0.001) -> Polygon:
    return box(lon, lat, lon + side_deg, lat + side_deg)


def test_geojson_polygons_and_every_geometry_problem(tmp_path: Path) -> None:
    bowtie = Polygon(
        [(LON, LAT), (LON + 0.001, LAT + 0.001), (LON + 0.001, LAT), (LON, LAT + 0.001)]
    )
    features = [
        ("G1", _square(LON, LAT), None),
        ("G2", Point(LON, LAT), 55.0),
        ("G3", MultiPolygon([_square(LON, LAT)]), None),  # single part: taken as a polygon
        ("G4", bowtie, None),
        ("G5", LineString([(LON, LAT), (LON + 0.01, LAT)]), None),
        ("G6", None, None),
        ("G7", MultiPolygon([_square(LON, LAT), _square(LON + 0.01, LAT)]), None),
        ("G8", Point(2.35, 48.85), None),
        ("G9", Point(LAT, LON), None),
        ("G1", Point(LON, LAT), None),
    ]
    gdf = gpd.GeoDataFrame(
        {"图斑编号": [f[0] for f in features], "面积": [f[2] for f in features]},
        geometry=[f[1] for f in features],
        crs="EPSG:4326",
    )
    path = tmp_path / "t.geojson"
    gdf.to_file(path, driver="GeoJSON")
    read = read_targets(path, batch_id="b")
    assert read.source_crs == "EPSG:4326"
    assert _codes(read.problems) == {
        4: ["invalid_geometry"],
        5: ["unsupported_geometry"],
        6: ["empty_geometry"],
        7: ["unsupported_geometry"],
        8: ["outside_china"],
        9: ["swapped_coordinates"],
        10: ["duplicate_id"],
    }
    invalid = next(p for p in read.problems if p.code == "invalid_geometry")
    assert "Self-intersection" in invalid.reason
    f = read.frame
    assert f["target_id"].tolist() == ["G1", "G2", "G3"]
    assert [g.geom_type for g in f.geometry] == ["Polygon", "Point", "Polygon"]
    # about 96.8 m x 111 m at 29.8 N; computed in the Gauss-Kruger CRS
    assert f["area_m2"].iloc[0] == pytest.approx(10_740, rel=0.01)
    assert f["area_m2"].iloc[1] == 55.0
    assert f["area_m2"].iloc[2] == pytest.approx(f["area_m2"].iloc[0])
    assert f["attributes"].iloc[0] == {"图斑编号": "G1", "面积": None}


def test_gbk_shapefile_zip_without_cpg(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"靶标编号": ["福果-001", "福果-002"], "村名": ["福果村", "龙井村"]},
        geometry=[Point(LON, LAT), Point(LON + 0.01, LAT)],
        crs="EPSG:4490",
    )
    shp = tmp_path / "targets.shp"
    pyogrio.write_dataframe(gdf, shp, encoding="GBK")
    (tmp_path / "targets.cpg").unlink(missing_ok=True)
    assert "福果村".encode("gbk") in (tmp_path / "targets.dbf").read_bytes()
    archive = tmp_path / "targets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for suffix in (".shp", ".shx", ".dbf", ".prj"):
            zf.write(tmp_path / f"targets{suffix}", f"targets{suffix}")
    read = read_targets(archive, batch_id="b")
    assert read.problems == []
    assert read.source_crs == "EPSG:4490"
    assert read.frame["target_id"].tolist() == ["福果-001", "福果-002"]
    assert read.frame["attributes"].iloc[1]["村名"] == "龙井村"
    assert read.frame["area_m2"].tolist() == [None, None]


def test_gpkg_in_gauss_kruger_is_moved_to_cgcs2000(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"target_id": ["K1"], "image_date": [dt.date(2024, 3, 20)]},
        geometry=[_square(LON, LAT)],
        crs="EPSG:4490",
    ).to_crs(4544)
    path = tmp_path / "t.gpkg"
    gdf.to_file(path, layer="targets", driver="GPKG")
    read = read_targets(path, batch_id="b")
    assert read.problems == []
    assert read.source_crs == "EPSG:4544"
    g = read.frame.geometry.iloc[0]
    assert g.bounds == pytest.approx((LON, LAT, LON + 0.001, LAT + 0.001), abs=1e-6)
    assert read.frame["image_date"].iloc[0] == dt.date(2024, 3, 20)
    assert read.frame["area_m2"].iloc[0] == pytest.approx(gdf.area.iloc[0], rel=1e-3)


def test_gpkg_attribute_table_with_coordinate_columns(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"编号": ["T1", "T2"], "经度": [LON, None], "纬度": [LAT, LAT]},
        geometry=[None, None],
        crs="EPSG:4490",
    )
    path = tmp_path / "table.gpkg"
    gdf.to_file(path, layer="targets", driver="GPKG")
    read = read_targets(path, batch_id="b")
    assert read.frame["target_id"].tolist() == ["T1"]
    assert _codes(read.problems) == {2: ["missing_coordinates"]}


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><name>第一批</name>
  <Placemark><name>KM-001</name><description>疑似罂粟</description>
    <Point><coordinates>106.05,29.8,0</coordinates></Point></Placemark>
  <Placemark><name>KM-002</name>
    <Polygon><outerBoundaryIs><LinearRing><coordinates>
      106.05,29.8 106.051,29.8 106.051,29.801 106.05,29.801 106.05,29.8
    </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
  <Placemark><name></name><Point><coordinates>106.06,29.8</coordinates></Point></Placemark>
</Folder></Document></kml>
"""


def test_kml_placemark_names_are_ids(tmp_path: Path) -> None:
    path = tmp_path / "t.kml"
    path.write_text(KML, encoding="utf-8")
    read = read_targets(path, batch_id="b")
    assert read.frame["target_id"].tolist() == ["KM-001", "KM-002"]
    assert [g.geom_type for g in read.frame.geometry] == ["Point", "Polygon"]
    assert read.frame["attributes"].iloc[0]["description"] == "疑似罂粟"
    assert _codes(read.problems) == {3: ["missing_id"]}
    assert read.frame["area_m2"].iloc[1] == pytest.approx(10_740, rel=0.01)


def test_kmz(tmp_path: Path) -> None:
    path = tmp_path / "t.kmz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("doc.kml", KML)
    read = read_targets(path, batch_id="b")
    assert read.frame["target_id"].tolist() == ["KM-001", "KM-002"]
    json.dumps(read.frame["attributes"].tolist(), ensure_ascii=False)


def test_geojson_with_non_finite_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "nan.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","properties":{"id":"a"},'
        '"geometry":{"type":"Point","coordinates":[NaN,29.8]}},'
        '{"type":"Feature","properties":{"id":"b"},"geometry":{"type":"Polygon","coordinates":'
        "[[[106.05,29.8],[106.06,29.8],[106.06,Infinity],[106.05,29.8]]]}},"
        '{"type":"Feature","properties":{"id":"c"},'
        '"geometry":{"type":"Point","coordinates":[106.05,29.8]}}]}',
        encoding="utf-8",
    )
    read = read_targets(path, batch_id="b")
    assert _codes(read.problems) == {1: ["non_finite"], 2: ["non_finite"]}
    assert read.frame["target_id"].tolist() == ["c"]


@given(
    st.lists(
        st.sampled_from(["A1", " A1 ", "A2", "", "  ", "x\ty", "z\u200b", "甲\u3000乙", "B" * 101])
        | st.text(max_size=4)
        | st.none()
        | st.integers(),
        max_size=8,
    )
)
@settings(max_examples=300, deadline=None)
def test_ids_checked_at_once_are_the_ids_checked_one_by_one(values: list[object]) -> None:
    """The quick path for a column of good ids gives what the row-by-row checks give."""
    from geoverify.readers import targets

    rows = list(range(2, len(values) + 2))
    quick = targets._Ledger(rows)
    generated = targets._check_ids(quick, values, id_col="编号", batch_id="B")
    slow = targets._Ledger(rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(targets, "_plain_ids", lambda ledger, values: False)
        assert targets._check_ids(slow, values, id_col="编号", batch_id="B") == generated
    assert quick.ids == slow.ids
    assert quick.all_problems() == slow.all_problems()


_decimals = st.from_regex(r"[+-]?[0-9]{1,4}(\.[0-9]{0,9})?", fullmatch=True)


@given(
    st.lists(_decimals, max_size=6)
    | st.lists(
        _decimals
        | st.sampled_from(["", " 106.5", "1e3", "106°02'03.5\"", "29°48'N", "abc", "１０６.５"])
        | st.none(),
        max_size=6,
    )
)
@settings(max_examples=300, deadline=None)
def test_coordinates_read_at_once_are_the_angles_read_one_by_one(values: list[object]) -> None:
    """A column of plain decimals read at once gives what parse_angle gives for each cell;
    every other column row by row as before."""
    import math

    from geoverify.readers import targets
    from geoverify.readers.coords import parse_angle_detail

    ledger = targets._Ledger(list(range(2, len(values) + 2)))
    out, missing, failures = targets._parse_coordinates(values, ledger, "经度", None)
    failed = {i for i, _, _ in failures}
    for i, v in enumerate(values):
        if is_missing(v):
            assert missing[i] and i not in failed
            continue
        try:
            expected = parse_angle_detail(v)[0]
        except ValueError:
            assert i in failed
            continue
        assert not missing[i] and i not in failed
        assert out[i] == expected or (math.isnan(out[i]) and math.isnan(expected))


@pytest.mark.parametrize("header", ["面积平方米", "TBMJ", "MJ", "图斑面积平方米"])
def test_an_area_column_named_as_a_shapefile_or_the_land_survey_names_it(
    tmp_path: Path, header: str
) -> None:
    """A shapefile's 10-byte field names leave no room for brackets (面积平方米), and the land
    survey names 图斑面积 by its pinyin initials (TBMJ): the area is read, not dropped."""
    path = _csv(tmp_path / "a.csv", f"靶标编号,经度,纬度,{header}\nA1,{LON},{LAT},417.5\n", "utf-8")
    read = read_targets(path, batch_id="b")
    assert read.problems == []
    assert read.frame["area_m2"].iloc[0] == pytest.approx(417.5)


def test_a_total_and_sign_off_lines_under_the_table_are_its_footer(tmp_path: Path) -> None:
    """The lines a district's sheet ends with (合计, 填表人、审核人) are not targets and not bad
    rows: said as the table's footer. A target without coordinates above them is still a bad
    row, though its 备注 holds a footer's word."""
    path = tmp_path / "batch.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["铜梁区2024年第五批卫星遥感疑似靶标（福果镇）"])
    ws.append(["序号", "靶标编号", "经度", "纬度", "面积(平方米)", "备注"])
    ws.append([1, "T-1", LON, LAT, 120, None])
    ws.append([2, "T-2", None, None, 80, "坐标待审核"])
    ws.append([3, "T-3", LON, LAT, 60, "已审核"])
    ws.append(["合计", "3个", None, None, 260, None])
    ws.append(["填表人：张三　　审核人：李四　　联系电话：12345678"])
    wb.save(path)
    read = read_targets(path, batch_id="b")
    assert read.footer_rows == [6, 7]
    assert _codes(read.problems) == {4: ["missing_coordinates"]}
    assert read.frame["target_id"].tolist() == ["T-1", "T-3"]
    assert read.n_rows == 3


def test_a_broken_last_row_is_never_taken_for_the_footer(tmp_path: Path) -> None:
    """A last row without coordinates whose note says 待审核, or a table without ids, is a bad
    row: a footer begins with its word, and only a table with ids can have one."""
    path = _csv(
        tmp_path / "a.csv",
        f"序号,靶标编号,经度,纬度,备注\n1,T-1,{LON},{LAT},\n2,,,,待审核\n",
    )
    read = read_targets(path, batch_id="b")
    assert read.footer_rows == [] and list(_codes(read.problems)) == [3]
    path = _csv(tmp_path / "b.csv", f"经度,纬度,备注\n{LON},{LAT},\n,,负责人王五 联系电话待补\n")
    read = read_targets(path, batch_id="b")
    assert read.footer_rows == [] and list(_codes(read.problems)) == [3]


def test_a_workbook_whose_targets_are_on_another_sheet_says_so(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    first.title = "说明"
    first.append(["本表为4月下发清单，见第二个工作表"])
    second = wb.create_sheet("清单")
    second.append(["靶标编号", "经度", "纬度"])
    second.append(["T-1", LON, LAT])
    wb.save(path)
    with pytest.raises(InputError) as refused:
        read_targets(path, batch_id="b")
    said = str(refused.value)
    assert "这是第一个工作表，本文件还有工作表 “清单”，靶标在其中时请指定" in said
    assert "--sheet" in said
    assert read_targets(path, batch_id="b", sheet="清单").frame["target_id"].tolist() == ["T-1"]
