"""首页: progress per village (已派发, 已核查, 核查率, 吻合率, 逾期), threshold cases first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from geoverify.web.deps import SessionDep, StoreDep, UserDep
from geoverify.web.templating import records, render
from geoverify.workflows.batches import list_batches
from geoverify.workflows.reports import status_report
from geoverify.workflows.targets import list_targets

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["status"])

BatchQuery = Annotated[str | None, Query(max_length=64, description="批次编号")]
AsOfQuery = Annotated[dt.date | None, Query(description="逾期以此日期计算 (default: today)")]


@router.get("/")
def dashboard(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    user: UserDep,
    batch: BatchQuery = None,
    as_of: AsOfQuery = None,
) -> Response:
    # Every batch unless one is chosen: what is overdue or over the threshold shows whichever
    # batch it came in.
    listed = list_batches(store)
    ids = [str(b) for b in listed["id"]]
    report = status_report(store, batch=batch, today=as_of, village=user.scope)
    cases = list_targets(store, batch=batch, village=user.scope).frame
    cases = cases[cases["threshold"].notna()]
    return render(
        request,
        "dashboard.html",
        session,
        report=report,
        rows=report.records,
        batches=ids,
        batch=batch,
        cases=records(cases),
    )


@api.get("/status", summary="Progress per village and for the town")
def api_status(
    store: StoreDep, user: UserDep, batch: BatchQuery = None, as_of: AsOfQuery = None
) -> dict[str, Any]:
    return status_report(store, batch=batch, today=as_of, village=user.scope).to_json()
