"""The offline map in headless Chromium with every network request blocked (marker ``browser``)."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
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
from tests.browser import launched_chromium, overlaps

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
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
    yield from launched_chromium()


def open_offline(
    browser: Any, path: Path, *, viewport: tuple[int, int] = (1280, 860), touch: bool = False
) -> Opened:
    """Open ``path`` via file:// with every non-file request aborted and recorded; ``touch``
    opens it as a phone does (touch screen, coarse pointer, 2 device pixels a CSS pixel) in a
    context of its own (close it with ``page.context.close()``)."""
    size = {"width": viewport[0], "height": viewport[1]}
    if touch:
        context = browser.new_context(
            viewport=size, is_mobile=True, has_touch=True, device_scale_factor=2, locale="zh-CN"
        )
        page = context.new_page()
    else:
        page = browser.new_page(viewport=size)
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
    confirmed = page.evaluate("window.geoverifyMap.categoryCounts[3]")
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
    # a real click on the marker opens its popup (the canvas layer's hit test)
    point = page.evaluate("id => window.geoverifyMap.pointOf(id)", row["target_id"])
    page.mouse.click(point["x"], point["y"])
    page.locator(".leaflet-popup-content .gv-ptitle").wait_for()
    assert str(row["target_id"]) in page.locator(".leaflet-popup-content .gv-id").first.inner_text()
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


def test_a_basemap_that_cannot_load_is_said(browser: Any, tmp_path: Path) -> None:
    """Offline, OpenStreetMap's tiles all fail: the map says so (it was blank under the
    outlines without a word) until another base map is chosen."""
    villages = sample_villages()
    path = maps.write_map(
        tmp_path / "osm.html", maps.build_map(villages, basemap="osm", today=TODAY)
    )
    opened = open_offline(browser, path, viewport=(412, 915), touch=True)
    page = opened.page
    note = page.wait_for_selector("[data-testid=tile-note]")
    assert "OpenStreetMap" in note.inner_text() and "未联网" in note.inner_text()
    box = note.bounding_box()
    assert box is not None and _inside(box, 412, 915)
    choice = page.locator(".leaflet-control-layers-base label", has_text="无底图")
    if not choice.is_visible():  # folded on a phone until the layers button is touched
        page.tap(".leaflet-control-layers-toggle")
    choice.tap()
    page.wait_for_selector("[data-testid=tile-note]", state="detached")
    page.context.close()
    plain = maps.write_map(tmp_path / "none.html", maps.build_map(villages, today=TODAY))
    opened = open_offline(browser, plain)
    opened.page.wait_for_selector(".leaflet-container")
    opened.page.wait_for_timeout(500)
    assert opened.page.query_selector("[data-testid=tile-note]") is None
    opened.page.close()


def _inside(box: dict[str, float], width: int, height: int) -> bool:
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width
        and box["y"] + box["height"] <= height
    )


@pytest.mark.parametrize(
    ("width", "height"),
    [(1400, 900), (1280, 720), (1190, 820), (900, 900), (412, 915), (360, 640)],
)
def test_the_town_fills_the_map_when_it_opens(
    browser: Any,
    full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame],
    width: int,
    height: int,
) -> None:
    """The first view shows all the villages as large as the room allows (whole zoom levels
    left the town at half the width of a phone). On a wide map, where the legend and the layer
    list stand open, the room is right of the legend and, while that leaves a third of the map,
    left of the layer list."""
    path, _, _ = full_map
    opened = open_offline(browser, path, viewport=(width, height))
    page = opened.page
    town = page.evaluate(
        """() => {
            const m = window.geoverifyMap.map, b = window.geoverifyMap.layers.villages.getBounds();
            const nw = m.latLngToContainerPoint(b.getNorthWest());
            const se = m.latLngToContainerPoint(b.getSouthEast());
            const box = m.getContainer().getBoundingClientRect();
            return {x: box.left + nw.x, y: box.top + nw.y, width: se.x - nw.x,
                    height: se.y - nw.y};
        }"""
    )
    room = page.locator(".leaflet-container").bounding_box()
    assert room is not None
    if width >= 800:
        assert page.locator(".gv-lbody").is_visible()  # both stand open on a wide map
        assert page.locator(".leaflet-control-layers-list").is_visible()
        legend = page.locator(".gv-legend").bounding_box()
        layers = page.locator(".leaflet-control-layers").bounding_box()
        assert legend is not None and layers is not None
        right = room["x"] + room["width"]
        if room["width"] - legend["width"] - layers["width"] - 20 >= room["width"] / 3:
            right = layers["x"]
        left = legend["x"] + legend["width"]
        room = {**room, "x": left, "width": right - left}
    assert room["x"] <= town["x"] and town["x"] + town["width"] <= room["x"] + room["width"]
    assert room["y"] <= town["y"] and town["y"] + town["height"] <= room["y"] + room["height"]
    fill = max(town["width"] / room["width"], town["height"] / room["height"])
    assert fill >= 0.75, (fill, town, room)
    assert opened.console_errors == []


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (412, 915)])
def test_legend_fits_the_window_and_folds(
    browser: Any,
    full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame],
    width: int,
    height: int,
) -> None:
    path, _, _ = full_map
    opened = open_offline(browser, path, viewport=(width, height))
    page = opened.page
    legend = page.locator(".gv-legend")
    body = page.locator(".gv-lbody")
    phone = width < 800
    # open on a desk, folded on a phone; either way it can be switched
    assert body.is_visible() is (not phone)
    if phone:
        assert _inside(legend.bounding_box(), width, height)
        page.locator(".gv-ltoggle").click()
    assert body.is_visible()
    box = legend.bounding_box()
    assert _inside(box, width, height), box
    # entirely visible: nothing hidden behind a scroll bar, nothing under another control
    assert page.evaluate(
        "() => { const b = document.querySelector('.gv-lbody');"
        " return b.scrollHeight <= b.clientHeight + 1 && b.scrollWidth <= b.clientWidth + 1; }"
    )
    for other in (".gv-note", ".leaflet-control-layers", ".gv-readout", ".gv-title"):
        o = page.locator(other)
        if o.count() and o.is_visible():
            ob = o.bounding_box()
            overlap = not (
                ob["x"] >= box["x"] + box["width"]
                or box["x"] >= ob["x"] + ob["width"]
                or ob["y"] >= box["y"] + box["height"]
                or box["y"] >= ob["y"] + ob["height"]
            )
            assert not overlap, other
    text = body.inner_text()
    # empty categories are hidden: the fixture has no target of some kinds? every shown
    # category has a count above zero
    counts = re.findall(r"（(\d+)）", text)
    assert counts and all(int(c) > 0 for c in counts)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map_legend_{width}x{height}.png"))
    assert opened.console_errors == [] and opened.blocked == []
    page.close()


def test_empty_categories_are_not_in_the_legend(browser: Any, tmp_path: Path) -> None:
    villages = sample_villages()
    targets = synthetic_targets(villages, 6).assign(status="dispatched", result=None)
    targets["due_on"] = TODAY + dt.timedelta(days=5)
    path = maps.write_map(tmp_path / "one.html", maps.build_map(villages, targets, as_of=TODAY))
    opened = open_offline(browser, path)
    text = opened.page.locator(".gv-lbody").inner_text()
    assert "已派发（6）" in text
    for label in ("已下发", "逾期未反馈", "确认种植", "已铲除", "排除", "未发现", "镇外"):
        assert label not in text, label
    # flags shown only when some target has them: ≥500 plants yes (the first), repeat site no
    assert "种植≥500株" in text and "重复点位" not in text
    opened.page.close()


def _settled_box(page: Any, locator: Any, timeout_s: float = 10.0) -> dict[str, float]:
    """The bounding box of ``locator`` once it has stayed put for 200 ms (an animation, such
    as the map's pan, has ended)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        box = locator.bounding_box()
        if box is not None and box == last:
            return dict(box)
        last = box
        page.wait_for_timeout(200)
    raise AssertionError(f"{locator} still moving after {timeout_s} s: {last}")


def test_unsurveyed_area_tells_its_rank_and_popups_avoid_the_layer_panel(
    browser: Any, tmp_path: Path
) -> None:
    villages = sample_villages()
    centre = villages.geometry.iloc[3].representative_point()
    unsurveyed = gpd.GeoDataFrame(
        {"village": ["白鹤村"], "code": ["x"], "area_m2": [52000.0], "priority_score": [3.25],
         "rank": [2]},
        geometry=[centre.buffer(0.004)],
        crs=4490,
    )  # fmt: skip
    targets = synthetic_targets(villages, 30)
    path = maps.write_map(
        tmp_path / "u.html",
        maps.build_map(villages, targets, unsurveyed=unsurveyed, as_of=TODAY),
    )
    opened = open_offline(browser, path, viewport=(1400, 900))
    page = opened.page
    p = page.evaluate(
        "ll => { const q = window.geoverifyMap.map.latLngToContainerPoint(ll);"
        " return {x: q.x, y: q.y}; }",
        [centre.y, centre.x],
    )
    page.mouse.click(p["x"], p["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "未踏查区域（全镇第 2 位）" in text and "白鹤村" in text
    assert "5.20 公顷" in text and "3.25" in text
    # open a popup for the target nearest to the layer panel: it is moved clear of the panel
    panel = page.locator(".leaflet-control-layers").bounding_box()
    ids = list(targets["target_id"])
    best = max(ids, key=lambda t: page.evaluate("id => window.geoverifyMap.pointOf(id).x", t))
    page.evaluate("id => window.geoverifyMap.openTarget(id)", best)
    # the target's popup (the area's may still be fading out), after the auto-pan, however slow
    box = _settled_box(page, page.locator(".leaflet-popup", has_text=best))
    overlap_x = box["x"] < panel["x"] + panel["width"] and panel["x"] < box["x"] + box["width"]
    overlap_y = box["y"] < panel["y"] + panel["height"] and panel["y"] < box["y"] + box["height"]
    assert not (overlap_x and overlap_y), (box, panel)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_popup_clear_of_panel.png"))
    page.close()


def test_history_shows_target_ids_that_never_break(browser: Any, tmp_path: Path) -> None:
    villages = sample_villages()
    targets = synthetic_targets(villages, 40)
    target_id = str(targets["target_id"].iloc[17])  # a repeat site
    pk = int(targets["pk"].iloc[17])
    history = {
        pk: [
            {
                "at": dt.datetime(2024, 3, 5, 1, 0, tzinfo=dt.UTC),
                "actor": "镇平安办",
                "kind": "issued",
                "payload": {"batch": "2024-03", "repeat_of": "TL2023-00023"},
            }
        ]
    }
    path = maps.write_map(
        tmp_path / "h.html",
        maps.build_map(villages, targets, history=history, as_of=TODAY, basemap="osm"),
    )
    opened = open_offline(browser, path, viewport=(412, 915))
    page = opened.page
    page.evaluate("id => window.geoverifyMap.openTarget(id)", target_id)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    ids = popup.locator(".gv-id")
    assert ids.count() >= 2  # its own id and the earlier target's
    for k in range(ids.count()):
        rects = ids.nth(k).evaluate("e => e.getClientRects().length")
        assert rects == 1, ids.nth(k).inner_text()  # one line box: not broken
    assert re.search(r"前次靶标 TL2023-\d+", popup.inner_text())
    assert "复种点: TL2023-00023" in popup.inner_text()
    # no English on the map beyond names (OpenStreetMap) and CGCS2000; the tiles' licence
    # notice (attribution) is kept as its licence asks
    text = page.evaluate(
        "() => { const c = document.body.cloneNode(true);"
        " c.querySelectorAll('.leaflet-control-attribution').forEach(e => e.remove());"
        " document.documentElement.appendChild(c); const t = c.innerText; c.remove(); return t; }"
    )
    words = set(re.findall(r"[A-Za-z]{3,}", text))
    assert words <= {"OpenStreetMap", "CGCS"}, words
    page.close()


def test_district_size_map_draws_grid_cells_then_markers(browser: Any, tmp_path: Path) -> None:
    villages = sample_villages()
    targets = synthetic_targets(villages, 20_000)
    path = maps.write_map(tmp_path / "big.html", maps.build_map(villages, targets, as_of=TODAY))
    opened = open_offline(browser, path)
    page = opened.page
    assert page.evaluate("window.geoverifyMap.mode()") == "grid"
    assert drawn(opened)["targets"] == 20_000
    # a cell click zooms in; at street level every target is a marker
    for _ in range(6):
        page.evaluate(
            "void window.geoverifyMap.map.setZoom(window.geoverifyMap.map.getZoom() + 1,"
            " {animate: false})"
        )
    assert page.evaluate("window.geoverifyMap.mode()") == "markers"
    assert 0 < drawn(opened)["targets"] < 4000
    assert opened.console_errors == []
    page.close()


def test_low_coverage_villages_are_told_apart(browser: Any, tmp_path: Path) -> None:
    villages = sample_villages()
    pct = [0.0, 0.4, 3.0, 4.9, 6.0, 9.0, 12.0, 18.0, 25.0, 45.0, 70.0, 90.0, None]
    coverage = pd.DataFrame({"code": villages["code"], "covered_pct": pct})
    path = maps.write_map(
        tmp_path / "c.html", maps.build_map(villages, coverage=coverage, as_of=TODAY)
    )
    opened = open_offline(browser, path)
    colours = opened.page.evaluate(
        "() => window.geoverifyMap.layers.villages.getLayers().map(l => l.options.fillColor)"
    )
    by_pct = dict(zip(pct, colours, strict=True))
    # nothing walked, a little (< 5 %), 5–10 % and 10–20 % each look different
    assert len({by_pct[0.0], by_pct[3.0], by_pct[6.0], by_pct[12.0]}) == 4
    assert by_pct[0.4] == by_pct[4.9] and by_pct[None] not in (by_pct[0.0], by_pct[3.0])
    text = opened.page.locator(".gv-lbody").inner_text()
    assert "0%（无轨迹）" in text and "0 – 5%" in text and "5% – 10%" in text
    opened.page.close()


def test_the_scale_bar_holds_its_label_at_every_zoom(
    browser: Any, full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    """The scale bar's label (500 m, 1 km, …) is never cut off by the bar, however short the
    round distance leaves it, in the map's CJK font."""
    path, _, _ = full_map
    opened = open_offline(browser, path, viewport=(1400, 900))
    page = opened.page
    clipped = page.evaluate(
        """async () => {
            const m = window.geoverifyMap.map, out = [];
            const line = document.querySelector(".leaflet-control-scale-line");
            for (let z = 10; z <= 17; z += 0.25) {
                m.setZoom(z, {animate: false});
                await new Promise((r) => setTimeout(r, 0));
                if (line.scrollWidth > line.clientWidth) out.push([z, line.textContent]);
            }
            return out;
        }"""
    )
    assert clipped == [], clipped
    assert opened.console_errors == []


# --- phones: popups that fit, controls a finger can hit, in Chinese -------------------------

#: A target in open ground (nothing drawn over it), the one furthest right: its popup has to be
#: moved into view.
OPEN_GROUND_TARGET_JS = """ids => {
    const g = window.geoverifyMap, size = g.map.getSize();
    let best = null;
    for (const id of ids) {
        const p = g.pointOf(id);
        if (!p || p.x < 30 || p.y < 30 || p.x > size.x - 30 || p.y > size.y - 30) continue;
        const hit = document.elementFromPoint(p.x, p.y);
        if (!hit || hit.closest('.leaflet-control, .gv-title')) continue;
        if (!best || p.x > best.x) best = {id: id, x: p.x, y: p.y};
    }
    return best;
}"""


def _visible_boxes(page: Any, selector: str) -> list[dict[str, float]]:
    loc = page.locator(selector)
    out = []
    for k in range(loc.count()):
        item = loc.nth(k)
        box = item.bounding_box() if item.is_visible() else None
        if box is not None and box["width"] and box["height"]:
            out.append(dict(box))
    return out


@pytest.mark.parametrize(
    ("width", "height"),
    [(412, 915), (360, 740), (307, 548)],  # 307 × 548: the web app's map frame on a 360 phone
)
def test_a_tapped_popup_fits_a_phone(
    browser: Any,
    full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame],
    width: int,
    height: int,
) -> None:
    """On a phone a target's popup was wider than the screen (its close × off it), and the
    note and legend covered its text. Now it lies within the map, clear of every control and
    the title, its text fits its width, and its × and navigation links take a finger."""
    path, _, targets = full_map
    opened = open_offline(browser, path, viewport=(width, height), touch=True)
    page = opened.page
    pick = page.evaluate(OPEN_GROUND_TARGET_JS, [str(t) for t in targets["target_id"]])
    assert pick is not None
    page.touchscreen.tap(pick["x"], pick["y"])
    page.locator(".leaflet-popup-content .gv-ptitle").wait_for()
    popup = _settled_box(page, page.locator(".leaflet-popup-content-wrapper"))
    room = page.locator(".leaflet-container").bounding_box()
    assert room is not None
    assert _inside(
        {**popup, "x": popup["x"] - room["x"], "y": popup["y"] - room["y"]},
        int(room["width"]),
        int(room["height"]),
    ), (popup, room)
    close = page.locator(".leaflet-popup-close-button").bounding_box()
    assert close is not None and _inside(close, width, height), close
    assert close["width"] >= 44 and close["height"] >= 44, close
    # nothing over the popup: the legend and the note step aside while it is open
    assert page.locator(".gv-legend").is_hidden() and page.locator(".gv-note").is_hidden()
    for box in _visible_boxes(page, ".leaflet-control, .gv-title"):
        assert not overlaps(box, popup), (box, popup)
    # its text fits its width (it scrolls only up and down)
    assert page.evaluate(
        "() => { const c = document.querySelector('.leaflet-popup-content');"
        " return c.scrollWidth <= c.clientWidth + 1; }"
    )
    links = page.locator(".leaflet-popup-content .gv-nav a")
    assert links.count() == 4
    for k in range(4):
        box = links.nth(k).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, box
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map_phone_popup_{width}x{height}.png"))
    # closed, the legend and the note are back
    page.touchscreen.tap(close["x"] + close["width"] / 2, close["y"] + close["height"] / 2)
    page.locator(".leaflet-popup").wait_for(state="detached")
    assert page.locator(".gv-legend").is_visible() and page.locator(".gv-note").is_visible()
    assert opened.console_errors == [] and opened.blocked == []
    page.context.close()


def test_a_popup_on_a_desk_keeps_the_desk_look(
    browser: Any, full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    """With a mouse the popup's navigation links stay a line of text links, the zoom buttons
    keep Leaflet's size and the legend stays open beside a popup."""
    path, _, targets = full_map
    opened = open_offline(browser, path, viewport=(1400, 900))
    page = opened.page
    assert page.evaluate("id => window.geoverifyMap.openTarget(id)", str(targets["target_id"][5]))
    popup = _settled_box(page, page.locator(".leaflet-popup-content-wrapper"))
    assert popup["width"] <= 380 + 60, popup
    links = page.locator(".leaflet-popup-content .gv-nav a")
    tops = {round(b["y"]) for b in (links.nth(k).bounding_box() for k in range(4)) if b}
    assert len(tops) == 1  # one line
    assert all(
        (b := links.nth(k).bounding_box()) is not None and b["height"] < 30 for k in range(4)
    )
    for button in _visible_boxes(page, ".leaflet-control-zoom a"):
        assert button["height"] <= 32, button
    assert page.locator(".gv-lbody").is_visible() and page.locator(".gv-note").is_visible()
    for box in _visible_boxes(page, ".leaflet-top .leaflet-control, .gv-title"):
        assert not overlaps(box, popup), (box, popup)
    assert opened.console_errors == []
    page.close()


@pytest.mark.parametrize(("width", "height"), [(412, 915), (360, 740)])
def test_controls_take_a_finger_on_a_touch_screen(
    browser: Any,
    full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame],
    width: int,
    height: int,
) -> None:
    """Zoom (and full screen) buttons were 30 × 30 px on a phone; a finger needs 44 × 44."""
    path, _, _ = full_map
    opened = open_offline(browser, path, viewport=(width, height), touch=True)
    page = opened.page
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    buttons = _visible_boxes(
        page, ".leaflet-control-zoom a, .leaflet-bar a, .leaflet-control-layers-toggle"
    )
    assert len(buttons) >= 4  # zoom in, zoom out, full screen, layers
    for box in buttons:
        assert box["width"] >= 44 and box["height"] >= 44, box
    # the legend's switch too, and nothing of the top corners overlaps the title
    toggle = page.locator(".gv-ltoggle").bounding_box()
    assert toggle is not None and toggle["height"] >= 40, toggle
    title = page.locator(".gv-title").bounding_box()
    assert title is not None
    for box in _visible_boxes(page, ".leaflet-top .leaflet-control"):
        assert not overlaps(box, title), (box, title)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map_phone_controls_{width}x{height}.png"))
    assert opened.console_errors == []
    page.context.close()


def test_leaflet_controls_speak_chinese(
    browser: Any, full_map: tuple[Path, gpd.GeoDataFrame, gpd.GeoDataFrame]
) -> None:
    """Leaflet's own tooltips were English (Zoom in, Zoom out, Layers, Close popup)."""
    path, _, targets = full_map
    opened = open_offline(browser, path, viewport=(412, 915), touch=True)
    page = opened.page
    zoom_in = page.locator(".leaflet-control-zoom-in")
    zoom_out = page.locator(".leaflet-control-zoom-out")
    assert zoom_in.get_attribute("title") == zoom_in.get_attribute("aria-label") == "放大"
    assert zoom_out.get_attribute("title") == zoom_out.get_attribute("aria-label") == "缩小"
    assert page.locator(".leaflet-control-layers-toggle").get_attribute("title") == "图层"
    # still one zoom control, above the full-screen button
    assert page.locator(".leaflet-control-zoom-in").count() == 1
    order = page.evaluate(
        "() => [...document.querySelector('.leaflet-top.leaflet-left').children]"
        ".map(c => c.querySelector('a').className)"
    )
    assert "zoom-in" in order[0] and "fullscreen" in order[-1], order
    zoom = page.evaluate("window.geoverifyMap.map.getZoom()")
    zoom_in.tap()
    page.wait_for_function(f"window.geoverifyMap.map.getZoom() > {zoom}")
    assert page.evaluate("id => window.geoverifyMap.openTarget(id)", str(targets["target_id"][3]))
    page.locator(".leaflet-popup-close-button").wait_for()
    assert page.locator(".leaflet-popup-close-button").get_attribute("title") == "关闭"
    words = page.evaluate(
        """() => {
            const out = [];
            document.querySelectorAll('.leaflet-control-container [title],'
                + ' .leaflet-control-container [aria-label], .leaflet-popup [title],'
                + ' .leaflet-popup [aria-label]').forEach(e => {
                out.push(e.getAttribute('title') || '', e.getAttribute('aria-label') || '');
            });
            return out.join(' ');
        }"""
    )
    assert set(re.findall(r"[A-Za-z]{3,}", words)) <= {"Leaflet"}, words
    assert opened.console_errors == []
    page.context.close()


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 220, 200)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("basemap", ["osm", "tianditu"])
def test_the_web_apps_policy_lets_the_chosen_basemap_load(
    browser: Any, basemap: maps.Basemap
) -> None:
    """The map served as the web app serves it (with its Content-Security-Policy): the tiles of
    the chosen basemap are fetched and drawn. OpenStreetMap's never were: its host
    tile.openstreetmap.org was not in the policy."""
    from geoverify.web.routers.maps import MAP_CSP

    key = "0123456789abcdef0123456789abcdef" if basemap == "tianditu" else None
    html = maps.build_map(sample_villages(), basemap=basemap, tianditu_key=key, today=TODAY)
    url = "https://geoverify.test/maps/map.html"
    png = _png()
    tiles: list[str] = []
    refused: list[str] = []
    page = browser.new_page(viewport={"width": 800, "height": 600})

    def route(r: Any) -> None:
        if r.request.url == url:
            r.fulfill(
                body=html,
                content_type="text/html; charset=utf-8",
                headers={"Content-Security-Policy": MAP_CSP},
            )
        elif r.request.resource_type == "image":
            tiles.append(r.request.url)
            r.fulfill(body=png, content_type="image/png")
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(url)
    # (locators, not wait_for_function: the policy forbids the eval that one polls with)
    page.locator("html[data-geoverify-ready='1']").wait_for(state="attached")
    page.locator(".leaflet-tile-loaded").first.wait_for(state="attached", timeout=10_000)
    hosts = {u.split("/")[2] for u in tiles}
    if basemap == "osm":
        assert hosts == {"tile.openstreetmap.org"}
    else:
        assert hosts and all(re.fullmatch(r"t[0-7]\.tianditu\.gov\.cn", h) for h in hosts)
    assert refused == []
    page.close()


@pytest.mark.parametrize(("width", "height"), [(412, 915), (307, 548)])
def test_the_title_never_breaks_a_date(
    browser: Any, tmp_path: Path, width: int, height: int
) -> None:
    """On a phone the subtitle wraps between its parts, never inside one (a date split over
    two lines, "2024-" / "03-25", reads as two things)."""
    villages = sample_villages()
    subtitle = "批次 2024-03 · 踏查覆盖 2024-03 · 统计截至 2024-03-25"
    html = maps.build_map(
        villages,
        synthetic_targets(villages, 10),
        as_of=TODAY,
        title="福果镇青龙村禁种铲毒靶标核查图",
        subtitle=subtitle,
    )
    opened = open_offline(
        browser, maps.write_map(tmp_path / "t.html", html), viewport=(width, height)
    )
    sub = opened.page.locator(".gv-subtitle")
    assert sub.inner_text() == subtitle
    parts = sub.locator(".gv-part")
    assert parts.count() == 3
    lines = {round(parts.nth(k).bounding_box()["y"]) for k in range(3)}
    assert len(lines) > 1  # it does wrap at this width …
    for k in range(3):  # … but each part stays on one line
        assert parts.nth(k).evaluate("e => e.getClientRects().length") == 1, parts.nth(
            k
        ).inner_text()
    assert opened.console_errors == []
    opened.page.close()
