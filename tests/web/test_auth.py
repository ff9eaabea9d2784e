"""Logging in and out, sessions, throttling and CSRF, on SQLite and PostGIS."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from geoverify.workflows.users import MAX_NAME_FAILURES, add_user, set_disabled
from tests.web.conftest import BATCH, USERS, WebEnv, login


def _page_login(http: TestClient, name: str, password: str, next_path: str = "/") -> Any:
    page = http.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    return http.post(
        "/login",
        data={"login_token": token.group(1), "name": name, "password": password, "next": next_path},
    )


def test_page_login_sets_a_safe_session_cookie(app: Any) -> None:
    http = TestClient(app, follow_redirects=False)
    assert http.get("/").headers["location"] == "/login?next=/"
    res = _page_login(http, "office1", USERS["office1"][2], next_path="/targets")
    assert res.status_code == 303
    assert res.headers["location"] == "/targets"
    cookie = res.headers["set-cookie"]
    assert "gv_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    assert http.get("/").status_code == 200


def test_cookie_is_secure_under_https(web_env: WebEnv) -> None:
    http = TestClient(web_env.app(https=True), follow_redirects=False)
    res = http.post("/api/v1/session", json={"name": "office1", "password": USERS["office1"][2]})
    assert res.status_code == 200
    assert "Secure" in res.headers["set-cookie"]
    assert "max-age=31536000" in res.headers["strict-transport-security"]


def test_login_never_redirects_to_another_site(app: Any) -> None:
    for bad in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        http = TestClient(app, follow_redirects=False)
        res = _page_login(http, "office1", USERS["office1"][2], next_path=bad)
        assert res.headers["location"] == "/"


def test_login_form_without_its_cookie_is_refused(app: Any) -> None:
    http = TestClient(app, follow_redirects=False)
    res = http.post("/login", data={"login_token": "x" * 32, "name": "office1", "password": "y"})
    assert res.status_code == 403
    assert "登录页面已过期" in res.text
    # The login form again, the name kept, with a fresh token that logs in.
    assert 'name="password"' in res.text and 'value="office1"' in res.text
    token = re.search(r'name="login_token" value="([^"]+)"', res.text)
    assert token is not None and "gv_session" not in http.cookies
    ok = http.post(
        "/login",
        data={"login_token": token.group(1), "name": "office1", "password": USERS["office1"][2]},
    )
    assert ok.status_code == 303 and "gv_session" in http.cookies


def test_wrong_password_then_throttled_even_with_the_right_one(web_env: WebEnv, app: Any) -> None:
    add_user(web_env.store, "throttled", role="viewer", password="right-password-1")
    http = TestClient(app, follow_redirects=False)
    page = _page_login(http, "throttled", "wrong")
    assert page.status_code == 401
    assert "用户名或密码不正确" in page.text
    for _ in range(MAX_NAME_FAILURES - 1):
        res = http.post("/api/v1/session", json={"name": "throttled", "password": "wrong"})
        assert res.status_code == 401
        assert res.headers["content-type"].startswith("application/problem+json")
    res = http.post("/api/v1/session", json={"name": "throttled", "password": "right-password-1"})
    assert res.status_code == 401
    doc = res.json()
    assert "登录失败次数过多" in doc["messages"]["zh"]
    assert "try again" in doc["messages"]["en"]
    # Another user on another name is not locked by it.
    assert login(app, "district").csrf


def test_unknown_user_and_wrong_password_get_the_same_answer(app: Any) -> None:
    http = TestClient(app)
    a = http.post("/api/v1/session", json={"name": "nobody-at-all", "password": "x" * 10})
    b = http.post("/api/v1/session", json={"name": "district", "password": "x" * 10})
    assert a.status_code == b.status_code == 401
    assert a.json()["messages"] == b.json()["messages"]


def test_logout_ends_the_session(app: Any) -> None:
    c = login(app, "district")
    assert c.get("/api/v1/me").status_code == 200
    cookie = c.http.cookies.get("gv_session")
    assert c.delete("/api/v1/session").status_code == 204
    # The old token no longer works, even if someone kept it.
    again = TestClient(app, cookies={"gv_session": cookie})
    assert again.get("/api/v1/me").status_code == 401


def test_a_disabled_user_is_logged_out(web_env: WebEnv, app: Any) -> None:
    add_user(web_env.store, "leaving", role="viewer", password="leaving-pw-2024")
    http = TestClient(app)
    assert (
        http.post(
            "/api/v1/session", json={"name": "leaving", "password": "leaving-pw-2024"}
        ).status_code
        == 200
    )
    assert http.get("/api/v1/me").status_code == 200
    set_disabled(web_env.store, "leaving")
    assert http.get("/api/v1/me").status_code == 401
    res = http.post("/api/v1/session", json={"name": "leaving", "password": "leaving-pw-2024"})
    assert res.status_code == 401
    assert "停用" in res.json()["messages"]["zh"]


def test_changes_need_the_csrf_token(clients: dict[str | None, Any]) -> None:
    office = clients["office1"]
    # API: no header -> 403 problem document, nothing dispatched.
    res = office.http.post(f"/api/v1/batches/{BATCH}/dispatch")
    assert res.status_code == 403
    assert res.json()["code"] == "forbidden"
    res = office.http.post(
        f"/api/v1/batches/{BATCH}/dispatch", headers={"X-CSRF-Token": "not-the-token"}
    )
    assert res.status_code == 403
    # Pages: a form without the token, or from another site, is refused.
    assert office.http.post("/logout").status_code == 403
    res = office.http.post(
        "/logout",
        data={"csrf_token": office.csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert res.status_code == 403
    assert office.get("/api/v1/me").status_code == 200  # still logged in


def test_api_without_a_session_is_401_problem(clients: dict[str | None, Any]) -> None:
    res = clients[None].get("/api/v1/targets")
    assert res.status_code == 401
    assert res.headers["content-type"].startswith("application/problem+json")
    doc = res.json()
    assert doc["status"] == 401 and doc["type"].endswith(":unauthorized")
    assert doc["messages"]["zh"] and doc["messages"]["en"]


def test_pages_send_security_headers(clients: dict[str | None, Any]) -> None:
    res = clients["office1"].get("/")
    assert "script-src 'self'" in res.headers["content-security-policy"]
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["cache-control"] == "no-store"
