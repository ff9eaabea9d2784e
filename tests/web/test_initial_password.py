"""A password the office set (a new user, a reset) must be changed at the next login before
anything else; on SQLite and PostGIS.

Each test makes its own users, so the module's shared users keep their passwords and sessions.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from geoverify.store import Store, repo
from geoverify.workflows.users import add_user, list_users
from tests.conftest import snapshot, users_state
from tests.web.conftest import VILLAGE_A, Client, WebEnv, form_errors, hidden_fields, page_login

#: The pages a village user sees.
PAGES = ["/", "/targets", "/feedback", "/patrols", "/maps", "/patrols/rows"]
NOTE = "这是镇平安办为您设置的初始密码，请先设置自己的新密码"


def _page_client(app: Any, name: str, password: str) -> tuple[Client, Any]:
    """A client logged in through the login page, and the login's answer."""
    http = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    res = page_login(http, name, password)
    assert res.status_code == 303, res.text[:300]
    return Client(http, None, name), res


def _flag(store: Store, name: str) -> bool:
    (user,) = [u for u in list_users(store).users if u.name == name]
    return user.must_change_password


def _events(store: Store, name: str) -> list[tuple[str, Any, str, str]]:
    """The events of one user's account: kind, payload, actor, source."""
    with store.connect() as conn:
        events = repo.load_events(conn)
    mine = events[[isinstance(p, dict) and p.get("name") == name for p in events["payload"]]]
    return [
        (str(k), p, str(a), str(s))
        for k, p, a, s in zip(
            mine["kind"], mine["payload"], mine["actor"], mine["source"], strict=True
        )
    ]


def _change(client: Client, current: str, new: str, again: str | None = None) -> Any:
    hidden = hidden_fields(client, "/account/password")
    form = {"current_password": current, "new_password": new, "new_password2": again or new}
    return client.http.post("/account/password", data={**hidden, **form})


