"""Tests of the GPX reader with the layouts real devices and apps write."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString, MultiLineString, Point

from geoverify.errors import InputError
from geoverify.readers.gpx import parse_gpx_time, read_gpx

GARMIN = """<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<gpx xmlns="http://www.topografix.com/GPX/1/1"
  xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  creator="eTrex 32x" version="1.1">
  <metadata><time>2024-03-12T01:29:00Z</time></metadata>
  <wpt lat="29.7001" lon="106.0301"><ele>310.2</ele><time>2024-03-12T02:00:00Z</time>
    <name>发现点1</name><desc>疑似罂粟 3 株</desc><sym>Flag, Blue</sym></wpt>
  <trk>
    <name>2024-03-12 甲村一组</name>
    <extensions><gpxx:TrackExtension xmlns:gpxx="http://www.garmin.com/xmlschemas/GpxExtensions/v3">
      <gpxx:DisplayColor>Red</gpxx:DisplayColor></gpxx:TrackExtension></extensions>
    <trkseg>
      <trkpt lat="29.7000" lon="106.0300"><ele>300</ele><time>2024-03-12T01:30:00Z</time>
        <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>101</gpxtpx:hr>
        </gpxtpx:TrackPointExtension></extensions></trkpt>
      <trkpt lat="29.7010" lon="106.0300"><ele>301</ele><time>2024-03-12T01:40:00Z</time></trkpt>
      <trkpt lat="29.7020" lon="106.0300"><ele>302</ele><time>2024-03-12T01:50:00Z</time></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="29.7030" lon="106.0310"><time>2024-03-12T02:10:00Z</time></trkpt>
      <trkpt lat="29.7040" lon="106.0320"><time>2024-03-12T02:20:00Z</time></trkpt>
    </trkseg>
  </trk>
  <trk>
    <name>夜间</name>
    <trkseg>
      <trkpt lat="29.70" lon="106.04"><time>2024-03-12T16:30:00Z</time></trkpt>
      <trkpt lat="29.71" lon="106.04"><time>2024-03-12T17:00:00Z</time></trkpt>
    </trkseg>
  </trk>
</gpx>
"""

GPX10_NO_TIMES = """<?xml version="1.0"?>
<gpx version="1.0" creator="OziExplorer" xmlns="http://www.topografix.com/GPX/1/0">
<trk><name>无时间</name><trkseg>
<trkpt lat="29.69" lon="106.02"/><trkpt lat="29.691" lon="106.021"/>
<trkpt lat="29.692" lon="106.022"/>
</trkseg></trk>
</gpx>
"""

# OruxMaps / 两步路 / 六只脚 style: local offsets in times, <type>, <desc>, CDATA names.
ORUX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="OruxMaps v.9.6.4" xmlns="http://www.topografix.com/GPX/1/1">
<metadata><name><![CDATA[福果踏查]]></name></metadata>
<trk><name><![CDATA[乙村踏查]]></name><desc><![CDATA[林区]]></desc><type>徒步</type>
<trkseg>
<trkpt lat="29.7" lon="106.05"><ele>350.0</ele><time>2024-03-20T07:50:00+08:00</time></trkpt>
<trkpt lat="29.701" lon="106.051"><ele>351.0</ele><time>2024-03-20T08:10:00+08:00</time></trkpt>
</trkseg></trk>
</gpx>
"""

ROUTES_ONLY = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="两步路" xmlns="http://www.topografix.com/GPX/1/1">
<rte><name>计划路线</name>
<rtept lat="29.70" lon="106.03"><name>起点</name></rtept>
<rtept lat="29.70" lon="106.04"/>
<rtept lat="29.71" lon="106.04"/>
</rte>
</gpx>
"""

WAYPOINTS_ONLY = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="六只脚" xmlns="http://www.topografix.com/GPX/1/1">
<wpt lat="29.70" lon="106.03"><name>疑似点A</name></wpt>
<wpt lat="29.71" lon="106.04"><name>疑似点B</name><cmt>房前屋后</cmt></wpt>
</gpx>
"""

