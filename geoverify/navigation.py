"""Navigation links for phone map apps (Amap, Baidu, Tencent, geo:) and coordinate display."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
from numpy.typing import ArrayLike

from geoverify.geo import wgs84_to_bd09, wgs84_to_gcj02

__all__ = [
    "NAV_APPS",
    "NavLinks",
    "amap_url",
    "baidu_url",
    "format_degrees",
    "geo_uri",
    "navigation_links",
    "tencent_url",
    "to_dms",
]

#: ``src``/``referer`` parameter the map providers ask callers to send.
APP_NAME = "geoverify"


#: The apps of :class:`NavLinks`, by field, as every page, map and list names them (手机地图:
#: whichever map app the phone opens a ``geo:`` link with).
NAV_APPS: dict[str, str] = {
    "amap": "高德地图",
    "baidu": "百度地图",
    "tencent": "腾讯地图",
    "geo": "手机地图",
}


@dataclass(frozen=True)
class NavLinks:
    """Links that open one point in the phone map apps used in China."""

    amap: str
    baidu: str
    tencent: str
    geo: str


def format_degrees(value: float) -> str:
    """Decimal degrees with exactly 6 places (about 0.1 m), e.g. ``106.034861``."""
    if not math.isfinite(value):
        msg = f"coordinate must be finite, got {value!r}"
        raise ValueError(msg)
    return f"{value:.6f}"


def to_dms(value: float, *, axis: str) -> str:
    """Degrees-minutes-seconds with hemisphere, e.g. ``106°02'05.50"E``.

    Parameters
    ----------
    value
        Decimal degrees.
    axis
        ``"lon"`` (E/W) or ``"lat"`` (N/S).
    """
    if axis not in ("lon", "lat"):
        msg = f"axis must be 'lon' or 'lat', got {axis!r}"
        raise ValueError(msg)
    if not math.isfinite(value):
        msg = f"coordinate must be finite, got {value!r}"
        raise ValueError(msg)
    hemi = ("E" if value >= 0 else "W") if axis == "lon" else ("N" if value >= 0 else "S")
    # Work in hundredths of a second so that rounding never shows 60.00".
    total = round(abs(value) * 360000)
    deg, rem = divmod(total, 360000)
    minutes, hundredths = divmod(rem, 6000)
    width = 3 if axis == "lon" else 2
    return f"{deg:0{width}d}°{minutes:02d}'{hundredths / 100:05.2f}\"{hemi}"


def _q(text: str) -> str:
    return quote(text, safe="")


def amap_url(gcj_lon: float, gcj_lat: float, name: str) -> str:
    """Amap/Gaode marker link; coordinates must already be GCJ-02."""
    return (
        f"https://uri.amap.com/marker?position={format_degrees(gcj_lon)},"
        f"{format_degrees(gcj_lat)}&name={_q(name)}&src={APP_NAME}"
        "&coordinate=gaode&callnative=1"
    )


def baidu_url(bd_lon: float, bd_lat: float, title: str, content: str = "") -> str:
    """Baidu marker link; coordinates must already be BD-09."""
    return (
        f"https://api.map.baidu.com/marker?location={format_degrees(bd_lat)},"
        f"{format_degrees(bd_lon)}&title={_q(title)}&content={_q(content or title)}"
        f"&output=html&coord_type=bd09ll&src={APP_NAME}"
    )


def tencent_url(gcj_lon: float, gcj_lat: float, title: str) -> str:
    """Tencent map marker link; coordinates must already be GCJ-02."""
    return (
        f"https://apis.map.qq.com/uri/v1/marker?marker=coord:{format_degrees(gcj_lat)},"
        f"{format_degrees(gcj_lon)};title:{_q(title)};addr:{_q(title)}&referer={APP_NAME}"
    )


def geo_uri(lon: float, lat: float, label: str) -> str:
    """RFC 5870 ``geo:`` URI (WGS84) with a ``q=`` label that Android map apps show."""
    la, lo = format_degrees(lat), format_degrees(lon)
    return f"geo:{la},{lo}?q={la},{lo}({_q(label)})"


def navigation_links(
    lon: ArrayLike, lat: ArrayLike, labels: Sequence[str], *, content: Sequence[str] | None = None
) -> list[NavLinks]:
    """Build the phone-map links of many WGS84/CGCS2000 points at once.

    Parameters
    ----------
    lon, lat
        Degrees in WGS84/CGCS2000 (the stored system).
    labels
        Name shown on each marker (e.g. ``"靶标 T001"``); URL-encoded here.
    content
        Optional longer text for Baidu's info window, one per point.

    Returns
    -------
    list[NavLinks]
        One entry per point, in input order. GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are computed
        here and never stored.
    """
    x = np.atleast_1d(np.asarray(lon, dtype=float))
    y = np.atleast_1d(np.asarray(lat, dtype=float))
    if not (len(x) == len(y) == len(labels)):
        msg = f"lon, lat and labels differ in length: {len(x)}, {len(y)}, {len(labels)}"
        raise ValueError(msg)
    if content is not None and len(content) != len(labels):
        msg = f"content has {len(content)} entries for {len(labels)} points"
        raise ValueError(msg)
    gx, gy = wgs84_to_gcj02(x, y)
    bx, by = wgs84_to_bd09(x, y)
    out = []
    for i, label in enumerate(labels):
        text = str(label)
        out.append(
            NavLinks(
                amap=amap_url(float(gx[i]), float(gy[i]), text),
                baidu=baidu_url(
                    float(bx[i]), float(by[i]), text, str(content[i]) if content else text
                ),
                tencent=tencent_url(float(gx[i]), float(gy[i]), text),
                geo=geo_uri(float(x[i]), float(y[i]), text),
            )
        )
    return out
