"""踏查: upload tracks or the plan's table, enter table rows, coverage, the monthly table."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from geoverify.errors import InputError, NotFoundError, RejectedInputError
from geoverify.problems import Problem, problem_from_error
from geoverify.store import Store, repo
from geoverify.web.deps import ActorDep, SessionDep, SettingsDep, StoreDep, UserDep, WriterUser
from geoverify.web.forms import (
    DATE,
    FILE,
    FILES,
    MONTH_PATTERN,
    TEXT,
    Form,
    PageMonthQ,
    as_dict,
    checked_month,
    multipart_body,
    read_form,
)
from geoverify.web.routers.batches import _download
from geoverify.web.templating import records, render
from geoverify.workflows.common import InputFile, today_local
from geoverify.workflows.coverage import (
    coverage_for_period,
    village_coverage,
    write_monthly_report,
    write_village_monthly,
)
from geoverify.workflows.patrols import import_patrols, latest_month, list_patrols, month_range
from geoverify.workflows.users import LoginSession, User
from geoverify.workflows.villages import list_villages

router = APIRouter(tags=["pages"], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["patrols"])

MonthQ = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="月份 YYYY-MM")]
#: The plan's table (《禁种铲毒踏查工作情况统计表》), in its column order.
PLAN_COLUMNS = ("村、社区", "组", "踏查时间", "踏查人员", "踏查情况", "备注")
MAX_ROWS = 60


def _month(value: str | None, store: Any = None) -> str:
    """The month asked for; else the latest month with patrols; else this month."""
    month = checked_month(value)
    if month is not None:
        return month
    latest = latest_month(store) if store is not None else None
    if latest is not None:
        return latest
    today = today_local()
    return f"{today.year:04d}-{today.month:02d}"


def _village_name(store: Any, user: User, value: str | None) -> tuple[str | None, str | None]:
    """(code, name) of the village a record is for: a village user's own, or the one chosen."""
    if user.scope is not None and value not in (None, "", user.scope, user.village):
        raise NotFoundError("没有这个村（社区） (no such village)")
    code = user.scope or value
    if not code:
        return None, None
    with store.connect() as conn:
        v = repo.get_village(conn, code)
    return str(v["code"]), str(v["name"])


