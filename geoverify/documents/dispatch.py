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

from geoverify.documents.xlsx import (
    TARGET_WIDTHS,
    ColumnGroup,
    Link,
    Validation,
    display_width,
    new_workbook,
    write_sheet,
)
from geoverify.model import RESULT_LABELS
from geoverify.navigation import format_degrees, navigation_links, to_dms
from geoverify.progress import natural_key, sort_targets_for_lists

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
    "SUPPORTED_FORMAT_VERSIONS",
    "TARGET_HEADERS",
    "dispatch_rows",
    "district_column_names",
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
#: Drop-down choices of 核查结果, in the order the issue gives them.
RESULT_CHOICES: tuple[str, ...] = tuple(RESULT_LABELS[r] for r in RESULT_LABELS)
#: Suggestions for what an 排除 target turned out to be (other text is allowed).
EXCLUDED_AS_CHOICES: tuple[str, ...] = (
    "观赏植物（虞美人等）",
    "油菜等农作物",
    "杂草或野生植物",
    "裸地或翻耕地",
    "大棚或建筑物",
    "其他（写在备注）",
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
    "核查日期": 12,
    "核查人员": 12,
    "核查结果": 11,
    "排除：实际为": 14,
    "株数": 7,
    "铲除面积（平方米）": 10,
    "铲除日期": 12,
    "案件编号": 14,
    "备注": 20,
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
    """The 说明 text of one target: boundary, repeat site, split polygon, re-issue, source."""
    notes: list[str] = []
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
    (``[(name, text)]``) and ``_mentioned`` the neighbouring villages the row names.
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

    Three blocks under their own headers, left to right: 区禁毒办下发信息 (:data:`TARGET_HEADERS`,
    with Amap, Baidu, Tencent and ``geo:`` links), 区禁毒办原表其他信息 (the district's own
    columns as given, when the batch has any) and 村（社区）核查后填写 (:data:`FEEDBACK_HEADERS`,
    shaded). 序号 and 靶标编号 stay in view with the headers (frozen); printing is A4
    landscape at 100 %, over as many pages as needed, with the header rows and 序号/靶标编号
    on every page. Dates, numbers and 核查结果 carry data validation (Chinese messages).

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
    taken = {*TARGET_HEADERS, *FEEDBACK_HEADERS}
    extra_headers = [f"{name}（原表）" if name in taken else name for name in extra]
    headers = [*TARGET_HEADERS, *extra_headers, *FEEDBACK_HEADERS]
    groups = [ColumnGroup("区禁毒办下发信息", len(TARGET_HEADERS), _DISTRICT_COLOUR)]
    if extra_headers:
        groups.append(ColumnGroup("区禁毒办原表其他信息", len(extra_headers), _ATTR_COLOUR))
    groups.append(ColumnGroup("村（社区）核查后填写", len(FEEDBACK_HEADERS), FILL_COLOUR))
    table = []
    for r in rows:
        given = dict(r["_district"])
        table.append(
            [r[h] for h in TARGET_HEADERS]
            + [given.get(name) for name in extra]
            + [None] * len(FEEDBACK_HEADERS)
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
    header_row = write_sheet(
        ws,
        headers,
        table,
        title=title,
        subtitle=(
            f"共 {len(rows)} 个疑似靶标，核查时限 {due_on.isoformat() if due_on else '—'}；"
            "蓝色、绿色各列为区禁毒办下发信息，请勿改动；黄色各列由村（社区）填写，"
            "“排除”须写明实际是什么；铲除面积单位：平方米（1亩≈666.7平方米）"
        ),
        groups=groups,
        widths=widths,
        validations=_VALIDATIONS,
        fills=dict.fromkeys(FEEDBACK_HEADERS, FILL_COLOUR),
        wrap=("说明", *extra_headers),
        number_formats=_NUMBER_FORMATS,
        landscape=True,
        freeze_columns=2,
        print_scale=PRINT_SCALE,
        page_breaks_before=("说明", FEEDBACK_HEADERS[0]),
    )
    for row_no in range(header_row + 1, header_row + 1 + len(rows)):  # room to write by hand
        ws.row_dimensions[row_no].height = max(
            ws.row_dimensions[row_no].height or 0, HANDWRITING_PT
        )
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
        ("feedback_first_column", len(TARGET_HEADERS) + len(extra_headers) + 1),
    ]
    write_sheet(meta, ["key", "value"], pairs, freeze=False)
    meta.sheet_state = "hidden"
    wb.active = 0
    out = Path(path)
    wb.save(out)
    return out


_CSS = """
@page { size: A4 landscape; margin: 8mm 8mm 10mm 8mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       "SimSun", sans-serif; font-size: 10pt; color: #000; margin: 0 auto; max-width: 1400px;
       padding: 4px; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 2mm 0; }
p.meta { text-align: center; margin: 0 0 2mm 0; }
p.warn { color: #c0392b; text-align: center; margin: 0 0 2mm 0; }
figure { text-align: center; margin: 0 0 3mm 0; break-inside: avoid; }
figure img { max-width: 100%; max-height: 92mm; height: auto; }
figcaption { font-size: 9pt; color: #333; }
table.list { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
table.list th, table.list td { border: 1px solid #000; padding: 0.6mm 0.8mm; vertical-align: top; }
table.list th { background: #ddebf7; font-weight: bold; }
table.list th.grp { text-align: center; }
table.list th.fb, table.list td.fb { background: #fff2cc; }
table.list th.fb { font-size: 8pt; }
table.list td.fb { height: 11mm; min-width: 11mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
td.num { text-align: right; white-space: nowrap; }
.id, .nowrap { white-space: nowrap; }
.coords { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; white-space: nowrap; }
.district { font-size: 8pt; }
.district .kv { display: block; }
.lbl { display: none; }
a { color: #0563c1; }
.nav a { display: inline-block; margin: 0 3px 2px 0; }
.sign { display: flex; justify-content: space-between; gap: 8mm; margin: 0; padding: 5mm 2mm 2mm;
        font-size: 11pt; }
.sign span { flex: 1; border-bottom: 1px solid #000; padding-bottom: 1mm; }
tr.last { break-after: avoid; }
tr.end { break-before: avoid; break-inside: avoid; }
.hint { font-size: 9pt; margin: 1mm 0; }
@media print {
  a { color: #000; text-decoration: none; }
  .nav, th.nav, col.nav { display: none; }
  body { max-width: none; padding: 0; }
  table.list { table-layout: fixed; }
  table.list td { overflow-wrap: anywhere; }
}
@media screen and (max-width: 720px) {
  body { font-size: 15px; padding: 8px; }
  h1 { font-size: 18px; }
  table.list, table.list tbody, table.list tr, table.list td { display: block; width: 100%; }
  table.list thead { display: none; }
  table.list tr { border: 1px solid #888; border-radius: 6px; margin: 0 0 10px; padding: 6px;
                  break-inside: avoid; }
  table.list td { border: none; padding: 2px 0; white-space: normal; overflow-wrap: anywhere; }
  table.list td.fb, table.list td.empty { display: none; }
  table.list td.num { text-align: left; }
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
    page works offline. On paper (A4 landscape) one row per target, the header repeated on
    every page and shaded fill-in columns with room for handwriting; the signature lines stay
    on the page of the last rows. On a phone (a mobile viewport, ≥ 360 px) each target is a
    card with its navigation links. ``map_names`` are the neighbouring villages the map names
    (listed under it).
    """
    rows = dispatch_rows(rows_frame, due_on=due_on)
    title = _title(village_name, batch, issued_on)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">共 {len(rows)} 个疑似靶标；核查时限：'
        f"{_e(due_on.isoformat() if due_on else '—')}</p>",
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
    info = ["序号", "靶标编号", "组", "经纬度", "度分秒", "图斑面积", "影像时间", "说明"]
    has_district = any(r["_district"] for r in rows)
    if has_district:
        info.append("区禁毒办原表信息")
    n_info = len(info) + 1  # + 导航
    # Column widths (mm) that fit A4 landscape in print; the fill-in columns share the rest.
    info_mm = [7, 24, 9, 20, 24, 17, 17, 25] + ([32] if has_district else [])
    fb_mm = (279 - sum(info_mm)) / len(FEEDBACK_HEADERS)
    parts.append('<table class="list"><colgroup>')
    parts += [f'<col style="width:{w}mm">' for w in info_mm]
    parts.append('<col class="nav" style="width:30mm">')
    parts += [f'<col style="width:{fb_mm:.1f}mm">'] * len(FEEDBACK_HEADERS)
    parts.append("</colgroup><thead><tr>")
    parts.append(f'<th class="grp" colspan="{len(info)}">区禁毒办下发信息</th>')
    parts.append('<th class="grp nav" rowspan="2">导航</th>')
    parts.append(
        f'<th class="grp fb" colspan="{len(FEEDBACK_HEADERS)}">村（社区）核查后填写</th></tr><tr>'
    )
    parts += [f"<th>{_e(h)}</th>" for h in info]
    parts += [f'<th class="fb">{_e(h)}</th>' for h in FEEDBACK_HEADERS]
    parts.append("</tr></thead><tbody>")

    def cell(cls: str, label: str, body: str) -> str:
        cls = f"{cls} empty".strip() if not body else cls
        return f'<td class="{cls}"><span class="lbl">{_e(label)}</span>{body}</td>'

    for k, r in enumerate(rows):
        links = "".join(
            f'<a href="{_e(r[k].url)}">{_e(short)}</a>'
            for k, short in (
                ("高德地图", "高德"),
                ("百度地图", "百度"),
                ("腾讯地图", "腾讯"),
                ("手机地图", "手机地图"),
            )
        )
        sqm, mu = r["图斑面积（平方米）"], r["图斑面积（亩）"]
        area = f"{_e(sqm)} 平方米<br>{_e(mu)} 亩" if sqm is not None else ""
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
                f'<span class="kv">{_e(k)}：{_e(v)}</span>'
                for k, v in r["_district"]
                if v is not None
            )
            cells.append(cell("district", "区禁毒办原表", given))
        cells.append(f'<td class="nav">{links}</td>')
        cells += ['<td class="fb"></td>'] * len(FEEDBACK_HEADERS)
        last = ' class="last"' if k == len(rows) - 1 else ""
        parts.append(f"<tr{last}>" + "".join(cells) + "</tr>")
    n_cols = n_info + len(FEEDBACK_HEADERS)
    # The signature lines are the table's last row, never put on a page of their own.
    parts.append(
        f'<tr class="end"><td colspan="{n_cols}" style="border:none;padding:0">'
        '<p class="hint">核查结果填写：确认种植 / 排除 / 未发现 / 非本镇辖区；'
        "“排除”请写明实际是什么；铲除面积单位为平方米（1亩≈666.7平方米）。</p>"
        '<div class="sign"><span>村（社区）书记签字：</span><span>填报人：</span>'
        "<span>填报时间：</span></div></td></tr></tbody>"
    )
    parts.append("</table></body></html>")
    return "\n".join(parts)


