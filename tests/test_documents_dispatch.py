"""Tests for dispatch workbooks, the printable page, the town summary and the static map."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from PIL import Image
from shapely.geometry import Point, box

from geoverify.documents.dispatch import (
    FEEDBACK_HEADERS,
    META_SHEET,
    TARGET_HEADERS,
    dispatch_rows,
    render_village_html,
    target_notes,
    write_summary_workbook,
    write_village_workbook,
)
from geoverify.documents.staticmap import nice_scale_length, render_village_map
from geoverify.geo import wgs84_to_bd09, wgs84_to_gcj02

HOSTILE = '=HYPERLINK("http://evil","点我")'
SCRIPT = "<script>alert(1)</script>"


def _target(tid: str, lon: float, lat: float, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "pk": int(tid[1:]) if tid[1:].isdigit() else 99,
        "target_id": tid,
        "batch": "2024-03",
        "source": "district",
        "geometry": Point(lon, lat),
        "lon": lon,
        "lat": lat,
        "area_m2": 35.26,
        "image_date": dt.date(2024, 2, 20),
        "village_code": "500151104001",
        "village": "福果村",
        "group": "三组",
        "assignment": "inside",
        "neighbours": [],
        "split_into": [],
        "repeat_of": None,
        "reissue_of": None,
        "status": "issued",
        "result": None,
        "plants": None,
        "issued_on": dt.date(2024, 3, 1),
        "due_on": None,
    }
    rec.update(kw)
    return rec


def targets() -> gpd.GeoDataFrame:
    recs = [
        _target("T10", 106.041234, 29.851111),
        _target("T2", 106.030001, 29.840002, assignment="near_boundary", neighbours=["玉峡村"]),
        _target("T3", 106.035, 29.845, repeat_of="2023-T9", split_into=[HOSTILE], group=None),
    ]
    return gpd.GeoDataFrame(recs, geometry="geometry", crs=4490)


def test_target_notes() -> None:
    rec = _target(
        "T1", 106.0, 29.8, neighbours=["玉峡村"], split_into=["安居村"], repeat_of="T0",
        reissue_of="B0", source="tip",
    )  # fmt: skip
    assert (
        target_notes(rec)
        == "临近玉峡村边界；跨入安居村；复种点（T0）；重复下发（原批次 B0）；举报线索"
    )
    assert target_notes(_target("T1", 106.0, 29.8)) == ""
    assert target_notes(_target("T1", 106.0, 29.8, assignment="gap_nearest")) == (
        "位于村界缝隙，就近归属"
    )


def test_dispatch_rows_order_and_values() -> None:
    rows = dispatch_rows(targets(), due_on=dt.date(2024, 3, 20))
    assert [r["靶标编号"] for r in rows] == ["T2", "T3", "T10"]
    assert [r["序号"] for r in rows] == [1, 2, 3]
    r = rows[0]
    assert (r["经度"], r["纬度"]) == (106.030001, 29.840002)
    assert r["经度（度分秒）"] == "106°01'48.00\"E"
    assert r["纬度（度分秒）"] == "29°50'24.01\"N"
    assert r["面积"] == 35.3 and r["核查时限"] == dt.date(2024, 3, 20)
    gx, gy = (float(v) for v in wgs84_to_gcj02(106.030001, 29.840002))
    assert f"position={gx:.6f},{gy:.6f}" in r["高德地图"].url
    bx, by = (float(v) for v in wgs84_to_bd09(106.030001, 29.840002))
    assert f"location={by:.6f},{bx:.6f}" in r["百度地图"].url
    assert r["手机定位"].url.startswith("geo:29.840002,106.030001?")


def test_village_workbook_cells(tmp_path: Path) -> None:
    path = write_village_workbook(
        tmp_path / "福果村.xlsx",
        "福果村",
        targets(),
        batch="2024-03",
        issued_on=dt.date(2024, 3, 1),
        due_on=dt.date(2024, 3, 20),
        illustrative=True,
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "核查清单"
    ws = wb["核查清单"]
    assert (
        ws["A1"].value
        == "福果村 疑似靶标核查清单（批次 2024-03，2024-03-01 下发）（村界为示意边界）"
    )
    assert [c.value for c in ws[2]] == [*TARGET_HEADERS, *FEEDBACK_HEADERS]
    assert FEEDBACK_HEADERS == (
        "核查日期", "核查人员", "核查结果", "株数",
        "面积（平方米）", "铲除日期", "案件编号", "备注",
    )  # fmt: skip
    row3 = [c.value for c in ws[3]]
    assert row3[:6] == [1, "T2", "福果村", "三组", 106.030001, 29.840002]
    assert ws["E3"].number_format == "0.000000"
    assert row3[6:12] == [
        "106°01'48.00\"E",
        "29°50'24.01\"N",
        35.3,
        dt.datetime(2024, 2, 20),
        dt.datetime(2024, 3, 20),
        "临近玉峡村边界",
    ]
    assert row3[12:15] == ["高德导航", "百度导航", "geo定位"]
    assert ws["M3"].hyperlink.target.startswith("https://uri.amap.com/marker?position=")
    assert ws["N3"].hyperlink.target.startswith("https://api.map.baidu.com/marker?location=")
    assert ws["O3"].hyperlink.target.startswith("geo:29.840002,106.030001?q=")
    assert row3[15:] == [None] * 8
    # the hostile village name in a note stays text
    note = ws["L4"]
    assert note.value == f"跨入{HOSTILE}；复种点（2023-T9）"
    assert note.data_type == "s"
    # drop-down on 核查结果 (column R)
    (dv,) = ws.data_validations.dataValidation
    assert dv.formula1 == '"确认种植,排除,未发现,非本镇辖区"'
    assert str(dv.sqref).startswith("R3:R")
    meta = wb[META_SHEET]
    assert meta.sheet_state == "hidden"
    kv = {r[0]: r[1] for r in meta.iter_rows(min_row=2, values_only=True)}
    assert kv["format"] == "geoverify-dispatch" and kv["version"] == "1"
    assert kv["batch"] == "2024-03" and kv["village_code"] == "500151104001"
    assert kv["header_row"] == 2 and kv["n_targets"] == 3 and kv["illustrative"] == "1"


def test_village_html_escapes_and_embeds_map() -> None:
    frame = targets()
    frame.loc[0, "target_id"] = SCRIPT
    png = render_village_map(
        box(106.02, 29.83, 106.05, 29.86),
        [(1, 106.03, 29.84)],
        village_name="福果村",
    )
    page = render_village_html(
        "福果村<b>",
        frame,
        batch="2024-03",
        issued_on=dt.date(2024, 3, 1),
        due_on=dt.date(2024, 3, 20),
        illustrative=True,
        map_png=png,
    )
    assert SCRIPT not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "福果村&lt;b&gt;" in page
    assert "@page { size: A4 landscape" in page
    assert "data:image/png;base64," in page
    assert "示意边界" in page
    assert page.count("<tr>") == 4  # header + 3 targets
    assert 'href="https://uri.amap.com/marker?position=' in page
    assert "&amp;name=" in page  # & inside href attributes is escaped
    assert HOSTILE not in page  # quotes escaped
    assert "跨入=HYPERLINK(&quot;http://evil&quot;,&quot;点我&quot;)" in page


def test_summary_workbook(tmp_path: Path) -> None:
    frame = pd.concat(
        [
            targets(),
            gpd.GeoDataFrame(
                [_target("T7", 106.2, 29.9, village=None, village_code=None, group=None,
                         assignment="outside")],
                geometry="geometry",
                crs=4490,
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    path = write_summary_workbook(tmp_path / "汇总.xlsx", frame, batch="2024-03",
                                  due_on=dt.date(2024, 3, 20))  # fmt: skip
    wb = openpyxl.load_workbook(path)
    ws = wb["汇总"]
    assert ws["A1"].value == "疑似靶标派发汇总（批次 2024-03）"
    assert [c.value for c in ws[2]] == ["村（社区）", "靶标数", "临近村界", "跨村", "复种点",
                                        "重复下发", "核查时限"]  # fmt: skip
    assert [c.value for c in ws[3]] == ["福果村", 3, 1, 1, 1, 0, dt.datetime(2024, 3, 20)]
    assert [c.value for c in ws[4]] == ["镇外", 1, 0, 0, 0, 0, dt.datetime(2024, 3, 20)]
    assert [c.value for c in ws[5]] == ["合计", 4, 1, 1, 1, 0, None]
    all_ws = wb["全部靶标"]
    assert [c.value for c in all_ws[1]] == list(TARGET_HEADERS)
    assert [all_ws.cell(row=r, column=2).value for r in range(2, 6)] == ["T2", "T3", "T10", "T7"]
    assert all_ws["C5"].value == "镇外"


def test_static_map_png(tmp_path: Path) -> None:
    village = box(106.0, 29.8, 106.05, 29.84)
    groups = gpd.GeoDataFrame(
        {"village_code": ["1", "1", "1"], "name": ["一组", "二组", "三组"]},
        geometry=[box(106.0, 29.8, 106.025, 29.84), box(106.025, 29.8, 106.05, 29.84), None],
        crs=4490,
    )
    nb = gpd.GeoDataFrame(
        {"name": ["玉峡村"]}, geometry=[box(106.05, 29.8, 106.1, 29.84)], crs=4490
    )
    pts = [(1, 106.01, 29.81), (2, 106.04, 29.83)]
    png = render_village_map(village, pts, village_name="福果村", groups=groups, neighbours=nb,
                             illustrative=True, size_px=(800, 600), dpi=100)  # fmt: skip
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (800, 600)
        # the target markers are red (#c0392b) somewhere in the picture
        colours = {c for _, c in im.convert("RGB").getcolors(maxcolors=1_000_000) or []}
        assert (0xC0, 0x39, 0x2B) in colours
    plain = render_village_map(village, pts, village_name="福果村", size_px=(800, 600), dpi=100)
    assert plain != png
    with pytest.raises(ValueError, match="没有边界"):
        render_village_map(box(0, 0, 0, 0).buffer(0), pts, village_name="空")


def test_nice_scale_length() -> None:
    assert nice_scale_length(5000) == 1000
    assert nice_scale_length(12000) == 2000
    assert nice_scale_length(300) == 50
    assert nice_scale_length(0) == 100
