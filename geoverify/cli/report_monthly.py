"""``geoverify report monthly``: the plan's monthly patrol table per village, and a summary."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import (
    JsonCommand,
    check_month,
    emit_json,
    format_table,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.coverage import DEFAULT_RADIUS_M
from geoverify.workflows.coverage import write_monthly_report


@click.command("monthly", cls=JsonCommand)
@click.option("--month", callback=check_month, required=True, help="Month YYYY-MM.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the workbooks and Word documents.",
)
@click.option(
    "--radius",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_RADIUS_M,
    show_default=True,
    help="Metres seen on each side of a track (for the coverage column).",
)
@json_option
@handle_errors
def report_monthly(month: str, out: Path, radius: float, as_json: bool) -> None:
    """Write each village's 踏查情况统计表 (XLSX + DOCX) and the town summary for --month."""
    with open_store() as store:
        res = write_monthly_report(store, month=month, out_dir=out, radius_m=radius)
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(
        f"{res.year}年{res.month}月踏查情况统计表：{len(res.village_files)} 个文件 → {res.out_dir}"
    )
    click.echo(f"全镇汇总 (town summary): {res.summary_file}")
    rows = [
        (
            r["village"],
            r["patrols"],
            r["person_times"],
            r["findings"],
            "—" if r["covered_pct"] is None else f"{r['covered_pct']:.1f}",
            r["status"],
        )
        for r in res.summary.villages.to_dict("records")
    ]
    click.echo(
        format_table(["村（社区）", "踏查次数", "人次", "发现", "覆盖率%", "报送状态"], rows)
    )
    if res.summary.not_reported:
        click.echo(
            f"截至 {res.summary.deadline} 未报送 (not reported by the deadline): "
            + "、".join(res.summary.not_reported)
        )


COMMANDS = [report_monthly]
