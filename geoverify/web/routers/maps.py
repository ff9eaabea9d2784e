"""地图: the offline maps, served within the user's scope (a village user sees their village)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from geoverify.maps import tile_origins
from geoverify.web.deps import SessionDep, StoreDep, UserDep
from geoverify.web.templating import render
from geoverify.workflows.batches import list_batches
from geoverify.workflows.maps import build_store_map
from geoverify.workflows.patrols import latest_month

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["maps"])

BatchQ = Annotated[str | None, Query(max_length=64, description="批次编号")]
MonthQ = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="踏查月份 YYYY-MM")]

#: The map is one self-contained HTML file with its own inline script and styles; it asks
#: for nothing but the basemap tiles the user picks in its layer switch: exactly the hosts of
#: :mod:`geoverify.maps`' tile templates (:func:`geoverify.maps.tile_origins`).
MAP_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    f"img-src data: blob: {' '.join(tile_origins())}; "
    "font-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


@router.get("/maps")
def maps_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    user: UserDep,
    batch: BatchQ = None,
    month: MonthQ = None,
) -> Response:
    batches = [str(b) for b in list_batches(store)["id"]]
    # The month the map shows when none is chosen (the latest with patrols), named in the form.
    month = month or latest_month(store)
    query = urlencode({k: v for k, v in (("batch", batch), ("month", month)) if v})
    src = "/maps/map.html" + (f"?{query}" if query else "")
    return render(request, "maps.html", session, batches=batches, batch=batch, month=month, src=src)


@router.get("/maps/map.html")
@api.get(
    "/maps/map.html",
    summary="The offline map (HTML): the town, or a village user's own village",
    response_class=HTMLResponse,
)
def map_html(
    store: StoreDep, user: UserDep, batch: BatchQ = None, month: MonthQ = None
) -> Response:
    built = build_store_map(store, batch=batch or None, village=user.scope, month=month or None)
    return HTMLResponse(built.html, headers={"Content-Security-Policy": MAP_CSP})
