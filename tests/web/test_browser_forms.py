"""Forms in Chromium as people fill them: the filters with their "全部" choices left alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import BATCH, VILLAGE_A, WebEnv, browser_login
from tests.web.live import serve, watch

pytestmark = pytest.mark.browser

PHONE = {"width": 412, "height": 915}


def test_filters_with_all_choices_left_alone(web_env: WebEnv, browser: Any) -> None:
    with serve(web_env.app()) as base:
        for user, viewport in (("office1", {"width": 1400, "height": 900}), (VILLAGE_A, PHONE)):
            phone = viewport is PHONE
            ctx = browser.new_context(
                viewport=viewport, locale="zh-CN", is_mobile=phone, has_touch=phone
            )
            page = ctx.new_page()
            seen = watch(page, base)
            browser_login(page, base, user)
            page.goto(f"{base}/targets")
            listed = page.locator("[data-testid=targets] li").count()
            assert listed > 0
            # A batch chosen, the status left at 全部: the list, not an error page.
            page.select_option("select[name=batch]", BATCH)
            page.click("text=筛选")
            page.wait_for_load_state()
            assert "status=" in page.url  # the browser did send the blank choice
            assert page.locator("[data-testid=targets] li").count() == listed
            assert "无效" not in page.inner_text("main")
            page.check("input[name=overdue]")
            page.click("text=筛选")
            page.wait_for_load_state()
            assert "无效" not in page.inner_text("main")
            assert page.locator("text=逾期未反馈").count() == 1
            # The map with no patrol month chosen.
            page.goto(f"{base}/maps")
            page.click("text=显示")
            page.wait_for_load_state()
            assert "month=" in page.url and "无效" not in page.inner_text("main")
            assert page.locator("iframe.mapframe").count() == 1
            assert not seen.console_errors, seen.console_errors
            if phone:  # a finger can hit the list's links and the check box
                page.goto(f"{base}/targets")
                box = page.locator("[data-testid=targets] a.id").first.bounding_box()
                assert box is not None and box["height"] >= 44, box
                box = page.locator("input[name=overdue]").bounding_box()
                assert box is not None and box["width"] >= 24 and box["height"] >= 24
                page.goto(f"{base}/feedback")
                for sel in ("a.id", ".muted a"):  # the answer form, 详情与导航
                    box = page.locator(f"[data-testid=open-targets] {sel}").first.bounding_box()
                    assert box is not None and box["height"] >= 44, (sel, box)
            ctx.close()
