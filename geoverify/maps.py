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
from urllib.parse import quote, urlsplit
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
from geoverify.model import ASSIGNMENT_LABELS, EVENT_LABELS, RESULT_LABELS, STATUS_LABELS
from geoverify.values import is_missing

__all__ = [
    "CATEGORIES",
    "CRIMINAL_PLANTS",
    "GROUP_MIN_ZOOM",
    "build_map",
    "decode_column",
    "decode_targets",
    "target_categories",
    "tile_origins",
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
    ("outside", "镇外，建议退回区禁毒办", "#3b3b3b", "hexagon"),
)
_CAT_INDEX = {c[0]: i for i, c in enumerate(CATEGORIES)}

#: 非法种植罂粟五百株以上 — the plant count from which planting is a criminal case.
CRIMINAL_PLANTS = 500

#: Group (组) boundaries are drawn from this zoom level on.
GROUP_MIN_ZOOM = 15

#: Coverage classes (lower bound %, colour, legend label), highest first. Finer steps at the
#: low end, where a town's month usually is (a few per cent), so villages stay distinguishable.
_COVERAGE_CLASSES: tuple[tuple[float, str, str], ...] = (
    (60.0, "#006837", "≥ 60%"),
    (40.0, "#31a354", "40% – 60%"),
    (20.0, "#78c679", "20% – 40%"),
    (10.0, "#c2e699", "10% – 20%"),
    (5.0, "#ffffb2", "5% – 10%"),
    (0.0001, "#fecc5c", "0 – 5%"),
    (0.0, "#e31a1c", "0%（无轨迹）"),
)
_COVERAGE_NONE = "#d9d9d9"

_SOURCE_LABELS = {"district": "区禁毒办下发", "self": "自主发现", "tip": "举报线索"}
#: Event kinds the workflows record (batches, dispatch, feedback, evidence, sites, reports).
_EVENT_LABELS = EVENT_LABELS
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
    (navigation.NAV_APPS["amap"], "amap", (101.101101, 11.111111), ("gx", "gy")),
    (navigation.NAV_APPS["baidu"], "baidu", (102.202202, 22.222222), ("bx", "by")),
    (navigation.NAV_APPS["tencent"], "tencent", (103.303303, 33.333333), ("gx", "gy")),
    (navigation.NAV_APPS["geo"], "geo", (104.404404, 44.444444), ("x", "y")),
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
#: The only hosts the map ever asks for are these templates' (see :func:`tile_origins`).
_OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
_OSM = {
    "key": "osm",
    "label": "OpenStreetMap",
    "layers": [{"url": _OSM_URL, "attribution": "© OpenStreetMap contributors"}],
}
_TDT_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"
)
_TDT_SUBDOMAINS = "01234567"
_TDT_ATTRIBUTION = "天地图 © 国家地理信息公共服务平台"
#: (URL template, Leaflet subdomains) of every tile layer a map can offer.
_TILE_TEMPLATES = ((_OSM_URL, ""), (_TDT_URL, _TDT_SUBDOMAINS))


def tile_origins() -> tuple[str, ...]:
    """Every origin (``https://host``) a map's basemap tiles come from, sorted.

    Derived from the tile templates themselves (``{s}`` expanded with each subdomain), so the
    web app's Content-Security-Policy (``img-src``) allows exactly the hosts the layers use.
    """
    origins: set[str] = set()
    for url, subdomains in _TILE_TEMPLATES:
        for sub in subdomains or [""]:
            parts = urlsplit(url.replace("{s}", sub))
            if "{" in parts.netloc or not parts.netloc:
                msg = f"tile template has a placeholder in its host: {url}"
                raise GeoverifyError(msg)
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return tuple(sorted(origins))


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
#: geoverify's own page style and script (not third-party: not in the npm manifest).
_OWN_CSS = "geoverify-map.css"
_OWN_JS = "geoverify-map.js"
_ASSET_IMAGES = {
    "images/layers.png": "leaflet-images-layers.png",
    "images/layers-2x.png": "leaflet-images-layers-2x.png",
    "images/marker-icon.png": "leaflet-images-marker-icon.png",
}
_JPEG_MAGIC = b"\xff\xd8\xff"

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


