"""The maps of the demo in Chromium at a desk's (1400 × 900) and a phone's (412 × 915) size.

A target's small map (靶标 page) shows the target itself clearly — also one outside the town
(no village boundary) and a polygon target that is a few metres across; the 地图 page's layer
switcher, legend and note never cover one another and every layer row takes a click. The demo
workspace (``geoverify demo``) is the one a user sees with ``./scripts/demo --serve``: it has
every kind of layer and legend row. Screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geoverify.store import Store
from geoverify.web.app import create_app
from geoverify.web.settings import Settings
from geoverify.workflows.targets import target_detail
from geoverify.workflows.users import add_user
from tests.web.live import ARTIFACTS, serve, watch

pytestmark = pytest.mark.browser

DESK = {"width": 1400, "height": 900}
PHONE = {"width": 412, "height": 915}
SIZES = pytest.mark.parametrize("size", [DESK, PHONE], ids=["desk", "phone"])
OFFICE = ("office", "office-pw-2024")
OUTSIDE = "TL2024-03-006"  # a point 镇外 (no village)
POLYGONS = ("TL2024-03-017", "TL2024-03-001")  # plots of about 330 m²
POINT_IN_VILLAGE = "TL2024-03-003"
RED, WHITE, VILLAGE_LINE = "#c62828", "#fff", "#1f3b57"


@pytest.fixture(scope="module")
def demo_base(
    demo_workspace: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app served on a copy of the demo workspace, with an office user."""
    ws = tmp_path_factory.mktemp("mapfix") / "demo"
    shutil.copytree(demo_workspace["workspace"], ws)
    store = Store(ws)
    try:
        add_user(store, OFFICE[0], role="office", password=OFFICE[1], village=None, actor="pytest")
        # the targets the tests are about are what they say they are
        outside = target_detail(store, OUTSIDE)
        assert outside.record["assignment"] == "outside" and outside.village_outline is None
        for tid in POLYGONS:
            d = target_detail(store, tid)
            assert d.geometry["type"] == "Polygon" and d.village_outline is not None
        assert target_detail(store, POINT_IN_VILLAGE).geometry["type"] == "Point"
        app = create_app(Settings(workspace=ws, database_url=None), store=store)
        with serve(app) as base:
            yield base
    finally:
        store.dispose()


def _page(browser: Any, base: str, size: dict[str, int]) -> tuple[Any, list[str]]:
    """A logged-in office page; the list collects console errors and uncaught exceptions."""
    ctx = browser.new_context(viewport=size, device_scale_factor=1, locale="zh-CN")
    page = ctx.new_page()
    seen = watch(page, base)
    page.on("pageerror", lambda e: seen.console_errors.append(f"uncaught: {e}"))
    page.goto(f"{base}/login")
    page.fill("input[name=name]", OFFICE[0])
    page.fill("input[name=password]", OFFICE[1])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/(\?.*)?$"))
    assert seen.blocked == []
    return page, seen.console_errors


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"mapfix_{name}.png"))


def _inside(inner: dict[str, float], outer: dict[str, float], margin: float = 0) -> bool:
    return (
        inner["x"] >= outer["x"] + margin
        and inner["y"] >= outer["y"] + margin
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] - margin
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] - margin
    )


def _intersect(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] >= b["x"] + b["width"]
        or b["x"] >= a["x"] + a["width"]
        or a["y"] >= b["y"] + b["height"]
        or b["y"] >= a["y"] + a["height"]
    )


def _open_target(page: Any, base: str, tid: str, errors: list[str]) -> dict[str, float]:
    """Open a target's page; the minimap's box once it has drawn (or failed to)."""
    page.goto(f"{base}/targets/{tid}")
    page.wait_for_load_state("load")
    page.locator("#minimap").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    assert errors == [], errors  # before the fix: "Invalid LatLng object: (NaN, NaN)"
    page.wait_for_selector("#minimap[data-ready='1']", timeout=5000)
    box = page.locator("#minimap").bounding_box()
    assert box is not None
    return dict(box)


def _marker(page: Any) -> dict[str, float]:
    """The target's circle: red filled, white edged (the style of the point marker)."""
    m = page.locator(f"#minimap path[fill='{RED}'][stroke='{WHITE}']")
    assert m.count() == 1, m.count()
    box = m.bounding_box()
    assert box is not None
    return dict(box)


