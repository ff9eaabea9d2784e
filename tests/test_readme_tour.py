"""The README's tour, command by command, gives the same monthly table as ``geoverify demo``.

:data:`TOUR` is the README's command-line tour with the bundled sample files in place of the
user's (三月轨迹.gpx, 踏查表.xlsx, 土地覆盖.tif); keep the two in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from docx import Document

from geoverify.workflows import sample_path
from tests.conftest import Cli

MARCH = str(sample_path("samples", "district_batch_2024-03.geojson"))
GPX = str(sample_path("samples", "patrols_2024-03.gpx"))
TABLE = str(sample_path("samples", "patrols_2024-03.csv"))
LANDCOVER = str(sample_path("samples", "landcover_sample.tif"))

#: The README's tour (paths relative to the workspace's parent folder).
TOUR: list[list[str]] = [
    ["init"],
    ["villages", "list"],
    ["batch", "import", MARCH, "--batch", "2024-03", "--issued", "2024-03-05", "--due",
     "2024-03-20"],
    ["batch", "list"],
    ["targets", "list", "--batch", "2024-03", "--village", "青龙村"],
    ["targets", "list", "--village", "-"],
    ["targets", "show", "TL2024-03-011"],
    ["dispatch", "--batch", "2024-03", "--out", "派发/2024-03"],
    ["feedback", "set", "TL2024-03-011", "--result", "排除", "--date", "2024-03-12",
     "--checked-by", "张三", "--remarks", "油菜"],
    ["status", "--batch", "2024-03", "--as-of", "2024-03-25"],
    ["history", "TL2024-03-011"],
    ["report", "district", "--batch", "2024-03", "--out", "反馈/2024-03.xlsx", "--as-of",
     "2024-03-25"],
    ["patrols", "import", GPX],
    ["patrols", "import", TABLE, "--tracks", GPX, "--received", "2024-03-22"],
    ["landcover", "import", LANDCOVER],
    ["coverage", "--month", "2024-03", "--out", "覆盖/2024-03"],
    ["report", "monthly", "--month", "2024-03", "--out", "月报/2024-03"],
    ["map", "--out", "maps/福果镇.html", "--batch", "2024-03", "--month", "2024-03",
     "--as-of", "2024-03-25"],
]  # fmt: skip


def _cells(path: Path) -> list[list[Any]]:
    wb = openpyxl.load_workbook(path)
    out = []
    for ws in wb.worksheets:
        out.append([ws.title])
        out += [list(r) for r in ws.iter_rows(values_only=True)]
    return out


def _docx(path: Path) -> list[list[str]]:
    doc = Document(str(path))
    rows = [[p.text] for p in doc.paragraphs]
    for table in doc.tables:
        rows += [[c.text for c in r.cells] for r in table.rows]
    return rows


@pytest.fixture
def demo_monthly(demo_workspace: dict[str, Any]) -> Path:
    ws = Path(demo_workspace["workspace"])
    # every output of the demo is inside its workspace
    outputs = demo_workspace["outputs"].values()
    assert all(Path(p).resolve().is_relative_to(ws.resolve()) for p in outputs)
    return Path(demo_workspace["outputs"]["月报 (monthly report)"])


def test_the_demo_counts_overdue_once(demo_workspace: dict[str, Any]) -> None:
    """status, the district report and the map: one as-of date, one overdue count."""
    assert demo_workspace["as_of"] == "2024-03-25"
    steps = {s["step"]: s["text"] for s in demo_workspace["steps"]}
    counts = {
        step: int(steps[step].split("逾期未反馈 ")[1].split("（")[0].split(" ")[0].rstrip("个"))
        for step in ("status", "map")
    }
    report = next(s["text"] for s in demo_workspace["steps"] if "上报" in s["text"])
    counts["report"] = int(report.split("逾期未反馈 ")[1].split(" ")[0])
    assert len(set(counts.values())) == 1 and counts["status"] > 0, counts
    assert all("统计截至 2024-03-25" in steps[s] for s in ("status", "map"))


def test_readme_tour_gives_the_demos_monthly_table(
    run: Cli, tmp_path: Path, demo_monthly: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outputs: dict[str, Any] = {}
    for command in TOUR:
        res = run(*command)
        assert res.exit_code == 0, (command, res.output)
        if command[:2] == ["report", "monthly"]:
            outputs["monthly"] = tmp_path / "月报" / "2024-03"
    mine = outputs["monthly"]
    theirs = demo_monthly
    names = sorted(p.name for p in theirs.iterdir())
    assert names == sorted(p.name for p in mine.iterdir())
    assert len(names) == 27  # 13 villages × (XLSX + DOCX) + the town summary
    for name in names:
        if name.endswith(".xlsx"):
            assert _cells(mine / name) == _cells(theirs / name), name
        else:
            assert _docx(mine / name) == _docx(theirs / name), name
    summary = _cells(mine / "2024年3月_全镇踏查情况汇总.xlsx")
    statuses = {r[0]: r[7] for r in summary if len(r) > 7 and isinstance(r[1], int)}
    # patrols counted once (11 records, not 19) and on time (received 2024-03-22)
    assert sum(r[1] for r in summary if r and r[0] == "合计") == 11
    assert statuses["龙泉村"] == "已报送" and "逾期报送" not in statuses.values()