@functools.cache
def _own_assets() -> tuple[str, str]:
    """geoverify's own page style and script, from ``maps_assets`` (inlined into every map)."""
    root = resources.files("geoverify") / "maps_assets"
    try:
        css = (root / _OWN_CSS).read_text(encoding="utf-8")
        js = (root / _OWN_JS).read_text(encoding="utf-8")
    except OSError as e:
        msg = f"地图页面资源缺失 (missing map page asset) maps_assets: {e}"
        raise GeoverifyError(msg) from e
    for text, tag in ((css, "</style"), (js, "</script")):
        if tag in text.lower():
            msg = f"page asset contains {tag!r}; cannot inline it"
            raise GeoverifyError(msg)
    return css, js


# --- small helpers -----------------------------------------------------------------------


def _json_for_script(obj: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, escaped in _JSON_ESCAPES.items():  # str.replace is far faster than translate
        text = text.replace(chr(ch), escaped)
    return text


def _display_text(value: Any) -> str | None:
    """Trimmed text for the map; unlike :func:`geoverify.values.text_or_none`, ``3.0`` stays
    ``"3.0"``, ``pd.NA``/``NaT`` give ``None`` and lists are joined with 、."""
    if is_missing(value, blank=False):
        return None
    if isinstance(value, (list, tuple, set, np.ndarray)):
        items = [str(v) for v in value if not is_missing(v, blank=False)]
        return "、".join(items) if items else None
    text = str(value).strip()
    return text or None


def _date(value: Any) -> str | None:
    if is_missing(value, blank=False):
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


def _number(value: Any) -> float | int | None:
    if is_missing(value, blank=False):
        return None
    try:
        num = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(num):
        return None
    return int(num) if num.is_integer() else round(num, 2)


def _datetime_text(value: Any) -> str:
    if is_missing(value, blank=False):
        return ""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # the store keeps UTC
        return _local_minutes(value.astimezone(_SHANGHAI))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _local_minutes(value: dt.datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


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
    result = _display_text(state.get("result"))
    status = _display_text(state.get("status"))
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
        text = _display_text(value) if not isinstance(value, Mapping) else None
        if text is None or (isinstance(old, Mapping) and _display_text(old.get(key)) == text):
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
    for when, ev in sorted(
        ((_datetime_text(e.get("at")), e) for e in records), key=lambda pair: pair[0]
    ):
        kind = _display_text(ev.get("kind")) or ""
        rows.append(
            [
                when,
                _display_text(ev.get("actor")) or "",
                _EVENT_LABELS.get(kind, kind),
                _payload_summary(ev.get("payload")),
            ]
        )
    return rows


#: Coordinates travel as integers of micro-degrees (10⁻⁶°, about 0.1 m): the same value as
#: ``numpy.round(x, 6)`` once divided by 10⁶ in the page.
_MICRO = 1_000_000


def _micro(a: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(a, dtype=float) * _MICRO).astype(np.int64)


def _text_values(values: Iterable[Any]) -> list[str | None]:
    """:func:`_display_text` of many values, fast for plain strings and missing values."""
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=object)
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
        elif type(v) is str:
            out.append(v.strip() or None)
        elif type(v) is float and v != v:
            out.append(None)
        else:
            out.append(_display_text(v))
    return out


def _date_values(series: pd.Series) -> list[str | None]:
    """:func:`_date` of a column, fast for plain dates."""
    out: list[str | None] = []
    cache: dict[dt.date, str] = {}
    for v in series.to_numpy(dtype=object):
        if type(v) is dt.date:
            text = cache.get(v)
            if text is None:
                text = cache[v] = v.isoformat()
            out.append(text)
        else:
            out.append(_date(v))
    return out


def _number_values(series: pd.Series) -> list[float | int | None]:
    """:func:`_number` of a column, vectorised."""
    num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(num)
    out: list[float | int | None] = [None] * len(num)
    for i in np.flatnonzero(ok).tolist():
        v = float(num[i])
        out[i] = int(v) if v.is_integer() else round(v, 2)
    return out


def _encode_column(values: Sequence[Any]) -> Any:
    """A column of the page's target table in its shortest form.

    A plain list; or, when few values repeat, ``{"d": distinct values, "k": index per target
    (-1 for none)}``; or, when most are missing, ``{"i": positions, "v": values}``. The page
    script's ``decode`` and :func:`decode_column` read all three.
    """
    n = len(values)
    present = [i for i, v in enumerate(values) if v is not None]
    if len(present) * 3 < n:
        return {"i": present, "v": [values[i] for i in present]}
    codes: dict[Any, int] = {}
    keys: list[int] = []
    for v in values:
        if v is None:
            keys.append(-1)
            continue
        k = codes.get(v)
        if k is None:
            if len(codes) >= 4096:
                return list(values)
            k = codes[v] = len(codes)
        keys.append(k)
    if len(codes) * 4 <= n:
        return {"d": list(codes), "k": keys}
    return list(values)


def decode_column(column: Any, n: int) -> list[Any]:
    """The values of a column written by :func:`_encode_column` (as the page reads them)."""
    if isinstance(column, list):
        return column
    if "k" in column:
        return [None if k < 0 else column["d"][k] for k in column["k"]]
    out: list[Any] = [None] * n
    for i, v in zip(column["i"], column["v"], strict=True):
        out[i] = v
    return out


def decode_targets(t: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The page's target table as plain columns (ids, degrees, GCJ-02, BD-09, every field)."""
    n = len(t["id"])
    out: dict[str, list[Any]] = {"id": [t["idp"] + i for i in t["id"]]}
    xs = [(t["x0"] + x) for x in t["x"]]
    ys = [(t["y0"] + y) for y in t["y"]]
    out["x"] = [x / _MICRO for x in xs]
    out["y"] = [y / _MICRO for y in ys]
    for key, base in (("gx", xs), ("gy", ys), ("bx", xs), ("by", ys)):
        out[key] = [(b + d) / _MICRO for b, d in zip(base, t[key], strict=True)]
    for key in ("c", "f", "v"):
        out[key] = list(t[key])
    for key, value in t.items():
        if key not in out and key not in ("idp", "x0", "y0", "dk", "dv"):
            out[key] = decode_column(value, n)
    for name, value in zip(t.get("dk", []), t.get("dv", []), strict=True):
        out["原表:" + name] = decode_column(value, n)
    return out


def _common_prefix(ids: Sequence[str]) -> str:
    if not ids:
        return ""
    lo, hi = min(ids), max(ids)
    k = 0
    while k < len(lo) and k < len(hi) and lo[k] == hi[k]:
        k += 1
    return lo[:k]


def _district_table(targets: pd.DataFrame) -> tuple[list[str], list[Any]]:
    """Names and columns of the district's own columns (``district_columns`` pairs)."""
    if "district_columns" not in targets.columns:
        return [], []
    names: list[str] = []
    rows: list[dict[str, Any]] = []
    for pairs in targets["district_columns"]:
        row: dict[str, Any] = {}
        for k, v in pairs if isinstance(pairs, list | tuple) else []:
            key = str(k)
            if key not in names:
                names.append(key)
            text = (
                _display_text(v) if not isinstance(v, float) or not v.is_integer() else str(int(v))
            )
            row[key] = text
        rows.append(row)
    return names, [_encode_column([r.get(k) for r in rows]) for k in names]


def _targets_payload(
    targets: gpd.GeoDataFrame | None,
    village_names: list[str],
    village_codes: dict[str, int],
    *,
    today: dt.date,
    history: Mapping[Any, Any] | None,
    photos: Mapping[Any, Sequence[bytes]] | None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str]]:
    """The target table of the page, history and photo maps keyed by row position, categories.

    Coordinates are integer micro-degrees: ``x``/``y`` from ``x0``/``y0``, GCJ-02 (``gx``,
    ``gy``) and BD-09 (``bx``, ``by``) as offsets from them; ids share the prefix ``idp``;
    other columns are encoded by :func:`_encode_column`. :func:`decode_targets` reads it back.
    """
    if targets is None or len(targets) == 0:
        empty: dict[str, Any] = {k: [] for k in ("id", "x", "y", "c", "f", "v")}
        empty.update({k: [] for k in ("gx", "gy", "bx", "by")})
        empty.update({"idp": "", "x0": 0, "y0": 0, "s": [], "dk": [], "dv": []})
        return empty, {}, {}, []
    targets = _to_store_crs(targets, "targets")
    _require(targets, ["target_id", "geometry"], "targets")
    n = len(targets)
    ids = [t or "" for t in _text_values(targets["target_id"])]
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
        np.array([v is not None for v in _text_values(targets["repeat_of"])], dtype=bool)
        if "repeat_of" in targets.columns
        else np.zeros(n, dtype=bool)
    )
    flags = repeat.astype(int) + 2 * (np.nan_to_num(plants, nan=0.0) >= CRIMINAL_PLANTS)

    codes_col = (
        _text_values(targets["village_code"]) if "village_code" in targets.columns else [None] * n
    )
    names_col = _text_values(targets["village"]) if "village" in targets.columns else [None] * n
    village_index = []
    for code_t, name_t in zip(codes_col, names_col, strict=True):
        if code_t is not None and code_t in village_codes:
            village_index.append(village_codes[code_t])
        elif name_t is not None:
            if name_t not in village_names:
                village_names.append(name_t)
            village_index.append(village_names.index(name_t))
        else:
            village_index.append(-1)

    x, y = _micro(lon), _micro(lat)
    x0, y0 = int(x.min()), int(y.min())
    prefix = _common_prefix(ids)
    status = (
        [t or "issued" for t in _text_values(targets["status"])]
        if "status" in targets.columns
        else ["issued"] * n
    )
    cols: dict[str, Any] = {
        "idp": prefix,
        "id": [i[len(prefix) :] for i in ids],
        "x0": x0,
        "y0": y0,
        "x": (x - x0).tolist(),
        "y": (y - y0).tolist(),
        "gx": (_micro(gx) - x).tolist(),
        "gy": (_micro(gy) - y).tolist(),
        "bx": (_micro(bx) - x).tolist(),
        "by": (_micro(by) - y).tolist(),
        "c": [_CAT_INDEX[c] for c in cats],
        "f": flags.astype(int).tolist(),
        "v": village_index,
        "s": _encode_column(status),
    }

    def optional(name: str, values: list[Any]) -> None:
        if any(v is not None for v in values):
            cols[name] = _encode_column(values)

    if "result" in targets.columns:
        optional("r", _text_values(targets["result"]))
    if "group" in targets.columns:
        optional("g", _text_values(targets["group"]))
    if "batch" in targets.columns:
        optional("b", _text_values(targets["batch"]))
    for name in _OPTIONAL_TEXT:
        if name in targets.columns:
            optional(name, _text_values(targets[name]))
    for name in _OPTIONAL_DATES:
        if name in targets.columns:
            optional(name, _date_values(targets[name]))
    for name in _OPTIONAL_NUMBERS:
        if name in targets.columns:
            optional(name, _number_values(targets[name]))
    cols["dk"], cols["dv"] = _district_table(targets)

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
    return cols, hist_out, photo_out, cats


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
                            "subdomains": _TDT_SUBDOMAINS,
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
        if _display_text(code) is not None and value is not None:
            out[str(_display_text(code))] = round(
                float(pct), 1
            )  # once: 5.5527 → 5.6, not 5.55 → 5.5
    return out


