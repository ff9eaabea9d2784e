"""The web app on a real workspace (SQLite and PostGIS): users of every role, a dispatched batch."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

from geoverify.store import Store, repo
from geoverify.web.app import create_app
from geoverify.web.settings import Settings
from geoverify.workflows import import_batch, init_workspace, list_targets, sample_path
from geoverify.workflows.dispatch import dispatch_batch
from geoverify.workflows.users import add_user
from tests.browser import launched_chromium
from tests.conftest import postgis_schema_url

MARCH = sample_path("samples", "district_batch_2024-03.geojson")
BATCH = "2024-03"
#: The users every web test has: name -> (role, village, password).
USERS: dict[str, tuple[str, str | None, str]] = {
    "office1": ("office", None, "office-pw-2024"),
    "qinglong": ("village", "青龙村", "qinglong-pw-2024"),
    "shiqiao": ("village", "石桥村", "shiqiao-pw-2024"),
    "district": ("viewer", None, "district-pw-2024"),
}
VILLAGE_A, VILLAGE_B = "qinglong", "shiqiao"


@dataclass
class WebEnv:
    """A workspace with the March batch dispatched, four users, and the app on it."""

    ws: Path
    url: str | None
    store: Store
    settings: Settings
    codes: dict[str, str] = field(default_factory=dict)  # village name -> code
    targets: dict[str, list[str]] = field(default_factory=dict)  # village code -> target ids

    def app(self, **settings: Any) -> Any:
        s = Settings(workspace=self.ws, database_url=self.url, **settings)
        return create_app(s, store=self.store)

    def code_of(self, user: str) -> str:
        village = USERS[user][1]
        assert village is not None
        return self.codes[village]

    def target_of(self, user: str) -> str:
        return self.targets[self.code_of(user)][0]


def postgis_url() -> Iterator[str]:
    """A fresh schema on the test PostGIS database, dropped afterwards."""
    yield from postgis_schema_url()


def build_env(ws: Path, url: str | None, *, with_batch: bool = True) -> WebEnv:
    """An initialised workspace with the users; with the March batch imported and dispatched."""
    init_workspace(ws, url=url, actor="pytest")
    store = Store(ws, url=url)
    if not with_batch:
        env = WebEnv(ws, url, store, Settings(workspace=ws, database_url=url))
        for name, (role, village, password) in USERS.items():
            add_user(store, name, role=role, password=password, village=village, actor="pytest")
        return env
    import_batch(
        store,
        MARCH,
        batch_id=BATCH,
        issued_on=dt.date(2024, 3, 5),
        due_on=dt.date(2024, 3, 20),
        actor="pytest",
    )
    dispatch_batch(store, batch=BATCH, out=ws / "dispatch" / BATCH, actor="pytest")
    env = WebEnv(ws, url, store, Settings(workspace=ws, database_url=url))
    frame = list_targets(store, batch=BATCH).frame
    for code, name in zip(frame["village_code"], frame["village"], strict=True):
        if isinstance(code, str):
            env.codes[str(name)] = code
    for code, tid in zip(frame["village_code"], frame["target_id"], strict=True):
        if isinstance(code, str):
            env.targets.setdefault(code, []).append(str(tid))
    for name, (role, village, password) in USERS.items():
        add_user(store, name, role=role, password=password, village=village, actor="pytest")
    return env


APRIL = sample_path("samples", "district_batch_2024-04.csv")
APRIL_BATCH = "2024-04"


def env_with_april(request: pytest.FixtureRequest, folder: Path) -> Iterator[WebEnv]:
    """For a module's fixture on the request's backend: :func:`build_env` (March dispatched)
    with April imported too, not dispatched (it issues two March targets again)."""
    gen = postgis_url() if request.param == "postgis" else None
    env = build_env(folder / "ws", next(gen) if gen else None)
    import_batch(
        env.store,
        APRIL,
        batch_id=APRIL_BATCH,
        issued_on=dt.date(2024, 4, 2),
        due_on=dt.date(2024, 4, 20),
        actor="pytest",
    )
    try:
        yield env
    finally:
        env.store.dispose()
        if gen is not None:
            gen.close()


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def web_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebEnv]:
    """One workspace per test module and backend (the app's tests share it)."""
    ws = tmp_path_factory.mktemp("web") / "ws"
    if request.param == "sqlite":
        env = build_env(ws, None)
        try:
            yield env
        finally:
            env.store.dispose()
        return
    gen = postgis_url()
    url = next(gen)
    env = build_env(ws, url)
    try:
        yield env
    finally:
        env.store.dispose()
        gen.close()


@pytest.fixture(params=["sqlite", "postgis"])
def fresh_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WebEnv]:
    """A workspace of its own for one test, with the users only (no batch: it comes in
    through the page under test)."""
    if request.param == "sqlite":
        env = build_env(tmp_path / "ws", None, with_batch=False)
        yield env
        env.store.dispose()
        return
    gen = postgis_url()
    env = build_env(tmp_path / "ws", next(gen), with_batch=False)
    try:
        yield env
    finally:
        env.store.dispose()
        gen.close()


