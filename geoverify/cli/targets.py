"""``geoverify targets list``."""

from __future__ import annotations

from typing import Any

import click
import pandas as pd

from geoverify.cli._common import (
    emit_json,
    format_table,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.lifecycle import THRESHOLD_LABELS
from geoverify.model import ASSIGNMENT_LABELS, RESULT_LABELS, STATUS_LABELS, Status
from geoverify.workflows import list_targets


@click.group("targets")
def targets_group() -> None:
    """Suspect targets (疑似靶标)."""


def target_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The documented JSON objects of a targets frame."""
    out = []
    r: Any
    for r in frame.itertuples():
        out.append(
            {
                "target_id": r.target_id,
                "batch": r.batch,
                "village": r.village if isinstance(r.village, str) else None,
                "village_code": r.village_code if isinstance(r.village_code, str) else None,
                "group": r.group if isinstance(r.group, str) else None,
                "lon": round(float(r.lon), 7),
                "lat": round(float(r.lat), 7),
                "geometry_type": r.geometry.geom_type,
                "area_m2": r.area_m2,
                "status": r.status,
                "result": r.result,
                "plants": None if pd.isna(r.plants) else int(r.plants),
                "case_no": r.case_no if isinstance(r.case_no, str) else None,
                "threshold": r.threshold if isinstance(r.threshold, str) else None,
                "assignment": r.assignment,
                "neighbours": list(r.neighbours),
                "split_into": list(r.split_into),
                "repeat_of": r.repeat_of,
                "reissue_of": r.reissue_of,
                "source": r.source,
                "issued_on": r.issued_on,
                "due_on": r.due_on,
            }
        )
    return out


@targets_group.command("list")
@click.option("--batch", default=None, help="Only targets issued in this batch.")
@click.option("--village", default=None, help="Village name or code; '-' for outside the town.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in Status]),
    default=None,
    help="Only targets in this status.",
)
@json_option
@handle_errors
def targets_list(batch: str | None, village: str | None, status: str | None, as_json: bool) -> None:
    """List targets with their village, group, assignment and status."""
    with open_store() as store:
        frame = list_targets(store, batch=batch, village=village, status=status)
    if as_json:
        emit_json(target_records(frame))
        return
    rows = []
    for r in frame.itertuples():
        note = []
        if isinstance(r.threshold, str):
            note.append(
                THRESHOLD_LABELS[r.threshold]
                + (f" 案件 {r.case_no}" if isinstance(r.case_no, str) else " 缺案件编号")
            )
        if r.neighbours:
            note.append("邻近 " + "、".join(r.neighbours))
        if r.split_into:
            note.append("跨入 " + "、".join(r.split_into))
        if isinstance(r.repeat_of, str):
            note.append(f"复种点（{r.repeat_of}）")
        if isinstance(r.reissue_of, str):
            note.append(f"重复下发（首次 {r.reissue_of}）")
        status_label = STATUS_LABELS.get(r.status, r.status)
        if isinstance(r.result, str):
            status_label += f"/{RESULT_LABELS.get(r.result, r.result)}"
        rows.append(
            (
                r.target_id,
                r.village if isinstance(r.village, str) else "（镇外）",
                r.group if isinstance(r.group, str) else "",
                f"{r.lon:.6f}",
                f"{r.lat:.6f}",
                ASSIGNMENT_LABELS.get(r.assignment, r.assignment),
                status_label,
                "；".join(note),
            )
        )
    click.echo(
        format_table(["靶标编号", "村（社区）", "组", "经度", "纬度", "分配", "状态", "备注"], rows)
    )
    click.echo(f"共 {len(rows)} 个 (total)")


def _more_commands() -> None:
    from geoverify.cli import targets_add

    for command in targets_add.COMMANDS:
        targets_group.add_command(command)


_more_commands()

COMMANDS = [targets_group]
