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
from geoverify.lifecycle import CRIMINAL_THRESHOLD, threshold_level
from geoverify.model import Status
from geoverify.progress import SUMMARY_LABELS, TOWN_LABEL, status_summary
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
    store: Store, *, batch: str | None = None, today: dt.date | None = None
) -> pd.DataFrame:
    """Per-village and town counts (:func:`geoverify.progress.status_summary`) of a batch or of
    every target."""
    store.require()
    with store.connect() as conn:
        if batch is not None:
            store_batches.get_batch(conn, batch)
        frame = repo.load_targets(conn, batch=batch)
    return status_summary(frame, today=today or today_local())


def _rate(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 4)


@dataclass
class StatusReport:
    """Progress per village and for the town on a date (``geoverify status``, the dashboard)."""

    batch: str | None
    today: dt.date
    table: pd.DataFrame
    #: Supervision spot checks (抽查): drawn, re-inspected, 一致 / 不一致, agreement rate.
    spotcheck: SpotcheckSummary | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        """One dict per row (villages, outside the town, the town last); rates rounded."""
        out = []
        for row in self.table.to_dict("records"):
            rec = {k: row[k] for k in SUMMARY_LABELS}
            rec["verification_rate"] = _rate(rec["verification_rate"])
            rec["match_rate"] = _rate(rec["match_rate"])
            out.append(rec)
        return out

    def to_json(self) -> dict[str, Any]:
        """The documented ``status --json`` document."""
        records = self.records
        return {
            "batch": self.batch,
            "today": self.today,
            "villages": [r for r in records if r["village"] != TOWN_LABEL],
            "town": next(r for r in records if r["village"] == TOWN_LABEL),
            "spotcheck": (self.spotcheck or SpotcheckSummary()).to_json(),
        }


def status_report(
    store: Store,
    *,
    batch: str | None = None,
    today: dt.date | None = None,
    village: str | None = None,
) -> StatusReport:
    """Per-village and town progress of a batch (or of every target) on ``today``.

    ``village`` (a code) limits the counts to that village's targets (a village user's view).
    """
    store.require()
    today = today or today_local()
    with store.connect() as conn:
        if batch is not None:
            store_batches.get_batch(conn, batch)
        frame = repo.load_targets(conn, batch=batch, village=village)
        spot = spotcheck_summary(conn, batch=batch, village_code=village)
    return StatusReport(batch, today, status_summary(frame, today=today), spot)


@dataclass
class DistrictReportResult:
    """What ``district_report`` did."""

    batch: str
    path: Path
    targets: int = 0
    marked: list[str] = field(default_factory=list)
    already_reported: int = 0
    without_result: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "path": str(self.path),
            "targets": self.targets,
            "marked_reported": len(self.marked),
            "marked": self.marked,
            "already_reported": self.already_reported,
            "without_result": self.without_result,
        }


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
    today: dt.date | None = None,
) -> DistrictReportResult:
    """Write the batch report for the district and mark its targets with a result as reported.

    Targets without a result are listed but not marked. A confirmed target at the criminal
    threshold (≥500 plants) without a case number refuses the whole report: nothing is written
    or marked, and the error names every such target.
    """
    path = Path(out)
    if path.suffix.lower() != ".xlsx":
        msg = f"报表文件应以 .xlsx 结尾 (the report must be an .xlsx file): {path}"
        raise InputError(msg)
    store.require()
    today = today or today_local()
    who = make_who(actor=actor, source="command:report district")
    res = DistrictReportResult(batch, path)
    with store.begin() as conn:
        store_batches.get_batch(conn, batch)
        frame = repo.load_targets(conn, batch=batch)
        if frame.empty:
            msg = f"批次 {batch} 没有靶标 (batch {batch} has no targets)"
            raise InputError(msg)
        blocked = _missing_case_numbers(frame)
        if blocked:
            msg = (
                f"以下靶标已达刑事立案标准（≥{CRIMINAL_THRESHOLD}株）但没有案件编号，"
                "不能上报；请先用 `geoverify feedback set` 补填案件编号："
                + "、".join(blocked)
                + f" (targets at the criminal threshold without a case number: {len(blocked)};"
                " nothing was written)"
            )
            raise InputError(msg)
        changes: list[TargetChange] = []
        for rec in frame.to_dict(orient="records"):
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_district_report(
                path,
                final,
                batch=batch,
                summary=status_summary(final, today=today),
                town=TOWN_NAME,
            )
        except OSError as e:
            msg = f"无法写入报表 (cannot write the report) {path}: {e.strerror or e}"
            raise InputError(msg) from e
    return res
