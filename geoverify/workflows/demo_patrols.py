"""Demo steps of the patrols feature: sample patrols, land cover, coverage, monthly report."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from geoverify.workflows.common import sample_path
from geoverify.workflows.coverage import (
    coverage_for_period,
    import_landcover,
    write_coverage_outputs,
    write_monthly_report,
)
from geoverify.workflows.patrols import import_patrols

if TYPE_CHECKING:
    from geoverify.store import Store
    from geoverify.workflows.demo import DemoResult, DemoStep

DEMO_MONTH = "2024-03"
#: The sample table counts as received on this day (before the 25th deadline).
DEMO_RECEIVED = dt.date(2024, 3, 22)


def import_sample_patrols(store: Store, result: DemoResult) -> None:
    """Import the sample GPX tracks, then the sample table that names them."""
    gpx = import_patrols(
        store,
        sample_path("samples", "patrols_2024-03.gpx"),
        received_on=DEMO_RECEIVED,
        actor="demo",
    )
    table = import_patrols(
        store,
        sample_path("samples", "patrols_2024-03.csv"),
        received_on=DEMO_RECEIVED,
        actor="demo",
    )
    result.log(
        "patrols",
        f"GPX {gpx.imported} 条轨迹、{gpx.waypoints} 个航点；踏查表 {table.imported} 条记录 "
        f"({table.tracked} 有轨迹，{table.imported - table.tracked} 仅报送)",
    )
    lc = import_landcover(store, sample_path("samples", "landcover_sample.tif"), actor="demo")
    result.log("landcover", f"土地覆盖 {lc.crs} {lc.cell_m:g} m → {lc.path}")


def coverage_and_report(store: Store, result: DemoResult) -> None:
    """Coverage of the demo month, its output files, and the monthly report."""
    start, end = dt.date(2024, 3, 1), dt.date(2024, 3, 31)
    cov = coverage_for_period(store, start=start, end=end)
    out = write_coverage_outputs(cov, store.workspace / "coverage" / DEMO_MONTH)
    result.outputs["覆盖率 (coverage)"] = str(out["villages_csv"].parent)
    pct = dict(zip(cov.villages["code"], cov.villages["covered_pct"], strict=True))
    result.extra.setdefault("village_columns", []).append(("covered_pct", "覆盖率%"))
    if result.villages is not None and "village_code" in result.villages:
        result.villages["covered_pct"] = result.villages["village_code"].map(pct)
    # Merged into the demo table by code (see the report: a small hook in run_demo).
    result.extra.setdefault("village_values", {})["covered_pct"] = {
        str(k): (None if v is None else round(float(v), 1)) for k, v in pct.items()
    }
    t = cov.totals
    result.log(
        "coverage",
        f"{DEMO_MONTH} 全镇轨迹覆盖率 {t['covered_pct']:.1f}%，重点区域 "
        f"{t['priority_covered_pct']:.1f}%，未踏查区域 {t['unsurveyed_areas']} 块",
    )
    rep = write_monthly_report(
        store, month=DEMO_MONTH, out_dir=store.workspace / "reports" / f"monthly_{DEMO_MONTH}"
    )
    result.outputs["月报 (monthly report)"] = str(rep.out_dir)
    result.log(
        "report",
        f"{DEMO_MONTH} 踏查情况统计表 {len(rep.village_files)} 个文件；未报送："
        + ("、".join(rep.summary.not_reported) or "无"),
    )


STEPS: list[DemoStep] = [import_sample_patrols, coverage_and_report]
