"""The offline map in headless Chromium with every network request blocked (marker ``browser``)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString
from test_maps import (
    TODAY,
    jpeg_thumbnail,
    sample_groups,
    sample_villages,
    synthetic_targets,
)

from geoverify import maps, navigation

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

XSS_STRINGS = (
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    "${alert(3)}",
    "`backtick` <b onmouseover=alert(4)>",
)


@dataclass
class Opened:
    """A page opened from disk, with what it tried to do."""

    page: Any
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=shutil.which("chromium") or CHROMIUM, args=CHROMIUM_ARGS
        )
        yield b
        b.close()


def open_offline(browser: Any, path: Path) -> Opened:
    """Open ``path`` via file:// with every non-file request aborted and recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    opened = Opened(page)

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith("file:"):
            r.continue_()
        else:
            opened.blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda req: opened.failed.append(req.url))
    page.on(
        "console", lambda m: opened.console_errors.append(m.text) if m.type == "error" else None
    )
    page.on("pageerror", lambda e: opened.console_errors.append(str(e)))

    def on_dialog(d: Any) -> None:
        opened.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(path.as_uri())
    page.wait_for_function(
        "window.geoverifyMap && window.geoverifyMap.ready === true", timeout=30_000
    )
    return opened


def drawn(opened: Opened) -> dict[str, int]:
    return dict(opened.page.evaluate("window.geoverifyMap.drawn()"))


