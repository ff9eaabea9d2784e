"""A recorded answer edited again in Chromium on a phone: the form sends only what the chosen
result asks for, and the values it fills in from the record pass its own checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from geoverify.workflows.targets import target_detail
from tests.web.conftest import VILLAGE_A, WebEnv, browser_login
from tests.web.live import serve, watch

pytestmark = pytest.mark.browser

PHONE = {"width": 412, "height": 915}


@contextmanager
def _cadre_on_a_phone(web_env: WebEnv, browser: Any) -> Iterator[tuple[str, Any, Any]]:
    """The app served, and a page of a phone with 青龙村's cadre logged in (its address, the
    page and what the page reports)."""
    with serve(web_env.app()) as base:
        ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
        try:
            page = ctx.new_page()
            seen = watch(page, base)
            browser_login(page, base, VILLAGE_A)
            yield base, page, seen
        finally:
            ctx.close()


def _submit(page: Any) -> None:
    page.click("button[type=submit].primary")
    page.wait_for_selector("text=已保存")


def _confirm(page: Any, url: str, plants: str, **fields: str) -> None:
    """Open the answer form at ``url`` and fill in 确认种植 by 孙晓燕 with ``plants`` and the
    other ``fields`` (input or textarea names), not yet sent."""
    page.goto(url)
    page.select_option("select[name=result]", "confirmed")
    page.fill("input[name=verified_by]", "孙晓燕")
    page.fill("input[name=plants]", plants)
    for name, value in fields.items():
        page.fill(f"[name={name}]", value)


def test_an_answer_in_mu_is_completed_then_corrected_to_excluded(
    web_env: WebEnv, browser: Any
) -> None:
    tid = web_env.targets[web_env.code_of(VILLAGE_A)][-1]
    with _cadre_on_a_phone(web_env, browser) as (base, page, seen):
        # Confirmed planting, its area given in 亩: stored in m² with more than one decimal.
        _confirm(page, f"{base}/feedback/{tid}", "25", verified_on="2024-03-14", area_mu="5")
        page.fill("input[name=eradicated_on]", "2024-03-14")
        _submit(page)
        recorded = target_detail(web_env.store, tid).feedback
        area = recorded["eradicated_area_m2"]
        assert recorded["result"] == "confirmed" and recorded["plants"] == 25
        assert area != round(area, 1)  # 5 亩 = 3333.33… m²

        # The case number added later: the form, filled in from the record, goes through.
        page.goto(f"{base}/feedback/{tid}")
        assert float(page.input_value("input[name=area_m2]")) == pytest.approx(area)
        page.fill("input[name=case_no]", "铜公(福)立字〔2024〕9号")
        _submit(page)
        recorded = target_detail(web_env.store, tid).feedback
        assert recorded["case_no"] == "铜公(福)立字〔2024〕9号"
        assert recorded["eradicated_area_m2"] == area  # not rounded by the form

        # Corrected to 排除: the fields only 确认种植 has are hidden and not sent.
        page.goto(f"{base}/feedback/{tid}")
        page.select_option("select[name=result]", "excluded")
        assert not page.is_visible("input[name=plants]")
        page.fill("textarea[name=remarks]", "复查为观赏植物")
        page.check("input[name=supersede]")
        page.fill("input[name=reason]", "复查确认不是毒品原植物")
        _submit(page)
        recorded = target_detail(web_env.store, tid).feedback
        assert recorded["result"] == "excluded"
        assert recorded["plants"] is None and recorded["eradicated_area_m2"] is None
        assert recorded["eradicated_on"] is None

        # Chosen back, the hidden fields come back with what they held.
        page.goto(f"{base}/feedback/{tid}")
        page.select_option("select[name=result]", "confirmed")
        page.fill("input[name=plants]", "3")
        page.select_option("select[name=result]", "not_found")
        page.select_option("select[name=result]", "confirmed")
        assert page.input_value("input[name=plants]") == "3"
        assert seen.console_errors == []


def test_an_exclusion_asks_what_the_site_really_is(web_env: WebEnv, browser: Any) -> None:
    """排除 makes the note required on the phone (the rule behind it refuses it too)."""
    tid = web_env.targets[web_env.code_of(VILLAGE_A)][-2]
    with _cadre_on_a_phone(web_env, browser) as (base, page, seen):
        page.goto(f"{base}/feedback/{tid}")
        remarks = "textarea[name=remarks]"
        page.select_option("select[name=result]", "excluded")
        page.fill("input[name=verified_by]", "孙晓燕")
        assert page.eval_on_selector(remarks, "el => el.required")
        page.click("button[type=submit].primary")
        # the browser keeps the form and asks for the note in the page's words (whatever the
        # phone's language); nothing is recorded
        assert "请写明实际是什么" in page.eval_on_selector(remarks, "el => el.validationMessage")
        page.fill(remarks, "  ")  # spaces say nothing
        assert page.eval_on_selector(remarks, "el => !el.validity.valid")
        assert target_detail(web_env.store, tid).feedback["result"] is None
        page.select_option("select[name=result]", "not_found")
        assert not page.eval_on_selector(remarks, "el => el.required")
        page.select_option("select[name=result]", "excluded")
        page.fill(remarks, "油菜")
        _submit(page)
        recorded = target_detail(web_env.store, tid).feedback
        assert recorded["result"] == "excluded" and recorded["remarks"] == "油菜"
        assert seen.console_errors == []


def test_a_correction_to_excluded_asks_for_a_note_of_its_own(web_env: WebEnv, browser: Any) -> None:
    """The form fills 备注 in from the record: corrected from 确认种植 to 排除, that note sent
    back unchanged does not say what the site is, in the browser or behind it."""
    tid = web_env.targets[web_env.code_of(VILLAGE_A)][-3]
    with _cadre_on_a_phone(web_env, browser) as (base, page, seen):
        _confirm(page, f"{base}/feedback/{tid}", "12", remarks="已拔除焚烧")
        _submit(page)
        page.goto(f"{base}/feedback/{tid}")
        remarks = "textarea[name=remarks]"
        assert page.input_value(remarks) == "已拔除焚烧"
        page.select_option("select[name=result]", "excluded")
        page.check("input[name=supersede]")
        page.fill("input[name=reason]", "复查确认是油菜")
        page.click("button[type=submit].primary")
        message = page.eval_on_selector(remarks, "el => el.validationMessage")
        assert "备注仍是上次“确认种植”时写的" in message
        assert target_detail(web_env.store, tid).feedback["result"] == "confirmed"
        # Sent anyway (a browser that does not check), the rule refuses it and says why.
        page.eval_on_selector("form[data-testid=feedback-form]", "f => f.noValidate = true")
        page.click("button[type=submit].primary")
        page.wait_for_selector("text=备注仍是上次“确认种植”时写的")
        assert target_detail(web_env.store, tid).feedback["result"] == "confirmed"
        page.eval_on_selector("form[data-testid=feedback-form]", "f => f.noValidate = false")
        page.fill(remarks, "复查为油菜")
        _submit(page)
        recorded = target_detail(web_env.store, tid).feedback
        assert recorded["result"] == "excluded" and recorded["remarks"] == "复查为油菜"
        # the refused submission's 422 is the only error the page reports
        assert [e for e in seen.console_errors if "422" not in e] == []
        assert len(seen.console_errors) == 1
