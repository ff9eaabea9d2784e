"""地图: the offline maps, served within the user's scope (a village user sees their village)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from geoverify.errors import GeoverifyError, NotFoundError
from geoverify.maps import tile_origins
from geoverify.problems import Problem, problem_from_error
from geoverify.store import Store
from geoverify.web.deps import PASSWORD_PAGE, SessionDep, StoreDep, UserDep
from geoverify.web.forms import MONTH_PATTERN, PageMonthQ, checked_month
from geoverify.web.templating import render
from geoverify.workflows.batches import list_batches
from geoverify.workflows.maps import build_store_map
from geoverify.workflows.patrols import latest_month
from geoverify.workflows.users import User

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["maps"])

BatchQ = Annotated[str | None, Query(max_length=64, description="批次编号")]
MonthQ = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="踏查月份 YYYY-MM")]
PageBatchQ = Annotated[str | None, Query(description="批次编号")]

#: The map is one self-contained HTML file with its own inline script and styles; it asks
#: for nothing but the basemap tiles the user picks in its layer switch: exactly the hosts of
#: :mod:`geoverify.maps`' tile templates (:func:`geoverify.maps.tile_origins`).
MAP_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    f"img-src data: blob: {' '.join(tile_origins())}; "
    "font-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _checked_batch(store: Store, batch: str | None) -> str | None:
    if not batch or not batch.strip():
        return None
    if batch.strip() not in {str(b) for b in list_batches(store)["id"]}:
        shown = batch if len(batch) <= 64 else batch[:64] + "…"
        raise NotFoundError(f"没有批次「{shown}」 (no such batch)")
    return batch.strip()


@router.get("/maps")
def maps_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    user: UserDep,
    batch: PageBatchQ = None,
    month: PageMonthQ = None,
) -> Response:
    batches = [str(b) for b in list_batches(store)["id"]]
    try:
        checked = checked_month(month)
        chosen = _checked_batch(store, batch)
    except GeoverifyError as e:
        # Said above the map, the month field as typed; no map of a month that is none.
        problem = problem_from_error(e)
        return render(
            request,
            "maps.html",
            session,
            status_code=problem.status,
            batches=batches,
            batch=batch,
            month=month,
            src=None,
            problem=problem,
        )
    # The month the map shows when none is chosen (the latest with patrols), named in the form.
    month = checked or latest_month(store)
    query = urlencode({k: v for k, v in (("batch", chosen), ("month", month)) if v})
    src = "/maps/map.html" + (f"?{query}" if query else "")
    return render(
        request, "maps.html", session, batches=batches, batch=chosen, month=month, src=src
    )


def _map(store: Store, user: User, batch: str | None, month: str | None) -> Response:
    built = build_store_map(store, batch=batch or None, village=user.scope, month=month or None)
    return HTMLResponse(built.html, headers={"Content-Security-Policy": MAP_CSP})


def _bare_page(request: Request, status: int, **context: object) -> Response:
    """The map's frame without the map (``map_error.html``): the message alone, under the
    map's policy (the page is styled inline)."""
    page = render(request, "map_error.html", None, status_code=status, **context)
    page.headers["Content-Security-Policy"] = MAP_CSP
    return page


def _bare_problem(request: Request, problem: Problem) -> Response:
    """A refusal as the map's frame shows it: the message alone."""
    status = problem.status if 400 <= problem.status < 600 else 500
    return _bare_page(request, status, problem=problem)


def login_in_frame(request: Request, problem: Problem, back: str) -> Response:
    """The login the map's frame needs (the login ended, or the user logged out in another
    tab), as the frame shows it: 登录已过期 and a link that opens the login in the whole window
    (``target=_top``), which comes back to ``back`` (the 地图 page, a path of this site).
    401 as the API says it; a browser shows the frame's page all the same."""
    leave = {
        "message": "登录已过期，请重新登录",
        "button": "重新登录",
        "after": "登录后回到地图页。",
        "href": f"/login?next={quote(back)}",
        "testid": "map-login",
        "link_testid": "map-relogin",
    }
    return _bare_page(request, problem.status, problem=problem, leave=leave)


def password_in_frame(request: Request, problem: Problem, back: str) -> Response:
    """The map's frame of a user who must first replace the password the office gave them:
    not the password page inside the frame, but a link that opens it in the whole window and
    then comes back to ``back`` (403, as the API says it)."""
    leave = {
        "message": "请先修改密码：这是镇平安办为您设置的初始密码",
        "button": "修改密码",
        "after": "改好后回到地图页。",
        "href": f"{PASSWORD_PAGE}?next={quote(back)}",
        "testid": "map-password",
        "link_testid": "map-change-password",
    }
    return _bare_page(request, problem.status, problem=problem, leave=leave)


@router.get("/maps/map.html")
def map_page(
    request: Request,
    store: StoreDep,
    user: UserDep,
    batch: PageBatchQ = None,
    month: PageMonthQ = None,
) -> Response:
    """The map in the 地图 page's frame (or a tab of its own): a refusal is a bare message."""
    try:
        return _map(store, user, batch, checked_month(month))
    except GeoverifyError as e:
        return _bare_problem(request, problem_from_error(e))


@api.get(
    "/maps/map.html",
    summary="The offline map (HTML): the town, or a village user's own village",
    response_class=HTMLResponse,
)
def map_html(
    store: StoreDep, user: UserDep, batch: BatchQ = None, month: MonthQ = None
) -> Response:
    return _map(store, user, batch, month)
