"""`geoverify map`, the village maps of `geoverify dispatch`, and the map in Chromium."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from geoverify import maps
from geoverify.store import repo
from geoverify.workflows import sample_path
from geoverify.workflows.coverage import coverage_for_period
from geoverify.workflows.maps import thumbnail_jpeg
from tests.conftest import Cli, snapshot

BATCH = "2024-03"
VILLAGE = "青龙村"
#: The remark a village might type, set through `feedback set --remarks` (must stay text).
HOSTILE = "<img src=x onerror=alert(1)> </script><script>alert(2)</script> ${alert(3)} `tick`"


@pytest.fixture(autouse=True)
def _no_tianditu_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOVERIFY_TIANDITU_KEY", raising=False)


def exif_photo() -> bytes:
    """A JPEG carrying EXIF (camera, time) the map thumbnails must not keep."""
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0132] = "2024:03:10 10:00:00"
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 160, 60)).save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def page_data(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="gv-data">(.*?)</script>', text, re.S)
    assert m is not None
    return dict(json.loads(m.group(1)))


def _setup(run: Cli, tmp_path: Path) -> str:
    """Sample batch, sample patrols, one result with a hostile remark and one photo.

    Returns the target id that got the feedback.
    """
    assert run("init").exit_code == 0
    batch = str(sample_path("samples", "district_batch_2024-03.geojson"))
    res = run(
        "batch", "import", batch, "--batch", BATCH, "--issued", "2024-03-05", "--due", "2024-03-20"
    )
    assert res.exit_code == 0, res.output
    gpx = str(sample_path("samples", "patrols_2024-03.gpx"))
    table = str(sample_path("samples", "patrols_2024-03.csv"))
    assert run("patrols", "import", table, "--tracks", gpx).exit_code == 0
    with run.store().connect() as conn:
        targets = repo.load_targets(conn, village=VILLAGE)
    target_id = str(targets["target_id"].iloc[0])
    res = run(
        "feedback",
        "set",
        target_id,
        "--result",
        "排除",
        "--date",
        "2024-03-10",
        "--checked-by",
        "张三",
        "--remarks",
        HOSTILE,
    )
    assert res.exit_code == 0, res.output
    photo = tmp_path / "site.jpg"
    photo.write_bytes(exif_photo())
    res = run("evidence", "add", target_id, str(photo))
    assert res.exit_code == 0, res.output
    return target_id


def test_town_map_counts_history_and_photo(run: Cli, tmp_path: Path) -> None:
    target_id = _setup(run, tmp_path)
    out = tmp_path / "maps" / "town.html"
    res = run("map", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    store = run.store()
    with store.connect() as conn:
        targets = repo.load_targets(conn)
        villages = repo.load_villages(conn)
    cov = coverage_for_period(store, start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 31))
    assert doc["out"] == str(out) and out.exists()
    assert doc["bytes"] == out.stat().st_size
    assert doc["villages"] == len(villages) == 13
    assert doc["targets"] == len(targets) == 60
    assert doc["month"] == "2024-03"  # the latest patrol month, by default
    assert doc["tracks"] == 8
    assert doc["unsurveyed"] == len(cov.unsurveyed) > 0
    assert doc["photos"] == 1 and doc["warnings"] == []

    data = page_data(out)
    t = maps.decode_targets(data["t"])
    assert len(data["v"]["features"]) == 13
    assert sorted(t["id"]) == sorted(targets["target_id"])
    assert len(data["tr"]["features"]) == 8
    assert data["illustrative"] is True
    pct = {f["properties"]["c"]: f["properties"]["p"] for f in data["v"]["features"]}
    expected = dict(zip(cov.villages["code"], cov.villages["covered_pct"], strict=True))
    assert all(pct[c] == pytest.approx(round(float(p), 1)) for c, p in expected.items())
    i = t["id"].index(target_id)
    assert t["remarks"][i] == HOSTILE
    # the village's area as `villages list` gives it
    areas = {f["properties"]["c"]: f["properties"]["a"] for f in data["v"]["features"]}
    listed = {
        v["code"]: v["area_km2"] for v in json.loads(run("villages", "list", "--json").stdout)
    }
    assert areas == listed
    # the district's own columns of the batch travel with the target
    assert t["原表:疑似类型"][i] == "罂粟"
    kinds = [row[2] for row in data["h"][str(i)]]
    assert kinds == ["下发", "核查反馈", "添加照片"]
    assert "已下发 → 排除" in data["h"][str(i)][1][3]
    # the thumbnail is a small JPEG without the camera's EXIF
    (thumb,) = data["ph"][str(i)]
    with Image.open(io.BytesIO(base64.b64decode(thumb))) as img:
        assert img.format == "JPEG" and max(img.size) <= 240
        assert dict(img.getexif()) == {}
    # nothing user-supplied reaches the page outside the JSON block as markup
    assert "<img src=x" not in out.read_text(encoding="utf-8")

    # plain-text output
    res = run("map", "--out", str(tmp_path / "again.html"), "--month", "2024-04")
    assert res.exit_code == 0, res.output
    assert "踏查 2024-04：轨迹 0 条" in res.stdout


def test_village_map_has_only_that_village(run: Cli, tmp_path: Path) -> None:
    _setup(run, tmp_path)
    out = tmp_path / "v.html"
    res = run("map", "--out", str(out), "--village", VILLAGE, "--batch", BATCH, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    with run.store().connect() as conn:
        own = repo.load_targets(conn, village=VILLAGE)
        code = str(repo.load_villages(conn).set_index("name").loc[VILLAGE, "code"])
    assert doc["village"] == VILLAGE and doc["village_code"] == code
    assert doc["villages"] == 1 and doc["targets"] == len(own) > 0
    data = page_data(out)
    assert [f["properties"]["n"] for f in data["v"]["features"]] == [VILLAGE]
    assert sorted(maps.decode_targets(data["t"])["id"]) == sorted(own["target_id"])
    assert {g["properties"]["v"] for g in data["g"]["features"]} <= {code}
    assert doc["tracks"] == len(data["tr"]["features"])
    assert data["title"] == f"福果镇{VILLAGE}禁种铲毒靶标核查图"


def test_dispatch_writes_village_maps(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    batch = str(sample_path("samples", "district_batch_2024-03.geojson"))
    res = run(
        "batch", "import", batch, "--batch", BATCH, "--issued", "2024-03-05", "--due", "2024-03-20"
    )
    assert res.exit_code == 0, res.output
    res = run("dispatch", "--batch", BATCH, "--out", str(tmp_path / "pack"), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["villages"]
    for v in doc["villages"]:
        path = Path(v["map_html"])
        assert path == tmp_path / "pack" / f"{v['village']}_地图.html"
        data = page_data(path)
        assert [f["properties"]["n"] for f in data["v"]["features"]] == [v["village"]]
        assert len(data["t"]["id"]) == v["targets"]


def test_map_refusals_leave_store_unchanged(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    store = run.store()
    before = snapshot(store)
    out = tmp_path / "m.html"
    cases = [
        (["--village", "不存在村"], "没有村（社区）不存在村"),
        (["--batch", "1999-01"], "没有批次 1999-01"),
        (["--basemap", "tianditu"], "GEOVERIFY_TIANDITU_KEY"),
    ]
    for args, message in cases:
        res = run("map", "--out", str(out), *args)
        assert res.exit_code == 1, args
        assert message in res.stderr, res.stderr
        assert not out.exists()
        res = run("map", "--out", str(out), *args, "--json")
        assert res.exit_code == 1
        assert json.loads(res.stdout)["status"] == "error"
    assert run("map", "--out", str(out), "--basemap", "gcj02").exit_code == 2
    res = run("map", "--out", str(out), "--month", "2024-13")
    assert res.exit_code == 2 and "应为 YYYY-MM" in res.stderr
    assert run("map").exit_code == 2
    assert snapshot(store) == before
    # no patrols yet: a map without coverage, and still no change to the store
    res = run("map", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["month"] is None and doc["tracks"] == 0 and doc["targets"] == 0
    assert snapshot(store) == before


def test_tianditu_key_from_environment(
    run: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("init").exit_code == 0
    monkeypatch.setenv("GEOVERIFY_TIANDITU_KEY", "abcdef0123456789")
    out = tmp_path / "tdt.html"
    res = run("map", "--out", str(out), "--basemap", "tianditu", "--json")
    assert res.exit_code == 0, res.output
    data = page_data(out)
    assert data["basemap"] == "tianditu"
    assert [t["key"] for t in data["tiles"]] == ["osm", "tianditu", "tianditu_vec"]
    monkeypatch.setenv("GEOVERIFY_TIANDITU_KEY", "bad key!")
    res = run("map", "--out", str(out), "--basemap", "tianditu")
    assert res.exit_code == 1 and "天地图密钥格式不对" in res.stderr


def test_thumbnail_is_upright_small_and_exif_free() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "TestCam"
    buf = io.BytesIO()
    Image.new("RGB", (800, 400), (10, 20, 30)).save(buf, format="JPEG", exif=exif)
    with Image.open(io.BytesIO(thumbnail_jpeg(buf.getvalue()))) as img:
        assert img.size == (120, 240)
        assert dict(img.getexif()) == {}
    png = io.BytesIO()
    Image.new("RGBA", (50, 30), (255, 0, 0, 128)).save(png, format="PNG")
    assert thumbnail_jpeg(png.getvalue()).startswith(b"\xff\xd8\xff")
    from geoverify.errors import InputError

    with pytest.raises(InputError, match="照片无法读取"):
        thumbnail_jpeg(b"not an image")


# --- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["sqlite"])
def test_written_map_in_offline_chromium(run: Cli, tmp_path: Path) -> None:
    pytest.importorskip("playwright")
    from test_maps_browser import ARTIFACTS, drawn, open_offline

    from tests.browser import launched_chromium

    target_id = _setup(run, tmp_path)
    out = tmp_path / "town.html"
    res = run("map", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    for browser in launched_chromium():  # one; closed when the loop ends
        opened = open_offline(browser, out)
        page = opened.page
        counts = drawn(opened)
        assert counts["villages"] == doc["villages"]
        assert counts["targets"] == doc["targets"]
        assert counts["tracks"] == doc["tracks"]
        assert counts["unsurveyed"] == doc["unsurveyed"]
        with run.store().connect() as conn:
            geoms = repo.load_targets(conn).geometry
        polygons = int(geoms.geom_type.isin(["Polygon", "MultiPolygon"]).sum())
        assert polygons > 0 and counts["outlines"] == polygons
        assert page.evaluate("id => window.geoverifyMap.openTarget(id)", target_id)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        text = popup.inner_text()
        for part in ("<img src=x onerror=alert(1)>", "</script>", "${alert(3)}", "`tick`"):
            assert part in text, part
        assert "排除" in text and "张三" in text and "添加照片" in text
        assert popup.locator("img").count() == 1  # the photo thumbnail only
        assert popup.locator("script").count() == 0
        assert page.locator("img[src='x']").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map_cli_town_popup.png"))
        assert opened.dialogs == []
        assert opened.console_errors == []
        assert opened.blocked == [] and opened.failed == []
        page.close()
