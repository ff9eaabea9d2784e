"""Typed dependencies of the routes: the store, the logged-in user, CSRF, who is acting."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Query, Request

from geoverify.errors import AuthError, ForbiddenError, NotFoundError
from geoverify.store import Store
from geoverify.web.settings import Settings
from geoverify.workflows.common import Actor
from geoverify.workflows.users import LoginSession, User, session_user

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "FRAMED_PAGES",
    "LOGIN_COOKIE",
    "PASSWORD_PAGE",
    "SESSION_COOKIE",
    "AccountActor",
    "AccountUser",
    "ActorDep",
    "LoginRequiredError",
    "OfficeUser",
    "PasswordChangeRequiredError",
    "SessionDep",
    "SettingsDep",
    "StaleFormError",
    "StoreDep",
    "UserDep",
    "WriterUser",
    "check_csrf",
    "client_address",
    "frame_return",
    "is_api",
    "safe_next",
    "site_path",
]

SESSION_COOKIE = "gv_session"
LOGIN_COOKIE = "gv_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: 修改密码: where a user whose password the office chose is sent until they set their own.
PASSWORD_PAGE = "/account/password"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class LoginRequiredError(AuthError):
    """A page needs a logged-in user: the browser is sent to the login page."""


class StaleFormError(ForbiddenError):
    """A change without this session's form token: from a page opened before the user's latest
    login (another tab, another login), or a script that did not send it. Nothing was done; a
    page says so (页面已过期) and leads back to the form, the API answers ``forbidden``."""


class PasswordChangeRequiredError(ForbiddenError):
    """The user's password was chosen by the office (:attr:`User.must_change_password`): until
    they set their own, pages lead to 修改密码 and the API answers 403."""


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


def site_path(request: Request, url: str | None) -> str | None:
    """The path (and query) of ``url`` when it is a page of this site (an absolute URL of this
    host, or a path), else None: never another host (``//evil``), a scheme, a backslash, a
    space or a control character (a browser drops the tab of "/<tab>/evil": "//evil")."""
    if not url or "\\" in url or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc.lower() != request.headers.get("host", "").lower():
        return None
    if parts.scheme not in ("", "http", "https") or not parts.path.startswith("/"):
        return None
    if parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def safe_next(request: Request, value: str | None) -> str:
    """Where to go after a login or a password change: a page of this site (see
    :func:`site_path`), else the home page."""
    return site_path(request, value) or "/"


#: Pages that another page shows in its frame: the frame's address -> the page around it.
#: A login such a frame needs is not the login page inside the frame (the app's header and
#: menu squeezed into it, and the app in it after the login): the frame says so, and its link
#: opens the login in the whole window, which then comes back to the page around the frame.
FRAMED_PAGES: dict[str, str] = {"/maps/map.html": "/maps"}


def frame_return(request: Request) -> str | None:
    """For a page shown in a frame (:data:`FRAMED_PAGES`): where its login comes back to, the
    page around the frame with the frame's query (``/maps?month=2024-03`` for the frame
    ``/maps/map.html?month=2024-03``), a path of this site. None for any other request."""
    around = FRAMED_PAGES.get(request.url.path)
    if around is None:
        return None
    query = urlencode(request.query_params.multi_items())
    return site_path(request, around + (f"?{query}" if query else "")) or around


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
        raise StaleFormError(msg, en="missing or wrong CSRF token; reload the page")


def get_account_user(
    request: Request, session: SessionDep, _csrf: Annotated[None, Depends(check_csrf)]
) -> User:
    """The logged-in user (API: 401; pages: to the login page), after the CSRF check — even one
    who must still change the password the office gave them. Only the account's own pages
    (修改密码, logging out, who am I) take this; everything else takes :data:`UserDep`."""
    if session is None:
        if is_api(request):
            raise AuthError("请先登录", en="not logged in")
        raise LoginRequiredError("请先登录", en="not logged in")
    return session.user


AccountUser = Annotated[User, Depends(get_account_user)]


def _own_password(user: User) -> User:
    """The user, unless their password is still the one the office chose."""
    if user.must_change_password:
        raise PasswordChangeRequiredError(
            "请先修改密码：这是镇平安办为您设置的初始密码，设置自己的新密码后才能继续使用",
            en="change the password the office gave you first (POST /api/v1/me/password)",
        )
    return user


def get_user(user: AccountUser) -> User:
    """The logged-in user, who has set their own password (else: to 修改密码, API: 403)."""
    return _own_password(user)


UserDep = Annotated[User, Depends(get_user)]


# The role is checked before the password: a page the user may not see at all says so
# (没有权限) whatever their password; one they may see waits for their own password.
def get_writer(user: AccountUser) -> User:
    if not user.can_write:
        msg = "只读账号不能修改数据 (a read-only account cannot change anything)"
        raise ForbiddenError(msg, en="a read-only account cannot change anything")
    return _own_password(user)


def get_office(user: AccountUser) -> User:
    if not user.is_office:
        msg = "只有镇平安办账号可以这样做 (only the office can do this)"
        raise ForbiddenError(msg, en="only the office can do this")
    return _own_password(user)


WriterUser = Annotated[User, Depends(get_writer)]
OfficeUser = Annotated[User, Depends(get_office)]


def _actor(request: Request, user: User) -> Actor:
    return Actor(name=user.name, host=client_address(request))


def get_actor(request: Request, user: UserDep) -> Actor:
    """Who acts, as the history records it: the user and the client's address."""
    return _actor(request, user)


def get_account_actor(request: Request, user: AccountUser) -> Actor:
    """Who acts on their own account (修改密码), even before setting their own password."""
    return _actor(request, user)


ActorDep = Annotated[Actor, Depends(get_actor)]
AccountActor = Annotated[Actor, Depends(get_account_actor)]


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
