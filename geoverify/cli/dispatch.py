"""``geoverify dispatch``."""

from __future__ import annotations

from pathlib import Path

import click

from geoverify.cli._common import (
    JsonCommand,
    emit_json,
    format_table,
    get_ctx,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.workflows.dispatch import dispatch_batch


@click.command("dispatch", cls=JsonCommand)
@click.option("--batch", required=True, help="Batch id (批次编号) to dispatch.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for <village>.xlsx, <village>.html and 汇总.xlsx.",
)
@click.option("--village", default=None, help="Only this village (name or code).")
@json_option
@handle_errors
def dispatch_cmd(batch: str, out: Path, village: str | None, as_json: bool) -> None:
    """Write the dispatch lists of a batch (派发清单) and mark its targets dispatched.

    Re-running is safe: targets already dispatched are listed again but not moved again.
    """
    ctx = get_ctx()
    with open_store() as store:
        res = dispatch_batch(store, batch=batch, out=out, village=village, actor=ctx.actor)
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(
        f"批次 {res.batch}: 本次派发 {res.dispatched} 个 (dispatched)，"
        f"此前已派发 {res.already} 个 (already dispatched)"
    )
    rows = [(v.village, v.targets, v.newly_dispatched, v.xlsx.name) for v in res.villages]
    click.echo(format_table(["村（社区）", "靶标", "本次派发", "文件"], rows))
    if res.outside:
        click.echo(
            f"另有 {res.outside} 个靶标位于镇外，只列入汇总表，未派发 "
            "(outside the town: in the summary only, not dispatched)"
        )
    click.echo(f"汇总 (summary): {res.summary}")
    click.echo(f"输出文件夹 (folder): {res.out}")


COMMANDS: list[click.Command] = [dispatch_cmd]
