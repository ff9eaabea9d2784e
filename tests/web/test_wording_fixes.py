"""Two wording defects found walking through the pages, on SQLite and PostGIS.

1. A body over the service's limit was answered "…或压缩照片后再试" whatever was sent: a
   batch file, a track, a workbook. The advice now fits what the address takes (photos keep
   the photo advice), names the limit the service applies, and the API says the same.
2. A refused field said its label twice: "文件：文件 五月.csv 是空的", "批次编号：请填写批次编号",
   "再次输入的新密码：两次输入的密码不一致". Each reason now names the field once.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from geoverify.web.settings import MB
from tests.cli.feedback_helpers import full_snapshot
from tests.web.conftest import VILLAGE_A, Client, WebEnv, form_errors, hidden_fields, login


def _main(res: Any, status: int) -> str:
    """The main part of a Chinese page answered with ``status`` (technical details folded out)."""
    assert res.status_code == status, res.text[:500]
    assert res.headers["content-type"].startswith("text/html"), res.headers
    main = str(res.text).split("<main>")[1]
    return re.sub(r"<details[^>]*><summary>技术信息</summary>.*?</details>", "", main, flags=re.S)


def _zh(res: Any, status: int, code: str) -> str:
    """The Chinese message of the API's problem document."""
    assert res.status_code == status, res.text[:500]
    assert res.headers["content-type"].startswith("application/problem+json")
    doc = res.json()
    assert doc["type"] == f"urn:geoverify:problem:{code}"
    return str(doc["messages"]["zh"])


# -- 1. a body over the limit: advice that fits what was sent ------------------------------------
BIG = b"x" * (2 * MB)


@pytest.mark.parametrize(
    ("user", "url", "data", "files", "said"),
    [
        (
            "office1",
            "/batches/preview",
            {"batch": "too-big"},
            {"file": ("五月.csv", BIG, "text/csv")},
            "靶标文件过大（上限 1 MB）：请确认选对了文件",
        ),
        (
            "office1",
            "/patrols/upload",
            {},
            {"file": ("三月轨迹.gpx", BIG, "application/gpx+xml")},
            "轨迹或踏查表文件过大（上限 1 MB）：请按日期或按村把文件拆成几份，分几次上传",
        ),
        (
            VILLAGE_A,
            "/feedback-workbook",
            {},
            {"file": ("青龙村.xlsx", BIG, "application/zip")},
            "反馈表文件过大（上限 1 MB）：请删去表里插入的图片",
        ),
    ],
)
def test_a_file_over_the_limit_is_not_told_to_compress_photos(
    web_env: WebEnv,
    user: str,
    url: str,
    data: dict[str, str],
    files: dict[str, Any],
    said: str,
) -> None:
    client = login(web_env.app(max_request_bytes=1 * MB), user)
    before = full_snapshot(web_env.store)
    shown = _main(client.post(url, data=data, files=files), 413)
    assert said in shown
    assert "照片后再试" not in shown and "上传内容过大" not in shown
    assert full_snapshot(web_env.store) == before


def test_the_api_says_the_same_advice_as_the_pages(web_env: WebEnv) -> None:
    small = web_env.app(max_request_bytes=1 * MB)
    office, village = login(small, "office1"), login(small, VILLAGE_A)
    before = full_snapshot(web_env.store)
    big = {"file": ("五月.csv", BIG, "text/csv")}
    zh = _zh(office.post("/api/v1/batches", data={"batch": "too-big"}, files=big), 413, "too_large")
    assert zh.startswith("靶标文件过大（上限 1 MB）") and "照片" not in zh
    zh = _zh(office.post("/api/v1/patrols", files=big), 413, "too_large")
    assert zh.startswith("轨迹或踏查表文件过大（上限 1 MB）") and "照片" not in zh
    zh = _zh(village.post("/api/v1/feedback/workbooks", files=big), 413, "too_large")
    assert zh.startswith("反馈表文件过大（上限 1 MB）") and "压缩照片" not in zh
    # An answer with photos keeps the photo advice.
    target = web_env.target_of(VILLAGE_A)
    photos = {"photos": ("现场.jpg", BIG, "image/jpeg")}
    zh = _zh(
        village.post(
            f"/api/v1/targets/{target}/feedback",
            data={"submission": str(uuid.uuid4()), "result": "excluded"},
            files=photos,
        ),
        413,
        "too_large",
    )
    assert zh == "上传内容过大（上限 1 MB）：请分几次上传，或压缩照片后再试"
    assert full_snapshot(web_env.store) == before


