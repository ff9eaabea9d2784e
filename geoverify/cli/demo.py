"""``geoverify demo``."""

from __future__ import annotations

import math
from pathlib import Path

import click

from geoverify.cli._common import (
    JsonCommand,
    emit_json,
    format_table,
    get_ctx,
    handle_errors,
    json_option,
)
from geoverify.model import ASSIGNMENT_LABELS
from geoverify.workflows.demo import DEMO_AS_OF, run_demo


@click.command("demo", cls=JsonCommand)
@click.option(
    "--maps-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the demo writes its maps (default: maps/ inside the demo workspace).",
)
@json_option
@handle_errors
def demo_cmd(maps_dir: Path | None, as_json: bool) -> None:
    """Build a demo workspace from the bundled sample data and run the whole job (演示)."""
    ctx = get_ctx()
    res = run_demo(ctx.workspace, url=ctx.database_url, maps_dir=maps_dir)
    table = res.villages
    assert table is not None
    if as_json:
        emit_json(res.to_json())
        return
    click.echo(f"演示工作区 (demo workspace): {res.workspace}")
    click.echo(f"逾期按 {DEMO_AS_OF.isoformat()} 统计 (overdue counted as of this date everywhere)")
    for step, text in res.steps:
        click.echo(f"  [{step}] {text}")
    cols = [
        ("村（社区）", "村（社区）"),
        ("targets", "靶标"),
        *((k, ASSIGNMENT_LABELS[k]) for k in ("inside", "near_boundary", "gap_nearest", "split")),
        ("outside", ASSIGNMENT_LABELS["outside"]),
        ("repeat_sites", "复种点"),
    ]
    cols += [(c, h) for c, h in res.extra.get("village_columns", []) if c in table]
    rows = [[_fmt(r[c]) for c, _ in cols] for _, r in table.iterrows()]
    click.echo(format_table([h for _, h in cols], rows))
    for name, path in res.outputs.items():
        click.echo(f"{name}: {path}")
    click.echo("注意：村界与村名为示意数据，非官方 (sample boundaries are illustrative).")


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


COMMANDS = [demo_cmd]
