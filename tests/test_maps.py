"""Tests of the offline HTML map builder (no browser; see test_maps_browser.py for that)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from shapely.geometry import LineString, box

from geoverify import maps
from geoverify.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "boundaries" / "fuguo_sample.gpkg"
TODAY = dt.date(2024, 4, 15)

XSS_NOTE = "<img src=x onerror=alert(1)> </script> ${alert(1)} `tick` \u2028 & <b>bold</b>"

#: Every absolute URL the page may contain: tile templates, navigation link templates,
#: SVG namespaces and comments/links inside the bundled Leaflet files.
ALLOWED_URL_PREFIXES = (
    "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "https://t{s}.tianditu.gov.cn/",
    "https://uri.amap.com/marker?",
    "https://api.map.baidu.com/marker?",
    "https://apis.map.qq.com/uri/v1/marker?",
    "http://www.w3.org/2000/svg",
    "https://leafletjs.com",
    "https://github.com/brunob/leaflet.fullscreen",
    "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",
    "https://bugzilla.mozilla.org/show_bug.cgi?id=888319",
    "https://caniuse.com/mdn-css_selectors_fullscreen",
)


# --- frames shared with test_maps_browser.py and benchmarks/bench_map.py ---------------------


def sample_villages() -> gpd.GeoDataFrame:
    """The bundled illustrative villages, or two synthetic squares if absent."""
    if SAMPLE.exists():
        return gpd.read_file(SAMPLE, layer="villages")
    return gpd.GeoDataFrame(
        {"code": ["V1", "V2"], "name": ["石河村", "青龙村"], "kind": ["村", "村"]},
        geometry=[box(106.00, 29.80, 106.02, 29.82), box(106.02, 29.80, 106.04, 29.82)],
        crs=4490,
    )


def sample_groups(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if SAMPLE.exists():
        return gpd.read_file(SAMPLE, layer="groups")
    rows = []
    for code, geom in zip(villages["code"], villages.geometry, strict=True):
        x0, y0, x1, y1 = geom.bounds
        xm = (x0 + x1) / 2
        rows.append({"village_code": code, "name": "一组", "geometry": box(x0, y0, xm, y1)})
        rows.append({"village_code": code, "name": "二组", "geometry": box(xm, y0, x1, y1)})
    return gpd.GeoDataFrame(rows, crs=4490)


#: (status, result, eradicated_on set, due offset in days or None) → category.
_CYCLE = (
    ("issued", None, False, 10),
    ("dispatched", None, False, 10),
    ("dispatched", None, False, -5),  # overdue
    ("verified", "confirmed", False, None),
    ("eradicated", "confirmed", True, None),
    ("verified", "excluded", False, None),
    ("reported", "not_found", False, None),
    ("verified", "outside", False, None),
)


def synthetic_targets(
    villages: gpd.GeoDataFrame, n: int, *, seed: int = 5, today: dt.date = TODAY
) -> gpd.GeoDataFrame:
    """``n`` targets in the villages, cycling through every map category."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = villages.total_bounds
    union = villages.geometry.union_all()
    xs: list[float] = []
    ys: list[float] = []
    while len(xs) < n:
        cx = rng.uniform(x0, x1, 4 * n)
        cy = rng.uniform(y0, y1, 4 * n)
        inside = gpd.GeoSeries(gpd.points_from_xy(cx, cy), crs=4490).within(union).to_numpy()
        xs.extend(cx[inside].tolist())
        ys.extend(cy[inside].tolist())
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs[:n], ys[:n]), crs=4490)
    joined = gpd.sjoin(pts, villages[["code", "name", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    rows: list[dict[str, Any]] = []
    for i in range(n):
        status, result, erad, due = _CYCLE[i % len(_CYCLE)]
        plants = 800 if i % 16 == 3 else (120 if result == "confirmed" else None)
        rows.append(
            {
                "pk": i + 1,
                "target_id": f"TL2024-{i + 1:05d}",
                "batch": "2024-03",
                "source": "district",
                "lon": xs[i],
                "lat": ys[i],
                "area_m2": 35.5,
                "image_date": dt.date(2024, 3, 2),
                "village_code": joined["code"].iloc[i],
                "village": joined["name"].iloc[i],
                "group": "三组",
                "assignment": "inside",
                "neighbours": [],
                "split_into": [],
                "repeat_of": "TL2023-00007" if i % 10 == 7 else None,
                "reissue_of": None,
                "status": status,
                "result": result,
                "verified_on": dt.date(2024, 4, 2) if result else None,
                "verified_by": "李四" if result else None,
                "plants": plants,
                "eradicated_area_m2": 12.0 if erad else None,
                "eradicated_on": dt.date(2024, 4, 3) if erad else None,
                "case_no": "铜公立字〔2024〕12号" if plants and plants >= 500 else None,
                "remarks": None,
                "issued_on": dt.date(2024, 3, 5),
                "due_on": today + dt.timedelta(days=due) if due is not None else None,
            }
        )
    return gpd.GeoDataFrame(rows, geometry=pts.geometry.to_numpy(), crs=4490)


def jpeg_thumbnail() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(buf, format="JPEG")
    return buf.getvalue()


def page_data(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="gv-data">(.*?)</script>', page, re.S)
    assert m is not None
    return dict(json.loads(m.group(1)))


# --- assets -------------------------------------------------------------------------------


def _fetch_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "fetch_map_assets", ROOT / "scripts" / "fetch_map_assets.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_assets_match_manifest_offline() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fetch_map_assets.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = json.loads((ROOT / "geoverify" / "maps_assets" / "manifest.json").read_text())
    names = {p["name"]: p for p in manifest["packages"]}
    assert names["leaflet"]["version"] == "1.9.4"
    assert names["leaflet"]["licence"] == "BSD-2-Clause"
    for pkg in manifest["packages"]:
        assert any(f.startswith("LICENSE") for f in pkg["files"]), pkg["name"]
        assert pkg["integrity"].startswith("sha512-")


def test_asset_check_detects_a_changed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _fetch_module()
    copy = tmp_path / "maps_assets"
    shutil.copytree(ROOT / "geoverify" / "maps_assets", copy)
    monkeypatch.setattr(module, "ASSETS", copy)
    monkeypatch.setattr(module, "MANIFEST", copy / "manifest.json")
    assert module.check(module._load_manifest()) == []
    js = copy / "leaflet.js"
    js.write_bytes(js.read_bytes() + b"\n// changed\n")
    assert module.check(module._load_manifest()) == ["leaflet.js: sha256 mismatch"]


# --- the page -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def villages() -> gpd.GeoDataFrame:
    return sample_villages()


@pytest.fixture(scope="module")
def page(villages: gpd.GeoDataFrame) -> str:
    targets = synthetic_targets(villages, 40)
    targets.loc[0, "remarks"] = XSS_NOTE
    coverage = pd.DataFrame(
        {"code": villages["code"], "covered_pct": np.linspace(5, 95, len(villages))}
    )
    return maps.build_map(
        villages,
        targets,
        groups=sample_groups(villages),
        coverage=coverage,
        unsurveyed=gpd.GeoDataFrame(
            geometry=[villages.geometry.iloc[0].centroid.buffer(0.002)], crs=4490
        ),
        tracks=gpd.GeoDataFrame(
            {"label": ["网格员 王五 2024-04-01"]},
            geometry=[LineString(villages.geometry.iloc[0].exterior.coords[:5])],
            crs=4490,
        ),
        history={
            1: [
                {
                    "at": dt.datetime(2024, 3, 5, 1, 30, tzinfo=dt.UTC),
                    "actor": "张三",
                    "kind": "dispatched",
                    "payload": {},
                }
            ]
        },
        photos={1: [jpeg_thumbnail()]},
        illustrative=True,
        today=TODAY,
    )


def test_page_references_no_network_resource(page: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*\bhref=", page)
    for cdn in (
        "jsdelivr",
        "cdnjs",
        "code.jquery",
        "bootstrap",
        "font-awesome",
        "fontawesome",
        "awesome-markers",
        "unpkg",
    ):
        assert cdn not in page.lower(), cdn
    urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", page))
    assert urls, "the tile/navigation templates should be present"
    unexpected = {u for u in urls if not u.startswith(ALLOWED_URL_PREFIXES)}
    assert unexpected == set()


def test_page_inlines_leaflet_and_plugin(page: str) -> None:
    assert "Leaflet 1.9.4" in page  # banner of the bundled leaflet.js
    assert "leaflet.fullscreen" in page
    assert "url(images/" not in page  # control images inlined as data URIs
    assert "preferCanvas" in page
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert "<title>福果镇禁种铲毒靶标核查图</title>" in page


def test_user_strings_are_json_escaped(page: str) -> None:
    raw = page.split('id="gv-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in raw and ">" not in raw and "&" not in raw
    assert "\u2028" not in raw
    data = page_data(page)
    assert maps.decode_targets(data["t"])["remarks"][0] == XSS_NOTE
    assert "<img src=x onerror" not in page
    # the page script (an asset file, inlined) uses no template literals and never assigns
    # innerHTML
    script = (ROOT / "geoverify" / "maps_assets" / "geoverify-map.js").read_text(encoding="utf-8")
    assert script.replace("__MAP__", "map_geoverify") in page
    assert "`" not in script
    assert ".innerHTML" not in script and "insertAdjacentHTML" not in script


def test_data_block_content(page: str, villages: gpd.GeoDataFrame) -> None:
    data = page_data(page)
    assert len(data["v"]["features"]) == len(villages)
    assert len(data["t"]["id"]) == 40
    t = maps.decode_targets(data["t"])
    assert t["id"][:2] == ["TL2024-00001", "TL2024-00002"] and data["t"]["idp"]
    assert data["illustrative"] is True
    assert len(data["u"]["features"]) == 1
    assert data["tr"]["features"][0]["properties"]["n"] == "网格员 王五 2024-04-01"
    assert data["h"]["0"][0][:3] == ["2024-03-05 09:30", "张三", "派发"]  # Asia/Shanghai
    assert data["ph"]["0"][0].startswith("/9j/")  # base64 of FF D8 FF
    coverage = [f["properties"]["p"] for f in data["v"]["features"]]
    assert coverage[0] == 5.0 and coverage[-1] == 95.0
    # every category appears; flags mark repeat sites (1) and ≥500 plants (2)
    keys = [c["key"] for c in data["cats"]]
    assert sorted({keys[c] for c in data["t"]["c"]}) == sorted(keys)
    assert data["t"]["f"][3] & 2 and data["t"]["f"][7] & 1
    # the unsurveyed area can be clicked for its rank and priority
    assert set(data["u"]["features"][0]["properties"]) == {"r", "v", "a", "s"}


def test_coordinates_rounded_to_six_decimals(page: str) -> None:
    data = page_data(page)

    def walk(obj: Any) -> list[float]:
        if isinstance(obj, float):
            return [obj]
        if isinstance(obj, (list, tuple)):
            return [v for item in obj for v in walk(item)]
        return []

    coords = walk([f["geometry"]["coordinates"] for f in data["v"]["features"]])
    coords += data["t"]["x"] + data["t"]["gy"]
    assert coords
    assert all(round(c, 6) == c for c in coords)


def test_build_is_deterministic(villages: gpd.GeoDataFrame) -> None:
    targets = synthetic_targets(villages, 5)
    first = maps.build_map(villages, targets, today=TODAY)
    assert maps.build_map(villages, targets, today=TODAY) == first


def test_illustrative_note_follows_flag_and_column(villages: gpd.GeoDataFrame) -> None:
    assert page_data(maps.build_map(villages, today=TODAY))["illustrative"] is False
    flagged = villages.assign(illustrative=True)
    assert page_data(maps.build_map(flagged, today=TODAY))["illustrative"] is True


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"status": "issued"}, "issued"),
        ({"status": "dispatched", "due_on": dt.date(2024, 4, 14)}, "overdue"),
        ({"status": "issued", "due_on": dt.date(2024, 4, 15)}, "issued"),
        ({"status": "dispatched", "due_on": pd.Timestamp("2024-05-01")}, "dispatched"),
        ({"status": "verified", "result": "confirmed"}, "confirmed"),
        (
            {"status": "reported", "result": "confirmed", "eradicated_on": dt.date(2024, 4, 1)},
            "eradicated",
        ),
        ({"status": "eradicated", "result": "confirmed"}, "eradicated"),
        ({"status": "verified", "result": "excluded", "due_on": dt.date(2024, 1, 1)}, "excluded"),
        ({"status": "reported", "result": "not_found"}, "not_found"),
        ({"status": "verified", "result": "outside"}, "outside"),
        ({"status": "issued", "assignment": "outside"}, "outside"),
        # never dispatched: not overdue, however late (one rule with status and the report)
        ({"status": "issued", "due_on": dt.date(2024, 1, 1)}, "issued"),
        # outside the town: not the town's work, never overdue
        (
            {"status": "dispatched", "due_on": dt.date(2024, 1, 1), "village_code": None},
            "outside",
        ),
        ({"status": "dispatched", "due_on": dt.date(2024, 1, 1), "village_code": "1"}, "overdue"),
    ],
)
def test_target_categories(row: dict[str, Any], expected: str) -> None:
    frame = pd.DataFrame([row])
    assert maps.target_categories(frame, today=TODAY) == [expected]


def test_basemap_choices(villages: gpd.GeoDataFrame) -> None:
    plain = page_data(maps.build_map(villages, today=TODAY))
    assert plain["basemap"] == "none"
    assert [t["key"] for t in plain["tiles"]] == ["osm"]
    assert "tianditu" not in json.dumps(plain["tiles"])
    key = "0123456789abcdef0123456789abcdef"
    tdt = page_data(maps.build_map(villages, basemap="tianditu", tianditu_key=key, today=TODAY))
    assert tdt["basemap"] == "tianditu" and tdt["tk"] == key
    urls = [layer["url"] for t in tdt["tiles"] for layer in t["layers"]]
    assert any("/img_w/" in u for u in urls) and any("/cia_w/" in u for u in urls)
    assert any("/vec_w/" in u for u in urls) and any("/cva_w/" in u for u in urls)
    # Tianditu is CGCS2000: no GCJ-02 tile source (Amap/Gaode/Tencent tiles) is ever offered
    assert not any(host in u for u in urls for host in ("autonavi", "amap", "gtimg", "qq.com"))


def _csp_sources(policy: str, directive: str) -> list[str]:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == directive:
            return words[1:]
    return []


def _csp_allows(sources: list[str], origin: str) -> bool:
    """Whether a CSP source list lets an image come from ``origin`` (``https://host``): an
    exact host source or a ``*.`` wildcard (which never matches the bare domain itself)."""
    scheme, host = origin.split("://", 1)
    for src in sources:
        if "://" not in src:
            continue
        s_scheme, s_host = src.split("://", 1)
        if s_scheme != scheme:
            continue
        if s_host == host or (s_host.startswith("*.") and host.endswith(s_host[1:])):
            return True
    return False


def test_the_web_apps_policy_allows_every_tile_host(villages: gpd.GeoDataFrame) -> None:
    """The web app serves the map with a Content-Security-Policy: every host any base layer
    fetches tiles from is in its ``img-src`` (OpenStreetMap's bare tile.openstreetmap.org was
    not: ``*.tile.openstreetmap.org`` does not match it), and no other web host is."""
    from geoverify.web.routers.maps import MAP_CSP

    key = "0123456789abcdef0123456789abcdef"
    data = page_data(maps.build_map(villages, basemap="tianditu", tianditu_key=key, today=TODAY))
    origins = set()
    for base in data["tiles"]:
        for layer in base["layers"]:
            url = layer["url"]
            # Leaflet fills {s} with one of the layer's subdomains ("abc" unless given)
            subs = (layer.get("subdomains") or "abc") if "{s}" in url else [""]
            for sub in subs:
                parts = urlsplit(url.replace("{s}", sub))
                origins.add(f"{parts.scheme}://{parts.netloc}")
    assert {b["key"] for b in data["tiles"]} == {"osm", "tianditu", "tianditu_vec"}
    assert "https://tile.openstreetmap.org" in origins
    assert "https://t7.tianditu.gov.cn" in origins
    img_src = _csp_sources(MAP_CSP, "img-src")
    refused = sorted(o for o in origins if not _csp_allows(img_src, o))
    assert refused == []
    assert {s for s in img_src if "://" in s} == origins  # exactly these hosts
    assert set(maps.tile_origins()) == origins


def test_basemap_errors(villages: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputError, match="密钥"):
        maps.build_map(villages, basemap="tianditu", today=TODAY)
    with pytest.raises(InputError, match="basemap"):
        maps.build_map(villages, basemap="gaode", today=TODAY)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="Tianditu key"):
        maps.build_map(villages, tianditu_key='abc"};alert(1)//', today=TODAY)


def test_input_errors(villages: gpd.GeoDataFrame) -> None:
    no_crs = villages.set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="CRS"):
        maps.build_map(no_crs, today=TODAY)
    with pytest.raises(InputError, match="name"):
        maps.build_map(villages.drop(columns=["name"]), today=TODAY)
    targets = synthetic_targets(villages, 2)
    with pytest.raises(InputError, match="JPEG"):
        maps.build_map(villages, targets, photos={2: [b"\x89PNG\r\n"]}, today=TODAY)


