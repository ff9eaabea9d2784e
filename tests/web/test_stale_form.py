"""A form opened before the latest login (页面已过期) is refused as stale, not as 没有权限,
leads back to the form's page and saves nothing; on SQLite and PostGIS.

The clients here are fresh ones (logging in again replaces a client's session), so the shared
clients of the other modules keep theirs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from geoverify.web.deps import site_path
from tests.conftest import snapshot
from tests.web.conftest import (
    USERS,
    VILLAGE_A,
    Client,
    WebEnv,
    browser_login,
    hidden_fields,
    login,
    page_login,
)
from tests.web.live import chromium_path, serve

ANSWER = {
    "result": "excluded",
    "verified_on": "2024-03-12",
    "verified_by": "张三",
    "remarks": "油菜",
}


def _page_client(app: Any, name: str) -> Client:
    """A browser-like client logged in through the login page."""
    http = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    assert page_login(http, name, USERS[name][2]).status_code == 303
    return Client(http, None, name)


def _log_in_again(client: Client) -> None:
    """Log out and in again (in another tab, say): a new session with a new form token."""
    token = hidden_fields(client, "/")["csrf_token"]
    assert client.http.post("/logout", data={"csrf_token": token}).status_code == 303
    assert page_login(client.http, str(client.name), USERS[str(client.name)][2]).status_code == 303


def _back_link(html: str) -> str:
    found = re.search(r'<a href="([^"]*)" class="button primary" data-back', html)
    assert found is not None, html[:800]
    return found.group(1)


def test_an_old_form_after_a_new_login_is_stale_not_forbidden(web_env: WebEnv, app: Any) -> None:
    target = web_env.targets[web_env.code_of(VILLAGE_A)][2]
    phone = _page_client(app, VILLAGE_A)
    old = hidden_fields(phone, f"/feedback/{target}")  # the form, opened before …
    _log_in_again(phone)  # … the latest login
    before = snapshot(web_env.store)
    page = f"http://testserver/feedback/{target}?from=list"
    res = phone.http.post(f"/feedback/{target}", data={**old, **ANSWER}, headers={"Referer": page})
    assert res.status_code == 403
    assert "<h1>页面已过期</h1>" in res.text
    assert "没有权限" not in res.text
    assert "刚才提交的内容没有保存" in res.text and "最近一次登录之前打开" in res.text
    assert _back_link(res.text) == f"/feedback/{target}?from=list"  # the Referer, as a path
    assert snapshot(web_env.store) == before
    # Without a Referer: the form's own page.
    res = phone.http.post(f"/feedback/{target}", data={**old, **ANSWER})
    assert res.status_code == 403 and "页面已过期" in res.text
    assert _back_link(res.text) == f"/feedback/{target}"
    assert snapshot(web_env.store) == before
    # The form opened again carries the new token, and the same answer is saved.
    fresh = hidden_fields(phone, f"/feedback/{target}")
    assert fresh["csrf_token"] != old["csrf_token"]
    res = phone.http.post(f"/feedback/{target}", data={**fresh, **ANSWER})
    assert res.status_code == 303, res.text[:500]


def test_a_form_without_a_page_of_its_own_leads_to_the_page_above(
    web_env: WebEnv, app: Any
) -> None:
    phone = _page_client(app, VILLAGE_A)
    old = hidden_fields(phone, "/patrols")
    _log_in_again(phone)
    before = snapshot(web_env.store)
    gpx = b'<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"/>'
    res = phone.http.post(
        "/patrols/upload",
        data={"csrf_token": old["csrf_token"]},
        files={"file": ("track.gpx", gpx, "application/gpx+xml")},
    )
    assert res.status_code == 403
    assert "页面已过期" in res.text and "没有权限" not in res.text
    assert _back_link(res.text) == "/patrols"  # /patrols/upload is no page
    # A Referer of another site is still refused as cross-site (and is never a link).
    res = phone.http.post(
        "/users/x/disable",
        data={"csrf_token": old["csrf_token"]},
        headers={"Referer": "https://evil.example/users"},
    )
    assert res.status_code == 403 and "evil.example" not in res.text
    assert snapshot(web_env.store) == before


@pytest.mark.parametrize(
    ("referer", "back"),
    [
        ("http://testserver/targets?village=x", "/targets?village=x"),
        ("https://testserver/feedback/T1", "/feedback/T1"),
        ("/patrols", "/patrols"),
        ("https://evil.example/feedback/T1", None),
        ("//evil.example/x", None),
        ("/\t/evil.example", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_only_a_page_of_this_site_is_a_way_back(referer: str, back: str | None) -> None:
    request = Request({"type": "http", "headers": [(b"host", b"testserver")]})
    assert site_path(request, referer) == back


def test_real_permission_failures_still_say_forbidden(web_env: WebEnv, app: Any) -> None:
    target = web_env.target_of(VILLAGE_A)
    district = login(app, "district")  # read-only, with its own valid token
    village = login(app, VILLAGE_A)
    before = snapshot(web_env.store)
    res = district.post(f"/feedback/{target}", data=ANSWER)
    assert res.status_code == 403
    assert "<h1>没有权限</h1>" in res.text and "页面已过期" not in res.text
    res = village.get("/users")
    assert res.status_code == 403
    assert "<h1>没有权限</h1>" in res.text and "页面已过期" not in res.text
    assert snapshot(web_env.store) == before


def test_the_api_answer_is_unchanged(web_env: WebEnv, app: Any) -> None:
    script = login(app, VILLAGE_A)
    target = web_env.target_of(VILLAGE_A)
    res = script.http.post(
        f"/api/v1/targets/{target}/feedback",
        json={"result": "excluded"},
        headers={"X-CSRF-Token": "an-old-token"},
    )
    assert res.status_code == 403
    assert res.headers["content-type"].startswith("application/problem+json")
    doc = res.json()
    assert (doc["code"], doc["title"]) == ("forbidden", "Forbidden")
    assert doc["messages"]["en"] == "missing or wrong CSRF token; reload the page"


def test_a_form_sent_after_the_login_ended_leads_back_through_the_login(
    web_env: WebEnv, app: Any
) -> None:
    target = web_env.target_of(VILLAGE_A)
    phone = _page_client(app, VILLAGE_A)
    old = hidden_fields(phone, "/patrols")
    phone.http.post("/logout", data={"csrf_token": old["csrf_token"]})
    before = snapshot(web_env.store)
    res = phone.http.post(
        "/patrols/upload",
        data={"csrf_token": old["csrf_token"]},
        files={"file": ("track.gpx", b"<gpx/>", "application/gpx+xml")},
    )
    assert res.status_code == 303
    assert res.headers["location"] == "/login?next=/patrols&lost=1"
    assert snapshot(web_env.store) == before
    page = phone.http.get(res.headers["location"])
    assert "刚才提交的内容没有保存" in page.text
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    res = phone.http.post(
        "/login",
        data={
            "login_token": token.group(1),
            "next": "/patrols",
            "name": VILLAGE_A,
            "password": USERS[VILLAGE_A][2],
        },
    )
    assert (res.status_code, res.headers["location"]) == (303, "/patrols")
    # The same for a form whose own address is a page.
    phone.http.post("/logout", data=hidden_fields(phone, "/patrols"))
    before = snapshot(web_env.store)
    res = phone.http.post(f"/feedback/{target}", data={**old, **ANSWER})
    assert res.headers["location"] == f"/login?next=/feedback/{target}&lost=1"
    assert snapshot(web_env.store) == before
    # Logging out of a login that has ended is no lost form.
    res = phone.http.post("/logout", data={"csrf_token": old["csrf_token"]})
    assert (res.status_code, res.headers["location"]) == (303, "/login")


@pytest.mark.browser
def test_back_from_the_stale_page_keeps_what_was_typed(web_env: WebEnv, browser: Any) -> None:
    """In Chromium: the form of an earlier login is refused as 页面已过期; 返回上一页 shows the
    form again with what was typed and the new login's token, and sending it then saves."""
    chromium_path()
    target = web_env.targets[web_env.code_of(VILLAGE_A)][3]
    with serve(web_env.app()) as base:
        ctx = browser.new_context(viewport={"width": 412, "height": 915}, locale="zh-CN")
        tab = ctx.new_page()
        browser_login(tab, base, VILLAGE_A)
        tab.goto(f"{base}/feedback/{target}")
        form = tab.locator("[data-testid=feedback-form]")
        form.locator("select[name=result]").select_option("excluded")
        form.locator("input[name=verified_on]").fill("2024-03-12")
        form.locator("input[name=verified_by]").fill("王五")
        form.locator("textarea[name=remarks]").fill("地块已翻耕，未见植株")
        # Meanwhile, in another tab: logged out, and in again.
        other = ctx.new_page()
        other.goto(f"{base}/")
        other.click("form.who button[type=submit]")
        other.wait_for_url(f"{base}/login")
        browser_login(other, base, VILLAGE_A)
        before = snapshot(web_env.store)
        tab.bring_to_front()
        tab.locator("[data-testid=feedback-form] button[type=submit]").click()
        tab.wait_for_selector("h1:text('页面已过期')")
        assert "没有权限" not in tab.inner_text("main")
        assert snapshot(web_env.store) == before
        tab.click("[data-testid=back-to-form]")
        tab.wait_for_url(f"{base}/feedback/{target}")
        form = tab.locator("[data-testid=feedback-form]")
        assert form.locator("textarea[name=remarks]").input_value() == "地块已翻耕，未见植株"
        assert form.locator("input[name=verified_by]").input_value() == "王五"
        form.locator("button[type=submit]").click()
        tab.wait_for_url(f"{base}/targets/{target}?saved=1")  # saved this time
        assert "地块已翻耕，未见植株" in tab.inner_text("main")
        assert snapshot(web_env.store) != before
        ctx.close()


