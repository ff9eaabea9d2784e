"""District report (反馈区禁毒办): one row per target of a batch, plus a summary sheet."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.styles import Alignment, Font

from geoverify.documents.xlsx import (
    FONT_NAME,
    new_workbook,
    write_lines_below,
    write_sheet,
)
from geoverify.lifecycle import THRESHOLD_LABELS
from geoverify.model import RESULT_LABELS, STATUS_LABELS
from geoverify.outside import FAR_OUTSIDE_KM
from geoverify.problems import split_bilingual
from geoverify.progress import (
    OUTSIDE_LABEL,
    OUTSIDE_NOTE,
    SUMMARY_LABELS,
    TOWN_LABEL,
    outside_town_mask,
    sort_targets_for_lists,
    threshold_levels,
)

__all__ = [
    "DISTRICT_HEADERS",
    "MU_M2",
    "NO_RATE",
    "OUTSIDE_HEADERS",
    "REJECTED_HEADERS",
    "district_rows",
    "outside_rows",
    "rejected_rows",
    "signature_lines",
    "write_district_report",
]

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

#: Columns of the sheet of targets outside the town (镇外靶标).
OUTSIDE_HEADERS: tuple[str, ...] = (
    "序号",
    "靶标编号",
    "经度",
    "纬度",
    "距最近村界（米）",
    "状态",
    "处理建议",
)

#: Columns of the sheet of the file's rows that could not be imported (有误未导入).
REJECTED_HEADERS: tuple[str, ...] = ("序号", "原表行号", "靶标编号", "原因", "处理建议")
#: What the district is asked to do with a row the town could not import.
REJECTED_NOTE = "请核实后重新下发"
#: A target outside the town this far (m) from every village is most likely a typo.
FAR_OUTSIDE_M = FAR_OUTSIDE_KM * 1000.0
#: The 处理建议 of such a target.
FAR_NOTE = f"距本镇超过 {FAR_OUTSIDE_KM:g} 公里，多半是坐标录错或经纬度颠倒，请核对后退回"

#: Column widths of the 核查反馈 sheet. Seventeen columns on one A4 landscape page: narrow
#: columns, long headers and text wrapped, so that fit-to-width prints the body at about 8 pt
#: or more (LibreOffice, whose column unit is wider than Excel's) — it was 6.7 pt.
_WIDTHS = {
    "序号": 4.5,
    "靶标编号": 13,
    "村（社区）": 9.5,
    "组": 5.5,
    "经度": 10.5,
    "纬度": 9.5,
    "核查结果": 9.5,
    "核查日期": 10.5,
    "核查人员": 10,
    "株数": 6,
    "铲除面积（平方米）": 10,  # the unit（平方米）on one line under 铲除面积
    "铲除面积（亩）": 7,
    "铲除日期": 10.5,
    "案件编号": 11,
    "刑事立案标准": 10.5,
    "状态": 7,
    "备注": 10,
}
#: Columns of the 核查反馈 sheet whose text wraps.
_WRAPPED = ("村（社区）", "核查结果", "核查人员", "案件编号", "刑事立案标准", "备注")
#: Left and right page margins (inches) of the 核查反馈 sheet: the table needs the width.
_NARROW_MARGIN = 0.25
#: Shown for a rate that does not apply: the targets outside the town are the district's, not
#: the town's work (returned to the district), so they have no 核查率 or 吻合率.
NO_RATE = "—"
_RATES = ("verification_rate", "match_rate")


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


def outside_rows(frame: pd.DataFrame) -> list[list[Any]]:
    """Rows of the 镇外靶标 sheet (see :data:`OUTSIDE_HEADERS`), by target id."""
    if len(frame) == 0:
        return []
    ordered = sort_targets_for_lists(frame)
    rows: list[list[Any]] = []
    recs = [{str(k): v for k, v in r.items()} for r in ordered.to_dict(orient="records")]
    for i, rec in enumerate(recs, start=1):
        lon, lat = _v(rec, "lon"), _v(rec, "lat")
        dist = _v(rec, "distance_m")
        status = _v(rec, "status")
        result = _v(rec, "result")
        rows.append(
            [
                i,
                str(rec["target_id"]),
                round(float(lon), 6) if lon is not None else None,
                round(float(lat), 6) if lat is not None else None,
                round(float(dist)) if dist is not None else None,
                RESULT_LABELS.get(str(result), str(result))
                if result
                else STATUS_LABELS.get(str(status), status),
                FAR_NOTE if dist is not None and float(dist) > FAR_OUTSIDE_M else OUTSIDE_NOTE,
            ]
        )
    return rows


def rejected_rows(rejected: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows of the 有误未导入 sheet (see :data:`REJECTED_HEADERS`): one a file row, its reasons
    joined, in the file's order."""
    by_row: dict[int, list[dict[str, Any]]] = {}
    for r in rejected:
        by_row.setdefault(int(r["row"]), []).append(r)
    out: list[list[Any]] = []
    for i, (row, problems) in enumerate(sorted(by_row.items()), start=1):
        ids = [str(p["target_id"]) for p in problems if p.get("target_id")]
        # The Chinese of each reason (a stored reason may carry its English in brackets).
        reasons = list(dict.fromkeys(split_bilingual(str(p["reason"]))[0] for p in problems))
        out.append([i, row, ids[0] if ids else None, "；".join(reasons), REJECTED_NOTE])
    return out


