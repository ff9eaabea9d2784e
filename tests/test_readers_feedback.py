"""Tests for reading a filled dispatch workbook back (round trip with validation)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pytest
from shapely.geometry import Point

from geoverify.documents.dispatch import META_SHEET, write_village_workbook
from geoverify.errors import InputError
from geoverify.lifecycle import validate_feedback
from geoverify.readers.feedback import parse_date_text, read_feedback
from tests.conftest import header_texts
from tests.office import libreoffice_convert

TODAY = dt.date(2024, 4, 1)


def _targets() -> gpd.GeoDataFrame:
    recs: list[dict[str, Any]] = []
    for i, (lon, lat) in enumerate([(106.03, 29.84), (106.031, 29.841), (106.032, 29.842)], 1):
        recs.append(
            {
                "pk": i,
                "target_id": f"T{i}",
                "batch": "2024-03",
                "geometry": Point(lon, lat),
                "lon": lon,
                "lat": lat,
                "area_m2": 20.0,
                "image_date": dt.date(2024, 2, 20),
                "village_code": "001",
                "village": "福果村",
                "group": "一组",
                "assignment": "inside",
                "status": "dispatched",
                "result": None,
                "issued_on": dt.date(2024, 3, 1),
                "due_on": dt.date(2024, 3, 20),
                "verified_on": None,
                "verified_by": None,
                "plants": None,
                "eradicated_area_m2": None,
                "eradicated_on": None,
                "case_no": None,
                "remarks": None,
            }
        )
    return gpd.GeoDataFrame(recs, geometry="geometry", crs=4490)


def _write(tmp_path: Path) -> Path:
    return write_village_workbook(
        tmp_path / "福果村.xlsx",
        "福果村",
        _targets(),
        batch="2024-03",
        issued_on=dt.date(2024, 3, 1),
        due_on=dt.date(2024, 3, 20),
    )


# The feedback columns by the letters of format version 1 (P 核查日期, Q 核查人员, R 核查结果,
# S 株数, T 铲除面积, U 铲除日期, V 案件编号, W 备注; X 排除：实际为 came with version 2); rows
# by their number under the header (1 = the first target), placed by the header row.
FIELDS = {"P": "核查日期", "Q": "核查人员", "R": "核查结果", "S": "株数", "T": "铲除面积（平方米）",
          "U": "铲除日期", "V": "案件编号", "W": "备注", "X": "排除：实际为"}  # fmt: skip
HEADER_ROW = 4


def _cell(ws: Any, letter: str, n: int) -> Any:
    headers = header_texts(ws[HEADER_ROW])
    col = len(headers) - headers[::-1].index(FIELDS[letter])  # the fill-in block is last
    return ws.cell(row=HEADER_ROW + n, column=col)


def _fill(path: Path, rows: dict[int, dict[str, Any]]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["核查清单"]
    for n, cells in rows.items():
        for letter, v in cells.items():
            _cell(ws, letter, n).value = v
    wb.save(path)


def test_round_trip(tmp_path: Path) -> None:
    path = _write(tmp_path)
    _fill(
        path,
        {
            1: {"P": dt.date(2024, 3, 10), "Q": "张三", "R": "确认种植", "S": 620, "T": 48.5,
                "U": "2024年3月11日", "V": "铜公刑〔2024〕1号", "W": "已拔除焚烧"},
            2: {"P": "2024/3/12", "Q": "李四", "R": "排除", "W": "油菜花，非罂粟"},
            # row 5 left empty: not yet checked
        },
    )  # fmt: skip
    fb = read_feedback(path)
    assert fb.batch == "2024-03" and fb.village == "福果村" and fb.village_code == "001"
    assert fb.version == "2"
    assert fb.issued_on == dt.date(2024, 3, 1) and fb.due_on == dt.date(2024, 3, 20)
    assert [r.row for r in fb.rows] == [5, 6, 7]
    r3, r4, r5 = fb.rows
    assert r3.target_id == "T1" and r3.village == "福果村"
    assert r3.verified_on == dt.date(2024, 3, 10)
    assert r3.eradicated_on == dt.date(2024, 3, 11)
    assert (r3.result_label, r3.plants, r3.area_m2, r3.case_no) == ("确认种植", 620, 48.5,
                                                                   "铜公刑〔2024〕1号")  # fmt: skip
    assert r4.verified_on == dt.date(2024, 3, 12) and r4.remarks == "油菜花，非罂粟"
    assert r5.result_label is None
    changes, problems = validate_feedback(
        fb.rows, _targets(), village=fb.village, today=TODAY, batch=fb.batch
    )
    assert problems == []
    assert [(c.target_id, c.to_status, c.to_result, c.threshold) for c in changes] == [
        ("T1", "eradicated", "confirmed", "criminal"),
        ("T2", "verified", "excluded", None),
    ]


def test_bad_rows_keep_true_row_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path)
    _fill(
        path,
        {
            1: {"P": "上周三", "Q": "张三", "R": "排除", "X": "油菜"},
            3: {"P": dt.date(2024, 3, 10), "Q": "王五", "R": "有", "S": -3},
        },
    )
    fb = read_feedback(path)
    assert fb.rows[0].verified_on == "上周三"
    _, problems = validate_feedback(fb.rows, _targets(), village=fb.village, today=TODAY)
    assert [(p.row, p.code) for p in problems] == [
        (5, "bad_date"),
        (7, "bad_result"),
        (7, "bad_plants"),
    ]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2024-03-15", dt.date(2024, 3, 15)),
        ("2024/3/15", dt.date(2024, 3, 15)),
        ("2024.3.5", dt.date(2024, 3, 5)),
        ("2024年3月15日", dt.date(2024, 3, 15)),
        ("2024 年 3 月 15 号", dt.date(2024, 3, 15)),
        ("20240315", dt.date(2024, 3, 15)),
        ("2024-03-15 10:30", dt.date(2024, 3, 15)),
        ("2024-02-30", None),
        ("3月15日", None),
        ("", None),
    ],
)
def test_parse_date_text(text: str, date: dt.date | None) -> None:
    assert parse_date_text(text) == date


def test_excel_serial_and_datetime_cells(tmp_path: Path) -> None:
    path = _write(tmp_path)
    when = dt.datetime(2024, 3, 16, 9, 30)
    _fill(path, {1: {"P": 45366, "Q": "张三", "R": "未发现"},
                 2: {"P": when, "Q": "李四", "R": "未发现"}})  # fmt: skip
    rows = read_feedback(path).rows
    assert rows[0].verified_on == dt.date(2024, 3, 15)
    assert rows[1].verified_on == dt.date(2024, 3, 16)


def test_not_our_workbook(tmp_path: Path) -> None:
    other = tmp_path / "别人的表.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "靶标编号"  # type: ignore[index]
    wb.save(other)
    with pytest.raises(InputError, match=r"别人的表\.xlsx.*不是本系统生成的派发表"):
        read_feedback(other)


def test_wrong_format_marker_and_version(tmp_path: Path) -> None:
    path = _write(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb[META_SHEET]["B3"] = "99"  # version
    wb.save(path)
    with pytest.raises(InputError, match="版本 99"):
        read_feedback(path)
    wb[META_SHEET]["B2"] = "something-else"
    wb.save(path)
    with pytest.raises(InputError, match="不是本系统生成的派发表"):
        read_feedback(path)


def test_edited_headers(tmp_path: Path) -> None:
    path = _write(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["核查清单"]
    _cell(ws, "R", 0).value = "结果"
    wb.save(path)
    with pytest.raises(InputError, match="缺少列：核查结果，其他行也找不到完整的表头"):
        read_feedback(path)


def test_a_header_moved_and_edited_is_named_where_it_now_is(tmp_path: Path) -> None:
    """Rows added above the table and a header renamed: the refusal names the row the header
    is now on and the column it lacks (the recorded row holds a target by then)."""
    path = _write(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["核查清单"]
    _cell(ws, "R", 0).value = "结果"
    ws.insert_rows(1, 2)
    ws.cell(1, 1).value = "福果村反馈"
    wb.save(path)
    with pytest.raises(InputError, match=f"第 {HEADER_ROW + 2} 行缺少列：核查结果，其他行"):
        read_feedback(path)


@pytest.mark.parametrize("moved", [1, 3])
def test_a_header_moved_by_rows_added_above_it(tmp_path: Path, moved: int) -> None:
    """A village that adds a title row (or a few) above the table still has its answers read,
    from the rows where they now are."""
    path = _write(tmp_path)
    _fill(path, {1: {"P": dt.date(2024, 3, 10), "Q": "张三", "R": "未发现"}})
    wb = openpyxl.load_workbook(path)
    ws = wb["核查清单"]
    ws.insert_rows(1, moved)
    ws.cell(1, 1).value = "福果村反馈（已核查）"
    wb.save(path)
    fb = read_feedback(path)
    header = HEADER_ROW + moved
    assert [r.row for r in fb.rows] == [header + 1, header + 2, header + 3]
    assert (fb.rows[0].target_id, fb.rows[0].result_label) == ("T1", "未发现")
    assert fb.rows[0].verified_by == "张三" and fb.rows[1].result_label is None


def test_not_a_workbook(tmp_path: Path) -> None:
    bad = tmp_path / "feedback.xlsx"
    bad.write_text("not a zip", encoding="utf-8")
    with pytest.raises(InputError, match=r"feedback\.xlsx.*无法作为 XLSX"):
        read_feedback(bad)
    with pytest.raises(InputError, match="文件不存在"):
        read_feedback(tmp_path / "missing.xlsx")


@pytest.mark.libreoffice
def test_survives_a_libreoffice_resave(tmp_path: Path) -> None:
    path = _write(tmp_path)
    _fill(path, {1: {"P": "2024-03-10", "Q": "张三", "R": "排除"}})
    outdir = tmp_path / "lo"
    outdir.mkdir()
    fb = read_feedback(libreoffice_convert(path, outdir, "xlsx:Calc MS Excel 2007 XML")[0])
    assert fb.batch == "2024-03"
    assert fb.rows[0].row == 5 and fb.rows[0].result_label == "排除"
    assert fb.rows[0].verified_on == dt.date(2024, 3, 10)


def test_a_typed_formula_is_read_as_the_text_that_was_typed(tmp_path: Path) -> None:
    path = _write(tmp_path)
    # openpyxl stores these as formulas without a computed value, as a program that does not
    # calculate would; the reader must not mistake them for empty cells.
    _fill(path, {1: {"P": "2024-03-10", "Q": '=HYPERLINK("http://x","张三")', "R": "排除",
                     "W": "@SUM(1)+1"}})  # fmt: skip
    wb = openpyxl.load_workbook(path)
    assert _cell(wb["核查清单"], "Q", 1).data_type == "f"
    fb = read_feedback(path)
    r3 = fb.rows[0]
    assert r3.verified_by == '=HYPERLINK("http://x","张三")'
    assert r3.remarks == "@SUM(1)+1"


def test_excluded_as_goes_into_the_remarks(tmp_path: Path) -> None:
    path = _write(tmp_path)
    checked = {"P": "2024-03-10", "Q": "张三", "R": "排除"}
    _fill(path, {1: {**checked, "X": "观赏植物（虞美人等）", "W": "已拍照"},
                 2: {**checked, "X": "油菜等农作物"}})  # fmt: skip
    rows = read_feedback(path).rows
    assert rows[0].remarks == "实际为：观赏植物（虞美人等）；已拍照"
    assert rows[1].remarks == "实际为：油菜等农作物"


def test_a_district_column_named_like_ours_is_not_read_as_feedback(tmp_path: Path) -> None:
    from geoverify.workflows.attributes import with_district_columns

    frame = _targets().assign(attributes=[{"备注": "区里的备注", "地类": "耕地"}] * 3)
    path = write_village_workbook(
        tmp_path / "福果村.xlsx", "福果村", with_district_columns(frame), batch="2024-03",
        issued_on=dt.date(2024, 3, 1), due_on=dt.date(2024, 3, 20),
    )  # fmt: skip
    _fill(path, {1: {"P": "2024-03-10", "Q": "张三", "R": "未发现", "W": "村里的备注"}})
    rows = read_feedback(path).rows
    assert rows[0].remarks == "村里的备注"
    assert rows[1].remarks is None and rows[1].result_label is None


def test_a_version_1_workbook_already_sent_to_a_village_is_still_read(tmp_path: Path) -> None:
    """Format 1: one block, header on row 2, 面积（平方米） for the eradicated area."""
    path = tmp_path / "旧版.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "核查清单"
    ws.append(["福果村 疑似靶标核查清单（批次 2024-03）"])
    old = ["序号", "靶标编号", "村（社区）", "组", "经度", "纬度", "经度（度分秒）",
           "纬度（度分秒）", "面积", "影像时间", "核查时限", "说明", "高德地图", "百度地图",
           "手机定位", "核查日期", "核查人员", "核查结果", "株数", "面积（平方米）", "铲除日期",
           "案件编号", "备注"]  # fmt: skip
    ws.append(old)
    ws.append([1, "T1", "福果村", "一组", 106.03, 29.84, "", "", 20.0, None, None, None,
               None, None, None, dt.date(2024, 3, 10), "张三", "确认种植", 30, 12.5,
               dt.date(2024, 3, 11), None, "已铲除"])  # fmt: skip
    meta = wb.create_sheet(META_SHEET)
    for k, v in [("key", "value"), ("format", "geoverify-dispatch"), ("version", "1"),
                 ("batch", "2024-03"), ("village", "福果村"), ("village_code", "001"),
                 ("header_row", 2), ("sheet", "核查清单")]:  # fmt: skip
        meta.append([k, v])
    wb.save(path)
    fb = read_feedback(path)
    assert fb.version == "1"
    (r,) = fb.rows
    assert (r.row, r.target_id, r.result_label, r.plants, r.area_m2) == (3, "T1", "确认种植", 30,
                                                                         12.5)  # fmt: skip
    assert r.remarks == "已铲除" and r.eradicated_on == dt.date(2024, 3, 11)
