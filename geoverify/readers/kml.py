"""KML / KMZ reader on defusedxml: placemarks, ExtendedData, folders, gx:Track times and
TimeStamp/TimeSpan."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import geopandas as gpd
import pandas as pd
from defusedxml.ElementTree import fromstring as defused_fromstring
from shapely.geometry import (
    GeometryCollection,
    LinearRing,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)
from shapely.geometry.base import BaseGeometry

from geoverify.errors import InputError
from geoverify.readers.safety import (
    MAX_XML_BYTES,
    check_size,
    check_zip,
    parser_errors,
    read_member,
)

__all__ = ["KML_CRS", "MAX_KML_BYTES", "kml_bytes_from_kmz", "read_kml"]

#: KML coordinates are always WGS84 longitude/latitude.
KML_CRS = "EPSG:4326"

#: Largest KML document (uncompressed) we agree to parse; protects against zip bombs.
MAX_KML_BYTES = MAX_XML_BYTES

#: Columns every frame from :func:`read_kml` has, besides the ExtendedData fields.
_FIXED_COLUMNS = ("name", "description", "folder", "times")
#: Columns of a placemark's TimeStamp/TimeSpan, when :func:`read_kml` is asked for them.
_TIME_COLUMNS = ("begin", "end")

_GEOMETRY_TAGS = frozenset(
    {"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track", "MultiTrack"}
)
_COMMA_SPACES = re.compile(r"\s*,\s*")
_XML_DECL_ENCODING = re.compile(
    rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)(["'])"""
)
#: Encodings expat decodes itself; anything else is transcoded to UTF-8 first.
_EXPAT_ENCODINGS = frozenset(
    {"utf-8", "utf8", "utf-16", "utf16", "us-ascii", "ascii", "iso-8859-1"}
)


def _local(tag: object) -> str:
    """Tag name without its namespace (``{ns}Placemark`` and ``kml:Placemark`` -> ``Placemark``)."""
    if not isinstance(tag, str):  # comments, processing instructions
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _children(elem: Element, name: str) -> Iterator[Element]:
    return (c for c in elem if _local(c.tag) == name)


def _child(elem: Element, name: str) -> Element | None:
    return next(_children(elem, name), None)


def _child_text(elem: Element, name: str) -> str | None:
    c = _child(elem, name)
    if c is None or c.text is None:
        return None
    text = c.text.strip()
    return text or None


def kml_bytes_from_kmz(data: bytes, *, source: str) -> bytes:
    """Return the KML document inside a KMZ (``doc.kml`` preferred, else the first ``.kml``).

    The archive's central directory is checked first (:func:`~geoverify.readers.safety.check_zip`:
    total size, compression ratio, members); the document is read with a hard cap of
    :data:`MAX_KML_BYTES`.

    Raises
    ------
    InputError
        The data is not a zip, holds no ``.kml``, is corrupt, or unpacks implausibly large
        (:class:`~geoverify.errors.TooLargeError`).
    """
    infos = check_zip(data, source=source, kind="KMZ")
    kmls = [i for i in infos if i.filename.lower().endswith(".kml")]
    if not kmls:
        msg = f"{source}: KMZ 中没有 .kml 文件 (no .kml document inside the KMZ)"
        raise InputError(msg)
    docs = [i for i in kmls if i.filename.lower() == "doc.kml"]
    info = docs[0] if docs else kmls[0]
    return read_member(data, info, source=source, kind="KMZ", limit=MAX_KML_BYTES)


def _parse_tuples(text: str | None, *, where: str) -> list[tuple[float, float]]:
    """Parse a KML ``<coordinates>`` text: ``lon,lat[,alt]`` tuples separated by whitespace."""
    if not text:
        return []
    out: list[tuple[float, float]] = []
    for tup in _COMMA_SPACES.sub(",", text.strip()).split():
        parts = [p for p in tup.split(",") if p != ""]
        if len(parts) < 2 or len(parts) > 3:
            msg = f"{where}: 坐标无法解析 (cannot parse coordinate tuple) {tup!r}"
            raise InputError(msg)
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except ValueError as e:
            msg = f"{where}: 坐标无法解析 (cannot parse coordinate tuple) {tup!r}"
            raise InputError(msg) from e
        out.append((lon, lat))
    return out