def _table_upload(village: str, rows: list[dict[str, Any]]) -> InputFile:
    """The rows typed into the page as the plan's table (CSV), imported like a village's file."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(PLAN_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                village,
                r.get("group") or "",
                r["date"],
                r.get("people") or "",
                r.get("findings") or "",
                r.get("remarks") or "",
            ]
        )
    stamp = today_local().isoformat()
    return InputFile(f"网页录入_{village}_{stamp}.csv", buf.getvalue().encode("utf-8-sig"))


def _coverage(store: Any, month: str, scope: str | None) -> dict[str, Any] | None:
    start, end = month_range(month)
    try:
        doc = coverage_for_period(store, start=start, end=end).as_dict()
    except InputError:
        return None
    if scope is not None:
        doc = village_coverage(doc, scope)
    return doc


@router.get("/patrols")
def patrols_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    user: UserDep,
    month: PageMonthQ = None,
) -> Response:
    return _patrols_page(request, store, session, user, _month(month, store))


def _patrols_page(
    request: Request,
    store: Store,
    session: LoginSession | None,
    user: User,
    month: str,
    *,
    values: dict[str, Any] | None = None,
    problem: Problem | None = None,
) -> Response:
    """The patrols page; after a refused upload, its form with what was chosen and the reasons
    (the file must be chosen again: a browser never refills a file field)."""
    start, end = month_range(month)
    frame = list_patrols(store, start=start, end=end, village=user.scope)
    return render(
        request,
        "patrols.html",
        session,
        status_code=422 if problem is not None else 200,
        month=month,
        patrols=records(frame),
        coverage=_coverage(store, month, user.scope),
        villages=[] if user.scope else list_villages(store).to_json(),
        saved=request.query_params.get("saved"),
        v=values or {},
        problem=problem,
        today=today_local(),
    )


async def _upload(
    request: Request, store: Any, settings: Any, actor: Any, user: User, form: Form | None = None
) -> Any:
    form = form or await read_form(request, settings)
    upload = await form.file("file", max_bytes=settings.max_request_bytes)
    tracks = await form.files("tracks", max_count=20, max_bytes=settings.max_request_bytes)
    is_track = upload.suffix in (".gpx", ".kml", ".kmz")
    code, _ = _village_name(store, user, form.text("village", max_len=100))
    date = form.date("date")
    people = form.text("people", max_len=200)
    group = form.text("group", max_len=100)
    findings = form.text("findings", max_len=500)
    form.raise_problems()
    return import_patrols(
        store,
        upload,
        tracks=tracks,
        village=code if is_track else None,
        date=date if is_track else None,
        people=people if is_track else None,
        group=group if is_track else None,
        findings=findings if is_track else None,
        actor=actor,
        only_village=user.scope,
    )


@router.post("/patrols/upload")
async def patrols_upload(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    actor: ActorDep,
    user: WriterUser,
) -> Response:
    form = await read_form(request, settings)
    try:
        res = await _upload(request, store, settings, actor, user, form)
    except (InputError, NotFoundError) as e:  # the page again, the form as sent, the reasons
        values = as_dict(form)
        try:
            month = _month(values.get("month"), store)
        except InputError:
            month = _month(None, store)
        return _patrols_page(
            request, store, session, user, month, values=values, problem=problem_from_error(e)
        )
    return render(request, "patrols_imported.html", session, res=res, doc=res.to_json())


#: Rows the form offers.
FORM_ROWS = 8


@router.get("/patrols/rows")
def rows_form(request: Request, store: StoreDep, session: SessionDep, user: WriterUser) -> Response:
    return _rows_page(request, store, session, user)


def _rows_page(
    request: Request,
    store: Store,
    session: LoginSession | None,
    user: User,
    *,
    values: dict[str, Any] | None = None,
    problem: Problem | None = None,
) -> Response:
    """The rows form; after a refused submission, with what was typed and the reasons."""
    villages = [] if user.scope else list_villages(store).to_json()
    v = values or {}
    typed = [i for i in range(MAX_ROWS) if any(v.get(f"{k}_{i}") for k in _ROW_FIELDS)]
    return render(
        request,
        "patrol_rows.html",
        session,
        status_code=422 if problem is not None else 200,
        villages=villages,
        today=today_local(),
        n=max(FORM_ROWS, typed[-1] + 1 if typed else 0),
        v=v,
        problem=problem,
    )


_ROW_FIELDS = ("date", "group", "people", "findings", "remarks")


def _form_rows(form: Form) -> list[dict[str, Any]]:
    rows = []
    for i in range(MAX_ROWS):
        date = form.text(f"date_{i}", max_len=20)
        fields = {
            "group": form.text(f"group_{i}", max_len=100),
            "people": form.text(f"people_{i}", max_len=200),
            "findings": form.text(f"findings_{i}", max_len=500),
            "remarks": form.text(f"remarks_{i}", max_len=500),
        }
        if date is None and not any(fields.values()):
            continue
        rows.append({"date": date or "", **fields, "_form_row": i + 1})
    return rows


def _said_by_form_rows(error: RejectedInputError, rows: list[dict[str, Any]]) -> InputError:
    """The refusal of the table made from the form (its header is row 1, typed rows follow,
    blank ones left out), said by the form's own row numbers (第 N 行)."""
    problems = []
    for p in error.problems:
        k = p.row - 2
        if 0 <= k < len(rows):
            n = rows[k]["_form_row"]
            p = dataclasses.replace(p, row=n, reason=f"第 {n} 行：{p.reason}")
        problems.append(p)
    reasons = "；".join(p.reason for p in problems) or error.summary or str(error)
    return InputError(
        f"踏查记录有误，未写入任何数据：{reasons}",
        en="patrol rows refused; nothing was written",
        rows=problems,
    )


