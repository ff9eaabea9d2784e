"""The whole loop in Chromium at a phone's size (412 × 915), with the network closed.

The office logs in, uploads the March batch, sees the preview, commits and dispatches; a
village cadre logs in on a phone, opens a target, answers with a photo from the camera; the
office's dashboard and map show the answer. Screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.photos import jpeg_bytes
from tests.web.conftest import USERS, VILLAGE_A, WebEnv
from tests.web.live import ARTIFACTS, serve, watch

pytestmark = pytest.mark.browser

PHONE = {"width": 412, "height": 915}
MARCH_FILE = Path(__file__).resolve().parents[2] / "data" / "samples"


def _shot(page: Any, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{backend}_{name}.png"), full_page=True)


def _login(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", USERS[name][2])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/(\?.*)?$"))


def _logout(page: Any) -> None:
    page.click("form.who button[type=submit]")
    page.wait_for_url(re.compile(r".*/login$"))


def test_office_dispatches_a_village_answers_on_a_phone(
    fresh_env: WebEnv, browser: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend = "postgis" if fresh_env.url else "sqlite"
    photo = tmp_path / "IMG_20240314_093000.jpg"
    with serve(fresh_env.app()) as base:
        ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
        page = ctx.new_page()
        seen = watch(page, base)
        page.on("dialog", lambda d: d.accept())

        # -- the office: upload, preview, commit, dispatch ------------------------------------
        _login(page, base, "office1")
        page.click("nav >> text=批次")
        page.set_input_files("input[name=file]", str(MARCH_FILE / "district_batch_2024-03.geojson"))
        page.fill("input[name=batch]", "2024-03")
        page.fill("input[name=issued]", "2024-03-05")
        page.fill("input[name=due]", "2024-03-20")
        page.click("text=上传并预览")
        page.wait_for_selector("[data-testid=preview-villages]")
        assert page.inner_text("[data-testid=importable]").startswith("60")
        _shot(page, "1_office_preview", backend)
        with fresh_env.store.connect() as conn:
            from geoverify.store import repo

            assert repo.count_rows(conn)["targets"] == 0  # the preview wrote nothing
        page.click("text=确认导入")
        page.wait_for_selector("text=已导入 60 个靶标")
        page.click("text=派发到各村")
        page.wait_for_selector("text=已派发")
        assert page.locator("text=下载派发包（全部村）").count() == 1
        _shot(page, "2_office_dispatched", backend)
        _logout(page)

        # -- the village cadre on the phone ------------------------------------------------
        _login(page, base, VILLAGE_A)
        page.click("nav >> text=核查反馈")
        first = page.locator("[data-testid=open-targets] a.id").first
        target = first.inner_text().strip()
        first.click()
        page.wait_for_selector("[data-testid=feedback-form]")
        detail = fresh_env.store
        from geoverify.workflows.targets import target_detail

        info = target_detail(detail, target)
        photo.write_bytes(
            jpeg_bytes(
                lon=info.coordinates["lon"],
                lat=info.coordinates["lat"],
                when="2024:03:14 09:30:00",
                size=(640, 480),
            )
        )
        page.select_option("select[name=result]", "confirmed")
        page.fill("input[name=verified_on]", "2024-03-14")
        page.fill("input[name=verified_by]", "孙晓燕、赵永华")
        page.fill("input[name=plants]", "40")
        page.fill("input[name=area_m2]", "12.5")
        page.fill("input[name=eradicated_on]", "2024-03-14")
        page.set_input_files("input[name=photos]", str(photo))
        _shot(page, "3_village_form", backend)
        page.click("text=提交")
        page.wait_for_selector("text=已保存")
        assert "已铲除" in page.inner_text("[data-testid=status]")
        page.wait_for_selector("[data-testid=photos] img")
        thumb = page.locator("[data-testid=photos] img").first
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
        )
        page.wait_for_selector("#minimap[data-ready='1']")
        _shot(page, "4_village_saved", backend)
        # The page fits the phone: nothing wider than the screen.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        _logout(page)

        # -- the office sees it ------------------------------------------------------------
        _login(page, base, "office1")
        row = page.locator("[data-testid=progress] tr", has_text="青龙村")
        cells = row.locator("td").all_inner_texts()
        assert cells[2] == "1"  # 已核查
        _shot(page, "5_office_dashboard", backend)
        page.click("nav >> text=地图")
        frame = page.frame_locator("iframe.mapframe")
        frame.locator(".leaflet-container").wait_for()
        toggle = frame.locator(".gv-ltoggle")
        if "▸" in toggle.inner_text():  # the legend starts folded on a phone
            toggle.click()
        legend = frame.locator(".gv-legend").inner_text()
        assert re.search(r"已铲除\D{0,3}1", legend), legend[:500]
        _shot(page, "6_office_map", backend)

        assert seen.console_errors == []
        # A request cut short by the next navigation (ERR_ABORTED) is not a failure.
        assert [f for f in seen.failed if "ERR_ABORTED" not in f] == []
        assert seen.blocked == []
        ctx.close()
