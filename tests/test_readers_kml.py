"""Tests for geoverify.readers.kml: hand-written KML/KMZ, including hostile XML."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from geoverify.errors import InputError
from geoverify.readers.kml import read_kml

FULL = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document><name>批次</name>
  <Folder><name>福果村</name>
    <Folder><name>三组</name>
      <Placemark><name>TL-001</name><description>疑似罂粟</description>
        <ExtendedData>
          <Data name="面积"><value>120.5</value></Data>
          <SchemaData schemaUrl="#s">
            <SimpleData name="影像时间">2024-02-18</SimpleData>
          </SchemaData>
        </ExtendedData>
        <Point><coordinates>
          106.0123,29.7012,310.5
        </coordinates></Point>
      </Placemark>
    </Folder>
  </Folder>
  <Placemark><name>holes</name>
    <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 10,0	10,10
0,10 0,0</coordinates></LinearRing></outerBoundaryIs>
      <innerBoundaryIs><LinearRing>
        <coordinates>1,1 2,1 2,2 1,1</coordinates>
      </LinearRing></innerBoundaryIs>
      <innerBoundaryIs><LinearRing>
        <coordinates>5,5 6,5 6,6 5,5</coordinates>
      </LinearRing></innerBoundaryIs>
    </Polygon>
  </Placemark>
  <Placemark><name>line</name>
    <LineString><coordinates>1,2 3,4 5,6</coordinates></LineString>
  </Placemark>
  <Placemark><name>polys</name><MultiGeometry>
    <Polygon><outerBoundaryIs><LinearRing>
      <coordinates>0,0 1,0 1,1 0,0</coordinates>
    </LinearRing></outerBoundaryIs></Polygon>
    <Polygon><outerBoundaryIs><LinearRing>
      <coordinates>5,5 6,5 6,6 5,5</coordinates>
    </LinearRing></outerBoundaryIs></Polygon>
  </MultiGeometry></Placemark>
  <Placemark><name>mixed</name><MultiGeometry>
    <Point><coordinates>1,1</coordinates></Point>
    <LineString><coordinates>1,1 2,2</coordinates></LineString>
  </MultiGeometry></Placemark>
  <Placemark><name>points</name><MultiGeometry>
    <Point><coordinates>1,1</coordinates></Point><Point><coordinates>2,2</coordinates></Point>
  </MultiGeometry></Placemark>
  <Placemark><name>track</name><gx:Track>
    <when>2024-03-05T08:00:00Z</when>
    <when>2024-03-05T08:01:30+08:00</when>
    <when>2024-03-05T08:03:00Z</when>
    <gx:coord>106.0 29.7 300</gx:coord>
    <gx:coord>106.001 29.701 301</gx:coord>
    <gx:coord>106.002 29.702 302</gx:coord>
  </gx:Track></Placemark>
  <Placemark><name>nogeom</name><description>only text</description></Placemark>
</Document></kml>
"""


def test_full_document() -> None:
    frame = read_kml(FULL.encode("utf-8"), source="batch.kml")
    assert frame.crs.to_epsg() == 4326
    assert frame["name"].tolist() == [
        "TL-001",
        "holes",
        "line",
        "polys",
        "mixed",
        "points",
        "track",
        "nogeom",
    ]
    assert list(frame.columns) == [
        "name",
        "description",
        "面积",
        "影像时间",
        "folder",
        "times",
        "geometry",
    ]
    first = frame.iloc[0]
    assert first["description"] == "疑似罂粟"
    assert first["面积"] == "120.5"
    assert first["影像时间"] == "2024-02-18"
    assert first["folder"] == "福果村/三组"
    assert first.geometry.equals(Point(106.0123, 29.7012))
    assert not first.geometry.has_z
    assert frame["folder"].isna().iloc[1:].all()

    holes = frame.geometry.iloc[1]
    assert isinstance(holes, Polygon)
    assert len(holes.interiors) == 2
    assert holes.area == pytest.approx(100 - 0.5 - 0.5)

    assert frame.geometry.iloc[2].equals(LineString([(1, 2), (3, 4), (5, 6)]))
    assert isinstance(frame.geometry.iloc[3], MultiPolygon)
    assert frame.geometry.iloc[4].geom_type == "GeometryCollection"
    assert frame.geometry.iloc[5].geom_type == "MultiPoint"

    track = frame.iloc[6]
    assert isinstance(track.geometry, LineString)
    assert len(track.geometry.coords) == 3
    assert track["times"] == [
        dt.datetime(2024, 3, 5, 8, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 5, 0, 1, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 5, 8, 3, tzinfo=dt.UTC),
    ]
    assert frame["times"].iloc[0] is None

    assert frame.geometry.iloc[7] is None
    assert frame["description"].iloc[7] == "only text"


