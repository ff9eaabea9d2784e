"""靶标: the list with filters, one target's page (history, photos, small map, navigation)."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from geoverify.model import STATUS_LABELS, Status
from geoverify.web.deps import ScopedVillage, SessionDep, StoreDep, UserDep
from geoverify.web.templating import records, render
from geoverify.workflows.batches import list_batches
from geoverify.workflows.common import today_local
from geoverify.workflows.evidence import photo_file
from geoverify.workflows.feedback import village_closed
from geoverify.workflows.targets import list_targets, target_detail, target_history
from geoverify.workflows.villages import list_villages

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["targets"])

TargetId = Annotated[str, PathParam(min_length=1, max_length=100, description="靶标编号")]
PhotoId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="照片编号")]
BatchQ = Annotated[str | None, Query(max_length=64, description="批次编号")]
StatusQ = Annotated[Status | None, Query(description="状态")]
OverdueQ = Annotated[bool, Query(description="只看逾期未反馈的")]


def _list(store: Any, batch: str | None, village: str | None, status: Any, overdue: bool) -> Any:
    return list_targets(
        store,
        batch=batch or None,
        village=village,
        status=status.value if status is not None else None,
        overdue_on=today_local() if overdue else None,
    )


@router.get("/targets")
def targets_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    user: UserDep,
    village: ScopedVillage,
    batch: BatchQ = None,
    status: StatusQ = None,
    overdue: OverdueQ = False,
) -> Response:
    listed = _list(store, batch, village, status, overdue)
    villages = [] if user.scope else list_villages(store).to_json()
    return render(
        request,
        "targets.html",
        session,
        targets=records(listed.frame),
        batches=[str(b) for b in list_batches(store)["id"]],
        villages=villages,
        statuses=STATUS_LABELS,
        f={
            "batch": batch,
            "village": village,
            "status": status.value if status else None,
            "overdue": overdue,
        },
        today=today_local(),
    )


@router.get("/targets/{target_id}")
def target_page(
    request: Request, target_id: TargetId, store: StoreDep, session: SessionDep, user: UserDep
) -> Response:
    detail = target_detail(store, target_id, only_village=user.scope)
    minimap = json.dumps(
        {"target": detail.geometry, "village": detail.village_outline}, ensure_ascii=False
    ).replace("</", "<\\/")
    # A village answers a target from its dispatch until the office reports it; it is told
    # why there is no answer button otherwise.
    closed = village_closed(str(detail.record["status"])) if user.scope else None
    return render(
        request,
        "target.html",
        session,
        t=detail,
        rec=detail.record,
        minimap=minimap,
        quoted_id=quote(detail.target_id, safe=""),
        saved=request.query_params.get("saved"),
        closed=closed[0] if closed else None,
    )


@router.get("/targets/{target_id}/photos/{photo_id}")
@api.get(
    "/targets/{target_id}/photos/{photo_id}",
    summary="A photo of a target, without EXIF (or a thumbnail)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def target_photo(
    request: Request,
    target_id: TargetId,
    photo_id: PhotoId,
    store: StoreDep,
    user: UserDep,
    thumb: Annotated[bool, Query(description="a small JPEG")] = False,
) -> Response:
    photo = photo_file(store, target_id, photo_id, only_village=user.scope, thumbnail=thumb)
    # Kept by the browser but asked for again each time (a 304 when unchanged): once the user
    # has logged out, a shared phone shows no photo from its cache.
    headers = {
        "Cache-Control": "private, no-cache",
        "ETag": f'"{hashlib.sha256(photo.data).hexdigest()[:32]}"',
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(photo.data, media_type=photo.media_type, headers=headers)


@api.get("/targets", summary="Targets with filters, threshold cases first")
def api_targets(
    store: StoreDep,
    village: ScopedVillage,
    batch: BatchQ = None,
    status: StatusQ = None,
    overdue: OverdueQ = False,
) -> list[dict[str, Any]]:
    return _list(store, batch, village, status, overdue).to_json()


@api.get("/targets/{target_id}", summary="One target: district columns, feedback, photos, history")
def api_target(target_id: TargetId, store: StoreDep, user: UserDep) -> dict[str, Any]:
    return target_detail(store, target_id, only_village=user.scope).to_json()


@api.get("/targets/{target_id}/history", summary="Every change of a target: who, when, from where")
def api_history(target_id: TargetId, store: StoreDep, user: UserDep) -> dict[str, Any]:
    target_detail(store, target_id, only_village=user.scope)  # scope check
    return target_history(store, target_id).to_json()
