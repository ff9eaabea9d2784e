"""The web service's app factory: routers, limits, security headers, one error mapping."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from geoverify import __version__
from geoverify.errors import GeoverifyError, RowProblem, TooLargeError
from geoverify.problems import PROBLEM_MEDIA_TYPE, Problem, problem_from_error
from geoverify.store import Store
from geoverify.web.deps import (
    PASSWORD_PAGE,
    LoginRequiredError,
    PasswordChangeRequiredError,
    StaleFormError,
    frame_return,
    get_session,
    is_api,
    site_path,
)
from geoverify.web.forms import FIELD_LABELS, size_text
from geoverify.web.routers.maps import login_in_frame, password_in_frame
from geoverify.web.settings import Settings
from geoverify.web.templating import render

__all__ = ["SETTINGS_ENV", "app_from_env", "create_app"]

#: Where ``geoverify serve --workers N`` hands the settings to its worker processes.
SETTINGS_ENV = "GEOVERIFY_SERVE_SETTINGS"

log = logging.getLogger("geoverify.web")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Content-Security-Policy of the pages: nothing from elsewhere, no inline script.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)


class BlankQuery:
    """Drops empty query parameters (``?status=&batch=2024-03``) from page requests: an HTML
    form sends its "all" choices as empty values, which mean no filter, not an invalid one.
    The API (``/api/…``) is left strict."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query: bytes = scope.get("query_string") or b""
        if (
            scope["type"] == "http"
            and scope.get("method") in ("GET", "HEAD")
            and query
            and not scope.get("path", "").startswith("/api/")
        ):
            kept = [p for p in query.split(b"&") if p and not p.endswith(b"=")]
            scope = {**scope, "query_string": b"&".join(kept)}
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses a request body larger than the limit (413), before or while it arrives.

    Refused on its ``Content-Length``, the request is answered here, before the app runs and
    before its body is read, with the app's one error answer (:func:`problem_response`): the
    API's problem document, or the Chinese error page for a browser's form (the server reads
    and drops the rest of the body, so the browser gets the page). A body that grows past the
    limit as it arrives raises :class:`TooLargeError` inside the app, which answers the same.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, path: str) -> TooLargeError:
        return too_large_error(path, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path") or "")
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            problem = problem_from_error(self._too_large(path))
            await _answer_problem(scope, receive, send, problem)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large(path)
            return message

        await self.app(scope, limited, send)


#: What a body over the limit was, by the address it was sent to, and what to do about it:
#: (addresses, Chinese, English), the first whose address the path is or is under wins.
#: ``{limit}`` is the limit the service applies. Only an answer with photos is told to make
#: them smaller; a batch is one file (its id names one file), so it is not told to split it.
_TOO_LARGE_ADVICE: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("/feedback", "/api/v1/targets"),
        "上传内容过大（上限 {limit}）：请分几次上传，或压缩照片后再试",
        "request body larger than {limit}; upload the photos in parts or compress them",
    ),
    (
        ("/feedback-workbook", "/api/v1/feedback/workbooks"),
        "反馈表文件过大（上限 {limit}）：请删去表里插入的图片，另存后再上传"
        "（现场照片请在各靶标的核查反馈页上传）",
        "workbook larger than {limit}; remove the pictures pasted into it and save it again",
    ),
    (
        ("/batches", "/api/v1/batches"),
        "靶标文件过大（上限 {limit}）：请确认选对了文件；压缩包里只放靶标图层"
        "（.shp、.shx、.dbf、.prj），表格里插入的图片请删去后另存再上传",
        "batch file larger than {limit}; check the file, keep only the target layer in a zip, "
        "remove pictures from a table",
    ),
    (
        ("/patrols/rows", "/api/v1/patrols/rows"),
        "填写的踏查记录过多（上限 {limit}）：请分几次提交",
        "patrol rows larger than {limit}; send them in parts",
    ),
    (
        ("/patrols", "/api/v1/patrols"),
        "轨迹或踏查表文件过大（上限 {limit}）：请按日期或按村把文件拆成几份，分几次上传",
        "track or patrol table larger than {limit}; split it by date or village and upload "
        "the parts one by one",
    ),
)
_TOO_LARGE_OTHER = (
    "提交的内容过大（上限 {limit}）：请把文件拆成几份，分几次上传",
    "request body larger than {limit}; send it in parts",
)


