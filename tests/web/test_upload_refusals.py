"""Refused uploads as the office and the village cadres meet them, on SQLite and PostGIS.

A body over the service's limit, more files than a form may hold, and a chosen file that is
empty: a page gets the app's Chinese error page (or its form again) saying the limit and what
to do, the API its problem document, and the store is left as it was.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from geoverify.web.settings import MB, Settings
from tests.cli.feedback_helpers import full_snapshot
from tests.photos import jpeg_bytes
from tests.web.conftest import VILLAGE_A, Client, WebEnv, hidden_fields, login

#: What the multipart parser says in English; never on a page.
PARSER_WORDS = ("Too many files", "Maximum number", "Part exceeded", "Field exceeded")


def _page(res: Any, status: int) -> str:
    """The Chinese page of a refusal: its status, HTML, and no problem document in it."""
    assert res.status_code == status, res.text[:500]
    assert res.headers["content-type"].startswith("text/html"), res.headers
    text = str(res.text)
    assert "urn:geoverify:problem" not in text
    for words in PARSER_WORDS:
        assert words not in text
    return text


def _problem(res: Any, status: int, code: str) -> dict[str, Any]:
    assert res.status_code == status, res.text[:500]
    assert res.headers["content-type"].startswith("application/problem+json")
    doc = dict(res.json())
    assert doc["type"] == f"urn:geoverify:problem:{code}" and doc["status"] == status
    return doc


def _unfolded(text: str) -> str:
    """The page's main part without its folded technical details (where the English is)."""
    main = text.split("<main>")[1]
    return re.sub(r"<details[^>]*><summary>技术信息</summary>.*?</details>", "", main, flags=re.S)


