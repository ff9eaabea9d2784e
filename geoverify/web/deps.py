"""Typed dependencies of the routes: the store, the logged-in user, CSRF, who is acting."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Query, Request

from geoverify.errors import AuthError, ForbiddenError, NotFoundError
from geoverify.store import Store
from geoverify.web.settings import Settings
from geoverify.workflows.common import Actor
from geoverify.workflows.users import LoginSession, User, session_user

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "ActorDep",
    "LoginRequiredError",
    "OfficeUser",
    "SessionDep",
    "SettingsDep",
    "StoreDep",
    "UserDep",
    "WriterUser",
    "check_csrf",
    "client_address",
    "is_api",
]

SESSION_COOKIE = "gv_session"
LOGIN_COOKIE = "gv_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class LoginRequiredError(AuthError):
    """A page needs a logged-in user: the browser is sent to the login page."""


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> Store:
    return request.app.state.store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: what uvicorn was told)."""
    return request.client.host if request.client else "unknown"


def get_session(request: Request, store: StoreDep) -> LoginSession | None:
    if hasattr(request.state, "login"):
        cached: LoginSession | None = request.state.login
        return cached
    found = session_user(store, request.cookies.get(SESSION_COOKIE))
    request.state.login = found
    return found


SessionDep = Annotated[LoginSession | None, Depends(get_session)]


def _same_origin(request: Request) -> bool:
    """False when a browser says the request comes from another site's page."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # not a browser form: scripts send the token header instead
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


async def check_csrf(request: Request, session: SessionDep) -> None:
    """Every unsafe request of a logged-in user carries the session's form token.

    Pages send it as the ``csrf_token`` form field, API clients as the ``X-CSRF-Token``
    header; a request from another site's page (Origin/Referer of another host) is refused.
    """
    if request.method not in _UNSAFE or session is None:
        return
    if not _same_origin(request):
        msg = "请求来自其他网站，已拒绝 (cross-site request refused)"
        raise ForbiddenError(msg, en="cross-site request refused")
    sent = request.headers.get(CSRF_HEADER)
    is_form = request.headers.get("content-type", "").startswith(
        ("multipart/form-data", "application/x-www-form-urlencoded")
    )
    if sent is None and is_form and not is_api(request):
        from geoverify.web.forms import read_form

        form = await read_form(request, request.app.state.settings)
        sent = form.text(CSRF_FIELD, max_len=200)
    if not sent or not hmac.compare_digest(sent, session.csrf):
        msg = "表单已过期或来源无效，请刷新页面后重试 (missing or wrong CSRF token)"
        raise ForbiddenError(msg, en="missing or wrong CSRF token; reload the page")


def get_user(
    request: Request, session: SessionDep, _csrf: Annotated[None, Depends(check_csrf)]
) -> User:
    """The logged-in user (API: 401; pages: to the login page), after the CSRF check."""
    if session is None:
        if is_api(request):
            raise AuthError("请先登录", en="not logged in")
        raise LoginRequiredError("请先登录", en="not logged in")
    return session.user


UserDep = Annotated[User, Depends(get_user)]


def get_writer(user: UserDep) -> User:
    if not user.can_write:
        msg = "只读账号不能修改数据 (a read-only account cannot change anything)"
        raise ForbiddenError(msg, en="a read-only account cannot change anything")
    return user


def get_office(user: UserDep) -> User:
    if not user.is_office:
        msg = "只有镇平安办账号可以这样做 (only the office can do this)"
        raise ForbiddenError(msg, en="only the office can do this")
    return user


WriterUser = Annotated[User, Depends(get_writer)]
OfficeUser = Annotated[User, Depends(get_office)]


def get_actor(request: Request, user: UserDep) -> Actor:
    """Who acts, as the history records it: the user and the client's address."""
    return Actor(name=user.name, host=client_address(request))


ActorDep = Annotated[Actor, Depends(get_actor)]


VillageQuery = Annotated[
    str | None, Query(max_length=100, description="村（社区）名称或代码；`-` 为镇外")
]


def scoped_village(user: UserDep, village: VillageQuery = None) -> str | None:
    """The village a list is asked for, within the user's scope: a village user sees their own
    village only (asking for another is "not found"); a blank choice is every village."""
    village = village or None
    if user.scope is None:
        return village
    if village not in (None, user.scope, user.village):
        raise NotFoundError("没有这个村（社区）的靶标 (no such village)")
    return user.scope


ScopedVillage = Annotated[str | None, Depends(scoped_village)]
