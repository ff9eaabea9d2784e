"""Demo steps of the maps feature: the town map ``maps/demo.html``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from geoverify.workflows.demo import DEMO_AS_OF
from geoverify.workflows.maps import write_store_map

if TYPE_CHECKING:
    from geoverify.store import Store
    from geoverify.workflows.demo import DemoResult, DemoStep

DEMO_MAP_NAME = "demo.html"


def town_map(store: Store, result: DemoResult) -> None:
    """Write the town map of every target, with the coverage of the latest patrol month."""
    maps_dir = Path(result.extra.get("maps_dir") or result.workspace / "maps")
    res = write_store_map(store, out=maps_dir / DEMO_MAP_NAME, as_of=DEMO_AS_OF)
    result.outputs["地图 (map)"] = str(res.out)
    cover = (
        f"，踏查 {res.month}：轨迹 {res.tracks} 条、未踏查区域 {res.unsurveyed} 块"
        if res.month
        else ""
    )
    overdue = sum(1 for c in res.categories if c == "overdue")
    result.extra.setdefault("overdue", {})["map"] = overdue
    result.log(
        "map",
        f"{res.villages} 个村（社区）、{res.targets} 个靶标（逾期未反馈 {overdue} 个，"
        f"统计截至 {DEMO_AS_OF}）、{res.photos} 张照片{cover}；"
        f"{len(res.html.encode('utf-8')) / 1e6:.1f} MB，离线可用 (works offline)",
    )


STEPS: list[DemoStep] = [town_map]
