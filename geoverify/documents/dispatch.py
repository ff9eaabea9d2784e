"""Dispatch lists (派发清单): village XLSX with feedback columns, printable HTML, town summary."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.styles import Font, PatternFill

from geoverify.documents.xlsx import (
    FONT_NAME,
    TARGET_WIDTHS,
    ColumnGroup,
    Link,
    Validation,
    display_width,
    new_workbook,
    write_sheet,
)
from geoverify.model import ASSIGNMENT_LABELS, EXCLUDED_AS_LEAD, EXCLUDED_AS_OTHER, RESULT_LABELS
from geoverify.navigation import format_degrees, navigation_links, to_dms
from geoverify.progress import OUTSIDE_NOTE, natural_key, sort_targets_for_lists
from geoverify.readers.tables import AREA_HEADERS, DATE_HEADERS, find_column

__all__ = [
    "DISPATCH_FORMAT",
    "DISPATCH_FORMAT_VERSION",
    "EXCLUDED_AS_CHOICES",
    "FEEDBACK_FIELDS",
    "FEEDBACK_HEADERS",
    "FILL_COLOUR",
    "META_SHEET",
    "MU_M2",
    "RESULT_CHOICES",
    "STATE_HEADER",
    "SUMMARY_HEADERS",
    "SUPPORTED_FORMAT_VERSIONS",
    "TARGET_HEADERS",
    "dispatch_rows",
    "district_column_names",
    "recorded_answer",
    "render_village_html",
    "target_notes",
    "write_summary_workbook",
    "write_village_workbook",
]

#: Identifies our dispatch workbooks in the hidden metadata sheet.
DISPATCH_FORMAT = "geoverify-dispatch"
#: Version 2: separate fill-in block, the district's own columns, 排除：实际为, Tencent link.
DISPATCH_FORMAT_VERSION = "2"
#: Versions :func:`geoverify.readers.feedback.read_feedback` reads (workbooks already sent to
#: villages keep working).
SUPPORTED_FORMAT_VERSIONS: tuple[str, ...] = ("1", "2")
#: Name of the hidden sheet holding the metadata (batch, village code, format version).
META_SHEET = "_geoverify"
#: Name of the visible sheet villages fill in.
LIST_SHEET = "核查清单"
#: Square metres in one 亩.
MU_M2 = 10000.0 / 15.0

#: The district's data of each target (never changed by the village).
TARGET_HEADERS: tuple[str, ...] = (
    "序号",
    "靶标编号",
    "村（社区）",
    "组",
    "经度",
    "纬度",
    "经度（度分秒）",
    "纬度（度分秒）",
    "图斑面积（平方米）",
    "图斑面积（亩）",
    "影像时间",
    "核查时限",
    "说明",
    "高德地图",
    "百度地图",
    "腾讯地图",
    "手机地图",
)
#: The columns a village fills in, in order.
FEEDBACK_HEADERS: tuple[str, ...] = (
    "核查日期",
    "核查人员",
    "核查结果",
    "排除：实际为",
    "株数",
    "铲除面积（平方米）",
    "铲除日期",
    "案件编号",
    "备注",
)
#: The workbook contract shared with the reader: each feedback field and the headers it may
#: have (the current one first, then the names of older format versions).
FEEDBACK_FIELDS: dict[str, tuple[str, ...]] = {
    "verified_on": ("核查日期",),
    "verified_by": ("核查人员",),
    "result_label": ("核查结果",),
    "excluded_as": ("排除：实际为",),
    "plants": ("株数",),
    "area_m2": ("铲除面积（平方米）", "面积（平方米）"),
    "eradicated_on": ("铲除日期",),
    "case_no": ("案件编号",),
    "remarks": ("备注",),
}
#: The column (before the fill-in block) that says whether a target is answered already.
STATE_HEADER = "反馈状态"
#: Its values: not answered yet; answered (or answered and reported to the district), so
#: not to be filled again; confirmed planting whose eradication is still to be filled.
STATE_PENDING = "待核查"
STATE_ANSWERED = "已反馈，无需重填"
STATE_REPORTED = "已上报，无需重填"
STATE_TO_ERADICATE = "已反馈，待填铲除"
#: Background of an answered target's fill-in cells (its recorded answer).
ANSWERED_COLOUR = "E7E6E6"
#: The fill-in fields an answered confirmed planting may still get (eradication, case).
_STILL_OPEN = ("株数", "铲除面积（平方米）", "铲除日期", "案件编号")
#: How the reader joins 排除：实际为 into the remarks (see ``readers.feedback._remarks``).
_EXCLUDED_LEAD = EXCLUDED_AS_LEAD
#: Drop-down choices of 核查结果, in the order the issue gives them.
RESULT_CHOICES: tuple[str, ...] = tuple(RESULT_LABELS[r] for r in RESULT_LABELS)
#: Suggestions for what an 排除 target turned out to be (other text is allowed).
EXCLUDED_AS_CHOICES: tuple[str, ...] = (
    "观赏植物（虞美人等）",
    "油菜等农作物",
    "杂草或野生植物",
    "裸地或翻耕地",
    "大棚或建筑物",
    EXCLUDED_AS_OTHER,
)
#: Print scale (%) of the dispatch workbooks on A4 landscape: 11 pt text prints at ~9 pt, the
#: district's columns on the first page(s), the fill-in block with 序号 and 靶标编号 after.
PRINT_SCALE = 80
#: Height (points) of a target's row in the workbook: room to fill in by hand on paper.
HANDWRITING_PT = 28
#: Background of the columns a village fills in (and of their header).
FILL_COLOUR = "FFF2CC"
_DISTRICT_COLOUR = "DDEBF7"
_ATTR_COLOUR = "E2EFDA"

_NUMBER_FORMATS = {
    "经度": "0.000000",
    "纬度": "0.000000",
    "图斑面积（平方米）": "0.0",
    "图斑面积（亩）": "0.000",
    "铲除面积（平方米）": "0.0",
}
_WIDTHS = {
    **TARGET_WIDTHS,
    "经度（度分秒）": 15.5,
    "纬度（度分秒）": 14.5,
    "图斑面积（平方米）": 10,
    "图斑面积（亩）": 8,
    "影像时间": 11,
    "核查时限": 11,
    "说明": 22,
    "高德地图": 9,
    "百度地图": 9,
    "腾讯地图": 9,
    "手机地图": 9,
    # the fill-in block prints on one page with 序号 and 靶标编号 (at PRINT_SCALE); long
    # names, case numbers and remarks wrap
    STATE_HEADER: 9,
    "核查日期": 11,
    "核查人员": 12,
    "核查结果": 10,
    "排除：实际为": 14,
    "株数": 6,
    "铲除面积（平方米）": 9,
    "铲除日期": 11,
    "案件编号": 13,
    "备注": 16,
}
_SOURCE_NOTES = {"self": "自主发现", "tip": "举报线索"}
_FIRST_DAY = dt.date(2000, 1, 1)
_LAST_DAY = dt.date(2099, 12, 31)
_VALIDATIONS = {
    "核查日期": Validation("date", minimum=_FIRST_DAY, maximum=_LAST_DAY, prompt="如 2024-03-15"),
    "核查结果": Validation("list", RESULT_CHOICES, prompt="从下拉列表选择"),
    "排除：实际为": Validation(
        "list", EXCLUDED_AS_CHOICES, strict=False, prompt="核查结果为“排除”时填写：实际是什么"
    ),
    "株数": Validation("whole", minimum=0, prompt="确认种植时填写，整数"),
    "铲除面积（平方米）": Validation(
        "decimal", minimum=0, prompt="铲除的面积，单位平方米（1亩≈666.7平方米）"
    ),
    "铲除日期": Validation("date", minimum=_FIRST_DAY, maximum=_LAST_DAY, prompt="如 2024-03-15"),
}


def _present(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, list | tuple | set | dict):
        return len(v) > 0
    if isinstance(v, str):
        return bool(v.strip())
    try:
        return not bool(pd.isna(v))
    except (TypeError, ValueError):
        return True


def _names(v: Any) -> list[str]:
    if not _present(v):
        return []
    if isinstance(v, str):
        return [v]
    try:
        return [str(x) for x in v if _present(x)]
    except TypeError:
        return [str(v)]


def _date(v: Any) -> dt.date | None:
    if not _present(v):
        return None
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return None


def _attr_text(v: Any) -> str | None:
    """A district value as it was given (numbers without a trailing .0)."""
    if not _present(v):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list | tuple | dict):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def target_notes(rec: Mapping[str, Any]) -> str:
    """The 说明 text of one target: outside the town, boundary, repeat site, split polygon,
    re-issue, source."""
    notes: list[str] = []
    if not _present(rec.get("village")):
        result = rec.get("result")
        taken_on = _present(result) and result != "outside"
        # the same words as every other output, unless the office took the target on
        notes.append("镇外" if taken_on else OUTSIDE_NOTE)
    for name in _names(rec.get("neighbours")):
        notes.append(f"临近{name}边界")
    if rec.get("assignment") == "gap_nearest":
        notes.append("位于村界缝隙，就近归属")
    for name in _names(rec.get("split_into")):
        notes.append(f"跨入{name}")
    if _present(rec.get("repeat_of")):
        notes.append(f"复种点（{rec['repeat_of']}）")
    if _present(rec.get("reissue_of")):
        notes.append(f"重复下发（原批次 {rec['reissue_of']}）")
    src = rec.get("source")
    if isinstance(src, str) and src in _SOURCE_NOTES:
        notes.append(_SOURCE_NOTES[src])
    return "；".join(notes)


def _number(v: Any) -> float | None:
    if not _present(v):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _text(v: Any) -> str | None:
    return str(v).strip() if _present(v) and str(v).strip() else None


def _split_remarks(remarks: str | None) -> tuple[str | None, str | None]:
    """(排除：实际为, 备注) of recorded remarks, as the reader joins them back exactly.

    The reader writes 排除：实际为 into the remarks as ``实际为：X；rest``; split only when
    reading the two cells back gives the same text (else everything stays in 备注).
    """
    if remarks is None or not remarks.startswith(_EXCLUDED_LEAD):
        return None, remarks
    what, sep, rest = remarks[len(_EXCLUDED_LEAD) :].partition("；")
    if not what.strip() or what != what.strip():
        return None, remarks
    if not sep:
        return what, None
    if not rest.strip() or rest != rest.strip():
        return None, remarks
    return what, rest


def recorded_answer(rec: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The 反馈状态 of a target and its recorded answer by :data:`FEEDBACK_HEADERS`.

    A target without a result is 待核查 (no answer). Otherwise the answer holds the values
    as the village would type them, so that a workbook returned unchanged imports as
    "nothing new": dates as dates, 核查结果 as its label, plants as a whole number, the
    eradicated area as recorded, 排除：实际为 split off the remarks.
    """
    result = rec.get("result")
    if not _present(result) or str(result) not in RESULT_LABELS:
        return STATE_PENDING, None
    plants = _number(rec.get("plants"))
    excluded_as, remarks = _split_remarks(_text(rec.get("remarks")))
    answer: dict[str, Any] = {
        "核查日期": _date(rec.get("verified_on")),
        "核查人员": _text(rec.get("verified_by")),
        "核查结果": RESULT_LABELS[str(result)],
        "排除：实际为": excluded_as,
        "株数": int(plants) if plants is not None and plants.is_integer() else plants,
        "铲除面积（平方米）": _number(rec.get("eradicated_area_m2")),
        "铲除日期": _date(rec.get("eradicated_on")),
        "案件编号": _text(rec.get("case_no")),
        "备注": remarks,
    }
    if rec.get("status") == "reported":
        state = STATE_REPORTED
    elif str(result) == "confirmed" and answer["铲除日期"] is None:
        state = STATE_TO_ERADICATE
    else:
        state = STATE_ANSWERED
    return state, answer


