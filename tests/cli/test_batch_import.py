"""`geoverify batch import` and `targets list`: every format, every rejection, on both stores."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely

from geoverify.workflows import sample_path
from tests.conftest import Cli, snapshot

MARCH = sample_path("samples", "district_batch_2024-03.geojson")
APRIL_CSV = sample_path("samples", "district_batch_2024-04.csv")
APRIL_XLSX = sample_path("samples", "district_batch_2024-04.xlsx")


def _expected(name: str) -> dict[str, dict[str, str]]:
    with sample_path("samples", name).open(encoding="utf-8") as fh:
        return {r["target_id"]: r for r in csv.DictReader(fh)}


def _targets(run: Cli, *args: str) -> list[dict[str, Any]]:
    res = run("targets", "list", "--json", *args)
    assert res.exit_code == 0, res.output
    return list(json.loads(res.stdout))


def _import(run: Cli, path: Path, batch: str, *args: str) -> dict[str, Any]:
    res = run("batch", "import", str(path), "--batch", batch, "--json", *args)
    assert res.exit_code == 0, res.output
    return dict(json.loads(res.stdout))


@pytest.fixture
def ready(run: Cli) -> Cli:
    assert run("init").exit_code == 0
    return run


def test_sample_batch_every_assignment_case(ready: Cli) -> None:
    doc = _import(ready, MARCH, "2024-03", "--issued", "2024-03-05", "--due", "2024-03-20")
    expected = _expected("expected_cases.csv")
    assert doc["status"] == "imported"
    assert doc["imported"] == len(expected) == 60
    assert doc["rejected"] == []
    assert set(doc) >= {
        "batch",
        "file_sha256",
        "status",
        "imported",
        "rejected",
        "reissued",
        "repeat_sites",
        "assignment",
        "by_village",
    }
    counts: dict[str, int] = {}
    for case in (r["case"] for r in expected.values()):
        counts[case] = counts.get(case, 0) + 1
    assert {k: v for k, v in doc["assignment"].items() if v} == counts
    targets = _targets(ready, "--batch", "2024-03")
    assert {t["target_id"]: t["assignment"] for t in targets} == {
        k: r["case"] for k, r in expected.items()
    }
    for t in targets:
        assert {
            "target_id",
            "batch",
            "village",
            "village_code",
            "group",
            "lon",
            "lat",
            "status",
            "assignment",
        } <= set(t)
        assert t["status"] == "issued"
        assert 105.9 < t["lon"] < 106.2 and 29.6 < t["lat"] < 29.8
        if t["assignment"] == "outside":
            assert t["village"] is None and t["village_code"] is None
        else:
            assert t["village"] and t["group"], t  # every village of the sample has groups
        if t["assignment"] == "near_boundary":
            assert t["neighbours"]
        if t["assignment"] == "split":
            assert t["split_into"] and t["geometry_type"] == "Polygon"
    assert sum(doc["by_village"].values()) == 60


def test_reissue_and_repeat_sites(ready: Cli) -> None:
    _import(ready, MARCH, "2024-03")
    doc = _import(ready, APRIL_CSV, "2024-04")
    expected = _expected("expected_2024-04.csv")
    relations = [r["relation"] for r in expected.values()]
    assert doc["reissued"] == relations.count("reissue")
    assert doc["repeat_sites"] == relations.count("repeat")
    assert doc["imported"] == len(expected) - relations.count("reissue")
    april = {t["target_id"]: t for t in _targets(ready, "--batch", "2024-04")}
    assert set(april) == set(expected)
    for tid, r in expected.items():
        if r["relation"] == "reissue":
            assert april[tid]["reissue_of"] == "2024-03"
        elif r["relation"] == "repeat":
            assert april[tid]["repeat_of"] == r["march_target_id"]
    # Re-issued targets are linked, not duplicated.
    everything = _targets(ready)
    assert len(everything) == len({t["target_id"] for t in everything}) == 60 + doc["imported"]
    # Across batches each counts once, and status says so; within a batch it need not.
    res = ready("status")
    assert res.exit_code == 0, res.output
    assert f"重复下发的靶标（{doc['reissued']} 个）只计一次" in res.stdout
    res = ready("status", "--json")
    assert json.loads(res.stdout)["reissued"] == doc["reissued"]
    for batch in ("2024-03", "2024-04"):
        res = ready("status", "--batch", batch)
        assert res.exit_code == 0 and "重复下发" not in res.stdout, res.output


def test_same_file_twice_changes_nothing(ready: Cli) -> None:
    first = _import(ready, MARCH, "2024-03")
    store = ready.store()
    before = snapshot(store)
    again = _import(ready, MARCH, "2024-03")
    assert again["status"] == "already_imported"
    assert again["file_sha256"] == first["file_sha256"]
    assert snapshot(store) == before
    # Under another batch id too: the file is recognised by its checksum.
    other = _import(ready, MARCH, "2024-99")
    assert other["status"] == "already_imported" and other["batch"] == "2024-03"
    assert snapshot(store) == before


def test_batch_id_reused_for_another_file_is_refused(ready: Cli) -> None:
    _import(ready, MARCH, "2024-03")
    store = ready.store()
    before = snapshot(store)
    res = ready("batch", "import", str(APRIL_CSV), "--batch", "2024-03")
    assert res.exit_code == 1
    assert "2024-03" in res.stderr and "已用于另一个文件" in res.stderr
    assert snapshot(store) == before


# -- every format ----------------------------------------------------------------------------
def _march_frame() -> gpd.GeoDataFrame:
    frame = gpd.read_file(MARCH)
    return frame[frame.geometry.geom_type == "Point"].head(12).reset_index(drop=True)


def _write_format(fmt: str, tmp: Path) -> Path:
    frame = _march_frame()
    if fmt in ("csv_utf8", "csv_bom", "csv_gbk", "xlsx", "csv_projected"):
        rows = [
            [r["靶标编号"], f"{r.geometry.x:.7f}", f"{r.geometry.y:.7f}", r["面积（平方米）"]]
            for _, r in frame.iterrows()
        ]
        header = ["靶标编号", "经度", "纬度", "面积（平方米）"]
        if fmt == "csv_projected":
            projected = frame.to_crs(4544)
            header = ["靶标编号", "X", "Y", "面积（平方米）"]
            rows = [
                [r["靶标编号"], f"{g.x:.3f}", f"{g.y:.3f}", r["面积（平方米）"]]
                for (_, r), g in zip(frame.iterrows(), projected.geometry, strict=True)
            ]
        if fmt == "xlsx":
            wb = openpyxl.Workbook()
            ws = wb.active
            assert ws is not None
            ws.append(["2024年3月疑似靶标"])
            ws.append(header)
            for r in rows:
                ws.append([r[0], float(r[1]), float(r[2]), r[3]])
            path = tmp / "靶标.xlsx"
            wb.save(path)
            return path
        encoding = {
            "csv_utf8": "utf-8",
            "csv_bom": "utf-8-sig",
            "csv_gbk": "gbk",
            "csv_projected": "utf-8",
        }[fmt]
        path = tmp / f"靶标_{fmt}.csv"
        with path.open("w", encoding=encoding, newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
        return path
    if fmt == "geojson":
        path = tmp / "靶标.geojson"
        pyogrio.write_dataframe(frame, path)
        return path
    if fmt == "gpkg":
        path = tmp / "靶标.gpkg"
        pyogrio.write_dataframe(frame.to_crs(4544), path, layer="targets")
        return path
    if fmt == "shp_zip_gbk":
        d = tmp / "shp"
        d.mkdir()
        pyogrio.write_dataframe(frame[["靶标编号", "geometry"]], d / "靶标.shp", encoding="GBK")
        (d / "靶标.cpg").unlink(missing_ok=True)
        path = tmp / "靶标.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in d.iterdir():
                zf.write(f, f.name)
        return path
    if fmt in ("kml", "kmz"):
        marks = "".join(
            f"<Placemark><name>{r['靶标编号']}</name><Point><coordinates>{r.geometry.x},"
            f"{r.geometry.y}</coordinates></Point></Placemark>"
            for _, r in frame.iterrows()
        )
        text = (
            '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
            f"<Document>{marks}</Document></kml>"
        )
        if fmt == "kml":
            path = tmp / "靶标.kml"
            path.write_text(text, encoding="utf-8")
            return path
        path = tmp / "靶标.kmz"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("doc.kml", text)
        return path
    raise AssertionError(fmt)


FORMATS = [
    "csv_utf8",
    "csv_bom",
    "csv_gbk",
    "xlsx",
    "csv_projected",
    "geojson",
    "gpkg",
    "shp_zip_gbk",
    "kml",
    "kmz",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_imports(ready: Cli, tmp_path: Path, fmt: str) -> None:
    path = _write_format(fmt, tmp_path)
    args = ["--crs", "EPSG:4544"] if fmt == "csv_projected" else []
    doc = _import(ready, path, "B1", *args)
    frame = _march_frame()
    assert doc["imported"] == len(frame), doc
    got = {t["target_id"]: t for t in _targets(ready, "--batch", "B1")}
    assert set(got) == set(frame["靶标编号"])
    for _, r in frame.iterrows():
        t = got[r["靶标编号"]]
        assert t["lon"] == pytest.approx(r.geometry.x, abs=1e-6)
        assert t["lat"] == pytest.approx(r.geometry.y, abs=1e-6)


def test_file_without_ids_gets_generated_ids(ready: Cli, tmp_path: Path) -> None:
    path = tmp_path / "noid.csv"
    path.write_text("经度,纬度\n106.03,29.70\n106.04,29.71\n", encoding="utf-8")
    doc = _import(ready, path, "X9")
    assert doc["imported"] == 2 and doc["ids_generated"] is True
    assert sorted(t["target_id"] for t in _targets(ready, "--batch", "X9")) == [
        "X9-0002",
        "X9-0003",
    ]


def test_targets_list_filters(ready: Cli) -> None:
    _import(ready, MARCH, "2024-03")
    everything = _targets(ready)
    one = next(t for t in everything if t["village"])
    by_village = _targets(ready, "--village", one["village"])
    assert by_village and all(t["village"] == one["village"] for t in by_village)
    assert _targets(ready, "--village", one["village_code"]) == by_village
    outside = _targets(ready, "--village", "-")
    assert outside and all(t["village"] is None for t in outside)
    assert len(_targets(ready, "--status", "issued")) == len(everything)
    assert _targets(ready, "--status", "verified") == []
    res = ready("targets", "list", "--batch", "nope")
    assert res.exit_code == 1 and "nope" in res.stderr
    res = ready("targets", "list")
    assert res.exit_code == 0 and "靶标编号" in res.stdout


# -- every rejection reason ------------------------------------------------------------------
BAD_ROWS = {
    "missing_coordinates": ("T2", "", "29.70"),
    "unparsable_coordinates": ("T2", "106度x分", "29.70"),
    "non_finite": ("T2", "NaN", "29.70"),
    "outside_china": ("T2", "10.5", "29.70"),
    "swapped_coordinates": ("T2", "29.70", "106.03"),
    "duplicate_id": ("T1", "106.031", "29.701"),
    "missing_id": ("", "106.031", "29.701"),
}


@pytest.mark.parametrize("code", sorted(BAD_ROWS))
def test_each_rejection_reason_leaves_the_store_unchanged(
    ready: Cli, tmp_path: Path, code: str
) -> None:
    tid, lon, lat = BAD_ROWS[code]
    path = tmp_path / f"bad_{code}.csv"
    path.write_text(
        f"靶标编号,经度,纬度\nT1,106.03,29.70\n{tid},{lon},{lat}\nT3,106.04,29.71\n",
        encoding="utf-8",
    )
    store = ready.store()
    before = snapshot(store)
    res = ready("batch", "import", str(path), "--batch", "B", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["status"] == "rejected" and doc["imported"] == 0
    assert {"batch", "file_sha256", "reissued", "repeat_sites", "assignment", "by_village"} <= set(
        doc
    )
    assert doc["batch"] == "B" and doc["reissued"] == 0 and doc["by_village"] == {}
    assert [r["row"] for r in doc["rejected"]] == [3]
    assert doc["rejected"][0]["code"] == code
    assert f"bad_{code}.csv" in res.stderr and "第 3 行" in res.stderr
    assert snapshot(store) == before


def test_invalid_and_empty_geometry_in_a_gis_file(ready: Cli, tmp_path: Path) -> None:
    bowtie = shapely.Polygon(
        [(106.03, 29.70), (106.031, 29.701), (106.031, 29.70), (106.03, 29.701), (106.03, 29.70)]
    )
    frame = gpd.GeoDataFrame(
        {"靶标编号": ["P1", "P2", "P3"]},
        geometry=[shapely.Point(106.03, 29.70), bowtie, shapely.Polygon()],
        crs=4326,
    )
    path = tmp_path / "bad.gpkg"
    pyogrio.write_dataframe(frame, path)
    store = ready.store()
    before = snapshot(store)
    res = ready("batch", "import", str(path), "--batch", "G", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert {(r["row"], r["code"]) for r in doc["rejected"]} == {
        (2, "invalid_geometry"),
        (3, "empty_geometry"),
    }
    assert snapshot(store) == before


def test_projected_file_without_crs_is_a_clear_error(ready: Cli, tmp_path: Path) -> None:
    path = _write_format("csv_projected", tmp_path)
    store = ready.store()
    before = snapshot(store)
    res = ready("batch", "import", str(path), "--batch", "P")
    assert res.exit_code == 1
    assert "--crs" in res.stderr and path.name in res.stderr
    assert snapshot(store) == before


def test_accept_partial_records_rejected_rows(ready: Cli, tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    path.write_text(
        "靶标编号,经度,纬度\nT1,106.03,29.70\nT2,,29.70\nT3,106.04,29.71\n", encoding="utf-8"
    )
    doc = _import(ready, path, "PP", "--accept-partial")
    assert doc["imported"] == 2
    assert [(r["row"], r["target_id"], r["code"]) for r in doc["rejected"]] == [
        (3, "T2", "missing_coordinates")
    ]
    from geoverify.store import tables as t

    with ready.store().connect() as conn:
        rows = conn.execute(t.rejected_rows.select()).mappings().all()
    assert [(r["row"], r["target_id"], r["code"], r["batch_id"]) for r in rows] == [
        (3, "T2", "missing_coordinates", "PP")
    ]


def test_import_history_is_recorded(ready: Cli) -> None:
    _import(ready, MARCH, "2024-03")
    from geoverify.store import repo

    with ready.store().connect() as conn:
        events = repo.load_events(conn, batch_id="2024-03")
    issued = events[events["kind"] == "issued"]
    assert len(issued) == 60
    assert set(issued["actor"]) == {"pytest"}
    assert issued["source"].str.match(r"file:district_batch_2024-03\.geojson:row \d+").all()
    assert (events["kind"] == "batch_imported").sum() == 1


def test_a_file_of_targets_all_issued_before_is_called_so(ready: Cli) -> None:
    _import(ready, MARCH, "2024-03")
    april = _import(ready, APRIL_CSV, "2024-04")
    assert april["issued_before"] == {"2024-03": april["reissued"]}
    res = ready("batch", "import", str(APRIL_XLSX), "--batch", "2024-04x")
    assert res.exit_code == 0, res.output
    n = april["imported"] + april["reissued"]
    assert f"此前下发于 (issued before in): 批次 2024-04 中 {n} 个；批次 2024-03 中" in res.stdout
    assert "注意：本文件的靶标都已下发过，没有新靶标" in res.stdout
