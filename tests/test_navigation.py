"""Tests for navigation links and the GCJ-02 / BD-09 conversions behind them."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
import pytest
from pyproj import Geod

from geoverify.geo import (
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geoverify.navigation import (
    amap_url,
    baidu_url,
    format_degrees,
    geo_uri,
    navigation_links,
    tencent_url,
    to_dms,
)

_GEOD = Geod(ellps="WGS84")


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


# Published reference pairs, (input lon, lat) -> (output lon, lat).
WGS_TO_GCJ = [
    # wandergis/coordtransform, test/app.js (its printed "wgs84togcj02" result)
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    # googollee/eviltransform, go/transform_test.go (shanghai, shenzhen, beijing; given lat,lng)
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    # Glatzel/pyxis, python/tests/test_crypto.py (wgs84 -> gcj02)
    ((121.0917077, 30.6107779), (121.09626935575027, 30.608604331756705)),
]
GCJ_TO_BD = [
    # wandergis/coordtransform, test/app.js (its printed "gcj02tobd09" result)
    ((116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    # Glatzel/pyxis, python/tests/test_crypto.py (gcj02 -> bd09)
    ((121.09626935575027, 30.608604331756705), (121.10271732371203, 30.61484572185035)),
]
BD_TO_GCJ = [
    # wandergis/coordtransform, test/app.js (its printed "bd09togcj02" result)
    ((116.404, 39.915), (116.39762729119315, 39.90865673957631)),
]
WGS_TO_BD = [
    # Glatzel/pyxis, python/tests/test_crypto.py (wgs84 -> bd09)
    ((121.0917077, 30.6107779), (121.10271732371203, 30.61484572185035)),
]


@pytest.mark.parametrize(("src", "dst"), WGS_TO_GCJ)
def test_wgs84_to_gcj02_matches_published_pairs(
    src: tuple[float, float], dst: tuple[float, float]
) -> None:
    x, y = wgs84_to_gcj02(*src)
    assert _metres(float(x), float(y), *dst) < 1.0


@pytest.mark.parametrize(("src", "dst"), GCJ_TO_BD)
def test_gcj02_to_bd09_matches_published_pairs(
    src: tuple[float, float], dst: tuple[float, float]
) -> None:
    x, y = gcj02_to_bd09(*src)
    assert _metres(float(x), float(y), *dst) < 1.0


@pytest.mark.parametrize(("src", "dst"), BD_TO_GCJ)
def test_bd09_to_gcj02_matches_published_pairs(
    src: tuple[float, float], dst: tuple[float, float]
) -> None:
    x, y = bd09_to_gcj02(*src)
    assert _metres(float(x), float(y), *dst) < 1.0


@pytest.mark.parametrize(("src", "dst"), WGS_TO_BD)
def test_wgs84_to_bd09_matches_published_pairs(
    src: tuple[float, float], dst: tuple[float, float]
) -> None:
    x, y = wgs84_to_bd09(*src)
    assert _metres(float(x), float(y), *dst) < 1.0


def test_gcj02_offset_is_hundreds_of_metres_in_tongliang() -> None:
    x, y = wgs84_to_gcj02(106.05, 29.85)
    d = _metres(106.05, 29.85, float(x), float(y))
    assert 100 < d < 1000


def test_gcj02_round_trip_within_a_centimetre() -> None:
    rng = np.random.default_rng(3)
    lon = np.concatenate([[106.05, 105.95, 116.404], rng.uniform(105.8, 106.3, 200)])
    lat = np.concatenate([[29.85, 29.80, 39.915], rng.uniform(29.6, 30.1, 200)])
    gx, gy = wgs84_to_gcj02(lon, lat)
    wx, wy = gcj02_to_wgs84(gx, gy)
    d = _GEOD.inv(lon, lat, wx, wy)[2]
    assert np.max(d) < 0.01
    # The published inverse pair: exact inverse of the published forward pair.
    for (wlon, wlat), (glon, glat) in WGS_TO_GCJ:
        rx, ry = gcj02_to_wgs84(glon, glat)
        assert _metres(float(rx), float(ry), wlon, wlat) < 0.01


def test_outside_china_is_unchanged() -> None:
    x, y = wgs84_to_gcj02(2.35, 48.85)
    assert float(x) == 2.35 and float(y) == 48.85


def test_format_and_dms() -> None:
    assert format_degrees(106.0) == "106.000000"
    assert format_degrees(29.1234567) == "29.123457"
    assert to_dms(106.0343, axis="lon") == "106°02'03.48\"E"
    assert to_dms(29.5, axis="lat") == "29°30'00.00\"N"
    assert to_dms(-0.5, axis="lat") == "00°30'00.00\"S"
    # 59.999 seconds must not print as 60.00
    assert to_dms(106 + 59.99999 / 3600, axis="lon") == "106°01'00.00\"E"
    with pytest.raises(ValueError, match="axis"):
        to_dms(1.0, axis="x")
    with pytest.raises(ValueError, match="finite"):
        format_degrees(float("nan"))


def test_links_use_the_apps_coordinate_systems() -> None:
    lon, lat = 106.05, 29.85
    label = "靶标 T-001&x=1 (福果村)"
    (links,) = navigation_links([lon], [lat], [label])
    gx, gy = (float(v) for v in wgs84_to_gcj02(lon, lat))
    bx, by = (float(v) for v in wgs84_to_bd09(lon, lat))

    amap = urlparse(links.amap)
    q = parse_qs(amap.query)
    assert amap.netloc == "uri.amap.com" and amap.path == "/marker"
    assert q["position"] == [f"{gx:.6f},{gy:.6f}"]
    assert q["name"] == [label]
    assert q["coordinate"] == ["gaode"] and q["callnative"] == ["1"]

    baidu = urlparse(links.baidu)
    q = parse_qs(baidu.query)
    assert baidu.netloc == "api.map.baidu.com"
    assert q["location"] == [f"{by:.6f},{bx:.6f}"]
    assert q["coord_type"] == ["bd09ll"] and q["output"] == ["html"]
    assert q["title"] == [label] and q["src"] == ["geoverify"]

    tencent = urlparse(links.tencent)
    q = parse_qs(tencent.query)
    assert q["marker"][0].startswith(f"coord:{gy:.6f},{gx:.6f};title:")
    assert q["referer"] == ["geoverify"]

    assert links.geo.startswith("geo:29.850000,106.050000?q=29.850000,106.050000(")
    assert unquote(links.geo.split("(", 1)[1].rstrip(")")) == label
    # The label cannot break out of its parameter.
    assert "&x=1" not in links.amap and " " not in links.amap


def test_single_link_builders_and_errors() -> None:
    assert amap_url(1.0, 2.0, "a b").endswith(
        "name=a%20b&src=geoverify&coordinate=gaode&callnative=1"
    )
    assert "location=2.000000,1.000000" in baidu_url(1.0, 2.0, "t")
    assert "coord:2.000000,1.000000" in tencent_url(1.0, 2.0, "t")
    assert geo_uri(1.0, 2.0, "x") == "geo:2.000000,1.000000?q=2.000000,1.000000(x)"
    with pytest.raises(ValueError, match="differ in length"):
        navigation_links([1.0, 2.0], [1.0], ["a"])


def test_navigation_links_vectorised_order() -> None:
    lons = np.array([106.0, 106.1, 106.2])
    lats = np.array([29.8, 29.9, 30.0])
    links = navigation_links(lons, lats, ["a", "b", "c"])
    assert [unquote(lk.geo.split("(")[1][:-1]) for lk in links] == ["a", "b", "c"]
    assert links[1].geo.startswith("geo:29.900000,106.100000")