def _unsurveyed_props(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rank (town-wide), village, area (ha) and priority score of each unsurveyed area."""

    def column(name: str) -> list[Any]:
        return list(frame[name]) if name in frame.columns else [None] * len(frame)

    out = []
    for rank, village, area, score in zip(
        column("rank"),
        column("village"),
        column("area_m2"),
        column("priority_score"),
        strict=True,
    ):
        a = _number(area)
        out.append(
            {
                "r": _number(rank),
                "v": _display_text(village),
                "a": None if a is None else round(float(a) / 10_000, 2),
                "s": _number(score),
            }
        )
    return out


def _track_label(row: Mapping[Any, Any]) -> str | None:
    for name in ("label", "name"):
        text = _display_text(row.get(name))
        if text:
            return text
    keys = ("village", "date", "patrolled_on", "people", "patrollers", "actor")
    parts = [t for t in (_display_text(row.get(k)) for k in keys) if t]
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

    codes = [_display_text(c) or "" for c in villages["code"]]
    village_names = [_display_text(n) or "" for n in villages["name"]]
    village_codes = {c: i for i, c in enumerate(codes)}
    kinds = (
        [_display_text(k) or "" for k in villages["kind"]]
        if "kind" in villages.columns
        else [""] * len(codes)
    )
    areas = (
        [_number(a) for a in villages["area_km2"]]
        if "area_km2" in villages.columns
        else [None] * len(codes)
    )
    village_props = [
        {
            "i": i,
            "n": village_names[i],
            "c": codes[i],
            "k": kinds[i],
            "p": cover.get(codes[i]),
            "a": areas[i],
        }
        for i in range(len(codes))
    ]
    village_fc = _features(villages, village_props)
    if "illustrative" in villages.columns:
        illustrative = illustrative or bool(
            villages["illustrative"].fillna(False).astype(bool).any()
        )

    t_cols, t_hist, t_photos, cats = _targets_payload(
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
                [{"i": int(k), "c": _CAT_INDEX[cats[k]]} for k in rows_i],
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
            {
                "n": f"{names.get(_display_text(c) or '', '')}{_display_text(n) or ''}".strip(),
                "v": _display_text(c),
            }
            for c, n in zip(gcodes, groups["name"], strict=True)
        ]
        group_fc = _features(groups, props)

    unsurveyed_fc: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if unsurveyed is not None and len(unsurveyed):
        unsurveyed = _to_store_crs(unsurveyed, "unsurveyed")
        unsurveyed_fc = _features(unsurveyed, _unsurveyed_props(unsurveyed))

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
    page_css, page_js = _own_assets()
    fmap = folium.Map(
        location=[29.8, 106.05],
        zoom_start=12,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,
        max_zoom=19,
        zoom_snap=0.25,  # the first view fills the window (whole levels left half of it empty)
    )
    fmap._id = "geoverify"  # stable variable name → reproducible output
    fmap.default_js = []
    fmap.default_css = []
    root: Any = fmap.get_root()
    root.header.add_child(_Raw(f"<title>{html.escape(title)}</title>"), name="gv_title")
    root.header.add_child(_Raw(f"<style>\n{css}\n</style>"), name="gv_assets_css")
    root.header.add_child(_Raw(f"<style>\n{page_css}</style>"), name="gv_page_css")
    root.header.add_child(_Raw(f"<script>\n{js}\n</script>"), name="gv_assets_js")
    root.html.add_child(_Raw(_HATCH_DEFS), name="gv_hatch")
    root.html.add_child(
        _Raw(f'<script type="application/json" id="gv-data">{_json_for_script(data)}</script>'),
        name="gv_data",
    )
    fmap.add_child(_App(page_js.replace("__MAP__", fmap.get_name())), name="gv_app")
    page = str(root.render())
    return '<!DOCTYPE html>\n<html lang="zh-CN">' + page.split("<html>", 1)[1]


def write_map(path: str | Path, html_text: str) -> Path:
    """Write a map built by :func:`build_map` to ``path`` (UTF-8), creating parent folders."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out
