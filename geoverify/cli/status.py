"""``geoverify status`` and ``geoverify history``."""

from __future__ import annotations

import math
from typing import Any

import click

from geoverify.cli._common import (
    emit_json,
    format_table,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.progress import SUMMARY_LABELS, TOWN_LABEL
from geoverify.workflows.common import today_local
from geoverify.workflows.reports import target_history, target_status

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
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def _record(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in SUMMARY_LABELS}
    for k in ("verification_rate", "match_rate"):
        v = out[k]
        out[k] = None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 4)
    return out


@click.command("status")
@click.option("--batch", default=None, help="Only targets issued in this batch.")
@json_option
@handle_errors
def status_cmd(batch: str | None, as_json: bool) -> None:
    """Progress per village and for the town: verified, eradicated, overdue, 核查率, 吻合率."""
    today = today_local()
    with open_store() as store:
        table = target_status(store, batch=batch, today=today)
    records = [_record({str(k): v for k, v in r.items()}) for r in table.to_dict("records")]
    if as_json:
        emit_json(
            {
                "batch": batch,
                "today": today,
                "villages": [r for r in records if r["village"] != TOWN_LABEL],
                "town": next(r for r in records if r["village"] == TOWN_LABEL),
            }
        )
        return
    rows = []
    for r in records:
        vals = [r[k] for k in _SHOWN]
        vals[_SHOWN.index("area_eradicated_m2")] = f"{r['area_eradicated_m2']:.1f}"
        vals[-2], vals[-1] = _pct(r["verification_rate"]), _pct(r["match_rate"])
        rows.append(vals)
    title = f"批次 {batch}" if batch else "全部靶标 (all targets)"
    click.echo(f"{title}，截至 {today.isoformat()}")
    click.echo(format_table([SUMMARY_LABELS[k] for k in _SHOWN], rows))


@click.command("history")
@click.argument("target_id")
@json_option
@handle_errors
def history_cmd(target_id: str, as_json: bool) -> None:
    """Every event of a target: time (Asia/Shanghai), who, host, kind, source and values."""
    with open_store() as store:
        events = target_history(store, target_id)
    if as_json:
        emit_json({"target_id": target_id, "events": events})
        return
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
