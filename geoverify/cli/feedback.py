"""``geoverify feedback import|set``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import (
    JsonGroup,
    emit_json,
    format_table,
    get_ctx,
    handle_errors,
    json_option,
    misplaced_by_option,
    open_store,
    parse_date,
    refuse_misplaced_by,
)
from geoverify.lifecycle import THRESHOLD_LABELS
from geoverify.model import RESULT_LABELS, STATUS_LABELS
from geoverify.workflows.feedback import FeedbackResult, import_feedback, set_feedback

_RESULT_CHOICES = [*RESULT_LABELS.values(), *RESULT_LABELS]


@click.group("feedback", cls=JsonGroup)
def feedback_group() -> None:
    """Verification feedback from villages (核查反馈)."""


def _state(status: str, result: str | None) -> str:
    s = STATUS_LABELS.get(status, status)
    return f"{s}/{RESULT_LABELS.get(result, result)}" if result else s


def _describe(res: FeedbackResult) -> None:
    if res.status == "already_imported":
        click.echo(
            f"{res.source}: 该文件已导入过，未做任何更改 (already imported; nothing changed)"
        )
        return
    if not res.changes:
        click.echo(f"{res.source}: 没有新的反馈，未做任何更改 (no new answers; nothing changed)")
        return
    click.echo(f"{res.source}: 更新 {len(res.changes)} 个靶标 (targets updated)")
    rows = []
    for c in res.changes:
        note = []
        if c.supersedes:
            note.append(f"更正：{c.reason}")
        if c.threshold:
            note.append(THRESHOLD_LABELS[c.threshold])
        rows.append(
            (
                c.row,
                c.target_id,
                _state(c.from_status, c.from_result),
                _state(c.to_status, c.to_result),
                "；".join(note),
            )
        )
    click.echo(format_table(["行", "靶标编号", "原状态", "新状态", "说明"], rows))


@feedback_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--supersede", is_flag=True, help="Allow correcting results already recorded.")
@click.option("--reason", default=None, help="Why recorded results are corrected (更正理由).")
@json_option
@handle_errors
def feedback_import(file: Path, supersede: bool, reason: str | None, as_json: bool) -> None:
    """Import a dispatch workbook filled in by a village (all or nothing)."""
    ctx = get_ctx()
    with open_store() as store:
        res = import_feedback(store, file, supersede=supersede, reason=reason, actor=ctx.actor)
    if as_json:
        emit_json(res.to_json())
        return
    _describe(res)


@feedback_group.command("set")
@click.argument("target_id")
@click.option(
    "--result",
    default=None,
    type=click.Choice(_RESULT_CHOICES),
    help="确认种植|排除|未发现|非本镇辖区 (or confirmed|excluded|not_found|outside); "
    "default: the result already recorded.",
)
@click.option("--date", "date_", default=None, help="Verification date YYYY-MM-DD (核查日期).")
@click.option(
    "--checked-by",
    "verified_by",
    default=None,
    help="Who checked on site (核查人员). Who records it is the global --by, before the command.",
)
@misplaced_by_option
@click.option("--plants", type=click.IntRange(min=0), default=None, help="Plant count (株数).")
@click.option("--area", type=click.FloatRange(min=0), default=None, help="Eradicated area, m².")
@click.option("--eradicated", default=None, help="Eradication date YYYY-MM-DD (铲除日期).")
@click.option("--case", "case_no", default=None, help="Case number (案件编号).")
@click.option("--remarks", default=None, help="Remarks (备注); for 排除, what the site really is.")
@click.option("--supersede", is_flag=True, help="Correct a result already recorded.")
@click.option("--reason", default=None, help="Why the recorded result is corrected (更正理由).")
@click.option(
    "--if-version",
    "expected_version",
    type=click.IntRange(min=1),
    default=None,
    help="Only if the target is still at this version (as `targets show --json` gave it): "
    "an answer typed from an old listing does not overwrite a newer one.",
)
@json_option
@handle_errors
def feedback_set(
    target_id: str,
    result: str | None,
    date_: str | None,
    verified_by: str | None,
    misplaced_by: str | None,
    plants: int | None,
    area: float | None,
    eradicated: str | None,
    case_no: str | None,
    remarks: str | None,
    supersede: bool,
    reason: str | None,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Record the verification result of one target.

    --checked-by names who checked on site (核查人员); the person recording it is the global
    --by before the command (geoverify --by 镇平安办张三 feedback set …), as for every command.
    """
    refuse_misplaced_by(
        misplaced_by, command="feedback set", use="--checked-by", what_zh="核查人员"
    )
    ctx = get_ctx()
    verified_on = parse_date(date_, option="--date")
    eradicated_on = parse_date(eradicated, option="--eradicated")
    with open_store() as store:
        res = set_feedback(
            store,
            target_id,
            result=result,
            verified_on=verified_on,
            verified_by=verified_by,
            plants=plants,
            area_m2=area,
            eradicated_on=eradicated_on,
            case_no=case_no,
            remarks=remarks,
            supersede=supersede,
            reason=reason,
            actor=ctx.actor,
            expected_version=expected_version,
        )
    if as_json:
        emit_json(res.to_json())
        return
    if not res.changes:
        click.echo(f"靶标 {target_id}: 与已登记内容相同，未做更改 (already recorded; no change)")
        return
    c = res.changes[0]
    click.echo(
        f"靶标 {target_id}: {_state(c.from_status, c.from_result)} → "
        f"{_state(c.to_status, c.to_result)}"
    )
    if c.threshold:
        case_no = c.values.get("case_no") or case_no
        if case_no:
            click.echo(f"  {THRESHOLD_LABELS[c.threshold]}，案件编号 {case_no}")
        else:
            click.echo(f"  注意：{THRESHOLD_LABELS[c.threshold]}，上报前须有案件编号")


COMMANDS: list[click.Command] = [feedback_group]
