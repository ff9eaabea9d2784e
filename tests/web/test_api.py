"""The JSON API as a script or phone would use it, on SQLite and PostGIS.

Bad input gets the same reasons as the command line and writes nothing; feedback is
idempotent by its submission UUID; a stale version is a conflict; every change records the
user and the client's address.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from geoverify.store import repo
from geoverify.workflows import sample_path
from tests.cli.feedback_helpers import fill, full_snapshot
from tests.conftest import Cli, snapshot
from tests.photos import jpeg_bytes
from tests.web.conftest import (
    BATCH,
    VILLAGE_A,
    VILLAGE_B,
    Client,
    WebEnv,
    gpx_track,
    walk_inside,
)

APRIL_CSV = sample_path("samples", "district_batch_2024-04.csv")
GPX = sample_path("samples", "patrols_2024-03.gpx")


def _problem(res: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert res.status_code == status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    doc = dict(res.json())
    assert doc["status"] == status
    assert doc["messages"]["zh"] and doc["messages"]["en"]
    if code is not None:
        assert doc["code"] == code, doc
    return doc


def _events(env: WebEnv, target_id: str) -> list[dict[str, Any]]:
    with env.store.connect() as conn:
        pk = repo.target_pk(conn, target_id)
        return list(repo.load_events(conn, target=pk).to_dict("records"))


# -- batches -----------------------------------------------------------------------------------
def test_batch_preview_writes_nothing_then_import(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    files = {"file": ("四月靶标.csv", APRIL_CSV.read_bytes(), "text/csv")}
    fields = {"batch": "2024-04", "issued": "2024-04-02", "due": "2024-04-17"}
    before = full_snapshot(web_env.store)
    res = office.post("/api/v1/batches/preview", files=files, data=fields)
    assert res.status_code == 200, res.text
    preview = res.json()
    assert full_snapshot(web_env.store) == before
    assert preview["status"] == "preview"
    assert preview["source"] == "四月靶标.csv"
    assert (
        sum(v["targets"] for v in preview["villages"]) == preview["imported"] + preview["reissued"]
    )
    res = office.post("/api/v1/batches", files=files, data=fields)
    assert res.status_code == 200, res.text
    done = res.json()
    assert done["status"] == "imported"
    for key in ("imported", "reissued", "repeat_sites", "by_village", "assignment"):
        assert done[key] == preview[key], key
    again = office.post("/api/v1/batches", files=files, data=fields).json()
    assert again["status"] == "already_imported"
    # Events name the user and the client's address, not the server's host.
    with web_env.store.connect() as conn:
        events = repo.load_events(conn, batch_id="2024-04")
    assert set(events["actor"]) == {"office1"}
    assert set(events["host"]) == {"testclient"}


def test_rejected_batch_same_reasons_as_the_cli(
    web_env: WebEnv, clients: dict[str | None, Client], tmp_path: Path
) -> None:
    bad = "靶标编号,经度,纬度\nX1,106.05,29.70\nX2,abc,29.70\nX3,106.05,95\nX1,106.06,29.71\n"
    path = tmp_path / "坏批次.csv"
    path.write_text(bad, encoding="utf-8")
    before = full_snapshot(web_env.store)
    res = clients["office1"].post(
        "/api/v1/batches",
        files={"file": ("坏批次.csv", path.read_bytes(), "text/csv")},
        data={"batch": "bad-1"},
    )
    doc = _problem(res, 422, "rejected_input")
    assert full_snapshot(web_env.store) == before
    assert "坏批次.csv" in doc["detail"]
    cli = Cli(web_env.ws, web_env.url)
    try:
        out = cli("batch", "import", str(path), "--batch", "bad-1", "--json")
    finally:
        cli.close()
    assert out.exit_code == 1
    from_cli = json.loads(out.stdout)["rejected"]
    assert [(r["row"], r["code"]) for r in doc["rows"]] == [(r["row"], r["code"]) for r in from_cli]
    assert [f"{r['reason_zh']} ({r['reason_en']})" for r in doc["rows"]] == [
        r["reason"] for r in from_cli
    ]
    assert full_snapshot(web_env.store) == before


def test_upload_of_the_wrong_kind_is_refused(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    before = snapshot(web_env.store)
    res = clients["office1"].post(
        "/api/v1/batches",
        files={"file": ("靶标.exe", b"MZ\x90\x00 not a table", "application/octet-stream")},
        data={"batch": "exe-1"},
    )
    doc = _problem(res, 422)
    assert "靶标.exe" in doc["detail"]
    assert snapshot(web_env.store) == before


def test_request_too_large_is_413(web_env: WebEnv) -> None:
    from tests.web.conftest import login

    small = login(web_env.app(max_request_bytes=50_000), "office1")
    res = small.post(
        "/api/v1/batches",
        files={"file": ("big.csv", b"x" * 80_000, "text/csv")},
        data={"batch": "big"},
    )
    _problem(res, 413, "too_large")


# -- feedback ----------------------------------------------------------------------------------
def _feedback(client: Client, target: str, **fields: Any) -> Any:
    photos = fields.pop("photos", [])
    files = [("photos", (n, d, "image/jpeg")) for n, d in photos] or None
    data = {k: str(v) for k, v in fields.items()}
    return client.post(f"/api/v1/targets/{target}/feedback", data=data, files=files)


def test_feedback_is_idempotent_by_its_uuid(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][1]
    version = village.get(f"/api/v1/targets/{target}").json()["version"]
    key = str(uuid.uuid4())
    body = {
        "submission": key,
        "version": version,
        "result": "excluded",
        "verified_on": "2024-03-12",
        "verified_by": "张三、李四",
        "remarks": "观赏植物（虞美人）",
    }
    first = _feedback(village, target, **body)
    assert first.status_code == 200, first.text
    assert first.headers["Idempotent-Replayed"] == "false"
    n_events = len(_events(web_env, target))
    again = _feedback(village, target, **body)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(_events(web_env, target)) == n_events
    # The same UUID with another body is a conflict, and nothing changes.
    before = full_snapshot(web_env.store)
    other = _feedback(village, target, **{**body, "remarks": "其他作物"})
    _problem(other, 409, "conflict")
    assert full_snapshot(web_env.store) == before
    detail = village.get(f"/api/v1/targets/{target}").json()
    assert detail["feedback"]["result"] == "excluded"
    assert detail["version"] == version + 1
    last = detail["history"][-1]
    assert last["actor"] == VILLAGE_A and last["host"] == "testclient"
    assert last["source"] == "web:feedback form"
    assert last["source_label"] == "网页：核查反馈表单"
    assert last["payload"]["submission"] == key


def test_a_stale_version_is_409_and_writes_nothing(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office, village = clients["office1"], clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][2]
    seen = village.get(f"/api/v1/targets/{target}").json()["version"]
    # The office answers first…
    ok = _feedback(
        office,
        target,
        submission=uuid.uuid4(),
        version=seen,
        result="not_found",
        verified_on="2024-03-13",
        verified_by="王五",
    )
    assert ok.status_code == 200, ok.text
    # …then the village sends its answer made on the page it loaded before.
    before = full_snapshot(web_env.store)
    late = _feedback(
        village,
        target,
        submission=uuid.uuid4(),
        version=seen,
        result="excluded",
        verified_on="2024-03-13",
        verified_by="赵六",
    )
    doc = _problem(late, 409, "conflict")
    assert "在您打开后已被修改" in doc["messages"]["zh"]
    assert full_snapshot(web_env.store) == before


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"result": "confirmed", "verified_on": "2030-01-01", "verified_by": "甲"}, "date"),
        ({"result": "excluded", "verified_on": "2024-03-12"}, "person"),
        ({"result": "excluded", "verified_on": "2024-03-12", "verified_by": "甲"}, "what"),
        ({"result": "maybe", "verified_on": "2024-03-12", "verified_by": "甲"}, "result"),
        (
            {
                "result": "confirmed",
                "verified_on": "2024-03-12",
                "verified_by": "甲",
                "plants": "-3",
            },
            "plants",
        ),
    ],
)
def test_bad_answers_get_field_reasons_and_write_nothing(
    web_env: WebEnv, clients: dict[str | None, Client], fields: dict[str, str], reason: str
) -> None:
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][3]
    before = full_snapshot(web_env.store)
    res = _feedback(village, target, submission=uuid.uuid4(), **fields)
    doc = _problem(res, 422)
    assert doc["rows"], doc
    assert all(r["reason_zh"] and r["reason_en"] for r in doc["rows"])
    assert full_snapshot(web_env.store) == before


def test_same_reasons_as_the_workbook_import(
    web_env: WebEnv, clients: dict[str | None, Client], tmp_path: Path
) -> None:
    """A future verification date: the form and a filled workbook give the same reason."""
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][3]
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    res = _feedback(
        village,
        target,
        submission=uuid.uuid4(),
        result="excluded",
        verified_on=future,
        verified_by="甲",
    )
    form_reasons = {r["reason_zh"] for r in _problem(res, 422)["rows"]}
    name = next(k for k, v in web_env.codes.items() if v == web_env.code_of(VILLAGE_A))
    src = web_env.ws / "dispatch" / BATCH / f"{name}.xlsx"
    filled = tmp_path / f"{name}.xlsx"
    fill(
        src,
        filled,
        {
            target: {
                "核查日期": dt.date.today() + dt.timedelta(days=30),
                "核查人员": "甲",
                "核查结果": "排除",
            }
        },
    )
    res = village.post(
        "/api/v1/feedback/workbooks",
        files={"file": (filled.name, filled.read_bytes(), "application/octet-stream")},
    )
    book_reasons = {r["reason_zh"] for r in _problem(res, 422, "rejected_input")["rows"]}
    assert form_reasons & book_reasons, (form_reasons, book_reasons)


def test_photos_from_the_camera_give_the_position(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][4]
    detail = village.get(f"/api/v1/targets/{target}").json()
    lon, lat = detail["coordinates"]["lon"], detail["coordinates"]["lat"]
    photo = jpeg_bytes(lon=lon + 0.0001, lat=lat, when="2024:03:14 09:30:00")
    res = _feedback(
        village,
        target,
        submission=uuid.uuid4(),
        version=detail["version"],
        result="confirmed",
        verified_on="2024-03-14",
        verified_by="孙晓燕",
        plants=40,
        area_m2=12.5,
        eradicated_on="2024-03-14",
        photos=[("IMG_0001.jpg", photo)],
    )
    assert res.status_code == 200, res.text
    doc = res.json()
    assert doc["position"]["source"] == "photo_exif"
    assert 5 < doc["position"]["distance_m"] < 15
    assert [p["status"] for p in doc["photos"]] == ["stored"]
    after = village.get(f"/api/v1/targets/{target}").json()
    assert after["photos"][0]["flags"] == [] and after["photos"][0]["flag_labels"] == []
    assert after["feedback"]["plants"] == 40
    assert after["status"] == "eradicated"
    pid = after["photos"][0]["id"]
    img = village.get(f"/api/v1/targets/{target}/photos/{pid}")
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert b"Exif" not in img.content[:200]  # the copy shown carries no GPS
    thumb = village.get(f"/api/v1/targets/{target}/photos/{pid}?thumb=true")
    assert thumb.status_code == 200


def test_a_browser_position_is_recorded(web_env: WebEnv, clients: dict[str | None, Client]) -> None:
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][0]
    detail = village.get(f"/api/v1/targets/{target}").json()
    res = _feedback(
        village,
        target,
        submission=uuid.uuid4(),
        result="not_found",
        verified_on="2024-03-15",
        verified_by="甲",
        lon=detail["coordinates"]["lon"],
        lat=detail["coordinates"]["lat"],
        accuracy=8,
    )
    assert res.status_code == 200, res.text
    assert res.json()["position"]["source"] == "browser"
    assert res.json()["position"]["distance_m"] < 1


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("假照片.jpg", b"this is a text file, not a photo"),
        ("截断.jpg", jpeg_bytes()[:200]),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_written(
    web_env: WebEnv, clients: dict[str | None, Client], name: str, data: bytes
) -> None:
    target = web_env.targets[web_env.code_of(VILLAGE_A)][3]
    evidence = web_env.ws / "evidence"
    before = full_snapshot(web_env.store)
    files_before = sorted(evidence.rglob("*")) if evidence.exists() else []
    res = _feedback(
        clients[VILLAGE_A],
        target,
        submission=uuid.uuid4(),
        result="excluded",
        verified_on="2024-03-15",
        verified_by="甲",
        photos=[(name, data)],
    )
    doc = _problem(res, 422)
    assert name in doc["detail"]
    assert full_snapshot(web_env.store) == before
    after = sorted(evidence.rglob("*")) if evidence.exists() else []
    assert after == files_before


def test_a_village_cannot_answer_for_another(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    target = web_env.target_of(VILLAGE_A)
    before = full_snapshot(web_env.store)
    res = _feedback(
        clients[VILLAGE_B],
        target,
        submission=uuid.uuid4(),
        result="excluded",
        verified_on="2024-03-15",
        verified_by="甲",
    )
    _problem(res, 404, "not_found")
    assert full_snapshot(web_env.store) == before


def test_a_village_cannot_upload_another_villages_workbook(
    web_env: WebEnv, clients: dict[str | None, Client], tmp_path: Path
) -> None:
    name = next(k for k, v in web_env.codes.items() if v == web_env.code_of(VILLAGE_A))
    src = web_env.ws / "dispatch" / BATCH / f"{name}.xlsx"
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    before = full_snapshot(web_env.store)
    res = clients[VILLAGE_B].post(
        "/api/v1/feedback/workbooks",
        files={"file": (copy.name, copy.read_bytes(), "application/octet-stream")},
    )
    _problem(res, 422)
    assert full_snapshot(web_env.store) == before


# -- patrols -----------------------------------------------------------------------------------
def test_a_village_uploads_its_track_as_its_own(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    # A walk that starts in the village and crosses into the next one is the village's own.
    inside = walk_inside(web_env, VILLAGE_A)
    across = inside + [(inside[-1][0] + 0.002 * i, inside[-1][1]) for i in range(1, 40)]
    res = clients[VILLAGE_A].post(
        "/api/v1/patrols",
        files={"file": ("轨迹.gpx", gpx_track(across, dt.date(2024, 3, 9)), "application/gpx+xml")},
        data={"people": "孙晓燕"},
    )
    assert res.status_code == 200, res.text
    doc = res.json()
    name = next(k for k, v in web_env.codes.items() if v == web_env.code_of(VILLAGE_A))
    assert set(doc["by_village"]) == {name}


def test_a_village_cannot_enter_rows_for_another(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    before = full_snapshot(web_env.store)
    res = clients[VILLAGE_B].post(
        "/api/v1/patrols/rows",
        json={"village": web_env.code_of(VILLAGE_A), "rows": [{"date": "2024-03-20"}]},
    )
    _problem(res, 404)
    assert full_snapshot(web_env.store) == before
    ok = clients[VILLAGE_B].post(
        "/api/v1/patrols/rows",
        json={
            "rows": [
                {
                    "date": "2024-03-20",
                    "group": "一组",
                    "people": "甲、乙",
                    "findings": "未发现异常",
                }
            ]
        },
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["imported"] == 1


def test_openapi_document_is_published(clients: dict[str | None, Client]) -> None:
    doc = clients[None].get("/api/v1/openapi.json").json()
    assert doc["info"]["title"] == "geoverify"
    paths = doc["paths"]
    assert "/api/v1/targets/{target_id}/feedback" in paths
    body = paths["/api/v1/targets/{target_id}/feedback"]["post"]["requestBody"]
    assert "submission" in body["content"]["multipart/form-data"]["schema"]["properties"]
    assert not any(p.startswith("/feedback") for p in paths)  # pages are not in the API


def test_a_photo_with_too_many_pixels_is_refused_before_it_is_decoded(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    import io

    from PIL import Image

    from geoverify.evidence import MAX_PHOTO_PIXELS

    side = int(MAX_PHOTO_PIXELS**0.5) + 100
    buf = io.BytesIO()
    Image.new("1", (side, side), 1).save(buf, format="PNG")  # small file, huge picture
    assert len(buf.getvalue()) < 2_000_000
    target = web_env.targets[web_env.code_of(VILLAGE_A)][3]
    before = full_snapshot(web_env.store)
    res = clients[VILLAGE_A].post(
        f"/api/v1/targets/{target}/feedback",
        data={"submission": str(uuid.uuid4())},
        files=[("photos", ("巨幅.png", buf.getvalue(), "image/png"))],
    )
    doc = _problem(res, 422)
    assert "像素过多" in doc["detail"]
    assert full_snapshot(web_env.store) == before


def test_too_many_photos_at_once(web_env: WebEnv, clients: dict[str | None, Client]) -> None:
    target = web_env.targets[web_env.code_of(VILLAGE_A)][3]
    photos = [("photos", (f"{i}.jpg", jpeg_bytes(colour="blue"), "image/jpeg")) for i in range(11)]
    res = clients[VILLAGE_A].post(
        f"/api/v1/targets/{target}/feedback",
        data={"submission": str(uuid.uuid4())},
        files=photos,
    )
    doc = _problem(res, 422)
    assert "最多" in doc["detail"]


def test_photo_warnings_are_told_in_chinese(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village = clients[VILLAGE_A]
    # A target of the village nobody has answered yet in this module.
    detail, target = next(
        (d, t)
        for t in web_env.targets[web_env.code_of(VILLAGE_A)]
        if (d := village.get(f"/api/v1/targets/{t}").json())["feedback"]["result"] is None
    )
    res = _feedback(
        village,
        target,
        submission=uuid.uuid4(),
        version=detail["version"],
        result="not_found",
        verified_on="2024-03-14",
        verified_by="孙晓燕",
        photos=[("IMG_0002.jpg", jpeg_bytes(when="2024:03:14 09:30:00"))],
    )
    assert res.status_code == 200, res.text
    photo = village.get(f"/api/v1/targets/{target}").json()["photos"][0]
    assert photo["flags"] == ["no_gps"]
    assert photo["flag_labels"] == ["照片没有 GPS 位置"]
    page = village.get(f"/targets/{target}").text
    assert "照片没有 GPS 位置" in page and "no GPS position" not in page
