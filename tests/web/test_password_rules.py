"""Easy passwords and look-alike user names are refused, with the reason, on the pages and the
API, on SQLite and PostGIS.

Each test makes its own users, so the module's shared users keep their passwords and sessions.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geoverify.errors import InputError
from geoverify.passwords import COMMON_PASSWORDS, MIN_LENGTH, check_password_rule
from geoverify.workflows.users import add_user, list_users
from tests.conftest import users_state
from tests.web.conftest import USERS, Client, WebEnv, form_errors, login

COMMON = "密码太常见，请换一个不容易猜到的密码，例如由几个词和数字组成"
RUN = "密码不能是连续的数字、字母或键盘上挨着的键"
SAME_CHAR = "密码不能全是同一个字符"
REPEATED = "密码不能是同一小段字符的重复"
DATE = "密码不能是日期"
HAS_NAME = "密码里含有用户名"

#: A weak password, the user name it is tried with, and the start of the reason given.
WEAK = [
    ("12345678", "zhao-li", RUN),
    ("87654321", "zhao-li", RUN),
    ("1234567890", "zhao-li", RUN),
    ("abcdefgh", "zhao-li", RUN),
    ("ABCDEFGH", "zhao-li", RUN),
    ("qwertyui", "zhao-li", RUN),
    ("asdfghjkl", "zhao-li", RUN),
    ("1qaz2wsx3edc", "zhao-li", RUN),
    ("11111111", "zhao-li", SAME_CHAR),
    ("88888888", "zhao-li", SAME_CHAR),
    ("aaaaaaaaaa", "zhao-li", SAME_CHAR),
    ("12121212", "zhao-li", REPEATED),
    ("abcabcabc", "zhao-li", REPEATED),
    ("woaiwoai", "zhao-li", REPEATED),
    ("19900101", "zhao-li", DATE),
    ("password", "zhao-li", COMMON),
    ("PassWord", "zhao-li", COMMON),
    ("Password123", "zhao-li", COMMON),
    ("p@ssw0rd", "zhao-li", COMMON),
    ("123456789", "zhao-li", RUN),
    ("qwerty123", "zhao-li", COMMON),
    ("admin123", "zhao-li", COMMON),
    ("WOAINI1314", "zhao-li", COMMON),
    ("woaini520", "zhao-li", COMMON),
    ("a123456789", "zhao-li", COMMON),
    ("5201314520", "zhao-li", COMMON),
    ("13145200", "zhao-li", COMMON),
    ("1qaz2wsx", "zhao-li", RUN),
    ("zaq12wsx", "zhao-li", COMMON),
    ("iloveyou", "zhao-li", COMMON),
    ("12345678!", "zhao-li", RUN),
    ("#password#", "zhao-li", COMMON),
    ("zhao-li-2024", "zhao-li", HAS_NAME),
    ("2024ZHAO-LI!", "zhao-li", HAS_NAME),
    ("office1-12345678", "office1", HAS_NAME),
    ("office1office1", "office1", HAS_NAME),
]

#: Passwords that must pass: the test suite's, and ones people are told to make.
GOOD = [
    *[(pw, name) for name, (_, _, pw) in USERS.items()],
    ("good-pw-2024", "zhao-li"),
    ("zhao-li-pw-for-2024", "zhao-li"),  # eight characters besides the name
    ("mountain-tea-42", "zhao-li"),
    ("青龙村巡查2024", "qinglong"),
    ("1314520a", "zhao-li"),
]


@pytest.mark.parametrize(("password", "name", "reason"), WEAK)
def test_easy_passwords_are_refused_with_the_reason(password: str, name: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        check_password_rule(password, name=name)
    text = str(caught.value)
    assert text.startswith(reason), text
    assert "请换一个不容易猜到的密码" in text  # and what to do


@pytest.mark.parametrize(("password", "name"), GOOD)
def test_good_passwords_pass(password: str, name: str) -> None:
    check_password_rule(password, name=name)


def test_the_demos_generated_passwords_pass() -> None:
    """scripts/demo makes its passwords with ``secrets.token_urlsafe(9)``."""
    for _ in range(5000):
        password = secrets.token_urlsafe(9)
        check_password_rule(password, name="office")
        check_password_rule(password, name="qinglong")


def test_the_common_list_is_built_in_and_sensible() -> None:
    assert 100 <= len(COMMON_PASSWORDS) <= 250
    assert all(len(p) >= MIN_LENGTH and p == p.casefold() for p in COMMON_PASSWORDS)
    for must in ("password", "12345678", "123456789", "qwerty123", "11111111", "88888888"):
        assert must in COMMON_PASSWORDS
    for must in ("admin123", "woaini1314", "a123456789", "5201314520"):
        assert must in COMMON_PASSWORDS


# -- through the app ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [("12345678", RUN), ("password", COMMON), ("88888888", SAME_CHAR), ("Qwerty123", COMMON)],
)
def test_the_office_cannot_give_a_new_user_an_easy_password(
    password: str, reason: str, web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    before = users_state(web_env.store)
    form = {"name": "new-cadre", "role": "viewer", "password": password, "password2": password}
    res = office.post("/users", data=form)
    assert res.status_code == 422
    shown = form_errors(res.text)
    assert reason in shown
    assert "password" not in shown.replace(password, "")  # the page shows no English
    assert f'value="{password}"' not in res.text
    api = office.post(
        "/api/v1/users", json={"name": "new-cadre", "role": "viewer", "password": password}
    )
    assert api.status_code == 422
    doc = api.json()
    assert doc["messages"]["zh"].startswith(reason)
    assert doc["messages"]["en"]
    assert users_state(web_env.store) == before


def test_reset_and_change_refuse_easy_passwords(
    web_env: WebEnv, app: Any, clients: dict[str | None, Client]
) -> None:
    add_user(web_env.store, "easy-one", role="viewer", password="easy-one-pw-2024", actor="t")
    office = clients["office1"]
    before = users_state(web_env.store)
    res = office.post(
        "/users/easy-one/password", data={"password": "woaini1314", "password2": "woaini1314"}
    )
    assert res.status_code == 422
    assert COMMON in form_errors(res.text)
    res = office.post("/api/v1/users/easy-one/password", json={"password": "87654321"})
    assert res.status_code == 422
    assert res.json()["messages"]["zh"].startswith(RUN)
    assert users_state(web_env.store) == before
    # 修改密码 by the user: the same rule.
    http = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    res = http.post("/api/v1/session", json={"name": "easy-one", "password": "easy-one-pw-2024"})
    assert res.status_code == 200
    me = Client(http, res.json()["csrf_token"], "easy-one")
    body = {"current_password": "easy-one-pw-2024", "new_password": "admin123"}
    res = me.post("/account/password", data={**body, "new_password2": "admin123"})
    assert res.status_code == 422
    assert COMMON in form_errors(res.text)
    res = me.post("/api/v1/me/password", json={**body, "new_password": "easy-one2024"})
    assert res.status_code == 422
    assert res.json()["messages"]["zh"].startswith(HAS_NAME)
    res = me.post("/api/v1/me/password", json={**body, "new_password": "tea-garden-road-7"})
    assert res.status_code == 204


# -- user names that differ only in case -------------------------------------------------------
@pytest.mark.parametrize("name", ["Office1", "OFFICE1", "oFFice1"])
def test_a_name_differing_only_in_case_is_refused(
    name: str, web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    before = users_state(web_env.store)
    password = "look-alike-2024"
    res = office.post(
        "/users", data={"name": name, "role": "viewer", "password": password, "password2": password}
    )
    assert res.status_code == 422
    assert "已有用户 office1（用户名不区分大小写）" in form_errors(res.text)
    api = office.post("/api/v1/users", json={"name": name, "role": "viewer", "password": password})
    assert api.status_code == 422
    assert api.json()["messages"]["zh"].startswith("已有用户 office1（用户名不区分大小写）")
    assert "ignoring case" in api.json()["messages"]["en"]
    assert users_state(web_env.store) == before
    assert [u.name for u in list_users(web_env.store).users].count("office1") == 1
    assert not any(u.name == name for u in list_users(web_env.store).users)


def test_case_is_compared_beyond_ascii_and_logins_are_unchanged(web_env: WebEnv, app: Any) -> None:
    # SQLite's lower() folds ASCII only: the comparison must not depend on the database.
    add_user(web_env.store, "Ärzte-Ωmega", role="viewer", password="doctor-pw-2024", actor="t")
    with pytest.raises(InputError, match="已有用户 Ärzte-Ωmega（用户名不区分大小写）"):
        add_user(web_env.store, "ärzte-ωMEGA", role="viewer", password="doctor-pw-2024")
    with pytest.raises(InputError, match="用户 Ärzte-Ωmega 已存在"):
        add_user(web_env.store, "Ärzte-Ωmega", role="viewer", password="doctor-pw-2024")
    # Logging in still takes the name as it was made.
    assert login(app, "office1").name == "office1"
    http = TestClient(app, follow_redirects=False)
    res = http.post("/api/v1/session", json={"name": "OFFICE1", "password": USERS["office1"][2]})
    assert res.status_code == 401
