"""`geoverify batch import` names the targets it put outside the town, far ones warned of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geoverify.outside import FAR_OUTSIDE_KM
from geoverify.store import repo
from tests.conftest import Cli

INSIDE = (106.0612129, 29.7174347)  # in 永安村
NEAR_OUT = (106.0232911, 29.6537572)  # about 2 km outside the town
BEIJING = (116.4, 39.9)  # a typo: some 1,500 km away


@pytest.fixture
def ready(run: Cli) -> Cli:
    assert run("init").exit_code == 0
    return run


def _csv(path: Path) -> Path:
    rows = [("C-1", INSIDE), ("C-2", NEAR_OUT), ("C-3", BEIJING)]
    path.write_text(
        "靶标编号,经度,纬度\n" + "".join(f"{t},{x},{y}\n" for t, (x, y) in rows), encoding="utf-8"
    )
    return path


def test_import_lists_outside_targets_far_first(ready: Cli, tmp_path: Path) -> None:
    res = ready("batch", "import", str(_csv(tmp_path / "镇外.csv")), "--batch", "C")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "镇外 2 个" in out
    assert f"其中 1 个距本镇超过 {FAR_OUTSIDE_KM:g} 公里" in out
    lines = out.splitlines()
    far = next(i for i, line in enumerate(lines) if " C-3 " in line)
    near = next(i for i, line in enumerate(lines) if " C-2 " in line)
    assert far < near  # the far one first
    assert "116.400000, 39.900000" in lines[far] and "远离本镇" in lines[far]
    assert lines[far].split()[0] == "4" and lines[near].split()[0] == "3"  # the file's rows
    assert "远离本镇" not in lines[near]
    # The distances and villages are the stored assignment's.
    with ready.store().connect() as conn:
        stored = repo.load_targets(conn, batch="C").set_index("target_id")
    for tid, at in (("C-3", far), ("C-2", near)):
        assert f"{stored.loc[tid, 'distance_m'] / 1000:.1f}" in lines[at], lines[at]
    assert stored.loc["C-3", "assignment"] == "outside"


def test_json_carries_the_outside_targets(ready: Cli, tmp_path: Path) -> None:
    res = ready("batch", "import", str(_csv(tmp_path / "镇外.csv")), "--batch", "C", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)["outside_town"]
    assert (doc["count"], doc["far"], doc["far_km"], doc["unlisted"]) == (2, 1, FAR_OUTSIDE_KM, 0)
    listed = [(t["row"], t["target_id"], t["far"], t["swapped"]) for t in doc["targets"]]
    assert listed == [(4, "C-3", True, False), (3, "C-2", False, False)]
    assert all(t["nearest_village"] and t["nearest_village_code"] for t in doc["targets"])
    # The same file again: already imported, the same list (from the store).
    again = ready("batch", "import", str(tmp_path / "镇外.csv"), "--batch", "C", "--json")
    assert json.loads(again.stdout)["outside_town"] == doc


def test_the_district_report_sends_back_far_targets_and_refused_rows(
    ready: Cli, tmp_path: Path
) -> None:
    """What the district must check comes back to it in the report: the rows the import
    refused, with their reasons, and the far targets outside the town marked as typos."""
    import openpyxl

    path = _csv(tmp_path / "镇外.csv")
    path.write_text(path.read_text(encoding="utf-8") + "C-4,abc,29.7\n", encoding="utf-8")
    res = ready("batch", "import", str(path), "--batch", "C", "--accept-partial")
    assert res.exit_code == 0, res.output
    with ready.store().connect() as conn:
        from geoverify.store import batches as store_batches

        refused = store_batches.rejected_rows_of(conn, "C")
    assert [r["row"] for r in refused] == [5]
    out = tmp_path / "report.xlsx"
    res = ready("report", "district", "--batch", "C", "--out", str(out))
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(out)
    rows = list(wb["有误未导入"].iter_rows(min_row=4, values_only=True))
    assert rows[0][:3] == (1, 5, "C-4")
    assert refused[0]["reason"].startswith(rows[0][3])  # its Chinese, in a Chinese document
    notes = {r[1]: r[-1] for r in wb["镇外靶标"].iter_rows(min_row=4, values_only=True) if r[1]}
    assert notes["C-3"].startswith(f"距本镇超过 {FAR_OUTSIDE_KM:g} 公里，多半是坐标录错")
    assert notes["C-2"] == "镇外，建议退回区禁毒办"
