"""`geoverify export FILE.gpkg` (issue 11, item 6): layers a GIS user opens, valid by GDAL's rules.

The GeoPackage is checked with GDAL's own validator, ``validate_gpkg.py`` from GDAL's Python
utilities (Debian package ``python3-gdal``, run with the system Python, warnings as errors),
and read back layer by layer: what QGIS lists (table names, titles, geometry types, CRS,
spatial indexes) and what it shows (Chinese field names, status and result labels, the
district's own columns, the same coverage numbers as ``geoverify coverage``).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import pyogrio
import pytest

from geoverify.workflows import sample_path
from tests.cli.feedback_helpers import with_batch
from tests.conftest import Cli, skip_or_fail

GPX = sample_path("samples", "patrols_2024-03.gpx")
SYSTEM_PYTHON = "/usr/bin/python3"
VALIDATOR = "osgeo_utils.samples.validate_gpkg"


def validate_gpkg(path: Path) -> None:
    """Run GDAL's validate_gpkg.py on ``path``; fail with its message unless it passes."""
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", f"import {VALIDATOR}"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        skip_or_fail("GDAL's validate_gpkg.py is not installed (Debian package python3-gdal)")
    done = subprocess.run(
        [SYSTEM_PYTHON, "-m", VALIDATOR, "--warning-as-error", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _layers(path: Path) -> dict[str, dict]:
    return {name: pyogrio.read_info(path, layer=name) for name, _ in pyogrio.list_layers(path)}


def test_export_passes_gdal_validator_and_reads_back(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    assert run("patrols", "import", str(GPX)).exit_code == 0
    res = run("targets", "list", "--batch", "2024-03", "--json")
    tid = json.loads(res.stdout)[0]["target_id"]
    res = run(
        "feedback", "set", tid, "--result", "确认种植", "--plants", "650", "--date",
        "2024-03-08", "--checked-by", "张三", "--case", "铜公〔2024〕12号",
    )  # fmt: skip
    assert res.exit_code == 0, res.output

    out = tmp_path / "导出" / "福果镇.gpkg"
    res = run("export", str(out), "--batch", "2024-03", "--month", "2024-03", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    counts = {layer["name"]: layer["features"] for layer in doc["layers"]}
    assert counts == {
        "villages": 13,
        "groups": 52,
        "targets": 60,
        "target_areas": 10,
        "patrol_tracks": 8,
        "coverage": 13,
        "unsurveyed": counts["unsurveyed"],
    }
    assert counts["unsurveyed"] > 0
    validate_gpkg(out)

    layers = _layers(out)
    assert list(layers) == list(counts)
    assert {n: info["features"] for n, info in layers.items()} == counts
    assert {n: info["geometry_type"] for n, info in layers.items()} == {
        "villages": "MultiPolygon",
        "groups": "MultiPolygon",
        "targets": "Point",
        "target_areas": "Polygon",
        "patrol_tracks": "MultiLineString",
        "coverage": "MultiPolygon",
        "unsurveyed": "MultiPolygon",
    }
    assert {info["crs"] for info in layers.values()} == {"EPSG:4490"}
    fields = list(layers["targets"]["fields"])
    assert fields[:9] == [
        "靶标编号",
        "批次",
        "来源",
        "村（社区）",
        "村代码",
        "组",
        "归属",
        "状态",
        "核查结果",
    ]
    # The district's own columns follow; a name we use too is marked （原）.
    assert {"疑似类型", "影像时间", "靶标编号（原）"} <= set(fields)

    targets = pyogrio.read_dataframe(out, layer="targets")
    row = targets[targets["靶标编号"] == tid].iloc[0]
    assert (row["状态"], row["核查结果"], int(row["株数"])) == ("已核查", "确认种植", 650)
    assert row["核查日期"] == "2024-03-08" and row["案件编号"] == "铜公〔2024〕12号"
    assert set(targets["状态"]) == {"已核查", "已下发"}

    # The coverage layer says what `geoverify coverage` says.
    cov = json.loads(run("coverage", "--month", "2024-03", "--json").stdout)
    want = {v["code"]: v["covered_m2"] for v in cov["villages"]}
    got = pyogrio.read_dataframe(out, layer="coverage", read_geometry=False)
    assert dict(zip(got["代码"], got["轨迹覆盖面积（平方米）"], strict=True)) == pytest.approx(want)

    # What QGIS lists: titles, spatial indexes, no leftovers of the atomic write.
    with closing(sqlite3.connect(out)) as db:
        titles = dict(db.execute("SELECT table_name, identifier FROM gpkg_contents"))
        rtree = "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'"
        indexed = {r[0] for r in db.execute(rtree)}
    assert titles["targets"] == "靶标" and titles["unsurveyed"] == "未踏查区域"
    assert indexed == set(counts)
    assert [p.name for p in out.parent.iterdir()] == ["福果镇.gpkg"]


def test_export_of_an_empty_workspace_is_valid_and_refusals(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    out = tmp_path / "empty.gpkg"
    res = run("export", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["period"] is None
    assert {layer["name"]: layer["features"] for layer in doc["layers"]}["targets"] == 0
    validate_gpkg(out)
    # Exporting again replaces the file.
    assert run("export", str(out)).exit_code == 0
    res = run("export", str(tmp_path / "x.shp"))
    assert res.exit_code == 1 and ".gpkg" in res.output
    res = run("export", str(tmp_path / "y.gpkg"), "--batch", "NOPE")
    assert res.exit_code == 1 and not (tmp_path / "y.gpkg").exists()
    assert run("export", str(tmp_path / "z.gpkg"), "--month", "2024-13").exit_code == 2


def test_export_gives_a_target_issued_again_the_deadline_the_list_shows(
    sample_store: Any, tmp_path: Path
) -> None:
    """A later batch not issued yet today does not move a deadline in the export, as in the
    target list: both take the latest deadline of the batches issued by today."""
    from geoverify.workflows import import_batch, list_batches, list_targets
    from geoverify.workflows.common import today_local
    from geoverify.workflows.export import export_geopackage

    march = sample_path("samples", "district_batch_2024-03.geojson")
    april = sample_path("samples", "district_batch_2024-04.csv")
    import_batch(sample_store, march, batch_id="2024-03", issued_on=dt.date(2024, 3, 5))
    later = today_local() + dt.timedelta(days=10)
    import_batch(sample_store, april, batch_id="2024-04", issued_on=later)
    dues = dict(zip(*(list_batches(sample_store)[c] for c in ("id", "due_on")), strict=True))
    assert dues["2024-04"] > dues["2024-03"]
    again = list_targets(sample_store, batch="2024-04").frame
    again = set(again.loc[again["reissue_of"].notna(), "target_id"])
    listed = list_targets(sample_store).frame.set_index("target_id")["due_on"]
    out = tmp_path / "town.gpkg"
    export_geopackage(sample_store, out)
    layer = pyogrio.read_dataframe(out, layer="targets").set_index("靶标编号")
    assert again and again <= set(layer.index)
    for tid in again:
        assert str(layer.loc[tid, "核查时限"])[:10] == str(listed[tid]) == str(dues["2024-03"])