SUMMARY_HEADERS: tuple[str, ...] = (
    "村（社区）",
    "靶标数",
    "临近村界",
    "跨村",
    "复种点",
    "重复下发",
    "核查时限",
)


def write_summary_workbook(
    path: str | os.PathLike[str],
    frame: pd.DataFrame,
    *,
    batch: str | None = None,
    due_on: dt.date | None = None,
) -> Path:
    """Write the town summary ``汇总.xlsx``: one row per village, then every target.

    Sheet 汇总 counts targets per village (with boundary, split, repeat and re-issue counts);
    sheet 全部靶标 lists every target with its village and navigation links.
    """
    rows = dispatch_rows(frame, due_on=due_on)
    recs = [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]
    per: dict[str, dict[str, Any]] = {}
    for rec in recs:
        name = str(rec["village"]) if _present(rec.get("village")) else "镇外"
        d = per.setdefault(
            name,
            {"n": 0, "near": 0, "split": 0, "repeat": 0, "reissue": 0, "due": set()},
        )
        d["n"] += 1
        d["near"] += 1 if _names(rec.get("neighbours")) else 0
        d["split"] += 1 if _names(rec.get("split_into")) else 0
        d["repeat"] += 1 if _present(rec.get("repeat_of")) else 0
        d["reissue"] += 1 if _present(rec.get("reissue_of")) else 0
        due = _date(rec.get("due_on")) or due_on
        if due:
            d["due"].add(due)
    names = sorted(per, key=lambda n: (n == "镇外", natural_key(n)))
    table: list[Sequence[Any]] = []
    for n in names:
        d = per[n]
        dues = sorted(d["due"])
        table.append(
            [n, d["n"], d["near"], d["split"], d["repeat"], d["reissue"], dues[0] if dues else None]
        )
    table.append(
        [
            "合计",
            sum(per[n]["n"] for n in names),
            sum(per[n]["near"] for n in names),
            sum(per[n]["split"] for n in names),
            sum(per[n]["repeat"] for n in names),
            sum(per[n]["reissue"] for n in names),
            None,
        ]
    )
    wb = new_workbook()
    title = f"疑似靶标派发汇总（批次 {batch}）" if batch else "疑似靶标派发汇总"
    write_sheet(wb.create_sheet("汇总"), list(SUMMARY_HEADERS), table, title=title)
    write_sheet(
        wb.create_sheet("全部靶标"),
        list(TARGET_HEADERS),
        [[r[h] for h in TARGET_HEADERS] for r in rows],
        widths=_WIDTHS,
        wrap=("说明",),
        number_formats=_NUMBER_FORMATS,
        landscape=True,
        freeze_columns=2,
        print_scale=PRINT_SCALE,
    )
    out = Path(path)
    wb.save(out)
    return out
