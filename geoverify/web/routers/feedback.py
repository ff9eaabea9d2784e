"""核查反馈: a village's open targets by due date, the answer form (phone), workbook upload."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse, Response

from geoverify.errors import (
    HOW_TO_SUPERSEDE,
    HOW_TO_SUPERSEDE_API,
    HOW_TO_SUPERSEDE_WORKBOOK,
    ConflictError,
    InputError,
    RejectedInputError,
    how_to_correct,
)
from geoverify.model import FEEDBACK_FIELD_LABELS, RESULT_LABELS
from geoverify.web.deps import (
    ActorDep,
    ScopedVillage,
    SessionDep,
    SettingsDep,
    StoreDep,
    WriterUser,
)
from geoverify.web.forms import DATE, FILE, FILES, TEXT, Form, as_dict, multipart_body, read_form
from geoverify.web.templating import records, render
from geoverify.workflows.common import InputFile, today_local
from geoverify.workflows.feedback import (
    FeedbackResult,
    FeedbackValues,
    answer_problems,
    check_answerable,
    import_feedback,
    village_closed,
)
from geoverify.workflows.submissions import Position, submit_feedback
from geoverify.workflows.targets import list_targets, target_detail
from geoverify.workflows.users import User
from geoverify.workflows.villages import list_villages

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["feedback"])

TargetId = Annotated[str, PathParam(min_length=1, max_length=100, description="靶标编号")]
MU_M2 = 2000.0 / 3.0  # 1 亩 = 666.67 平方米

_FEEDBACK_FIELDS: dict[str, dict[str, Any]] = {
    "submission": {"type": "string", "format": "uuid", "description": "client-made id"},
    "version": {"type": "integer", "minimum": 1, "description": "the target's version read"},
    "result": {"type": "string", "enum": list(RESULT_LABELS)},
    "verified_on": DATE,
    "verified_by": TEXT,
    "plants": {"type": "integer", "minimum": 0},
    "area_m2": {"type": "number", "minimum": 0},
    "area_mu": {"type": "number", "minimum": 0},
    "eradicated_on": DATE,
    "case_no": TEXT,
    "remarks": TEXT,
    "supersede": {"type": "boolean"},
    "reason": TEXT,
    "lon": {"type": "number"},
    "lat": {"type": "number"},
    "accuracy": {"type": "number", "minimum": 0},
    "photos": FILES,
    "photos_camera": {**FILES, "description": "photos taken with the camera (拍照)"},
}
#: The answer form's photo fields: chosen from the gallery (several at once) and taken with
#: the camera (one a time: a capture input gives one photo); one limit covers both.
PHOTO_FIELDS = ("photos", "photos_camera")


def _values(form: Form) -> FeedbackValues:
    result = form.text("result", max_len=20)
    if result is not None and result not in RESULT_LABELS:
        form.bad("result", result, "请选择核查结果", "unknown result")
    area = form.number("area_m2", maximum=1e7)
    mu = form.number("area_mu", maximum=1e5)
    if area is None and mu is not None:
        area = round(mu * MU_M2, 2)
    elif area is not None and mu is not None and abs(area - mu * MU_M2) > max(1.0, 0.01 * area):
        form.bad(
            "area_mu",
            form.text("area_mu", max_len=40),
            f"与平方米数不一致（{mu:g} 亩约 {mu * MU_M2:.0f} 平方米），请只填一个",
            f"{mu:g} mu is not the {area:g} m2 also given; give one of them",
        )
    return FeedbackValues(
        result=result,
        verified_on=form.date("verified_on"),
        verified_by=form.text("verified_by", max_len=200),
        plants=form.integer("plants", maximum=10_000_000),
        area_m2=area,
        eradicated_on=form.date("eradicated_on"),
        case_no=form.text("case_no", max_len=100),
        remarks=form.text("remarks", max_len=2000),
    )


def _position(form: Form) -> Position | None:
    lon = form.number("lon", minimum=-180, maximum=180)
    lat = form.number("lat", minimum=-90, maximum=90)
    if lon is None or lat is None:
        return None
    return Position(lon, lat, form.number("accuracy", maximum=1e6), "browser")


async def _photos(form: Form, settings: Any) -> list[InputFile]:
    """The photos of both photo fields, at most ``settings.max_photos`` in all."""
    photos: list[InputFile] = []
    for name in PHOTO_FIELDS:
        photos += await form.files(
            name, max_count=settings.max_photos, max_bytes=settings.max_photo_bytes
        )
    if len(photos) > settings.max_photos:
        n = settings.max_photos
        msg = f"现场照片一次最多上传 {n} 张（拍照和相册选择合计） (at most {n} photos at a time)"
        raise InputError(msg)
    return photos


async def _submit(
    request: Request,
    target_id: str,
    store: Any,
    settings: Any,
    actor: Any,
    user: User,
    *,
    how: str,
) -> tuple[Any, Form]:
    """Record one answer; ``how`` says, in this door's words, how to correct a recorded one."""
    check_answerable(store, target_id, only_village=user.scope)
    form = await read_form(request, settings)
    key = form.text("submission", max_len=64)
    version = form.integer("version", minimum=1, maximum=2**31 - 1)
    values = _values(form)
    position = _position(form)
    photos = await _photos(form, settings)
    if not key:
        form.bad("submission", None, "缺少提交编号", "a submission id (UUID) is required")
    supersede, reason = form.flag("supersede"), form.text("reason", max_len=500)
    if form.problems:
        # The rules' reasons with the fields' own, in one round; a field that could not be
        # read is left to its own problem.
        unread = form.refused_labels()
        said = answer_problems(
            store,
            target_id,
            values,
            supersede=supersede,
            reason=reason,
            expected_version=version,
            only_village=user.scope,
        )
        for p in how_to_correct(said, how):
            if p.field not in unread:
                form.problems.append(p)
    form.raise_problems()
    assert key is not None
    try:
        sub = submit_feedback(
            store,
            target_id,
            key=key,
            user_id=user.id,
            values=values,
            photos=photos,
            position=position,
            expected_version=version,
            supersede=supersede,
            reason=reason,
            only_village=user.scope,
            actor=actor,
            max_photo_bytes=settings.max_photo_bytes,
        )
    except InputError as e:  # the rules' reasons (a replay never gets here), as a form's
        if not e.rows:
            raise
        form.problems.extend(how_to_correct(e.rows, how))
        form.raise_problems()
        raise
    return sub, form


