"""Every route × {anonymous, village A, village B, office, viewer}, on SQLite and PostGIS.

A route that is not in the matrix fails the test: a new route must say who may use it. A
village user asking for another village's target, photo or files gets 404 — the same answer
as for a target that does not exist — on pages and API alike; lists, progress and maps never
show another village's targets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from geoverify.web.deps import FRAMED_PAGES
from geoverify.web.routers import ROUTERS
from geoverify.workflows.common import InputFile
from geoverify.workflows.evidence import add_evidence
from geoverify.workflows.targets import target_detail
from geoverify.workflows.users import add_user
from tests.photos import jpeg_bytes
from tests.web.conftest import BATCH, VILLAGE_A, VILLAGE_B, Client, WebEnv, login

PUBLIC, ANY, WRITER, OFFICE, OFFICE_VIEWER = "public", "any", "writer", "office", "office_viewer"
ROLES = {"office1": "office", VILLAGE_A: "village", VILLAGE_B: "village", "district": "viewer"}
ALLOWED = {
    ANY: {"office", "village", "viewer"},
    WRITER: {"office", "village"},
    OFFICE: {"office"},
    OFFICE_VIEWER: {"office", "viewer"},
}


class Ids:
    """Concrete values for the path parameters: objects of village A."""

    def __init__(self, env: WebEnv, photo: int) -> None:
        self.target = env.target_of(VILLAGE_A)
        self.code = env.code_of(VILLAGE_A)
        self.photo = photo
        self.a_targets = env.targets[env.code_of(VILLAGE_A)]
        #: A user that the office may disable and enable here (no other test logs in as it).
        self.spare = SPARE


SPARE = "spare-viewer"
Path = Callable[[Ids], str]
# (method, route path) -> (who may use it, whether it addresses village A's object, the URL)
MATRIX: dict[tuple[str, str], tuple[str, bool, Path]] = {
    ("GET", "/assets/{name}"): (PUBLIC, False, lambda i: "/assets/leaflet.js"),
    ("GET", "/favicon.ico"): (PUBLIC, False, lambda i: "/favicon.ico"),
    ("GET", "/login"): (PUBLIC, False, lambda i: "/login"),
    ("POST", "/login"): (PUBLIC, False, lambda i: "/login"),
    ("POST", "/api/v1/session"): (PUBLIC, False, lambda i: "/api/v1/session"),
    ("POST", "/logout"): (ANY, False, lambda i: "/logout"),
    ("DELETE", "/api/v1/session"): (ANY, False, lambda i: "/api/v1/session"),
    ("GET", "/api/v1/me"): (ANY, False, lambda i: "/api/v1/me"),
    ("GET", "/"): (ANY, False, lambda i: "/"),
    ("GET", "/api/v1/status"): (ANY, False, lambda i: f"/api/v1/status?batch={BATCH}"),
    ("GET", "/batches"): (OFFICE_VIEWER, False, lambda i: "/batches"),
    ("POST", "/batches/preview"): (OFFICE, False, lambda i: "/batches/preview"),
    ("POST", "/batches/commit"): (OFFICE, False, lambda i: "/batches/commit"),
    ("GET", "/batches/{batch}"): (OFFICE_VIEWER, False, lambda i: f"/batches/{BATCH}"),
    ("POST", "/batches/{batch}/dispatch"): (OFFICE, False, lambda i: f"/batches/{BATCH}/dispatch"),
    ("GET", "/batches/{batch}/dispatch.zip"): (
        OFFICE_VIEWER,
        False,
        lambda i: f"/batches/{BATCH}/dispatch.zip",
    ),
    ("GET", "/api/v1/batches/{batch}/dispatch.zip"): (
        OFFICE_VIEWER,
        False,
        lambda i: f"/api/v1/batches/{BATCH}/dispatch.zip",
    ),
    ("GET", "/batches/{batch}/villages/{code}.zip"): (
        ANY,
        True,
        lambda i: f"/batches/{BATCH}/villages/{i.code}.zip",
    ),
    ("GET", "/api/v1/batches/{batch}/villages/{code}.zip"): (
        ANY,
        True,
        lambda i: f"/api/v1/batches/{BATCH}/villages/{i.code}.zip",
    ),
    ("POST", "/batches/{batch}/district-report"): (
        OFFICE,
        False,
        lambda i: f"/batches/{BATCH}/district-report",
    ),
    ("POST", "/api/v1/batches/{batch}/district-report"): (
        OFFICE,
        False,
        lambda i: f"/api/v1/batches/{BATCH}/district-report",
    ),
    ("GET", "/api/v1/batches"): (OFFICE_VIEWER, False, lambda i: "/api/v1/batches"),
    ("POST", "/api/v1/batches/preview"): (OFFICE, False, lambda i: "/api/v1/batches/preview"),
    ("POST", "/api/v1/batches"): (OFFICE, False, lambda i: "/api/v1/batches"),
    ("POST", "/api/v1/batches/{batch}/dispatch"): (
        OFFICE,
        False,
        lambda i: f"/api/v1/batches/{BATCH}/dispatch",
    ),
    ("GET", "/targets"): (ANY, False, lambda i: f"/targets?batch={BATCH}"),
    ("GET", "/api/v1/targets"): (ANY, False, lambda i: f"/api/v1/targets?batch={BATCH}"),
    ("GET", "/targets/{target_id}"): (ANY, True, lambda i: f"/targets/{i.target}"),
    ("GET", "/api/v1/targets/{target_id}"): (ANY, True, lambda i: f"/api/v1/targets/{i.target}"),
    ("GET", "/api/v1/targets/{target_id}/history"): (
        ANY,
        True,
        lambda i: f"/api/v1/targets/{i.target}/history",
    ),
    ("GET", "/targets/{target_id}/photos/{photo_id}"): (
        ANY,
        True,
        lambda i: f"/targets/{i.target}/photos/{i.photo}",
    ),
    ("GET", "/api/v1/targets/{target_id}/photos/{photo_id}"): (
        ANY,
        True,
        lambda i: f"/api/v1/targets/{i.target}/photos/{i.photo}?thumb=true",
    ),
    ("GET", "/feedback"): (WRITER, False, lambda i: "/feedback"),
    ("GET", "/feedback/{target_id}"): (WRITER, True, lambda i: f"/feedback/{i.target}"),
    ("POST", "/feedback/{target_id}"): (WRITER, True, lambda i: f"/feedback/{i.target}"),
    ("POST", "/api/v1/targets/{target_id}/feedback"): (
        WRITER,
        True,
        lambda i: f"/api/v1/targets/{i.target}/feedback",
    ),
    ("POST", "/feedback-workbook"): (WRITER, False, lambda i: "/feedback-workbook"),
    ("POST", "/api/v1/feedback/workbooks"): (WRITER, False, lambda i: "/api/v1/feedback/workbooks"),
    ("GET", "/patrols"): (ANY, False, lambda i: "/patrols?month=2024-03"),
    ("POST", "/patrols/upload"): (WRITER, False, lambda i: "/patrols/upload"),
    ("GET", "/patrols/rows"): (WRITER, False, lambda i: "/patrols/rows"),
    ("POST", "/patrols/rows"): (WRITER, False, lambda i: "/patrols/rows"),
    ("GET", "/patrols/monthly.zip"): (ANY, False, lambda i: "/patrols/monthly.zip?month=2024-03"),
    ("GET", "/api/v1/reports/monthly.zip"): (
        ANY,
        False,
        lambda i: "/api/v1/reports/monthly.zip?month=2024-03",
    ),
    ("GET", "/api/v1/patrols"): (ANY, False, lambda i: "/api/v1/patrols?month=2024-03"),
    ("POST", "/api/v1/patrols"): (WRITER, False, lambda i: "/api/v1/patrols"),
    ("POST", "/api/v1/patrols/rows"): (WRITER, False, lambda i: "/api/v1/patrols/rows"),
    ("GET", "/api/v1/coverage"): (ANY, False, lambda i: "/api/v1/coverage?month=2024-03"),
    ("GET", "/maps"): (ANY, False, lambda i: "/maps"),
    ("GET", "/maps/map.html"): (ANY, False, lambda i: f"/maps/map.html?batch={BATCH}"),
    ("GET", "/api/v1/maps/map.html"): (
        ANY,
        False,
        lambda i: f"/api/v1/maps/map.html?batch={BATCH}",
    ),
    ("GET", "/users"): (OFFICE, False, lambda i: "/users"),
    ("POST", "/users"): (OFFICE, False, lambda i: "/users"),
    ("POST", "/users/{name}/disable"): (OFFICE, False, lambda i: f"/users/{i.spare}/disable"),
    ("POST", "/users/{name}/enable"): (OFFICE, False, lambda i: f"/users/{i.spare}/enable"),
    ("POST", "/users/{name}/password"): (OFFICE, False, lambda i: f"/users/{i.spare}/password"),
    ("GET", "/account/password"): (ANY, False, lambda i: "/account/password"),
    ("POST", "/account/password"): (ANY, False, lambda i: "/account/password"),
    ("GET", "/api/v1/users"): (OFFICE, False, lambda i: "/api/v1/users"),
    ("POST", "/api/v1/users"): (OFFICE, False, lambda i: "/api/v1/users"),
    ("POST", "/api/v1/users/{name}/disable"): (
        OFFICE,
        False,
        lambda i: f"/api/v1/users/{i.spare}/disable",
    ),
    ("POST", "/api/v1/users/{name}/enable"): (
        OFFICE,
        False,
        lambda i: f"/api/v1/users/{i.spare}/enable",
    ),
    ("POST", "/api/v1/users/{name}/password"): (
        OFFICE,
        False,
        lambda i: f"/api/v1/users/{i.spare}/password",
    ),
    ("POST", "/api/v1/me/password"): (ANY, False, lambda i: "/api/v1/me/password"),
}
#: Routes whose answer lists targets: village B's answer must not name any of A's.
LISTS = {
    "/api/v1/status",
    "/targets",
    "/api/v1/targets",
    "/feedback",
    "/maps/map.html",
    "/api/v1/maps/map.html",
    "/",
}
#: Routes that end the session: each is called with a fresh login.
LOGOUTS = {("POST", "/logout"), ("DELETE", "/api/v1/session")}


def _routes() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        for method in route.methods  # type: ignore[attr-defined]
    )


def test_every_route_is_in_the_matrix() -> None:
    routes = set(_routes())
    assert routes - set(MATRIX) == set(), "routes without an authorization rule"
    assert set(MATRIX) - routes == set(), "rules for routes that no longer exist"


@pytest.fixture(scope="module")
def ids(web_env: WebEnv) -> Ids:
    target = web_env.target_of(VILLAGE_A)
    res = add_evidence(
        web_env.store,
        target,
        [InputFile("现场.jpg", jpeg_bytes(lon=106.05, lat=29.70, when="2024:03:10 10:00:00"))],
        actor="pytest",
    )
    assert res.photos[0]["status"] == "stored"
    detail = target_detail(web_env.store, target)
    add_user(web_env.store, SPARE, role="viewer", password="spare-pw-2024", actor="pytest")
    return Ids(web_env, int(detail.photos[0]["id"]))


def _call(client: Client, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    if method == "DELETE":
        return client.delete(url)
    return client.post(url)


@pytest.mark.parametrize("user", [None, "office1", VILLAGE_A, VILLAGE_B, "district"])
def test_authorization_matrix(
    user: str | None, app: Any, clients: dict[str | None, Client], ids: Ids
) -> None:
    failures = []
    for (method, route), (rule, scoped, url_of) in sorted(MATRIX.items()):
        url = url_of(ids)
        client = login(app, user) if (method, route) in LOGOUTS else clients[user]
        res = _call(client, method, url)
        api = url.startswith("/api/")
        got = res.status_code
        if rule == PUBLIC:
            ok = got < 500 and got != 401
            want = "no 401, no 5xx"
        elif user is None:
            login_redirect = got == 303 and res.headers.get("location", "").startswith("/login")
            framed = route in FRAMED_PAGES  # says 登录已过期 itself, its link leads to the login
            ok = got == 401 if api or framed else login_redirect
            want = "401" if api or framed else "303 to /login"
        elif ROLES[user] not in ALLOWED[rule]:
            ok, want = got == 403, "403"
        elif scoped and user == VILLAGE_B:
            ok, want = got == 404, "404"
        else:
            ok = got < 500 and got not in (401, 403, 404)
            want = "allowed (not 401/403/404/5xx)"
            if ok and user == VILLAGE_B and route in LISTS:
                leaked = [t for t in ids.a_targets if t in res.text]
                ok, want = not leaked, f"no target of village A in the answer ({leaked[:3]})"
        if not ok:
            failures.append(f"{user} {method} {url}: got {got}, want {want}")
        if api and got >= 400:
            assert res.headers["content-type"].startswith("application/problem+json"), url
    assert failures == []


def test_a_village_sees_its_own_targets_only(
    clients: dict[str | None, Client], ids: Ids, web_env: WebEnv
) -> None:
    mine = clients[VILLAGE_B].get(f"/api/v1/targets?batch={BATCH}").json()
    own_code = web_env.code_of(VILLAGE_B)
    assert mine and {t["village_code"] for t in mine} == {own_code}
    # Asking for village A's list by name or code is "not found", not an empty list.
    for v in (ids.code, "青龙村"):
        assert clients[VILLAGE_B].get(f"/api/v1/targets?village={v}").status_code == 404
    # The same target id is found by its own village and by the office.
    assert clients[VILLAGE_A].get(f"/api/v1/targets/{ids.target}").status_code == 200
    assert clients["office1"].get(f"/api/v1/targets/{ids.target}").status_code == 200
    # And for village B, A's target answers exactly like a target that does not exist.
    a = clients[VILLAGE_B].get(f"/api/v1/targets/{ids.target}").json()
    b = clients[VILLAGE_B].get("/api/v1/targets/NO-SUCH-TARGET").json()
    assert a["code"] == b["code"] == "not_found"
    assert a["title"] == b["title"]
