"""What a village user's uploads and requests may reach beyond their own village."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any

import openpyxl

from tests.cli.feedback_helpers import fill, full_snapshot
from tests.photos import jpeg_bytes
from tests.web.conftest import (
    BATCH,
    USERS,
    VILLAGE_A,
    VILLAGE_B,
    Client,
    WebEnv,
    gpx_track,
    login,
    walk_inside,
)


def _upload(client: Client, gpx: bytes) -> object:
    return client.post("/patrols/upload", files={"file": ("轨迹.gpx", gpx, "application/gpx+xml")})


def test_a_village_cannot_record_a_track_that_never_comes_near_it(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    qinglong = clients[VILLAGE_A]
    elsewhere = gpx_track(walk_inside(web_env, VILLAGE_B), dt.date(2024, 3, 21))
    before = full_snapshot(web_env.store)
    res = _upload(qinglong, elsewhere)
    assert res.status_code == 422, res.text[:300]
    assert "不经过" in res.text and USERS[VILLAGE_A][1] in res.text
    # The row names its field as the page's words do, not by the check's own name.
    row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", res.text, re.S)
    assert row is not None
    cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)]
    assert cells[1] == "轨迹", cells
    assert full_snapshot(web_env.store) == before
    # Its own ground is recorded; the other village's coverage is not touched.
    own = gpx_track(walk_inside(web_env, VILLAGE_A), dt.date(2024, 3, 22))
    ok = _upload(qinglong, own)
    assert ok.status_code == 200, ok.text[:300]
    assert "已登记 1 条踏查记录" in ok.text
    # The office may record any village's track (it chooses the village on the form).
    office = _upload(
        clients["office1"], gpx_track(walk_inside(web_env, VILLAGE_B), dt.date(2024, 3, 23))
    )
    assert office.status_code == 200, office.text[:300]


def test_a_village_sees_its_own_coverage_totals_and_no_batch_counts(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    qinglong = clients[VILLAGE_A]
    _upload(qinglong, gpx_track(walk_inside(web_env, VILLAGE_A), dt.date(2024, 3, 25)))
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


def test_a_workbook_row_of_another_village_does_not_name_its_village(
    web_env: WebEnv, clients: dict[str | None, Client], tmp_path: Path
) -> None:
    name = USERS[VILLAGE_A][1]
    src = web_env.ws / "dispatch" / BATCH / f"{name}.xlsx"
    copy = tmp_path / src.name
    mine = web_env.target_of(VILLAGE_A)
    answer = {"核查日期": "2024-03-12", "核查人员": "甲", "核查结果": "排除"}
    rows = fill(src, copy, {mine: answer})
    theirs = web_env.target_of(VILLAGE_B)
    wb = openpyxl.load_workbook(copy)
    ws = wb["核查清单"]
    header = next(r for r in range(1, 6) if ws.cell(r, 1).value == "序号")
    col = {ws.cell(header, i).value: i for i in range(1, ws.max_column + 1)}
    ws.cell(rows[mine], col["靶标编号"]).value = theirs
    wb.save(copy)
    before = full_snapshot(web_env.store)
    res = clients[VILLAGE_A].post(
        "/api/v1/feedback/workbooks",
        files={"file": (copy.name, copy.read_bytes(), "application/octet-stream")},
    )
    assert res.status_code == 422, res.text[:300]
    text = json.dumps(res.json(), ensure_ascii=False)
    assert theirs in text and "不存在" in text
    assert USERS[VILLAGE_B][1] not in text
    assert full_snapshot(web_env.store) == before


def test_a_photo_is_asked_for_again_each_time(web_env: WebEnv, app: Any) -> None:
    """Kept in the browser's cache but revalidated: after logout a shared phone shows none."""
    village = login(app, VILLAGE_A)
    target = web_env.targets[web_env.code_of(VILLAGE_A)][-1]
    detail = village.get(f"/api/v1/targets/{target}").json()
    lon, lat = detail["coordinates"]["lon"], detail["coordinates"]["lat"]
    res = village.post(
        f"/api/v1/targets/{target}/feedback",
        data={
            "submission": str(uuid.uuid4()),
            "version": str(detail["version"]),
            "result": "excluded",
            "verified_on": "2024-03-14",
            "verified_by": "孙晓燕",
            "remarks": "玉米地",
        },
        files=[("photos", ("IMG_0002.jpg", jpeg_bytes(lon=lon, lat=lat), "image/jpeg"))],
    )
    assert res.status_code == 200, res.text
    pid = village.get(f"/api/v1/targets/{target}").json()["photos"][0]["id"]
    url = f"/targets/{target}/photos/{pid}"
    img = village.get(url)
    assert img.status_code == 200
    assert img.headers["cache-control"] == "private, no-cache"
    etag = img.headers["etag"]
    again = village.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content
    village.delete("/api/v1/session")
    gone = village.get(url, headers={"If-None-Match": etag})
    assert gone.status_code in (401, 303)


def test_a_village_cannot_change_what_the_office_has_reported(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village, office = clients[VILLAGE_A], clients["office1"]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][-2]
    answer = {
        "result": "excluded",
        "verified_on": "2024-03-12",
        "verified_by": "甲",
        "remarks": "油菜",
    }
    detail = village.get(f"/api/v1/targets/{target}").json()
    first = village.post(
        f"/api/v1/targets/{target}/feedback",
        data={**answer, "submission": str(uuid.uuid4()), "version": str(detail["version"])},
    )
    assert first.status_code == 200, first.text
    assert office.post(f"/batches/{BATCH}/district-report").status_code == 200
    detail = village.get(f"/api/v1/targets/{target}").json()
    assert detail["status"] == "reported"
    correction = {
        "result": "not_found",
        "verified_on": "2024-03-13",
        "verified_by": "甲",
        "supersede": "1",
        "reason": "复核",
        "version": str(detail["version"]),
    }
    before = full_snapshot(web_env.store)
    res = village.post(
        f"/api/v1/targets/{target}/feedback",
        data={**correction, "submission": str(uuid.uuid4())},
    )
    assert res.status_code == 403, res.text
    assert "已上报区禁毒办" in res.json()["detail"]
    assert full_snapshot(web_env.store) == before
    ok = office.post(
        f"/api/v1/targets/{target}/feedback",
        data={**correction, "submission": str(uuid.uuid4())},
    )
    assert ok.status_code == 200, ok.text
