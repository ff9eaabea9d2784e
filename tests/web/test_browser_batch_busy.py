"""The batch page's long actions in Chromium: a question called off leaves the button to press
again, and an action under way says so while the page waits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import BATCH, WebEnv, browser_login
from tests.web.live import serve, watch

pytestmark = pytest.mark.browser


def test_dispatch_called_off_then_under_way(web_env: WebEnv, browser: Any) -> None:
    with serve(web_env.app()) as base:
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        try:
            page = ctx.new_page()
            seen = watch(page, base)
            browser_login(page, base, "office1")
            page.goto(f"{base}/batches/{BATCH}")
            button = "form[data-busy] button[type=submit].primary"
            answers: list[bool] = [False]
            page.on("dialog", lambda d: d.accept() if answers.pop(0) else d.dismiss())
            page.click(button)
            assert page.is_enabled(button)  # called off: press it again when ready
            assert page.locator("[data-busy-note]").count() == 0

            # Pressed and confirmed: held in the page (the submission stopped after the page's
            # own handlers have run), so that what it shows meanwhile can be read.
            page.evaluate("window.addEventListener('submit', e => e.preventDefault())")
            answers.append(True)
            page.click(button)
            note = page.wait_for_selector("[data-busy-note]")
            assert "正在生成各村的清单" in note.inner_text()
            page.wait_for_function(f"document.querySelector('{button}').disabled")
            # and for real
            page.reload()
            answers.append(True)
            page.click(button)
            page.wait_for_selector("text=已派发")
            assert seen.console_errors == []
        finally:
            ctx.close()
