"""Dispatch a batch (派发): per-village workbooks, printable pages and the town summary."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoverify.documents.dispatch import (
    render_village_html,
    write_summary_workbook,
    write_village_workbook,
)
from geoverify.documents.staticmap import render_village_map
from geoverify.errors import InputError
from geoverify.model import Status
from geoverify.progress import sort_targets_for_lists
from geoverify.store import Store, repo
from geoverify.store import batches as store_batches
from geoverify.store.changes import TargetChange, change_targets
from geoverify.workflows.attributes import with_district_columns
from geoverify.workflows.common import Actor, make_who
from geoverify.workflows.feedback import check_move
from geoverify.workflows.maps import write_village_map

__all__ = [
    "DispatchResult",
    "VillageDispatch",
    "dispatch_batch",
    "mentioned_villages",
    "safe_file_name",
]

#: Module and function another feature may provide to write a village's HTML map.
SUMMARY_NAME = "汇总.xlsx"


@dataclass
class VillageDispatch:
    """One village's dispatch files and counts."""

    village: str
    village_code: str
    targets: int
    newly_dispatched: int
    xlsx: Path
    html: Path
    map_html: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "village": self.village,
            "village_code": self.village_code,
            "targets": self.targets,
            "newly_dispatched": self.newly_dispatched,
            "xlsx": str(self.xlsx),
            "html": str(self.html),
            "map_html": str(self.map_html) if self.map_html else None,
        }


@dataclass
class DispatchResult:
    """What ``dispatch_batch`` did; ``to_json`` is the ``--json`` shape."""

    batch: str
    out: Path
    villages: list[VillageDispatch] = field(default_factory=list)
    summary: Path | None = None
    dispatched: int = 0
    already: int = 0
    outside: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "out": str(self.out),
            "summary": str(self.summary) if self.summary else None,
            "dispatched": self.dispatched,
            "already_dispatched": self.already,
            "outside_not_dispatched": self.outside,
            "villages": [v.to_json() for v in self.villages],
        }


def safe_file_name(name: str) -> str:
    """A village name usable as a file name on every system (no separators or reserved marks)."""
    bad = '<>:"/\\|?*\0'
    cleaned = "".join("_" if ch in bad or ord(ch) < 32 else ch for ch in name).strip(" .")
    return cleaned or "_"


def mentioned_villages(sub: pd.DataFrame) -> list[str]:
    """Names of the other villages the rows of ``sub`` mention (临近…边界, 跨入…), in order."""
    names: list[str] = []
    for col in ("neighbours", "split_into"):
        if col not in sub.columns:
            continue
        for value in sub[col]:
            items = [value] if isinstance(value, str) else list(value or [])
            for name in items:
                if isinstance(name, str) and name.strip() and name not in names:
                    names.append(name)
    return names


def _static_map(
    village: pd.Series, villages: gpd.GeoDataFrame, groups: gpd.GeoDataFrame, sub: pd.DataFrame
) -> tuple[bytes, list[str]]:
    """The village's static map and the neighbouring villages it names (each one a row
    mentions among them)."""
    ordered = sort_targets_for_lists(sub)
    points = [
        (i, float(lon), float(lat))
        for i, (lon, lat) in enumerate(zip(ordered["lon"], ordered["lat"], strict=True), start=1)
    ]
    geom = village.geometry
    mentioned = mentioned_villages(sub)
    others = villages["code"] != village["code"]
    near = villages[
        others & (villages.intersects(geom.buffer(0.002)) | villages["name"].isin(mentioned))
    ]
    own = groups[(groups["village_code"] == village["code"]) & groups.geometry.notna()]
    png = render_village_map(
        geom,
        points,
        village_name=str(village["name"]),
        groups=own if len(own) else None,
        neighbours=near if len(near) else None,
        illustrative=bool(village.get("illustrative", False)),
        must_name=mentioned,
    )
    return png, [str(n) for n in near["name"]]


