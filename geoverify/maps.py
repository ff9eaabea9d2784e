"""Interactive offline HTML maps (离线交互地图) of villages, targets, coverage and patrols.

:func:`build_map` turns frames into one self-contained HTML page: folium gives the page
skeleton and the ``L.map``; Leaflet and the fullscreen plugin are inlined from the pinned files
in ``geoverify/maps_assets`` (fetched by ``scripts/fetch_map_assets.py``); all data goes into a
``<script type="application/json">`` block, and a small script builds every layer, marker and
popup in the browser with DOM nodes and ``textContent`` (never ``innerHTML`` of user data).
The page makes no network request except the basemap tiles a user picks.

:func:`write_map` is the only function here that touches the file system.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import html
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from jinja2 import Template
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geoverify import geo, navigation, progress
from geoverify.errors import GeoverifyError, InputError
from geoverify.model import ASSIGNMENT_LABELS, RESULT_LABELS, STATUS_LABELS

__all__ = [
    "CATEGORIES",
    "CRIMINAL_PLANTS",
    "GROUP_MIN_ZOOM",
    "build_map",
    "target_categories",
    "write_map",
]

Basemap = Literal["none", "osm", "tianditu"]

#: Marker categories in legend order: key, Chinese label, fill colour, canvas shape.
CATEGORIES: tuple[tuple[str, str, str, str], ...] = (
    ("issued", "已下发", "#2b7bba", "circle"),
    ("dispatched", "已派发", "#f28e2b", "square"),
    ("overdue", "逾期未反馈", "#e4007f", "diamond"),
    ("confirmed", "确认种植", "#d62728", "triangle"),
    ("eradicated", "已铲除", "#2ca02c", "star"),
    ("excluded", "排除", "#8c8c8c", "cross"),
    ("not_found", "未发现", "#9467bd", "tridown"),
    ("outside", "非本镇辖区", "#3b3b3b", "hexagon"),
)
_CAT_INDEX = {c[0]: i for i, c in enumerate(CATEGORIES)}

#: 非法种植罂粟五百株以上 — the plant count from which planting is a criminal case.
CRIMINAL_PLANTS = 500

#: Group (组) boundaries are drawn from this zoom level on.
GROUP_MIN_ZOOM = 15

#: Coverage classes (lower bound %, colour, legend label), highest first.
_COVERAGE_CLASSES: tuple[tuple[float, str, str], ...] = (
    (80.0, "#1a9850", "≥ 80%"),
    (60.0, "#91cf60", "60% – 80%"),
    (40.0, "#fee08b", "40% – 60%"),
    (20.0, "#fc8d59", "20% – 40%"),
    (0.0, "#d73027", "< 20%"),
)
_COVERAGE_NONE = "#d9d9d9"

_SOURCE_LABELS = {"district": "区禁毒办下发", "self": "自主发现", "tip": "举报线索"}
#: Event kinds the workflows record (batches, dispatch, feedback, evidence, sites, reports).
_EVENT_LABELS = {
    "issued": "下发",
    "reissued": "再次下发",
    "added": "登记（自主发现/举报）",
    "dispatched": "派发",
    "verified": "核查反馈",
    "eradicated": "铲除",
    "updated": "更新反馈",
    "superseded": "更正结果",
    "reported": "上报区禁毒办",
    "evidence_added": "添加照片",
}
#: Payload keys shown in the history, with their Chinese labels (others are left out).
_PAYLOAD_LABELS = {
    "verified_on": "核查日期",
    "verified_by": "核查人员",
    "plants": "株数",
    "area_m2": "面积(m²)",
    "eradicated_area_m2": "铲除面积(m²)",
    "eradicated_on": "铲除日期",
    "case_no": "案件编号",
    "remarks": "备注",
    "note": "备注",
    "reason": "理由",
    "batch": "批次",
    "village": "村（社区）",
    "file": "文件",
    "repeat_of": "复种点",
    "original_name": "照片",
    "name": "照片",
    "found_by": "发现人",
    "found_on": "发现日期",
}

_NAV_NAME = "@@GVNAME@@"
#: label, navigation function, (sentinel lon, sentinel lat), placeholder names.
_NAV_SENTINELS = (
    ("高德地图", "amap", (101.101101, 11.111111), ("gx", "gy")),
    ("百度地图", "baidu", (102.202202, 22.222222), ("bx", "by")),
    ("腾讯地图", "tencent", (103.303303, 33.333333), ("gx", "gy")),
    ("手机地图 (geo:)", "geo", (104.404404, 44.444444), ("x", "y")),
)


@functools.cache
def _nav_templates() -> tuple[tuple[str, str], ...]:
    """URL templates derived from :mod:`geoverify.navigation` (one source of the URL formats).

    Each link function is called once with sentinel values that are then replaced by
    ``{gx}``/``{gy}`` (GCJ-02), ``{bx}``/``{by}`` (BD-09), ``{x}``/``{y}`` (CGCS2000) and
    ``{name}``; the page fills them per target with the coordinates computed here by
    :mod:`geoverify.geo`, formatted to 6 decimals and URL-encoded like ``urllib.parse.quote``.
    """
    builders: dict[str, Callable[[float, float, str], str]] = {
        "amap": navigation.amap_url,
        "baidu": navigation.baidu_url,
        "tencent": navigation.tencent_url,
        "geo": navigation.geo_uri,
    }
    quoted_name = quote(_NAV_NAME, safe="")
    out = []
    for label, key, (lon, lat), (px, py) in _NAV_SENTINELS:
        url = builders[key](lon, lat, _NAV_NAME)
        url = url.replace(navigation.format_degrees(lon), "{" + px + "}")
        url = url.replace(navigation.format_degrees(lat), "{" + py + "}")
        url = url.replace(quoted_name, "{name}")
        out.append((label, url))
    return tuple(out)


#: Tile templates. Tianditu ``_w`` layers are Web-Mercator tiles of CGCS2000 data: no offset.
_OSM = {
    "key": "osm",
    "label": "OpenStreetMap",
    "layers": [
        {
            "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "subdomains": "abc",
            "attribution": "© OpenStreetMap contributors",
        }
    ],
}
_TDT_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"
)
_TDT_ATTRIBUTION = "天地图 © 国家地理信息公共服务平台"
_TIANDITU_KEY_RE = re.compile(r"^[A-Za-z0-9]{8,64}$")

_SIMPLIFY_DEG = 1e-5  # ≈ 1 m at Tongliang's latitude
_DECIMALS = 6
_SHANGHAI = ZoneInfo("Asia/Shanghai")
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
_ASSET_CSS = ("leaflet.css", "Control.FullScreen.css")
_ASSET_JS = ("leaflet.js", "Control.FullScreen.umd.js")
_ASSET_IMAGES = {
    "images/layers.png": "leaflet-images-layers.png",
    "images/layers-2x.png": "leaflet-images-layers-2x.png",
    "images/marker-icon.png": "leaflet-images-marker-icon.png",
}
_JPEG_MAGIC = b"\xff\xd8\xff"

_PAGE_CSS = """
html, body { width: 100%; height: 100%; margin: 0; padding: 0; }
.folium-map, .leaflet-container {
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
    sans-serif;
}
.leaflet-container { font-size: 13px; background: #f4f3ef; }
.gv-box { background: rgba(255, 255, 255, 0.92); padding: 4px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); }
.gv-readout { font-variant-numeric: tabular-nums; min-width: 17em; }
.gv-legend { max-height: 38vh; overflow-y: auto; line-height: 1.25; }
.leaflet-control-layers-expanded { max-height: 44vh; overflow-y: auto; }
.gv-ltitle { font-weight: bold; margin-bottom: 2px; }
.gv-lsub { font-weight: bold; margin: 4px 0 1px; color: #444; }
.gv-litem { display: flex; align-items: center; gap: 4px; }
.gv-icon { width: 20px; height: 20px; flex: none; }
.gv-swatch { display: inline-block; width: 18px; height: 12px; margin: 0 1px;
  border: 1px solid #555; flex: none; }
.gv-hatch-swatch { background: repeating-linear-gradient(45deg, #b03060 0 2px,
  transparent 2px 6px); }
.gv-track-swatch { border: none; border-top: 3px solid #0a64d8; height: 0; }
.gv-group-swatch { border: none; border-top: 2px dashed #5b5b5b; height: 0; }
.gv-note { color: #a00; font-weight: bold; }
.gv-title { position: absolute; top: 8px; left: 50%; transform: translateX(-50%);
  z-index: 1000; background: rgba(255, 255, 255, 0.92); padding: 4px 14px; border-radius: 4px;
  font-size: 16px; font-weight: bold; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3);
  max-width: 60%; text-align: center; }
.gv-subtitle { font-size: 12px; font-weight: normal; color: #555; }
.gv-vlabel { background: rgba(255, 255, 255, 0.75); border: none; box-shadow: none;
  font-weight: bold; padding: 0 3px; }
.gv-vlabel::before, .gv-glabel::before { display: none; }
.gv-glabel { background: transparent; border: none; box-shadow: none; color: #444;
  font-size: 11px; padding: 0; }
.gv-hatch { fill: url(#gv-hatch); }
.gv-popup { min-width: 220px; }
.gv-ptitle { font-weight: bold; font-size: 14px; margin-bottom: 4px; display: flex;
  align-items: center; gap: 4px; }
.gv-ptable { border-collapse: collapse; }
.gv-ptable th { text-align: left; white-space: nowrap; color: #555; font-weight: normal;
  padding: 1px 8px 1px 0; vertical-align: top; }
.gv-ptable td { padding: 1px 0; word-break: break-all; }
.gv-psub { font-weight: bold; margin: 6px 0 2px; }
.gv-nav { margin-top: 4px; }
.gv-nav a { margin-right: 8px; }
.gv-hist { margin: 0; padding-left: 18px; }
.gv-when { color: #555; font-variant-numeric: tabular-nums; }
.gv-payload { color: #666; font-size: 12px; word-break: break-all; }
.gv-photos img { max-width: 110px; max-height: 110px; margin: 2px; border: 1px solid #ccc; }
"""

_HATCH_DEFS = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="gv-hatch" patternUnits="userSpaceOnUse" width="8" height="8" '
    'patternTransform="rotate(45)"><rect width="8" height="8" fill="#b03060" '
    'fill-opacity="0.08"/><line x1="0" y1="0" x2="0" y2="8" stroke="#b03060" '
    'stroke-width="2.2"/></pattern></defs></svg>'
)


class _Raw(Element):
    """A chunk of trusted HTML inserted verbatim (not compiled as a Jinja template)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _App(folium.MacroElement):
    """The page script; rendered after the ``L.map`` so it can use the map variable."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}")

    def __init__(self, js: str) -> None:
        super().__init__()
        self._name = "GeoverifyApp"
        self.js = js


# --- bundled assets ----------------------------------------------------------------------


@functools.cache
def _assets() -> tuple[str, str]:
    """Return (css, js) of the pinned bundle after checking every file's SHA-256."""
    root = resources.files("geoverify") / "maps_assets"
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        msg = f"地图资源清单缺失或损坏 (maps_assets/manifest.json unreadable): {e}"
        raise GeoverifyError(msg) from e
    expected: dict[str, str] = {}
    for pkg in manifest["packages"]:
        expected.update(pkg["files"])
    blobs: dict[str, bytes] = {}
    for name in (*_ASSET_CSS, *_ASSET_JS, *_ASSET_IMAGES.values()):
        try:
            data = (root / name).read_bytes()
        except OSError as e:
            msg = f"地图资源文件缺失 (missing map asset) maps_assets/{name}: {e}"
            raise GeoverifyError(msg) from e
        if hashlib.sha256(data).hexdigest() != expected.get(name):
            msg = (
                f"地图资源文件校验失败 (sha256 mismatch) maps_assets/{name}; "
                "run scripts/fetch_map_assets.py"
            )
            raise GeoverifyError(msg)
        blobs[name] = data
    css = "\n".join(blobs[n].decode("utf-8") for n in _ASSET_CSS)
    for rel, name in _ASSET_IMAGES.items():
        uri = "data:image/png;base64," + base64.b64encode(blobs[name]).decode("ascii")
        css = css.replace(f"url({rel})", f"url({uri})")
    js = "\n".join(blobs[n].decode("utf-8") for n in _ASSET_JS)
    for text, tag in ((css, "</style"), (js, "</script")):
        if tag in text.lower():
            msg = f"bundled asset contains {tag!r}; cannot inline it"
            raise GeoverifyError(msg)
    return css, js


# --- small helpers -----------------------------------------------------------------------


def _json_for_script(obj: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_JSON_ESCAPES)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple, dict, set, np.ndarray)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, (list, tuple, set, np.ndarray)):
        items = [str(v) for v in value if not _is_missing(v)]
        return "、".join(items) if items else None
    text = str(value).strip()
    return text or None


def _date(value: Any) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_SHANGHAI)
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text[:10] or None


def _as_date(value: Any) -> dt.date | None:
    text = _date(value)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _number(value: Any) -> float | int | None:
    if _is_missing(value):
        return None
    try:
        num = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(num):
        return None
    return int(num) if num.is_integer() else round(num, 2)


def _datetime_text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # the store keeps UTC
        return value.astimezone(_SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _round_geom(geom: BaseGeometry, *, simplify: bool = True) -> BaseGeometry:
    if simplify:
        geom = geom.simplify(_SIMPLIFY_DEG, preserve_topology=True)
    return shapely.transform(geom, lambda c: np.round(c, _DECIMALS))


def _to_store_crs(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        msg = f"{what}: 需要 GeoDataFrame (expected a GeoDataFrame), got {type(frame).__name__}"
        raise InputError(msg)
    if frame.crs is None:
        msg = f"{what}: 缺少坐标系 (no CRS); expected EPSG:4490"
        raise InputError(msg)
    if frame.crs != geo.STORE_CRS:
        frame = frame.to_crs(geo.STORE_CRS)
    return frame


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what}: 缺少字段 (missing columns) {', '.join(missing)}"
        raise InputError(msg)


def _features(
    frame: gpd.GeoDataFrame, props: Sequence[dict[str, Any]], *, simplify: bool = True
) -> dict[str, Any]:
    feats = []
    for geom, prop in zip(frame.geometry, props, strict=True):
        if geom is None or geom.is_empty:
            continue
        feats.append(
            {
                "type": "Feature",
                "geometry": mapping(_round_geom(geom, simplify=simplify)),
                "properties": prop,
            }
        )
    return {"type": "FeatureCollection", "features": feats}


# --- targets -------------------------------------------------------------------------------


def target_categories(
    targets: pd.DataFrame, *, as_of: dt.date | None = None, today: dt.date | None = None
) -> list[str]:
    """Return the map category of every target (the keys of :data:`CATEGORIES`).

    The verification result decides first (排除, 未发现, 非本镇辖区); a confirmed target is
    ``eradicated`` once its status is eradicated (or it was reported with an eradication date),
    else ``confirmed``. A target outside the town that nobody took on is ``outside``
    (:func:`geoverify.progress.outside_town_mask`); a target overdue on ``as_of`` is
    ``overdue`` (:func:`geoverify.progress.overdue_mask`: dispatched, no result, past due).
    ``today`` is the old name of ``as_of``.
    """
    day = as_of if as_of is not None else today
    if day is None:
        msg = "as_of is required (the date that decides overdue targets)"
        raise TypeError(msg)
    n = len(targets)
    if n == 0:
        return []
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for name in ("status", "result", "village_code", "due_on", "eradicated_on", "assignment"):
        values = targets[name].to_numpy(dtype=object) if name in targets.columns else [None] * n
        frame[name] = pd.Series(values, dtype=object).where(
            pd.notna(pd.Series(values, dtype=object)), None
        )
    if "village_code" not in targets.columns:  # frames without codes: the assignment decides
        frame["village_code"] = frame["village_code"].where(frame["assignment"] == "outside", "")
    status = frame["status"].fillna("issued").astype(str).to_numpy()
    result = frame["result"].to_numpy(dtype=object)
    has_erad = frame["eradicated_on"].notna().to_numpy()
    outside = progress.outside_town_mask(frame).to_numpy()
    overdue = progress.overdue_mask(frame, as_of=day).to_numpy()
    cats = np.where(status == "dispatched", "dispatched", "issued").astype(object)
    cats[overdue] = "overdue"
    cats[outside] = "outside"
    confirmed = result == "confirmed"
    cats[confirmed] = "confirmed"
    cats[(status == "eradicated") | (confirmed & has_erad)] = "eradicated"
    for key in ("excluded", "not_found", "outside"):
        cats[result == key] = key
    return [str(c) for c in cats]


_OPTIONAL_TEXT = (
    "assignment",
    "neighbours",
    "split_into",
    "source",
    "reissue_of",
    "repeat_of",
    "verified_by",
    "case_no",
    "remarks",
)
_OPTIONAL_DATES = ("image_date", "issued_on", "due_on", "verified_on", "eradicated_on")
_OPTIONAL_NUMBERS = ("plants", "area_m2", "eradicated_area_m2")


def _state_label(state: Any) -> str | None:
    if not isinstance(state, Mapping):
        return None
    result = _text(state.get("result"))
    status = _text(state.get("status"))
    if result:
        return RESULT_LABELS.get(result, result)
    if status:
        return STATUS_LABELS.get(status, status)
    return None


def _payload_summary(payload: Any) -> str:
    """A short Chinese line for an event payload: the state change, then the values set."""
    if not isinstance(payload, Mapping) or not payload:
        return ""
    parts: list[str] = []
    before, after = _state_label(payload.get("from")), _state_label(payload.get("to"))
    if after and before != after:
        parts.append(f"{before} → {after}" if before else after)
    to = payload.get("to")
    values: dict[str, Any] = dict(to) if isinstance(to, Mapping) else {}
    values.update({k: v for k, v in payload.items() if k not in ("from", "to")})
    old = payload.get("from") if isinstance(payload.get("from"), Mapping) else {}
    for key, label in _PAYLOAD_LABELS.items():
        value = values.get(key)
        text = _text(value) if not isinstance(value, Mapping) else None
        if text is None or (isinstance(old, Mapping) and _text(old.get(key)) == text):
            continue
        parts.append(f"{label}: {text}")
    summary = "；".join(parts)
    if len(summary) > 200:
        summary = summary[:199] + "…"
    return summary


def _history_rows(events: Any) -> list[list[str]]:
    if isinstance(events, pd.DataFrame):
        records: Sequence[Mapping[Any, Any]] = events.to_dict("records")
    else:
        records = list(events or [])
    rows = []
    for ev in sorted(records, key=lambda e: _datetime_text(e.get("at"))):
        kind = _text(ev.get("kind")) or ""
        rows.append(
            [
                _datetime_text(ev.get("at")),
                _text(ev.get("actor")) or "",
                _EVENT_LABELS.get(kind, kind),
                _payload_summary(ev.get("payload")),
            ]
        )
    return rows


def _targets_payload(
    targets: gpd.GeoDataFrame | None,
    village_names: list[str],
    village_codes: dict[str, int],
    *,
    today: dt.date,
    history: Mapping[Any, Any] | None,
    photos: Mapping[Any, Sequence[bytes]] | None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Column arrays of the targets, plus history and photo maps keyed by row position."""
    if targets is None or len(targets) == 0:
        empty: dict[str, Any] = {k: [] for k in ("id", "x", "y", "c", "f", "v", "s")}
        empty.update({k: [] for k in ("gx", "gy", "bx", "by")})
        return empty, {}, {}
    targets = _to_store_crs(targets, "targets")
    _require(targets, ["target_id", "geometry"], "targets")
    n = len(targets)
    ids = [_text(v) or "" for v in targets["target_id"]]
    if "lon" in targets.columns and "lat" in targets.columns:
        lon = pd.to_numeric(targets["lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(targets["lat"], errors="coerce").to_numpy(dtype=float)
    else:
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
    missing = ~(np.isfinite(lon) & np.isfinite(lat))
    if missing.any():
        geoms = targets.geometry.to_numpy()[missing]
        pts = shapely.point_on_surface(geoms)
        lon[missing] = shapely.get_x(pts)
        lat[missing] = shapely.get_y(pts)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        msg = f"targets: 靶标 {ids[k]} 没有可用坐标 (no usable coordinates)"
        raise InputError(msg)
    gx, gy = geo.wgs84_to_gcj02(lon, lat)
    bx, by = geo.wgs84_to_bd09(lon, lat)

    cats = target_categories(targets, as_of=today)
    plants = (
        pd.to_numeric(targets["plants"], errors="coerce").to_numpy(dtype=float)
        if "plants" in targets.columns
        else np.full(n, np.nan)
    )
    repeat = (
        np.array([_text(v) is not None for v in targets["repeat_of"]])
        if "repeat_of" in targets.columns
        else np.zeros(n, dtype=bool)
    )
    flags = repeat.astype(int) + 2 * (np.nan_to_num(plants, nan=0.0) >= CRIMINAL_PLANTS)

    def rounded(a: np.ndarray) -> list[float]:
        return [float(v) for v in np.round(a, _DECIMALS)]

    village_index = []
    for code, name in zip(
        targets["village_code"] if "village_code" in targets.columns else [None] * n,
        targets["village"] if "village" in targets.columns else [None] * n,
        strict=True,
    ):
        code_t = _text(code)
        name_t = _text(name)
        if code_t is not None and code_t in village_codes:
            village_index.append(village_codes[code_t])
        elif name_t is not None:
            if name_t not in village_names:
                village_names.append(name_t)
            village_index.append(village_names.index(name_t))
        else:
            village_index.append(-1)

    cols: dict[str, Any] = {
        "id": ids,
        "x": rounded(lon),
        "y": rounded(lat),
        "gx": rounded(gx),
        "gy": rounded(gy),
        "bx": rounded(bx),
        "by": rounded(by),
        "c": [_CAT_INDEX[c] for c in cats],
        "f": [int(v) for v in flags],
        "v": village_index,
        "s": [_text(v) or "issued" for v in targets["status"]]
        if "status" in targets.columns
        else ["issued"] * n,
    }

    def optional(name: str, values: list[Any]) -> None:
        if any(v is not None for v in values):
            cols[name] = values

    if "result" in targets.columns:
        optional("r", [_text(v) for v in targets["result"]])
    if "group" in targets.columns:
        optional("g", [_text(v) for v in targets["group"]])
    if "batch" in targets.columns:
        optional("b", [_text(v) for v in targets["batch"]])
    for name in _OPTIONAL_TEXT:
        if name in targets.columns:
            optional(name, [_text(v) for v in targets[name]])
    for name in _OPTIONAL_DATES:
        if name in targets.columns:
            optional(name, [_date(v) for v in targets[name]])
    for name in _OPTIONAL_NUMBERS:
        if name in targets.columns:
            optional(name, [_number(v) for v in targets[name]])

    keys = list(targets["pk"]) if "pk" in targets.columns else list(targets.index)
    position = {}
    for i, key in enumerate(keys):
        position[key] = i
        position[str(key)] = i
    hist_out: dict[str, Any] = {}
    for key, events in (history or {}).items():
        if key in position:
            rows = _history_rows(events)
            if rows:
                hist_out[str(position[key])] = rows
    photo_out: dict[str, Any] = {}
    for key, images in (photos or {}).items():
        if key not in position:
            continue
        encoded = []
        for k, blob in enumerate(images):
            if not isinstance(blob, (bytes, bytearray)) or not bytes(blob).startswith(_JPEG_MAGIC):
                msg = f"photos: 靶标 pk={key} 第 {k + 1} 张照片不是 JPEG (photo is not a JPEG)"
                raise InputError(msg)
            encoded.append(base64.b64encode(bytes(blob)).decode("ascii"))
        if encoded:
            photo_out[str(position[key])] = encoded
    return cols, hist_out, photo_out


# --- the map -------------------------------------------------------------------------------


def _tile_choices(basemap: str, tianditu_key: str | None) -> list[dict[str, Any]]:
    if basemap not in ("none", "osm", "tianditu"):
        msg = f"底图只能是 none、osm 或 tianditu (basemap must be none|osm|tianditu): {basemap!r}"
        raise InputError(msg)
    if tianditu_key is not None and not _TIANDITU_KEY_RE.match(tianditu_key):
        msg = "天地图密钥格式不对 (Tianditu key must be 8–64 letters/digits)"
        raise InputError(msg)
    if basemap == "tianditu" and not tianditu_key:
        msg = "使用天地图需要密钥 (basemap 'tianditu' needs tianditu_key / GEOVERIFY_TIANDITU_KEY)"
        raise InputError(msg)
    tiles: list[dict[str, Any]] = [_OSM]
    if tianditu_key:
        for key, label, base, note in (
            ("tianditu", "天地图影像", "img", "cia"),
            ("tianditu_vec", "天地图矢量", "vec", "cva"),
        ):
            tiles.append(
                {
                    "key": key,
                    "label": label,
                    "layers": [
                        {
                            "url": _TDT_URL.replace("{layer}", layer),
                            "subdomains": "01234567",
                            "attribution": _TDT_ATTRIBUTION,
                        }
                        for layer in (base, note)
                    ],
                }
            )
    return tiles


def _coverage_by_code(coverage: pd.DataFrame | None) -> dict[str, float]:
    if coverage is None:
        return {}
    _require(coverage, ["code", "covered_pct"], "coverage")
    out: dict[str, float] = {}
    for code, pct in zip(coverage["code"], coverage["covered_pct"], strict=True):
        value = _number(pct)  # None for missing / non-finite values
        if _text(code) is not None and value is not None:
            out[str(_text(code))] = round(float(pct), 1)  # once: 5.5527 → 5.6, not 5.55 → 5.5
    return out


def _track_label(row: Mapping[Any, Any]) -> str | None:
    for name in ("label", "name"):
        text = _text(row.get(name))
        if text:
            return text
    keys = ("village", "date", "patrolled_on", "people", "patrollers", "actor")
    parts = [t for t in (_text(row.get(k)) for k in keys) if t]
    return " ".join(parts) if parts else None


def build_map(
    villages: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame | None = None,
    *,
    groups: gpd.GeoDataFrame | None = None,
    coverage: pd.DataFrame | None = None,
    unsurveyed: gpd.GeoDataFrame | None = None,
    tracks: gpd.GeoDataFrame | None = None,
    history: Mapping[Any, Any] | None = None,
    photos: Mapping[Any, Sequence[bytes]] | None = None,
    basemap: Basemap = "none",
    tianditu_key: str | None = None,
    illustrative: bool = False,
    title: str = "福果镇禁种铲毒靶标核查图",
    subtitle: str | None = None,
    as_of: dt.date | None = None,
    today: dt.date | None = None,
) -> str:
    """Build a self-contained interactive HTML map and return it as a string.

    Parameters
    ----------
    villages
        Villages frame (``code``, ``name``, ``kind``, polygon geometry); coloured by coverage.
    targets
        Targets frame as the store returns it; drawn as markers coloured and shaped by status
        (see :data:`CATEGORIES`), with a dashed ring for repeat sites and a black ring for
        ≥ :data:`CRIMINAL_PLANTS` plants.
    groups
        Groups frame (组); drawn from zoom :data:`GROUP_MIN_ZOOM` on. Rows without a polygon
        are skipped.
    coverage
        Per-village frame with ``code`` and ``covered_pct`` (0–100).
    unsurveyed
        Polygons nobody has walked (未踏查区域); drawn hatched.
    tracks
        Patrol tracks (lines); an optional ``label``/``name`` column (or ``village``, ``date``,
        ``people``) becomes the tooltip.
    history
        Target ``pk`` → list (or DataFrame) of events with ``at``, ``actor``, ``kind``,
        ``payload``; shown in the popup, times in Asia/Shanghai.
    photos
        Target ``pk`` → list of small JPEG thumbnails (bytes), inlined as data URIs.
    basemap
        ``"none"`` (default, works offline), ``"osm"`` or ``"tianditu"`` (needs a key). OSM is
        always offered in the layer switch and Tianditu when a key is given; tiles are fetched
        only for the basemap the user shows.
    tianditu_key
        Tianditu token (``GEOVERIFY_TIANDITU_KEY``); written into the page.
    illustrative
        Show the note "示意边界，非官方数据"; also shown when any village has
        ``illustrative`` true.
    title, subtitle
        Text over the map and the page title.
    as_of
        Date that decides overdue targets (:func:`geoverify.progress.overdue_mask`); shown in
        the legend. ``today`` is its old name; default the current date in Asia/Shanghai.

    Returns
    -------
    str
        The HTML document. No network request is made when it is opened, except basemap tiles.
    """
    today = as_of or today or dt.datetime.now(_SHANGHAI).date()
    tiles = _tile_choices(basemap, tianditu_key)
    villages = _to_store_crs(villages, "villages")
    _require(villages, ["code", "name"], "villages")
    cover = _coverage_by_code(coverage)

    codes = [_text(c) or "" for c in villages["code"]]
    village_names = [_text(n) or "" for n in villages["name"]]
    village_codes = {c: i for i, c in enumerate(codes)}
    kinds = (
        [_text(k) or "" for k in villages["kind"]]
        if "kind" in villages.columns
        else [""] * len(codes)
    )
    village_props = [
        {"i": i, "n": village_names[i], "c": codes[i], "k": kinds[i], "p": cover.get(codes[i])}
        for i in range(len(codes))
    ]
    village_fc = _features(villages, village_props)
    if "illustrative" in villages.columns:
        illustrative = illustrative or bool(
            villages["illustrative"].fillna(False).astype(bool).any()
        )

    t_cols, t_hist, t_photos = _targets_payload(
        targets, village_names, village_codes, today=today, history=history, photos=photos
    )

    # Polygon targets (图斑) are also drawn as outlines in their category's colour.
    outline_fc: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if targets is not None and len(targets):
        tgeoms = _to_store_crs(targets, "targets").geometry
        is_poly = tgeoms.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        if is_poly.any():
            rows_i = np.flatnonzero(is_poly)
            outline_fc = _features(
                gpd.GeoDataFrame(geometry=tgeoms.iloc[rows_i].to_numpy(), crs=geo.STORE_CRS),
                [{"i": int(k), "c": t_cols["c"][k]} for k in rows_i],
            )

    group_fc: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if groups is not None and len(groups):
        groups = _to_store_crs(groups, "groups")
        _require(groups, ["name"], "groups")
        names = {c: n for c, n in zip(codes, village_names, strict=True)}
        gcodes = (
            groups["village_code"] if "village_code" in groups.columns else [None] * len(groups)
        )
        props = [
            {"n": f"{names.get(_text(c) or '', '')}{_text(n) or ''}".strip(), "v": _text(c)}
            for c, n in zip(gcodes, groups["name"], strict=True)
        ]
        group_fc = _features(groups, props)

    unsurveyed_fc: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if unsurveyed is not None and len(unsurveyed):
        unsurveyed = _to_store_crs(unsurveyed, "unsurveyed")
        unsurveyed_fc = _features(unsurveyed, [{} for _ in range(len(unsurveyed))])

    track_fc: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if tracks is not None and len(tracks):
        tracks = _to_store_crs(tracks, "tracks")
        rows = tracks.drop(columns=tracks.geometry.name).to_dict("records")
        track_fc = _features(tracks, [{"n": _track_label(r)} for r in rows])

    data = {
        "title": title,
        "subtitle": subtitle,
        "illustrative": illustrative,
        "today": today.isoformat(),
        "basemap": basemap,
        "tiles": tiles,
        "tk": tianditu_key,
        "groupZoom": GROUP_MIN_ZOOM,
        "cats": [
            {"key": k, "label": label, "color": color, "shape": shape}
            for k, label, color, shape in CATEGORIES
        ],
        "cov": [list(c) for c in _COVERAGE_CLASSES],
        "covNone": _COVERAGE_NONE,
        "statusLabels": STATUS_LABELS,
        "resultLabels": RESULT_LABELS,
        "assignLabels": ASSIGNMENT_LABELS,
        "sourceLabels": _SOURCE_LABELS,
        "nav": [{"label": label, "url": url} for label, url in _nav_templates()],
        "vn": village_names,
        "v": village_fc,
        "g": group_fc,
        "u": unsurveyed_fc,
        "tr": track_fc,
        "t": t_cols,
        "to": outline_fc,
        "h": t_hist,
        "ph": t_photos,
    }

    css, js = _assets()
    fmap = folium.Map(
        location=[29.8, 106.05],
        zoom_start=12,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,
        max_zoom=19,
    )
    fmap._id = "geoverify"  # stable variable name → reproducible output
    fmap.default_js = []
    fmap.default_css = []
    root: Any = fmap.get_root()
    root.header.add_child(_Raw(f"<title>{html.escape(title)}</title>"), name="gv_title")
    root.header.add_child(_Raw(f"<style>\n{css}\n</style>"), name="gv_assets_css")
    root.header.add_child(_Raw(f"<style>{_PAGE_CSS}</style>"), name="gv_page_css")
    root.header.add_child(_Raw(f"<script>\n{js}\n</script>"), name="gv_assets_js")
    root.html.add_child(_Raw(_HATCH_DEFS), name="gv_hatch")
    root.html.add_child(
        _Raw(f'<script type="application/json" id="gv-data">{_json_for_script(data)}</script>'),
        name="gv_data",
    )
    fmap.add_child(_App(_APP_JS.replace("__MAP__", fmap.get_name())), name="gv_app")
    page = str(root.render())
    return '<!DOCTYPE html>\n<html lang="zh-CN">' + page.split("<html>", 1)[1]


def write_map(path: str | Path, html_text: str) -> Path:
    """Write a map built by :func:`build_map` to ``path`` (UTF-8), creating parent folders."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out


# --- the page script (plain ES5, no template literals) -------------------------------------

_APP_JS = r"""
/* geoverify offline map: builds every layer in the browser from the JSON block #gv-data.
 * User data is only ever put into the page with textContent / DOM nodes, never innerHTML. */
(function () {
  "use strict";
  var map = __MAP__;
  var D = JSON.parse(document.getElementById("gv-data").textContent);
  var CATS = D.cats;
  var T = D.t;
  var N = T.id.length;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== null && text !== undefined) { e.textContent = String(text); }
    return e;
  }
  function col(name, i) {
    var c = T[name];
    return c ? c[i] : null;
  }

  // ---- marker shapes drawn on the canvas renderer -------------------------------------
  var POLYS = {
    triangle: [[0, -1.3], [1.15, 0.75], [-1.15, 0.75]],
    tridown: [[0, 1.3], [1.15, -0.75], [-1.15, -0.75]],
    diamond: [[0, -1.35], [1.35, 0], [0, 1.35], [-1.35, 0]],
    hexagon: [],
    cross: []
  };
  (function () {
    var k, w = 0.38, l = 1.25, plus = [[w, -l], [w, -w], [l, -w], [l, w], [w, w], [w, l],
      [-w, l], [-w, w], [-l, w], [-l, -w], [-w, -w], [-w, -l]];
    var c = Math.SQRT1_2;
    for (k = 0; k < plus.length; k++) {
      POLYS.cross.push([(plus[k][0] - plus[k][1]) * c, (plus[k][0] + plus[k][1]) * c]);
    }
    for (k = 0; k < 6; k++) {
      var a = Math.PI / 6 + k * Math.PI / 3;
      POLYS.hexagon.push([Math.cos(a) * 1.15, Math.sin(a) * 1.15]);
    }
  })();

  function shapePath(ctx, shape, x, y, r) {
    var i, pts;
    if (shape === "circle") { ctx.arc(x, y, r, 0, Math.PI * 2, false); return; }
    if (shape === "square") { ctx.rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8); return; }
    if (shape === "star") {
      for (i = 0; i < 10; i++) {
        var a = -Math.PI / 2 + i * Math.PI / 5, rr = (i % 2) ? r * 0.6 : r * 1.45;
        if (i) { ctx.lineTo(x + Math.cos(a) * rr, y + Math.sin(a) * rr); }
        else { ctx.moveTo(x + Math.cos(a) * rr, y + Math.sin(a) * rr); }
      }
      ctx.closePath();
      return;
    }
    pts = POLYS[shape] || POLYS.diamond;
    for (i = 0; i < pts.length; i++) {
      if (i) { ctx.lineTo(x + pts[i][0] * r, y + pts[i][1] * r); }
      else { ctx.moveTo(x + pts[i][0] * r, y + pts[i][1] * r); }
    }
    ctx.closePath();
  }
  function drawRings(ctx, rings, x, y, r) {
    for (var i = 0; i < rings.length; i++) {
      ctx.beginPath();
      ctx.arc(x, y, r * 1.45 + 3 + 4 * i, 0, Math.PI * 2, false);
      ctx.globalAlpha = 1;
      ctx.lineWidth = rings[i].w;
      ctx.strokeStyle = rings[i].color;
      if (ctx.setLineDash) { ctx.setLineDash(rings[i].dash || []); }
      ctx.stroke();
    }
    if (ctx.setLineDash) { ctx.setLineDash([]); }
  }

  L.Canvas.include({
    _updateGvShape: function (layer) {
      if (!this._drawing || layer._empty()) { return; }
      var p = layer._point, ctx = this._ctx, r = Math.max(Math.round(layer._radius), 1);
      ctx.beginPath();
      shapePath(ctx, layer.options.gvShape, p.x, p.y, r);
      this._fillStroke(ctx, layer);
      drawRings(ctx, layer.options.gvRings || [], p.x, p.y, r);
    }
  });
  var GvMarker = L.CircleMarker.extend({
    _updatePath: function () { this._renderer._updateGvShape(this); },
    _updateBounds: function () {
      var n = (this.options.gvRings || []).length;
      var r = this._radius * 1.45 + (n ? 4 + 4 * n : 0) + this._clickTolerance();
      this._pxBounds = new L.Bounds(this._point.subtract([r, r]), this._point.add([r, r]));
    }
  });

  var RINGS = {
    threshold: { color: "#000000", w: 3 },
    repeat: { color: "#1f4e9c", w: 2, dash: [4, 3] }
  };
  function ringsFor(flags) {
    var out = [];
    if (flags & 2) { out.push(RINGS.threshold); }
    if (flags & 1) { out.push(RINGS.repeat); }
    return out;
  }
  function iconCanvas(shape, color, rings) {
    var c = el("canvas", "gv-icon");
    c.width = 26; c.height = 26;
    var ctx = c.getContext("2d");
    if (shape) {
      ctx.beginPath();
      shapePath(ctx, shape, 13, 13, 5);
      ctx.fillStyle = color; ctx.fill();
      ctx.lineWidth = 1; ctx.strokeStyle = "#222222"; ctx.stroke();
    }
    drawRings(ctx, rings || [], 13, 13, 3);
    return c;
  }

  // ---- coverage colours -----------------------------------------------------------------
  function covColor(p) {
    if (p === null || p === undefined) { return D.covNone; }
    for (var i = 0; i < D.cov.length; i++) {
      if (p >= D.cov[i][0]) { return D.cov[i][1]; }
    }
    return D.cov[D.cov.length - 1][1];
  }

  var canvas = L.canvas({ padding: 0.3, tolerance: 3 });

  // ---- base layers (tiles are requested only when the user picks one) -------------------
  var bases = {};
  var baseNone = L.layerGroup();
  bases["无底图 (no basemap)"] = baseNone;
  var baseByKey = { none: baseNone };
  D.tiles.forEach(function (b) {
    var layers = b.layers.map(function (t) {
      return L.tileLayer(t.url, {
        subdomains: t.subdomains || "abc", maxZoom: 18, attribution: t.attribution,
        tk: D.tk || ""
      });
    });
    var g = L.layerGroup(layers);
    bases[b.label] = g;
    baseByKey[b.key] = g;
  });
  (baseByKey[D.basemap] || baseNone).addTo(map);

  // ---- villages ---------------------------------------------------------------------------
  var villageIndex = {};
  var villages = L.geoJSON(D.v, {
    renderer: canvas,
    style: function (f) {
      var p = f.properties.p;
      return { color: "#3a3a3a", weight: 1.6, fillColor: covColor(p), fillOpacity: 0.32 };
    },
    onEachFeature: function (f, layer) {
      layer.options.gvKind = "villages";
      villageIndex[f.properties.i] = layer;
      layer.bindTooltip(function () { return el("span", null, f.properties.n); },
        { permanent: true, direction: "center", className: "gv-vlabel" });
      layer.bindPopup(function () { return villagePopup(f.properties); }, { maxWidth: 320 });
    }
  }).addTo(map);

  // ---- groups (组): only drawn at high zoom while their overlay is switched on ---------------
  var gPane = map.createPane("gvGroups");
  gPane.style.zIndex = 390;
  gPane.style.pointerEvents = "none";
  var groupsInner = L.geoJSON(D.g, {
    pane: "gvGroups", renderer: L.svg({ pane: "gvGroups" }), interactive: false,
    style: function () { return { color: "#5b5b5b", weight: 1, dashArray: "5 4", fill: false }; },
    onEachFeature: function (f, layer) {
      layer.options.gvKind = "groups";
      layer.bindTooltip(function () { return el("span", null, f.properties.n); },
        { permanent: true, direction: "center", className: "gv-glabel", interactive: false });
    }
  });
  var groupsToggle = L.layerGroup();
  function syncGroups() {
    var want = map.hasLayer(groupsToggle) && map.getZoom() >= D.groupZoom;
    if (want && !map.hasLayer(groupsInner)) { map.addLayer(groupsInner); }
    if (!want && map.hasLayer(groupsInner)) { map.removeLayer(groupsInner); }
  }
  map.on("zoomend overlayadd overlayremove", syncGroups);
  if (D.g.features.length) { groupsToggle.addTo(map); }

  // ---- unsurveyed areas (hatched, SVG so a pattern fill works) --------------------------------
  var uPane = map.createPane("gvUnsurveyed");
  uPane.style.zIndex = 380;
  uPane.style.pointerEvents = "none";
  var unsurveyed = L.geoJSON(D.u, {
    pane: "gvUnsurveyed", renderer: L.svg({ pane: "gvUnsurveyed" }), interactive: false,
    style: function () {
      return { color: "#b03060", weight: 1, fillOpacity: 1, className: "gv-hatch" };
    },
    onEachFeature: function (f, layer) { layer.options.gvKind = "unsurveyed"; }
  });
  if (D.u.features.length) { unsurveyed.addTo(map); }

  // ---- patrol tracks ---------------------------------------------------------------------
  var tracks = L.geoJSON(D.tr, {
    renderer: canvas,
    style: function () { return { color: "#0a64d8", weight: 2.5, opacity: 0.85 }; },
    onEachFeature: function (f, layer) {
      layer.options.gvKind = "tracks";
      if (f.properties.n) {
        layer.bindTooltip(function () { return el("span", null, f.properties.n); },
          { sticky: true });
      }
    }
  });
  if (D.tr.features.length) { tracks.addTo(map); }

  // ---- polygon targets (图斑) as outlines in their category colour ------------------------
  var outlines = L.geoJSON(D.to, {
    renderer: canvas, interactive: false,
    style: function (f) {
      var color = CATS[f.properties.c].color;
      return { color: color, weight: 1.5, opacity: 0.9, fillColor: color, fillOpacity: 0.15 };
    },
    onEachFeature: function (f, layer) { layer.options.gvKind = "outlines"; }
  });
  if (D.to.features.length) { outlines.addTo(map); }

  // ---- targets ---------------------------------------------------------------------------
  var catLayers = CATS.map(function () { return L.featureGroup(); });
  var catCount = CATS.map(function () { return 0; });
  var i;
  for (i = 0; i < N; i++) {
    var c = T.c[i];
    catCount[c] += 1;
    catLayers[c].addLayer(new GvMarker([T.y[i], T.x[i]], {
      renderer: canvas, radius: 6, color: "#222222", weight: 1, fillColor: CATS[c].color,
      fillOpacity: 0.95, gvShape: CATS[c].shape, gvRings: ringsFor(T.f[i]),
      gvKind: "targets", gvIndex: i, bubblingMouseEvents: false
    }));
  }
  catLayers.forEach(function (g) {
    g.on("click", function (e) {
      var k = e.layer.options.gvIndex;
      L.popup({ maxWidth: 380, maxHeight: 420, autoPanPaddingTopLeft: [20, 60] })
        .setLatLng(e.layer.getLatLng()).setContent(targetPopup(k)).openOn(map);
    });
    g.addTo(map);
  });

  // ---- popups ----------------------------------------------------------------------------
  function fillTable(tb, rows) {
    rows.forEach(function (r) {
      if (r[1] === null || r[1] === undefined || r[1] === "") { return; }
      var tr = el("tr");
      tr.appendChild(el("th", null, r[0]));
      tr.appendChild(el("td", null, r[1]));
      tb.appendChild(tr);
    });
  }
  function fmtNum(v, unit) {
    return v === null || v === undefined ? null : String(v) + (unit || "");
  }
  function quote(text) {  // the same bytes as Python's urllib.parse.quote(text, safe="")
    return encodeURIComponent(text).replace(/[!'()*]/g, function (ch) {
      return "%" + ch.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function navUrl(tpl, i, name) {
    var vals = {
      x: T.x[i], y: T.y[i], gx: T.gx[i], gy: T.gy[i], bx: T.bx[i], by: T.by[i], name: name
    };
    return tpl.replace(/\{(\w+)\}/g, function (m, k) {
      if (!Object.prototype.hasOwnProperty.call(vals, k)) { return ""; }
      var v = vals[k];
      return typeof v === "number" ? v.toFixed(6) : quote(String(v));
    });
  }
  function targetPopup(i) {
    var box = el("div", "gv-popup");
    var cat = CATS[T.c[i]];
    var head = el("div", "gv-ptitle");
    head.appendChild(iconCanvas(cat.shape, cat.color, ringsFor(T.f[i])));
    head.appendChild(el("span", null, "靶标 " + T.id[i]));
    box.appendChild(head);
    var st = D.statusLabels[T.s[i]] || T.s[i];
    var res = col("r", i);
    var resLabel = res ? (D.resultLabels[res] || res) : null;
    var status = st + (resLabel ? "，" + resLabel : "");
    if (cat.label !== st && cat.label !== resLabel) { status += "（" + cat.label + "）"; }
    var vi = T.v[i];
    var flags = [];
    if (T.f[i] & 2) { flags.push("株数达刑事立案标准（≥500株）"); }
    var rep = col("repeat_of", i);
    if (rep) { flags.push("重复点位，前次靶标 " + rep); }
    var tb = el("table", "gv-ptable");
    fillTable(tb, [
      ["村（社区）", vi >= 0 ? D.vn[vi] : "镇外 (outside the town)"],
      ["组", col("g", i)],
      ["归属", D.assignLabels[col("assignment", i)] || col("assignment", i)],
      ["相邻村", col("neighbours", i)],
      ["跨入村", col("split_into", i)],
      ["状态", status],
      ["提示", flags.join("；")],
      ["批次", col("b", i)],
      ["来源", D.sourceLabels[col("source", i)] || col("source", i)],
      ["重新下发自批次", col("reissue_of", i)],
      ["影像日期", col("image_date", i)],
      ["下发日期", col("issued_on", i)],
      ["反馈期限", col("due_on", i)],
      ["核查日期", col("verified_on", i)],
      ["核查人", col("verified_by", i)],
      ["株数", fmtNum(col("plants", i), " 株")],
      ["图斑面积", fmtNum(col("area_m2", i), " m²")],
      ["铲除面积", fmtNum(col("eradicated_area_m2", i), " m²")],
      ["铲除日期", col("eradicated_on", i)],
      ["案件编号", col("case_no", i)],
      ["备注", col("remarks", i)],
      ["坐标 (CGCS2000)", T.x[i].toFixed(6) + ", " + T.y[i].toFixed(6)]
    ]);
    box.appendChild(tb);

    var nav = el("div", "gv-nav");
    nav.appendChild(el("span", null, "导航："));
    var label = "靶标 " + T.id[i];
    D.nav.forEach(function (n) {
      var a = el("a", null, n.label);
      a.href = navUrl(n.url, i, label);
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      nav.appendChild(a);
    });
    box.appendChild(nav);

    var hist = D.h[String(i)];
    if (hist && hist.length) {
      box.appendChild(el("div", "gv-psub", "处理记录"));
      var ol = el("ol", "gv-hist");
      hist.forEach(function (e) {
        var li = el("li");
        li.appendChild(el("span", "gv-when", e[0]));
        li.appendChild(document.createTextNode(" " + e[2] + (e[1] ? "（" + e[1] + "）" : "")));
        if (e[3]) { li.appendChild(el("div", "gv-payload", e[3])); }
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
    var photos = D.ph[String(i)];
    if (photos && photos.length) {
      box.appendChild(el("div", "gv-psub", "现场照片"));
      var row = el("div", "gv-photos");
      photos.forEach(function (b64, k) {
        var img = el("img");
        img.src = "data:image/jpeg;base64," + b64;
        img.alt = "现场照片 " + (k + 1);
        row.appendChild(img);
      });
      box.appendChild(row);
    }
    return box;
  }
  function villagePopup(p) {
    var box = el("div", "gv-popup");
    box.appendChild(el("div", "gv-ptitle", p.n));
    var tb = el("table", "gv-ptable");
    var counts = CATS.map(function () { return 0; });
    for (var k = 0; k < N; k++) { if (T.v[k] === p.i) { counts[T.c[k]] += 1; } }
    var rows = [
      ["类型", p.k], ["编码", p.c],
      ["踏查覆盖率", p.p === null || p.p === undefined ? "无数据" : p.p.toFixed(1) + "%"]
    ];
    CATS.forEach(function (cat, k) {
      if (counts[k]) { rows.push([cat.label, counts[k] + " 处"]); }
    });
    fillTable(tb, rows);
    box.appendChild(tb);
    return box;
  }

  // ---- controls --------------------------------------------------------------------------
  var overlays = {};
  overlays["村（社区）界线"] = villages;
  if (D.g.features.length) {
    overlays["村民小组界线（放大至" + D.groupZoom + "级显示）"] = groupsToggle;
  }
  if (D.u.features.length) { overlays["未踏查区域"] = unsurveyed; }
  if (D.tr.features.length) { overlays["踏查轨迹"] = tracks; }
  if (D.to.features.length) { overlays["靶标图斑轮廓"] = outlines; }
  CATS.forEach(function (cat, k) {
    if (catCount[k]) { overlays["靶标：" + cat.label + "（" + catCount[k] + "）"] = catLayers[k]; }
  });
  var layerControl = L.control.layers(bases, overlays, { collapsed: false, position: "topright" })
    .addTo(map);

  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  new L.Control.FullScreen({
    position: "topleft", title: "全屏显示", titleCancel: "退出全屏", forceSeparateButton: true
  }).addTo(map);

  var Readout = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      var box = el("div", "gv-box gv-readout", "移动鼠标查看坐标");
      map.on("mousemove", function (e) {
        box.textContent = "经度 " + e.latlng.lng.toFixed(6) + "°  纬度 " +
          e.latlng.lat.toFixed(6) + "°（CGCS2000）";
      });
      return box;
    }
  });
  new Readout().addTo(map);

  var Legend = L.Control.extend({
    options: { position: "bottomright" },
    onAdd: function () {
      var box = el("div", "gv-box gv-legend");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      box.appendChild(el("div", "gv-ltitle", "图例"));
      function item(icon, text) {
        var r = el("div", "gv-litem");
        r.appendChild(icon);
        r.appendChild(el("span", null, text));
        box.appendChild(r);
      }
      function swatch(cls, style) {
        var s = el("span", "gv-swatch " + (cls || ""));
        if (style) { s.style.background = style; }
        return s;
      }
      box.appendChild(el("div", "gv-lsub", "靶标状态"));
      CATS.forEach(function (cat, k) {
        item(iconCanvas(cat.shape, cat.color), cat.label + "（" + catCount[k] + "）");
      });
      item(iconCanvas(null, null, [RINGS.repeat]), "重复点位（30米内曾有靶标）");
      item(iconCanvas(null, null, [RINGS.threshold]), "种植≥500株（刑事立案标准）");
      if (D.to.features.length) { item(swatch(null, "#ffffff"), "靶标图斑轮廓（颜色同状态）"); }
      box.appendChild(el("div", "gv-lsub", "村（社区）踏查覆盖率"));
      D.cov.forEach(function (c) { item(swatch(null, c[1]), c[2]); });
      item(swatch(null, D.covNone), "无覆盖数据");
      if (D.u.features.length) { item(swatch("gv-hatch-swatch"), "未踏查区域"); }
      if (D.tr.features.length) { item(swatch("gv-track-swatch"), "踏查轨迹"); }
      if (D.g.features.length) { item(swatch("gv-group-swatch"), "村民小组界线"); }
      return box;
    }
  });
  new Legend().addTo(map);

  if (D.illustrative) {
    var Note = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () { return el("div", "gv-box gv-note", "示意边界，非官方数据"); }
    });
    new Note().addTo(map);
  }
  var title = el("div", "gv-title", D.title);
  if (D.subtitle) { title.appendChild(el("div", "gv-subtitle", D.subtitle)); }
  L.DomEvent.disableClickPropagation(title);
  map.getContainer().appendChild(title);

  // ---- initial view ------------------------------------------------------------------------
  var bounds = villages.getBounds();
  if (!bounds.isValid()) {
    catLayers.forEach(function (g) {
      if (g.getLayers().length) { bounds.extend(g.getBounds()); }
    });
  }
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); }
  syncGroups();

  // ---- hooks for tests and the benchmark -----------------------------------------------------
  function drawn() {
    var c = { villages: 0, groups: 0, unsurveyed: 0, tracks: 0, targets: 0, outlines: 0 };
    map.eachLayer(function (l) {
      var k = l.options && l.options.gvKind;
      if (k && Object.prototype.hasOwnProperty.call(c, k)) { c[k] += 1; }
    });
    return c;
  }
  window.geoverifyMap = {
    map: map,
    layers: {
      villages: villages, groups: groupsToggle, unsurveyed: unsurveyed, tracks: tracks,
      targets: catLayers, outlines: outlines, control: layerControl
    },
    categories: CATS.map(function (c) { return c.key; }),
    total: {
      villages: D.v.features.length, groups: D.g.features.length,
      unsurveyed: D.u.features.length, tracks: D.tr.features.length, targets: N,
      outlines: D.to.features.length
    },
    drawn: drawn,
    openTarget: function (id) {
      for (var k = 0; k < N; k++) {
        if (T.id[k] === id) {
          var cl = catLayers[T.c[k]];
          var found = null;
          cl.eachLayer(function (l) { if (l.options.gvIndex === k) { found = l; } });
          if (found) { cl.fire("click", { layer: found, latlng: found.getLatLng() }); }
          return true;
        }
      }
      return false;
    },
    readyAt: performance.now(),
    ready: true
  };
  document.documentElement.setAttribute("data-geoverify-ready", "1");
})();
"""