def _ring(elem: Element | None, *, where: str) -> list[tuple[float, float]]:
    if elem is None:
        return []
    ring = elem if _local(elem.tag) == "LinearRing" else _child(elem, "LinearRing")
    if ring is None:
        return []
    return _parse_tuples(_child_text(ring, "coordinates"), where=where)


def _polygon(elem: Element, *, where: str) -> Polygon | None:
    shell = _ring(_child(elem, "outerBoundaryIs"), where=where)
    if not shell:
        return None
    holes: list[list[tuple[float, float]]] = []
    for inner in _children(elem, "innerBoundaryIs"):
        # Most writers put one LinearRing per innerBoundaryIs; some put several in one.
        for ring in _children(inner, "LinearRing"):
            coords = _parse_tuples(_child_text(ring, "coordinates"), where=where)
            if coords:
                holes.append(coords)
    try:
        return Polygon(shell, holes)
    except (ValueError, TypeError) as e:
        msg = f"{where}: 多边形顶点不足或无效 (invalid polygon ring): {e}"
        raise InputError(msg) from e


def _track(elem: Element, *, where: str) -> tuple[BaseGeometry | None, list[dt.datetime]]:
    times: list[dt.datetime] = []
    coords: list[tuple[float, float]] = []
    for c in elem:
        name = _local(c.tag)
        text = (c.text or "").strip()
        if name == "when":
            try:
                times.append(dt.datetime.fromisoformat(text))
            except ValueError as e:
                msg = f"{where}: 轨迹时间无法解析 (cannot parse gx:Track <when>) {text!r}"
                raise InputError(msg) from e
        elif name == "coord":
            parts = text.split()
            try:
                coords.append((float(parts[0]), float(parts[1])))
            except (ValueError, IndexError) as e:
                msg = f"{where}: 轨迹坐标无法解析 (cannot parse gx:coord) {text!r}"
                raise InputError(msg) from e
    if not coords:
        return None, times
    if len(coords) == 1:
        return Point(coords[0]), times
    return LineString(coords), times


def _combine(parts: list[BaseGeometry]) -> BaseGeometry | None:
    """Combine MultiGeometry parts into a Multi* when homogeneous, else a GeometryCollection."""
    flat: list[BaseGeometry] = []
    for p in parts:
        if isinstance(p, MultiPoint | MultiLineString | MultiPolygon | GeometryCollection):
            flat.extend(p.geoms)
        else:
            flat.append(p)
    if not flat:
        return None
    if all(isinstance(p, Point) for p in flat):
        return MultiPoint(flat)
    if all(isinstance(p, LineString) for p in flat):
        return MultiLineString(flat)
    if all(isinstance(p, Polygon) for p in flat):
        return MultiPolygon(flat)
    return GeometryCollection(flat)


def _geometry(elem: Element, *, where: str) -> tuple[BaseGeometry | None, list[dt.datetime] | None]:
    """Shapely geometry (2-D) and gx:Track times of one KML geometry element."""
    name = _local(elem.tag)
    if name == "Point":
        coords = _parse_tuples(_child_text(elem, "coordinates"), where=where)
        return (Point(coords[0]) if coords else None), None
    if name in ("LineString", "LinearRing"):
        coords = _parse_tuples(_child_text(elem, "coordinates"), where=where)
        if not coords:
            return None, None
        if len(coords) < 2:
            msg = f"{where}: 线至少需要两个点 (a LineString needs two points)"
            raise InputError(msg)
        if name == "LinearRing":
            try:
                return Polygon(LinearRing(coords)), None
            except ValueError as e:
                msg = f"{where}: 多边形顶点不足或无效 (invalid polygon ring): {e}"
                raise InputError(msg) from e
        return LineString(coords), None
    if name == "Polygon":
        return _polygon(elem, where=where), None
    if name == "Track":
        geom, times = _track(elem, where=where)
        return geom, times
    if name in ("MultiGeometry", "MultiTrack"):
        parts: list[BaseGeometry] = []
        all_times: list[dt.datetime] = []
        has_times = False
        for c in elem:
            if _local(c.tag) in _GEOMETRY_TAGS:
                g, t = _geometry(c, where=where)
                if g is not None:
                    parts.append(g)
                if t is not None:
                    has_times = True
                    all_times.extend(t)
        return _combine(parts), (all_times if has_times else None)
    return None, None