@pytest.mark.parametrize(
    ("action", "referer", "back"),
    [
        # the preview is the page a POST answered: no page to open again; its list is
        ("/batches/commit", "http://testserver/batches/preview", "/batches"),
        # a notice of what was just done is not said again when the page is opened again
        (
            "/batches/2024-03/dispatch",
            "http://testserver/batches/2024-03?dispatched=5",
            "/batches/2024-03",
        ),
        ("/users", "http://testserver/users?added=x&role=village", "/users?role=village"),
        # a page, without notices, as it was
        ("/users", "http://testserver/targets?status=issued", "/targets?status=issued"),
    ],
)
def test_the_way_back_is_a_page_that_opens_and_says_nothing_twice(
    web_env: WebEnv, app: Any, action: str, referer: str, back: str
) -> None:
    office = _page_client(app, "office1")
    old = hidden_fields(office, "/batches")
    office.http.post("/logout", data=hidden_fields(office, "/batches"))
    before = snapshot(web_env.store)
    res = office.http.post(action, data=old, headers={"Referer": referer})
    assert res.status_code == 303
    assert res.headers["location"] == f"/login?next={quote(back)}&lost=1"
    assert snapshot(web_env.store) == before
    office = _page_client(app, "office1")
    assert office.http.get(back).status_code == 200
