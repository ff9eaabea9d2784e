"""Demo steps of dispatch and feedback: dispatch March, villages answer, status, district report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl

from geoverify.documents.xlsx import header_name
from geoverify.progress import TOWN_LABEL
from geoverify.store import Store
from geoverify.workflows.demo import DEMO_ACTOR, DEMO_AS_OF
from geoverify.workflows.dispatch import dispatch_batch
from geoverify.workflows.feedback import import_feedback
from geoverify.workflows.reports import district_report, target_status

if TYPE_CHECKING:
    from geoverify.workflows.demo import DemoResult, DemoStep

DEMO_BATCH = "2024-03"
#: The demo's "today" for feedback dates and overdue counts (one date for every output).
DEMO_TODAY = DEMO_AS_OF

#: Sample answers, by position in a village's list: (result, plants, area, eradicated, case).
_ANSWERS: list[tuple[str, int | None, float | None, dt.date | None, str | None]] = [
    ("确认种植", 120, 35.0, dt.date(2024, 3, 9), None),
    ("排除", None, None, None, None),
    ("未发现", None, None, None, None),
]
_THRESHOLD = ("确认种植", 620, 150.0, dt.date(2024, 3, 12), "铜公(福)立字〔2024〕7号")


def fill_demo_workbook(src: Path, dst: Path, answers: list[tuple[Any, ...]]) -> int:
    """Fill the first rows of a village workbook with ``answers`` (as a village would)."""
    wb = openpyxl.load_workbook(src)
    ws = wb["核查清单"]
    header = next(r for r in range(1, 6) if ws.cell(r, 1).value == "序号")
    col = {header_name(ws.cell(header, i).value): i for i in range(1, ws.max_column + 1)}
    n = 0
    for offset, (result, plants, area, erad, case) in enumerate(answers):
        r = header + 1 + offset
        if ws.cell(r, col["靶标编号"]).value is None:
            break
        values = {
            "核查日期": dt.date(2024, 3, 8 + offset),
            "核查人员": "村禁毒专干",
            "核查结果": result,
            "株数": plants,
            "铲除面积（平方米）": area,
            "铲除日期": erad,
            "案件编号": case,
            "排除：实际为": "油菜" if result == "排除" else None,
            "备注": "示例反馈（演示数据）",
        }
        for k, v in values.items():
            if v is not None:
                ws.cell(r, col[k]).value = v
        n += 1
    wb.save(dst)
    return n


def _dispatch_and_answer(store: Store, result: DemoResult) -> None:
    out = result.workspace / "dispatch" / DEMO_BATCH
    res = dispatch_batch(store, batch=DEMO_BATCH, out=out, actor=DEMO_ACTOR)
    result.outputs["派发清单 (dispatch lists)"] = str(out)
    result.log(
        "dispatch",
        f"{DEMO_BATCH}: {len(res.villages)} 个村（社区）派发清单，{res.dispatched} 个靶标已派发",
    )
    answered = sorted(res.villages, key=lambda v: -v.targets)[:3]
    filled_dir = result.workspace / "feedback" / DEMO_BATCH
    filled_dir.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(answered):
        answers: list[tuple[Any, ...]] = list(_ANSWERS)
        if i == 0:
            answers = [_THRESHOLD, *answers]
        dst = filled_dir / f"{v.xlsx.stem}_反馈.xlsx"
        n = fill_demo_workbook(v.xlsx, dst, answers)
        fb = import_feedback(store, dst, actor=DEMO_ACTOR, today=DEMO_TODAY)
        result.log("feedback", f"{v.village}: {n} 行反馈，{len(fb.changes)} 个靶标更新")


def _status_and_report(store: Store, result: DemoResult) -> None:
    table = target_status(store, batch=DEMO_BATCH, as_of=DEMO_AS_OF)
    town = table[table["village"] == TOWN_LABEL].iloc[0]
    result.log(
        "status",
        f"{DEMO_BATCH}: 核查 {int(town['verified'])}/{int(town['issued'])}，"
        f"核查率 {100 * town['verification_rate']:.1f}%，吻合率 {100 * town['match_rate']:.1f}%，"
        f"逾期未反馈 {int(town['overdue'])}（统计截至 {DEMO_AS_OF}）",
    )
    per = table[table["village_code"].notna()].set_index("village_code")
    # {column: {village_code: value}}, merged into the demo table by run_demo.
    values = result.extra.setdefault("village_values", {})
    values["fb_dispatched"] = {str(c): int(r["dispatched"]) for c, r in per.iterrows()}
    values["fb_verified"] = {str(c): int(r["verified"]) for c, r in per.iterrows()}
    values["fb_rate"] = {str(c): f"{100 * r['verification_rate']:.0f}%" for c, r in per.iterrows()}
    cols = result.extra.setdefault("village_columns", [])
    cols += [("fb_dispatched", "已派发"), ("fb_verified", "已核查"), ("fb_rate", "核查率")]
    path = result.workspace / "reports" / f"区禁毒办反馈_{DEMO_BATCH}.xlsx"
    rep = district_report(store, batch=DEMO_BATCH, out=path, actor=DEMO_ACTOR, as_of=DEMO_AS_OF)
    result.outputs["区禁毒办反馈表 (district report)"] = str(path)
    result.extra["overdue"] = {"status": int(town["overdue"]), "report": rep.overdue}
    result.log(
        "report",
        f"{DEMO_BATCH}: 上报 {len(rep.marked)} 个，未核查 {len(rep.without_result)} 个，"
        f"逾期未反馈 {rep.overdue} 个（统计截至 {DEMO_AS_OF}）；镇外 {len(rep.outside)} 个，"
        "建议退回区禁毒办",
    )


STEPS: list[DemoStep] = [_dispatch_and_answer, _status_and_report]
