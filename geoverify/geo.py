"""Coordinate systems: the stored CRS, metric projections, and the phone-map offsets.

Stored data is CGCS2000 geographic (EPSG:4490), which at map scale equals WGS84 (EPSG:4326).
Amap/Gaode and Tencent expect GCJ-02; Baidu expects BD-09. Those are only ever produced for
navigation links and are never stored.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS

__all__ = [
    "CHINA_BOUNDS",
    "STORE_CRS",
    "bd09_to_gcj02",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "metric_crs",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: CRS of every stored geometry: CGCS2000 geographic.
STORE_CRS = CRS.from_epsg(4490)

#: (min lon, min lat, max lon, max lat) of the People's Republic of China, generous.
CHINA_BOUNDS = (73.4, 3.8, 135.1, 53.6)


def metric_crs(lon: float) -> CRS:
    """Return the CGCS2000 3-degree Gauss-Kruger CRS whose central meridian is nearest ``lon``.

    For Tongliang (about 106.0 E) this is EPSG:4544 (CM 105 E). Outside China's longitudes the
    UTM zone of ``lon`` on WGS84 is returned.
    """
    if not math.isfinite(lon):
        msg = f"longitude must be finite, got {lon!r}"
        raise ValueError(msg)
    cm = round(lon / 3.0) * 3
    if 75 <= cm <= 135:
        return CRS.from_epsg(4534 + (cm - 75) // 3)
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg(32600 + zone)


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Vectorised check that coordinates fall inside :data:`CHINA_BOUNDS`."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = CHINA_BOUNDS
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


_Pair = tuple[NDArray[np.float64], NDArray[np.float64]]

# --- GCJ-02 ("Mars coordinates") and BD-09 -------------------------------------------------
# The published forward algorithm (Krasovsky 1940 ellipsoid parameters); the reverse is solved
# by fixed-point iteration to well under a millimetre.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def _transform_lat(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> _Pair:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> _Pair:
    """WGS84/CGCS2000 degrees to GCJ-02 (Amap, Tencent). Points outside China are unchanged."""
    x, y = _as_arrays(lon, lat)
    dlat = _transform_lat(x - 105.0, y - 35.0)
    dlon = _transform_lon(x - 105.0, y - 35.0)
    radlat = y / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(x, y)
    return np.where(inside, x + dlon, x), np.where(inside, y + dlat, y)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> _Pair:
    """GCJ-02 to WGS84 by iterating the forward transform (error far below 1 cm)."""
    gx, gy = _as_arrays(lon, lat)
    x, y = gx.copy(), gy.copy()
    for _ in range(30):
        fx, fy = wgs84_to_gcj02(x, y)
        dx, dy = fx - gx, fy - gy
        x, y = x - dx, y - dy
        if np.all(np.abs(dx) < 1e-10) and np.all(np.abs(dy) < 1e-10):
            break
    return x, y


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> _Pair:
    """GCJ-02 to BD-09 (Baidu)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> _Pair:
    """BD-09 to GCJ-02."""
    bx, by = _as_arrays(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> _Pair:
    """WGS84/CGCS2000 degrees to BD-09 (Baidu)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