def _kml_time(text: str | None) -> dt.datetime | None:
    """A KML time (``2024-03-12T08:00:00Z``, with an offset, without one — UTC, as gx:Track
    ``<when>`` — or a date alone); None for a year or a month alone and for text that is no
    time (a placemark's time is only a help: it never makes a file unreadable)."""
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
        return parsed.astimezone(dt.UTC) if parsed.tzinfo is not None else parsed
    except (ValueError, OverflowError):
        return None


def _time_primitive(pm: Element) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(begin, end) of a placemark's ``<TimeStamp><when>`` (both that time) or ``<TimeSpan>``
    (``<begin>``, ``<end>``, either None when absent); (None, None) without either."""
    stamp = _child(pm, "TimeStamp")
    if stamp is not None:
        when = _kml_time(_child_text(stamp, "when"))
        return when, when
    span = _child(pm, "TimeSpan")
    if span is not None:
        return _kml_time(_child_text(span, "begin")), _kml_time(_child_text(span, "end"))
    return None, None


def _extended(pm: Element) -> dict[str, str | None]:
    """ExtendedData of a placemark: ``<Data name><value>`` and ``<SchemaData><SimpleData name>``."""
    out: dict[str, str | None] = {}
    ext = _child(pm, "ExtendedData")
    if ext is None:
        return out
    for item in ext:
        kind = _local(item.tag)
        if kind == "Data":
            key = item.get("name")
            if key:
                v = _child(item, "value")
                text = v.text.strip() if v is not None and v.text is not None else None
                out[key] = text or None
        elif kind == "SchemaData":
            for sd in _children(item, "SimpleData"):
                key = sd.get("name")
                if key:
                    text = sd.text.strip() if sd.text is not None else None
                    out[key] = text or None
    return out


def _placemarks(root: Element) -> Iterator[tuple[Element, list[str]]]:
    """Yield every Placemark in document order with the names of its enclosing Folders."""
    stack: list[tuple[Element, list[str]]] = [(root, [])]
    # Depth-first, document order: push children reversed.
    while stack:
        elem, folders = stack.pop()
        name = _local(elem.tag)
        if name == "Placemark":
            yield elem, folders
            continue
        inner = folders
        if name == "Folder" and elem is not root:
            inner = [*folders, _child_text(elem, "name") or ""]
        stack.extend((c, inner) for c in reversed(list(elem)))


def _to_utf8(data: bytes, *, source: str) -> bytes:
    """Transcode a document declared in a multi-byte encoding (GBK, GB2312, Big5) to UTF-8."""
    m = _XML_DECL_ENCODING.match(data[:512])
    if m is None:
        return data
    declared = m.group(2).decode("ascii").lower()
    if declared in _EXPAT_ENCODINGS:
        return data
    codec = "gb18030" if declared in ("gbk", "gb2312", "cp936", "gb18030") else declared
    try:
        text = data.decode(codec)
    except (LookupError, UnicodeDecodeError) as e:
        msg = (
            f"{source}: 无法按声明的编码 {declared} 解码 (cannot decode as declared encoding): {e}"
        )
        raise InputError(msg) from e
    return m.group(1) + b"UTF-8" + m.group(3) + text.encode("utf-8")[len(m.group(0)) :]


def _parse_xml(data: bytes, *, source: str) -> Element:
    data = _to_utf8(data, source=source)
    try:
        root = defused_fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as e:
        msg = (
            f"{source}: KML 含有实体声明或外部引用，出于安全原因拒绝读取 "
            f"(XML entities / external references are refused for safety): {e}"
        )
        raise InputError(msg) from e
    except ParseError as e:
        line, col = getattr(e, "position", (0, 0))
        msg = (
            f"{source}: KML 格式错误，第 {line} 行第 {col} 列 "
            f"(malformed XML at line {line}, column {col}): {e}"
        )
        raise InputError(msg) from e
    except Exception as e:  # e.g. an encoding expat cannot handle
        msg = f"{source}: 无法解析 KML (cannot parse KML: {type(e).__name__}: {e})"
        raise InputError(msg) from e
    if not isinstance(root, Element):  # pragma: no cover - defusedxml returns Elements
        msg = f"{source}: 无法解析 KML (cannot parse KML)"
        raise InputError(msg)
    return root


def read_kml(
    path_or_bytes: str | os.PathLike[str] | bytes, *, source: str, timestamps: bool = False
) -> gpd.GeoDataFrame:
    """Read every placemark of a KML or KMZ document into a frame (EPSG:4326).

    Parameters
    ----------
    path_or_bytes
        A ``.kml``/``.kmz`` path, or the file's bytes (a KMZ is recognised by its zip signature).
    source
        File name shown in error messages.
    timestamps
        Also give each placemark's ``<TimeStamp>``/``<TimeSpan>`` (columns ``begin`` and
        ``end``, see below).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per placemark in document order, with ``name``, ``description``, one column per
        ``ExtendedData`` field (``Data``/``SimpleData``; a field that collides with a fixed column
        gets the suffix ``_data``), ``folder`` (enclosing Folder names joined by ``/``, None at
        top level), ``times`` (list of datetimes of a gx:Track's ``<when>``, else None),
        with ``timestamps`` ``begin`` and ``end`` (datetimes of the placemark's
        ``<TimeStamp><when>`` — both — or ``<TimeSpan>``'s ``<begin>``/``<end>``; None when
        absent, a year or a month alone, or not a time; in UTC, naive when the file gives no
        offset) and ``geometry`` (2-D; None for a placemark without geometry — the caller
        decides).

    Raises
    ------
    InputError
        Missing file, malformed XML (with line and column), entity declarations (XXE, billion
        laughs — refused before anything is expanded or fetched), or unparsable coordinates.
    """
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
    else:
        try:
            check_size(Path(path_or_bytes).stat().st_size, source=source, limit=MAX_KML_BYTES)
            data = Path(path_or_bytes).read_bytes()
        except OSError as e:
            msg = f"{source}: 无法读取文件 (cannot read file): {e.strerror or e}"
            raise InputError(msg) from e
    if data[:4] == b"PK\x03\x04":
        data = kml_bytes_from_kmz(data, source=source)
    check_size(len(data), source=source, limit=MAX_KML_BYTES)
    with parser_errors(source, "KML"):
        return _read_kml_document(data, source=source, timestamps=timestamps)


def _read_kml_document(data: bytes, *, source: str, timestamps: bool) -> gpd.GeoDataFrame:
    root = _parse_xml(data, source=source)
    fixed = (*_FIXED_COLUMNS, *_TIME_COLUMNS) if timestamps else _FIXED_COLUMNS

    records: list[dict[str, Any]] = []
    geoms: list[BaseGeometry | None] = []
    fields: list[str] = []
    for number, (pm, folders) in enumerate(_placemarks(root), start=1):
        where = f"{source} 第 {number} 个地标 (placemark {number})"
        name = _child_text(pm, "name")
        rec: dict[str, Any] = {
            "name": name,
            "description": _child_text(pm, "description"),
            "folder": "/".join(folders) if folders else None,
            "times": None,
        }
        if timestamps:
            rec["begin"], rec["end"] = _time_primitive(pm)
        for key, value in _extended(pm).items():
            col = f"{key}_data" if key in fixed or key == "geometry" else key
            if col not in fields:
                fields.append(col)
            rec[col] = value
        geom: BaseGeometry | None = None
        for c in pm:
            if _local(c.tag) in _GEOMETRY_TAGS:
                geom, times = _geometry(c, where=where)
                rec["times"] = times
                break
        records.append(rec)
        geoms.append(geom)

    columns = ["name", "description", *fields, "folder", "times"]
    values: dict[str, Any] = {col: [r.get(col) for r in records] for col in columns}
    for col in _TIME_COLUMNS if timestamps else ():  # datetimes as given, None when absent
        values[col] = pd.Series([r[col] for r in records], dtype=object)
    frame = gpd.GeoDataFrame(values, geometry=gpd.GeoSeries(geoms, crs=KML_CRS), crs=KML_CRS)
    frame["times"] = frame["times"].astype(object)
    return frame
