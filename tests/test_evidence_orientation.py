"""strip_exif keeps a photo's orientation, and nothing else, in a minimal EXIF block.

Real JPEG/PNG files written by Pillow; the segment/chunk layout is checked by walking the bytes.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageOps

from geoverify.evidence import PhotoMeta, read_exif, sniff_image, strip_exif

W, H = 64, 48  # stored landscape; orientations 5-8 show it as 48 × 64 portrait
_SWAPS = {5, 6, 7, 8}


def _exif(orientation: int | None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:03:10 10:20:30"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef] = (29.0, 50.0, 24.0), "N"
    gps[ExifTags.GPS.GPSLongitude], gps[ExifTags.GPS.GPSLongitudeRef] = (106.0, 1.0, 48.0), "E"
    return exif


def _image() -> Image.Image:
    # not uniform, so that a transposed or re-encoded copy would decode differently
    im = Image.new("RGB", (W, H), (40, 160, 60))
    im.paste((200, 30, 30), (0, 0, W // 2, H // 3))
    return im


def _photo(fmt: str, orientation: int | None) -> bytes:
    out = io.BytesIO()
    _image().save(out, fmt, exif=_exif(orientation))
    return out.getvalue()


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of the JPEG segments before SOS; asserts the structure is sound."""
    assert data[:2] == b"\xff\xd8"
    segs: list[tuple[int, bytes]] = []
    i = 2
    while True:
        assert data[i] == 0xFF, f"no marker at byte {i}"
        marker = data[i + 1]
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        assert length >= 2 and i + 2 + length <= len(data)
        segs.append((marker, data[i + 4 : i + 2 + length]))
        if marker == 0xDA:  # SOS
            return segs
        i += 2 + length


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of the PNG chunks; asserts lengths and CRCs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: list[tuple[bytes, bytes]] = []
    i = 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        ctype, body = data[i + 4 : i + 8], data[i + 8 : i + 8 + length]
        (crc,) = struct.unpack(">I", data[i + 8 + length : i + 12 + length])
        assert crc == zlib.crc32(ctype + body), ctype
        chunks.append((ctype, body))
        i += 12 + length
    assert chunks[-1][0] == b"IEND"
    return chunks


def _check_only_orientation(stripped: bytes, orientation: int) -> None:
    with Image.open(io.BytesIO(stripped)) as im:
        exif = im.getexif()
        assert dict(exif) == {ExifTags.Base.Orientation: orientation}
        assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert not exif.get_ifd(ExifTags.IFD.Exif)
        assert "xmp" not in im.info and "XML:com.adobe.xmp" not in im.info
    assert read_exif(stripped) == PhotoMeta()
    assert b"TestCam" not in stripped and b"2024:03:10" not in stripped


def _check_pixels_and_upright(original: bytes, stripped: bytes, orientation: int) -> None:
    with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(stripped)) as b:
        assert b.size == a.size == (W, H)
        assert b.tobytes() == a.tobytes()  # same stored pixels: not re-encoded, not turned
        upright = ImageOps.exif_transpose(b)
        expected = ImageOps.exif_transpose(a)
    assert upright.size == ((H, W) if orientation in _SWAPS else (W, H))
    assert upright.tobytes() == expected.tobytes()


def test_jpeg_portrait_keeps_only_orientation() -> None:
    data = _photo("JPEG", 6)
    with Image.open(io.BytesIO(data)) as im:  # the fixture is what a phone writes
        assert im.getexif()[ExifTags.Base.Orientation] == 6
        assert read_exif(data).lat is not None
    stripped = strip_exif(data)
    assert sniff_image(stripped) == "image/jpeg"
    _check_only_orientation(stripped, 6)
    _check_pixels_and_upright(data, stripped, 6)
    with Image.open(io.BytesIO(stripped)) as im:
        assert ImageOps.exif_transpose(im).size == (48, 64)  # portrait
    # one APP1, right after the JFIF APP0 that Pillow writes first, with IFD0 only
    segs = _jpeg_segments(stripped)
    assert segs[0][0] == 0xE0 and segs[0][1].startswith(b"JFIF\x00")
    assert segs[1][0] == 0xE1
    assert [m for m, _ in segs].count(0xE1) == 1
    assert not any(m in (0xED, 0xFE) for m, _ in segs)
    app1 = segs[1][1]
    assert app1[:6] == b"Exif\x00\x00"
    tiff = app1[6:]
    endian = {b"MM": ">", b"II": "<"}[tiff[:2]]
    (ifd0,) = struct.unpack(endian + "I", tiff[4:8])
    (count,) = struct.unpack(endian + "H", tiff[ifd0 : ifd0 + 2])
    assert count == 1
    tag, typ, n = struct.unpack(endian + "HHI", tiff[ifd0 + 2 : ifd0 + 10])
    assert (tag, typ, n) == (0x0112, 3, 1)
    assert struct.unpack(endian + "I", tiff[ifd0 + 14 : ifd0 + 18]) == (0,)  # no IFD1
    # idempotent: stripping the served copy again gives the same bytes
    assert strip_exif(stripped) == stripped


