"""The demo: a workspace built from the bundled sample data, run through every workflow."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geoverify.errors import InputError
from geoverify.store import Store, repo
from geoverify.workflows.batches import BatchImportResult, import_batch
from geoverify.workflows.common import sample_path
from geoverify.workflows.setup import InitResult, init_workspace

DEMO_MARKER = ".geoverify-demo"
DEMO_ACTOR = "demo"
#: The one date the whole demo counts overdue targets on (after the March batch's due date);
#: status, the district report and the map all use it and print it.
DEMO_AS_OF = dt.date(2024, 3, 25)

#: The sample batches: (file under samples/, batch id, issued, due).
SAMPLE_BATCHES = [
    ("district_batch_2024-03.geojson", "2024-03", dt.date(2024, 3, 5), dt.date(2024, 3, 20)),
    ("district_batch_2024-04.csv", "2024-04", dt.date(2024, 4, 2), dt.date(2024, 4, 17)),
]


@dataclass
class DemoResult:
    """What the demo did: a log of steps and the per-village table."""

    workspace: Path
    init: InitResult | None = None
    batches: list[BatchImportResult] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)
    villages: pd.DataFrame | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def log(self, step: str, text: str) -> None:
        self.steps.append((step, text))

    def to_json(self) -> dict[str, Any]:
        """The documented ``demo --json`` document."""
        table = self.villages if self.villages is not None else pd.DataFrame()
        return {
            "workspace": str(self.workspace),
            "as_of": DEMO_AS_OF.isoformat(),
            "steps": [{"step": s, "text": t} for s, t in self.steps],
            "batches": [b.to_json() for b in self.batches],
            "villages": table.to_dict(orient="records"),
            "outputs": self.outputs,
        }


DemoStep = Callable[[Store, DemoResult], None]


def demo_steps() -> list[DemoStep]:
    """The feature steps, in order: dispatch and feedback, patrols and coverage, maps."""
    from geoverify.workflows import demo_feedback, demo_maps, demo_patrols

    return [*demo_feedback.STEPS, *demo_patrols.STEPS, *demo_maps.STEPS]


def prepare_demo_workspace(workspace: Path) -> None:
    """Make ``workspace`` empty for the demo, refusing to touch a folder that is not a demo's."""
    if workspace.exists() and any(workspace.iterdir()):
        if not (workspace / DEMO_MARKER).exists():
            msg = (
                f"{workspace} 已存在且不是演示工作区，不会覆盖；请换一个 --workspace "
                f"(exists and is not a demo workspace; not overwritten)"
            )
            raise InputError(msg)
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / DEMO_MARKER).write_text("geoverify demo workspace; safe to delete\n")


def run_demo(
    workspace: str | os.PathLike[str], *, url: str | None = None, maps_dir: Path | None = None
) -> DemoResult:
    """Build a demo workspace from the bundled sample and run every workflow on it.

    Everything the demo writes is inside ``workspace`` (maps in ``maps_dir``, default
    ``<workspace>/maps``). Overdue targets are counted on :data:`DEMO_AS_OF` everywhere.
    """
    ws = Path(workspace)
    if url is None:
        prepare_demo_workspace(ws)
    else:
        ws.mkdir(parents=True, exist_ok=True)
    result = DemoResult(ws)
    result.extra["maps_dir"] = maps_dir or ws / "maps"
    result.init = init_workspace(ws, url=url, actor=DEMO_ACTOR)
    result.log("init", f"{result.init.villages.imported} 个村（社区）(illustrative sample)")
    store = Store(ws, url=url)
    try:
        for name, batch_id, issued, due in SAMPLE_BATCHES:
            res = import_batch(
                store,
                sample_path("samples", name),
                batch_id=batch_id,
                issued_on=issued,
                due_on=due,
                actor=DEMO_ACTOR,
            )
            result.batches.append(res)
            result.log(
                "batch",
                f"{batch_id}: {res.imported} 导入, {res.reissued} 重复下发, "
                f"{res.repeat_sites} 复种点",
            )
        for step in demo_steps():
            step(store, result)
        with store.connect() as conn:
            result.villages = village_table(repo.load_villages(conn), repo.load_targets(conn))
        # Feature steps add per-village values: {column: {village_code: value}}.
        for col, values in result.extra.get("village_values", {}).items():
            result.villages[col] = result.villages["village_code"].map(values)
    finally:
        store.dispose()
    return result


def village_table(villages: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Per-village counts of targets by assignment kind and status (pure)."""
    names = villages[["code", "name"]].rename(
        columns={"code": "village_code", "name": "村（社区）"}
    )
    t = targets.assign(
        village_code=targets["village_code"].where(targets["village_code"].notna(), "-")
    )
    counts = pd.crosstab(t["village_code"], t["assignment"])
    for col in ["inside", "near_boundary", "gap_nearest", "split", "outside"]:
        if col not in counts:
            counts[col] = 0
    counts["targets"] = counts[["inside", "near_boundary", "gap_nearest", "split", "outside"]].sum(
        axis=1
    )
    counts["repeat_sites"] = t.groupby("village_code")["repeat_of"].apply(
        lambda s: int(s.notna().sum())
    )
    status = pd.crosstab(t["village_code"], t["status"])
    table = names.merge(counts, left_on="village_code", right_index=True, how="left")
    if "-" in counts.index:
        outside = counts.loc[["-"]].reset_index()
        outside["村（社区）"] = "（镇外）"
        table = pd.concat([table, outside], ignore_index=True)
    table = table.merge(status, left_on="village_code", right_index=True, how="left")
    return table.fillna(0)
