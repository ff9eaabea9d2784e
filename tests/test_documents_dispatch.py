"""Tests for dispatch workbooks, the printable page, the town summary and the static map."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from PIL import Image
from shapely.geometry import Point, box

from geoverify.documents.dispatch import (
    FEEDBACK_HEADERS,
    FILL_COLOUR,
    META_SHEET,
    MU_M2,
    STATE_HEADER,
    SUMMARY_HEADERS,
    TARGET_HEADERS,
    dispatch_rows,
    render_village_html,
    target_notes,
    write_summary_workbook,
    write_village_workbook,
)
from geoverify.documents.staticmap import (
    neighbour_label_points,
    nice_scale_length,
    render_village_map,
)
from geoverify.geo import wgs84_to_bd09, wgs84_to_gcj02
from geoverify.workflows.attributes import district_columns, with_district_columns
from tests.conftest import header_texts

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
    # the district's area in both units, never confused with an eradicated area
    assert r["图斑面积（平方米）"] == 35.3 and r["图斑面积（亩）"] == round(35.26 / MU_M2, 3)
    assert r["核查时限"] == dt.date(2024, 3, 20)
    gx, gy = (float(v) for v in wgs84_to_gcj02(106.030001, 29.840002))
    assert f"position={gx:.6f},{gy:.6f}" in r["高德地图"].url
    assert f"marker=coord:{gy:.6f},{gx:.6f}" in r["腾讯地图"].url
    bx, by = (float(v) for v in wgs84_to_bd09(106.030001, 29.840002))
    assert f"location={by:.6f},{bx:.6f}" in r["百度地图"].url
    assert r["手机地图"].url.startswith("geo:29.840002,106.030001?")
    assert [link.text for link in (r["高德地图"], r["百度地图"], r["腾讯地图"], r["手机地图"])] == [
        "高德导航", "百度导航", "腾讯导航", "手机地图"
    ]  # fmt: skip
    assert r["_mentioned"] == ["玉峡村"] and rows[1]["_mentioned"] == [HOSTILE]


def _with_district(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    attrs = [
        {"序号": 1, "靶标编号": "T10", "经度": 106.04, "纬度": 29.85, "地类": "耕地",
         "作物类型": "油菜", "面积（亩）": 0.05, "备注": "=1+1"},
        {"序号": 2, "靶标编号": "T2", "经度": 106.03, "纬度": 29.84, "地类": "林地",
         "作物类型": SCRIPT, "面积（亩）": 0.12, "备注": HOSTILE},
        {"序号": 3, "靶标编号": "T3", "经度": 106.035, "纬度": 29.845, "地类": None,
         "作物类型": None, "面积（亩）": None, "备注": None},
    ]  # fmt: skip
    return with_district_columns(frame.assign(attributes=attrs))


def _sheet_rows(ws: Any) -> list[list[Any]]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_village_workbook_cells(tmp_path: Path) -> None:
    path = write_village_workbook(
        tmp_path / "福果村.xlsx",
        "福果村",
        _with_district(targets()),
        batch="2024-03",
        issued_on=dt.date(2024, 3, 1),
        due_on=dt.date(2024, 3, 20),
        illustrative=True,
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "核查清单"
    ws = wb["核查清单"]
    title = "福果村 疑似靶标核查清单（批次 2024-03，2024-03-01 下发）（村界为示意边界）"
    assert ws["A1"].value == title
    assert ws["A2"].value.startswith("共 3 个疑似靶标，核查时限 2024-03-20；")
    assert "黄色各列由村（社区）填写" in ws["A2"].value and "1亩≈666.7平方米" in ws["A2"].value
    district = ["地类", "作物类型", "面积（亩）", "备注（原表）"]
    headers = [*TARGET_HEADERS, *district, STATE_HEADER, *FEEDBACK_HEADERS]
    # row 3: the four blocks, each under its own header; row 4: the column headers
    assert header_texts(ws[4]) == headers
    groups = [c.value for c in ws[3]]
    n_t, n_d = len(TARGET_HEADERS), len(district)
    assert groups[0] == "区禁毒办下发信息" and groups[n_t] == "区禁毒办原表其他信息"
    assert groups[n_t + n_d] == "登记情况" and groups[n_t + n_d + 1] == "村（社区）核查后填写"
    assert FEEDBACK_HEADERS == (
        "核查日期", "核查人员", "核查结果", "排除：实际为", "株数",
        "铲除面积（平方米）", "铲除日期", "案件编号", "备注",
    )  # fmt: skip
    row5 = [c.value for c in ws[5]]
    assert row5[:6] == [1, "T2", "福果村", "三组", 106.030001, 29.840002]
    assert ws["E5"].number_format == "0.000000"
    assert row5[6:13] == [
        "106°01'48.00\"E",
        "29°50'24.01\"N",
        35.3,
        round(35.26 / MU_M2, 3),
        dt.datetime(2024, 2, 20),
        dt.datetime(2024, 3, 20),
        "临近玉峡村边界",
    ]
    assert row5[13:17] == ["高德导航", "百度导航", "腾讯导航", "手机地图"]
    links = [ws.cell(row=5, column=c).hyperlink.target for c in range(14, 18)]
    assert links[0].startswith("https://uri.amap.com/marker?position=")
    assert links[1].startswith("https://api.map.baidu.com/marker?location=")
    assert links[2].startswith("https://apis.map.qq.com/uri/v1/marker?marker=coord:")
    assert links[3].startswith("geo:29.840002,106.030001?q=")
    # the district's own columns, as given; hostile text stays text
    assert row5[17:21] == ["林地", SCRIPT, "0.12", HOSTILE]
    hostile = ws.cell(row=5, column=21)
    assert hostile.data_type == "s" and hostile.quotePrefix
    assert [c.value for c in ws[7]][17:21] == ["耕地", "油菜", "0.05", "=1+1"]
    assert [c.value for c in ws[6]][17:21] == [None] * 4
    assert row5[21:] == ["待核查"] + [None] * len(FEEDBACK_HEADERS)
    # the hostile village name in a note stays text
    note = ws["M6"]
    assert note.value == f"跨入{HOSTILE}；复种点（2023-T9）"
    assert note.data_type == "s"
    # fill-in block shaded, district data not
    fb_first = 23
    assert ws.cell(row=5, column=fb_first).fill.fgColor.rgb.endswith(FILL_COLOUR)
    assert ws.cell(row=4, column=fb_first).fill.fgColor.rgb.endswith(FILL_COLOUR)
    assert not ws.cell(row=5, column=2).fill.fgColor.rgb.endswith(FILL_COLOUR)
    # data validation: dates, numbers and drop-downs, with Chinese messages only
    dvs = {str(dv.sqref).split(":")[0][:-1]: dv for dv in ws.data_validations.dataValidation}
    letter = {h: get_column_letter(i) for i, h in enumerate(headers, start=1)}
    kinds = {h: dvs[letter[h]].type for h in FEEDBACK_HEADERS if letter[h] in dvs}
    assert kinds == {
        "核查日期": "date", "核查结果": "list", "排除：实际为": "list", "株数": "whole",
        "铲除面积（平方米）": "decimal", "铲除日期": "date",
    }  # fmt: skip
    assert dvs[letter["核查结果"]].formula1 == '"确认种植,排除,未发现,非本镇辖区"'
    assert dvs[letter["核查结果"]].errorStyle == "stop"
    assert dvs[letter["排除：实际为"]].errorStyle == "warning"  # suggestions; other text allowed
    assert dvs[letter["株数"]].operator == "greaterThanOrEqual"
    for dv in dvs.values():
        assert str(dv.sqref).split(":")[0][-1] == "5"  # from the first data row
        assert not re.search("[A-Za-z]", (dv.error or "") + (dv.errorTitle or ""))
    # 序号 and 靶标编号 frozen with the headers; printed on every page with the header rows
    assert ws.freeze_panes == "C5"
    assert ws.print_title_rows == "$3:$4" and ws.print_title_cols == "$A:$B"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert not ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.scale == 80
    # the fill-in block (with 反馈状态) starts a page of its own
    assert [b.id for b in ws.col_breaks.brk] == [TARGET_HEADERS.index("说明"), fb_first - 2]
    assert title in ws.oddHeader.center.text
    assert ws.print_area == "'核查清单'!$A$3:$AE$7"
    meta = wb[META_SHEET]
    assert meta.sheet_state == "hidden"
    kv = {r[0]: r[1] for r in meta.iter_rows(min_row=2, values_only=True)}
    assert kv["format"] == "geoverify-dispatch" and kv["version"] == "2"
    assert kv["batch"] == "2024-03" and kv["village_code"] == "500151104001"
    assert kv["header_row"] == 4 and kv["n_targets"] == 3 and kv["illustrative"] == "1"
    assert kv["feedback_first_column"] == fb_first
    # Chinese only on the sheet the village sees (besides the data: ids, coordinates, links)
    labels = [ws["A1"].value, ws["A2"].value, *groups, *headers]
    assert not any(re.search("[A-Za-z]", str(v)) for v in labels if v)


def test_workbook_without_district_columns(tmp_path: Path) -> None:
    path = write_village_workbook(
        tmp_path / "x.xlsx", "福果村", targets(), batch="B", issued_on=None, due_on=None
    )
    ws = openpyxl.load_workbook(path)["核查清单"]
    assert header_texts(ws[4]) == [*TARGET_HEADERS, STATE_HEADER, *FEEDBACK_HEADERS]
    assert [c.value for c in ws[3]][len(TARGET_HEADERS) + 1] == "村（社区）核查后填写"


def test_village_html_escapes_and_embeds_map() -> None:
    frame = _with_district(targets())
    first = frame.index[0]  # with two image dates, of which the reader takes the first
    dates = [("影像时间", "2024-02-20"), ("影像时间（后时相）", "2024-03-01")]
    frame.at[first, "district_columns"] = [*frame.at[first, "district_columns"], *dates]
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
        map_names=["玉峡村", "<i>安居村</i>"],
    )
    assert SCRIPT not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "福果村&lt;b&gt;" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@page { size: A4 landscape" in page
    assert "data:image/png;base64," in page
    assert "示意边界" in page and "illustrative" not in page
    assert "相邻村（社区）：玉峡村、&lt;i&gt;安居村&lt;/i&gt;" in page
    # two header rows, two lines per target (data, fill-in boxes), the signature row
    assert page.count("<tr") == 2 + 2 * 3 + 1
    assert page.count('<tbody class="t') == 3
    assert 'href="https://uri.amap.com/marker?position=' in page
    assert 'href="https://apis.map.qq.com/uri/v1/marker?marker=coord:' in page
    assert "&amp;name=" in page  # & inside href attributes is escaped
    assert HOSTILE not in page  # quotes escaped
    assert "跨入=HYPERLINK(&quot;http://evil&quot;,&quot;点我&quot;)" in page
    # the district's own columns, as given, but for the area, which 图斑面积 shows beside them
    # (the workbook keeps every column)
    assert '<span class="kv">地类：林地</span>' in page
    assert '<span class="kv">作物类型：&lt;script&gt;alert(1)&lt;/script&gt;</span>' in page
    assert "<th>区禁毒办原表信息</th>" in page and "面积（亩）：" not in page
    # a second image date, which the reader did not take, is listed
    assert "影像时间：" not in page and "影像时间（后时相）：2024-03-01" in page
    # the fill-in boxes under each target; the signature is the table's last row
    assert "村（社区）核查后填写" in page
    assert page.count('<span class="k">排除：实际为</span>') == 3
    assert page.count('<div class="box state">待核查</div>') == 3
    assert page.index('<tbody class="t last">') < page.index('<tbody class="end">')
    assert "tbody.last { break-after: avoid; }" in page


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
    assert header_texts(ws[3]) == list(SUMMARY_HEADERS) == [
        "村（社区）", "靶标数", "村内", "临近村界", "村界缝隙（就近）", "跨村", "镇外", "复种点",
        "重复下发", "核查时限"]  # fmt: skip
    # T3 has split_into but is assigned inside: each target counts under its assignment only
    assert [c.value for c in ws[4]] == ["福果村", 3, 2, 1, 0, 0, 0, 1, 0,
                                        dt.datetime(2024, 3, 20)]  # fmt: skip
    assert [c.value for c in ws[5]] == ["镇外", 1, 0, 0, 0, 0, 1, 0, 0, dt.datetime(2024, 3, 20)]
    assert [c.value for c in ws[6]] == ["合计", 4, 2, 1, 0, 0, 1, 1, 0, None]
    all_ws = wb["全部靶标"]
    assert all_ws["A1"].value == "全部疑似靶标（批次 2024-03，共 4 个）"
    assert header_texts(all_ws[2]) == list(TARGET_HEADERS)
    assert all_ws.freeze_panes == "C3" and all_ws.print_title_rows == "$1:$2"
    assert [all_ws.cell(row=r, column=2).value for r in range(3, 7)] == ["T2", "T3", "T10", "T7"]
    assert all_ws["C6"].value == "镇外" and all_ws["M6"].value == "镇外，建议退回区禁毒办"


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


def test_neighbour_labels_name_every_mentioned_village() -> None:
    nb = gpd.GeoDataFrame(
        {"name": ["近村", "远村", "不提的远村"]},
        geometry=[box(10, 0, 20, 10), box(500, 500, 600, 600), box(900, 900, 950, 950)],
        crs=4544,
    )
    view = (0.0, 0.0, 100.0, 100.0)
    spots = neighbour_label_points(nb, view, must_name=["远村"])
    assert set(spots) == {"近村", "远村"}  # a far village nobody mentions is not named
    for p in spots.values():
        assert 0 < p.x < 100 and 0 < p.y < 100
    assert spots["近村"].within(box(10, 0, 20, 10))


def test_district_columns_leave_out_ids_and_coordinates() -> None:
    attrs = {"序号": 1, "靶标编号": "T1", "经度": "106°02'03.5\"", "纬度": 29.8, "X坐标": 1,
             "地类": "耕地", "面积（亩）": 0.5, "备注": "=1+1"}  # fmt: skip
    assert district_columns(attrs) == [("地类", "耕地"), ("面积（亩）", 0.5), ("备注", "=1+1")]
    assert district_columns(None) == []