def test_jpeg_without_jfif_gets_exif_right_after_soi() -> None:
    data = _photo("JPEG", 6)
    segs = _jpeg_segments(data)
    assert segs[0][0] == 0xE0
    no_jfif = data[:2] + data[2 + 2 + 2 + len(segs[0][1]) :]  # as phones write: no APP0
    assert _jpeg_segments(no_jfif)[0][0] == 0xE1
    stripped = strip_exif(no_jfif)
    assert _jpeg_segments(stripped)[0][0] == 0xE1
    assert sniff_image(stripped) == "image/jpeg"
    _check_only_orientation(stripped, 6)
    _check_pixels_and_upright(no_jfif, stripped, 6)


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 7, 8])
def test_jpeg_other_orientations(orientation: int) -> None:
    data = _photo("JPEG", orientation)
    stripped = strip_exif(data)
    _check_only_orientation(stripped, orientation)
    _check_pixels_and_upright(data, stripped, orientation)


@pytest.mark.parametrize("orientation", [None, 1, 0, 9])
def test_jpeg_upright_gets_no_exif(orientation: int | None) -> None:
    data = _photo("JPEG", orientation)
    stripped = strip_exif(data)
    assert sniff_image(stripped) == "image/jpeg"
    assert [m for m, _ in _jpeg_segments(stripped) if 0xE1 <= m <= 0xEF or m == 0xFE] == []
    assert b"Exif\x00\x00" not in stripped
    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif()
    _check_pixels_and_upright(data, stripped, 1)


def test_jpeg_xmp_orientation_as_the_thumbnail_reads_it() -> None:
    # No EXIF orientation, but XMP tiff:Orientation, which exif_transpose (the thumbnails) applies
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="8"/></x:xmpmeta>'
    out = io.BytesIO()
    _image().save(out, "JPEG", exif=_exif(None), xmp=xmp)
    data = out.getvalue()
    stripped = strip_exif(data)
    assert b"xmpmeta" not in stripped
    _check_only_orientation(stripped, 8)
    _check_pixels_and_upright(data, stripped, 8)


def test_png_portrait_keeps_only_orientation() -> None:
    data = _photo("PNG", 6)
    assert b"eXIf" in data
    stripped = strip_exif(data)
    assert sniff_image(stripped) == "image/png"
    _check_only_orientation(stripped, 6)
    _check_pixels_and_upright(data, stripped, 6)
    chunks = _png_chunks(stripped)
    types = [t for t, _ in chunks]
    assert types[:2] == [b"IHDR", b"eXIf"] and types.count(b"eXIf") == 1
    assert types.index(b"eXIf") < types.index(b"IDAT")
    assert chunks[1][1][:4] in (b"MM\x00\x2a", b"II\x2a\x00")  # TIFF data, no "Exif" prefix
    assert strip_exif(stripped) == stripped


@pytest.mark.parametrize("orientation", [None, 1])
def test_png_upright_gets_no_exif(orientation: int | None) -> None:
    data = _photo("PNG", orientation)
    stripped = strip_exif(data)
    assert sniff_image(stripped) == "image/png"
    assert b"eXIf" not in [t for t, _ in _png_chunks(stripped)]
    _check_pixels_and_upright(data, stripped, 1)


def test_corrupt_exif_is_dropped_without_error() -> None:
    # Regression guard for the new orientation read (passes with or without it): EXIF that
    # Pillow only warns about must not make strip_exif fail, nor be kept.
    data = _photo("JPEG", None)
    payload = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff"  # 65535 entries, no data
    bad = data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    stripped = strip_exif(bad)
    assert b"Exif\x00\x00" not in stripped
    assert sniff_image(stripped) == "image/jpeg"
