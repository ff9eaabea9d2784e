"""``geoverify status`` and ``geoverify history``."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import click

from geoverify.cli._common import (
    JsonCommand,
    as_of_option,
    emit_json,
    format_table,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.progress import OUTSIDE_LABEL, SUMMARY_LABELS
from geoverify.workflows.reports import status_report
from geoverify.workflows.targets import target_history

_SHOWN = [
    "village",
    "issued",
    "dispatched",
    "verified",
    "confirmed",
    "excluded",
    "not_found",
    "outside",
    "eradicated",
    "plants_eradicated",
    "area_eradicated_m2",
    "overdue",
    "threshold_cases",
    "verification_rate",
    "match_rate",
]


def _pct(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


@click.command("status", cls=JsonCommand)
@click.option("--batch", default=None, help="Only targets issued in this batch.")
@as_of_option
@json_option
@handle_errors
def status_cmd(batch: str | None, as_of: dt.date | None, as_json: bool) -> None:
    """Progress per village and for the town: verified, eradicated, overdue, 核查率, 吻合率.

    Overdue: dispatched, no result, due date before the as-of date. Targets outside the town
    are shown on a row of their own under the town's total, never in it.
    """
    with open_store() as store:
        report = status_report(store, batch=batch, as_of=as_of)
    if as_json:
        emit_json(report.to_json())
        return
    records = report.records
    rows = []
    for r in records:
        vals = [r[k] for k in _SHOWN]
        vals[_SHOWN.index("area_eradicated_m2")] = f"{r['area_eradicated_m2']:.1f}"
        if r["village"] == OUTSIDE_LABEL:  # returned to the district: nothing to rate
            vals[-2] = vals[-1] = "—"
        else:
            vals[-2], vals[-1] = _pct(r["verification_rate"]), _pct(r["match_rate"])
        rows.append(vals)
    title = f"批次 {batch}" if batch else "全部靶标 (all targets)"
    click.echo(f"{title}，统计截至 {report.as_of.isoformat()} (as of)")
    click.echo(format_table([SUMMARY_LABELS[k] for k in _SHOWN], rows))
    outside = report.outside
    if outside:
        click.echo(
            f"镇外靶标 {outside['issued']} 个不计入全镇合计，建议退回区禁毒办 "
            "(targets outside the town: not counted in the town total)"
        )
    if report.reissued_note:
        click.echo(f"{report.reissued_note} (targets issued again count once)")
    spot = report.spotcheck
    if spot is not None and spot.drawn:
        click.echo(
            f"抽查 (spot checks): 抽中 {spot.drawn}，已复核 {spot.checked}，"
            f"一致 {spot.consistent}，不一致 {spot.inconsistent}，"
            f"一致率 (agreement) {_pct(spot.agreement_rate)}"
        )


@click.command("history", cls=JsonCommand)
@click.argument("target_id")
@json_option
@handle_errors
def history_cmd(target_id: str, as_json: bool) -> None:
    """Every event of a target: time (Asia/Shanghai), who, host, kind, source and values."""
    with open_store() as store:
        history = target_history(store, target_id)
    if as_json:
        emit_json(history.to_json())
        return
    events = history.events
    click.echo(f"靶标 {target_id} 的历史记录 (history)")
    for e in events:
        click.echo(f"{e['at']}  {e['kind']}  {e['actor']}@{e['host']}  {e['source']}")
        payload = e["payload"] or {}
        if "from" in payload or "to" in payload:
            click.echo(f"    从 (from): {_values(payload.get('from'))}")
            click.echo(f"    到 (to):   {_values(payload.get('to'))}")
        rest = {k: v for k, v in payload.items() if k not in ("from", "to")}
        if rest:
            click.echo(f"    {_values(rest)}")


def _values(d: Any) -> str:
    if not isinstance(d, dict):
        return str(d)
    return "，".join(f"{k}={v}" for k, v in d.items() if v is not None)


COMMANDS: list[click.Command] = [status_cmd, history_cmd]
