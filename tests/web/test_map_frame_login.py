"""The 地图 page's frame when the login has ended (SQLite and PostGIS, and Chromium).

The frame (``/maps/map.html``) was sent to the login page like any page, so the whole app —
header, menu, login form — appeared squeezed into the frame, and after the login there the
frame held the app. Now the frame says 登录已过期 alone, and its link opens the login in the
whole window, which comes back to the 地图 page with the frame's batch and month. The API's
map keeps its 401 problem document.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from geoverify.web.deps import SESSION_COOKIE
from geoverify.web.routers.maps import MAP_CSP
from tests.web.conftest import (
    BATCH,
    USERS,
    VILLAGE_A,
    Client,
    WebEnv,
    browser_login,
    hidden_fields,
    login,
    page_login,
)
from tests.web.live import ARTIFACTS, serve, watch

#: What only the app's own pages (base.html) have: none of it belongs in the frame.
APP_CHROME = ('class="top"', "主菜单", "/logout", "退出", 'class="foot"', "/static/", "<nav")
RELOGIN = re.compile(r'<a class="relogin" href="([^"]+)" target="_top"[^>]*>重新登录</a>')
DESK = {"width": 1400, "height": 900}
PHONE = {"width": 412, "height": 915}


def _relogin_next(html: str) -> tuple[str, str]:
    """The 重新登录 link of a bare frame page, and the ``next`` it carries (decoded)."""
    found = RELOGIN.search(html)
    assert found is not None, html
    href = found.group(1).replace("&amp;", "&")
    parts = urlsplit(href)
    assert parts.path == "/login" and not parts.netloc and not parts.scheme, href
    nexts = parse_qs(parts.query)["next"]
    assert len(nexts) == 1, href
    return href, nexts[0]


def _assert_bare_login(res: Any) -> str:
    """The frame's login answer: 401, the map's policy, the message alone; its ``next``."""
    assert res.status_code == 401, res.text[:300]
    assert res.headers["content-type"].startswith("text/html")
    assert res.headers["content-security-policy"] == MAP_CSP
    text = str(res.text)
    assert "登录已过期，请重新登录" in text
    for chrome in (*APP_CHROME, 'name="password"', 'action="/login"'):
        assert chrome not in text, chrome
    assert "not logged in" not in text.split("<details>")[0]  # English folded away
    return _relogin_next(text)[1]


@pytest.mark.parametrize(
    ("query", "back"),
    [
        ("month=2024-03", "/maps?month=2024-03"),
        (f"batch={BATCH}&month=2024-03", f"/maps?batch={BATCH}&month=2024-03"),
        ("", "/maps"),
    ],
)
def test_the_frame_without_a_login_says_so_alone(
    clients: dict[str | None, Client], query: str, back: str
) -> None:
    res = clients[None].get("/maps/map.html" + (f"?{query}" if query else ""))
    assert _assert_bare_login(res) == back


def test_the_frame_after_a_logout_elsewhere_says_so_alone(app: Any) -> None:
    """A session that ended (the user logged out in another tab) is the same as none."""
    client = login(app, VILLAGE_A)
    assert client.get("/maps/map.html?month=2024-03").status_code == 200
    token = client.http.cookies.get(SESSION_COOKIE)
    assert token
    assert client.delete("/api/v1/session").status_code == 204
    client.http.cookies.set(SESSION_COOKIE, token)  # this tab still sends the ended session
    res = client.get("/maps/map.html?month=2024-03")
    assert _assert_bare_login(res) == "/maps?month=2024-03"


def test_the_link_logs_in_and_comes_back_to_the_maps_page(app: Any) -> None:
    """The link's login page carries the way back, and the login follows it."""
    client = login(app, None)
    href, back = _relogin_next(client.get(f"/maps/map.html?batch={BATCH}&month=2024-03").text)
    page = client.get(href)
    assert page.status_code == 200
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    kept = re.search(r'name="next" value="([^"]+)"', page.text)
    assert token is not None and kept is not None
    assert kept.group(1).replace("&amp;", "&") == back
    name = "office1"
    done = client.http.post(
        "/login",
        data={
            "login_token": token.group(1),
            "name": name,
            "password": USERS[name][2],
            "next": back,
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/maps?batch={BATCH}&month=2024-03"
    maps = client.get(done.headers["location"])
    assert maps.status_code == 200
    assert f'src="/maps/map.html?batch={BATCH}&amp;month=2024-03"' in maps.text


@pytest.mark.parametrize(
    "query",
    [
        "month=2024-03&x=//evil.example/",
        "month=2024-03&x=%5C%5Cevil.example",
        "month=2024-03&x=http://evil.example/",
        "month=2024-03&x=%0d%0aLocation:%20http://evil.example",
    ],
)
def test_the_way_back_stays_on_the_maps_page(clients: dict[str | None, Client], query: str) -> None:
    """Whatever the frame's query, the login comes back to the 地图 page of this site."""
    back = _assert_bare_login(clients[None].get(f"/maps/map.html?{query}"))
    parts = urlsplit(back)
    assert parts.path == "/maps" and not parts.netloc and not parts.scheme, back
    assert "\\" not in back and not any(ord(c) <= 0x20 for c in back), back
    assert parse_qs(parts.query)["month"] == ["2024-03"]


def test_the_api_map_and_other_pages_answer_as_before(clients: dict[str | None, Client]) -> None:
    api = clients[None].get("/api/v1/maps/map.html?month=2024-03")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["code"] == "unauthorized"
    # a page of its own (not in a frame) still goes to the login page
    page = clients[None].get("/maps?month=2024-03")
    assert page.status_code == 303
    assert unquote(page.headers["location"]) == "/login?next=/maps?month=2024-03"


@pytest.mark.parametrize("user", ["office1", VILLAGE_A])
def test_the_frame_with_a_login_shows_the_map(clients: dict[str | None, Client], user: str) -> None:
    res = clients[user].get("/maps/map.html?month=2024-03")
    assert res.status_code == 200, res.text[:300]
    assert res.headers["content-security-policy"] == MAP_CSP
    assert "geoverifyMap" in res.text and "登录已过期" not in res.text


@pytest.mark.browser
@pytest.mark.parametrize(
    ("user", "size"), [("office1", DESK), (VILLAGE_A, PHONE)], ids=["desk", "phone"]
)
def test_a_logout_in_another_tab_then_the_frame_leads_the_window_to_the_login(
    web_env: WebEnv, browser: Any, user: str, size: dict[str, int]
) -> None:
    with serve(web_env.app()) as base:
        ctx = browser.new_context(viewport=size, locale="zh-CN")
        page = ctx.new_page()
        seen = watch(page, base)
        page.on("pageerror", lambda e: seen.console_errors.append(f"uncaught: {e}"))
        browser_login(page, base, user)
        page.goto(f"{base}/maps?month=2024-03")
        inner = page.locator("iframe.mapframe").element_handle().content_frame()
        inner.wait_for_function("window.geoverifyMap && window.geoverifyMap.ready === true")

        # logged out in another tab of the same browser
        other = ctx.new_page()
        other.goto(f"{base}/")
        other.click("form.who button[type=submit]")
        other.wait_for_url(re.compile(rf"^{re.escape(base)}/login"))
        other.close()

        # the frame loaded again (a reload, or 显示 in a page left open)
        page.locator("iframe.mapframe").evaluate("f => { f.src = '/maps/map.html?month=2024-03'; }")
        frame = page.frame_locator("iframe.mapframe")
        said = frame.locator("[data-testid=map-login]")
        said.wait_for()  # before the fix: the app's login page inside the frame
        assert "登录已过期，请重新登录" in said.inner_text()
        assert frame.locator("header, nav, form, input").count() == 0
        assert page.url == f"{base}/maps?month=2024-03"  # the window stays where it was
        link = frame.locator("[data-testid=map-relogin]")
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44, box  # takes a finger
        colour = link.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(11, 87, 164)", colour  # its inline style is allowed
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"maps_frame_login_{size['width']}.png"))

        # 重新登录 opens the login in the whole window, and the login comes back to the map
        link.click()
        page.wait_for_url(re.compile(rf"^{re.escape(base)}/login\?"))
        assert page.locator("iframe.mapframe").count() == 0
        assert page.locator("input[name=next]").input_value() == "/maps?month=2024-03"
        page.fill("input[name=name]", user)
        page.fill("input[name=password]", USERS[user][2])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/maps?month=2024-03")
        assert page.locator("input[name=month]").input_value() == "2024-03"
        inner = page.locator("iframe.mapframe").element_handle().content_frame()
        inner.wait_for_function("window.geoverifyMap && window.geoverifyMap.ready === true")
        assert inner.url == f"{base}/maps/map.html?month=2024-03"

        assert seen.blocked == []
        others = [e for e in seen.console_errors if "status of 401" not in e]
        assert others == [], seen.console_errors
        ctx.close()