def signature_lines(unit: str, *, reviewer: str | None, as_of: dt.date | None) -> list[str]:
    """The lines under a report: reporting unit, who filled in and reviewed, date, seal."""
    gap = "　" * 6
    day = f"{as_of.year}年{as_of.month}月{as_of.day}日" if as_of else "　　年　　月　　日"
    return [
        f"填报单位（盖章）：{unit}{gap}填报人：{gap}审核人：{reviewer or gap}",
        f"填报日期：{day}{gap}联系电话：",
    ]


def write_district_report(
    path: str | os.PathLike[str],
    frame: pd.DataFrame,
    *,
    batch: str,
    summary: pd.DataFrame,
    town: str | None = None,
    as_of: dt.date | None = None,
    reviewer: str | None = None,
    rejected: list[dict[str, Any]] | None = None,
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
    as_of
        The date the counts (overdue) are taken on; printed under every title.
    reviewer
        Name printed after 审核人 (blank for ink when None).
    rejected
        The rows of the district's file the import refused (``row``, ``target_id``,
        ``reason``), sent back on a sheet of their own to be checked and issued again.

    Returns
    -------
    pathlib.Path
        The path written. Sheet 核查反馈 has one row per target of the town (threshold cases
        first); sheet 汇总 the per-village counts with 核查率/吻合率 as percentages, the town's
        total, and the targets outside the town on a row of their own under it (rates “—”:
        nothing to rate, they go back to the district); sheet 镇外靶标 (only when there are
        any) the targets outside the town, not the town's work (镇外，建议退回区禁毒办; a far
        one most likely a typo); sheet 有误未导入 (only when there are any) the file's rows the
        import refused, with their reasons (请核实后重新下发).
        Every sheet prints on A4 landscape, one page wide, header repeated, and ends with the
        reporting unit, 填报人, 审核人, date and seal lines.
    """
    prefix = town or ""
    unit = f"{prefix}平安办" if prefix else "镇平安办"
    day = f"统计截至 {as_of.isoformat()}" if as_of else None
    away = outside_town_mask(frame).to_numpy() if len(frame) else None
    own = frame[~away] if away is not None else frame
    outside = frame[away] if away is not None else frame.iloc[0:0]
    wb = new_workbook()
    sub = f"填报单位：{unit}" + (f"　　{day}" if day else "")
    sub += f"　　本镇靶标 {len(own)} 个"
    if len(outside):
        sub += f"；另有镇外靶标 {len(outside)} 个，见“镇外靶标”表"
    refused = rejected_rows(rejected or [])
    if refused:
        sub += f"；原表有误未导入 {len(refused)} 行，见“有误未导入”表"
    ws = wb.create_sheet("核查反馈")
    header_row = write_sheet(
        ws,
        list(DISTRICT_HEADERS),
        district_rows(own),
        title=f"{prefix}疑似靶标核查情况反馈表（批次 {batch}）",
        subtitle=sub,
        widths=_WIDTHS,
        wrap=_WRAPPED,
        centre=("序号", "组", "核查结果", "状态"),
        number_formats={"经度": "0.000000", "纬度": "0.000000", "铲除面积（亩）": "0.000"},
        landscape=True,
    )
    ws.page_margins.left = ws.page_margins.right = _NARROW_MARGIN
    write_lines_below(
        ws,
        header_row + len(own) + 2,
        signature_lines(unit, reviewer=reviewer, as_of=as_of),
        columns=len(DISTRICT_HEADERS),
    )

    cols = [c for c in SUMMARY_LABELS if c in summary.columns]
    table = []
    for _, row in summary.iterrows():
        beyond = row.get("village") == OUTSIDE_LABEL
        table.append([NO_RATE if beyond and c in _RATES else _v({"x": row[c]}, "x") for c in cols])
    headers = [SUMMARY_LABELS[c] for c in cols]
    s = wb.create_sheet("汇总")
    header_row = write_sheet(
        s,
        headers,
        table,
        title=f"{prefix}疑似靶标核查情况汇总（批次 {batch}）",
        subtitle=f"填报单位：{unit}"
        + (f"　　{day}" if day else "")
        + "　　合计只含本镇靶标，镇外靶标单列",
        # long headers wrap; 村（社区） holds 镇外，建议退回区禁毒办 on one line
        widths={h: max(6.0, min(9.0, len(h) * 2.0 + 1)) for h in headers}
        | {"村（社区）": 24, "村（社区）代码": 14},
        wrap=headers,
        number_formats={"核查率": "0.0%", "吻合率": "0.0%", "铲除面积（平方米）": "0.0"},
        landscape=True,
    )
    s.page_margins.left = s.page_margins.right = _NARROW_MARGIN
    labels = [str(x) for x in summary["village"]] if "village" in summary.columns else []
    for i, label in enumerate(labels):
        if label in (TOWN_LABEL, OUTSIDE_LABEL):
            for c in range(1, len(headers) + 1):
                s.cell(row=header_row + 1 + i, column=c).font = Font(
                    name=FONT_NAME, bold=label == TOWN_LABEL, italic=label == OUTSIDE_LABEL
                )
        if label == OUTSIDE_LABEL:
            for j, key in enumerate(cols, start=1):
                if key in _RATES:
                    cell = s.cell(row=header_row + 1 + i, column=j)
                    cell.alignment = Alignment(horizontal="center", vertical="center")
    write_lines_below(
        s,
        header_row + len(table) + 2,
        signature_lines(unit, reviewer=reviewer, as_of=as_of),
        columns=len(headers),
    )

    if len(outside):
        o = wb.create_sheet("镇外靶标")
        header_row = write_sheet(
            o,
            list(OUTSIDE_HEADERS),
            outside_rows(outside),
            title=f"{prefix}镇外疑似靶标（批次 {batch}）——不属本镇辖区，建议退回区禁毒办",
            subtitle=f"填报单位：{unit}" + (f"　　{day}" if day else ""),
            widths={"处理建议": 30, "状态": 12, "距最近村界（米）": 10, "靶标编号": 15},
            wrap=("处理建议",),
            number_formats={"经度": "0.000000", "纬度": "0.000000"},
            landscape=True,
        )
        write_lines_below(
            o,
            header_row + len(outside) + 2,
            signature_lines(unit, reviewer=reviewer, as_of=as_of),
            columns=len(OUTSIDE_HEADERS),
        )
    if refused:
        r = wb.create_sheet("有误未导入")
        header_row = write_sheet(
            r,
            list(REJECTED_HEADERS),
            refused,
            title=f"{prefix}原表有误、未能导入的行（批次 {batch}）——请核实后重新下发",
            subtitle=f"填报单位：{unit}" + (f"　　{day}" if day else ""),
            widths={"原表行号": 8, "靶标编号": 15, "原因": 60, "处理建议": 16},
            wrap=("原因",),
            centre=("序号", "原表行号"),
            landscape=True,
        )
        write_lines_below(
            r,
            header_row + len(refused) + 2,
            signature_lines(unit, reviewer=reviewer, as_of=as_of),
            columns=len(REJECTED_HEADERS),
        )
    out = Path(path)
    wb.save(out)
    return out
