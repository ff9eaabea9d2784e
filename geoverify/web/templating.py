"""Jinja2 templates of the pages (Simplified Chinese), with the labels the documents use."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from geoverify.lifecycle import THRESHOLD_LABELS
from geoverify.model import (
    ASSIGNMENT_LABELS,
    EVENT_LABELS,
    RESULT_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
)
from geoverify.navigation import NAV_APPS
from geoverify.progress import OUTSIDE_LABEL, TOWN_LABEL
from geoverify.web.forms import FIELD_LABELS
from geoverify.workflows.common import LOCAL_TZ
from geoverify.workflows.users import LoginSession

__all__ = ["records", "render"]


def records(frame: Any) -> list[dict[str, Any]]:
    """The rows of a frame as dicts for a template, with every missing value as None
    (pandas gives NaN / NaT, which a template would print as "nan")."""
    out = []
    for row in frame.to_dict("records"):
        out.append({str(k): (None if _missing(v) else v) for k, v in row.items()})
    return out


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NaTType", "NAType")


def _pct(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{100 * float(v):.1f}%"


def _num(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if digits == 0:
        return f"{round(float(v)):,}"
    return f"{float(v):,.{digits}f}"


def _date(v: Any) -> str:
    if v is None or v == "":
        return "—"
    if isinstance(v, dt.datetime):
        return v.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(v, dt.date):
        return v.isoformat()
    text = str(v)
    if "T" in text:
        try:
            return dt.datetime.fromisoformat(text).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return text
    return text


def _mu(m2: Any) -> str:
    if m2 is None or (isinstance(m2, float) and math.isnan(m2)):
        return "—"
    return f"{float(m2) / 666.6667:.2f}"


#: Form fields whose names a district's file may give a column of another meaning (its
#: area_m2 is the site's area, the form's the eradicated area): a column keeps its name.
_COLUMN_NAMES_TOO = frozenset({"area_m2", "area_mu"})


def _field(name: Any) -> str:
    """A problem's field as a person reads it: the form's or the check's own names in Chinese
    (the API keeps the names); a file's column stays as the file has it."""
    if name is None or name == "" or name in _COLUMN_NAMES_TOO:
        return "" if name is None else str(name)
    return FIELD_LABELS.get(str(name), str(name))


def progress_row_class(row: dict[str, Any]) -> str:
    """The CSS class of a row of a progress table (:attr:`StatusReport.records`): the town's
    total, the targets outside the town that nobody took on (set apart: never in the total),
    or a row with cases over the criminal threshold (a village, or the outside targets the
    office took on, which count in the total)."""
    village = row.get("village")
    if village == TOWN_LABEL:
        return "total"
    if village == OUTSIDE_LABEL:
        return "apart"
    return "hot" if row.get("threshold_cases") else ""


_env = Environment(
    loader=PackageLoader("geoverify.web", "templates"),
    autoescape=select_autoescape(["html", "xml"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(pct=_pct, num=_num, date=_date, mu=_mu, field=_field)
_env.globals.update(
    STATUS_LABELS=STATUS_LABELS,
    RESULT_LABELS=RESULT_LABELS,
    ASSIGNMENT_LABELS=ASSIGNMENT_LABELS,
    THRESHOLD_LABELS=THRESHOLD_LABELS,
    ROLE_LABELS=ROLE_LABELS,
    EVENT_LABELS=EVENT_LABELS,
    NAV_APPS=NAV_APPS,
    progress_row_class=progress_row_class,
)


def render(
    request: Request,
    template: str,
    session: LoginSession | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page from ``templates/TEMPLATE`` with the user, the CSRF token and the app's title."""
    settings = request.app.state.settings
    html = _env.get_template(template).render(
        request=request,
        user=session.user if session else None,
        csrf_token=session.csrf if session else None,
        title_app=settings.title,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