NO_NAMESPACE_GBK = """<?xml version="1.0" encoding="GBK"?>
<gpx version="1.1" creator="某国产手持机">
<trk><name>丙村三组</name><trkseg>
<trkpt lat="29.70" lon="106.03"/><trkpt lat="29.70" lon="106.031"/>
</trkseg></trk>
</gpx>
"""


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_garmin_tracks_segments_waypoints_and_times(tmp_path):
    got = read_gpx(_write(tmp_path, "garmin.gpx", GARMIN))
    assert got.version == "1.1" and got.creator == "eTrex 32x"
    tracks = got.tracks
    assert tracks.crs.to_epsg() == 4490
    assert tracks["name"].tolist() == ["2024-03-12 甲村一组", "夜间"]
    first = tracks.iloc[0]
    assert isinstance(first.geometry, MultiLineString) and len(first.geometry.geoms) == 2
    assert first["n_points"] == 5
    assert first["start"] == dt.datetime(2024, 3, 12, 1, 30, tzinfo=dt.UTC)
    assert first["end"] == dt.datetime(2024, 3, 12, 2, 20, tzinfo=dt.UTC)
    assert first["date"] == dt.date(2024, 3, 12)
    # 16:30 UTC is 00:30 the next day in Asia/Shanghai: the local date is the 13th.
    assert tracks.iloc[1]["date"] == dt.date(2024, 3, 13)
    assert isinstance(tracks.iloc[1].geometry, LineString)
    # about 111 m per 0.001° of latitude
    assert tracks.iloc[1]["length_m"] == pytest.approx(1108, rel=0.01)
    wpt = got.waypoints.iloc[0]
    assert wpt["name"] == "发现点1" and wpt["description"] == "疑似罂粟 3 株"
    assert wpt.geometry.equals(Point(106.0301, 29.7001))
    assert wpt["date"] == dt.date(2024, 3, 12)


def test_gpx10_without_times(tmp_path):
    got = read_gpx(_write(tmp_path, "ozi.gpx", GPX10_NO_TIMES))
    row = got.tracks.iloc[0]
    assert row["name"] == "无时间"
    assert row["n_points"] == 3
    assert row["date"] is None
    assert got.tracks["start"].isna().all()
    assert len(got.waypoints) == 0


def test_orux_local_offsets_and_cdata(tmp_path):
    got = read_gpx(_write(tmp_path, "orux.gpx", ORUX))
    row = got.tracks.iloc[0]
    assert row["name"] == "乙村踏查" and row["description"] == "林区"
    assert row["start"] == dt.datetime(2024, 3, 19, 23, 50, tzinfo=dt.UTC)
    assert row["date"] == dt.date(2024, 3, 20)


def test_routes_only(tmp_path):
    got = read_gpx(_write(tmp_path, "route.gpx", ROUTES_ONLY))
    assert got.tracks["kind"].tolist() == ["route"]
    assert got.tracks.iloc[0]["n_points"] == 3
    assert got.tracks.iloc[0]["name"] == "计划路线"


def test_waypoints_only(tmp_path):
    got = read_gpx(_write(tmp_path, "wpt.gpx", WAYPOINTS_ONLY))
    assert len(got.tracks) == 0
    assert got.tracks.crs.to_epsg() == 4490
    assert got.waypoints["name"].tolist() == ["疑似点A", "疑似点B"]
    assert got.waypoints.iloc[1]["description"] == "房前屋后"


def test_no_namespace_and_gbk_declared(tmp_path):
    got = read_gpx(_write(tmp_path, "gbk.gpx", NO_NAMESPACE_GBK, encoding="gbk"))
    assert got.tracks.iloc[0]["name"] == "丙村三组"


def test_bytes_input():
    got = read_gpx(ORUX.encode(), source="upload.gpx")
    assert got.source == "upload.gpx" and len(got.tracks) == 1


def test_malformed_xml_names_file_and_line(tmp_path):
    broken = GARMIN.replace("</trkseg>\n  </trk>\n  <trk>", "</trkseg>\n  <trk>", 1)
    path = _write(tmp_path, "broken.gpx", broken)
    with pytest.raises(InputError, match=r"broken\.gpx.*第 \d+ 行") as info:
        read_gpx(path)
    assert "line" in str(info.value)


def test_no_points_at_all(tmp_path):
    empty = '<?xml version="1.0"?><gpx version="1.1"><trk><name>x</name><trkseg/></trk></gpx>'
    with pytest.raises(InputError, match=r"empty\.gpx.*no track points"):
        read_gpx(_write(tmp_path, "empty.gpx", empty))
    one = (
        '<gpx version="1.1"><trk><name>单点</name><trkseg><trkpt lat="29.7" lon="106.0"/>'
        "</trkseg></trk></gpx>"
    )
    with pytest.raises(InputError, match="少于两个点"):
        read_gpx(_write(tmp_path, "one.gpx", one))


def test_short_track_skipped_with_a_note(tmp_path):
    text = GARMIN.replace(
        "<trk>\n    <name>夜间</name>",
        '<trk><name>短</name><trkseg><trkpt lat="29.7" lon="106.0"/></trkseg></trk>\n'
        "  <trk>\n    <name>夜间</name>",
    )
    got = read_gpx(_write(tmp_path, "short.gpx", text))
    assert got.tracks["name"].tolist() == ["2024-03-12 甲村一组", "夜间"]
    assert any("短" in note for note in got.notes)