@SIZES
def test_a_target_outside_the_town_is_shown_on_its_small_map(
    demo_base: str, browser: Any, size: dict[str, int]
) -> None:
    page, errors = _page(browser, demo_base, size)
    mm = _open_target(page, demo_base, OUTSIDE, errors)
    assert "镇外" in page.inner_text("dl.kv")
    marker = _marker(page)
    # a real circle well inside the visible map, not at NaN
    assert marker["width"] >= 14 and marker["height"] >= 14, marker
    assert _inside(marker, mm, margin=10), (marker, mm)
    view = page.evaluate(
        "() => { const m = document.getElementById('minimap').gvMinimap.map;"
        " const c = m.getCenter(); return [c.lat, c.lng, m.getZoom()]; }"
    )
    assert all(v == v and abs(v) < 1e9 for v in view), view  # finite, not NaN
    assert "不含村界" in page.inner_text("[data-testid=minimap-note]")
    _shot(page, f"outside_{size['width']}")
    assert errors == []
    page.context.close()


@SIZES
@pytest.mark.parametrize("tid", POLYGONS)
def test_a_polygon_target_is_framed_and_marked(
    demo_base: str, browser: Any, size: dict[str, int], tid: str
) -> None:
    page, errors = _page(browser, demo_base, size)
    mm = _open_target(page, demo_base, tid, errors)
    shape = page.locator(f"#minimap path[stroke='{RED}']")
    assert shape.count() == 1, shape.count()
    sb = shape.bounding_box()
    assert sb is not None
    # the plot is drawn big enough to see its shape (before: 3-5 px on the desk), and in view
    assert min(sb["width"], sb["height"]) >= 30, sb
    assert _inside(sb, mm, margin=4), (sb, mm)
    marker = _marker(page)
    assert _inside(marker, mm, margin=4), (marker, mm)
    # the circle is on the plot
    cx, cy = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2
    assert sb["x"] <= cx <= sb["x"] + sb["width"] and sb["y"] <= cy <= sb["y"] + sb["height"]
    _shot(page, f"polygon_{tid}_{size['width']}")
    assert errors == []
    page.context.close()


@SIZES
def test_a_point_target_keeps_its_village_in_view(
    demo_base: str, browser: Any, size: dict[str, int]
) -> None:
    page, errors = _page(browser, demo_base, size)
    mm = _open_target(page, demo_base, POINT_IN_VILLAGE, errors)
    marker = _marker(page)
    assert _inside(marker, mm, margin=4), (marker, mm)
    village = page.locator(f"#minimap path[stroke='{VILLAGE_LINE}']")
    assert village.count() == 1
    vb = village.bounding_box()
    assert vb is not None and _inside(vb, mm), (vb, mm)  # the whole village, as before
    assert errors == []
    page.context.close()


ROWS_JS = """() => {
  // every row of the layer switcher: scrolled into its list if need be, then hit-tested
  const rows = [...document.querySelectorAll('.leaflet-control-layers-list label')];
  return rows.map(row => {
    row.scrollIntoView({block: 'nearest'});
    const b = row.getBoundingClientRect();
    const x = b.left + Math.min(30, b.width / 2), y = (b.top + b.bottom) / 2;
    const hit = document.elementFromPoint(x, y);
    return {text: row.innerText.trim(), hit: !!hit && row.contains(hit), x: x, y: y};
  });
}"""


def _box(frame: Any, selector: str) -> dict[str, float]:
    box = frame.locator(selector).bounding_box()
    assert box is not None, selector
    return dict(box)


