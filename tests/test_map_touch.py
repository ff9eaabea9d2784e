"""The offline map under a finger (Chromium as a phone: touch screen, coarse pointer) and at a
desk: the layer list's boxes and rows take a finger, and the coordinate readout asks for a tap
(there is no mouse to move) and shows where the tap landed. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from geoverify import maps
from tests.browser import launched_chromium, overlaps
from tests.test_maps import TODAY, sample_groups, sample_villages, synthetic_targets

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONES = [(412, 915), (360, 740)]
DESK = (1400, 900)
TAP_SAYS = "点击地图查看坐标"
MOUSE_SAYS = "移动鼠标查看坐标"
#: The readout's coordinates: 经度 106.123456° … 纬度 29.123456°
READ = re.compile(r"经度\s*(-?\d+\.\d+)°.*?纬度\s*(-?\d+\.\d+)°", re.S)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_chromium()


@pytest.fixture(scope="module")
def map_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A map with every kind of layer row: base maps, villages, groups, unsurveyed areas,
    tracks and targets of each kind."""
    villages = sample_villages()
    first = villages.geometry.iloc[1]
    html = maps.build_map(
        villages,
        synthetic_targets(villages, 120),
        groups=sample_groups(villages),
        coverage=pd.DataFrame(
            {"code": villages["code"], "covered_pct": np.linspace(0, 100, len(villages))}
        ),
        unsurveyed=gpd.GeoDataFrame(geometry=[first.centroid.buffer(0.003)], crs=4490),
        tracks=gpd.GeoDataFrame(
            {"label": ["王五 2024-04-01"]},
            geometry=[LineString(first.exterior.coords[:6])],
            crs=4490,
        ),
        illustrative=True,
        title="福果镇靶标核查图",
        today=TODAY,
    )
    path = tmp_path_factory.mktemp("touch") / "map.html"
    maps.write_map(path, html)
    return path


@dataclass
class Opened:
    page: Any
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _open(browser: Any, path: Path, size: tuple[int, int], *, touch: bool) -> Opened:
    """The map from disk, every other request blocked; a phone (touch, 2 device pixels a CSS
    pixel) or a desk (mouse)."""
    ctx = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        is_mobile=touch,
        has_touch=touch,
        device_scale_factor=2 if touch else 1,
        locale="zh-CN",
    )
    page = ctx.new_page()
    opened = Opened(page)

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            opened.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("window.geoverifyMap && window.geoverifyMap.ready === true")
    assert page.evaluate("matchMedia('(pointer: coarse)').matches") is touch
    return opened


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return dict(box)


ROWS_JS = """() => [...document.querySelectorAll('.leaflet-control-layers-list label')].map(row => {
  row.scrollIntoView({block: 'nearest'});
  const input = row.querySelector('input');
  const r = row.getBoundingClientRect(), b = input.getBoundingClientRect();
  const x = (b.left + b.right) / 2, y = (b.top + b.bottom) / 2;
  return {text: row.innerText.trim(), row: r.height, w: b.width, h: b.height,
          hit: document.elementFromPoint(x, y) === input};
})"""


@pytest.mark.parametrize(("width", "height"), PHONES)
def test_the_layer_lists_boxes_take_a_finger(
    browser: Any, map_file: Path, width: int, height: int
) -> None:
    opened = _open(browser, map_file, (width, height), touch=True)
    page = opened.page
    page.locator(".leaflet-control-layers-toggle").tap()
    page.wait_for_selector(".leaflet-control-layers-expanded")
    rows = page.evaluate(ROWS_JS)
    assert len(rows) >= 10, rows  # 2 base maps, the overlays, the kinds of target
    small = [r for r in rows if r["w"] < 24 or r["h"] < 24 or r["row"] < 44]
    assert small == [], small  # before: 13 × 13 px boxes in 26 px rows
    assert [r["text"] for r in rows if not r["hit"]] == []  # each box is where a finger lands
    # the layer list stays within the screen
    layers = _box(page, ".leaflet-control-layers")
    assert layers["x"] >= 0 and layers["x"] + layers["width"] <= width, layers
    # a tap on a target kind's box switches its targets off
    box = page.locator(".leaflet-control-layers-overlays input").last
    box.scroll_into_view_if_needed()
    assert box.is_checked()
    drawn = page.evaluate("window.geoverifyMap.drawn().targets")
    box.tap()
    assert not box.is_checked()
    assert page.evaluate("window.geoverifyMap.drawn().targets") < drawn
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map_touch_layers_{width}x{height}.png"))
    assert opened.errors == [] and opened.blocked == []
    page.context.close()


