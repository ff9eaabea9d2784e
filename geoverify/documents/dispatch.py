"""Dispatch lists (派发清单): village XLSX with feedback columns, printable HTML, town summary."""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from geoverify.documents.xlsx import Link, new_workbook, write_sheet
from geoverify.model import RESULT_LABELS
from geoverify.navigation import format_degrees, navigation_links, to_dms
from geoverify.progress import natural_key, sort_targets_for_lists

__all__ = [
    "DISPATCH_FORMAT",
    "DISPATCH_FORMAT_VERSION",
    "FEEDBACK_HEADERS",
    "META_SHEET",
    "RESULT_CHOICES",
    "TARGET_HEADERS",
    "dispatch_rows",
    "render_village_html",
    "target_notes",
    "write_summary_workbook",
    "write_village_workbook",
]

#: Identifies our dispatch workbooks in the hidden metadata sheet.
DISPATCH_FORMAT = "geoverify-dispatch"
DISPATCH_FORMAT_VERSION = "1"
#: Name of the hidden sheet holding the metadata (batch, village code, format version).
META_SHEET = "_geoverify"
#: Name of the visible sheet villages fill in.
LIST_SHEET = "核查清单"

TARGET_HEADERS: tuple[str, ...] = (
    "序号",
    "靶标编号",
    "村（社区）",
    "组",
    "经度",
    "纬度",
    "经度（度分秒）",
    "纬度（度分秒）",
    "面积",
    "影像时间",
    "核查时限",
    "说明",
    "高德地图",
    "百度地图",
    "手机定位",
)
FEEDBACK_HEADERS: tuple[str, ...] = (
    "核查日期",
    "核查人员",
    "核查结果",
    "株数",
    "面积（平方米）",
    "铲除日期",
    "案件编号",
    "备注",
)
#: Drop-down choices of 核查结果, in the order the issue gives them.
RESULT_CHOICES: tuple[str, ...] = tuple(RESULT_LABELS[r] for r in RESULT_LABELS)

_NUMBER_FORMATS = {"经度": "0.000000", "纬度": "0.000000", "面积": "0.0"}
_SOURCE_NOTES = {"self": "自主发现", "tip": "举报线索"}


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


def dispatch_rows(frame: pd.DataFrame, *, due_on: dt.date | None = None) -> list[dict[str, Any]]:
    """One dict per target, keyed by :data:`TARGET_HEADERS`, in list order (序号 from 1).

    Link columns hold :class:`~geoverify.documents.xlsx.Link` values; coordinates are the stored
    WGS84/CGCS2000 degrees rounded to 6 decimals (shown with 6 places).
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
        area = rec.get("area_m2")
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
                "面积": round(float(area), 1) if area is not None and _present(area) else None,
                "影像时间": _date(rec.get("image_date")),
                "核查时限": due,
                "说明": target_notes(rec) or None,
                "高德地图": Link(lk.amap, "高德导航"),
                "百度地图": Link(lk.baidu, "百度导航"),
                "手机定位": Link(lk.geo, "geo定位"),
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
    """Write ``<village>.xlsx``: the targets, navigation links and empty feedback columns.

    核查结果 carries a drop-down (确认种植, 排除, 未发现, 非本镇辖区). A hidden sheet
    ``_geoverify`` records the format, batch, village code and the header row so that the
    filled workbook can be read back by :func:`geoverify.readers.feedback.read_feedback`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    rows = dispatch_rows(rows_frame, due_on=due_on)
    if village_code is None and "village_code" in rows_frame.columns:
        codes = [c for c in rows_frame["village_code"] if _present(c)]
        village_code = str(codes[0]) if codes else None
    headers = [*TARGET_HEADERS, *FEEDBACK_HEADERS]
    wb = new_workbook()
    ws = wb.create_sheet(LIST_SHEET)
    title = _title(village_name, batch, issued_on)
    if illustrative:
        title += "（村界为示意边界）"
    header_row = write_sheet(
        ws,
        headers,
        [[r[h] for h in TARGET_HEADERS] + [None] * len(FEEDBACK_HEADERS) for r in rows],
        title=title,
        widths={"高德地图": 10, "百度地图": 10, "手机定位": 10, "说明": 24, "备注": 20},
        dropdowns={"核查结果": RESULT_CHOICES},
        number_formats=_NUMBER_FORMATS,
        landscape=True,
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
    ]
    write_sheet(meta, ["key", "value"], pairs, freeze=False)
    meta.sheet_state = "hidden"
    wb.active = 0
    out = Path(path)
    wb.save(out)
    return out