def test_targets_in_other_crs_and_without_lonlat(villages: gpd.GeoDataFrame) -> None:
    targets = synthetic_targets(villages, 3).drop(columns=["lon", "lat"]).to_crs(4544)
    data = page_data(maps.build_map(villages, targets, today=TODAY))
    expected = synthetic_targets(villages, 3)
    t = maps.decode_targets(data["t"])
    assert t["x"] == pytest.approx(list(expected["lon"]), abs=2e-6)
    assert t["y"] == pytest.approx(list(expected["lat"]), abs=2e-6)


def test_gcj_and_bd_coordinates_are_offset(villages: gpd.GeoDataFrame) -> None:
    data = page_data(maps.build_map(villages, synthetic_targets(villages, 1), today=TODAY))
    t = maps.decode_targets(data["t"])
    # GCJ-02 near Tongliang is a few hundred metres off; BD-09 further still
    assert 0.001 < abs(t["gx"][0] - t["x"][0]) < 0.01
    assert 0.004 < abs(t["bx"][0] - t["x"][0]) < 0.02


def test_nav_templates_come_from_navigation_module() -> None:
    labels = [label for label, _ in maps._nav_templates()]
    assert labels == ["高德地图", "百度地图", "腾讯地图", "手机地图"]
    for _, url in maps._nav_templates():
        assert "{name}" in url
        assert "@@" not in url and "101.101101" not in url


