"""What the district sends travels with each target (issue 9, items 4–6), on both stores."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl

from geoverify.readers.coords import parse_angle
from geoverify.workflows import sample_path
from tests.conftest import Cli, header_texts

HOSTILE = '=HYPERLINK("http://evil","点我")'


def _batch(tmp_path: Path) -> Path:
    """A district CSV with its own columns (one hostile) and DMS that rounding pushed to 60."""
    path = tmp_path / "区下发.csv"
    rows = [
        ["靶标编号", "经度", "纬度", "地类", "作物类型", "面积（亩）", "备注"],
        ["D-001", "106°01'00.50\"", "29°43'09.00\"", "耕地", "油菜", "0.3", HOSTILE],
        ["D-002", "106°00'59.99\"", "29°42'59.99\"", "林地", "", "0.05", "<b>粗体</b>"],
        ["D-003", "106°00'60.00\"", "29°42'60.00\"", "园地", "果树", "1.2", ""],
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_district_columns_travel_with_each_target(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    res = run("batch", "import", str(_batch(tmp_path)), "--batch", "B1", "--issued",
              "2024-03-05", "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["imported"] == 3 and doc["dms_carried"] == 1
    text = run("batch", "import", str(_batch(tmp_path)), "--batch", "B2").stdout
    assert "未做任何更改" in text  # the same file again: nothing new
    # the carried DMS lands on the next minute
    listed = {t["target_id"]: t for t in json.loads(run("targets", "list", "--json").stdout)}
    assert listed["D-003"]["lon"] == round(parse_angle("106°01'00\""), 7)
    assert listed["D-003"]["lat"] == round(parse_angle("29°43'00\""), 7)
    # stored as given and listed under `attributes`
    attrs = listed["D-001"]["attributes"]
    assert attrs["地类"] == "耕地" and attrs["备注"] == HOSTILE and attrs["面积（亩）"] == "0.3"
    assert listed["D-002"]["attributes"]["备注"] == "<b>粗体</b>"

    res = run("dispatch", "--batch", "B1", "--out", str(tmp_path / "pack"), "--json")
    assert res.exit_code == 0, res.output
    village = json.loads(res.stdout)["villages"][0]
    ws = openpyxl.load_workbook(village["xlsx"])["核查清单"]
    headers = header_texts(ws[4])
    given = ["地类", "作物类型", "面积（亩）", "备注（原表）"]
    # in the file's order, on both stores
    assert headers[17:21] == given
    by_id = {ws.cell(r, 2).value: r for r in range(5, ws.max_row + 1)}
    row = by_id["D-001"]
    cell = ws.cell(row, 18 + headers[17:21].index("备注（原表）"))
    assert cell.value == HOSTILE and cell.data_type == "s"  # text, never a formula
    page = Path(village["html"]).read_text(encoding="utf-8")
    assert "地类：耕地" in page and "&lt;b&gt;粗体&lt;/b&gt;" in page and "<b>粗体" not in page


def test_the_same_village_area_everywhere(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    villages = {v["code"]: v["area_km2"] for v in json.loads(run("villages", "list",
                                                                "--json").stdout)}  # fmt: skip
    gpx = str(sample_path("samples", "patrols_2024-03.gpx"))
    assert run("patrols", "import", gpx).exit_code == 0
    res = run("coverage", "--month", "2024-03", "--out", str(tmp_path / "cov"), "--json")
    cov = json.loads(res.stdout)
    assert {v["code"]: v["area_km2"] for v in cov["villages"]} == villages
    assert cov["totals"]["area_km2"] == round(sum(villages.values()), 2)
    with (tmp_path / "cov" / "villages_coverage.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["代码"]: float(r["面积（平方公里）"]) for r in rows} == villages
    text = run("coverage", "--month", "2024-03").stdout
    for code, area in villages.items():
        assert f"{area:.2f}" in text, code
