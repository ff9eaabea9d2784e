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


def test_the_district_report_gives_its_button_back_after_the_download(
    web_env: WebEnv, browser: Any
) -> None:
    """生成上报报表 answers with a file: the page stays, so its note and button come back to
    what they were (the office could not press it again without reloading)."""
    with serve(web_env.app()) as base:
        ctx = browser.new_context(
            viewport={"width": 1400, "height": 900}, locale="zh-CN", accept_downloads=True
        )
        try:
            page = ctx.new_page()
            seen = watch(page, base)
            browser_login(page, base, "office1")
            page.goto(f"{base}/batches/{BATCH}")
            page.evaluate(  # a shorter wait than the page's own, long enough for a loaded host
                "document.querySelector('form[data-download]').setAttribute('data-download', '6')"
            )
            page.on("dialog", lambda d: d.accept())
            button = "form[data-download] button[type=submit]"
            with page.expect_download() as got:
                page.click(button)
            assert got.value.suggested_filename.endswith(".xlsx")
            assert "正在生成上报报表" in page.inner_text("form[data-download]")
            for _ in range(100):  # the page's Content-Security-Policy allows no eval'd predicate
                if page.is_enabled(button) and page.locator("[data-busy-note]").count() == 0:
                    break
                page.wait_for_timeout(200)
            assert page.is_enabled(button)
            assert page.locator("[data-busy-note]").count() == 0
            assert seen.console_errors == []
        finally:
            ctx.close()