@SIZES
def test_maps_page_controls_do_not_overlap(
    demo_base: str, browser: Any, size: dict[str, int]
) -> None:
    page, errors = _page(browser, demo_base, size)
    page.goto(f"{demo_base}/maps")
    page.wait_for_selector("iframe.mapframe")
    frame = page.frame_locator("iframe.mapframe")
    frame.locator(".leaflet-container").wait_for()
    inner = page.locator("iframe.mapframe").element_handle().content_frame()
    inner.wait_for_function("window.geoverifyMap && window.geoverifyMap.ready === true")
    page.locator("iframe.mapframe").scroll_into_view_if_needed()
    phone = size["width"] < 800
    if phone:  # folded on a phone: open both, as a user looking for a layer would
        frame.locator(".gv-ltoggle").click()
        frame.locator(".leaflet-control-layers").hover()
    page.wait_for_timeout(300)
    layers = _box(frame, ".leaflet-control-layers")
    legend = _box(frame, ".gv-legend")
    note = _box(frame, ".gv-note")
    container = _box(frame, ".leaflet-container")
    assert "镇外" in frame.locator(".leaflet-control-layers").inner_text()
    assert "已铲除" in frame.locator(".gv-lbody").inner_text()  # the legend is open
    assert not _intersect(layers, legend), (layers, legend)
    assert not _intersect(layers, note), (layers, note)
    assert not _intersect(legend, note), (legend, note)
    for b in (layers, legend, note):
        assert _inside(b, container), (b, container)
    rows = inner.evaluate(ROWS_JS)
    assert len(rows) >= 12, rows  # 2 base maps, 5 overlays, 6 kinds of target
    covered = [r["text"] for r in rows if not r["hit"]]
    assert covered == [], covered
    # and the last row (靶标：镇外…) really takes a click: its box switches off its targets
    last = rows[-1]
    assert last["text"].startswith("靶标：镇外"), last
    checkbox = inner.locator(".leaflet-control-layers-overlays input").last
    assert checkbox.is_checked()
    drawn = inner.evaluate("window.geoverifyMap.drawn().targets")
    frame_box = page.locator("iframe.mapframe").bounding_box()
    assert frame_box is not None
    page.mouse.click(frame_box["x"] + last["x"], frame_box["y"] + last["y"])
    assert not checkbox.is_checked()
    assert inner.evaluate("window.geoverifyMap.drawn().targets") < drawn
    _shot(page, f"maps_{size['width']}")
    assert errors == []
    page.context.close()


def test_the_offline_map_file_keeps_its_controls_apart(
    demo_workspace: dict[str, Any], browser: Any
) -> None:
    """The CLI's map file, opened from disk with no network, in a window as short as the
    web app's map frame on a desk."""
    path = Path(demo_workspace["outputs"]["地图 (map)"])
    page = browser.new_page(viewport={"width": 1400, "height": 756})
    blocked: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("window.geoverifyMap && window.geoverifyMap.ready === true")
    layers = _box(page, ".leaflet-control-layers")
    legend = _box(page, ".gv-legend")
    note = _box(page, ".gv-note")
    assert not _intersect(layers, legend) and not _intersect(layers, note), (layers, legend)
    rows = page.evaluate(ROWS_JS)
    assert [r["text"] for r in rows if not r["hit"]] == []
    assert errors == [] and blocked == []
    page.close()


@SIZES
@pytest.mark.parametrize("where", ["targets", "feedback"])
def test_navigation_buttons_stand_apart_from_what_follows(
    demo_base: str, browser: Any, size: dict[str, int], where: str
) -> None:
    """On the target's page and its answer form the row of navigation buttons kept no gap to
    the next line (a finger aiming at 手机地图 could land on the coordinates)."""
    page, errors = _page(browser, demo_base, size)
    page.goto(f"{demo_base}/{where}/{POINT_IN_VILLAGE}")
    page.wait_for_load_state("load")
    gap = page.evaluate(
        """() => {
            const row = document.querySelector('main .links');
            const next = row.nextElementSibling;
            return next.getBoundingClientRect().top - row.getBoundingClientRect().bottom;
        }"""
    )
    assert gap >= 8, gap
    assert errors == []
    page.context.close()


def test_the_small_maps_zoom_buttons_speak_chinese_and_take_a_finger(
    demo_base: str, browser: Any
) -> None:
    ctx = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = ctx.new_page()
    page.goto(f"{demo_base}/login")
    page.fill("input[name=name]", OFFICE[0])
    page.fill("input[name=password]", OFFICE[1])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"^{re.escape(demo_base)}/(\?.*)?$"))
    _open_target(page, demo_base, POINT_IN_VILLAGE, [])
    for selector, title in (
        ("#minimap .leaflet-control-zoom-in", "放大"),
        ("#minimap .leaflet-control-zoom-out", "缩小"),
    ):
        button = page.locator(selector)
        assert button.get_attribute("title") == title
        box = button.bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, box
    ctx.close()