def test_without_namespace_and_with_prefix(tmp_path: Path) -> None:
    plain = (
        "<kml><Placemark><name>a</name>"
        "<Point><coordinates>1,2</coordinates></Point></Placemark></kml>"
    )
    assert read_kml(plain.encode(), source="p.kml").geometry.iloc[0].equals(Point(1, 2))
    prefixed = (
        '<kml:kml xmlns:kml="http://www.opengis.net/kml/2.2"><kml:Document><kml:Placemark>'
        "<kml:name>b</kml:name><kml:Point><kml:coordinates>3,4</kml:coordinates></kml:Point>"
        "</kml:Placemark></kml:Document></kml:kml>"
    )
    path = tmp_path / "prefixed.kml"
    path.write_text(prefixed, encoding="utf-8")
    frame = read_kml(path, source="prefixed.kml")
    assert frame["name"].tolist() == ["b"]
    assert frame.geometry.iloc[0].equals(Point(3, 4))


def test_coordinates_with_odd_whitespace() -> None:
    text = (
        "<kml><Placemark><LineString><coordinates>\n\t106.1 , 29.7 ,0\n\n106.2,29.8\r\n"
        "</coordinates></LineString></Placemark></kml>"
    )
    geom = read_kml(text.encode(), source="w.kml").geometry.iloc[0]
    assert geom.equals(LineString([(106.1, 29.7), (106.2, 29.8)]))


def test_bad_coordinates_name_the_placemark() -> None:
    text = (
        "<kml><Placemark><name>ok</name><Point><coordinates>1,2</coordinates></Point></Placemark>"
        "<Placemark><Point><coordinates>106.1;29.7</coordinates></Point></Placemark></kml>"
    )
    with pytest.raises(InputError, match=r"bad\.kml.*placemark 2.*106\.1;29\.7"):
        read_kml(text.encode(), source="bad.kml")


def test_kmz_prefers_doc_kml(tmp_path: Path) -> None:
    kmz = tmp_path / "t.kmz"
    doc = "<kml><Placemark><name>{}</name></Placemark></kml>"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.writestr("a/first.kml", doc.format("first"))
        zf.writestr("doc.kml", doc.format("doc"))
    assert read_kml(kmz, source="t.kmz")["name"].tolist() == ["doc"]
    only = tmp_path / "only.kmz"
    with zipfile.ZipFile(only, "w") as zf:
        zf.writestr("images/x.png", b"\x89PNG")
        zf.writestr("z/only.kml", doc.format("only"))
    assert read_kml(only.read_bytes(), source="only.kmz")["name"].tolist() == ["only"]
    none = tmp_path / "none.kmz"
    with zipfile.ZipFile(none, "w") as zf:
        zf.writestr("images/x.png", b"\x89PNG")
    with pytest.raises(InputError, match=r"none\.kmz"):
        read_kml(none, source="none.kmz")