@pytest.fixture(scope="module")
def full_map(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    villages = sample_villages()
    groups = sample_groups(villages)
    targets = synthetic_targets(villages, 240)
    targets.loc[0, "remarks"] = " ".join(XSS_STRINGS)
    targets.loc[0, "verified_by"] = XSS_STRINGS[0]
    targets.loc[0, "case_no"] = XSS_STRINGS[1]
    targets.loc[0, "target_id"] = "X<i>1</i>`${alert(5)}`"
    villages = villages.copy()
    villages.loc[0, "name"] = villages.loc[0, "name"] + "<img src=x onerror=alert(6)>"
    first = villages.geometry.iloc[1]
    html = maps.build_map(
        villages,
        targets,
        groups=groups,
        coverage=pd.DataFrame(
            {"code": villages["code"], "covered_pct": np.linspace(0, 100, len(villages))}
        ),
        unsurveyed=gpd.GeoDataFrame(geometry=[first.centroid.buffer(0.003)], crs=4490),
        tracks=gpd.GeoDataFrame(
            {"label": ["王五 2024-04-01 <script>alert(7)</script>", "赵六"]},
            geometry=[
                LineString(first.exterior.coords[:6]),
                LineString(villages.geometry.iloc[2].exterior.coords[:6]),
            ],
            crs=4490,
        ),
        history={
            1: [
                {
                    "at": dt.datetime(2024, 3, 5, 1, 30, tzinfo=dt.UTC),
                    "actor": "张三",
                    "kind": "dispatched",
                    "payload": {},
                },
                {
                    "at": dt.datetime(2024, 4, 2, 8, 0, tzinfo=dt.UTC),
                    "actor": XSS_STRINGS[0],
                    "kind": "verified",
                    "payload": {"note": XSS_STRINGS[1]},
                },
            ]
        },
        photos={1: [jpeg_thumbnail(), jpeg_thumbnail()]},
        illustrative=True,
        title="福果镇靶标核查图 <测试>",
        today=TODAY,
    )
    path = tmp_path_factory.mktemp("maps") / "full.html"
    maps.write_map(path, html)
    return path, villages, targets


def test_map_draws_offline(
    browser: Any, full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    path, villages, targets = full_map
    opened = open_offline(browser, path)
    page = opened.page
    counts = drawn(opened)
    assert counts["villages"] == len(villages)
    assert counts["targets"] == len(targets)
    assert counts["tracks"] == 2
    assert counts["unsurveyed"] == 1
    assert counts["groups"] == 0  # groups appear only at high zoom
    # the village canvas actually has pixels on it
    assert page.evaluate(
        """() => {
            const c = document.querySelector('.leaflet-overlay-pane canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4) { if (d[i]) return true; }
            return false;
        }"""
    )
    assert page.locator(".gv-note").inner_text() == "示意边界，非官方数据"
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert "图例" in page.locator(".gv-legend").inner_text()
    # move over empty ground left of the town; headless Chromium may drop the very first
    # synthetic move, so move a few times
    for k in range(10):
        page.mouse.move(200 + 7 * k, 300, steps=2)
        if "经度" in page.locator(".gv-readout").inner_text():
            break
    assert "经度" in page.locator(".gv-readout").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_offline.png"))
    assert opened.blocked == []
    assert opened.failed == []
    assert opened.console_errors == []
    assert opened.dialogs == []
    page.close()


def test_layer_switch_and_group_zoom(
    browser: Any, full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    path, _, targets = full_map
    opened = open_offline(browser, path)
    page = opened.page
    before = drawn(opened)["targets"]
    confirmed = page.evaluate("window.geoverifyMap.layers.targets[3].getLayers().length")
    assert confirmed > 0
    checkbox = page.locator(
        ".leaflet-control-layers-overlays label", has_text="靶标：确认种植"
    ).locator("input")
    checkbox.click()
    assert drawn(opened)["targets"] == before - confirmed
    checkbox.click()
    assert drawn(opened)["targets"] == len(targets)
    page.locator(".leaflet-control-layers-overlays label", has_text="村（社区）界线").locator(
        "input"
    ).click()
    assert drawn(opened)["villages"] == 0

    page.evaluate(
        f"void window.geoverifyMap.map.setZoom({maps.GROUP_MIN_ZOOM}, {{animate: false}})"
    )
    page.wait_for_function("window.geoverifyMap.drawn().groups > 0")
    assert drawn(opened)["groups"] == len(sample_groups(sample_villages()))
    page.locator(".leaflet-control-layers-overlays label", has_text="村民小组界线").locator(
        "input"
    ).click()
    assert drawn(opened)["groups"] == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_groups_zoom.png"))
    assert opened.blocked == [] and opened.failed == [] and opened.console_errors == []
    page.close()


def test_user_text_is_literal_in_popups_and_tooltips(
    browser: Any, full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    path, villages, targets = full_map
    opened = open_offline(browser, path)
    page = opened.page
    target_id = str(targets["target_id"].iloc[0])
    assert page.evaluate("id => window.geoverifyMap.openTarget(id)", target_id)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    for s in XSS_STRINGS:
        assert s in text, s
    assert target_id in text
    # only the two photo thumbnails are images; nothing from the notes became an element
    assert popup.locator("img").count() == 2
    assert popup.locator("script, b, i").count() == 0
    assert page.locator(".leaflet-popup-content img[src='x']").count() == 0
    # village name with markup is a literal label, and the page title is literal text
    assert str(villages["name"].iloc[0]) in page.locator(".gv-vlabel").all_inner_texts()
    assert page.locator(".gv-title").inner_text() == "福果镇靶标核查图 <测试>"
    page.screenshot(path=str(ARTIFACTS / "map_popup_xss.png"))
    assert opened.dialogs == []
    assert opened.console_errors == []
    assert opened.blocked == [] and opened.failed == []
    page.close()


def test_popup_navigation_links_match_navigation_module(
    browser: Any, full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    path, _, targets = full_map
    opened = open_offline(browser, path)
    page = opened.page
    row = targets.iloc[5]
    page.evaluate("id => window.geoverifyMap.openTarget(id)", row["target_id"])
    hrefs = page.locator(".leaflet-popup-content .gv-nav a").evaluate_all(
        "els => els.map(a => a.href)"
    )
    lon, lat = float(row["lon"]), float(row["lat"])
    links = navigation.navigation_links([lon], [lat], [f"靶标 {row['target_id']}"])[0]
    assert hrefs == [links.amap, links.baidu, links.tencent, links.geo]
    page.close()


def test_only_the_chosen_basemap_is_requested(browser: Any, tmp_path: Path) -> None:
    villages = sample_villages()
    path = maps.write_map(
        tmp_path / "osm.html", maps.build_map(villages, basemap="osm", today=TODAY)
    )
    opened = open_offline(browser, path)
    opened.page.wait_for_function("document.querySelectorAll('.leaflet-tile').length > 0")
    assert opened.blocked, "OSM tiles should have been requested"
    assert all(u.startswith("https://tile.openstreetmap.org/") for u in opened.blocked)
    opened.page.close()
