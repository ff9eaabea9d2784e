"""Progress (核查进度), a target's history, and the report to the district (反馈区禁毒办)."""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geoverify.documents.district import write_district_report
from geoverify.errors import InputError
from geoverify.lifecycle import CRIMINAL_THRESHOLD, count_missing, threshold_level
from geoverify.model import Status
from geoverify.progress import (
    OUTSIDE_LABEL,
    SUMMARY_LABELS,
    TOWN_LABEL,
    outside_town_mask,
    status_summary,
)
from geoverify.store import Store, repo
from geoverify.store import batches as store_batches
from geoverify.store.changes import TargetChange, change_targets
from geoverify.workflows.common import Actor, make_who, today_local
from geoverify.workflows.feedback import check_move
from geoverify.workflows.spotcheck import SpotcheckSummary, spotcheck_summary

__all__ = [
    "TOWN_NAME",
    "DistrictReportResult",
    "StatusReport",
    "district_report",
    "status_report",
    "target_status",
]

#: Town name shown in report titles.
TOWN_NAME = "福果镇"


def target_status(
    store: Store,
    *,
    batch: str | None = None,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Per-village and town counts (:func:`geoverify.progress.status_summary`) of a batch or of
    every target on ``as_of`` (default today in Asia/Shanghai; ``today`` is its old name)."""
    return status_report(store, batch=batch, as_of=as_of or today).table


def _rate(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 4)


@dataclass
class StatusReport:
    """Progress per village and for the town on a date (``geoverify status``, the dashboard)."""

    batch: str | None
    as_of: dt.date
    table: pd.DataFrame
    #: Supervision spot checks (抽查): drawn, re-inspected, 一致 / 不一致, agreement rate.
    spotcheck: SpotcheckSummary | None = None
    #: Targets counted here that a later batch issued again by ``as_of`` (every batch's
    #: report only: each counts once, with the latest deadline of its batches).
    reissued: int = 0

    @property
    def today(self) -> dt.date:
        """The as-of date (old name)."""
        return self.as_of

    @property
    def records(self) -> list[dict[str, Any]]:
        """One dict per row, rates rounded: the villages, the targets outside the town that the
        office took on (if any), the town's total, and last the targets outside the town
        (:data:`OUTSIDE_LABEL`, if any)."""
        out = []
        for row in self.table.to_dict("records"):
            rec = {k: row[k] for k in SUMMARY_LABELS}
            rec["verification_rate"] = _rate(rec["verification_rate"])
            rec["match_rate"] = _rate(rec["match_rate"])
            out.append(rec)
        return out

    @property
    def reissued_note(self) -> str | None:
        """What to say of targets issued again (None when none are counted here)."""
        if not self.reissued:
            return None
        return f"重复下发的靶标（{self.reissued} 个）只计一次，核查时限取各次下发中最晚的"

    @property
    def town(self) -> dict[str, Any]:
        """The town's total row (its work only: never the targets outside the town)."""
        return next(r for r in self.records if r["village"] == TOWN_LABEL)

    @property
    def outside(self) -> dict[str, Any] | None:
        """Counts of the targets outside the town (never in the town's total), or None."""
        return next((r for r in self.records if r["village"] == OUTSIDE_LABEL), None)

    @property
    def results_to_report(self) -> int:
        """Targets with a result not yet reported, in the town and outside it: what the
        district report of the batch would mark as reported."""
        rows = [self.town, *([self.outside] if self.outside else [])]
        return sum(int(r["verified"]) - int(r["reported"]) for r in rows)

    def to_json(self) -> dict[str, Any]:
        """The documented ``status --json`` document.

        ``villages`` has one row per village and, last, the row of targets outside the town
        (also under ``outside``); ``town`` is the town's work only; ``as_of`` (also ``today``)
        is the date that decides overdue targets.
        """
        records = self.records
        return {
            "batch": self.batch,
            "as_of": self.as_of,
            "today": self.as_of,
            "villages": [r for r in records if r["village"] != TOWN_LABEL],
            "town": self.town,
            "outside": self.outside,
            "spotcheck": (self.spotcheck or SpotcheckSummary()).to_json(),
            "reissued": self.reissued,
        }


def status_report(
    store: Store,
    *,
    batch: str | None = None,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
    village: str | None = None,
) -> StatusReport:
    """Per-village and town progress of a batch (or of every target) on ``as_of``.

    ``as_of`` (``today`` is its old name) defaults to today in Asia/Shanghai. ``village`` (a
    code) limits the counts to that village's targets (a village user's view).
    """
    store.require()
    day = as_of or today or today_local()
    with store.connect() as conn:
        if batch is not None:
            store_batches.get_batch(conn, batch)
        frame = repo.load_targets(conn, batch=batch, village=village, as_of=day)
        spot = spotcheck_summary(conn, batch=batch, village_code=village)
        again = 0 if batch is not None else repo.count_reissued(conn, village=village, as_of=day)
    return StatusReport(batch, day, status_summary(frame, as_of=day), spot, reissued=again)


@dataclass
class DistrictReportResult:
    """What ``district_report`` did."""

    batch: str
    path: Path
    as_of: dt.date | None = None
    targets: int = 0
    marked: list[str] = field(default_factory=list)
    already_reported: int = 0
    without_result: list[str] = field(default_factory=list)
    #: Targets outside the town (镇外，建议退回区禁毒办): listed apart, not the town's work.
    outside: list[str] = field(default_factory=list)
    overdue: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "path": str(self.path),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "targets": self.targets,
            "marked_reported": len(self.marked),
            "marked": self.marked,
            "already_reported": self.already_reported,
            "without_result": self.without_result,
            "outside": self.outside,
            "overdue": self.overdue,
        }


