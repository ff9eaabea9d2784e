"""``evidence add|list|export`` and ``targets add`` on real files, SQLite and PostGIS."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from geoverify.evidence import read_exif
from tests.cli.feedback_helpers import full_snapshot, with_batch
from tests.conftest import Cli
from tests.photos import jpeg_file

_jpeg = jpeg_file


def _target(run: Cli, tid: str) -> dict[str, object]:
    targets = json.loads(run("targets", "list", "--json").stdout)
    return next(x for x in targets if x["target_id"] == tid)


def test_evidence_add_flags_and_export_strips_exif(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    tid = "TL2024-03-003"
    tg = _target(run, tid)
    lon, lat = float(tg["lon"]), float(tg["lat"])  # type: ignore[arg-type]
    near = _jpeg(tmp_path / "near.jpg", lon=lon, lat=lat, when="2024:03:08 10:00:00")
    far = _jpeg(
        tmp_path / "far.jpg", lon=lon + 0.01, lat=lat, when="2024:03:01 10:00:00", colour="blue"
    )
    res = run("evidence", "add", tid, str(near), str(far), "--json")
    assert res.exit_code == 0, res.output
    photos = {p["file"]: p for p in json.loads(res.stdout)["photos"]}
    assert photos["near.jpg"]["flags"] == []
    assert set(photos["far.jpg"]["flags"]) == {"far_from_target", "before_issue"}
    sha = hashlib.sha256(near.read_bytes()).hexdigest()
    stored = run.ws / "evidence" / sha[:2] / f"{sha}.jpg"
    assert stored.read_bytes() == near.read_bytes()

    store = run.store()
    before = full_snapshot(store)
    res = run("evidence", "add", tid, str(near), "--json")  # the same photo again
    assert res.exit_code == 0
    assert json.loads(res.stdout)["photos"][0]["status"] == "already_stored"
    assert full_snapshot(store) == before

    out = tmp_path / "handout"
    res = run("evidence", "export", tid, "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    files = [Path(f) for f in json.loads(res.stdout)["files"]]
    assert len(files) == 2
    for f in files:
        meta = read_exif(f.read_bytes())
        assert meta.lon is None and meta.taken_at is None
    hist = json.loads(run("history", tid, "--json").stdout)["events"]
    assert [e["kind"] for e in hist].count("evidence_added") == 2


def test_bad_evidence_file_stores_nothing(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    good = _jpeg(tmp_path / "ok.jpg", lon=106.0, lat=29.7, when="2024:03:08 10:00:00")
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"<html>not a photo</html>")
    store = run.store()
    before = full_snapshot(store)
    res = run("evidence", "add", "TL2024-03-003", str(good), str(fake))
    assert res.exit_code == 1
    assert "photo.jpg" in res.stderr and "JPEG" in res.stderr
    assert full_snapshot(store) == before
    assert not (run.ws / "evidence").exists()


def test_targets_add_self_and_tip(run: Cli) -> None:
    with_batch(run)
    tg = _target(run, "TL2024-03-003")
    res = run(
        "targets",
        "add",
        "--source",
        "self",
        "--lon",
        str(tg["lon"]),
        "--lat",
        str(tg["lat"]),
        "--found",
        "2024-03-10",
        "--found-by",
        "网格员",
        "--json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["target_id"] == "ZZ-2024-0001"
    assert doc["village"] == tg["village"]
    assert doc["repeat_of"] == "TL2024-03-003"
    res = run(
        "targets",
        "add",
        "--source",
        "tip",
        "--lon",
        "106.05",
        "--lat",
        "29.69",
        "--found",
        "2024-03-11",
        "--json",
    )
    assert json.loads(res.stdout)["target_id"] == "JB-2024-0001"
    res = run(
        "targets",
        "add",
        "--source",
        "self",
        "--lon",
        "106.05",
        "--lat",
        "29.69",
        "--found",
        "2024-03-12",
        "--json",
    )
    assert json.loads(res.stdout)["target_id"] == "ZZ-2024-0002"
    added = _target(run, "ZZ-2024-0001")
    assert (added["status"], added["source"]) == ("issued", "self")
    hist = json.loads(run("history", "ZZ-2024-0001", "--json").stdout)["events"]
    assert [e["kind"] for e in hist] == ["added"]
    store = run.store()
    before = full_snapshot(store)
    res = run("targets", "add", "--source", "tip", "--lon", "nan", "--lat", "29.69")
    assert res.exit_code == 1
    assert full_snapshot(store) == before
    # A place outside China is a typo, as in a batch's rows: a digit dropped, or swapped.
    for lon, lat, said in [
        ("10.6", "29.69", "坐标不在中国境内：经度 10.6，纬度 29.69"),
        ("1.06", "29.69", "坐标不在中国境内：经度 1.06，纬度 29.69"),
        ("29.69", "106.05", "经纬度疑似颠倒（交换后才在中国境内）：经度 29.69，纬度 106.05"),
    ]:
        res = run("targets", "add", "--source", "tip", "--lon", lon, "--lat", lat)
        assert res.exit_code == 1, res.output
        assert said in res.output
        assert full_snapshot(store) == before