def test_a_user_the_office_adds_changes_the_password_first(
    web_env: WebEnv, app: Any, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    add_form = office.get("/users").text
    assert "用户第一次登录时须改成自己的新密码" in add_form
    code = web_env.code_of(VILLAGE_A)
    initial = "chen-initial-2024"
    res = office.post(
        "/users",
        data={
            "name": "chen.gang",
            "role": "village",
            "village": code,
            "password": initial,
            "password2": initial,
        },
    )
    assert res.status_code == 303, res.text[:300]
    page = office.get(res.headers["location"]).text
    assert "其第一次登录时须先把初始密码改成自己的新密码" in page
    row = re.search(r'<li data-user="chen.gang">(.*?)</li>', page, re.S)
    assert row is not None and "待改密码" in row.group(1)
    assert _flag(web_env.store, "chen.gang")
    added = {"name": "chen.gang", "role": "village", "village": code}
    assert _events(web_env.store, "chen.gang") == [
        ("user_added", added, "office1", "web:users add"),
        (
            "must_change_password",
            {"name": "chen.gang", "required": True},
            "office1",
            "web:users add",
        ),
    ]

    # The login leads to 修改密码, with the note and no menu.
    cadre, login = _page_client(app, "chen.gang", initial)
    assert login.headers["location"] == "/account/password"
    form_page = cadre.get("/account/password")
    assert form_page.status_code == 200
    assert NOTE in form_page.text
    assert 'aria-label="主菜单"' not in form_page.text
    assert "初始密码" in form_page.text
    # Every other page leads there too; the logout form, static files and "who am I" work.
    target = web_env.target_of(VILLAGE_A)
    for url in [*PAGES, f"/targets/{target}", f"/feedback/{target}", "/batches"]:
        res = cadre.get(url)
        assert (res.status_code, res.headers.get("location")) == (303, "/account/password"), url
    assert cadre.get("/static/app.css").status_code == 200
    me = cadre.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    token = me.json()["csrf_token"]
    # A change the user may otherwise make is not made.
    before = snapshot(web_env.store)
    answer = {"result": "excluded", "verified_on": "2024-03-12", "verified_by": "陈刚"}
    res = cadre.http.post(f"/feedback/{target}", data={**answer, "csrf_token": token})
    assert (res.status_code, res.headers.get("location")) == (303, "/account/password")
    # The API: 403 problem documents saying what to do.
    for res in [
        cadre.http.get("/api/v1/targets"),
        cadre.http.get(f"/api/v1/targets/{target}"),
        cadre.http.post(
            f"/api/v1/targets/{target}/feedback",
            json={**answer, "submission": "1f0c8a2e-4b8e-4c1e-9c61-2b0c4f0a7d11"},
            headers={"X-CSRF-Token": token},
        ),
    ]:
        assert res.status_code == 403
        assert res.headers["content-type"].startswith("application/problem+json")
        doc = res.json()
        assert doc["code"] == "password_change_required"
        assert doc["messages"]["zh"].startswith("请先修改密码")
        assert "/api/v1/me/password" in doc["messages"]["en"]
    assert snapshot(web_env.store) == before

    # The initial password again, an easy one, or a mistyped one: refused, nothing changed.
    state = users_state(web_env.store)
    cadre = Client(cadre.http, token, "chen.gang")
    for new, again, needle in [
        (initial, None, "新密码不能与镇平安办设置的初始密码相同"),
        ("12345678", None, "密码不能是连续的数字"),
        ("chen-own-pw-2024", "chen-own-pw-2025", "两次输入的新密码不一致"),
    ]:
        res = _change(cadre, initial, new, again)
        assert res.status_code == 422, new
        assert needle in form_errors(res.text)
        assert NOTE in res.text
    assert users_state(web_env.store) == state
    assert _flag(web_env.store, "chen.gang")
    # A wrong initial password is called by the name the form gives it.
    res = _change(cadre, "not-the-initial-2024", "chen-own-pw-2024")
    assert res.status_code == 422
    assert "初始密码不正确，密码未修改" in form_errors(res.text)
    assert _flag(web_env.store, "chen.gang")

    # Their own password: the mark is gone, the pages open, this session stays.
    res = _change(cadre, initial, "chen-own-pw-2024")
    assert (res.status_code, res.headers["location"]) == (303, "/account/password?saved=1")
    saved = cadre.get(res.headers["location"]).text
    assert "密码已修改" in saved and NOTE not in saved and 'aria-label="主菜单"' in saved
    assert not _flag(web_env.store, "chen.gang")
    for url in PAGES:
        assert cadre.get(url).status_code == 200, url
    assert cadre.get("/api/v1/me").json()["must_change_password"] is False
    assert cadre.get("/api/v1/targets").status_code == 200
    kinds = [(k, p.get("required"), a) for k, p, a, _ in _events(web_env.store, "chen.gang")]
    assert kinds[-2:] == [
        ("password_changed", None, "chen.gang"),
        ("must_change_password", False, "chen.gang"),
    ]
    # The next login goes where it was asked to.
    again, login = _page_client(app, "chen.gang", "chen-own-pw-2024")
    assert login.headers["location"] == "/"


def test_a_reset_by_the_office_asks_again_and_logout_works(
    web_env: WebEnv, app: Any, clients: dict[str | None, Client]
) -> None:
    add_user(web_env.store, "forgot.it", role="viewer", password="forgot-pw-2024", actor="t")
    assert not _flag(web_env.store, "forgot.it")  # made by a program: no change asked for
    _, login = _page_client(app, "forgot.it", "forgot-pw-2024")
    assert login.headers["location"] == "/"
    office = clients["office1"]
    res = office.post(
        "/users/forgot.it/password",
        data={"password": "office-gave-2024", "password2": "office-gave-2024"},
    )
    assert res.status_code == 303
    assert "其下次登录时须先设置自己的新密码" in office.get(res.headers["location"]).text
    assert _flag(web_env.store, "forgot.it")
    viewer, login = _page_client(app, "forgot.it", "office-gave-2024")
    assert login.headers["location"] == "/account/password"
    assert viewer.get("/").headers["location"] == "/account/password"
    # Logging out needs no new password.
    token = hidden_fields(viewer, "/account/password")["csrf_token"]
    res = viewer.http.post("/logout", data={"csrf_token": token})
    assert (res.status_code, res.headers["location"]) == (303, "/login")
    assert viewer.get("/api/v1/me").status_code == 401
    # The API's reset asks for it too.
    res = office.post("/api/v1/users/forgot.it/password", json={"password": "office-gave-2025"})
    assert res.status_code == 200
    assert _flag(web_env.store, "forgot.it")
    kinds = [k for k, _, _, _ in _events(web_env.store, "forgot.it")]
    assert kinds[-2:] == ["password_reset", "must_change_password"]


def test_a_user_added_through_the_api_changes_it_through_the_api(
    web_env: WebEnv, app: Any, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    initial = "api-initial-2024"
    res = office.post(
        "/api/v1/users", json={"name": "api.cadre", "role": "viewer", "password": initial}
    )
    assert res.status_code == 201
    http = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    res = http.post("/api/v1/session", json={"name": "api.cadre", "password": initial})
    assert res.status_code == 200
    assert res.json()["must_change_password"] is True
    script = Client(http, res.json()["csrf_token"], "api.cadre")
    res = script.get("/api/v1/status")
    assert res.status_code == 403 and res.json()["code"] == "password_change_required"
    same = {"current_password": initial, "new_password": initial}
    res = script.post("/api/v1/me/password", json=same)
    assert res.status_code == 422
    assert res.json()["messages"]["zh"] == "新密码不能与镇平安办设置的初始密码相同"
    assert _flag(web_env.store, "api.cadre")
    res = script.post("/api/v1/me/password", json={**same, "new_password": "api-own-pw-2024"})
    assert res.status_code == 204
    assert script.get("/api/v1/status").status_code == 200
    assert not _flag(web_env.store, "api.cadre")


def test_a_page_the_user_may_not_see_says_so_first(
    web_env: WebEnv, app: Any, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    form = {"name": "new.viewer", "role": "viewer", "password": "viewer-initial-2024"}
    assert office.post("/users", data={**form, "password2": form["password"]}).status_code == 303
    viewer, _ = _page_client(app, "new.viewer", form["password"])
    res = viewer.get("/users")
    assert res.status_code == 403 and "<h1>没有权限</h1>" in res.text
    assert viewer.get("/feedback").status_code == 403  # read-only: no answers at all
    assert viewer.get("/targets").headers["location"] == "/account/password"


def test_users_that_exist_before_the_migration_are_not_asked(store: Store) -> None:
    """Upgrading a store with users logged in (sessions point at ``users``) keeps them all,
    unflagged; so does going back."""
    from alembic import command

    from geoverify.store.database import _alembic_config

    def migrate(step: Any, revision: str) -> None:
        with store.engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    migrate(command.downgrade, "0008")
    now = repo.now()
    with store.engine.begin() as conn:
        assert "must_change_password" not in {
            c["name"] for c in sa.inspect(conn).get_columns("users")
        }
        conn.execute(
            sa.text(
                "INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at)"
                " VALUES ('old.hand', 'office', 'x', :f, :now, :now)"
            ),
            {"f": False, "now": now},
        )
        uid = conn.execute(sa.text("SELECT id FROM users WHERE name = 'old.hand'")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO sessions (id, user_id, csrf, client, created_at, last_seen_at,"
                " expires_at) VALUES ('s-old', :uid, 'c', '127.0.0.1', :now, :now, :now)"
            ),
            {"uid": uid, "now": now},
        )
    migrate(command.upgrade, "heads")
    with store.connect() as conn:
        flag = conn.execute(
            sa.text("SELECT must_change_password FROM users WHERE name = 'old.hand'")
        ).scalar_one()
        kept = conn.execute(sa.text("SELECT user_id FROM sessions WHERE id = 's-old'")).all()
    assert flag in (False, 0)
    assert kept == [(uid,)]
    migrate(command.downgrade, "0008")
    with store.connect() as conn:
        kept = conn.execute(sa.text("SELECT user_id FROM sessions WHERE id = 's-old'")).all()
        assert "must_change_password" not in {
            c["name"] for c in sa.inspect(conn).get_columns("users")
        }
    assert kept == [(uid,)]
    migrate(command.upgrade, "heads")


def test_after_the_new_password_the_login_goes_on_where_it_was_going(
    web_env: WebEnv, app: Any, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    initial = "wang-initial-2024"
    form = {"name": "wang.li", "role": "village", "village": web_env.code_of(VILLAGE_A)}
    res = office.post("/users", data={**form, "password": initial, "password2": initial})
    assert res.status_code == 303
    target = web_env.target_of(VILLAGE_A)
    # A link to a target, opened before logging in (a message from the office, say).
    http = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    login = http.get(f"/login?next=/targets/{target}")
    token = re.search(r'name="login_token" value="([^"]+)"', login.text)
    assert token is not None
    res = http.post(
        "/login",
        data={
            "login_token": token.group(1),
            "next": f"/targets/{target}",
            "name": "wang.li",
            "password": initial,
        },
    )
    assert res.headers["location"] == f"/account/password?next=/targets/{target}"
    cadre = Client(http, None, "wang.li")
    hidden = hidden_fields(cadre, res.headers["location"])  # the form carries where to go on
    assert hidden["next"] == f"/targets/{target}"
    new = {"current_password": initial, "new_password": "wang-own-pw-2024"}
    res = cadre.http.post(
        "/account/password", data={**hidden, **new, "new_password2": new["new_password"]}
    )
    assert (res.status_code, res.headers["location"]) == (303, f"/targets/{target}")
    assert cadre.get(f"/targets/{target}").status_code == 200
    assert not _flag(web_env.store, "wang.li")