def test_the_frame_of_a_user_who_must_change_the_password_leads_the_window_there(
    app: Any, clients: dict[str | None, Client], web_env: WebEnv
) -> None:
    """The office reset the password while the map was open: the frame, reloaded, does not
    hold the password page; its link opens it in the whole window, then back to the map."""
    given = "frame-initial-2024"
    form = {"name": "frame.cadre", "role": "village", "village": web_env.code_of(VILLAGE_A)}
    added = clients["office1"].post("/users", data={**form, "password": given, "password2": given})
    assert added.status_code == 303
    http = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    assert page_login(http, "frame.cadre", given).status_code == 303
    res = http.get("/maps/map.html?month=2024-03")
    assert res.status_code == 403
    assert res.headers["content-security-policy"] == MAP_CSP
    text = str(res.text)
    assert "请先修改密码" in text
    for chrome in (*APP_CHROME, 'name="new_password"'):
        assert chrome not in text, chrome
    link = re.search(r'<a class="relogin" href="([^"]+)" target="_top"[^>]*>修改密码</a>', text)
    assert link is not None, text
    href = link.group(1).replace("&amp;", "&")
    assert urlsplit(href).path == "/account/password"
    assert parse_qs(urlsplit(href).query)["next"] == ["/maps?month=2024-03"]
    cadre = Client(http, None, "frame.cadre")
    hidden = hidden_fields(cadre, href)
    new = {"current_password": given, "new_password": "frame-own-pw-2024"}
    res = http.post(
        "/account/password", data={**hidden, **new, "new_password2": new["new_password"]}
    )
    assert (res.status_code, res.headers["location"]) == (303, "/maps?month=2024-03")
    assert http.get("/maps/map.html?month=2024-03").status_code == 200