_CSS = """
@page { size: A4 landscape; margin: 10mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimSun",
       sans-serif; font-size: 10pt; color: #000; margin: 0; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 2mm 0; }
p.meta { text-align: center; margin: 0 0 2mm 0; }
p.warn { color: #c0392b; text-align: center; margin: 0 0 2mm 0; }
figure { text-align: center; margin: 0 0 3mm 0; page-break-inside: avoid; }
figure img { max-width: 100%; max-height: 95mm; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
th, td { border: 1px solid #000; padding: 0.8mm 1mm; vertical-align: top; }
th { background: #ddebf7; white-space: nowrap; }
th.fb { white-space: normal; min-width: 12mm; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
td.blank { height: 9mm; }
td.num, td.nowrap, td.coords, td.nav { white-space: nowrap; }
td.num { text-align: right; }
.coords { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; }
a { color: #0563c1; }
.sign { margin-top: 6mm; }
@media print { a { color: #000; text-decoration: none; } }
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
) -> str:
    """A printable A4 page (HTML) of one village's dispatch list, with an embedded static map.

    Every value taken from data is HTML-escaped; the map is embedded as a base64 PNG so the
    page works offline. Navigation links open the phone map apps.
    """
    rows = dispatch_rows(rows_frame, due_on=due_on)
    title = _title(village_name, batch, issued_on)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">共 {len(rows)} 个疑似靶标；核查时限：'
        f"{_e(due_on.isoformat() if due_on else '—')}</p>",
    ]
    if illustrative:
        parts.append('<p class="warn">村界为示意边界，仅供参考（illustrative boundary）</p>')
    if map_png:
        b64 = base64.b64encode(map_png).decode("ascii")
        parts.append(
            f'<figure><img alt="{_e(village_name)} 靶标分布示意图" '
            f'src="data:image/png;base64,{b64}"></figure>'
        )
    head = ["序号", "靶标编号", "组", "经纬度", "度分秒", "面积", "影像时间", "说明", "导航"]
    parts.append("<table><thead><tr>")
    parts += [f"<th>{_e(h)}</th>" for h in head]
    parts += [f'<th class="fb">{_e(h)}</th>' for h in FEEDBACK_HEADERS]
    parts.append("</tr></thead><tbody>")
    for r in rows:
        links = "<br>".join(
            f'<a href="{_e(r[k].url)}">{_e(short)}</a>'
            for k, short in (("高德地图", "高德"), ("百度地图", "百度"), ("手机定位", "geo"))
        )
        cells = [
            f'<td class="num">{_e(r["序号"])}</td>',
            f'<td class="nowrap">{_e(r["靶标编号"])}</td>',
            f'<td class="nowrap">{_e(r["组"])}</td>',
            f'<td class="coords">{format_degrees(r["经度"])}<br>{format_degrees(r["纬度"])}</td>',
            f'<td class="coords">{_e(r["经度（度分秒）"])}<br>{_e(r["纬度（度分秒）"])}</td>',
            f'<td class="num">{_e(r["面积"])}</td>',
            f'<td class="nowrap">{_e(r["影像时间"].isoformat() if r["影像时间"] else "")}</td>',
            f"<td>{_e(r['说明'])}</td>",
            f'<td class="nav">{links}</td>',
            *['<td class="blank"></td>'] * len(FEEDBACK_HEADERS),
        ]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    parts.append(
        '<p class="meta">核查结果填写：确认种植 / 排除 / 未发现 / 非本镇辖区</p>'
        '<p class="sign">村（社区）书记签字：　　　　　　　　填报人：　　　　　　　　'
        "填报时间：</p>"
    )
    parts.append("</body></html>")
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
        widths={"高德地图": 10, "百度地图": 10, "手机定位": 10, "说明": 24},
        number_formats=_NUMBER_FORMATS,
        landscape=True,
    )
    out = Path(path)
    wb.save(out)
    return out