def _district_pairs(rec: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The district's own columns of a target (``district_columns``: [(name, value)])."""
    pairs = rec.get("district_columns")
    if not isinstance(pairs, list | tuple):
        return []
    return [(str(k), v) for k, v in pairs]


def district_column_names(frame: pd.DataFrame) -> list[str]:
    """Names of the district's own columns (备注, 地类, …) over all targets, in file order.

    Read from a ``district_columns`` column (a list of ``(name, value)`` per target, as
    :func:`geoverify.workflows.attributes.with_district_columns` adds it); empty without.
    """
    if "district_columns" not in frame.columns:
        return []
    names: list[str] = []
    for pairs in frame["district_columns"]:
        for k, _ in _district_pairs({"district_columns": pairs}):
            if k not in names:
                names.append(k)
    return names


def dispatch_rows(frame: pd.DataFrame, *, due_on: dt.date | None = None) -> list[dict[str, Any]]:
    """One dict per target, keyed by :data:`TARGET_HEADERS`, in list order (序号 from 1).

    Link columns hold :class:`~geoverify.documents.xlsx.Link` values; coordinates are the stored
    WGS84/CGCS2000 degrees rounded to 6 decimals (shown with 6 places). The district's area is
    given in 平方米 and 亩. ``_district`` holds the district's own columns
    (``[(name, text)]``), ``_mentioned`` the neighbouring villages the row names, ``_state``
    the 反馈状态 and ``_answer`` the recorded answer (see :func:`recorded_answer`).
    """
    if len(frame) == 0:
        return []
    ordered = sort_targets_for_lists(frame)
    recs = [{str(k): v for k, v in r.items()} for r in ordered.to_dict(orient="records")]
    lons = [float(r["lon"]) for r in recs]
    lats = [float(r["lat"]) for r in recs]
    labels = [f"靶标{r['target_id']}" for r in recs]
    content = [f"{r.get('village') or ''} {r['target_id']}".strip() for r in recs]
    links = navigation_links(lons, lats, labels, content=content)
    out: list[dict[str, Any]] = []
    for i, (rec, lk) in enumerate(zip(recs, links, strict=True), start=1):
        raw_area = rec.get("area_m2")
        area = float(raw_area) if raw_area is not None and _present(raw_area) else None
        due = _date(rec.get("due_on")) or due_on
        state, answer = recorded_answer(rec)
        out.append(
            {
                "序号": i,
                "靶标编号": str(rec["target_id"]),
                "村（社区）": rec.get("village") if _present(rec.get("village")) else "镇外",
                "组": rec.get("group") if _present(rec.get("group")) else None,
                "经度": round(lons[i - 1], 6),
                "纬度": round(lats[i - 1], 6),
                "经度（度分秒）": to_dms(lons[i - 1], axis="lon"),
                "纬度（度分秒）": to_dms(lats[i - 1], axis="lat"),
                "图斑面积（平方米）": round(area, 1) if area is not None else None,
                "图斑面积（亩）": round(area / MU_M2, 3) if area is not None else None,
                "影像时间": _date(rec.get("image_date")),
                "核查时限": due,
                "说明": target_notes(rec) or None,
                "高德地图": Link(lk.amap, "高德导航"),
                "百度地图": Link(lk.baidu, "百度导航"),
                "腾讯地图": Link(lk.tencent, "腾讯导航"),
                "手机地图": Link(lk.geo, "手机地图"),
                "_district": [(k, _attr_text(v)) for k, v in _district_pairs(rec)],
                "_mentioned": [*_names(rec.get("neighbours")), *_names(rec.get("split_into"))],
                "_state": state,
                "_answer": answer,
            }
        )
    return out


def _title(village_name: str, batch: str, issued_on: dt.date | None) -> str:
    day = f"，{issued_on.isoformat()} 下发" if issued_on else ""
    return f"{village_name} 疑似靶标核查清单（批次 {batch}{day}）"


def write_village_workbook(
    path: str | os.PathLike[str],
    village_name: str,
    rows_frame: pd.DataFrame,
    *,
    batch: str,
    issued_on: dt.date | None,
    due_on: dt.date | None,
    illustrative: bool = False,
    village_code: str | None = None,
) -> Path:
    """Write ``<village>.xlsx``: the district's data, its own columns, and the fill-in block.

    Blocks under their own headers, left to right: 区禁毒办下发信息 (:data:`TARGET_HEADERS`,
    with Amap, Baidu, Tencent and ``geo:`` links), 区禁毒办原表其他信息 (the district's own
    columns as given, when the batch has any), 镇平安办登记 (:data:`STATE_HEADER`: 待核查, or
    已反馈/已上报 — no need to fill again) and 村（社区）核查后填写 (:data:`FEEDBACK_HEADERS`,
    shaded). A target answered already shows its recorded answer in the fill-in cells, shaded
    grey (a confirmed planting not yet eradicated keeps its eradication cells open), so the
    workbook returned unchanged imports as "nothing new". 序号 and 靶标编号 stay in view with
    the headers (frozen); printing is A4 landscape at :data:`PRINT_SCALE` %, over as many
    pages as needed, with the header rows and 序号/靶标编号 on every page. Dates, numbers and
    核查结果 carry data validation (Chinese messages).

    A hidden sheet ``_geoverify`` records the format, batch, village code and the header row
    so that the filled workbook can be read back by
    :func:`geoverify.readers.feedback.read_feedback`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    rows = dispatch_rows(rows_frame, due_on=due_on)
    if village_code is None and "village_code" in rows_frame.columns:
        codes = [c for c in rows_frame["village_code"] if _present(c)]
        village_code = str(codes[0]) if codes else None
    # the district's own columns under their own names, in a block of their own; a name that
    # is also one of ours (备注, 影像时间, …) is marked （原表）
    extra = district_column_names(rows_frame)
    taken = {*TARGET_HEADERS, STATE_HEADER, *FEEDBACK_HEADERS}
    extra_headers = [f"{name}（原表）" if name in taken else name for name in extra]
    headers = [*TARGET_HEADERS, *extra_headers, STATE_HEADER, *FEEDBACK_HEADERS]
    groups = [ColumnGroup("区禁毒办下发信息", len(TARGET_HEADERS), _DISTRICT_COLOUR)]
    if extra_headers:
        groups.append(ColumnGroup("区禁毒办原表其他信息", len(extra_headers), _ATTR_COLOUR))
    groups.append(ColumnGroup("登记情况", 1, ANSWERED_COLOUR))
    groups.append(ColumnGroup("村（社区）核查后填写", len(FEEDBACK_HEADERS), FILL_COLOUR))
    table = []
    for r in rows:
        given = dict(r["_district"])
        answer = r["_answer"] or {}
        table.append(
            [r[h] for h in TARGET_HEADERS]
            + [given.get(name) for name in extra]
            + [r["_state"]]
            + [answer.get(h) for h in FEEDBACK_HEADERS]
        )
    wb = new_workbook()
    ws = wb.create_sheet(LIST_SHEET)
    title = _title(village_name, batch, issued_on)
    if illustrative:
        title += "（村界为示意边界）"
    widths = dict(_WIDTHS)
    for h, name in zip(extra_headers, extra, strict=True):
        longest = max(
            [display_width(h), *(display_width(dict(r["_district"]).get(name)) for r in rows)]
        )
        widths[h] = min(max(longest + 2, 8), 30)
    n_answered = sum(1 for r in rows if r["_answer"] is not None)
    answered_note = (
        f"；灰色为已反馈的 {n_answered} 个靶标（已登记的结果），无需重填，如需更正请告知镇平安办"
        if n_answered
        else ""
    )
    header_row = write_sheet(
        ws,
        headers,
        table,
        title=title,
        subtitle=(
            f"共 {len(rows)} 个疑似靶标，核查时限 {due_on.isoformat() if due_on else '—'}；"
            "蓝色、绿色各列为区禁毒办下发信息，请勿改动；黄色各列由村（社区）填写，"
            "“排除”须写明实际是什么；铲除面积单位：平方米（1亩≈666.7平方米）" + answered_note
        ),
        groups=groups,
        widths=widths,
        validations=_VALIDATIONS,
        fills={STATE_HEADER: ANSWERED_COLOUR, **dict.fromkeys(FEEDBACK_HEADERS, FILL_COLOUR)},
        wrap=("说明", *extra_headers, STATE_HEADER, "核查人员", "案件编号", "备注"),
        number_formats=_NUMBER_FORMATS,
        landscape=True,
        freeze_columns=2,
        print_scale=PRINT_SCALE,
        page_breaks_before=("说明", STATE_HEADER),
    )
    first_fb = len(TARGET_HEADERS) + len(extra_headers) + 2  # 1-based, after 反馈状态
    grey = PatternFill("solid", fgColor=ANSWERED_COLOUR)
    for row_no, r in enumerate(rows, start=header_row + 1):
        # room to write by hand
        ws.row_dimensions[row_no].height = max(
            ws.row_dimensions[row_no].height or 0, HANDWRITING_PT
        )
        if r["_answer"] is None:
            continue
        ws.cell(row=row_no, column=first_fb - 1).font = Font(name=FONT_NAME, bold=True)
        for j, h in enumerate(FEEDBACK_HEADERS, start=first_fb):
            still_open = r["_state"] == STATE_TO_ERADICATE and h in _STILL_OPEN
            if not (still_open and r["_answer"].get(h) is None):
                ws.cell(row=row_no, column=j).fill = grey
    meta = wb.create_sheet(META_SHEET)
    pairs: list[tuple[str, Any]] = [
        ("format", DISPATCH_FORMAT),
        ("version", DISPATCH_FORMAT_VERSION),
        ("batch", batch),
        ("village", village_name),
        ("village_code", village_code),
        ("issued_on", issued_on.isoformat() if issued_on else None),
        ("due_on", due_on.isoformat() if due_on else None),
        ("header_row", header_row),
        ("sheet", LIST_SHEET),
        ("n_targets", len(rows)),
        ("illustrative", "1" if illustrative else "0"),
        ("feedback_first_column", first_fb),
    ]
    write_sheet(meta, ["key", "value"], pairs, freeze=False)
    meta.sheet_state = "hidden"
    wb.active = 0
    out = Path(path)
    wb.save(out)
    return out


#: Print widths (mm) of the information columns of the printable page (A4 landscape leaves
#: 281 mm); 说明 takes what is left. Each target's fill-in boxes are on a line of their own.
_INFO_MM = {"序号": 8, "靶标编号": 27, "组": 11, "经纬度": 23, "度分秒": 26, "图斑面积": 23,
            "影像时间": 20}  # fmt: skip
_DISTRICT_MM = 58
#: The fill-in boxes under each target (mm; 备注 takes the rest of the line).
_BOX_MM = {STATE_HEADER: 21, "核查日期": 25, "核查人员": 33, "核查结果": 30, "排除：实际为": 36,
           "株数": 15, "铲除面积（平方米）": 24, "铲除日期": 25, "案件编号": 33}  # fmt: skip

_CSS = """
@page { size: A4 landscape; margin: 8mm 8mm 11mm 8mm;
        @bottom-right { content: "第 " counter(page) " 页，共 " counter(pages) " 页";
                        font-size: 9pt; font-family: "Noto Sans CJK SC", sans-serif; } }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       "SimSun", sans-serif; font-size: 10pt; color: #000; margin: 0 auto; max-width: 1400px;
       padding: 4px; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 2mm 0; }