def _is_under(path: str, address: str) -> bool:
    """Whether ``path`` is ``address`` or below it (``/feedback/T1``, not ``/feedback-x``)."""
    return path == address or path.startswith(address.rstrip("/") + "/")


def too_large_error(path: str, max_bytes: int) -> TooLargeError:
    """The refusal of a body over ``max_bytes`` sent to ``path``: the limit (the one applied),
    and what to do about it in the words of what that address takes (:data:`_TOO_LARGE_ADVICE`)."""
    zh, en = next(
        (
            (zh, en)
            for addresses, zh, en in _TOO_LARGE_ADVICE
            if any(_is_under(path, a) for a in addresses)
        ),
        _TOO_LARGE_OTHER,
    )
    limit = size_text(max_bytes)
    return TooLargeError(zh.format(limit=limit), en=en.format(limit=limit))


async def _answer_problem(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    """Answer a request with :func:`problem_response` from a middleware, before the app ran."""
    await problem_response(Request(scope, receive), problem)(scope, receive, send)


def problem_response(request: Request, problem: Problem) -> Response:
    """The one error answer: a problem document for the API, a Chinese page for a browser."""
    if is_api(request):
        return JSONResponse(
            problem.to_json(instance=request.url.path),
            status_code=problem.status,
            media_type=PROBLEM_MEDIA_TYPE,
        )
    try:
        session = get_session(request, request.app.state.store)
    except GeoverifyError:
        session = None
    return render(request, "error.html", session, status_code=problem.status, problem=problem)


def _validation_problem(exc: RequestValidationError) -> Problem:
    rows = []
    for i, err in enumerate(exc.errors(), start=1):
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        field = ".".join(loc) or None
        label = FIELD_LABELS.get(field or "", field or "")
        hint = "：应为 YYYY-MM，例如 2024-03" if field == "month" else "：取值无效"
        rows.append(
            RowProblem(
                row=i,
                target_id=None,
                reason=f"{label}{hint}" if label else "请求的参数无效",
                reason_en=str(err.get("msg", "invalid value")),
                field=field,
                code=str(err.get("type", "invalid")),
            )
        )
    return Problem(
        "invalid_request",
        422,
        "Invalid request",
        "请求参数无效",
        "invalid request parameters",
        rows=rows,
    )


def _http_problem(exc: StarletteHTTPException) -> Problem:
    zh = {404: "没有这个页面", 405: "不支持这种请求方式", 401: "请先登录", 403: "没有权限"}
    en = {404: "not found", 405: "method not allowed", 401: "not logged in", 403: "forbidden"}
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return Problem(
        code,
        exc.status_code,
        en.get(exc.status_code, "error").capitalize(),
        zh.get(exc.status_code, "请求无法完成"),
        en.get(exc.status_code, str(exc.detail)),
    )


_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


#: Query parameters that announce what a request just did (已保存, 已导入, 已派发 …): a page
#: opened again for a refused form must not say it again.
_NOTICES = frozenset({"saved", "imported", "already", "dispatched", "added", "reset", "lost"})


def _is_page(app: Any, path: str) -> bool:
    """Whether the browser can open ``path``: a page's GET route, not the API's, nor an address
    forms post to that also fits a page's pattern (``/batches/preview``, ``/batches/{batch}``)."""
    if path.startswith("/api/"):
        return False
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    routes = app.router.routes
    if not any(route.matches(scope)[0] == Match.FULL for route in routes):
        return False
    # A route of exactly this address decides: a page if it takes GET, else a form's address.
    exact = [methods for p, methods in _route_methods(routes) if p == path]
    return not exact or any("GET" in methods for methods in exact)


def _route_methods(routes: Any) -> list[tuple[str | None, set[str]]]:
    """Each route's path and methods, through included routers (FastAPI ≥ 0.137 keeps them as
    nodes of a tree: ``iter_route_contexts`` flattens it; before, the list was flat)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [(getattr(r, "path", None), set(getattr(r, "methods", None) or ())) for r in routes]
    return [(c.path, set(c.methods or ())) for c in iter_route_contexts(routes)]


def _without_notices(path: str) -> str:
    parts = urlsplit(path)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _NOTICES]
    return parts.path + (f"?{urlencode(kept)}" if kept else "")


def form_page(request: Request) -> str:
    """The page a refused form was sent from, to open it again: the Referer when it is a page
    of this site (without its one-time notices such as ``?saved=1``), else the form's own
    address or the nearest page above it (``/patrols`` for ``/patrols/upload``), else the home
    page."""
    referer = site_path(request, request.headers.get("referer"))
    if referer is not None and _is_page(request.app, urlsplit(referer).path):
        return _without_notices(referer)
    path = request.url.path.rstrip("/")
    while path:
        if _is_page(request.app, path):
            return path
        path = path.rsplit("/", 1)[0]
    return "/"


def _stale_form_page(request: Request, exc: StaleFormError) -> Response:
    """页面已过期: a form of an earlier login was sent; nothing was saved. 403 as before, but said
    as what happened, with the way back to the form (not 没有权限: the user may do this)."""
    try:
        session = get_session(request, request.app.state.store)
    except GeoverifyError:
        session = None
    return render(
        request,
        "error.html",
        session,
        status_code=403,
        problem=problem_from_error(exc),
        stale=True,
        back=form_page(request),
    )


def _password_change_problem(exc: PasswordChangeRequiredError) -> Problem:
    base = problem_from_error(exc)
    return Problem(
        "password_change_required",
        403,
        "Password change required",
        base.message_zh,
        base.message_en,
        kind=base.kind,
        text=base.text,
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def on_login_required(request: Request, exc: Exception) -> Response:
        if request.url.path == "/logout":
            return RedirectResponse("/login", status_code=303)  # logged out already
        if request.method in _UNSAFE:
            # A form sent after the session ended: back to the form's page after the login
            # (its address may take no GET), saying that what was sent was not saved.
            return RedirectResponse(
                f"/login?next={quote(form_page(request))}&lost=1", status_code=303
            )
        back = frame_return(request)
        if back is not None:
            # A page in another page's frame: not the login page inside the frame, but a word
            # that leads the whole window to the login and back to the page around the frame.
            return login_in_frame(request, problem_from_error(exc), back)
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    async def on_stale_form(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StaleFormError)
        if is_api(request):
            return problem_response(request, problem_from_error(exc))
        return _stale_form_page(request, exc)

    async def on_password_change(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PasswordChangeRequiredError)
        if is_api(request):
            return problem_response(request, _password_change_problem(exc))
        back = frame_return(request)
        if back is not None:  # a frame: the password page opens in the whole window
            return password_in_frame(request, _password_change_problem(exc), back)
        return RedirectResponse(PASSWORD_PAGE, status_code=303)

    async def on_geoverify(request: Request, exc: Exception) -> Response:
        return problem_response(request, problem_from_error(exc))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, _validation_problem(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(request, _http_problem(exc))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(request, problem_from_error(exc))

    app.add_exception_handler(LoginRequiredError, on_login_required)
    app.add_exception_handler(StaleFormError, on_stale_form)
    app.add_exception_handler(PasswordChangeRequiredError, on_password_change)
    app.add_exception_handler(GeoverifyError, on_geoverify)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "SAMEORIGIN")
        h.setdefault("Content-Security-Policy", PAGE_CSP)
        if request.app.state.settings.https:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not h.get("Cache-Control") and not request.url.path.startswith("/static/"):
            h["Cache-Control"] = "no-store"
        return response


async def _close_form(request: Request) -> AsyncIterator[None]:
    """Uploaded files of a parsed form are closed when the request is done, even on an error."""
    try:
        yield
    finally:
        form = getattr(request, "_form", None)
        if form is not None:
            await form.close()


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """The geoverify web service on the workspace (or database) of ``settings``."""
    from geoverify.web.routers import ROUTERS

    own_store = store is None
    the_store = store or Store(settings.workspace, url=settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_store.require()
        yield
        if own_store:
            the_store.dispose()

    app = FastAPI(
        dependencies=[Depends(_close_form)],
        title="geoverify",
        version=__version__,
        summary="疑似靶标核查、踏查覆盖与报表 — satellite suspect-target verification",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = the_store
    _install_error_handlers(app)
    # The body limit sits inside the security headers (its answers get them too), and reads
    # the body for the app directly: an error it raises reaches the app's error handlers as
    # itself, not wrapped in the exception group of the headers middleware's task group.
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    _security_headers(app)
    for router in ROUTERS:
        app.include_router(router)
    static = files("geoverify.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(BlankQuery)
    return app


def app_from_env() -> FastAPI:
    """The app of one worker process of ``geoverify serve --workers N`` (a uvicorn factory)."""
    import os

    return create_app(Settings.from_env(os.environ[SETTINGS_ENV]))
