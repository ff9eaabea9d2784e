"""Track hygiene (轨迹清洗): which GPS fixes are glitches, and what is left of the line."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString

from geoverify.tracks import (
    DROP_REASONS,
    TrackRules,
    clean_points,
    clean_track,
    epoch_seconds,
    plausible_time,
)

T0 = epoch_seconds(dt.datetime(2024, 3, 12, 1, 30, tzinfo=dt.UTC))
NOW = dt.datetime(2024, 3, 31, tzinfo=dt.UTC)
_GEOD = Geod(ellps="GRS80")


def walk(n: int = 120, *, step_s: float = 5.0) -> tuple[NDArray, NDArray, NDArray]:
    """A walk at ~5 km/h (7 m every 5 s) winding east through the sample town."""
    i = np.arange(n, dtype=float)
    lon = 106.03 + i * 0.00007
    lat = 29.70 + 0.0004 * np.sin(i / 15.0)
    return lon, lat, T0 + i * step_s


def kept_indices(pieces: list[NDArray[np.intp]]) -> list[int]:
    return [int(i) for p in pieces for i in p]


def test_a_clean_walk_is_untouched() -> None:
    lon, lat, t = walk()
    pieces, report = clean_points(lon, lat, t, now=NOW)
    assert kept_indices(pieces) == list(range(len(lon)))
    assert report.to_json() == {
        "points": 120,
        "kept": 120,
        "dropped": 0,
        "dropped_by_reason": {},
        "breaks": 0,
    }
    assert not report.changed


def test_each_kind_of_glitch_is_dropped_with_its_reason() -> None:
    lon, lat, t = walk()
    glitches = {
        0: ("jump", 106.08, 29.70),  # a cold start 4-5 km away
        20: ("zero_fix", 0.0, 0.0),
        40: ("outside_region", -91.0, 29.70),  # longitude −91
        50: ("invalid_fix", 106.04, 95.0),  # latitude 95
        60: ("jump", 106.07, 29.70),  # a spike of a few km, and back
        80: ("jump", 106.03, 29.74),  # a burst of two fixes 4 km north
        81: ("jump", 106.031, 29.741),
    }
    for i, (_, x, y) in glitches.items():
        lon[i], lat[i] = x, y
    t[100] = epoch_seconds(dt.datetime(9999, 12, 31, tzinfo=dt.UTC))
    # Without times only distance says what a jump is.
    pieces, report = clean_points(lon, lat, None, now=NOW)
    assert set(kept_indices(pieces)) == set(range(120)) - set(glitches)
    assert report.dropped == {"zero_fix": 1, "outside_region": 1, "invalid_fix": 1, "jump": 4}
    # With times, the same jumps are impossibly fast, and the year 9999 is implausible.
    pieces, report = clean_points(lon, lat, t, now=NOW)
    assert set(kept_indices(pieces)) == set(range(120)) - set(glitches) - {100}
    assert report.dropped == {
        "zero_fix": 1,
        "outside_region": 1,
        "invalid_fix": 1,
        "implausible_time": 1,
        "too_fast": 4,
    }
    assert report.kept == 112 and report.n_dropped == 8 and report.breaks == 0
    assert set(report.dropped) <= set(DROP_REASONS)
    assert "dropped 8 of 120 points" in report.describe()


def test_the_speed_limit_is_configurable() -> None:
    # A walk, then 40 m every 5 s (29 km/h): a motorbike, not a walk.
    lon, lat, t = walk()
    fast = np.concatenate([lon[:60], lon[59] + np.cumsum(np.full(60, 0.0004))])
    _, report = clean_points(fast, lat, t, now=NOW)
    assert not report.changed  # the default (80 km/h) allows a motorbike
    pieces, report = clean_points(fast, lat, t, rules=TrackRules(max_speed_kmh=15), now=NOW)
    assert kept_indices(pieces) == list(range(60))  # a walking patrol: the ride is not walked
    assert report.dropped == {"too_fast": 60}
    # When every step is too fast nothing says which fixes are the track: nothing is dropped.
    ride = np.concatenate([[lon[0]], lon[0] + np.cumsum(np.full(119, 0.0004))])
    _, report = clean_points(ride, lat, t, rules=TrackRules(max_speed_kmh=15), now=NOW)
    assert not report.changed
    # One fast fix in a walk is a glitch under a walking limit only.
    lon, lat, t = walk()
    lon[70] += 0.0006  # ~60 m off and back within 5 s: 43 km/h
    assert not clean_points(lon, lat, t, now=NOW)[1].changed
    _, report = clean_points(lon, lat, t, rules=TrackRules(max_speed_kmh=15), now=NOW)
    assert report.dropped == {"too_fast": 1}


def test_a_teleport_between_two_long_runs_cuts_the_line() -> None:
    # Half the track 10 km further east within 5 s: which half is right cannot be said, so
    # both are kept, but the impossible step between them is not drawn.
    lon, lat, t = walk()
    lon[60:] += 0.1
    pieces, report = clean_points(lon, lat, t, now=NOW)
    assert [len(p) for p in pieces] == [60, 60]
    assert report.breaks == 1 and report.n_dropped == 0
    geom, _, _ = clean_track(LineString(zip(lon, lat, strict=True)), [t], now=NOW)
    assert isinstance(geom, MultiLineString) and len(geom.geoms) == 2
    # Without times, a long step may be a gap in recording: the line stays whole.
    pieces, report = clean_points(lon, lat, None, now=NOW)
    assert [len(p) for p in pieces] == [120] and not report.changed


def test_a_sparse_hand_drawn_line_keeps_its_vertices() -> None:
    # Vertices 2 km apart, no times (a line drawn in a map app): nothing to decide.
    lon = [106.00, 106.02, 106.04, 106.06, 106.08]
    lat = [29.70, 29.71, 29.70, 29.71, 29.70]
    pieces, report = clean_points(lon, lat, None, now=NOW)
    assert kept_indices(pieces) == [0, 1, 2, 3, 4] and not report.changed


def test_clean_track_keeps_parts_and_times() -> None:
    lon, lat, t = walk(40)
    a = LineString(zip(lon[:20], lat[:20], strict=True))
    b_lon, b_lat = lon[20:].copy(), lat[20:].copy()
    b_lon[5] = b_lat[5] = 0.0
    b = LineString(zip(b_lon, b_lat, strict=True))
    geom, report, kept = clean_track(MultiLineString([a, b]), [t[:20], t[20:]], now=NOW)
    assert isinstance(geom, MultiLineString)
    assert [len(g.coords) for g in geom.geoms] == [20, 19]
    assert report.dropped == {"zero_fix": 1} and len(kept) == 39
    assert t[25] not in kept
    # Times that do not match a part's vertices are ignored for that part.
    geom2, report2, _ = clean_track(MultiLineString([a, b]), [t[:3], None], now=NOW)
    assert report2.dropped == {"zero_fix": 1}
    assert geom2 is not None
    # Nothing left: None.
    only = LineString([(0, 0), (0, 0)])
    assert clean_track(only)[0] is None and clean_track(None)[0] is None


def test_plausible_time() -> None:
    assert plausible_time(dt.datetime(2024, 3, 12, tzinfo=dt.UTC), now=NOW)
    assert not plausible_time(dt.datetime(1999, 12, 31, tzinfo=dt.UTC), now=NOW)
    assert not plausible_time(dt.datetime(2024, 4, 2, tzinfo=dt.UTC), now=NOW)
    with pytest.raises(ValueError, match="max_speed_kmh"):
        TrackRules(max_speed_kmh=0)


@st.composite
def walks(draw: st.DrawFn) -> tuple[NDArray, NDArray, NDArray]:
    """A walk of 10–150 fixes, 1–30 s apart, at most 6 km/h, starting anywhere in the town."""
    n = draw(st.integers(10, 150))
    dts = np.array(draw(st.lists(st.floats(1, 30), min_size=n - 1, max_size=n - 1)))
    speeds = np.array(draw(st.lists(st.floats(0, 6 / 3.6), min_size=n - 1, max_size=n - 1)))
    headings = np.array(draw(st.lists(st.floats(0, 360), min_size=n - 1, max_size=n - 1)))
    lon = [draw(st.floats(105.98, 106.08))]
    lat = [draw(st.floats(29.66, 29.74))]
    for d, v, h in zip(dts, speeds, headings, strict=True):
        x, y, _ = _GEOD.fwd(lon[-1], lat[-1], h, v * d)
        lon.append(x)
        lat.append(y)
    return np.array(lon), np.array(lat), T0 + np.concatenate([[0.0], np.cumsum(dts)])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(walks(), st.data())
def test_a_plausible_walk_is_never_changed_and_a_spike_always_goes(
    w: tuple[NDArray, NDArray, NDArray], data: st.DataObject
) -> None:
    lon, lat, t = w
    pieces, report = clean_points(lon, lat, t, now=NOW)
    assert kept_indices(pieces) == list(range(len(lon))) and not report.changed
    # One fix thrown 2–20 km away (with or without times) is dropped, and nothing else.
    i = data.draw(st.integers(0, len(lon) - 1))
    dist = data.draw(st.floats(2000, 20000))
    heading = data.draw(st.floats(0, 360))
    spiked_lon, spiked_lat = lon.copy(), lat.copy()
    spiked_lon[i], spiked_lat[i], _ = _GEOD.fwd(lon[i], lat[i], heading, dist)
    for times in (t, None):
        pieces, report = clean_points(spiked_lon, spiked_lat, times, now=NOW)
        assert kept_indices(pieces) == [j for j in range(len(lon)) if j != i]
        assert report.n_dropped == 1 and report.breaks == 0