p.meta { text-align: center; margin: 0 0 2mm 0; }
p.warn { color: #c0392b; text-align: center; margin: 0 0 2mm 0; }
figure { text-align: center; margin: 0 0 3mm 0; break-inside: avoid; }
figure img { max-width: 100%; max-height: 80mm; height: auto; }
figcaption { font-size: 9pt; color: #333; }
table.list { border-collapse: collapse; width: 100%; font-size: 8.5pt; table-layout: fixed; }
table.list th, table.list td { border: 1px solid #000; padding: 0.6mm 0.8mm; vertical-align: top; }
table.list th { background: #ddebf7; font-weight: bold; }
table.list th.fb { background: #fff2cc; font-weight: normal; text-align: left; font-size: 8pt; }
thead { display: table-header-group; }
tbody.t { break-inside: avoid; }
tbody.t tr.info td { border-top: 1.6px solid #000; }
td.num { text-align: right; white-space: nowrap; }
.id, .nowrap { white-space: nowrap; }
.coords { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; white-space: nowrap; }
.district { font-size: 8pt; }
.district .kv { display: block; }
.lbl { display: none; }
a { color: #0563c1; }
.nav a { display: inline-block; margin: 0 3px 2px 0; }
col.nav { width: 30mm; }
td.fill { padding: 0; background: #fff2cc; }
.boxes { display: grid; grid-template-columns: BOX_COLUMNS; }
.box { border-right: 1px solid #000; min-height: 11mm; padding: 0.4mm 0.8mm;
       overflow-wrap: anywhere; }
.box:last-child { border-right: none; }
.box .k { display: block; font-size: 6.5pt; color: #333; line-height: 1.2; }
.box .v { display: block; font-size: 9pt; }
.box.state { font-size: 8pt; font-weight: bold; }
.box .opts { display: block; font-size: 7pt; color: #333; }
tbody.done td.fill { background: #DONE_COLOUR; }
tbody.done .box.open { background: #fff2cc; }
.sign { display: flex; justify-content: space-between; gap: 8mm; margin: 0; padding: 5mm 2mm 2mm;
        font-size: 11pt; }
.sign span { flex: 1; border-bottom: 1px solid #000; padding-bottom: 1mm; }
tbody.last { break-after: avoid; }
tbody.end { break-before: avoid; break-inside: avoid; }
.hint { font-size: 9pt; margin: 1mm 0; }
@media print {
  a { color: #000; text-decoration: none; }
  td.nav, th.nav { display: none; }
  col.nav { width: 0; }  /* kept (not display: none): each fill-in line spans it */
  body { max-width: none; padding: 0; }
  table.list td { overflow-wrap: anywhere; }
}
@media screen and (max-width: 720px) {
  body { font-size: 15px; padding: 8px; }
  h1 { font-size: 18px; }
  table.list, table.list tbody, table.list tr, table.list td { display: block; width: 100%; }
  table.list thead { display: none; }
  table.list tbody.t { border: 1px solid #888; border-radius: 6px; margin: 0 0 10px;
                       padding: 6px; }
  table.list td { border: none !important; padding: 2px 0; white-space: normal;
                  overflow-wrap: anywhere; }
  table.list td.empty, table.list tbody.t:not(.done) tr.fillrow { display: none; }
  table.list td.fill { background: none !important; }
  table.list td.num { text-align: left; }
  .boxes { display: block; }
  .box { display: inline; border: none; padding: 0; min-height: 0; margin-right: 8px; }
  .box.blank, .box .opts { display: none; }
  .box .k, .box .v { display: inline; font-size: 14px; }
  .box .k::after { content: "："; }
  .lbl { display: inline; color: #555; margin-right: 4px; }
  .coords { white-space: normal; font-size: 13px; }
  .id { font-weight: bold; font-size: 16px; }
  .nav a { display: inline-block; padding: 6px 10px; margin: 4px 6px 0 0; border: 1px solid #0563c1;
           border-radius: 4px; text-decoration: none; }
  .sign { flex-direction: column; gap: 10px; }
}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal: every character but letters and digits escaped, so
    that no text (quotes, ``</style>``) can leave the string."""
    return '"' + "".join(ch if ch.isalnum() else f"\\{ord(ch):x} " for ch in text) + '"'


def _box_value(header: str, v: Any) -> str:
    """A recorded answer as the page shows it (the workbook's number formats)."""
    if v is None:
        return ""
    if isinstance(v, dt.date):
        return v.isoformat()
    if header == "铲除面积（平方米）" and isinstance(v, int | float):
        return f"{v:.1f}"
    return str(v)


def _fill_line(r: Mapping[str, Any]) -> str:
    """The fill-in boxes under a target: its 反馈状态, then one labelled box per field
    (the recorded answer of an answered target, or room to write)."""
    answer = r["_answer"]
    boxes = [f'<div class="box state">{_e(r["_state"])}</div>']
    for h in FEEDBACK_HEADERS:
        v = _box_value(h, answer.get(h)) if answer else ""
        cls = ["box"]
        if not v:
            cls.append("blank")
        if answer and not v and r["_state"] == STATE_TO_ERADICATE and h in _STILL_OPEN:
            cls.append("open")
        body = f'<span class="v">{_e(v)}</span>' if v else ""
        if not answer and h == "核查结果":
            body = (
                '<span class="opts">'
                + " ".join(f'<span class="nowrap">□{_e(c)}</span>' for c in RESULT_CHOICES)
                + "</span>"
            )
        boxes.append(f'<div class="{" ".join(cls)}"><span class="k">{_e(h)}</span>{body}</div>')
    return '<div class="boxes">' + "".join(boxes) + "</div>"


def render_village_html(
    village_name: str,
    rows_frame: pd.DataFrame,
    *,
    batch: str,
    issued_on: dt.date | None,
    due_on: dt.date | None,
    illustrative: bool = False,
    map_png: bytes | None = None,
    map_names: Sequence[str] = (),
) -> str:
    """A printable A4 page (HTML) of one village's dispatch list, with an embedded static map.

    Every value taken from data is HTML-escaped; the map is embedded as a base64 PNG so the
    page works offline. On paper (A4 landscape, page numbers and the title at the foot of
    every page) each target is two lines kept together: the district's data, then labelled
    boxes to fill in by hand (反馈状态 first; an answered target shows its recorded answer,
    shaded grey, in the workbook's number formats). The header repeats on every page and the
    signature lines stay on the page of the last target. On a phone (a mobile viewport,
    ≥ 360 px) each target is a card with its navigation links (and its recorded answer, when
    it has one). ``map_names`` are the neighbouring villages the map names (listed under it).
    The district's own columns are listed but for the area and image date the reader took
    (:func:`~geoverify.readers.tables.find_column`), which the page's 图斑面积 and 影像时间
    columns show.
    """
    rows = dispatch_rows(rows_frame, due_on=due_on)
    title = _title(village_name, batch, issued_on)
    for r in rows:  # the page shows the area and image date the reader took in its own columns
        names = [k for k, _ in r["_district"]]
        shown = {find_column(names, AREA_HEADERS), find_column(names, DATE_HEADERS)}
        r["_district"] = [(k, v) for k, v in r["_district"] if k not in shown]
    has_district = any(v is not None for r in rows for _, v in r["_district"])
    info = [*_INFO_MM, "说明"] + (["区禁毒办原表信息"] if has_district else [])
    # 说明 (no width) takes the rest of the line
    info_mm = [*_INFO_MM.values(), None] + ([_DISTRICT_MM] if has_district else [])
    box_cols = " ".join(f"{w}mm" for w in _BOX_MM.values()) + " 1fr"
    css = _CSS.replace("BOX_COLUMNS", box_cols).replace("DONE_COLOUR", ANSWERED_COLOUR)
    # the title at the foot of every printed page, so that a loose page can be placed
    css += f"@page {{ @bottom-left {{ content: {_css_string(title)}; font-size: 8pt; }} }}\n"
    n_answered = sum(1 for r in rows if r["_answer"] is not None)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{css}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">共 {len(rows)} 个疑似靶标'
        + (f"（其中已反馈 {n_answered} 个，无需重填）" if n_answered else "")
        + f"；核查时限：{_e(due_on.isoformat() if due_on else '—')}</p>",
    ]
    if illustrative:
        parts.append('<p class="warn">村界为示意边界，仅供参考</p>')
    if map_png:
        b64 = base64.b64encode(map_png).decode("ascii")
        caption = f"{_e(village_name)} 靶标分布示意图（图中编号即序号）"
        if map_names:
            caption += "；相邻村（社区）：" + "、".join(_e(n) for n in map_names)
        parts.append(
            f'<figure><img alt="{_e(village_name)} 靶标分布示意图" '
            f'src="data:image/png;base64,{b64}"><figcaption>{caption}</figcaption></figure>'
        )
    n_cols = len(info) + 1  # + 导航
    parts.append('<table class="list"><colgroup>')
    parts += [f'<col style="width:{w}mm">' if w else "<col>" for w in info_mm]
    parts.append('<col class="nav">')
    parts.append("</colgroup><thead><tr>")
    parts += [f"<th>{_e(h)}</th>" for h in info]
    parts.append('<th class="nav">导航</th></tr>')
    parts.append(
        f'<tr><th class="fb" colspan="{n_cols}">村（社区）核查后填写：每个靶标下方一行'
        "（灰色为已反馈的结果，无需重填）</th></tr></thead>"
    )

    def cell(cls: str, label: str, body: str) -> str:
        cls = f"{cls} empty".strip() if not body else cls
        return f'<td class="{cls}"><span class="lbl">{_e(label)}</span>{body}</td>'

    for k, r in enumerate(rows):
        links = "".join(
            f'<a href="{_e(r[key].url)}">{_e(short)}</a>'
            for key, short in (
                ("高德地图", "高德"),
                ("百度地图", "百度"),
                ("腾讯地图", "腾讯"),
                ("手机地图", "手机地图"),
            )
        )
        sqm, mu = r["图斑面积（平方米）"], r["图斑面积（亩）"]
        area = f"{sqm:.1f} 平方米<br>{mu:.3f} 亩" if sqm is not None and mu is not None else ""
        day = r["影像时间"].isoformat() if r["影像时间"] else ""
        cells = [
            cell("num", "序号", _e(r["序号"])),
            cell("id", "靶标编号", _e(r["靶标编号"])),
            cell("nowrap", "组", _e(r["组"])),
            cell(
                "coords",
                "经纬度",
                f"{format_degrees(r['经度'])}<br>{format_degrees(r['纬度'])}",
            ),
            cell("coords", "度分秒", f"{_e(r['经度（度分秒）'])}<br>{_e(r['纬度（度分秒）'])}"),
            cell("num", "图斑面积", area),
            cell("nowrap", "影像时间", _e(day)),
            cell("", "说明", _e(r["说明"])),
        ]
        if has_district:
            given = "".join(
                f'<span class="kv">{_e(name)}：{_e(v)}</span>'
                for name, v in r["_district"]
                if v is not None
            )
            cells.append(cell("district", "区禁毒办原表", given))
        cells.append(f'<td class="nav">{links}</td>')
        cls = ["t"]
        if r["_answer"] is not None:
            cls.append("done")
        if k == len(rows) - 1:
            cls.append("last")
        parts.append(
            f'<tbody class="{" ".join(cls)}"><tr class="info">{"".join(cells)}</tr>'
            f'<tr class="fillrow"><td class="fill" colspan="{n_cols}">{_fill_line(r)}</td></tr>'
            "</tbody>"
        )
    # The signature lines are the table's last row, never put on a page of their own.
    parts.append(
        f'<tbody class="end"><tr class="end"><td colspan="{n_cols}" style="border:none;padding:0">'
        '<p class="hint">核查结果填写：确认种植 / 排除 / 未发现 / 非本镇辖区；'
        "“排除”请写明实际是什么；铲除面积单位为平方米（1亩≈666.7平方米）。</p>"
        '<div class="sign"><span>村（社区）书记签字：</span><span>填报人：</span>'
        "<span>填报时间：</span></div></td></tr></tbody>"
    )
    parts.append("</table></body></html>")
    return "\n".join(parts)


#: The assignment kinds the summary counts, in order (each target is one of them).
_KINDS: tuple[str, ...] = ("inside", "near_boundary", "gap_nearest", "split", "outside")
#: Columns of the summary sheet: the targets of each assignment kind (the same labels and
#: counts as ``status`` and ``demo``), then repeat sites and re-issues (counted apart).
SUMMARY_HEADERS: tuple[str, ...] = (
    "村（社区）",
    "靶标数",
    *(ASSIGNMENT_LABELS[k] for k in _KINDS),
    "复种点",
    "重复下发",
    "核查时限",
)
_SUMMARY_NOTE = (
    "按分配情况分列，每个靶标只计一类："
    + "＋".join(ASSIGNMENT_LABELS[k] for k in _KINDS)
    + "＝靶标数；复种点、重复下发另计"
)
#: Title of the sheet of every target.
_ALL_SHEET = "全部靶标"


def write_summary_workbook(
    path: str | os.PathLike[str],
    frame: pd.DataFrame,
    *,
    batch: str | None = None,
    due_on: dt.date | None = None,
) -> Path:
    """Write the town summary ``汇总.xlsx``: one row per village, then every target.

    Sheet 汇总 counts targets per village, in village-code order (镇外 last), by assignment
    kind (村内, 临近村界, 村界缝隙（就近）, 跨村, 镇外 — each target in exactly one, as the
    ``status`` and ``demo`` tables count them) and the repeat sites and re-issues apart.
    Sheet 全部靶标 lists every target with its village, 说明 and navigation links; it prints
    on A4 landscape one page wide, the title (with the batch) and the header on every page.
    """
    rows = dispatch_rows(frame, due_on=due_on)
    recs = [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]
    per: dict[str, dict[str, Any]] = {}
    for rec in recs:
        inside = _present(rec.get("village"))
        name = str(rec["village"]) if inside else "镇外"
        code = str(rec["village_code"]) if _present(rec.get("village_code")) else ""
        d = per.setdefault(
            name,
            {"code": code, "n": 0, "kinds": dict.fromkeys(_KINDS, 0), "repeat": 0,
             "reissue": 0, "due": set()},
        )  # fmt: skip
        d["n"] += 1
        kind = rec.get("assignment")
        if not (isinstance(kind, str) and kind in _KINDS):
            kind = "inside" if inside else "outside"
        d["kinds"][kind] += 1
        d["repeat"] += 1 if _present(rec.get("repeat_of")) else 0
        d["reissue"] += 1 if _present(rec.get("reissue_of")) else 0
        due = _date(rec.get("due_on")) or due_on
        if due:
            d["due"].add(due)
    # by village code, as status and the district report list them; 镇外 last
    names = sorted(
        per, key=lambda n: (n == "镇外", not per[n]["code"], natural_key(per[n]["code"]), n)
    )
    table: list[Sequence[Any]] = []
    for n in names:
        d = per[n]
        dues = sorted(d["due"])
        table.append(
            [n, d["n"], *(d["kinds"][k] for k in _KINDS), d["repeat"], d["reissue"],
             dues[0] if dues else None]
        )  # fmt: skip
    table.append(
        [
            "合计",
            sum(per[n]["n"] for n in names),
            *(sum(per[n]["kinds"][k] for n in names) for k in _KINDS),
            sum(per[n]["repeat"] for n in names),
            sum(per[n]["reissue"] for n in names),
            None,
        ]
    )
    wb = new_workbook()
    title = f"疑似靶标派发汇总（批次 {batch}）" if batch else "疑似靶标派发汇总"
    write_sheet(
        wb.create_sheet("汇总"),
        list(SUMMARY_HEADERS),
        table,
        title=title,
        subtitle=_SUMMARY_NOTE,
        widths={"村界缝隙（就近）": 11, "核查时限": 12},
    )
    all_title = f"全部疑似靶标（批次 {batch}，共 {len(rows)} 个）" if batch else "全部疑似靶标"
    ws = wb.create_sheet(_ALL_SHEET)
    header_row = write_sheet(
        ws,
        list(TARGET_HEADERS),
        [[r[h] for h in TARGET_HEADERS] for r in rows],
        title=all_title,
        widths={**_WIDTHS, "说明": 26},  # 镇外，建议退回区禁毒办 on one line
        wrap=("说明",),
        number_formats=_NUMBER_FORMATS,
        landscape=True,
        freeze_columns=2,
    )
    # fit to one page wide (write_sheet's default without a print scale), the title and the
    # header repeated on every page
    ws.print_title_rows = f"1:{header_row}"
    out = Path(path)
    wb.save(out)
    return out
