"""Tests for geoverify.boundaries: repairs, overlaps, gaps, outline, report text."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from pyproj import CRS
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Polygon, box

from geoverify.boundaries import (
    BoundaryReport,
    check_villages,
    find_gaps,
    find_overlaps,
    repair_polygons,
    town_outline,
)
from geoverify.errors import CRSError, InputError

METRIC = CRS.from_epsg(4544)
X0, Y0 = 590_000.0, 3_300_000.0


def _frame(
    geoms: list, codes: list[str] | None = None, crs: CRS | int = METRIC
) -> gpd.GeoDataFrame:
    codes = codes or [f"V{k}" for k in range(len(geoms))]
    return gpd.GeoDataFrame(
        {"code": codes, "name": [f"{c}村" for c in codes]}, geometry=geoms, crs=crs
    )


def _bowtie(x: float, y: float, size: float = 100.0) -> Polygon:
    return Polygon([(x, y), (x + size, y + size), (x + size, y), (x, y + size)])


def test_bowtie_repaired_with_areas() -> None:
    frame = _frame([box(X0 - 500, Y0, X0 - 400, Y0 + 100), _bowtie(X0, Y0)], ["A", "B"])
    out, repairs = repair_polygons(frame, rows=[2, 7])
    assert len(repairs) == 1
    r = repairs[0]
    assert (r.row, r.code, r.name) == (7, "B", "B村")
    assert r.reason.startswith("Self-intersection")
    assert r.area_before_m2 == pytest.approx(0.0, abs=1e-6)  # the two lobes cancel out
    assert r.area_after_m2 == pytest.approx(5000.0)  # two triangles of 2500 m²
    fixed = out.geometry.iloc[1]
    assert isinstance(fixed, MultiPolygon) and fixed.is_valid
    assert out.geometry.iloc[0].equals(frame.geometry.iloc[0])
    assert not frame.geometry.iloc[1].is_valid  # the input is not changed
    assert out.crs == frame.crs


def test_bowtie_in_4490_area_in_square_metres() -> None:
    frame = _frame([_bowtie(X0, Y0)], ["B"]).to_crs(4490)
    _, repairs = repair_polygons(frame)
    assert repairs[0].row == 1
    assert repairs[0].area_after_m2 == pytest.approx(5000.0, rel=1e-3)


def test_non_polygonal_parts_dropped() -> None:
    coll = GeometryCollection([box(X0, Y0, X0 + 10, Y0 + 10), LineString([(X0, Y0), (X0 - 5, Y0)])])
    out, repairs = repair_polygons(_frame([coll, None], ["A", "B"]))
    assert [r.code for r in repairs] == ["A"]
    assert "not polygonal" in repairs[0].reason
    assert out.geometry.iloc[0].geom_type == "Polygon"
    assert out.geometry.iloc[0].area == pytest.approx(100.0)
    assert out.geometry.iloc[1] is None


def test_repair_rejects_bad_rows_and_missing_crs() -> None:
    with pytest.raises(InputError):
        repair_polygons(_frame([box(0, 0, 1, 1)]), rows=[1, 2])
    with pytest.raises(CRSError):
        repair_polygons(gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 1, 1)]))


def test_overlap_found_with_area_and_names() -> None:
    a = box(X0, Y0, X0 + 1000, Y0 + 1000)
    b = box(X0 + 990, Y0, X0 + 2000, Y0 + 1000)  # 10 m × 1000 m into A
    c = box(X0, Y0 + 1000, X0 + 2000, Y0 + 2000)  # only touches A and B
    d = box(X0 + 1999.9, Y0 + 500, X0 + 2100, Y0 + 505)  # 0.5 m² into B: below the minimum
    frame = _frame([b, a, c, d], ["Z2", "A1", "C3", "D4"]).to_crs(4490)
    overlaps = find_overlaps(frame)
    assert len(overlaps) == 1
    o = overlaps[0]
    assert (o.a_code, o.a_name, o.b_code, o.b_name) == ("A1", "A1村", "Z2", "Z2村")
    assert o.area_m2 == pytest.approx(10_000.0, rel=1e-3)
    # geometry is returned in EPSG:4490 degrees
    x0, y0, x1, y1 = o.geometry.bounds
    assert 105 < x0 < x1 < 107 and 29 < y0 < y1 < 31
    assert len(find_overlaps(frame, min_area_m2=0.1)) == 2
    # C's straight edge no longer passes exactly through A's and B's corners once in EPSG:4490:
    # centimetre-thin slivers, reported only when the width filter is off.
    noise = find_overlaps(frame, min_width_m=0.0)
    assert {(o.a_code, o.b_code) for o in noise} >= {("A1", "C3"), ("A1", "Z2")}
    assert all(o.area_m2 < 100 for o in noise if o.b_code == "C3")


def _ring_of_villages(gap_m: float) -> gpd.GeoDataFrame:
    """A and B side by side with a strip of ``gap_m`` between them, closed by C above and D
    below, so the strip is a hole inside the town. Shared edges carry the same vertices (as
    clean boundary data does), so they stay shared once reprojected."""
    g = gap_m
    a = box(X0, Y0, X0 + 1000, Y0 + 2000)
    b = box(X0 + 1000 + g, Y0, X0 + 2000, Y0 + 2000)
    c = Polygon(
        [
            (X0, Y0 + 2000),
            (X0 + 1000, Y0 + 2000),
            (X0 + 1000 + g, Y0 + 2000),
            (X0 + 2000, Y0 + 2000),
            (X0 + 2000, Y0 + 3000),
            (X0, Y0 + 3000),
        ]
    )
    d = Polygon(
        [
            (X0, Y0 - 1000),
            (X0 + 2000, Y0 - 1000),
            (X0 + 2000, Y0),
            (X0 + 1000 + g, Y0),
            (X0 + 1000, Y0),
            (X0, Y0),
        ]
    )
    return _frame([a, b, c, d], ["A", "B", "C", "D"])


def test_sliver_gap_found_with_area_and_neighbours() -> None:
    frame = _ring_of_villages(2.0).to_crs(4490)
    gaps = find_gaps(frame)
    assert len(gaps) == 1
    g = gaps[0]
    assert g.area_m2 == pytest.approx(4000.0, rel=1e-3)
    assert g.neighbours == ["A", "B", "C", "D"]
    assert g.geometry.within(town_outline(frame).buffer(1e-9))
    assert find_gaps(frame, min_area_m2=5000.0) == []


def test_gap_without_outline_ignores_open_notch_but_outline_finds_it() -> None:
    a = box(X0, Y0, X0 + 1000, Y0 + 1000)
    b = box(X0 + 1003, Y0, X0 + 2000, Y0 + 1000)  # 3 m strip open at both ends
    frame = _frame([a, b], ["A", "B"])
    assert find_gaps(frame) == []
    outline = shapely.box(X0, Y0, X0 + 2000, Y0 + 1000)
    outline_s = gpd.GeoSeries([outline], crs=METRIC)
    gaps = find_gaps(frame, outline=outline_s)
    assert len(gaps) == 1
    assert gaps[0].area_m2 == pytest.approx(3000.0)
    assert gaps[0].neighbours == ["A", "B"]
    # a bare shapely outline is taken as EPSG:4490
    outline_4490 = outline_s.to_crs(4490).iloc[0]
    gaps = find_gaps(frame, outline=outline_4490)
    assert gaps[0].area_m2 == pytest.approx(3000.0, rel=1e-2)
    with pytest.raises(InputError):
        find_gaps(frame, outline="not a geometry")


def test_town_outline_fills_holes() -> None:
    frame = _ring_of_villages(2.0)
    outline = town_outline(frame)
    assert isinstance(outline, Polygon)
    assert len(outline.interiors) == 0
    expected = gpd.GeoSeries([box(X0, Y0 - 1000, X0 + 2000, Y0 + 3000)], crs=METRIC)
    assert outline.area == pytest.approx(expected.to_crs(4490).iloc[0].area, rel=1e-6)
    assert town_outline(frame.iloc[0:0]).is_empty


def test_check_villages_end_to_end_and_summary() -> None:
    frame = _ring_of_villages(2.0)
    frame.loc[len(frame)] = ["E", "E村", _bowtie(X0 + 5000, Y0)]
    frame.loc[len(frame)] = ["F", "F村", box(X0 + 1900, Y0 + 100, X0 + 2100, Y0 + 200)]
    out, report = check_villages(frame.to_crs(4490), rows=[2, 3, 4, 5, 6, 7])
    assert [r.row for r in report.repairs] == [6]
    assert [(o.a_code, o.b_code) for o in report.overlaps] == [("B", "F")]
    assert report.overlaps[0].area_m2 == pytest.approx(100 * 100, rel=1e-3)
    assert len(report.gaps) == 1
    assert out.geometry.is_valid.all()
    text = report.summary_zh()
    assert "修复 1 个无效面" in text and "1 处重叠" in text and "1 处缝隙" in text
    assert "第 6 行 E E村" in text
    assert "Boundary check" in text
    assert not report.ok


def test_clean_villages_report_ok() -> None:
    a = box(X0, Y0, X0 + 1000, Y0 + 1000)
    b = box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)
    _, report = check_villages(_frame([a, b]).to_crs(4490))
    assert report.ok
    assert "通过" in report.summary_zh()
    assert BoundaryReport().ok


def test_summary_lists_at_most_five_of_each() -> None:
    squares = [_bowtie(X0 + 200 * k, Y0) for k in range(8)]
    _, report = check_villages(_frame(squares))
    text = report.summary_zh()
    assert text.count("(repaired)") == 5
    assert "另有 3 处" in text
