"""Vector file reader: GeoPackage, Shapefile (.shp or zipped), GeoJSON and KML/KMZ."""

from __future__ import annotations

import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pyogrio.errors
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from geoverify.errors import CRSError, InputError, where_to_give
from geoverify.readers.kml import KML_CRS, read_kml
from geoverify.readers.safety import check_zip, parser_errors

__all__ = [
    "VECTOR_SUFFIXES",
    "VectorRead",
    "dbf_encoding",
    "is_vector_file",
    "list_layers",
    "read_vector",
]

#: File suffixes :func:`read_vector` understands.
VECTOR_SUFFIXES = (".gpkg", ".shp", ".zip", ".geojson", ".json", ".kml", ".kmz")

#: How many bytes of DBF records are inspected to guess the text encoding.
_DBF_SAMPLE_BYTES = 4 * 1024 * 1024

_NO_CRS_MSG = (
    f"文件没有坐标系，请指定{where_to_give('坐标系', '--crs')} (no CRS in file; pass --crs)"
)


@dataclass
class VectorRead:
    """Features of one layer of a vector file, as read.

    Attributes
    ----------
    frame
        Original attribute columns plus ``geometry``, in the file's CRS (or the ``crs=`` given
        when the file has none). For KML the placemark name is in column ``name``.
    rows
        1-based feature number (position in the layer) of each frame row.
    source
        File name as the user gave it.
    crs
        CRS of ``frame``.
    """

    frame: gpd.GeoDataFrame
    rows: list[int]
    source: str
    crs: CRS


def is_vector_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a suffix :func:`read_vector` reads (see :data:`VECTOR_SUFFIXES`)."""
    return Path(path).suffix.lower() in VECTOR_SUFFIXES


def _as_crs(value: str | CRS, *, source: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError as e:
        msg = f"{source}: 无法识别的坐标系 (unknown CRS) {value!r}: {e}"
        raise CRSError(msg) from e


def _same_crs(a: CRS, b: CRS) -> bool:
    """Whether two CRSs agree; WGS84 and CGCS2000 geographic count as the same at map scale."""
    if a.equals(b, ignore_axis_order=True):
        return True
    ea, eb = a.to_epsg(min_confidence=70), b.to_epsg(min_confidence=70)
    if ea is not None and ea == eb:
        return True
    return {ea, eb} == {4326, 4490}


def _resolve_crs(file_crs: CRS | None, given: CRS | None, *, source: str) -> CRS:
    if file_crs is None:
        if given is None:
            msg = f"{source}: {_NO_CRS_MSG}"
            raise CRSError(msg)
        return given
    if given is not None and not _same_crs(file_crs, given):
        msg = (
            f"{source}: 文件自带坐标系 {file_crs.name} 与指定的坐标系 {given.name} 不一致，"
            f"请不指定坐标系或修正文件的 .prj (the file's CRS {file_crs.to_string()} differs from "
            f"the CRS given, {given.to_string()}; drop --crs or fix the file)"
        )
        raise InputError(msg)
    return file_crs


# --- DBF encoding --------------------------------------------------------------------------


def dbf_encoding(dbf: bytes) -> str | None:
    """Guess the text encoding of a DBF that has no ``.cpg``.

    Returns ``None`` when every text byte (field names and character fields) is ASCII, ``"UTF-8"``
    when they decode as UTF-8, else ``"GB18030"`` (a superset of GBK/GB2312, what Chinese GIS
    software writes without saying so).
    """
    if len(dbf) < 32:
        return None
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    fields: list[tuple[int, int]] = []  # (offset in record, length) of character fields
    names = bytearray()
    pos, offset = 32, 1  # each record starts with a deletion flag byte
    while pos + 32 <= min(header_len, len(dbf)) and dbf[pos] != 0x0D:
        desc = dbf[pos : pos + 32]
        names += desc[:11].split(b"\x00", 1)[0]
        ftype, flen = chr(desc[11]), desc[16]
        if ftype == "C":
            flen += desc[17] * 256  # character fields longer than 255 use the decimal byte
            fields.append((offset, flen))
        offset += flen
        pos += 32
    text = bytearray(names)
    end = min(len(dbf), header_len + min(n_records * record_len, _DBF_SAMPLE_BYTES))
    for start in range(header_len, end - record_len + 1, max(record_len, 1)):
        rec = dbf[start : start + record_len]
        for off, flen in fields:
            text += rec[off : off + flen].rstrip(b" \x00") + b" "
    if text.isascii():
        return None
    try:
        bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def _sibling(path: Path, suffix: str) -> Path | None:
    """The file next to ``path`` with the same stem and ``suffix``, any letter case."""
    for cand in path.parent.glob(f"{path.stem}.*"):
        if cand.stem == path.stem and cand.suffix.lower() == suffix:
            return cand
    return None


# --- layers --------------------------------------------------------------------------------


def _zip_members(path: Path, *, source: str) -> list[str]:
    # The central directory is checked (sizes, ratio) before GDAL unpacks anything.
    return [i.filename for i in check_zip(path, source=source, kind="zip")]


def _zip_shapefiles(path: Path, *, source: str) -> list[str]:
    names = _zip_members(path, source=source)
    return [
        n
        for n in names
        if n.lower().endswith(".shp")
        and not PurePosixPath(n).name.startswith("._")
        and "__MACOSX" not in n
    ]


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector file (one name for single-layer formats).

    For a zip, the ``.shp`` members (paths inside the zip). For a GeoPackage, every table,
    attribute-only tables included.
    """
    p = Path(path)
    source = os.fspath(path)
    if not p.exists():
        msg = f"{source}: 文件不存在 (file not found)"
        raise InputError(msg)
    suffix = p.suffix.lower()
    if suffix == ".zip":
        return _zip_shapefiles(p, source=source)
    if suffix in (".kml", ".kmz"):
        return [p.stem]
    with parser_errors(source, _kind(p)):
        try:
            return [str(row[0]) for row in pyogrio.list_layers(p)]
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as e:
            msg = f"{source}: 无法读取文件 (cannot read file): {e}"
            raise InputError(msg) from e


