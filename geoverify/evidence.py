"""Photo evidence (证据照片): content sniffing, EXIF time and GPS, EXIF stripping, flags."""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, UnidentifiedImageError
from pyproj import Geod

from geoverify.clock import LOCAL_TZ

__all__ = [
    "FLAG_LABELS",
    "LOCAL_TZ",
    "MAX_PHOTO_PIXELS",
    "PhotoMeta",
    "photo_flags",
    "photo_pixels",
    "read_exif",
    "sniff_image",
    "strip_exif",
]


#: Human-readable text of the codes returned by :func:`photo_flags`.
FLAG_LABELS: dict[str, str] = {
    "far_from_target": "拍摄位置距靶标超过 {max_distance_m:g} 米 (taken far from the target)",
    "before_issue": "拍摄时间早于靶标下发日期 (taken before the batch was issued)",
    "no_gps": "照片没有 GPS 位置 (no GPS position in the photo)",
    "no_time": "照片没有拍摄时间 (no capture time in the photo)",
}

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class PhotoMeta:
    """What a photo's EXIF says about when and where it was taken.

    ``taken_at`` is timezone-aware (``OffsetTimeOriginal`` when present, else Asia/Shanghai);
    ``lon``/``lat`` are WGS84 decimal degrees from the GPS IFD.
    """

    taken_at: dt.datetime | None = None
    lon: float | None = None
    lat: float | None = None


#: Largest photo accepted, in pixels (64 MP: above what phone cameras save by default).
MAX_PHOTO_PIXELS = 64_000_000


