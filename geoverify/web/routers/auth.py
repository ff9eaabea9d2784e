"""Logging in and out: the login page, and ``/api/v1/session`` for scripts."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from geoverify.errors import AuthError
from geoverify.web.deps import (
    LOGIN_COOKIE,
    PASSWORD_PAGE,
    SESSION_COOKIE,
    AccountUser,
    SessionDep,
    SettingsDep,
    StoreDep,
    client_address,
    safe_next,
)
from geoverify.web.forms import read_form
from geoverify.web.settings import Settings
from geoverify.web.templating import render
from geoverify.workflows.users import SESSION_LIFETIME, authenticate, end_session, start_session

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["session"])


def _set_session_cookie(response: Response, token: str, request: Request, s: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=s.https or request.url.scheme == "https",
        path="/",
    )


def _login_page(
    request: Request, settings: Settings, *, status_code: int = 200, **context: object
) -> Response:
    """The login form with a fresh login token, also kept in a cookie (login CSRF)."""
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None, status_code=status_code, login_token=token, **context
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=settings.https or request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login")
def login_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    if session is not None:
        return RedirectResponse(
            safe_next(request, request.query_params.get("next")), status_code=303
        )
    # ``lost``: a form was sent after the login had ended (see the app's error handlers).
    lost = request.query_params.get("lost") == "1"
    return _login_page(request, settings, next=request.query_params.get("next"), lost=lost)


@router.post("/login")
async def login_submit(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    form = await read_form(request, settings)
    sent = form.text("login_token", max_len=100) or ""
    cookie = request.cookies.get(LOGIN_COOKIE) or ""
    next_path = safe_next(request, form.text("next", max_len=500))
    name = form.text("name", max_len=64) or ""
    if not cookie or not hmac.compare_digest(sent, cookie):
        # Nothing is done with it: the login form again, with a fresh token (a login page left
        # open past the token's hour, or opened in another tab meanwhile).
        return _login_page(
            request,
            settings,
            status_code=403,
            next=next_path,
            name=name,
            error="登录页面已过期，请再输入一次密码登录",
        )
    password_value = form.data.get("password")
    password = password_value if isinstance(password_value, str) else ""
    try:
        user = authenticate(store, name, password, client=client_address(request))
    except AuthError as e:
        return _login_page(
            request, settings, status_code=401, next=next_path, name=name, error=str(e)
        )
    token, _ = start_session(store, user, client=client_address(request))
    # A password the office chose is replaced first (every other page would lead there).
    if user.must_change_password:  # and then on to where the login was going
        after = f"{PASSWORD_PAGE}?next={quote(next_path)}" if next_path != "/" else PASSWORD_PAGE
    else:
        after = next_path
    done = RedirectResponse(after, status_code=303)
    _set_session_cookie(done, token, request, settings)
    done.delete_cookie(LOGIN_COOKIE, path="/login")
    return done


@router.post("/logout")
def logout(request: Request, store: StoreDep, user: AccountUser) -> Response:
    end_session(store, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class LoginBody(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="用户名")
    password: str = Field(min_length=1, max_length=512, description="密码")


class SessionOut(BaseModel):
    user: dict[str, Any]
    csrf_token: str = Field(description="Send as the X-CSRF-Token header with every change.")
    must_change_password: bool = Field(
        default=False,
        description=(
            "The password was set by the office: change it (POST /api/v1/me/password) before "
            "anything else; every other request answers 403 password_change_required until then."
        ),
    )


@api.post("/session", response_model=SessionOut, summary="Log in (sets the session cookie)")
def api_login(
    body: LoginBody, request: Request, store: StoreDep, settings: SettingsDep, response: Response
) -> SessionOut:
    user = authenticate(store, body.name, body.password, client=client_address(request))
    token, session = start_session(store, user, client=client_address(request))
    _set_session_cookie(response, token, request, settings)
    return SessionOut(
        user=user.to_json(),
        csrf_token=session.csrf,
        must_change_password=user.must_change_password,
    )


@api.delete("/session", status_code=204, summary="Log out")
def api_logout(request: Request, store: StoreDep, user: AccountUser) -> Response:
    end_session(store, request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@api.get("/me", response_model=SessionOut, summary="The logged-in user")
def api_me(session: SessionDep, user: AccountUser) -> SessionOut:
    assert session is not None
    return SessionOut(
        user=user.to_json(),
        csrf_token=session.csrf,
        must_change_password=user.must_change_password,
    )