@router.get("/feedback")
def feedback_home(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    user: WriterUser,
    village: ScopedVillage,
) -> Response:
    listed = list_targets(store, village=village)
    frame = listed.frame
    open_ = frame[frame["result"].isna() & frame["village_code"].notna()]
    if user.scope is not None:  # a village answers what the office has sent it
        open_ = open_[open_["status"] != "issued"]
    open_ = open_.sort_values(["due_on", "target_id"], na_position="last")
    today = today_local()
    return render(
        request,
        "feedback_list.html",
        session,
        targets=records(open_),
        answered=int(frame["result"].notna().sum()),
        today=today,
        villages=[] if user.scope else list_villages(store).to_json(),
        village=village,
    )


@router.get("/feedback/{target_id}")
def feedback_form(
    request: Request, target_id: TargetId, store: StoreDep, session: SessionDep, user: WriterUser
) -> Response:
    detail = target_detail(store, target_id, only_village=user.scope)
    closed = village_closed(str(detail.record["status"])) if user.scope else None
    if closed is not None:
        # Not the form: the village may not answer this target now (the office may).
        return _form_page(
            request, session, detail, values={}, problem=None, status_code=403, closed=closed[0]
        )
    return _form_page(request, session, detail, values={}, problem=None)


def _form_page(
    request: Request,
    session: Any,
    detail: Any,
    *,
    values: dict[str, Any],
    problem: Any,
    status_code: int = 200,
    conflict: bool = False,
    closed: str | None = None,
) -> Response:
    return render(
        request,
        "feedback_form.html",
        session,
        status_code=status_code,
        t=detail,
        rec=detail.record,
        quoted_id=quote(detail.target_id, safe=""),
        submission=values.get("submission") or str(uuid.uuid4()),
        v=values,
        problem=problem,
        today=today_local(),
        results=RESULT_LABELS,
        conflict=conflict,
        field_labels=FEEDBACK_FIELD_LABELS,
        closed=closed,
    )


