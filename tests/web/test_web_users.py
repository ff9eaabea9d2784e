"""用户管理 (office) and 修改密码 (everyone), pages and API, on SQLite and PostGIS.

Each test makes its own users, so the shared users of the module (office1, the villages, the
district) keep their passwords and sessions.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geoverify.store import Store, repo
from geoverify.workflows.users import add_user
from tests.browser import CHROMIUM_ARGS
from tests.conftest import users_state
from tests.web.conftest import VILLAGE_A, Client, WebEnv, form_errors, page_login
from tests.web.live import ARTIFACTS, chromium_path, serve, watch

PHONE = {"width": 412, "height": 915}


def _hidden(client: Client, url: str) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200, page.text[:300]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))


def _as(app: Any, name: str, password: str) -> Client:
    """A fresh client logged in through the login page (as a person does)."""
    http = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    res = _page_login(http, name, password)
    assert res.status_code == 303, res.text[:300]
    csrf = http.get("/api/v1/me").json()["csrf_token"]
    return Client(http, csrf, name)


def _page_login(http: TestClient, name: str, password: str) -> Any:
    return page_login(http, name, password)


def _events(store: Store, kind: str) -> Any:
    with store.connect() as conn:
        events = repo.load_events(conn)
    return events[events["kind"] == kind]


def test_office_adds_a_user_who_can_then_log_in(
    web_env: WebEnv, app: Any, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    hidden = _hidden(office, "/users")
    assert hidden["csrf_token"] == office.csrf
    code = web_env.code_of(VILLAGE_A)
    res = office.post(
        "/users",
        data={
            "name": "zhang.wei",
            "role": "village",
            "village": code,
            "password": "zhang-pw-2024",
            "password2": "zhang-pw-2024",
        },
    )
    assert res.status_code == 303, res.text[:500]
    page = office.get(res.headers["location"])
    assert "已添加用户 zhang.wei" in page.text
    row = re.search(r'<li data-user="zhang.wei">(.*?)</li>', page.text, re.S)
    assert row is not None
    assert "村（社区）" in row.group(1) and "青龙村" in row.group(1) and "正常" in row.group(1)
    assert "zhang-pw-2024" not in page.text  # a password is never shown again
    # The new user logs in through the page and is a village user of 青龙村.
    newbie = _as(app, "zhang.wei", "zhang-pw-2024")
    me = newbie.get("/api/v1/me").json()["user"]
    assert (me["role"], me["village_code"]) == ("village", code)
    assert newbie.get("/users").status_code == 403
    added = _events(web_env.store, "user_added")
    last = added.iloc[-1]
    assert last["payload"] == {"name": "zhang.wei", "role": "village", "village": code}
    assert (last["actor"], last["host"], last["source"]) == (
        "office1",
        "testclient",
        "web:users add",
    )


def test_the_api_adds_and_lists_users(web_env: WebEnv, clients: dict[str | None, Client]) -> None:
    office = clients["office1"]
    res = office.post(
        "/api/v1/users", json={"name": "api-viewer", "role": "viewer", "password": "api-pw-2024"}
    )
    assert res.status_code == 201, res.text
    assert res.json() == {
        "name": "api-viewer",
        "role": "viewer",
        "role_label": "只读",
        "village": None,
        "village_code": None,
        "disabled": False,
        "must_change_password": True,  # the office chose it: changed at first login
    }
    listed = office.get("/api/v1/users").json()
    assert "api-viewer" in [u["name"] for u in listed]
    # never a password or its hash (only whether one must be changed)
    assert all(not {"password", "password_hash"} & u.keys() for u in listed)
    assert "api-pw-2024" not in str(listed) and "$argon2" not in str(listed)
    res = office.post(
        "/api/v1/users", json={"name": "api-viewer", "role": "viewer", "password": "api-pw-2024"}
    )
    assert res.status_code == 422
    assert res.headers["content-type"].startswith("application/problem+json")
    assert "已存在" in res.json()["messages"]["zh"]


@pytest.mark.parametrize("who", [VILLAGE_A, "district"])
def test_only_the_office_manages_users(
    who: str, web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    client = clients[who]
    assert "用户管理" not in client.get("/").text
    assert 'href="/users"' in clients["office1"].get("/").text
    assert client.get("/users").status_code == 403
    assert client.get("/api/v1/users").status_code == 403
    before = users_state(web_env.store)
    new = {"name": "sneaky", "role": "office", "password": "sneaky-pw-2024"}
    res = client.post("/users", data={**new, "password2": new["password"]})
    assert res.status_code == 403
    assert "没有权限" in res.text
    assert client.post("/api/v1/users", json=new).status_code == 403
    assert client.post("/users/office1/disable").status_code == 403
    assert client.post("/api/v1/users/office1/disable").status_code == 403
    reset = {"password": "taken-over-2024", "password2": "taken-over-2024"}
    assert client.post("/users/office1/password", data=reset).status_code == 403
    res = client.post("/api/v1/users/office1/password", json={"password": "taken-over-2024"})
    assert res.status_code == 403
    assert users_state(web_env.store) == before


def test_disable_ends_the_login_and_enable_restores_it(
    web_env: WebEnv, app: Any, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    add_user(web_env.store, "leaver", role="viewer", password="leaver-pw-2024", actor="pytest")
    leaver = _as(app, "leaver", "leaver-pw-2024")
    assert leaver.get("/targets").status_code == 200
    res = office.post("/users/leaver/disable")
    assert res.status_code == 303
    page = office.get(res.headers["location"]).text
    assert "已停用用户 leaver" in page
    row = re.search(r'<li data-user="leaver">(.*?)</li>', page, re.S)
    assert row is not None and "已停用" in row.group(1) and "启用" in row.group(1)
    # The session in use stops working at once, and so does the password.
    res = leaver.get("/targets")
    assert res.status_code == 303 and res.headers["location"].startswith("/login")
    http = TestClient(app, follow_redirects=False)
    refused = _page_login(http, "leaver", "leaver-pw-2024")
    assert refused.status_code == 401 and "停用" in refused.text
    assert office.post("/api/v1/users/leaver/enable").json()["disabled"] is False
    assert _as(app, "leaver", "leaver-pw-2024").get("/targets").status_code == 200
    kinds = list(_events(web_env.store, "user_disabled")["payload"])
    assert {"name": "leaver"} in kinds


def test_the_office_cannot_disable_itself(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    assert 'action="/users/office1/disable"' not in office.get("/users").text
    before = users_state(web_env.store)
    res = office.post("/users/office1/disable")
    assert res.status_code == 422
    assert "不能停用自己的账号" in form_errors(res.text)
    res = office.post("/api/v1/users/office1/disable")
    assert res.status_code == 422
    assert res.json()["messages"]["zh"] == "不能停用自己的账号"
    assert users_state(web_env.store) == before
    assert office.get("/api/v1/me").status_code == 200


def test_reset_password(web_env: WebEnv, app: Any, clients: dict[str | None, Client]) -> None:
    office = clients["office1"]
    add_user(web_env.store, "forgetful", role="viewer", password="old-pw-2024", actor="pytest")
    forgetful = _as(app, "forgetful", "old-pw-2024")
    before = users_state(web_env.store)
    for data, needle in [
        ({"password": "new-pw-2024", "password2": "new-pw-2025"}, "两次输入的密码不一致"),
        ({"password": "short", "password2": "short"}, "至少 8 个字符"),
        ({"password": "forgetful", "password2": "forgetful"}, "不能与用户名相同"),
    ]:
        res = office.post("/users/forgetful/password", data=data)
        assert res.status_code == 422
        assert needle in form_errors(res.text)
        assert f'value="{data["password"]}"' not in res.text  # never typed in again
    assert users_state(web_env.store) == before
    res = office.post(
        "/users/forgetful/password", data={"password": "new-pw-2024", "password2": "new-pw-2024"}
    )
    assert res.status_code == 303
    assert "已重置用户 forgetful 的密码" in office.get(res.headers["location"]).text
    assert forgetful.get("/api/v1/me").status_code == 401  # their sessions ended
    assert (
        _page_login(TestClient(app, follow_redirects=False), "forgetful", "old-pw-2024").status_code
        == 401
    )
    _as(app, "forgetful", "new-pw-2024")
    # The API does the same; an unknown user is "not found".
    res = office.post("/api/v1/users/forgetful/password", json={"password": "newer-pw-2024"})
    assert res.status_code == 200 and res.json()["name"] == "forgetful"
    _as(app, "forgetful", "newer-pw-2024")
    res = office.post("/api/v1/users/nobody-here/password", json={"password": "newer-pw-2024"})
    assert res.status_code == 404
    assert len(_events(web_env.store, "password_reset")) >= 2


def test_change_own_password(web_env: WebEnv, app: Any, clients: dict[str | None, Client]) -> None:
    add_user(
        web_env.store,
        "cadre",
        role="village",
        village="石桥村",
        password="cadre-pw-2024",
        actor="t",
    )
    phone = _as(app, "cadre", "cadre-pw-2024")
    office_pc = _as(app, "cadre", "cadre-pw-2024")
    assert 'href="/account/password"' in phone.get("/").text
    assert phone.get("/account/password").status_code == 200
    before = users_state(web_env.store)
    wrong = {"current_password": "not-my-pw", "new_password": "cadre-new-2024"}
    res = phone.post("/account/password", data={**wrong, "new_password2": "cadre-new-2024"})
    assert res.status_code == 422
    assert "当前密码不正确，密码未修改" in form_errors(res.text)
    assert "not-my-pw" not in res.text and "cadre-new-2024" not in res.text
    mismatch = {"current_password": "cadre-pw-2024", "new_password": "cadre-new-2024"}
    res = phone.post("/account/password", data={**mismatch, "new_password2": "cadre-new-2025"})
    assert res.status_code == 422
    assert "两次输入的新密码不一致" in form_errors(res.text)
    assert users_state(web_env.store) == before
    assert phone.post("/api/v1/me/password", json=wrong).json()["messages"]["zh"] == (
        "当前密码不正确，密码未修改"
    )
    assert users_state(web_env.store) == before

    res = phone.post("/account/password", data={**mismatch, "new_password2": "cadre-new-2024"})
    assert res.status_code == 303
    assert "密码已修改" in phone.get(res.headers["location"]).text
    assert phone.get("/api/v1/me").status_code == 200  # this session stays
    assert office_pc.get("/api/v1/me").status_code == 401  # the other one ended
    assert (
        _page_login(TestClient(app, follow_redirects=False), "cadre", "cadre-pw-2024").status_code
        == 401
    )
    again = _as(app, "cadre", "cadre-new-2024")
    last = _events(web_env.store, "password_changed").iloc[-1]
    assert (last["actor"], last["host"]) == ("cadre", "testclient")
    assert last["source"] == "web:users change-password"
    # And by the API: 204, the caller's session stays.
    body = {"current_password": "cadre-new-2024", "new_password": "cadre-newer-2024"}
    assert again.post("/api/v1/me/password", json=body).status_code == 204
    assert again.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401


def test_changes_without_the_csrf_token_are_refused(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    add_user(web_env.store, "target-x", role="viewer", password="target-pw-2024", actor="t")
    before = users_state(web_env.store)
    new = {"name": "no-token", "role": "viewer", "password": "no-token-2024"}
    for url, data in [
        ("/users", {**new, "password2": new["password"]}),
        ("/users/target-x/disable", {}),
        ("/users/target-x/password", {"password": "x-pw-20245", "password2": "x-pw-20245"}),
        ("/account/password", {"current_password": "office-pw-2024", "new_password": "abc-2024x"}),
    ]:
        res = office.http.post(url, data=data)  # the raw client: no csrf_token field
        assert res.status_code == 403, url
        assert "表单已过期" in res.text
        res = office.http.post(url, data={**data, "csrf_token": "forged"})
        assert res.status_code == 403, url
    assert office.http.post("/api/v1/users", json=new).status_code == 403
    assert office.http.post("/api/v1/users/target-x/disable").status_code == 403
    cross = office.http.post(
        "/users/target-x/disable",
        data={"csrf_token": office.csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert users_state(web_env.store) == before


@pytest.mark.parametrize(
    ("form", "needle"),
    [
        ({"name": "a", "role": "viewer"}, "用户名“a”无效"),
        ({"name": "有 空格", "role": "viewer"}, "无效"),
        ({"name": "weak-one", "role": "viewer", "password": "short"}, "密码至少 8 个字符"),
        ({"name": "same-as-pw", "role": "viewer", "password": "same-as-pw"}, "不能与用户名相同"),
        ({"name": "lost-one", "role": "village", "village": "不存在村"}, "没有村（社区）不存在村"),
        ({"name": "no-village", "role": "village"}, "村（社区）用户必须指定所属村（社区）"),
        ({"name": "office-v", "role": "office", "village": "青龙村"}, "只有村（社区）用户"),
        ({"name": "bad-role", "role": "admin"}, "角色应为"),
        ({"name": "no-role"}, "请选择角色"),
        ({"name": "office1", "role": "viewer"}, "已存在"),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    form: dict[str, str], needle: str, web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    form = dict(form)  # the parameter is shared by both backends
    password = form.pop("password", "good-pw-2024")
    before = users_state(web_env.store)
    res = office.post("/users", data={**form, "password": password, "password2": password})
    assert 400 <= res.status_code < 500
    assert needle in form_errors(res.text)
    # What was typed is shown again, but never the password.
    assert f'value="{form["name"]}"' in res.text
    assert password not in res.text.replace(f'value="{form["name"]}"', "")
    body: dict[str, Any] = {**form, "password": password}
    if "role" in body:
        api = office.post("/api/v1/users", json=body)
        assert 400 <= api.status_code < 500
        assert api.headers["content-type"].startswith("application/problem+json")
    assert users_state(web_env.store) == before


# -- the page on a phone ---------------------------------------------------------------------------
@pytest.mark.browser
def test_users_page_on_a_phone(fresh_env: WebEnv) -> None:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    backend = "postgis" if fresh_env.url else "sqlite"
    with serve(fresh_env.app()) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
        page = ctx.new_page()
        seen = watch(page, base)
        page.goto(f"{base}/users")
        page.fill("input[name=name]", "office1")
        page.fill("input[name=password]", "office-pw-2024")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/users")
        page.click("nav >> text=用户管理")
        form = page.locator("[data-testid=add-user]")
        form.locator("input[name=name]").fill("li.xiaoming")
        form.locator("select[name=role]").select_option("village")
        form.locator("select[name=village]").select_option(label="石桥村")
        form.locator("input[name=password]").fill("xiaoming-pw-2024")
        form.locator("input[name=password2]").fill("xiaoming-pw-2024")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("text=已添加用户 li.xiaoming")
        row = page.locator('[data-testid=users] li[data-user="li.xiaoming"]')
        assert row.is_visible()
        assert "石桥村" in row.inner_text() and "正常" in row.inner_text()
        row.locator("summary", has_text="重置密码").click()
        assert row.locator("input[name=password]").is_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{backend}_users_phone.png"), full_page=True)
        # The page fits the phone: nothing wider than the screen.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        page.goto(f"{base}/account/password")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        assert seen.console_errors == []
        assert [f for f in seen.failed if "ERR_ABORTED" not in f] == []
        assert seen.blocked == []
        ctx.close()
        browser.close()
