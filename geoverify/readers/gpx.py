"""GPX 1.0/1.1 reader on defusedxml: tracks (segments), routes and waypoints from any device."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import geopandas as gpd
import numpy as np
import pandas as pd
from defusedxml.ElementTree import fromstring as defused_fromstring
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry

from geoverify.clock import LOCAL_TZ
from geoverify.errors import InputError
from geoverify.geo import STORE_CRS
from geoverify.readers.safety import MAX_XML_BYTES, check_size, parser_errors
from geoverify.tracks import epoch_seconds, plausible_time

__all__ = ["LOCAL_TZ", "GpxRead", "parse_gpx_time", "read_gpx"]


_GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
#: Seconds since 1970 given to a time too far out for a datetime (dropped as implausible).
_FAR_FUTURE = 1e15
_TRACK_COLUMNS = [
    "number",
    "name",
    "kind",
    "description",
    "start",
    "end",
    "date",
    "n_points",
    "length_m",
    "times",
]
_WAYPOINT_COLUMNS = ["number", "name", "description", "time", "date"]
_ENCODING_DECL = re.compile(
    rb"""^(\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_\-]+)["']"""
)
_NATIVE_ENCODINGS = {
    "utf-8",
    "utf8",
    "utf-16",
    "utf16",
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "latin-1",
}


@dataclass
class GpxRead:
    """What :func:`read_gpx` found in one GPX file.

    Attributes
    ----------
    tracks
        EPSG:4490, one row per ``<trk>`` (kind ``"track"``) and ``<rte>`` (kind ``"route"``)
        with at least two points: ``number`` (1-based order among tracks/routes), ``name``,
        ``kind``, ``description``, ``start``/``end`` (aware UTC datetimes or NaT when the file
        has no times), ``date`` (local date in Asia/Shanghai of ``start``, or None),
        ``n_points``, ``length_m`` (geodesic), ``times`` (one array per line part of each
        fix's time in seconds since 1970 UTC, NaN where the file has none), geometry
        LineString (one segment) or MultiLineString (several ``<trkseg>``). Track points are
        kept as recorded — out-of-range and (0, 0) fixes included; ``start``/``end`` only use
        plausible times (2000 to now). :func:`geoverify.tracks.clean_track` drops the glitches.
    waypoints
        EPSG:4490, one row per ``<wpt>``: ``number``, ``name``, ``description``, ``time``,
        ``date``, Point geometry.
    source
        The file name as given.
    version, creator
        The ``<gpx>`` element's attributes.
    notes
        Things skipped, e.g. a track with fewer than two points.
    """

    tracks: gpd.GeoDataFrame
    waypoints: gpd.GeoDataFrame
    source: str
    version: str | None = None
    creator: str | None = None
    notes: list[str] = field(default_factory=list)


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1] if "}" in text else text


def _children(elem: Element, name: str) -> list[Element]:
    return [c for c in elem if _local(c.tag) == name]


def _child_text(elem: Element, name: str) -> str | None:
    for c in elem:
        if _local(c.tag) == name:
            text = (c.text or "").strip()
            return text or None
    return None