@router.post("/patrols/rows")
async def rows_submit(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    session: SessionDep,
    actor: ActorDep,
    user: WriterUser,
) -> Response:
    form = await read_form(request, settings)
    try:
        _, name = _village_name(store, user, form.text("village", max_len=100))
        rows = _form_rows(form)
        if name is None:
            form.bad("village", None, "请选择村（社区）", "choose a village")
        if not rows:
            form.bad("date_0", None, "至少填写一行", "enter at least one row")
        form.raise_problems()
        assert name is not None
        table = _table_upload(name, rows)
        try:
            res = import_patrols(store, table, actor=actor, only_village=user.scope)
        except RejectedInputError as e:
            raise _said_by_form_rows(e, rows) from e
    except (InputError, NotFoundError) as e:  # the form again, as typed, with the reasons
        problem = problem_from_error(e)
        return _rows_page(request, store, session, user, values=as_dict(form), problem=problem)
    return render(request, "patrols_imported.html", session, res=res, doc=res.to_json())


def _monthly_zip(store: Any, month: str, user: User) -> tuple[bytes, str]:
    """The month's tables as a zip: every village's and the town summary for the office,
    the user's own village's alone for a village user (only those are built)."""
    with tempfile.TemporaryDirectory(prefix="geoverify-monthly-") as tmp:
        first, _ = month_range(month)
        if user.scope is not None:
            files = write_village_monthly(store, month=month, out_dir=Path(tmp), village=user.scope)
        else:
            res = write_monthly_report(store, month=month, out_dir=Path(tmp))
            files = [*res.village_files, res.summary_file]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f.name)
        return buf.getvalue(), f"{first.year}年{first.month}月_踏查情况统计表.zip"


@router.get("/patrols/monthly.zip")
@api.get("/reports/monthly.zip", summary="The month's patrol tables (XLSX and DOCX) and summary")
def monthly_download(store: StoreDep, user: UserDep, month: MonthQ = None) -> Response:
    data, name = _monthly_zip(store, _month(month, store), user)
    return _download(data, name, "application/zip")


@api.get("/patrols", summary="Patrol records of a month")
def api_patrols(store: StoreDep, user: UserDep, month: MonthQ = None) -> list[dict[str, Any]]:
    start, end = month_range(_month(month, store))
    frame = list_patrols(store, start=start, end=end, village=user.scope)
    out = []
    for rec in frame.to_dict("records"):
        out.append(
            {str(k): (v.isoformat() if isinstance(v, dt.date) else v) for k, v in rec.items()}
        )
    return out


@api.post(
    "/patrols",
    summary="Import a track file (GPX/KML/KMZ) or the plan's table (CSV/XLSX)",
    openapi_extra=multipart_body(
        {
            "file": FILE,
            "tracks": FILES,
            "village": TEXT,
            "date": DATE,
            "people": TEXT,
            "group": TEXT,
            "findings": TEXT,
        },
        required=("file",),
    ),
)
async def api_patrol_upload(
    request: Request, store: StoreDep, settings: SettingsDep, actor: ActorDep, user: WriterUser
) -> dict[str, Any]:
    res = await _upload(request, store, settings, actor, user)
    return res.to_json()


class PatrolRow(BaseModel):
    date: dt.date = Field(description="踏查时间")
    group: str | None = Field(default=None, max_length=100, description="组")
    people: str | None = Field(default=None, max_length=200, description="踏查人员")
    findings: str | None = Field(default=None, max_length=500, description="踏查情况")
    remarks: str | None = Field(default=None, max_length=500, description="备注")


class PatrolRows(BaseModel):
    village: str | None = Field(default=None, max_length=100, description="村（社区）名称或代码")
    rows: list[PatrolRow] = Field(min_length=1, max_length=MAX_ROWS)


@api.post("/patrols/rows", summary="Record rows of the plan's patrol table")
def api_patrol_rows(
    body: PatrolRows, store: StoreDep, actor: ActorDep, user: WriterUser
) -> dict[str, Any]:
    _, name = _village_name(store, user, body.village)
    if name is None:
        raise InputError("请指定村（社区） (a village is needed)")
    rows = [r.model_dump() for r in body.rows]
    for r in rows:
        r["date"] = r["date"].isoformat()
    res = import_patrols(store, _table_upload(name, rows), actor=actor, only_village=user.scope)
    return res.to_json()


@api.get("/coverage", summary="Tracked coverage of every village in a month")
def api_coverage(store: StoreDep, user: UserDep, month: MonthQ = None) -> dict[str, Any]:
    doc = _coverage(store, _month(month, store), user.scope)
    if doc is None:
        raise InputError("还没有村（社区）边界 (no village boundaries yet)")
    return doc
