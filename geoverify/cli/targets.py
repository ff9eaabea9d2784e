"""``geoverify targets list`` and ``targets show``."""

from __future__ import annotations

import click

from geoverify.cli._common import (
    JsonGroup,
    emit_json,
    format_table,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.lifecycle import THRESHOLD_LABELS
from geoverify.model import (
    ASSIGNMENT_LABELS,
    FEEDBACK_FIELD_LABELS,
    RESULT_LABELS,
    STATUS_LABELS,
    Status,
)
from geoverify.workflows import list_targets
from geoverify.workflows.targets import target_detail


@click.group("targets", cls=JsonGroup)
def targets_group() -> None:
    """Suspect targets (疑似靶标)."""


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
        listed = list_targets(store, batch=batch, village=village, status=status)
    if as_json:
        emit_json(listed.to_json())
        return
    frame = listed.frame
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


_APP_LABELS = {"amap": "高德", "baidu": "百度", "tencent": "腾讯", "geo": "其他地图 (geo:) "}


@targets_group.command("show")
@click.argument("target_id")
@json_option
@handle_errors
def targets_show(target_id: str, as_json: bool) -> None:
    """One target: its village and group, status and feedback, coordinates, navigation links
    and version (for ``feedback set --if-version``); --json adds its district columns, photos
    and history."""
    with open_store() as store:
        detail = target_detail(store, target_id)
    if as_json:
        emit_json(detail.to_json())
        return
    r, labels, fb, xy = detail.record, detail.labels, detail.feedback, detail.coordinates
    where = " ".join(str(v) for v in (r["village"] or "镇外", r["group"]) if v)
    lines = [
        f"靶标 {detail.target_id}（批次 {r['batch'] or '—'}，版本 {detail.version}）",
        f"  村（社区）: {where}；{labels['assignment'] or r['assignment']}",
        f"  状态: {labels['status']}"
        + (f"，{labels['result']}" if labels["result"] else "")
        + ("，逾期" if detail.overdue else ""),
        f"  坐标: {xy['lon']}, {xy['lat']}（{xy['lon_dms']} {xy['lat_dms']}，CGCS2000）",
    ]
    given = [
        (label, fb[k])
        for k, label in FEEDBACK_FIELD_LABELS.items()
        if k != "result" and fb.get(k) is not None  # the result is in the status line
    ]
    if given:
        lines.append("  反馈: " + "，".join(f"{k} {v}" for k, v in given))
    lines += [f"  {_APP_LABELS.get(a, a)}导航: {url}" for a, url in detail.links.items()]
    click.echo("\n".join(lines))
