"""What a village user's uploads and requests may reach beyond their own village."""

from __future__ import annotations

import datetime as dt

import shapely

from geoverify.store import repo
from tests.cli.feedback_helpers import full_snapshot
from tests.web.conftest import USERS, VILLAGE_A, VILLAGE_B, Client, WebEnv


def _gpx(points: list[tuple[float, float]], day: dt.date) -> bytes:
    """A GPX of one track through ``points`` (lon, lat), a fix a minute on ``day``."""
    start = dt.datetime.combine(day, dt.time(1, 0))
    fixes = "".join(
        f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}">'
        f"<time>{(start + dt.timedelta(minutes=i)).isoformat()}Z</time></trkpt>"
        for i, (lon, lat) in enumerate(points)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>巡查</name><trkseg>{fixes}</trkseg></trk></gpx>"
    ).encode()


def _walk_inside(web_env: WebEnv, user: str, steps: int = 12) -> list[tuple[float, float]]:
    """A short walk (about 100 m) well inside the user's village."""
    with web_env.store.connect() as conn:
        villages = repo.load_villages(conn)
    area = villages.loc[villages["code"] == web_env.code_of(user)].geometry.iloc[0]
    centre = shapely.Point(area.representative_point())
    return [(centre.x + 0.0001 * i, centre.y) for i in range(steps)]


def _upload(client: Client, gpx: bytes) -> object:
    return client.post("/patrols/upload", files={"file": ("轨迹.gpx", gpx, "application/gpx+xml")})


def test_a_village_cannot_record_a_track_that_never_comes_near_it(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    qinglong = clients[VILLAGE_A]
    elsewhere = _gpx(_walk_inside(web_env, VILLAGE_B), dt.date(2024, 3, 21))
    before = full_snapshot(web_env.store)
    res = _upload(qinglong, elsewhere)
    assert res.status_code == 422, res.text[:300]
    assert "不经过" in res.text and USERS[VILLAGE_A][1] in res.text
    assert full_snapshot(web_env.store) == before
    # Its own ground is recorded; the other village's coverage is not touched.
    own = _gpx(_walk_inside(web_env, VILLAGE_A), dt.date(2024, 3, 22))
    ok = _upload(qinglong, own)
    assert ok.status_code == 200, ok.text[:300]
    assert "已登记 1 条踏查记录" in ok.text
    # The office may record any village's track (it chooses the village on the form).
    office = _upload(
        clients["office1"], _gpx(_walk_inside(web_env, VILLAGE_B), dt.date(2024, 3, 23))
    )
    assert office.status_code == 200, office.text[:300]


def test_a_village_sees_its_own_coverage_totals_and_no_batch_counts(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    qinglong = clients[VILLAGE_A]
    _upload(qinglong, _gpx(_walk_inside(web_env, VILLAGE_A), dt.date(2024, 3, 25)))
    town = clients["office1"].get("/api/v1/coverage?month=2024-03").json()
    own = qinglong.get("/api/v1/coverage?month=2024-03").json()
    assert [v["code"] for v in own["villages"]] == [web_env.code_of(VILLAGE_A)]
    row = own["villages"][0]
    assert own["totals"]["villages"] == 1
    assert own["totals"]["patrols"] == row["patrols"]
    assert own["totals"]["covered_pct"] == row["covered_pct"]
    assert own["totals"]["unsurveyed_areas"] == row["unsurveyed_count"]
    assert town["totals"]["villages"] > 1
    # A batch's counts are the town's: refused, as the batches page is.
    assert qinglong.get("/api/v1/batches").status_code == 403
    assert clients["district"].get("/api/v1/batches").status_code == 200