def _missing_counts(frame: pd.DataFrame) -> list[str]:
    """Confirmed plantings not yet reported whose plant count is not filled in: the district
    counts plants, and a count unknown would also pass the criminal threshold unseen."""
    out = []
    for rec in frame.to_dict(orient="records"):
        if rec["status"] != Status.REPORTED.value and count_missing(rec["result"], rec["plants"]):
            out.append(f"{rec['target_id']}（{rec['village'] or '镇外'}）")
    return out


def _missing_case_numbers(frame: pd.DataFrame) -> list[str]:
    out = []
    for rec in frame.to_dict(orient="records"):
        if rec["result"] != "confirmed" or rec["status"] == Status.REPORTED.value:
            continue
        plants = rec["plants"]
        level = threshold_level(None if plants is None or pd.isna(plants) else plants)
        case_no = rec["case_no"]
        if level is not None and not (isinstance(case_no, str) and case_no.strip()):
            out.append(f"{rec['target_id']}（{rec['village'] or '镇外'}，{int(plants)} 株）")
    return out


def district_report(
    store: Store,
    *,
    batch: str,
    out: str | os.PathLike[str],
    actor: str | Actor | None = None,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
    reviewer: str | None = None,
) -> DistrictReportResult:
    """Write the batch report for the district and mark its targets with a result as reported.

    ``as_of`` (``today`` is its old name; default today in Asia/Shanghai) is printed in the
    report and decides its overdue count. Targets outside the town that nobody took on are
    listed on their own sheet (镇外，建议退回区禁毒办), not as the town's work, and are not
    marked. Targets without a result are listed but not marked. A confirmed target without a
    plant count, or at the criminal threshold (≥500 plants) without a case number, refuses the
    whole report: nothing is written or marked, and the error names every such target.
    """
    path = Path(out)
    if path.suffix.lower() != ".xlsx":
        msg = f"报表文件应以 .xlsx 结尾 (the report must be an .xlsx file): {path}"
        raise InputError(msg)
    store.require()
    day = as_of or today or today_local()
    who = make_who(actor=actor, source="command:report district")
    res = DistrictReportResult(batch, path, as_of=day)
    with store.begin() as conn:
        store_batches.get_batch(conn, batch)
        frame = repo.load_targets(conn, batch=batch)
        if frame.empty:
            msg = f"批次 {batch} 没有靶标 (batch {batch} has no targets)"
            raise InputError(msg)
        uncounted = _missing_counts(frame)
        if uncounted:
            msg = (
                "以下靶标为确认种植但未填株数，不能上报；请先补填株数（网页：核查反馈中打开该靶标"
                "填写“株数”，命令行用 geoverify feedback set --plants）："
                + "、".join(uncounted)
                + f" (confirmed plantings without a plant count: {len(uncounted)};"
                " nothing was written)"
            )
            raise InputError(msg)
        blocked = _missing_case_numbers(frame)
        if blocked:
            msg = (
                f"以下靶标已达刑事立案标准（≥{CRIMINAL_THRESHOLD}株）但没有案件编号，"
                "不能上报；请先补填案件编号（网页：核查反馈中打开该靶标填写“案件编号”，"
                "命令行用 geoverify feedback set --case）："
                + "、".join(blocked)
                + f" (targets at the criminal threshold without a case number: {len(blocked)};"
                " nothing was written)"
            )
            raise InputError(msg)
        changes: list[TargetChange] = []
        away = outside_town_mask(frame).to_numpy()
        res.outside = sorted(str(t) for t in frame.loc[away, "target_id"])
        for rec in frame[~away].to_dict(orient="records"):
            rec = {str(k): v for k, v in rec.items()}
            if not isinstance(rec["result"], str):
                res.without_result.append(str(rec["target_id"]))
                continue
            if rec["status"] == Status.REPORTED.value:
                res.already_reported += 1
                continue
            check_move(rec, to_status=Status.REPORTED.value)
            res.marked.append(str(rec["target_id"]))
            changes.append(
                TargetChange(
                    pk=int(rec["pk"]),
                    from_status=str(rec["status"]),
                    from_result=rec["result"],
                    to_status=Status.REPORTED.value,
                    to_result=rec["result"],
                    version=int(rec["version"]),
                    target_id=str(rec["target_id"]),
                    event={
                        "batch_id": batch,
                        "kind": "reported",
                        "source": "command:report district",
                        "payload": {
                            "from": {"status": rec["status"], "result": rec["result"]},
                            "to": {"status": Status.REPORTED.value, "result": rec["result"]},
                            "file": path.name,
                            "case_no": rec["case_no"] if isinstance(rec["case_no"], str) else None,
                        },
                    },
                )
            )
        change_targets(conn, changes, who=who)
        final = repo.load_targets(conn, batch=batch)
        res.targets = len(final)
        summary = status_summary(final, as_of=day)
        res.overdue = int(summary.loc[summary["village"] == TOWN_LABEL, "overdue"].iloc[0])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_district_report(
                path,
                final,
                batch=batch,
                summary=summary,
                town=TOWN_NAME,
                as_of=day,
                reviewer=reviewer,
                rejected=store_batches.rejected_rows_of(conn, batch),
            )
        except OSError as e:
            msg = f"无法写入报表 (cannot write the report) {path}: {e.strerror or e}"
            raise InputError(msg) from e
    return res
