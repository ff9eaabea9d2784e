"""``geoverify spotcheck`` and ``geoverify spotcheck record``."""

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
from geoverify.workflows.spotcheck import OUTCOME_LABELS, draw_spotcheck, record_spotcheck


@click.group("spotcheck", cls=JsonGroup, invoke_without_command=True)
@click.option("--batch", default=None, help="Batch id (批次编号) whose closed targets are sampled.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=None,
    help="Share of each village's closed targets to re-inspect, e.g. 0.1 (抽查比例).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**31 - 1),
    default=None,
    help="Random seed: the same seed gives the same sample (default: chosen, shown).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the lists (default: <workspace>/spotcheck/<batch>).",
)
@json_option
@click.pass_context
@handle_errors
def spotcheck_group(
    ctx: click.Context,
    batch: str | None,
    rate: float | None,
    seed: int | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Supervision spot checks (抽查): draw a reproducible random sample of closed targets per
    village for re-inspection and write its lists; ``spotcheck record`` records 一致 / 不一致.

    \b
    geoverify spotcheck --batch 2024-03 --rate 0.1 --seed 7
    geoverify spotcheck record TL2024-03-011 --result 一致 --by 王五
    """
    if ctx.invoked_subcommand is not None:
        return
    if batch is None or rate is None:
        raise click.UsageError("需要 --batch 和 --rate (--batch and --rate are required)")
    with open_store() as store:
        res = draw_spotcheck(
            store, batch=batch, rate=rate, seed=seed, out=out, actor=get_ctx().actor
        )
    if as_json:
        emit_json(res.to_json())
        return
    state = "已抽取 (drawn)" if res.status == "drawn" else "此前已抽取 (drawn before)"
    click.echo(
        f"批次 {res.batch} 抽查 {state}：比例 {res.rate:g}，随机种子 {res.seed}，"
        f"共 {res.sampled} 个靶标 (targets)"
    )
    rows = [
        (v["village"], v["closed"], v["sampled"], "、".join(v["targets"])) for v in res.villages
    ]
    click.echo(format_table(["村（社区）", "已核查", "抽中", "靶标"], rows))
    click.echo(f"抽查清单 (lists): {res.out}")


@spotcheck_group.command("record")
@click.argument("target_id")
@click.option(
    "--result",
    "outcome",
    required=True,
    type=click.Choice([*OUTCOME_LABELS.values(), *OUTCOME_LABELS]),
    help="Re-inspection outcome: 一致 (consistent) or 不一致 (inconsistent).",
)
@click.option("--date", "date_", default=None, help="Re-inspection date YYYY-MM-DD (抽查日期).")
@click.option(
    "--checked-by", "checked_by", default=None, help="Who re-inspected on site (抽查人员)."
)
@misplaced_by_option
@click.option("--remarks", default=None, help="What was found (抽查情况).")
@click.option("--batch", default=None, help="The batch, when the target was drawn in several.")
@click.option("--supersede", is_flag=True, help="Change an outcome already recorded.")
@click.option("--reason", default=None, help="Why the recorded outcome is changed.")
@json_option
@handle_errors
def spotcheck_record(
    target_id: str,
    outcome: str,
    date_: str | None,
    checked_by: str | None,
    remarks: str | None,
    batch: str | None,
    supersede: bool,
    reason: str | None,
    misplaced_by: str | None,
    as_json: bool,
) -> None:
    """Record the re-inspection of a drawn target (抽查结论): 一致 or 不一致.

    --checked-by names who re-inspected on site; who records it is the global --by.
    """
    refuse_misplaced_by(
        misplaced_by, command="spotcheck record", use="--checked-by", what_zh="抽查人员"
    )
    checked_on = parse_date(date_, option="--date")
    with open_store() as store:
        res = record_spotcheck(
            store,
            target_id,
            outcome=outcome,
            checked_on=checked_on,
            checked_by=checked_by,
            remarks=remarks,
            batch=batch,
            supersede=supersede,
            reason=reason,
            actor=get_ctx().actor,
        )
    if as_json:
        emit_json(res.to_json())
        return
    label = OUTCOME_LABELS[res.outcome]
    if res.status == "unchanged":
        click.echo(f"靶标 {res.target_id}: 抽查结论已是“{label}”，未做更改 (unchanged)")
    else:
        click.echo(f"靶标 {res.target_id}: 抽查结论“{label}”已登记 (recorded)，批次 {res.batch}")


COMMANDS: list[click.Command] = [spotcheck_group]