def test_malformed_xml_reports_line_and_column() -> None:
    text = '<?xml version="1.0"?>\n<kml>\n<Placemark><name>x</Placemark>\n</kml>'
    with pytest.raises(InputError, match=r"broken\.kml.*第 3 行") as info:
        read_kml(text.encode(), source="broken.kml")
    assert "line 3" in str(info.value)


def test_gbk_declared_document() -> None:
    text = '<?xml version="1.0" encoding="GBK"?>\n<kml><Placemark><name>福果村</name>'
    text += "</Placemark></kml>"
    frame = read_kml(text.encode("gbk"), source="gbk.kml")
    assert frame["name"].tolist() == ["福果村"]
    bad = '<?xml version="1.0" encoding="no-such-codec"?><kml/>'
    with pytest.raises(InputError, match=r"bad\.kml"):
        read_kml(bad.encode(), source="bad.kml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"gone\.kml"):
        read_kml(tmp_path / "gone.kml", source="gone.kml")


def test_external_entity_is_refused_without_reading(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT-42", encoding="utf-8")
    hostile = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file://{secret.as_posix()}">]>\n'
        "<kml><Placemark><name>&xxe;</name>"
        "<Point><coordinates>1,2</coordinates></Point></Placemark></kml>"
    )
    path = tmp_path / "xxe.kml"
    path.write_text(hostile, encoding="utf-8")
    with pytest.raises(InputError, match=r"xxe\.kml") as info:
        read_kml(path, source="xxe.kml")
    assert "TOP-SECRET-CONTENT-42" not in str(info.value)
    assert "实体" in str(info.value)


def test_billion_laughs_is_refused() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    hostile = (
        f'<?xml version="1.0"?>\n<!DOCTYPE kml [{entities}]>\n'
        "<kml><Placemark><name>&lol9;</name></Placemark></kml>"
    )
    with pytest.raises(InputError, match=r"laughs\.kml"):
        read_kml(hostile.encode(), source="laughs.kml")


def test_extended_data_colliding_with_fixed_columns() -> None:
    text = (
        "<kml><Placemark><name>n</name><ExtendedData>"
        '<Data name="name"><value>other</value></Data><Data name="id"><value>7</value></Data>'
        "</ExtendedData></Placemark>"
        "<Placemark><name>m</name><ExtendedData><Data name='extra'><value>e</value></Data>"
        "</ExtendedData></Placemark></kml>"
    )
    frame = read_kml(text.encode(), source="c.kml")
    assert frame["name"].tolist() == ["n", "m"]
    assert frame["name_data"].tolist()[0] == "other"
    assert frame["id"].tolist()[0] == "7"
    assert frame["extra"].tolist()[1] == "e"
    assert frame["extra"].isna().tolist() == [True, False]


def test_empty_document() -> None:
    frame = read_kml(b"<kml><Document/></kml>", source="e.kml")
    assert len(frame) == 0
    assert list(frame.columns) == ["name", "description", "folder", "times", "geometry"]


@settings(max_examples=60, deadline=None)
@given(
    coords=st.lists(
        st.tuples(
            st.floats(min_value=-180, max_value=180, allow_nan=False),
            st.floats(min_value=-90, max_value=90, allow_nan=False),
        ),
        min_size=2,
        max_size=20,
    ),
    seps=st.lists(st.sampled_from([" ", "\n", "\t", "\r\n", "  \n\t"]), min_size=1),
    with_alt=st.booleans(),
)
def test_coordinates_round_trip(
    coords: list[tuple[float, float]], seps: list[str], with_alt: bool
) -> None:
    tuples = [f"{x!r},{y!r}" + (",12.5" if with_alt else "") for x, y in coords]
    text = "".join(t + seps[i % len(seps)] for i, t in enumerate(tuples))
    doc = f"<kml><Placemark><LineString><coordinates>{text}</coordinates></LineString>"
    doc += "</Placemark></kml>"
    geom = read_kml(doc.encode(), source="h.kml").geometry.iloc[0]
    assert list(geom.coords) == coords
