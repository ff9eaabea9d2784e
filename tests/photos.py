"""Real JPEG photos with EXIF time and GPS, made with Pillow for tests."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def jpeg_bytes(
    *,
    lon: float | None = None,
    lat: float | None = None,
    when: str | None = None,
    colour: str = "red",
    size: tuple[int, int] = (16, 16),
) -> bytes:
    """A JPEG with EXIF DateTime (``YYYY:MM:DD HH:MM:SS``) and GPS when given."""
    im = Image.new("RGB", size, colour)
    exif = Image.Exif()
    if when is not None:
        exif[0x0132] = when  # DateTime
    if lon is not None and lat is not None:
        gps = exif.get_ifd(0x8825)

        def dms(v: float) -> tuple[float, float, float]:
            d = int(v)
            m = int((v - d) * 60)
            return (float(d), float(m), round(((v - d) * 60 - m) * 60, 4))

        gps[1], gps[2], gps[3], gps[4] = "N", dms(lat), "E", dms(lon)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def jpeg_file(path: Path, *, lon: float, lat: float, when: str, colour: str = "red") -> Path:
    path.write_bytes(jpeg_bytes(lon=lon, lat=lat, when=when, colour=colour))
    return path