def test_a_track_arriving_past_the_limit_gets_the_same_advice(web_env: WebEnv) -> None:
    """No Content-Length (a chunked upload): refused inside the app, in the same words."""
    office = login(web_env.app(max_request_bytes=1 * MB), "office1")
    assert office.csrf is not None
    boundary = "----wording" + uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{office.csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            'name="file"; filename="三月轨迹.gpx"\r\nContent-Type: application/gpx+xml\r\n\r\n'
        ).encode()
        + BIG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    chunks = (body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
    res = office.http.post(
        "/patrols/upload",
        content=chunks,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in res.request.headers
    shown = _main(res, 413)
    assert "轨迹或踏查表文件过大（上限 1 MB）" in shown and "照片" not in shown


def test_the_limit_named_is_never_above_the_limit_applied(web_env: WebEnv) -> None:
    """A limit of 1.58 MB was named "1.6 MB": a 1.59 MB upload, under the limit named, was
    refused. The limit named is now the one applied, rounded down."""
    limit = int(1.58 * MB)
    anyone = login(web_env.app(max_request_bytes=limit), None)
    shown = _main(anyone.post("/logout", content=b"x" * (limit + 1)), 413)
    named = re.search(r"上限 ([\d.]+) MB", shown)
    assert named is not None, shown
    assert "提交的内容过大" in shown and "照片" not in shown  # no upload here: plain words
    under_named = int(float(named.group(1)) * MB) - 1024
    res = anyone.post("/logout", content=b"x" * under_named)
    assert res.status_code != 413, named.group(0)


# -- 2. a field's reason names the field once ---------------------------------------------------
def test_an_empty_batch_file_names_the_field_once(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    res = office.post(
        "/batches/preview",
        data={"batch": "empty-2", "issued": "2024-05-01"},
        files={"file": ("五月.csv", b"", "text/csv")},
    )
    said = form_errors(_main(res, 422))
    assert "文件：五月.csv 是空的（0 字节），请检查后重新选择" in said
    assert "文件：文件" not in said

    res = office.post("/batches/preview", files={"file": ("五月.csv", b"id\n1\n", "text/csv")})
    said = form_errors(_main(res, 422))
    assert "请填写批次编号" in said and "批次编号：请填写" not in said


def test_an_empty_track_file_names_the_field_once_in_the_table(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    """The patrols page lists the refused fields in a table (字段, 值, 原因): the reason cell
    does not say the field again."""
    office = clients["office1"]
    res = office.post("/patrols/upload", files={"file": ("三月轨迹.gpx", b"", "text/xml")})
    shown = _main(res, 422)
    assert "文件：文件" not in shown
    assert (
        "<td>文件</td><td>三月轨迹.gpx</td><td>三月轨迹.gpx 是空的（0 字节），请检查后重新选择</td>"
        in shown
    )
    # The error page of a workbook: the same.
    village = clients[VILLAGE_A]
    res = village.post("/feedback-workbook", files={"file": ("青龙村.xlsx", b"", "text/xml")})
    shown = _main(res, 422)
    assert "文件：文件" not in shown
    assert "<td>青龙村.xlsx</td><td>青龙村.xlsx 是空的（0 字节）" in shown


def test_the_new_password_typed_twice_differently_is_said_once(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    typed = {"current_password": "office-pw-2024", "new_password": "office-new-2024"}
    res = office.post("/account/password", data={**typed, "new_password2": "office-new-2025"})
    said = form_errors(_main(res, 422))
    assert "两次输入的新密码不一致，请重新输入" in said
    assert "再次输入的新密码：" not in said

    # The office's form for a user's password: the same, in its own words.
    res = office.post(
        "/users",
        data={"name": "twice", "role": "viewer", "password": "new-pw-2024", "password2": "x-2025"},
    )
    said = form_errors(_main(res, 422))
    assert "两次输入的密码不一致，请重新输入" in said
    assert "再次输入的密码：" not in said


@pytest.mark.parametrize(
    ("user", "url", "data", "said", "doubled"),
    [
        ("office1", "/users", {"role": "viewer"}, "请填写用户名", "用户名：请填写用户名"),
        ("office1", "/users", {"name": "no-role"}, "请选择角色", "角色：请选择角色"),
        (
            "office1",
            "/patrols/rows",
            {"date_0": "2024-03-18", "people_0": "甲"},
            "请选择村（社区）",
            "村（社区）：请选择村（社区）",
        ),
    ],
)
def test_a_missing_field_is_named_once(
    web_env: WebEnv,
    clients: dict[str | None, Client],
    user: str,
    url: str,
    data: dict[str, str],
    said: str,
    doubled: str,
) -> None:
    password = {"password": "good-pw-2024", "password2": "good-pw-2024"} if url == "/users" else {}
    res = clients[user].post(url, data={**data, **password})
    text = form_errors(_main(res, 422))
    assert said in text and doubled not in text


def test_an_unknown_result_is_named_once(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village = clients[VILLAGE_A]
    target = web_env.target_of(VILLAGE_A)
    hidden = hidden_fields(village, f"/feedback/{target}")
    answer = {**hidden, "result": "bogus", "verified_on": "2024-03-12", "verified_by": "张三"}
    before = full_snapshot(web_env.store)
    text = form_errors(_main(village.post(f"/feedback/{target}", data=answer), 422))
    assert "请选择核查结果" in text and "核查结果：请选择核查结果" not in text
    assert full_snapshot(web_env.store) == before
