"""批次: upload a batch with a preview before anything is written, dispatch, download packs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from geoverify.errors import ForbiddenError, InputError, NotFoundError
from geoverify.store import batches as store_batches
from geoverify.store import repo
from geoverify.web import staging
from geoverify.web.deps import ActorDep, OfficeUser, SessionDep, SettingsDep, StoreDep, UserDep
from geoverify.web.forms import DATE, FILE, TEXT, Form, as_dict, multipart_body, read_form
from geoverify.web.templating import records, render
from geoverify.workflows.batches import (
    BatchImportResult,
    import_batch,
    list_batches,
    outside_town,
    rejected_row_count,
    rejected_rows,
)
from geoverify.workflows.dispatch import dispatch_batch, safe_file_name
from geoverify.workflows.reports import district_report, status_report
from geoverify.workflows.users import User

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["batches"])

BatchId = Annotated[str, PathParam(min_length=1, max_length=64, description="批次编号")]
VillageCode = Annotated[str, PathParam(min_length=1, max_length=32, description="村（社区）代码")]
DISPATCH_DIR = "dispatch"

_IMPORT_FIELDS: dict[str, dict[str, Any]] = {
    "file": FILE,
    "batch": {"type": "string", "minLength": 1, "maxLength": 64},
    "issued": DATE,
    "due": DATE,
    "crs": TEXT,
    "id_field": TEXT,
    "lon_field": TEXT,
    "lat_field": TEXT,
    "sheet": TEXT,
    "layer": TEXT,
    "accept_partial": {"type": "boolean"},
}


def _params(form: Form) -> dict[str, Any]:
    params = {
        "batch_id": form.text("batch", max_len=64),
        "issued_on": form.date("issued"),
        "due_on": form.date("due"),
        "crs": form.text("crs", max_len=64),
        "id_field": form.text("id_field", max_len=100),
        "lon_field": form.text("lon_field", max_len=100),
        "lat_field": form.text("lat_field", max_len=100),
        "sheet": form.text("sheet", max_len=100),
        "layer": form.text("layer", max_len=100),
    }
    if not params["batch_id"]:
        form.bad("batch", None, "请填写批次编号", "batch id is required")
    form.raise_problems()
    return params


def _run_import(store: Any, upload: Any, params: dict[str, Any], **kw: Any) -> BatchImportResult:
    return import_batch(store, upload, **params, **kw)


def dispatch_dir(workspace: Path, batch: str) -> Path:
    return workspace / DISPATCH_DIR / safe_file_name(batch)


# -- pages ---------------------------------------------------------------------------------------
@router.get("/batches")
def batches_page(request: Request, store: StoreDep, session: SessionDep, user: UserDep) -> Response:
    if user.is_village:
        raise ForbiddenError("村（社区）账号请在“核查反馈”中查看本村的靶标", en="office pages only")
    frame = list_batches(store)
    return render(request, "batches.html", session, batches=records(frame), v={})


@router.post("/batches/preview")
async def batch_preview(
    request: Request, store: StoreDep, settings: SettingsDep, session: SessionDep, user: OfficeUser
) -> Response:
    form = await read_form(request, settings)
    try:
        upload = await form.file("file", max_bytes=settings.max_request_bytes)
        params = _params(form)
        preview = _run_import(store, upload, params, preview=True)
    except InputError as e:
        # Back to the form, filled in as it was, with the reason (the file must be chosen
        # again: a browser never refills a file field).
        from geoverify.problems import problem_from_error

        return render(
            request,
            "batches.html",
            session,
            status_code=422,
            batches=records(list_batches(store)),
            problem=problem_from_error(e),
            v=as_dict(form),
        )
    token = None
    # Targets already known from an earlier batch are re-issued: a batch of nothing else is
    # still a batch to import (as on the command line).
    if preview.status == "preview" and (preview.imported or preview.reissued):
        token = staging.save(settings.workspace, upload, user_id=user.id, params=params)
    return render(
        request,
        "batch_preview.html",
        session,
        preview=preview,
        doc=preview.to_json(),
        token=token,
        params=params,
    )


@router.post("/batches/commit")
async def batch_commit(
    request: Request, store: StoreDep, settings: SettingsDep, actor: ActorDep, user: OfficeUser
) -> Response:
    form = await read_form(request, settings)
    token = form.text("token", max_len=100) or ""
    # A second 确认导入 (a double click, or back and confirm again): to the batch it became.
    done = staging.committed(settings.workspace, token, user_id=user.id)
    if done is not None:
        return RedirectResponse(f"/batches/{done}?already=1", status_code=303)
    staged = staging.load(settings.workspace, token, user_id=user.id)
    params = dict(staged.params)
    for key in ("issued_on", "due_on"):
        if isinstance(params.get(key), str):
            import datetime as dt

            params[key] = dt.date.fromisoformat(params[key])
    result = _run_import(
        store, staged.file, params, accept_partial=form.flag("accept_partial"), actor=actor
    )
    staging.mark_committed(settings.workspace, token, result.batch)
    # Imported meanwhile (the first of two confirms, still running when this one came).
    note = "already=1" if result.status == "already_imported" else "imported=1"
    return RedirectResponse(f"/batches/{result.batch}?{note}", status_code=303)


@router.get("/batches/{batch}")
def batch_page(
    request: Request,
    batch: BatchId,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    user: UserDep,
) -> Response:
    if user.is_village:
        raise ForbiddenError("村（社区）账号请在“核查反馈”中查看本村的靶标", en="office pages only")
    with store.connect() as conn:
        row = store_batches.get_batch(conn, batch)
    report = status_report(store, batch=batch)
    folder = dispatch_dir(settings.workspace, batch)
    left_out = rejected_rows(store, batch)
    return render(
        request,
        "batch.html",
        session,
        batch=row,
        report=report,
        rows=report.records,
        dispatched=folder.exists(),
        imported=request.query_params.get("imported"),
        already=request.query_params.get("already"),
        outside=outside_town(store, batch),
        just_dispatched=request.query_params.get("dispatched"),
        rejected=left_out,
        # by the rows themselves (an import before 2026-12 counted a row's every problem)
        rejected_count=rejected_row_count(left_out) if left_out else row["n_rejected"],
    )


@router.post("/batches/{batch}/dispatch")
def batch_dispatch(
    batch: BatchId, store: StoreDep, settings: SettingsDep, actor: ActorDep, user: OfficeUser
) -> Response:
    res = dispatch_batch(
        store, batch=batch, out=dispatch_dir(settings.workspace, batch), actor=actor
    )
    return RedirectResponse(f"/batches/{batch}?dispatched={res.dispatched}", status_code=303)


def _zip(files: list[tuple[str, Path]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, path in files:
            zf.write(path, arcname)
    return buf.getvalue()


def _download(data: bytes, name: str, media: str) -> Response:
    from urllib.parse import quote

    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def _pack_files(folder: Path, batch: str) -> list[tuple[str, Path]]:
    if not folder.exists():
        msg = f"批次 {batch} 尚未派发 (batch {batch} has not been dispatched yet)"
        raise NotFoundError(msg)
    return [(p.name, p) for p in sorted(folder.iterdir()) if p.is_file()]


def _village_files(
    store: Any, folder: Path, batch: str, code: str, user: User
) -> tuple[str, list[tuple[str, Path]]]:
    if user.scope is not None and user.scope != code:
        raise NotFoundError("没有这个村（社区）的派发文件 (no such village)")
    with store.connect() as conn:
        store_batches.get_batch(conn, batch)
        village = repo.get_village(conn, code)
    stem = safe_file_name(str(village["name"]))
    files = [
        (p.name, p)
        for p in (folder / f"{stem}.xlsx", folder / f"{stem}.html", folder / f"{stem}_地图.html")
        if p.exists()
    ]
    if not files:
        msg = f"批次 {batch} 尚未派发到 {village['name']} (not dispatched to this village yet)"
        raise NotFoundError(msg)
    return str(village["name"]), files


@router.get("/batches/{batch}/dispatch.zip")
@api.get("/batches/{batch}/dispatch.zip", summary="The dispatch pack of a batch (zip)")
def dispatch_pack(
    batch: BatchId, store: StoreDep, settings: SettingsDep, user: UserDep
) -> Response:
    if user.is_village:
        raise ForbiddenError("只能下载本村的派发文件 (only your village's files)", en="forbidden")
    with store.connect() as conn:
        store_batches.get_batch(conn, batch)
    files = _pack_files(dispatch_dir(settings.workspace, batch), batch)
    return _download(_zip(files), f"派发_{safe_file_name(batch)}.zip", "application/zip")


@router.get("/batches/{batch}/villages/{code}.zip")
@api.get("/batches/{batch}/villages/{code}.zip", summary="One village's dispatch files (zip)")
def village_pack(
    batch: BatchId, code: VillageCode, store: StoreDep, settings: SettingsDep, user: UserDep
) -> Response:
    name, files = _village_files(store, dispatch_dir(settings.workspace, batch), batch, code, user)
    return _download(
        _zip(files), f"派发_{safe_file_name(batch)}_{safe_file_name(name)}.zip", "application/zip"
    )


@router.post("/batches/{batch}/district-report")
@api.post("/batches/{batch}/district-report", summary="Write the report to the district (xlsx)")
def batch_district_report(
    batch: BatchId, store: StoreDep, settings: SettingsDep, actor: ActorDep, user: OfficeUser
) -> Response:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="geoverify-report-") as tmp:
        path = Path(tmp) / "report.xlsx"
        district_report(store, batch=batch, out=path, actor=actor)
        data = path.read_bytes()
    return _download(
        data,
        f"反馈区禁毒办_{safe_file_name(batch)}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# -- API -----------------------------------------------------------------------------------------
@api.get("/batches", summary="Every batch with its counts")
def api_batches(store: StoreDep, user: UserDep) -> list[dict[str, Any]]:
    if user.is_village:  # as the page: a batch's counts are the town's
        raise ForbiddenError("村（社区）账号请在“核查反馈”中查看本村的靶标", en="office pages only")
    frame = list_batches(store)
    out = []
    for rec in frame.to_dict("records"):
        out.append(
            {
                "id": rec["id"],
                "source_name": rec["source_name"],
                "issued_on": rec["issued_on"],
                "due_on": rec["due_on"],
                "imported_at": rec["imported_at"],
                "rows": int(rec["n_rows"]),
                "imported": int(rec["n_imported"]),
                "reissued": int(rec["n_reissued"]),
                "rejected": int(rec["n_rejected"]),
            }
        )
    return out


@api.post(
    "/batches/preview",
    summary="What importing a batch file would do (nothing is written)",
    openapi_extra=multipart_body(_IMPORT_FIELDS, required=("file", "batch")),
)
async def api_batch_preview(
    request: Request, store: StoreDep, settings: SettingsDep, user: OfficeUser
) -> dict[str, Any]:
    form = await read_form(request, settings)
    upload = await form.file("file", max_bytes=settings.max_request_bytes)
    return _run_import(store, upload, _params(form), preview=True).to_json()


@api.post(
    "/batches",
    summary="Import a batch file, all or nothing (accept_partial writes the good rows)",
    openapi_extra=multipart_body(_IMPORT_FIELDS, required=("file", "batch")),
)
async def api_batch_import(
    request: Request, store: StoreDep, settings: SettingsDep, actor: ActorDep, user: OfficeUser
) -> dict[str, Any]:
    form = await read_form(request, settings)
    upload = await form.file("file", max_bytes=settings.max_request_bytes)
    params = _params(form)
    return _run_import(
        store, upload, params, accept_partial=form.flag("accept_partial"), actor=actor
    ).to_json()


@api.post("/batches/{batch}/dispatch", summary="Dispatch a batch to its villages")
def api_dispatch(
    batch: BatchId, store: StoreDep, settings: SettingsDep, actor: ActorDep, user: OfficeUser
) -> dict[str, Any]:
    res = dispatch_batch(
        store, batch=batch, out=dispatch_dir(settings.workspace, batch), actor=actor
    )
    doc = res.to_json()
    # Paths on the server mean nothing to a client: name the files, offer the download.
    doc["out"] = None
    doc["summary"] = res.summary.name if res.summary else None
    for v in doc["villages"]:
        for key in ("xlsx", "html", "map_html"):
            v[key] = Path(v[key]).name if v[key] else None
        v["download"] = f"/api/v1/batches/{batch}/villages/{v['village_code']}.zip"
    doc["download"] = f"/api/v1/batches/{batch}/dispatch.zip"
    return doc
