"""District report (反馈区禁毒办): one row per target of a batch, plus a summary sheet."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pandas as pd

from geoverify.documents.xlsx import new_workbook, write_sheet
from geoverify.lifecycle import THRESHOLD_LABELS
from geoverify.model import RESULT_LABELS, STATUS_LABELS
from geoverify.progress import SUMMARY_LABELS, sort_targets_for_lists, threshold_levels

__all__ = ["DISTRICT_HEADERS", "MU_M2", "district_rows", "write_district_report"]

#: Square metres in one 亩.
MU_M2 = 10000.0 / 15.0

DISTRICT_HEADERS: tuple[str, ...] = (
    "序号",
    "靶标编号",
    "村（社区）",
    "组",
    "经度",
    "纬度",
    "核查结果",
    "核查日期",
    "核查人员",
    "株数",
    "铲除面积（平方米）",
    "铲除面积（亩）",
    "铲除日期",
    "案件编号",
    "刑事立案标准",
    "状态",
    "备注",
)

_NOT_CHECKED = "未核查"


def _v(rec: dict[str, Any], key: str) -> Any:
    v = rec.get(key)
    if v is None:
        return None
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, list | tuple | dict | set):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        return v
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if hasattr(v, "item"):
        return v.item()
    return v


def district_rows(frame: pd.DataFrame) -> list[list[Any]]:
    """Rows of the district report, threshold cases first (see :data:`DISTRICT_HEADERS`)."""
    if len(frame) == 0:
        return []
    ordered = sort_targets_for_lists(frame)
    levels = threshold_levels(ordered)
    rows: list[list[Any]] = []
    recs = [{str(k): v for k, v in r.items()} for r in ordered.to_dict(orient="records")]
    for i, (rec, level) in enumerate(zip(recs, levels, strict=True), start=1):
        result = _v(rec, "result")
        area = _v(rec, "eradicated_area_m2")
        lon, lat = _v(rec, "lon"), _v(rec, "lat")
        status = _v(rec, "status")
        rows.append(
            [
                i,
                str(rec["target_id"]),
                _v(rec, "village") or "镇外",
                _v(rec, "group"),
                round(float(lon), 6) if lon is not None else None,
                round(float(lat), 6) if lat is not None else None,
                RESULT_LABELS.get(str(result), str(result)) if result else _NOT_CHECKED,
                _v(rec, "verified_on"),
                _v(rec, "verified_by"),
                _v(rec, "plants"),
                round(float(area), 1) if area is not None else None,
                round(float(area) / MU_M2, 3) if area is not None else None,
                _v(rec, "eradicated_on"),
                _v(rec, "case_no"),
                THRESHOLD_LABELS.get(level) if isinstance(level, str) else None,
                STATUS_LABELS.get(str(status), status) if status else None,
                _v(rec, "remarks"),
            ]
        )
    return rows


def write_district_report(
    path: str | os.PathLike[str],
    frame: pd.DataFrame,
    *,
    batch: str,
    summary: pd.DataFrame,
    town: str | None = None,
) -> Path:
    """Write the batch report for the district narcotics office (区禁毒办).

    Parameters
    ----------
    path
        The ``.xlsx`` to write.
    frame
        Every target of the batch (targets frame contract).
    batch
        Batch id, shown in the titles.
    summary
        :func:`geoverify.progress.status_summary` of the same targets.
    town
        Town name for the titles (e.g. ``"福果镇"``).

    Returns
    -------
    pathlib.Path
        The path written. Sheet 核查反馈 has one row per target (threshold cases first), sheet
        汇总 the per-village counts with 核查率/吻合率 as percentages.
    """
    prefix = town or ""
    wb = new_workbook()
    write_sheet(
        wb.create_sheet("核查反馈"),
        list(DISTRICT_HEADERS),
        district_rows(frame),
        title=f"{prefix}疑似靶标核查情况反馈表（批次 {batch}）",
        number_formats={"经度": "0.000000", "纬度": "0.000000", "铲除面积（亩）": "0.000"},
        landscape=True,
    )
    cols = [c for c in SUMMARY_LABELS if c in summary.columns]
    table = [[_v({"x": row[c]}, "x") for c in cols] for _, row in summary.iterrows()]
    write_sheet(
        wb.create_sheet("汇总"),
        [SUMMARY_LABELS[c] for c in cols],
        table,
        title=f"{prefix}疑似靶标核查情况汇总（批次 {batch}）",
        number_formats={"核查率": "0.0%", "吻合率": "0.0%", "铲除面积（平方米）": "0.0"},
        landscape=True,
    )
    out = Path(path)
    wb.save(out)
    return out
