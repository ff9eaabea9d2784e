"""Tests for photo evidence: sniffing, EXIF reading, stripping and flags (real JPEG/PNG files)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from geoverify.evidence import (
    FLAG_LABELS,
    LOCAL_TZ,
    PhotoMeta,
    photo_flags,
    read_exif,
    sniff_image,
    strip_exif,
)

LON, LAT = 106.03, 29.84  # 106°01'48"E, 29°50'24"N


def _exif(
    *,
    when: str | None = "2024:03:10 10:20:30",
    offset: str | None = None,
    gps: tuple[tuple[float, float, float], str, tuple[float, float, float], str] | None = (
        (29.0, 50.0, 24.0), "N", (106.0, 1.0, 48.0), "E",
    ),
) -> Image.Exif:  # fmt: skip
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if when:
        sub[ExifTags.Base.DateTimeOriginal] = when
    if offset:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        g = exif.get_ifd(ExifTags.IFD.GPSInfo)
        g[ExifTags.GPS.GPSLatitude], g[ExifTags.GPS.GPSLatitudeRef] = gps[0], gps[1]
        g[ExifTags.GPS.GPSLongitude], g[ExifTags.GPS.GPSLongitudeRef] = gps[2], gps[3]
    return exif


def _photo(tmp_path: Path, name: str, fmt: str = "JPEG", **kw: object) -> bytes:
    path = tmp_path / name
    Image.new("RGB", (64, 48), (40, 160, 60)).save(path, fmt, exif=_exif(**kw))  # type: ignore[arg-type]
    return path.read_bytes()


def test_sniff_by_content_not_name(tmp_path: Path) -> None:
    jpeg = _photo(tmp_path, "photo.png")  # JPEG bytes, misleading name
    png = _photo(tmp_path, "photo.jpg", fmt="PNG")
    assert sniff_image(jpeg) == "image/jpeg"
    assert sniff_image(png) == "image/png"
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    assert sniff_image(gif.getvalue()) is None
    assert sniff_image(b"%PDF-1.4 hello") is None
    assert sniff_image(b"") is None
    # magic bytes alone are not enough: a truncated JPEG fails
    assert sniff_image(jpeg[:40]) is None
    assert sniff_image(b"\xff\xd8\xff\xe0" + b"\x00" * 100) is None


def test_read_exif_time_and_gps(tmp_path: Path) -> None:
    meta = read_exif(_photo(tmp_path, "a.jpg"))
    assert meta.taken_at == dt.datetime(2024, 3, 10, 10, 20, 30, tzinfo=LOCAL_TZ)
    assert meta.lon == pytest.approx(LON, abs=1e-9)
    assert meta.lat == pytest.approx(LAT, abs=1e-9)


def test_read_exif_offset_and_hemispheres(tmp_path: Path) -> None:
    meta = read_exif(
        _photo(
            tmp_path, "b.jpg", offset="+00:00",
            gps=((33.0, 52.0, 0.0), "S", (151.0, 12.0, 36.0), "W"),
        )
    )  # fmt: skip
    assert meta.taken_at == dt.datetime(2024, 3, 10, 10, 20, 30, tzinfo=dt.UTC)
    assert meta.lat == pytest.approx(-33.866666667)
    assert meta.lon == pytest.approx(-151.21)


def test_read_exif_missing_fields(tmp_path: Path) -> None:
    assert read_exif(_photo(tmp_path, "c.jpg", when=None, gps=None)) == PhotoMeta()
    assert read_exif(_photo(tmp_path, "d.jpg", when="not a date")).taken_at is None
    zero = read_exif(_photo(tmp_path, "e.jpg", gps=((0.0, 0.0, 0.0), "N", (0.0, 0.0, 0.0), "E")))
    assert zero.lon is None and zero.lat is None
    with pytest.raises(ValueError, match="not a readable image"):
        read_exif(b"plain text")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_strip_exif_keeps_pixels(tmp_path: Path, fmt: str) -> None:
    data = _photo(tmp_path, f"f.{fmt.lower()}", fmt=fmt)
    stripped = strip_exif(data)
    assert read_exif(stripped) == PhotoMeta()
    assert b"TestCam" in data and b"TestCam" not in stripped
    assert sniff_image(stripped) == sniff_image(data)
    with Image.open(io.BytesIO(data)) as a, Image.open(io.BytesIO(stripped)) as b:
        assert a.size == b.size
        assert a.tobytes() == b.tobytes()  # not re-encoded
    assert strip_exif(stripped) == stripped
    with pytest.raises(ValueError, match="JPEG 或 PNG"):
        strip_exif(b"GIF89a")


def test_photo_flags() -> None:
    issued = dt.date(2024, 3, 1)
    near = PhotoMeta(dt.datetime(2024, 3, 10, 9, 0, tzinfo=LOCAL_TZ), LON + 0.001, LAT)  # ~97 m
    assert photo_flags(near, LON, LAT, issued) == []
    far = PhotoMeta(near.taken_at, LON + 0.003, LAT)  # ~290 m
    assert photo_flags(far, LON, LAT, issued) == ["far_from_target"]
    assert photo_flags(far, LON, LAT, issued, max_distance_m=500) == []
    early = PhotoMeta(dt.datetime(2024, 2, 29, 23, 0, tzinfo=LOCAL_TZ), LON, LAT)
    assert photo_flags(early, LON, LAT, issued) == ["before_issue"]
    # 2024-02-29 17:00 UTC is 2024-03-01 01:00 in Beijing: not before the issue day
    utc = PhotoMeta(dt.datetime(2024, 2, 29, 17, 0, tzinfo=dt.UTC), LON, LAT)
    assert photo_flags(utc, LON, LAT, issued) == []
    assert photo_flags(PhotoMeta(), LON, LAT, issued) == ["no_gps", "no_time"]
    assert photo_flags(early, LON, LAT, None) == []
    assert set(FLAG_LABELS) == {"far_from_target", "before_issue", "no_gps", "no_time"}
