"""Failed logins pause the guesser's address, not the account: real requests through the app,
on SQLite and PostGIS.

Every client of the app here has its own address (``TestClient(client=...)``), as the desk PC,
a cadre's phone and a stranger would.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geoverify.errors import AuthError
from geoverify.store import Store, repo
from geoverify.store import users as store_users
from geoverify.web.app import create_app
from geoverify.web.settings import Settings
from geoverify.workflows.common import LOCAL_TZ
from geoverify.workflows.users import (
    FAILURE_WINDOW,
    MAX_CLIENT_FAILURES,
    MAX_NAME_FAILURES,
    MAX_NAME_FAILURES_ALL_CLIENTS,
    add_user,
    authenticate,
    client_key,
)
from tests.web.conftest import page_login

NAME = "office"
PW = "desk-pw-2024"
STRANGER = "203.0.113.7"
DESK = "192.168.1.20"
PHONE = "198.51.100.23"


@pytest.fixture
def env(workspace: tuple[Path, str | None]) -> Iterator[tuple[Store, Any]]:
    """A workspace with the user ``office``, and the web app on it."""
    ws, url = workspace
    store = Store(ws, url=url)
    add_user(store, NAME, role="office", password=PW, actor="pytest")
    app = create_app(Settings(workspace=ws, database_url=url), store=store)
    try:
        yield store, app
    finally:
        store.dispose()


def _http(app: Any, address: str) -> TestClient:
    return TestClient(app, follow_redirects=False, client=(address, 50000))


def _api_login(http: TestClient, password: str, name: str = NAME) -> Any:
    return http.post("/api/v1/session", json={"name": name, "password": password})


def _page_login(http: TestClient, password: str, name: str = NAME) -> Any:
    return page_login(http, name, password)


def _alert(html: str) -> str:
    found = re.search(r'<p class="alert" role="alert">(.*?)</p>', html, re.S)
    assert found is not None, html[:500]
    return found.group(1)


def _guess(http: TestClient, times: int) -> None:
    for _ in range(times):
        res = _api_login(http, "a-wrong-guess")
        assert res.status_code == 401
        assert "用户名或密码不正确" in res.json()["messages"]["zh"]


def test_a_strangers_failures_pause_only_the_strangers_address(env: tuple[Store, Any]) -> None:
    _, app = env
    stranger = _http(app, STRANGER)
    _guess(stranger, MAX_NAME_FAILURES)
    # The stranger's address is paused for the name, even with the right password…
    res = _api_login(stranger, PW)
    assert res.status_code == 401
    assert "登录失败次数过多" in res.json()["messages"]["zh"]
    assert _page_login(stranger, PW).status_code == 401
    # …but the office logs in from its desk, and from a phone, by the page and by the API.
    desk = _http(app, DESK)
    res = _page_login(desk, PW)
    assert res.status_code == 303, res.text[:300]
    assert desk.get("/api/v1/me").json()["user"]["name"] == NAME
    assert _api_login(_http(app, PHONE), PW).status_code == 200
    # …and the office's logins did not set the stranger free.
    assert _api_login(stranger, PW).status_code == 401


def test_a_login_forgets_only_the_failures_from_its_own_address(env: tuple[Store, Any]) -> None:
    _, app = env
    stranger = _http(app, STRANGER)
    _guess(stranger, MAX_NAME_FAILURES - 1)
    desk = _http(app, DESK)
    _guess(desk, 1)  # the office mistypes once…
    assert _api_login(desk, PW).status_code == 200  # …then logs in
    _guess(stranger, 1)
    res = _api_login(stranger, PW)
    assert res.status_code == 401
    assert "登录失败次数过多" in res.json()["messages"]["zh"]
    # The desk's own mistake was forgotten: four more are allowed before it is paused too.
    _guess(desk, MAX_NAME_FAILURES - 1)
    assert _api_login(desk, PW).status_code == 200


def _ceil_minute(at: dt.datetime) -> str:
    local = at.astimezone(LOCAL_TZ)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return local.strftime("%H:%M")


def test_the_pause_is_told_in_chinese_only(env: tuple[Store, Any]) -> None:
    _, app = env
    stranger = _http(app, STRANGER)
    for _ in range(MAX_NAME_FAILURES - 1):
        _page_login(stranger, "a-wrong-guess")
    before = dt.datetime.now(dt.UTC)
    _page_login(stranger, "a-wrong-guess")
    after = dt.datetime.now(dt.UTC)
    page = _page_login(stranger, PW)
    assert page.status_code == 401
    shown = _alert(page.text)
    found = re.fullmatch(r"登录失败次数过多，请 (\d+) 分钟后（(\d\d:\d\d) 以后）再试", shown)
    assert found is not None, shown
    minutes = int(FAILURE_WINDOW.total_seconds() // 60)
    assert int(found.group(1)) == minutes
    # When trying again works: the window after the last failure, in Beijing time, rounded up
    # to the minute.
    assert found.group(2) in {_ceil_minute(at + FAILURE_WINDOW) for at in (before, after)}
    res = _api_login(stranger, PW)
    doc = res.json()
    assert doc["messages"]["zh"] == shown
    assert f"try again in {minutes} min" in doc["messages"]["en"]
    assert not re.search(r"[\u4e00-\u9fff]", doc["messages"]["en"])


def test_the_last_failures_before_the_pause_are_warned_of_in_chinese(
    env: tuple[Store, Any],
) -> None:
    _, app = env
    stranger = _http(app, STRANGER)
    shown = [_alert(_page_login(stranger, "a-wrong-guess").text) for _ in range(MAX_NAME_FAILURES)]
    assert shown[0] == "用户名或密码不正确"
    assert shown[-2] == "用户名或密码不正确；再错 1 次将暂停在本设备登录该账号 15 分钟"
    # the failure that pauses the name says so at once, with when to try again
    paused = r"15 分钟内已错 5 次，本设备暂停登录该账号，请 15 分钟后（\d\d:\d\d 以后）再试"
    assert re.fullmatch(f"用户名或密码不正确；{paused}", shown[-1]), shown[-1]
    assert not any(re.search(r"[A-Za-z]", s) for s in shown)


def _spread_guesses(store: Store, n: int, *, first: int = 0, last: str | None = None) -> str:
    """``n`` wrong guesses at the name, each address making as many as it may: the last one
    through :func:`authenticate` (from ``last`` if given), the others recorded as it records
    them (Argon2 is slow). Returns what the last one was told."""
    addresses = [f"203.0.113.{i // MAX_NAME_FAILURES + 1}" for i in range(first, first + n)]
    with store.begin() as conn:
        for address in addresses[:-1]:
            store_users.record_failure(conn, name=NAME, client=address, at=repo.now())
    with pytest.raises(AuthError, match="用户名或密码不正确") as e:
        authenticate(store, NAME, "a-wrong-guess", client=last or addresses[-1])
    return str(e.value)


def test_guesses_from_many_addresses_pause_the_name_everywhere(store: Store) -> None:
    """The ceiling against guessing spread over many addresses (a pause per address alone
    would let each new address guess again)."""
    add_user(store, NAME, role="office", password=PW, actor="pytest")
    add_user(store, "village1", role="viewer", password="village-pw-2024", actor="pytest")
    assert MAX_NAME_FAILURES_ALL_CLIENTS >= 2 * MAX_NAME_FAILURES
    _spread_guesses(store, MAX_NAME_FAILURES_ALL_CLIENTS - 1)
    # One below the ceiling the office still logs in (its success forgets only its own
    # address's failures)…
    assert authenticate(store, NAME, PW, client=DESK).name == NAME
    # …at the ceiling the name is paused from every address, and the guess that reaches it
    # (from an address of its first) is told so.
    said = _spread_guesses(store, 1, first=MAX_NAME_FAILURES_ALL_CLIENTS - 1, last="198.51.100.7")
    assert re.fullmatch(
        r"用户名或密码不正确；该账号 15 分钟内在各设备共错 50 次，暂停登录该账号，"
        r"请 15 分钟后（\d\d:\d\d 以后）再试",
        said,
    ), said
    with pytest.raises(AuthError, match="登录失败次数过多"):
        authenticate(store, NAME, PW, client=DESK)
    # Another name is not touched by it.
    assert authenticate(store, "village1", "village-pw-2024", client=DESK).name == "village1"


def test_one_address_trying_many_names_is_paused(store: Store) -> None:
    add_user(store, NAME, role="office", password=PW, actor="pytest")
    with store.begin() as conn:  # recorded as authenticate records them (Argon2 is slow)
        for i in range(MAX_CLIENT_FAILURES - 1):
            store_users.record_failure(conn, name=f"user{i}", client=STRANGER, at=repo.now())
    with pytest.raises(AuthError, match="用户名或密码不正确") as e:
        authenticate(store, "one-more", "a-wrong-guess", client=STRANGER)
    # the failure that pauses the address says so at once
    assert re.fullmatch(
        r"用户名或密码不正确；本设备 15 分钟内登录已错 20 次，暂停在本设备登录任何账号，"
        r"请 15 分钟后（\d\d:\d\d 以后）再试",
        str(e.value),
    ), str(e.value)
    with pytest.raises(AuthError, match="登录失败次数过多"):
        authenticate(store, NAME, PW, client=STRANGER)
    assert authenticate(store, NAME, PW, client=DESK).name == NAME


def test_an_ipv6_host_counts_as_its_whole_64(store: Store) -> None:
    """One IPv6 host may take any address of its /64: changing it must not start afresh."""
    add_user(store, NAME, role="office", password=PW, actor="pytest")
    for i in range(MAX_NAME_FAILURES):
        with pytest.raises(AuthError, match="用户名或密码不正确"):
            authenticate(store, NAME, "a-wrong-guess", client=f"2001:db8:1:2::{i + 1:x}")
    with pytest.raises(AuthError, match="登录失败次数过多"):
        authenticate(store, NAME, PW, client="2001:db8:1:2:abcd::99")
    # Another /64 (another customer of the same provider) is not paused.
    assert authenticate(store, NAME, PW, client="2001:db8:1:3::1").name == NAME


@pytest.mark.parametrize(
    ("client", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
        ("unknown", "unknown"),
    ],
)
def test_client_key(client: str, key: str) -> None:
    assert client_key(client) == key