@dataclass
class Client:
    """A logged-in browser or script: a TestClient with its cookies and CSRF token."""

    http: TestClient
    csrf: str | None
    name: str | None

    def get(self, url: str, **kw: Any) -> Any:
        return self.http.get(url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}) or {})
        if self.csrf and url.startswith("/api/"):
            headers.setdefault("X-CSRF-Token", self.csrf)
        if self.csrf and not url.startswith("/api/"):
            data = dict(kw.pop("data", {}) or {})
            data.setdefault("csrf_token", self.csrf)
            kw["data"] = data
        return self.http.post(url, headers=headers, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}) or {})
        if self.csrf:
            headers.setdefault("X-CSRF-Token", self.csrf)
        return self.http.delete(url, headers=headers, **kw)


def login(app: Any, name: str | None) -> Client:
    """A client logged in as ``name`` (through the API), or anonymous for None."""
    http = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    if name is None:
        return Client(http, None, None)
    res = http.post("/api/v1/session", json={"name": name, "password": USERS[name][2]})
    assert res.status_code == 200, res.text
    return Client(http, res.json()["csrf_token"], name)


def hidden_fields(client: Client, url: str) -> dict[str, str]:
    """The hidden fields (CSRF token, submission id, version) of the form page at ``url``."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))


def page_login(http: TestClient, name: str, password: str) -> Any:
    """Log in through the login page's form (its login token, as a browser sends it)."""
    page = http.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    return http.post(
        "/login", data={"login_token": token.group(1), "name": name, "password": password}
    )


def form_errors(html: str) -> str:
    """The text of a page's form-errors box (what a refused form says)."""
    found = re.search(r'data-testid="form-errors">(.*?)</div>', html, re.S)
    assert found is not None, html[:500]
    return found.group(1)


def browser_login(page: Any, base: str, name: str) -> None:
    """Log ``name`` in through the login page, in a real browser."""
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", USERS[name][2])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/(\?.*)?$"))


def gpx_track(points: list[tuple[float, float]], day: dt.date) -> bytes:
    """A GPX of one track through ``points`` (lon, lat), a fix a minute on ``day``."""
    start = dt.datetime.combine(day, dt.time(1, 0))
    fixes = "".join(
        f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}">'
        f"<time>{(start + dt.timedelta(minutes=i)).isoformat()}Z</time></trkpt>"
        for i, (lon, lat) in enumerate(points)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>巡查</name><trkseg>{fixes}</trkseg></trk></gpx>"
    ).encode()


def walk_inside(web_env: WebEnv, user: str, steps: int = 12) -> list[tuple[float, float]]:
    """A short walk (about 100 m) well inside the user's village."""
    with web_env.store.connect() as conn:
        villages = repo.load_villages(conn)
    area = villages.loc[villages["code"] == web_env.code_of(user)].geometry.iloc[0]
    centre = shapely.Point(area.representative_point())
    return [(centre.x + 0.0001 * i, centre.y) for i in range(steps)]


@pytest.fixture(scope="module")
def app(web_env: WebEnv) -> Any:
    return web_env.app()


@pytest.fixture(scope="module")
def clients(app: Any) -> dict[str | None, Client]:
    """One client per user, plus an anonymous one (key None)."""
    return {name: login(app, name) for name in [None, *USERS]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, one per test module."""
    yield from launched_chromium()