@router.post("/feedback/{target_id}")
async def feedback_submit(
    request: Request,
    target_id: TargetId,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    actor: ActorDep,
    user: WriterUser,
) -> Response:
    try:
        sub, _ = await _submit(
            request, target_id, store, settings, actor, user, how=HOW_TO_SUPERSEDE
        )
    except (InputError, ConflictError) as e:
        # The form again with what was typed (photos must be chosen again: a browser never
        # refills a file field); after a conflict, with the answer recorded meanwhile.
        from geoverify.problems import problem_from_error

        detail = target_detail(store, target_id, only_village=user.scope)
        form = await read_form(request, settings)
        conflict = isinstance(e, ConflictError)
        return _form_page(
            request,
            session,
            detail,
            values=as_dict(form),
            problem=problem_from_error(e),
            status_code=409 if conflict else 422,
            conflict=conflict,
        )
    # "Saved" only when something was written: an answer that repeats what is recorded (and
    # no new photo) changes nothing, and the page says so.
    written = sub.document["status"] == "imported" or any(
        p.get("status") == "stored" for p in sub.document.get("photos") or []
    )
    saved = "1" if written else "0"
    return RedirectResponse(
        f"/targets/{quote(sub.document['target_id'], safe='')}?saved={saved}", status_code=303
    )


def _import_workbook(store: Any, upload: InputFile, actor: Any, user: User) -> FeedbackResult:
    """Import a workbook; a row that would change a recorded answer says what to do instead
    (a workbook brings new answers only: it has no 需要更正 box)."""
    try:
        return import_feedback(store, upload, actor=actor, only_village=user.scope)
    except RejectedInputError as e:
        problems = how_to_correct(e.problems, HOW_TO_SUPERSEDE_WORKBOOK)
        raise RejectedInputError(e.source, problems, summary=e.summary, details=e.details) from None


@router.post("/feedback-workbook")
async def workbook_upload(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    actor: ActorDep,
    user: WriterUser,
) -> Response:
    form = await read_form(request, settings)
    upload = await form.file("file", max_bytes=settings.max_request_bytes)
    res = _import_workbook(store, upload, actor, user)
    return render(request, "feedback_imported.html", session, res=res, doc=res.to_json())


@api.post(
    "/targets/{target_id}/feedback",
    summary="Record a field answer (idempotent by its submission UUID)",
    openapi_extra=multipart_body(_FEEDBACK_FIELDS, required=("submission",)),
)
async def api_feedback(
    request: Request,
    target_id: TargetId,
    store: StoreDep,
    settings: SettingsDep,
    actor: ActorDep,
    user: WriterUser,
) -> Response:
    sub, _ = await _submit(
        request, target_id, store, settings, actor, user, how=HOW_TO_SUPERSEDE_API
    )
    return JSONResponse(
        sub.document,
        status_code=sub.status_code,
        headers={"Idempotent-Replayed": "true" if sub.replayed else "false"},
    )


@api.post(
    "/feedback/workbooks",
    summary="Import a filled dispatch workbook, all or nothing",
    openapi_extra=multipart_body({"file": FILE}, required=("file",)),
)
async def api_workbook(
    request: Request, store: StoreDep, settings: SettingsDep, actor: ActorDep, user: WriterUser
) -> dict[str, Any]:
    form = await read_form(request, settings)
    upload = await form.file("file", max_bytes=settings.max_request_bytes)
    return _import_workbook(store, upload, actor, user).to_json()