def dispatch_batch(
    store: Store,
    *,
    batch: str,
    out: str | os.PathLike[str],
    village: str | None = None,
    actor: str | Actor | None = None,
) -> DispatchResult:
    """Write the dispatch lists of a batch and move its issued targets to ``dispatched``.

    For each village with targets: ``<out>/<village>.xlsx`` (feedback columns, drop-down),
    ``<out>/<village>.html`` (printable A4 page with a static map) and, when
    ``geoverify.workflows.maps.write_village_map`` exists, ``<out>/<village>_地图.html``; then
    ``<out>/汇总.xlsx``. Targets already dispatched (or further) are listed again but not moved;
    running it again is safe. Targets outside every village are listed in the summary only.
    ``village`` (name or code) limits the lists to one village.
    """
    store.require()
    out_dir = Path(out)
    who = make_who(actor=actor, source="command:dispatch")
    with store.connect() as conn:
        b = store_batches.get_batch(conn, batch)
        frame = repo.load_targets(conn, batch=batch)
        villages = repo.load_villages(conn)
        groups = repo.load_groups(conn)
    if village is not None:
        with store.connect() as conn:
            code = repo.get_village(conn, village)["code"]
        frame = frame[frame["village_code"] == code]
    if frame.empty:
        msg = f"批次 {batch} 没有可派发的靶标 (batch {batch} has no targets to dispatch)"
        raise InputError(msg)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        msg = f"无法创建输出文件夹 (cannot create the output folder) {out_dir}: {e.strerror}"
        raise InputError(msg) from e

    issued_on, due_on = b["issued_on"], b["due_on"]
    frame = with_district_columns(frame)
    res = DispatchResult(batch, out_dir)
    inside = frame[frame["village_code"].notna()]
    res.outside = int(frame["village_code"].isna().sum())
    to_move: list[tuple[dict[str, Any], str]] = []
    for _, v in villages.iterrows():
        sub = inside[inside["village_code"] == v["code"]]
        if sub.empty:
            continue
        name = str(v["name"])
        stem = safe_file_name(name)
        illustrative = bool(v.get("illustrative", False))
        xlsx = write_village_workbook(
            out_dir / f"{stem}.xlsx",
            name,
            sub,
            batch=batch,
            issued_on=issued_on,
            due_on=due_on,
            illustrative=illustrative,
            village_code=str(v["code"]),
        )
        png, named = _static_map(v, villages, groups, sub)
        page = render_village_html(
            name,
            sub,
            batch=batch,
            issued_on=issued_on,
            due_on=due_on,
            illustrative=illustrative,
            map_png=png,
            map_names=named,
        )
        html_path = out_dir / f"{stem}.html"
        html_path.write_text(page, encoding="utf-8")
        map_html = out_dir / f"{stem}_地图.html"
        new = 0
        for rec in sub.to_dict(orient="records"):
            if rec["status"] == Status.ISSUED.value:
                to_move.append(({str(k): val for k, val in rec.items()}, name))
                new += 1
            else:
                res.already += 1
        res.villages.append(
            VillageDispatch(name, str(v["code"]), len(sub), new, xlsx, html_path, map_html)
        )
    res.summary = write_summary_workbook(out_dir / SUMMARY_NAME, frame, batch=batch, due_on=due_on)
    if to_move:
        changes = []
        for rec, name in to_move:
            check_move(rec, to_status=Status.DISPATCHED.value)
            changes.append(
                TargetChange(
                    pk=int(rec["pk"]),
                    from_status=Status.ISSUED.value,
                    from_result=None,
                    to_status=Status.DISPATCHED.value,
                    to_result=None,
                    version=int(rec["version"]),
                    target_id=str(rec["target_id"]),
                    event={
                        "batch_id": batch,
                        "kind": "dispatched",
                        "source": "command:dispatch",
                        "payload": {
                            "from": {"status": Status.ISSUED.value},
                            "to": {"status": Status.DISPATCHED.value},
                            "village": name,
                            "file": f"{safe_file_name(name)}.xlsx",
                        },
                    },
                )
            )
        with store.begin() as conn:
            change_targets(conn, changes, who=who)
        res.dispatched = len(to_move)
    # The village maps are drawn after the move, so they show the targets as dispatched.
    for vd in res.villages:
        if vd.map_html is not None:
            write_village_map(store, village_code=vd.village_code, batch=batch, path=vd.map_html)
    return res