def _multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A form body as a browser sends it (a file input left empty is ``filename=""``)."""
    boundary = "----geoverifyTestBoundary" + uuid.uuid4().hex
    out = b""
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, filename, data in files:
        out += (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """The body sent in pieces, with no Content-Length (as a chunked upload)."""
    for i in range(0, len(body), size):
        yield body[i : i + size]


# -- 1. a body over the limit ------------------------------------------------------------------
def test_a_page_form_over_the_limit_gets_the_chinese_page(web_env: WebEnv) -> None:
    small = web_env.app(max_request_bytes=1 * MB)
    village, office = login(small, VILLAGE_A), login(small, "office1")
    target = web_env.target_of(VILLAGE_A)
    hidden = hidden_fields(village, f"/feedback/{target}")
    answer = {**hidden, "result": "excluded", "verified_on": "2024-03-12", "verified_by": "张三"}
    answer["remarks"] = "油菜"
    big = [("photos", ("现场.jpg", b"\xff\xd8" + b"x" * (MB + MB // 2), "image/jpeg"))]
    before = full_snapshot(web_env.store)

    # Refused on its Content-Length, before the body is read: the page, not a JSON document.
    res = village.post(f"/feedback/{target}", data=answer, files=big)
    text = _page(res, 413)
    shown = _unfolded(text)
    assert "上传内容过大（上限 1 MB）" in shown
    assert "请分几次上传，或压缩照片后再试" in shown
    assert "返回上一页" in shown and 'href="/"' in shown  # a way back
    assert 'data-testid="form-errors"' not in text
    assert res.headers["content-security-policy"]  # the pages' own headers
    assert res.headers["cache-control"] == "no-store"
    assert full_snapshot(web_env.store) == before

    # The same limit met while the body arrives (no Content-Length): the same page.
    body, content_type = _multipart(answer, [("photos", "现场.jpg", b"x" * (MB + MB // 2))])
    res = village.http.post(
        f"/feedback/{target}", content=_chunks(body), headers={"content-type": content_type}
    )
    assert "content-length" not in res.request.headers
    shown = _unfolded(_page(res, 413))
    assert "上传内容过大（上限 1 MB）：请分几次上传，或压缩照片后再试" in shown

    # A batch preview of the office: the same page, in the words of a batch file.
    res = office.post(
        "/batches/preview",
        data={"batch": "too-big"},
        files={"file": ("big.csv", b"x" * (2 * MB), "text/csv")},
    )
    shown = _unfolded(_page(res, 413))
    assert "靶标文件过大（上限 1 MB）" in shown and "照片" not in shown

    # The API keeps its problem document.
    res = village.post(
        f"/api/v1/targets/{target}/feedback",
        data={"submission": str(uuid.uuid4()), "result": "excluded"},
        files=big,
    )
    doc = _problem(res, 413, "too_large")
    assert "上限 1 MB" in doc["messages"]["zh"]
    assert full_snapshot(web_env.store) == before


# -- 2. more files than a form may hold --------------------------------------------------------
def test_too_many_files_are_refused_in_chinese_naming_the_limit(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    settings = Settings(workspace=web_env.ws)
    limit = settings.max_photos + 4  # what forms.read_form lets the parser take
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][2]
    hidden = hidden_fields(village, f"/feedback/{target}")
    answer = {**hidden, "result": "excluded", "verified_on": "2024-03-12", "verified_by": "张三"}
    answer["remarks"] = "油菜"
    photo = jpeg_bytes()
    photos = [("photos", (f"照片{i}.jpg", photo, "image/jpeg")) for i in range(limit + 1)]
    before = full_snapshot(web_env.store)

    res = village.post(f"/feedback/{target}", data=answer, files=photos)
    text = _page(res, 422)
    assert f"一次最多上传 {limit} 个文件（照片" in _unfolded(text)
    assert "请分几次上传" in _unfolded(text)
    assert "400" not in _unfolded(text)
    assert full_snapshot(web_env.store) == before

    res = village.post(
        f"/api/v1/targets/{target}/feedback",
        data={"submission": str(uuid.uuid4()), "result": "excluded"},
        files=photos,
    )
    doc = _problem(res, 422, "input_error")
    assert f"一次最多上传 {limit} 个文件" in doc["messages"]["zh"]
    assert not re.search(r"[A-Za-z]{3,}", doc["messages"]["zh"])
    assert full_snapshot(web_env.store) == before


# -- 3. an empty file that was chosen ----------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "url", "name"),
    [
        ("office1", "/patrols/upload", "三月轨迹.gpx"),
        (VILLAGE_A, "/feedback-workbook", "青龙村.xlsx"),
    ],
)
def test_an_empty_chosen_file_is_said_to_be_empty(
    web_env: WebEnv, clients: dict[str | None, Client], user: str, url: str, name: str
) -> None:
    client = clients[user]
    assert client.csrf is not None
    before = full_snapshot(web_env.store)

    body, content_type = _multipart({"csrf_token": client.csrf}, [("file", name, b"")])
    res = client.http.post(url, content=body, headers={"content-type": content_type})
    text = _page(res, 422)
    shown = _unfolded(text)
    assert f"文件：{name} 是空的（0 字节），请检查后重新选择" in shown
    assert "文件：文件" not in shown
    assert "请选择要上传的文件" not in shown
    assert "<td>file</td>" not in shown  # the field by its Chinese label
    assert "<td>文件</td>" in shown
    assert full_snapshot(web_env.store) == before

    # Nothing chosen (a browser sends an empty part with no file name): choose one.
    body, content_type = _multipart({"csrf_token": client.csrf}, [("file", "", b"")])
    res = client.http.post(url, content=body, headers={"content-type": content_type})
    shown = _unfolded(_page(res, 422))
    assert "请选择要上传的文件" in shown and "文件：请选择" not in shown
    assert "是空的" not in shown
    assert "<td>file</td>" not in shown
    assert full_snapshot(web_env.store) == before


def test_an_empty_batch_file_or_photo_is_said_to_be_empty(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    before = full_snapshot(web_env.store)
    office = clients["office1"]
    res = office.post(
        "/batches/preview",
        data={"batch": "empty-1", "issued": "2024-05-01"},
        files={"file": ("五月.csv", b"", "text/csv")},
    )
    text = _page(res, 422)
    assert 'data-testid="form-errors"' in text  # the form again, with the reason
    assert "文件：五月.csv 是空的（0 字节），请检查后重新选择" in _unfolded(text)
    assert "请选择要上传的文件" not in text

    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][3]
    hidden = hidden_fields(village, f"/feedback/{target}")
    answer = {**hidden, "result": "excluded", "verified_on": "2024-03-12", "verified_by": "张三"}
    answer["remarks"] = "油菜"
    photos = [
        ("photos", ("好的.jpg", jpeg_bytes(), "image/jpeg")),
        ("photos", ("空的.jpg", b"", "image/jpeg")),
    ]
    res = village.post(f"/feedback/{target}", data=answer, files=photos)
    text = _page(res, 422)
    assert 'data-testid="form-errors"' in text
    assert "现场照片：空的.jpg 是空的（0 字节），请检查后重新选择" in _unfolded(text)

    res = village.post(
        "/api/v1/feedback/workbooks", files={"file": ("青龙村.xlsx", b"", "application/zip")}
    )
    doc = _problem(res, 422, "input_error")
    assert "文件：青龙村.xlsx 是空的（0 字节）" in doc["messages"]["zh"]
    assert doc["rows"][0]["value"] == "青龙村.xlsx"
    assert full_snapshot(web_env.store) == before


@pytest.mark.browser
def test_chromium_gets_the_page_for_a_body_over_the_limit(web_env: WebEnv, browser: Any) -> None:
    """Served by uvicorn, answered before the body is read: Chromium shows the page."""
    from tests.web.conftest import browser_login
    from tests.web.live import serve

    target = web_env.targets[web_env.code_of(VILLAGE_A)][4]
    with serve(web_env.app(max_request_bytes=1 * MB)) as base:
        ctx = browser.new_context(locale="zh-CN")
        page = ctx.new_page()
        browser_login(page, base, VILLAGE_A)
        page.goto(f"{base}/feedback/{target}")
        before = full_snapshot(web_env.store)
        page.select_option("select[name=result]", "excluded")
        page.fill("input[name=verified_by]", "张三")
        page.fill("textarea[name=remarks]", "油菜")
        photo = {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": b"x" * (3 * MB)}
        page.set_input_files("input[name=photos]", files=[photo])
        with page.expect_navigation():
            page.click("main button[type=submit]")
        main = page.inner_text("main")
        assert "上传内容过大（上限 1 MB）：请分几次上传，或压缩照片后再试" in main
        assert "urn:geoverify" not in page.content()
        page.click("text=返回上一页")  # the way back: the form again
        page.wait_for_url(f"{base}/feedback/{target}")
        assert page.locator("select[name=result]").count() == 1
        assert full_snapshot(web_env.store) == before
        ctx.close()
