"""Track hygiene on import (issue 11, item 3): a glitched GPS track counts like the clean one.

The sample's first track is glitched the ways real receivers glitch — a cold-start fix 5 km off,
a (0, 0) fix, a spike of 3 km, a fix at longitude −91, one at latitude 95, a burst of two fixes
4 km away and a time in the year 9999 — and imported. The glitches are dropped and reported
per track; the stored line, the village attribution and the coverage are those of the clean
track (coverage within 1 %).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from geoverify.store import Store
from geoverify.store import tables_patrols as tp
from geoverify.workflows import init_workspace, sample_path
from geoverify.workflows.coverage import coverage_for_period
from geoverify.workflows.patrols import import_patrols
from tests.conftest import Cli, snapshot

GPX = sample_path("samples", "patrols_2024-03.gpx")
_TRKPT = re.compile(r'<trkpt lat="([^"]+)" lon="([^"]+)">.*?<time>([^<]+)</time></trkpt>')
MARCH = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
SEC = dt.timedelta(seconds=1)


def _first_track() -> tuple[str, list[tuple[float, float, dt.datetime]]]:
    text = Path(GPX).read_text(encoding="utf-8")
    trk = text[text.index("<trk>") : text.index("</trk>")]
    name = re.search(r"<name>([^<]+)</name>", trk)
    assert name is not None
    seg = trk[trk.index("<trkseg>") : trk.index("</trkseg>")]
    pts = [
        (float(lon), float(lat), dt.datetime.fromisoformat(when.replace("Z", "+00:00")))
        for lat, lon, when in _TRKPT.findall(seg)
    ]
    return name.group(1), pts


def _write_gpx(path: Path, name: str, pts: list[tuple[float, float, str]]) -> Path:
    body = "".join(f'<trkpt lat="{y}" lon="{x}"><time>{w}</time></trkpt>' for x, y, w in pts)
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>{name}</name><trkseg>{body}</trkseg></trk></gpx>",
        encoding="utf-8",
    )
    return path


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def tracks(tmp_path: Path) -> tuple[Path, Path]:
    """The clean first sample track and the same track with seven kinds of glitch (8 fixes)."""
    name, pts = _first_track()
    assert len(pts) > 100
    clean = [(x, y, _iso(w)) for x, y, w in pts]
    glitched = list(clean)

    def at(i: int, x: float, y: float) -> tuple[float, float, str]:
        return (x, y, _iso(pts[i][2] + SEC))  # one second after fix i

    x0, y0, _ = clean[0]
    inserts = {
        90: [at(90, x0, y0 + 0.036), at(90, x0 + 0.001, y0 + 0.037)],  # burst 4 km north
        70: [at(70, 106.04, 95.0)],  # latitude 95
        55: [at(55, -91.0, pts[55][1])],  # longitude −91
        30: [at(30, pts[30][0] + 0.031, pts[30][1])],  # spike 3 km east
        10: [at(10, 0.0, 0.0)],  # (0, 0)
    }
    for i in sorted(inserts, reverse=True):
        glitched[i + 1 : i + 1] = inserts[i]
    # A cold start 5 km off, ten seconds before the first fix, and a time in the year 9999.
    glitched.insert(0, (x0 + 0.052, y0, _iso(pts[0][2] - 10 * SEC)))
    x, y, _ = glitched[-5]
    glitched[-5] = (x, y, "9999-12-31T23:59:59Z")
    return (
        _write_gpx(tmp_path / "clean.gpx", name, clean),
        _write_gpx(tmp_path / "glitched.gpx", name, glitched),
    )


def _villages_walked(store: Store) -> dict[str, float]:
    with store.connect() as conn:
        rows = conn.execute(
            select(tp.patrol_villages.c.village_code, tp.patrol_villages.c.length_m)
        ).all()
    return {str(code): float(m) for code, m in rows}


def test_glitched_track_is_cleaned_reported_and_covers_like_the_clean_one(
    run: Cli, tracks: tuple[Path, Path], tmp_path: Path
) -> None:
    clean, glitched = tracks
    assert run("init").exit_code == 0
    res = run("patrols", "import", str(glitched), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["imported"] == 1 and doc["tracked"] == 1
    assert doc["points_dropped"] == 8
    (entry,) = doc["track_hygiene"]
    assert entry["file"] == "glitched.gpx" and entry["number"] == 1
    assert entry["dropped_by_reason"] == {
        "zero_fix": 1,
        "outside_region": 1,
        "invalid_fix": 1,
        "implausible_time": 1,
        "too_fast": 4,
    }
    assert entry["breaks"] == 0
    assert "dropped 8 of" in entry["reason"]

    # The reference: the clean track in a workspace of its own.
    ref = Store(tmp_path / "ref")
    init_workspace(ref.workspace, actor="pytest")
    try:
        assert import_patrols(ref, clean).track_hygiene == []
        # The same villages, with the same lengths within 1 % (one real fix had a bad time).
        got, want = _villages_walked(run.store()), _villages_walked(ref)
        assert set(got) == set(want)
        for code, m in want.items():
            assert got[code] == pytest.approx(m, rel=0.01)
        # Coverage within 1 % of the clean track, village by village and for the town.
        a = coverage_for_period(run.store(), start=MARCH[0], end=MARCH[1])
        b = coverage_for_period(ref, start=MARCH[0], end=MARCH[1])
    finally:
        ref.dispose()
    covered_a = dict(zip(a.villages["code"], a.villages["covered_m2"], strict=True))
    covered_b = dict(zip(b.villages["code"], b.villages["covered_m2"], strict=True))
    assert set(covered_a) == set(covered_b)
    for code, m in covered_b.items():
        assert abs(covered_a[code] - m) <= 0.01 * max(m, 1.0), code
    assert b.totals["covered_m2"] > 0
    assert a.totals["covered_m2"] == pytest.approx(b.totals["covered_m2"], rel=0.01)

    # The stored line has only the clean fixes, and its patrol date is the real one.
    with run.store().connect() as conn:
        (geom, date) = conn.execute(select(tp.patrols.c.geometry, tp.patrols.c.date)).one()
    minx, miny, maxx, maxy = geom.bounds
    assert minx > 105.9 and maxx < 106.2
    assert miny > 29.5 and maxy < 29.9
    assert date == dt.date(2024, 3, 12)


def test_text_output_and_a_table_with_tracks_report_hygiene(
    run: Cli, tracks: tuple[Path, Path], tmp_path: Path
) -> None:
    _, glitched = tracks
    assert run("init").exit_code == 0
    name, _ = _first_track()
    table = tmp_path / "踏查表.csv"
    table.write_text(
        "村、社区,组,踏查时间,踏查人员,踏查情况,备注,轨迹\n"
        f"龙泉村,一组,2024-03-12,张三,未发现,,{name}\n",
        encoding="utf-8",
    )
    res = run("patrols", "import", str(table), "--tracks", str(glitched))
    assert res.exit_code == 0, res.output
    assert "轨迹清洗 (track hygiene) glitched.gpx 第 1 条" in res.output
    assert "dropped 8 of" in res.output


def test_max_speed_option_and_a_track_with_no_fix_left(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    # 60 m every 5 s in 龙泉村: 43 km/h — a motorbike; a walking limit drops the middle fix.
    start = dt.datetime(2024, 3, 12, 2, 0, tzinfo=dt.UTC)
    pts = [
        (106.0322 + 0.0001 * i + (0.0006 if i == 10 else 0.0), 29.6726, start + i * 5 * SEC)
        for i in range(20)
    ]
    path = _write_gpx(tmp_path / "ride.gpx", "R", [(x, y, _iso(w)) for x, y, w in pts])
    res = run("patrols", "import", str(path), "--max-speed", "15", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["track_hygiene"][0]["dropped_by_reason"] == {"too_fast": 1}
    # Every fix a glitch: the track is refused with its reason, nothing is written.
    zero = _write_gpx(
        tmp_path / "zero.gpx", "Z", [(0.0, 0.0, _iso(start + i * SEC)) for i in range(5)]
    )
    before = snapshot(run.store())
    res = run("patrols", "import", str(zero), "--date", "2024-03-12", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.output.split("\n错误")[0])
    assert doc["rejected"][0]["code"] == "track_no_valid_fixes"
    assert "(0, 0)" in doc["rejected"][0]["reason"]
    assert snapshot(run.store()) == before
    res = run("patrols", "import", str(path), "--max-speed", "0")
    assert res.exit_code == 2