def _pick(layers: list[str], layer: str | None, *, source: str, what: str) -> str:
    if layer is not None:
        matches = [
            name
            for name in layers
            if layer in (name, PurePosixPath(name).name, PurePosixPath(name).stem)
        ]
        if not matches:
            msg = (
                f"{source}: 没有名为 {layer!r} 的{what} (no {what_en(what)} named {layer!r}); "
                f"现有 (available): {', '.join(layers) or '无 (none)'}"
            )
            raise InputError(msg)
        if len(matches) > 1:
            msg = f"{source}: 有多个{what}符合 {layer!r} (ambiguous): {', '.join(matches)}"
            raise InputError(msg)
        return matches[0]
    if not layers:
        msg = f"{source}: 文件中没有{what} (no {what_en(what)} in the file)"
        raise InputError(msg)
    if len(layers) > 1:
        msg = (
            f"{source}: 文件有多个{what}，请用 --layer 指定 (several {what_en(what)}s; pass "
            f"--layer): {', '.join(layers)}"
        )
        raise InputError(msg)
    return layers[0]


def _kind(path: Path) -> str:
    return {".gpkg": "GeoPackage", ".shp": "Shapefile", ".geojson": "GeoJSON"}.get(
        path.suffix.lower(), "GIS"
    )


def what_en(what: str) -> str:
    """English word for the Chinese container names used in messages."""
    return {"图层": "layer", "shp 文件": "shapefile"}.get(what, what)


# --- reading -------------------------------------------------------------------------------


def _read_ogr(
    target: str, *, source: str, layer: str | None, encoding: str | None
) -> tuple[gpd.GeoDataFrame, CRS | None]:
    kwargs: dict[str, Any] = {"layer": layer} if layer is not None else {}
    if encoding is not None:
        kwargs["encoding"] = encoding
    try:
        with parser_errors(source, "GIS"):
            df = pyogrio.read_dataframe(target, **kwargs)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.CRSError,
        UnicodeDecodeError,
        OSError,
        ValueError,
    ) as e:
        msg = f"{source}: 文件无法读取或已损坏 (unreadable or corrupt file): {e}"
        raise InputError(msg) from e
    if isinstance(df, gpd.GeoDataFrame):
        frame = df
        file_crs = CRS.from_user_input(df.crs) if df.crs is not None else None
    else:  # attribute-only table (GeoPackage) -> geometry all None
        frame = gpd.GeoDataFrame(pd.DataFrame(df), geometry=gpd.GeoSeries([None] * len(df)))
        file_crs = None
    return frame, file_crs