def test_not_gpx_and_missing(tmp_path):
    with pytest.raises(InputError, match="not a GPX"):
        read_gpx(_write(tmp_path, "a.kml", '<kml xmlns="http://www.opengis.net/kml/2.2"/>'))
    with pytest.raises(InputError, match=r"nope\.gpx"):
        read_gpx(tmp_path / "nope.gpx")


def test_bad_coordinate_and_time_name_the_element(tmp_path):
    bad = GARMIN.replace('lat="29.7010" lon="106.0300"', 'lat="29,7010" lon="106.0300"')
    with pytest.raises(InputError, match=r"trk 1, trkseg 1, trkpt 2"):
        read_gpx(_write(tmp_path, "bad.gpx", bad))
    bad_time = GARMIN.replace("2024-03-12T01:40:00Z", "12/03/2024 09:40")
    with pytest.raises(InputError, match=r"trkpt 2.*12/03/2024"):
        read_gpx(_write(tmp_path, "badtime.gpx", bad_time))
    # A waypoint is placed by a person: out of range is an error naming it.
    out = GARMIN.replace('lat="29.7001"', 'lat="129.7001"')
    with pytest.raises(InputError, match=r"wpt 1.*out of range"):
        read_gpx(_write(tmp_path, "out.gpx", out))
    late = GARMIN.replace("2024-03-12T02:00:00Z", "9999-12-31T23:59:59Z")
    with pytest.raises(InputError, match=r"wpt 1.*implausible time.*9999"):
        read_gpx(_write(tmp_path, "late.gpx", late))


def test_track_glitches_are_kept_for_hygiene_and_do_not_date_the_track(tmp_path):
    # A track point out of range, or timed in the year 9999, is a GPS glitch: the reader keeps
    # the fix (track hygiene drops and reports it); the track's times use plausible fixes only.
    out = GARMIN.replace('lat="29.7020"', 'lat="129.7020"').replace(
        "2024-03-12T01:30:00Z", "9999-12-31T23:59:59Z"
    )
    got = read_gpx(_write(tmp_path, "glitch.gpx", out))
    row = got.tracks.iloc[0]
    assert row["n_points"] == 5
    assert row["start"] == dt.datetime(2024, 3, 12, 1, 40, tzinfo=dt.UTC)
    assert row["end"] == dt.datetime(2024, 3, 12, 2, 20, tzinfo=dt.UTC)
    first, second = row["times"]
    assert len(first) == 3 and len(second) == 2
    assert first[0] > dt.datetime(9000, 1, 1, tzinfo=dt.UTC).timestamp()
    assert np.isfinite(row["length_m"])


def test_external_entity_refused_without_reading_it(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-42", encoding="utf-8")
    hostile = f"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file://{secret}">]>
<gpx version="1.1"><trk><name>&xxe;</name><trkseg>
<trkpt lat="29.7" lon="106.0"/><trkpt lat="29.71" lon="106.0"/></trkseg></trk></gpx>
"""
    with pytest.raises(InputError, match="refused") as info:
        read_gpx(_write(tmp_path, "xxe.gpx", hostile))
    assert "TOPSECRET" not in str(info.value)


def test_billion_laughs_refused(tmp_path):
    lol = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<gpx version="1.1"><wpt lat="29.7" lon="106.0"><name>&lol4;</name></wpt></gpx>
"""
    with pytest.raises(InputError, match="实体"):
        read_gpx(_write(tmp_path, "lol.gpx", lol))


def test_parse_gpx_time():
    assert parse_gpx_time("2024-03-12T01:30:00Z") == dt.datetime(2024, 3, 12, 1, 30, tzinfo=dt.UTC)
    assert parse_gpx_time("2024-03-12T01:30:00.123Z").microsecond == 123000
    assert parse_gpx_time("2024-03-12T01:30:00").tzinfo == dt.UTC
    with pytest.raises(ValueError):
        parse_gpx_time("yesterday")


SAMPLE_GPX = Path(__file__).resolve().parents[1] / "data" / "samples" / "patrols_2024-03.gpx"


@pytest.mark.skipif(not SAMPLE_GPX.exists(), reason="sample GPX not generated yet")
def test_sample_gpx():
    got = read_gpx(SAMPLE_GPX)
    assert len(got.tracks) >= 4
    assert got.tracks["start"].notna().all()
    assert all(d.year == 2024 and d.month == 3 for d in got.tracks["date"])
    assert ((got.tracks["length_m"] > 900) & (got.tracks["length_m"] < 5500)).all()
    assert len(got.waypoints) >= 1