def test_ten_thousand_targets_stay_under_a_megabyte_each_ten_thousand(
    villages: gpd.GeoDataFrame,
) -> None:
    targets = synthetic_targets(villages, 10_000)
    page = maps.build_map(villages, targets, groups=sample_groups(villages), today=TODAY)
    size = len(page.encode("utf-8"))
    assert size < 1.2 * 1024 * 1024, size  # 100,000 would stay under the 10 MiB goal
    t = maps.decode_targets(page_data(page)["t"])
    assert len(t["id"]) == 10_000 and len(set(t["id"])) == 10_000
    assert t["x"] == pytest.approx(list(targets["lon"]), abs=5.1e-7)
    assert t["due_on"][:3] == [str(d) for d in targets["due_on"][:3]]


def test_encoded_columns_round_trip() -> None:
    dense = [f"v{i}" for i in range(10)]
    repeated = ["甲", "乙", None, "甲"] * 5
    sparse = [None] * 30 + ["x"]
    for values in (dense, repeated, sparse, [None, 1, 2.5, None] * 10):
        encoded = maps._encode_column(values)
        assert maps.decode_column(encoded, len(values)) == values
    assert "k" in maps._encode_column(repeated) and "i" in maps._encode_column(sparse)


def test_write_map_creates_folders(tmp_path: Path, villages: gpd.GeoDataFrame) -> None:
    out = maps.write_map(tmp_path / "maps" / "demo.html", maps.build_map(villages, today=TODAY))
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_history_summarises_real_event_payloads() -> None:
    rows = maps._history_rows(
        [
            {
                "at": dt.datetime(2024, 3, 9, 2, 0, tzinfo=dt.UTC),
                "actor": "李四",
                "kind": "verified",
                "payload": {
                    "from": {"status": "dispatched", "result": None, "plants": None},
                    "to": {
                        "status": "verified",
                        "result": "confirmed",
                        "plants": 620,
                        "verified_by": "王五",
                        "remarks": "<b>x</b>",
                    },
                    "file": "青龙村.xlsx",
                },
            },
            {
                "at": dt.datetime(2024, 3, 5, 1, 0, tzinfo=dt.UTC),
                "actor": "demo",
                "kind": "dispatched",
                "payload": {"from": {"status": "issued"}, "to": {"status": "dispatched"}},
            },
            {"at": dt.datetime(2024, 3, 10, tzinfo=dt.UTC), "actor": "x", "kind": "mystery"},
        ]
    )
    assert rows[0] == ["2024-03-05 09:00", "demo", "派发", "已下发 → 已派发"]
    assert rows[1][2] == "核查反馈"
    assert rows[1][3] == (
        "已派发 → 确认种植；核查人员: 王五；株数: 620；备注: <b>x</b>；文件: 青龙村.xlsx"
    )
    assert rows[2][2:] == ["mystery", ""]


def test_polygon_targets_are_outlined_in_their_category(villages: gpd.GeoDataFrame) -> None:
    centre = villages.geometry.iloc[0].representative_point()
    targets = gpd.GeoDataFrame(
        {
            "target_id": ["P1", "P2", "Q1"],
            "status": ["verified", "issued", "issued"],
            "result": ["excluded", None, None],
        },
        geometry=[centre.buffer(0.0003), centre.buffer(0.0002), centre],
        crs=4490,
    )
    data = page_data(maps.build_map(villages, targets, today=TODAY))
    outlines = data["to"]["features"]
    assert [f["properties"]["i"] for f in outlines] == [0, 1]
    cats = [maps.CATEGORIES[f["properties"]["c"]][0] for f in outlines]
    assert cats == ["excluded", "issued"]
    assert all(f["geometry"]["type"] == "Polygon" for f in outlines)
    assert page_data(maps.build_map(villages, targets.iloc[[2]], today=TODAY))["to"] == {
        "type": "FeatureCollection",
        "features": [],
    }