def _read_shapefile_encoding(shp: Path, *, source: str) -> str | None:
    if _sibling(shp, ".cpg") is not None:
        return None
    dbf = _sibling(shp, ".dbf")
    if dbf is None:
        return None
    try:
        return dbf_encoding(dbf.read_bytes())
    except (OSError, struct.error, IndexError, ValueError) as e:
        msg = f"{source}: 无法读取 {dbf.name} (cannot read the DBF): {e}"
        raise InputError(msg) from e


def _zip_encoding(path: Path, member: str, *, source: str) -> str | None:
    stem = member[: -len(".shp")]
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n.lower(): n for n in zf.namelist()}
            if f"{stem}.cpg".lower() in names:
                return None
            dbf = names.get(f"{stem}.dbf".lower())
            if dbf is None:
                return None
            with zf.open(dbf) as fh:
                head = fh.read(_DBF_SAMPLE_BYTES + 65536)
            return dbf_encoding(head)
    except Exception as e:  # BadZipFile, zlib.error, struct.error, …
        msg = f"{source}: 无法读取 zip 中的 DBF (cannot read the DBF inside the zip): {e}"
        raise InputError(msg) from e


def read_vector(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    crs: str | CRS | None = None,
) -> VectorRead:
    """Read one layer of a vector file with its attributes, CRS and feature numbers.

    Parameters
    ----------
    path
        ``.gpkg``, ``.shp``, ``.zip`` (a zipped shapefile), ``.geojson``/``.json``, ``.kml``
        or ``.kmz``.
    layer
        GeoPackage layer name, or the ``.shp`` inside a zip (path, file name or stem). Required
        when there are several.
    crs
        CRS to use when the file has none (a shapefile without ``.prj``). When the file has a
        CRS, it is used; a different ``crs`` is an error (WGS84 vs CGCS2000 counts as equal).

    Returns
    -------
    VectorRead
        A GeoPackage attribute-only table gives a frame whose geometries are all None; its
        ``crs`` is ``crs`` or EPSG:4490.

    Raises
    ------
    CRSError
        The file has no CRS and ``crs`` is None, or ``crs`` is not a CRS.
    InputError
        Missing, unreadable or corrupt file; several layers and none chosen; empty layer;
        conflicting CRSs.
    """
    p = Path(path)
    source = os.fspath(path)
    given = _as_crs(crs, source=source) if crs is not None else None
    if not p.exists():
        msg = f"{source}: 文件不存在 (file not found)"
        raise InputError(msg)
    if p.is_dir():
        msg = f"{source}: 是文件夹而不是文件 (is a directory, not a file)"
        raise InputError(msg)
    suffix = p.suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        msg = (
            f"{source}: 不支持的文件类型 {suffix or '(无扩展名)'} (unsupported file type); "
            f"支持 (supported): {' '.join(VECTOR_SUFFIXES)}"
        )
        raise InputError(msg)

    file_crs: CRS | None
    if suffix in (".kml", ".kmz"):
        frame = read_kml(p, source=source)  # size and zip limits checked before reading
        file_crs = CRS.from_user_input(KML_CRS)
    elif suffix == ".zip":
        member = _pick(_zip_shapefiles(p, source=source), layer, source=source, what="shp 文件")
        encoding = _zip_encoding(p, member, source=source)
        target = f"/vsizip/{p.resolve().as_posix()}/{member}"
        frame, file_crs = _read_ogr(target, source=source, layer=None, encoding=encoding)
    elif suffix == ".shp":
        encoding = _read_shapefile_encoding(p, source=source)
        frame, file_crs = _read_ogr(str(p), source=source, layer=None, encoding=encoding)
    elif suffix == ".gpkg":
        chosen = _pick(list_layers(p), layer, source=source, what="图层")
        frame, file_crs = _read_ogr(str(p), source=source, layer=chosen, encoding=None)
        if file_crs is None and frame.geometry.isna().all() and len(frame):
            file_crs = given or CRS.from_epsg(4490)  # attribute table: nothing to locate
    else:  # GeoJSON
        frame, file_crs = _read_ogr(str(p), source=source, layer=layer, encoding=None)

    if len(frame) == 0:
        msg = f"{source}: 图层中没有要素 (the layer has no features)"
        raise InputError(msg)
    used = _resolve_crs(file_crs, given, source=source)
    if frame.crs is None or not CRS.from_user_input(frame.crs).equals(used):
        frame = frame.set_crs(used, allow_override=True)
    frame = frame.reset_index(drop=True)
    return VectorRead(frame=frame, rows=list(range(1, len(frame) + 1)), source=source, crs=used)