@pytest.mark.parametrize(("width", "height"), PHONES)
def test_the_readout_asks_for_a_tap_and_shows_where_it_landed(
    browser: Any, map_file: Path, width: int, height: int
) -> None:
    opened = _open(browser, map_file, (width, height), touch=True)
    page = opened.page
    readout = page.locator(".gv-readout")
    assert readout.is_visible()
    assert readout.inner_text().strip() == TAP_SAYS
    # clear of the other controls of the map's bottom, and on the screen
    box = _box(page, ".gv-readout")
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    for other in (".gv-legend", ".gv-note", ".leaflet-control-attribution"):
        assert not overlaps(box, _box(page, other)), other
    # a tap on the map, between the town and the controls: its coordinates are shown
    x, y = width // 2, int(height * 0.45)
    want = page.evaluate(
        f"(() => {{ const p = window.geoverifyMap.map"
        f".containerPointToLatLng([{x}, {y}]); return [p.lng, p.lat]; }})()"
    )
    page.touchscreen.tap(x, y)
    page.wait_for_function("document.querySelector('.gv-readout').innerText.includes('经度')")
    said = READ.search(readout.inner_text())
    assert said is not None, readout.inner_text()
    lon, lat = float(said.group(1)), float(said.group(2))
    # within a pixel of where the finger landed (the map may pan to a popup afterwards)
    per_px = page.evaluate(
        "(() => { const m = window.geoverifyMap.map; const a = m.containerPointToLatLng([0, 0]);"
        " const b = m.containerPointToLatLng([1, 1]); return [b.lng - a.lng, a.lat - b.lat]; })()"
    )
    assert abs(lon - want[0]) <= 1.5 * per_px[0], (lon, want, per_px)
    assert abs(lat - want[1]) <= 1.5 * per_px[1], (lat, want, per_px)
    box = _box(page, ".gv-readout")
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"map_touch_readout_{width}x{height}.png"))
    assert opened.errors == [] and opened.blocked == []
    page.context.close()


def test_a_desk_readout_still_follows_the_mouse(browser: Any, map_file: Path) -> None:
    opened = _open(browser, map_file, DESK, touch=False)
    page = opened.page
    readout = page.locator(".gv-readout")
    assert readout.inner_text().strip() == MOUSE_SAYS
    # headless Chromium may drop the very first synthetic move: move a few times
    for k in range(10):
        page.mouse.move(200 + 7 * k, 300, steps=2)
        if "经度" in readout.inner_text():
            break
    assert READ.search(readout.inner_text()) is not None, readout.inner_text()
    # the layer list keeps its compact desk rows (no finger-sized rows for a mouse)
    rows = page.evaluate(ROWS_JS)
    assert rows and all(r["row"] < 32 for r in rows), rows
    assert opened.errors == [] and opened.blocked == []
    page.context.close()


def test_a_tap_on_the_layer_list_is_not_read_as_a_place(browser: Any, map_file: Path) -> None:
    """The finger on a layer's box is over the map's container too: the readout keeps asking
    for a tap on the map rather than showing the ground under the list."""
    opened = _open(browser, map_file, PHONES[0], touch=True)
    page = opened.page
    page.locator(".leaflet-control-layers-toggle").tap()
    page.wait_for_selector(".leaflet-control-layers-expanded")
    page.locator(".leaflet-control-layers-overlays input").first.tap()
    page.locator(".leaflet-control-layers-overlays input").first.tap()
    assert page.locator(".gv-readout").inner_text().strip() == TAP_SAYS
    assert opened.errors == [] and opened.blocked == []
    page.context.close()