def photo_pixels(data: bytes) -> int | None:
    """Width × height of a JPEG/PNG from its header, without decoding; None when unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return int(width) * int(height)


def sniff_image(data: bytes) -> str | None:
    """``"image/jpeg"`` or ``"image/png"`` judged by content (magic bytes + Pillow verify).

    Returns ``None`` for anything else, including truncated or corrupt images, whatever the
    file was called.
    """
    if data.startswith(_JPEG_MAGIC):
        mime, fmt = "image/jpeg", "JPEG"
    elif data.startswith(_PNG_MAGIC):
        mime, fmt = "image/png", "PNG"
    else:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.format != fmt:
                    return None
                im.verify()
            # verify() does not decode the pixels; load() catches truncated data.
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ):
        return None
    return mime


def _ratio(v: Any) -> float:
    if isinstance(v, tuple) and len(v) == 2:
        return float(v[0]) / float(v[1])
    return float(v)


def _dms_to_deg(values: Any, ref: Any) -> float | None:
    try:
        d, m, s = (_ratio(x) for x in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60.0 + s / 3600.0
    if not math.isfinite(deg):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if str(ref).strip().upper() in ("S", "W"):
        deg = -deg
    return deg


def _parse_exif_time(text: Any, offset: Any) -> dt.datetime | None:
    if not text:
        return None
    if isinstance(text, bytes):
        text = text.decode("ascii", "ignore")
    try:
        naive = dt.datetime.strptime(str(text).strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    tz: dt.tzinfo = LOCAL_TZ
    if offset:
        if isinstance(offset, bytes):
            offset = offset.decode("ascii", "ignore")
        try:
            parsed = dt.datetime.strptime(str(offset).strip().rstrip("\x00"), "%z")
            tz = parsed.tzinfo or LOCAL_TZ
        except ValueError:
            tz = LOCAL_TZ
    return naive.replace(tzinfo=tz)


def read_exif(data: bytes) -> PhotoMeta:
    """Capture time (DateTimeOriginal, else DateTime) and GPS position of a JPEG/PNG photo.

    Missing or malformed fields come back as ``None``; the function never raises for an image
    Pillow can open.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            exif = im.getexif()
    except (UnidentifiedImageError, OSError) as e:
        msg = f"不是可读取的图片 (not a readable image): {e}"
        raise ValueError(msg) from e
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    taken = _parse_exif_time(
        sub.get(ExifTags.Base.DateTimeOriginal), sub.get(ExifTags.Base.OffsetTimeOriginal)
    ) or _parse_exif_time(exif.get(ExifTags.Base.DateTime), sub.get(ExifTags.Base.OffsetTime))
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = lon = None
    if gps:
        lat = _dms_to_deg(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
        lon = _dms_to_deg(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            lat = lon = None
        elif lat == 0 and lon == 0:
            lat = lon = None  # a zeroed GPS block means "no fix"
    return PhotoMeta(taken_at=taken, lon=lon, lat=lat)


def _strip_jpeg(data: bytes) -> bytes:
    out = bytearray(data[:2])  # SOI
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            msg = f"JPEG 结构损坏，位置 {i} (corrupt JPEG marker at byte {i})"
            raise ValueError(msg)
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA or marker == 0xD9:  # SOS / EOI: the rest is image data
            out += data[i:]
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[i : i + 2]
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        end = i + 2 + length
        if end > n:
            msg = "JPEG 段长度越界 (JPEG segment runs past the end)"
            raise ValueError(msg)
        # APP1 (EXIF, XMP), APP13 (IPTC/Photoshop), COM (comments) carry metadata
        if marker not in (0xE1, 0xED, 0xFE):
            out += data[i:end]
        i = end
    out += data[i:]
    return bytes(out)


_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _strip_png(data: bytes) -> bytes:
    out = bytearray(_PNG_MAGIC)
    i = len(_PNG_MAGIC)
    n = len(data)
    while i + 12 <= n:
        (length,) = struct.unpack(">I", data[i : i + 4])
        ctype = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > n:
            msg = "PNG 块长度越界 (PNG chunk runs past the end)"
            raise ValueError(msg)
        if ctype not in _PNG_DROP:
            out += data[i:end]
        i = end
        if ctype == b"IEND":
            break
    return bytes(out)


_ORIENTATION_TAG = 0x0112  # EXIF/TIFF Orientation, SHORT


def _orientation(data: bytes) -> int | None:
    """The EXIF orientation (2-8) Pillow reads for an image, as the thumbnail code applies it.

    ``None`` for 1 (upright), a missing or invalid value, or an image Pillow cannot read.
    """
    try:
        with warnings.catch_warnings():
            # corrupt EXIF only warns; a huge image is no reason to fail here
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                value = im.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # any failure on odd metadata: keep none of it, as before
        return None
    if isinstance(value, int) and 2 <= value <= 8:
        return value
    return None


def _orientation_tiff(orientation: int) -> bytes:
    """A big-endian TIFF structure with only IFD0 and its one Orientation entry (26 bytes)."""
    return (
        b"MM\x00\x2a"
        + struct.pack(">I", 8)  # offset of IFD0
        + struct.pack(">H", 1)  # one entry
        + struct.pack(">HHIH2x", _ORIENTATION_TAG, 3, 1, orientation)  # SHORT, count 1
        + struct.pack(">I", 0)  # no next IFD
    )


def _jpeg_add_orientation(stripped: bytes, orientation: int) -> bytes:
    """``stripped`` with an APP1 EXIF segment holding only the orientation.

    It goes right after SOI, or after the JFIF (and JFXX) APP0 segments that must follow SOI.
    """
    payload = b"Exif\x00\x00" + _orientation_tiff(orientation)
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    pos = 2
    while stripped[pos : pos + 2] == b"\xff\xe0" and stripped[pos + 4 : pos + 9] in (
        b"JFIF\x00",
        b"JFXX\x00",
    ):
        (length,) = struct.unpack(">H", stripped[pos + 2 : pos + 4])
        pos += 2 + length
    return stripped[:pos] + segment + stripped[pos:]


def _png_add_orientation(stripped: bytes, orientation: int) -> bytes:
    """``stripped`` with an eXIf chunk holding only the orientation, right after IHDR."""
    start = len(_PNG_MAGIC)
    if stripped[start + 4 : start + 8] != b"IHDR":
        return stripped
    (length,) = struct.unpack(">I", stripped[start : start + 4])
    pos = start + 12 + length
    body = b"eXIf" + _orientation_tiff(orientation)
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return stripped[:pos] + chunk + stripped[pos:]


def strip_exif(data: bytes) -> bytes:
    """A copy of a JPEG/PNG without EXIF, XMP, IPTC or text metadata, pixels untouched.

    JPEG APP1/APP13/COM segments and PNG eXIf/tEXt/zTXt/iTXt/tIME chunks are dropped without
    re-encoding. Only the orientation is kept: when the photo's orientation, as Pillow reads it
    (EXIF, else XMP ``tiff:Orientation``) and as ``ImageOps.exif_transpose`` in the thumbnails
    applies it, is other than 1, the copy gets a new EXIF block holding nothing but that
    Orientation tag (a JPEG APP1 segment after SOI/JFIF, a PNG eXIf chunk after IHDR), so a
    phone photo stored sideways shows upright full size, as its thumbnail does.

    Raises
    ------
    ValueError
        For data that is not a JPEG or PNG, or whose structure is broken.
    """
    if data.startswith(_JPEG_MAGIC):
        strip, add = _strip_jpeg, _jpeg_add_orientation
    elif data.startswith(_PNG_MAGIC):
        strip, add = _strip_png, _png_add_orientation
    else:
        msg = "只能处理 JPEG 或 PNG 图片 (only JPEG and PNG are supported)"
        raise ValueError(msg)
    stripped = strip(data)
    if stripped == data:  # nothing dropped, so no orientation either
        return stripped
    orientation = _orientation(data)
    return stripped if orientation is None else add(stripped, orientation)


def photo_flags(
    meta: PhotoMeta,
    target_lon: float,
    target_lat: float,
    issued_on: dt.date | None,
    *,
    max_distance_m: float = 200.0,
) -> list[str]:
    """Reasons to doubt that a photo shows the target's site at verification time.

    Returns codes (see :data:`FLAG_LABELS`): ``no_gps``, ``far_from_target`` (more than
    ``max_distance_m`` from the target), ``no_time``, ``before_issue`` (taken, in Beijing time,
    on a day before the batch was issued). An empty list means nothing to flag.
    """
    flags: list[str] = []
    if meta.lon is None or meta.lat is None:
        flags.append("no_gps")
    else:
        d = float(_GEOD.inv(target_lon, target_lat, meta.lon, meta.lat)[2])
        if d > max_distance_m:
            flags.append("far_from_target")
    if meta.taken_at is None:
        flags.append("no_time")
    elif issued_on is not None:
        taken = meta.taken_at
        local = taken.astimezone(LOCAL_TZ) if taken.tzinfo else taken
        if local.date() < issued_on:
            flags.append("before_issue")
    return flags
