"""``geoverify coverage``: tracked patrol coverage per village and unsurveyed areas."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import click

from geoverify.cli._common import (
    JsonCommand,
    check_month,
    emit_json,
    format_table,
    handle_errors,
    json_option,
    open_store,
    parse_date,
)
from geoverify.coverage import DEFAULT_RADIUS_M
from geoverify.landcover import PriorityWeights
from geoverify.workflows.coverage import (
    coverage_for_period,
    landcover_path,
    write_coverage_outputs,
)
from geoverify.workflows.patrols import month_range


def _pct(v: Any) -> str:
    return "—" if v is None or v != v else f"{float(v):.1f}"


def parse_weights(items: tuple[str, ...]) -> PriorityWeights:
    """``NAME=VALUE`` options into :class:`PriorityWeights` (usage error when malformed)."""
    known = {f.name for f in fields(PriorityWeights)}
    values: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not sep or name not in known or not value >= 0:
            msg = (
                f"--weight {item!r}: 应为 名称=非负数，名称为 {', '.join(sorted(known))} "
                "(expected NAME=non-negative number)"
            )
            raise click.BadParameter(msg)
        values[name] = value
    return PriorityWeights(**values)


@click.command("coverage", cls=JsonCommand)
@click.option("--month", callback=check_month, default=None, help="Month YYYY-MM.")
@click.option("--from", "date_from", default=None, help="First day YYYY-MM-DD.")
@click.option("--to", "date_to", default=None, help="Last day YYYY-MM-DD (inclusive).")
@click.option(
    "--radius",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_RADIUS_M,
    show_default=True,
    help="Metres seen on each side of a track.",
)
@click.option(
    "--cell",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Grid cell in metres (at most radius/5; default radius/5).",
)
@click.option(
    "--min-area",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Hectares: smallest unsurveyed area reported.",
)
@click.option(
    "--weight",
    "weights",
    multiple=True,
    metavar="NAME=VALUE",
    help="Priority weight or distance, e.g. forest=2, farmland_edge=3, around_houses=3, "
    "other=1, edge_m=20, houses_m=50 (repeatable).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for effort.tif, unsurveyed.gpkg and villages_coverage.csv.",
)
@json_option
@handle_errors
def coverage_cmd(
    month: str | None,
    date_from: str | None,
    date_to: str | None,
    radius: float,
    cell: float | None,
    min_area: float,
    weights: tuple[str, ...],
    out: Path | None,
    as_json: bool,
) -> None:
    """Tracked patrol coverage of every village for a month or a period (踏查覆盖率).

    A track sees --radius metres on each side. Records without a track count as reported for
    their group, never as tracked coverage. Priority areas need `geoverify landcover import`.
    """
    if month and (date_from or date_to):
        raise click.UsageError("--month 与 --from/--to 只能二选一 (use --month or --from/--to)")
    if month:
        start, end = month_range(month)
    elif date_from and date_to:
        start = parse_date(date_from, option="--from")  # type: ignore[assignment]
        end = parse_date(date_to, option="--to")  # type: ignore[assignment]
    else:
        raise click.UsageError("请给出 --month 或 --from 与 --to (give --month or --from and --to)")
    if end < start:
        raise click.UsageError(f"--to {end} 早于 --from {start} (--to is before --from)")
    with open_store() as store:
        res = coverage_for_period(
            store,
            start=start,
            end=end,
            radius_m=radius,
            cell_m=cell,
            weights=parse_weights(weights),
            min_unsurveyed_m2=min_area * 10_000,
        )
        lc = landcover_path(store)
        has_lc = lc.exists()
    outputs = {k: str(v) for k, v in write_coverage_outputs(res, out).items()} if out else {}
    if as_json:
        doc = res.as_dict()
        doc["from"] = start.isoformat()
        doc["to"] = end.isoformat()
        doc["landcover"] = str(lc) if has_lc else None
        doc["outputs"] = outputs
        emit_json(doc)
        return
    click.echo(
        f"踏查覆盖 (coverage) {start} – {end}：半径 {res.radius_m:g} m，格网 {res.cell_m:g} m"
    )
    if not has_lc:
        click.echo(
            "  未导入土地覆盖，重点区域覆盖率无法计算，未踏查区域按面积排序 "
            "(no land cover imported: priority = plain area)"
        )
    rows = [
        (
            r["village"],
            f"{r['area_km2']:.2f}",
            _pct(r["covered_pct"]),
            _pct(r["priority_covered_pct"]),
            r["patrols"],
            "、".join(r["reported_groups"]) or "",
            r["unsurveyed_areas"],
        )
        for r in res.villages.to_dict("records")
    ]
    t = res.totals
    rows.append(
        (
            "合计",
            f"{t['area_km2']:.2f}",
            _pct(t["covered_pct"]),
            _pct(t["priority_covered_pct"]),
            t["patrols"],
            "",
            t["unsurveyed_areas"],
        )
    )
    headers = ["村（社区）", "面积km²", "覆盖率%", "重点区域%", "轨迹", "仅报送的组", "未踏查区域"]
    click.echo(format_table(headers, rows))
    for name, path in outputs.items():
        click.echo(f"{name}: {path}")


COMMANDS = [coverage_cmd]