def parse_gpx_time(text: str) -> dt.datetime:
    """Parse a GPX ``<time>`` (ISO 8601) into an aware UTC datetime.

    A time without offset is UTC, as the GPX schema requires. Raises ``ValueError``.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _to_utf8(data: bytes) -> bytes:
    """Re-encode a document declared in an encoding expat lacks (GBK, GB2312…) as UTF-8."""
    m = _ENCODING_DECL.match(data[:300])
    if not m:
        return data
    declared = m.group(2).decode("ascii").lower()
    if declared in _NATIVE_ENCODINGS:
        return data
    codec = "gb18030" if declared in {"gbk", "gb2312", "gb18030", "cp936"} else declared
    try:
        text = data.decode(codec)
    except (LookupError, UnicodeDecodeError):
        return data  # the parser reports it
    text = re.sub(r"""(encoding\s*=\s*["'])[A-Za-z0-9_\-]+""", r"\1UTF-8", text, count=1)
    return text.encode("utf-8")


def _parse_xml(data: bytes, *, source: str) -> Element:
    try:
        root = defused_fromstring(
            _to_utf8(data), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as e:
        msg = (
            f"{source}: GPX 含有实体声明或外部引用，出于安全原因拒绝读取 "
            f"(XML entities / external references are refused for safety): {e}"
        )
        raise InputError(msg) from e
    except ParseError as e:
        line, col = getattr(e, "position", (0, 0))
        msg = (
            f"{source}: GPX 格式错误（第 {line} 行第 {col} 列附近），文件可能不完整或已损坏 "
            f"(malformed XML at line {line}, column {col}: {e})"
        )
        raise InputError(msg) from e
    except Exception as e:  # e.g. an encoding expat cannot handle
        msg = f"{source}: 无法读取 GPX 文件，文件可能不完整或已损坏 (cannot parse GPX: {e})"
        raise InputError(msg) from e
    if _local(root.tag) != "gpx":
        msg = f"{source}: 不是 GPX 文件，根元素为 <{_local(root.tag)}> (not a GPX file)"
        raise InputError(msg)
    return root


def _point(
    elem: Element, *, where: str, source: str, strict: bool = True
) -> tuple[float, float, dt.datetime | None, float]:
    """Longitude, latitude, time (None when absent or implausible) and the time as seconds since
    1970 (NaN when absent) of a ``<trkpt>``, ``<rtept>`` or ``<wpt>``.

    ``strict`` (waypoints): a coordinate out of range or an implausible time is an error. Track
    points keep them; track hygiene (:mod:`geoverify.tracks`) drops such fixes and reports them.
    """
    lat_text, lon_text = elem.get("lat"), elem.get("lon")
    try:
        lat = float(lat_text)  # type: ignore[arg-type]
        lon = float(lon_text)  # type: ignore[arg-type]
    except (TypeError, ValueError) as e:
        msg = (
            f"{source}: {where} 坐标无法解析 lat={lat_text!r} lon={lon_text!r} "
            f"(coordinates cannot be parsed)"
        )
        raise InputError(msg) from e
    if strict and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        msg = f"{source}: {where} 坐标超出范围 lat={lat} lon={lon} (coordinates out of range)"
        raise InputError(msg)
    time_text = _child_text(elem, "time")
    when: dt.datetime | None = None
    seconds = float("nan")
    if time_text:
        try:
            when = parse_gpx_time(time_text)
        except OverflowError:  # beyond what a datetime holds: certainly not a real fix
            when, seconds = None, _FAR_FUTURE
        except ValueError as e:
            msg = f"{source}: {where} 时间无法解析 {time_text!r} (time cannot be parsed)"
            raise InputError(msg) from e
        if when is not None:
            seconds = epoch_seconds(when)
            if not plausible_time(when, now=_now()):
                if strict:
                    msg = (
                        f"{source}: {where} 时间不合理 {time_text!r}（早于 2000 年或晚于现在） "
                        f"(implausible time {time_text!r}: before 2000 or in the future)"
                    )
                    raise InputError(msg)
                when = None
    return lon, lat, when, seconds


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _local_date(when: dt.datetime | None) -> dt.date | None:
    return when.astimezone(LOCAL_TZ).date() if when is not None else None


def _length_m(lines: list[list[tuple[float, float]]]) -> float:
    """Geodesic length of the parts, over the fixes that are coordinates at all."""
    total = 0.0
    for line in lines:
        ok = [(x, y) for x, y in line if -180 <= x <= 180 and -90 <= y <= 90]
        if len(ok) >= 2:
            total += float(_GEOD.geometry_length(LineString(ok)))
    return total


_Fix = tuple[float, float, "dt.datetime | None", float]


def _line_record(
    number: int,
    elem: Element,
    kind: str,
    segments: list[list[_Fix]],
) -> tuple[dict[str, Any], BaseGeometry] | None:
    kept = [seg for seg in segments if len(seg) >= 2]
    lines = [[(x, y) for x, y, _t, _s in seg] for seg in kept]
    if not lines:
        return None
    geom: BaseGeometry = (
        LineString(lines[0]) if len(lines) == 1 else MultiLineString([LineString(s) for s in lines])
    )
    times = [t for seg in segments for _x, _y, t, _s in seg if t is not None]
    start = min(times) if times else None
    end = max(times) if times else None
    rec = {
        "number": number,
        "name": _child_text(elem, "name"),
        "kind": kind,
        "description": _child_text(elem, "desc") or _child_text(elem, "cmt"),
        "start": start,
        "end": end,
        "date": _local_date(start),
        "n_points": sum(len(seg) for seg in segments),
        "length_m": _length_m(lines),
        "times": [np.array([s for _x, _y, _t, s in seg], dtype=float) for seg in kept],
    }
    return rec, geom


def read_gpx(path: str | os.PathLike[str] | bytes, *, source: str | None = None) -> GpxRead:
    """Read every track, route and waypoint of a GPX 1.0 or 1.1 file.

    Vendor layouts are accepted as long as they follow the schema's element names (any or no
    namespace): Garmin (``<extensions>`` ignored), OruxMaps, 两步路 / 六只脚 exports, route-only and
    waypoint-only files, and files without ``<time>``. Parsing uses defusedxml: a document that
    declares entities (external entity, "billion laughs") is refused before anything is expanded
    or fetched.

    Parameters
    ----------
    path
        The GPX file, or its bytes.
    source
        File name for messages (default: the path as given, or ``"<bytes>"``).

    Returns
    -------
    GpxRead

    Raises
    ------
    InputError
        Missing file, malformed XML (line and column), hostile XML, not a GPX document,
        unparsable coordinates or times (naming the element), or no track, route or waypoint
        points at all.
    """
    if isinstance(path, bytes):
        data = path
        source = source or "<bytes>"
    else:
        source = source or str(path)
        try:
            check_size(Path(path).stat().st_size, source=source, limit=MAX_XML_BYTES)
            data = Path(path).read_bytes()
        except OSError as e:
            msg = f"{source}: 无法读取文件 (cannot read file): {e.strerror or e}"
            raise InputError(msg) from e
    check_size(len(data), source=source, limit=MAX_XML_BYTES)
    with parser_errors(source, "GPX"):
        return _read_gpx_document(data, source=source)


def _read_gpx_document(data: bytes, *, source: str) -> GpxRead:
    root = _parse_xml(data, source=source)
    notes: list[str] = []
    records: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    number = 0
    for t_i, trk in enumerate(_children(root, "trk"), start=1):
        number += 1
        segments = []
        for s_i, seg in enumerate(_children(trk, "trkseg"), start=1):
            pts = [
                _point(
                    p,
                    where=f"第 {t_i} 条轨迹第 {s_i} 段第 {p_i} 个点 (trk {t_i}, "
                    f"trkseg {s_i}, trkpt {p_i})",
                    source=source,
                    strict=False,
                )
                for p_i, p in enumerate(_children(seg, "trkpt"), start=1)
            ]
            segments.append(pts)
        got = _line_record(number, trk, "track", segments)
        if got is None:
            notes.append(
                f"第 {t_i} 条轨迹 {_child_text(trk, 'name') or ''} 少于两个点，已跳过 "
                f"(trk {t_i} has fewer than two points; skipped)"
            )
            continue
        records.append(got[0])
        geoms.append(got[1])
    for r_i, rte in enumerate(_children(root, "rte"), start=1):
        number += 1
        pts = [
            _point(
                p,
                where=f"第 {r_i} 条路线第 {p_i} 个点 (rte {r_i}, rtept {p_i})",
                source=source,
                strict=False,
            )
            for p_i, p in enumerate(_children(rte, "rtept"), start=1)
        ]
        got = _line_record(number, rte, "route", [pts])
        if got is None:
            notes.append(f"第 {r_i} 条路线少于两个点，已跳过 (rte {r_i} has fewer than two points)")
            continue
        records.append(got[0])
        geoms.append(got[1])

    wrecs: list[dict[str, Any]] = []
    wgeoms: list[BaseGeometry] = []
    for w_i, wpt in enumerate(_children(root, "wpt"), start=1):
        lon, lat, when, _s = _point(wpt, where=f"第 {w_i} 个航点 (wpt {w_i})", source=source)
        wrecs.append(
            {
                "number": w_i,
                "name": _child_text(wpt, "name"),
                "description": _child_text(wpt, "desc") or _child_text(wpt, "cmt"),
                "time": when,
                "date": _local_date(when),
            }
        )
        wgeoms.append(Point(lon, lat))

    if not records and not wrecs:
        msg = (
            f"{source}: GPX 中没有轨迹点、路线点或航点 "
            f"(no track points, route points or waypoints)" + (f"; {notes[0]}" if notes else "")
        )
        raise InputError(msg)

    tracks = gpd.GeoDataFrame(
        {col: [r[col] for r in records] for col in _TRACK_COLUMNS},
        geometry=gpd.GeoSeries(geoms, crs=STORE_CRS),
    )
    for col in ("start", "end"):
        tracks[col] = pd.to_datetime(tracks[col], utc=True)
    waypoints = gpd.GeoDataFrame(
        {col: [r[col] for r in wrecs] for col in _WAYPOINT_COLUMNS},
        geometry=gpd.GeoSeries(wgeoms, crs=STORE_CRS),
    )
    waypoints["time"] = pd.to_datetime(waypoints["time"], utc=True)
    return GpxRead(
        tracks=tracks,
        waypoints=waypoints,
        source=source,
        version=root.get("version"),
        creator=root.get("creator"),
        notes=notes,
    )
