"""`geoverify landcover import` and `geoverify coverage` on the sample, SQLite and PostGIS."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyogrio
import pytest
import rasterio

from geoverify.workflows import sample_path
from tests.conftest import Cli, snapshot

KEYS = {
    "village",
    "area_m2",
    "covered_m2",
    "covered_pct",
    "priority_covered_pct",
    "reported_groups",
    "unsurveyed_areas",
}


def _setup(run: Cli) -> None:
    assert run("init").exit_code == 0
    gpx = str(sample_path("samples", "patrols_2024-03.gpx"))
    csv_ = str(sample_path("samples", "patrols_2024-03.csv"))
    assert run("patrols", "import", csv_, "--tracks", gpx).exit_code == 0


def test_coverage_without_then_with_landcover(run: Cli, tmp_path: Path) -> None:
    _setup(run)
    res = run("coverage", "--month", "2024-03", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["radius_m"] == 30.0 and doc["cell_m"] == 6.0 and doc["landcover"] is None
    rows = {r["village"]: r for r in doc["villages"]}
    assert all(set(r) >= KEYS for r in rows.values())
    assert all(r["priority_covered_pct"] is None for r in rows.values())
    # Villages without patrols: 0 %; reported-only groups listed.
    assert rows["石桥村"]["covered_pct"] == 0.0
    assert rows["龙泉村"]["covered_pct"] > 0
    assert rows["永安村"]["covered_pct"] == 0.0
    assert rows["永安村"]["reported_groups"] == ["一组", "三组"]
    assert 0 < doc["totals"]["covered_pct"] < 100
    assert doc["totals"]["patrols"] == 8
    assert "未导入土地覆盖" in run("coverage", "--month", "2024-03").stdout

    tif = str(sample_path("samples", "landcover_sample.tif"))
    res = run("landcover", "import", tif, "--json")
    assert res.exit_code == 0, res.output
    store = run.store()
    before = snapshot(store)
    again = run("landcover", "import", tif, "--json")
    assert json.loads(again.stdout)["status"] == "already_imported"
    assert snapshot(store) == before

    out = tmp_path / "out"
    res = run("coverage", "--from", "2024-03-01", "--to", "2024-03-31", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["landcover"] is not None
    assert all(r["priority_covered_pct"] is not None for r in doc["villages"])
    with rasterio.open(out / "effort.tif") as src:
        effort = src.read(1)
        assert src.crs.to_epsg() == 4544
    assert effort.max() >= 1
    gaps = pyogrio.read_dataframe(out / "unsurveyed.gpkg")
    assert len(gaps) == doc["totals"]["unsurveyed_areas"]
    assert (gaps["area_m2"] >= 5000).all()
    # The JSON lists each village's unsurveyed areas, ranked, matching the GeoPackage.
    listed = [a for r in doc["villages"] for a in r["unsurveyed_areas"]]
    assert sorted(a["rank"] for a in listed) == sorted(gaps["rank"].tolist())
    assert all(r["unsurveyed_count"] == len(r["unsurveyed_areas"]) for r in doc["villages"])
    big = run("coverage", "--month", "2024-03", "--min-area", "50", "--json")
    assert json.loads(big.stdout)["totals"]["unsurveyed_areas"] < len(gaps)
    heavy = run("coverage", "--month", "2024-03", "--weight", "forest=10", "--json")
    assert json.loads(heavy.stdout)["totals"]["priority_covered_pct"] != pytest.approx(
        doc["totals"]["priority_covered_pct"]
    )
    assert run("coverage", "--month", "2024-03", "--weight", "trees=2").exit_code == 2
    with (out / "villages_coverage.csv").open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0][0] == "村（社区）"
    assert len(table) == 1 + len(doc["villages"])


def test_coverage_usage_and_bad_input(run: Cli, tmp_path: Path) -> None:
    _setup(run)
    assert run("coverage").exit_code == 2
    assert run("coverage", "--month", "2024-03", "--from", "2024-03-01").exit_code == 2
    res = run("coverage", "--month", "2024-03", "--radius", "30", "--cell", "10")
    assert res.exit_code == 1 and "五分之一" in res.stderr
    assert run("coverage", "--month", "2024-13").exit_code == 2
    assert run("coverage", "--from", "2024-03-20", "--to", "2024-03-01").exit_code == 2
    bad = tmp_path / "x.tif"
    bad.write_bytes(b"not a tiff")
    store = run.store()
    before = snapshot(store)
    res = run("landcover", "import", str(bad))
    assert res.exit_code == 1 and "x.tif" in res.stderr
    assert snapshot(store) == before
