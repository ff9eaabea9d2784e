"""The pages' forms and downloads as a browser sends them (no JavaScript), SQLite and PostGIS."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from typing import Any

import openpyxl
from sqlalchemy import update

from geoverify.store import repo
from geoverify.store import tables as t
from geoverify.workflows import sample_path
from tests.cli.feedback_helpers import full_snapshot
from tests.web.conftest import BATCH, VILLAGE_A, VILLAGE_B, Client, WebEnv, hidden_fields

GPX = sample_path("samples", "patrols_2024-03.gpx")


def test_a_bad_answer_shows_the_form_again_with_the_reason(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][1]
    hidden = hidden_fields(village, f"/feedback/{target}")
    assert uuid.UUID(hidden["submission"])
    before = full_snapshot(web_env.store)
    res = village.post(
        f"/feedback/{target}",
        data={
            **hidden,
            "result": "excluded",
            "verified_on": "2099-01-01",
            "verified_by": "张三",
            "remarks": "<script>alert(1)</script>",
        },
    )
    assert res.status_code == 422
    assert 'data-testid="form-errors"' in res.text
    assert "晚于今天" in res.text or "未来" in res.text or "今天" in res.text
    # What was typed is kept (as text), with the same submission id for the next try.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in res.text
    assert "<script>alert(1)" not in res.text
    assert hidden["submission"] in res.text
    assert full_snapshot(web_env.store) == before
    # An exclusion must say what is really there.
    answer = {**hidden, "result": "excluded", "verified_on": "2024-03-12", "verified_by": "张三"}
    res = village.post(f"/feedback/{target}", data=answer)
    assert res.status_code == 422 and "核查结果为“排除”时请写明实际是什么" in res.text
    assert full_snapshot(web_env.store) == before
    ok = village.post(f"/feedback/{target}", data={**answer, "remarks": "观赏植物"})
    assert ok.status_code == 303
    assert ok.headers["location"] == f"/targets/{target}?saved=1"
    shown = village.get(ok.headers["location"]).text
    assert 'data-testid="excluded-without-remarks"' not in shown
    # One recorded without it (by an older version) shows a reminder.
    c = t.targets.c
    with web_env.store.begin() as conn:
        conn.execute(update(t.targets).where(c.target_id == target).values(remarks=None))
    shown = village.get(f"/targets/{target}").text
    assert 'data-testid="excluded-without-remarks"' in shown


def test_a_missing_target_is_a_chinese_page(clients: dict[str | None, Client]) -> None:
    res = clients["office1"].get("/targets/NO-SUCH-ID")
    assert res.status_code == 404
    assert "没有靶标 NO-SUCH-ID" in res.text
    assert res.headers["content-type"].startswith("text/html")


def test_preview_with_rejected_rows_then_partial_commit(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    text = "靶标编号,经度,纬度\nP1,106.05,29.70\nP2,abc,29.70\nP3,106.04,29.69\n"
    before = full_snapshot(web_env.store)
    page = office.post(
        "/batches/preview",
        data={"batch": "partial-1", "issued": "2024-05-01"},
        files={"file": ("五月.csv", text.encode("utf-8"), "text/csv")},
    )
    assert page.status_code == 200, page.text
    assert full_snapshot(web_env.store) == before
    assert 'data-testid="preview-rejected"' in page.text
    assert "坐标无法解析" in page.text and "&#39;abc&#39;" in page.text  # the reason, as the CLI
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    res = office.post("/batches/commit", data={"token": token.group(1), "accept_partial": "1"})
    assert res.status_code == 303
    assert res.headers["location"] == "/batches/partial-1?imported=1"
    with web_env.store.connect() as conn:
        counts = repo.count_rows(conn)
    assert counts["targets"] == before["counts"]["targets"] + 2
    assert counts["rejected_rows"] == before["counts"]["rejected_rows"] + 1
    # Confirmed again: to the batch, nothing imported twice.
    again = office.post("/batches/commit", data={"token": token.group(1)})
    assert again.status_code == 303
    assert again.headers["location"] == "/batches/partial-1?already=1"
    # Another user cannot commit someone else's preview.
    page = office.post(
        "/batches/preview",
        data={"batch": "partial-2"},
        files={"file": ("六月.csv", text.replace("P", "Q").encode("utf-8"), "text/csv")},
    )
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    assert (
        clients["district"].post("/batches/commit", data={"token": token.group(1)}).status_code
        == 403
    )


def test_dispatch_packs(web_env: WebEnv, clients: dict[str | None, Client]) -> None:
    office = clients["office1"]
    res = office.get(f"/batches/{BATCH}/dispatch.zip")
    assert res.status_code == 200
    assert "attachment" in res.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(res.content)).namelist()
    assert "汇总.xlsx" in names
    a_name = next(k for k, v in web_env.codes.items() if v == web_env.code_of(VILLAGE_A))
    assert {f"{a_name}.xlsx", f"{a_name}.html"} <= set(names)
    own = clients[VILLAGE_A].get(f"/batches/{BATCH}/villages/{web_env.code_of(VILLAGE_A)}.zip")
    assert own.status_code == 200
    own_names = zipfile.ZipFile(io.BytesIO(own.content)).namelist()
    assert {f"{a_name}.xlsx", f"{a_name}.html"} <= set(own_names)
    assert all(n.startswith(a_name) for n in own_names)
    wb = openpyxl.load_workbook(
        io.BytesIO(zipfile.ZipFile(io.BytesIO(own.content)).read(f"{a_name}.xlsx"))
    )
    assert wb.sheetnames


def test_patrols_typed_in_and_uploaded(web_env: WebEnv, clients: dict[str | None, Client]) -> None:
    village = clients[VILLAGE_B]
    res = village.post(
        "/patrols/rows",
        data={
            "date_0": "2024-03-18",
            "group_0": "三组",
            "people_0": "甲、乙",
            "findings_0": "未发现异常",
            "date_1": "2024-03-19",
            "people_1": "丙",
        },
    )
    assert res.status_code == 200, res.text
    assert "已登记 2 条踏查记录" in res.text
    listed = village.get("/api/v1/patrols?month=2024-03").json()
    assert len(listed) == 2
    b_name = next(k for k, v in web_env.codes.items() if v == web_env.code_of(VILLAGE_B))
    assert {p["village"] for p in listed} == {b_name}
    # A date that is not a date is a clear error, nothing written.
    before = full_snapshot(web_env.store)
    bad = village.post("/patrols/rows", data={"date_0": "三月十八", "people_0": "甲"})
    assert bad.status_code == 422
    assert full_snapshot(web_env.store) == before
    # The office uploads a GPX for the whole town.
    up = clients["office1"].post(
        "/patrols/upload",
        files={"file": ("三月轨迹.gpx", GPX.read_bytes(), "application/gpx+xml")},
    )
    assert up.status_code == 200, up.text
    page = clients["office1"].get("/patrols?month=2024-03")
    assert 'data-testid="coverage"' in page.text


def test_monthly_table_is_scoped(web_env: WebEnv, clients: dict[str | None, Client]) -> None:
    office = clients["office1"].get("/patrols/monthly.zip?month=2024-03")
    assert office.status_code == 200
    all_names = zipfile.ZipFile(io.BytesIO(office.content)).namelist()
    own = clients[VILLAGE_B].get("/patrols/monthly.zip?month=2024-03")
    names = zipfile.ZipFile(io.BytesIO(own.content)).namelist()
    b_name = next(k for k, v in web_env.codes.items() if v == web_env.code_of(VILLAGE_B))
    # Its own two tables alone (no other village's, no town summary), the office's same cells.
    assert len(names) == 2 and all(b_name in n for n in names)
    assert set(names) < set(all_names)
    xlsx = next(n for n in names if n.endswith(".xlsx"))

    def cells(zip_bytes: bytes) -> list[tuple[Any, ...]]:
        data = zipfile.ZipFile(io.BytesIO(zip_bytes)).read(xlsx)
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        return list(sheet.iter_rows(values_only=True))

    assert cells(own.content) == cells(office.content)


def _answered_target(web_env: WebEnv, clients: dict[str | None, Client]) -> None:
    """At least one target of the batch has a result (the district report marks those as
    reported): a village answers one unless another test of the module already has."""
    with web_env.store.connect() as conn:
        targets = repo.load_targets(conn, batch=BATCH)
    if targets["result"].notna().any():
        return
    village = clients[VILLAGE_B]
    mine = targets[targets["village_code"] == web_env.code_of(VILLAGE_B)]
    target = str(mine["target_id"].iloc[-1])
    hidden = hidden_fields(village, f"/feedback/{target}")
    answer = {"result": "excluded", "verified_on": "2024-03-12", "verified_by": "李四"}
    res = village.post(f"/feedback/{target}", data={**hidden, **answer, "remarks": "玉米地"})
    assert res.status_code == 303, res.text[:500]


def test_the_report_button_says_how_many_it_marks(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    """The question before 生成上报报表 names the targets it marks as reported (the download
    itself leaves the page as it was)."""
    _answered_target(web_env, clients)

    def reported() -> int:
        with web_env.store.connect() as conn:
            frame = repo.load_targets(conn, batch=BATCH)
        return int((frame["status"] == "reported").sum())

    with web_env.store.connect() as conn:
        frame = repo.load_targets(conn, batch=BATCH)
    open_ = frame[frame["result"].isna() & (frame["village_code"] == web_env.code_of(VILLAGE_B))]
    if not (frame["result"].notna() & (frame["status"] != "reported")).any():
        target = str(open_["target_id"].iloc[0])  # one result to report (others reported it)
        village = clients[VILLAGE_B]
        hidden = hidden_fields(village, f"/feedback/{target}")
        answer = {"result": "not_found", "verified_on": "2024-03-12", "verified_by": "李四"}
        assert village.post(f"/feedback/{target}", data={**hidden, **answer}).status_code == 303
    page = clients["office1"].get(f"/batches/{BATCH}").text
    said = re.search(r"尚未上报的 (\d+) 个靶标标记为已上报", page)
    assert said is not None and int(said.group(1)) > 0
    before = reported()
    res = clients["office1"].post(f"/batches/{BATCH}/district-report")
    assert res.status_code == 200, res.text[:500]
    assert reported() - before == int(said.group(1))
    again = clients["office1"].get(f"/batches/{BATCH}").text
    assert "尚未上报的 0 个靶标" in again


def test_district_report_download(web_env: WebEnv, clients: dict[str | None, Client]) -> None:
    _answered_target(web_env, clients)
    res = clients["office1"].post(f"/batches/{BATCH}/district-report")
    assert res.status_code == 200, res.text[:500]
    assert res.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    wb = openpyxl.load_workbook(io.BytesIO(res.content))
    assert wb.sheetnames
    with web_env.store.connect() as conn:
        events = repo.load_events(conn, batch_id=BATCH)
    reported = events[events["kind"] == "reported"]
    assert len(reported) and set(reported["actor"]) == {"office1"}


def test_pages_render_for_every_role(clients: dict[str | None, Client], web_env: WebEnv) -> None:
    target = web_env.target_of(VILLAGE_A)
    for name, pages in {
        "office1": [
            "/",
            "/batches",
            f"/batches/{BATCH}",
            "/targets",
            f"/targets/{target}",
            "/feedback",
            f"/feedback/{target}",
            "/patrols",
            "/patrols/rows",
            "/maps",
        ],
        VILLAGE_A: [
            "/",
            "/targets",
            f"/targets/{target}",
            "/feedback",
            f"/feedback/{target}",
            "/patrols",
            "/patrols/rows",
            "/maps",
        ],
        "district": [
            "/",
            "/batches",
            f"/batches/{BATCH}",
            "/targets",
            f"/targets/{target}",
            "/patrols",
            "/maps",
        ],
    }.items():
        for url in pages:
            res: Any = clients[name].get(url)
            assert res.status_code == 200, (name, url, res.text[:300])
            assert '<html lang="zh-CN">' in res.text
    # A viewer is never offered a form that would change anything.
    page = clients["district"].get(f"/targets/{target}").text
    assert "填写核查结果" not in page and "补充或更正" not in page
    assert clients[VILLAGE_B].get("/batches").status_code == 403


def test_lists_never_print_nan(clients: dict[str | None, Client], web_env: WebEnv) -> None:
    """Targets without a result, group or village (outside the town) show blanks, not "nan"."""
    for url in ("/targets", "/targets?village=-", "/feedback", "/", f"/batches/{BATCH}"):
        page = clients["office1"].get(url)
        assert page.status_code == 200, url
        assert "nan" not in page.text.lower().replace("nan=", ""), url


def test_filter_forms_send_their_all_choices_as_blanks(
    clients: dict[str | None, Client], web_env: WebEnv
) -> None:
    """A filter form sends "全部" as an empty value: that is no filter on a page, while the
    API keeps refusing a blank status."""
    office = clients["office1"]
    blank = office.get(f"/targets?batch={BATCH}&village=&status=&overdue=1")
    assert blank.status_code == 200, blank.text[:300]
    plain = office.get(f"/targets?batch={BATCH}&overdue=1")
    ids = re.findall(r'href="/targets/([^"?]+)"', plain.text)
    assert ids and re.findall(r'href="/targets/([^"?]+)"', blank.text) == ids
    mine = clients[VILLAGE_A].get("/targets?batch=&village=&status=")
    assert mine.status_code == 200
    assert office.get("/maps?batch=&month=").status_code == 200
    assert office.get("/maps/map.html?batch=&month=").status_code == 200
    api = office.get("/api/v1/targets?status=")
    assert api.status_code == 422
    assert api.headers["content-type"].startswith("application/problem+json")


def test_area_in_both_units_must_agree_and_a_correction_starts_from_the_record(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][-1]
    hidden = hidden_fields(village, f"/feedback/{target}")
    answer = {
        **hidden,
        "result": "confirmed",
        "verified_on": "2024-03-12",
        "verified_by": "张三",
        "plants": "40",
        "eradicated_on": "2024-03-12",
        "remarks": "已全部铲除",
    }
    before = full_snapshot(web_env.store)
    both = village.post(f"/feedback/{target}", data={**answer, "area_m2": "50", "area_mu": "3"})
    assert both.status_code == 422
    assert "铲除面积（亩）：与平方米数不一致（3 亩约 2000 平方米），请只填一个" in both.text
    assert full_snapshot(web_env.store) == before
    # The same area in both units is one answer (m² kept).
    ok = village.post(f"/feedback/{target}", data={**answer, "area_m2": "666.7", "area_mu": "1"})
    assert ok.status_code == 303, ok.text[:500]
    # The form for a correction shows the recorded numbers, not blanks.
    again = village.get(f"/feedback/{target}").text
    for name, value in (
        ("plants", "40"),
        ("area_m2", "666.7"),
        ("eradicated_on", "2024-03-12"),
    ):
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', again), name
    assert re.search(r'name="area_mu"[^>]*value=""', again)
    assert ">已全部铲除</textarea>" in again
    # the count may wait, but not past the report (which refuses a confirmed target without it)
    assert re.search(r'name="plants"[^>]*><span class="hint">[^<]*上报区禁毒办前须补填', again)


def test_a_conflicting_answer_says_in_chinese_how_to_correct_it(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village = clients[VILLAGE_A]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][-2]
    answer = {
        "result": "confirmed",
        "verified_on": "2024-03-12",
        "verified_by": "张三",
        "plants": "40",
    }
    first = village.post(
        f"/feedback/{target}", data={**hidden_fields(village, f"/feedback/{target}"), **answer}
    )
    assert first.status_code == 303
    hidden = hidden_fields(village, f"/feedback/{target}")
    again = village.post(f"/feedback/{target}", data={**hidden, **answer, "plants": "50"})
    assert again.status_code == 422
    assert "已登记的株数与本次不同" in again.text
    assert "勾选“需要更正”并写明更正理由" in again.text
    assert "结果与已登记的不同，需要更正" in again.text  # the box the message names is there
    fixed = village.post(
        f"/feedback/{target}",
        data={**hidden, **answer, "plants": "50", "supersede": "1", "reason": "复点株数"},
    )
    assert fixed.status_code == 303


def test_a_batch_of_reissued_targets_imports_and_the_same_file_twice_says_so(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    text = "靶标编号,经度,纬度\nR1,106.05,29.70\nR2,106.04,29.69\n"
    first = office.post(
        "/batches/preview",
        data={"batch": "reissue-1", "issued": "2024-05-01"},
        files={"file": ("五月.csv", text.encode("utf-8"), "text/csv")},
    )
    token = re.search(r'name="token" value="([^"]+)"', first.text)
    assert token is not None
    assert office.post("/batches/commit", data={"token": token.group(1)}).status_code == 303
    # The same file for the same batch: already imported, nothing to confirm, nothing changed.
    before = full_snapshot(web_env.store)
    same = office.post(
        "/batches/preview",
        data={"batch": "reissue-1", "issued": "2024-05-01"},
        files={"file": ("五月.csv", text.encode("utf-8"), "text/csv")},
    )
    assert same.status_code == 200
    assert 'data-testid="already-imported"' in same.text
    assert "没有可导入的靶标" not in same.text and 'name="token"' not in same.text
    assert full_snapshot(web_env.store) == before
    # The same targets sent again in another file, as a new batch, are re-issued: that batch
    # can be imported (the same file again is the same import, whatever the batch is called).
    resent = "靶标编号,经度,纬度\nR2,106.04,29.69\nR1,106.05,29.70\n"
    again = office.post(
        "/batches/preview",
        data={"batch": "reissue-2", "issued": "2024-06-01"},
        files={"file": ("六月.csv", resent.encode("utf-8"), "text/csv")},
    )
    assert "重复下发</dt><dd>2 个" in again.text, re.sub(r"\s+", " ", again.text)[-2500:]
    token = re.search(r'name="token" value="([^"]+)"', again.text)
    assert token is not None, again.text[-1500:]
    res = office.post("/batches/commit", data={"token": token.group(1)})
    assert res.status_code == 303
    with web_env.store.connect() as conn:
        from geoverify.store import batches as store_batches

        assert int(store_batches.get_batch(conn, "reissue-2")["n_reissued"]) == 2


def test_an_answer_crossing_another_keeps_what_was_typed(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village, office = clients[VILLAGE_A], clients["office1"]
    target = web_env.targets[web_env.code_of(VILLAGE_A)][-3]
    mine = hidden_fields(village, f"/feedback/{target}")  # the cadre opens the form ...
    theirs = hidden_fields(office, f"/feedback/{target}")  # ... and so does the office
    saved = office.post(
        f"/feedback/{target}",
        data={
            **theirs,
            "result": "excluded",
            "verified_on": "2024-03-11",
            "verified_by": "李四",
            "remarks": "玉米",
        },
    )
    assert saved.status_code == 303
    assert "excluded-without-remarks" not in office.get(f"/targets/{target}").text  # 玉米
    before = full_snapshot(web_env.store)
    late = village.post(
        f"/feedback/{target}",
        data={
            **mine,
            "result": "confirmed",
            "verified_on": "2024-03-12",
            "verified_by": "张三",
            "plants": "37",
            "remarks": "田边发现",
        },
    )
    assert late.status_code == 409
    assert full_snapshot(web_env.store) == before
    assert "在您打开后已被修改" in late.text and 'data-testid="conflict"' in late.text
    assert "现已登记：核查结果 排除；核查日期 2024-03-11；核查人员 李四；备注 玉米" in late.text
    # What the cadre typed is still in the form, for the target's new version.
    assert re.search(r'name="plants"[^>]*value="37"', late.text)
    assert 'value="张三"' in late.text and ">田边发现</textarea>" in late.text
    version = re.search(r'name="version" value="(\d+)"', late.text)
    assert version is not None and int(version.group(1)) > int(mine["version"])


def test_error_pages_keep_the_english_and_code_behind_a_fold(
    clients: dict[str | None, Client],
) -> None:
    page = clients[VILLAGE_A].get("/targets/NO-SUCH-TARGET")
    assert page.status_code == 404
    main = page.text.split("<main>")[1]
    folded = re.search(r"<details[^>]*><summary>技术信息</summary>(.*?)</details>", main, re.S)
    assert folded is not None and "not_found" in folded.group(1)
    assert "no such target" not in main.replace(folded.group(0), "")
    icon = clients[None].get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text


def test_the_target_list_marks_what_is_overdue(
    clients: dict[str | None, Client], web_env: WebEnv
) -> None:
    office = clients["office1"]
    late = office.get("/api/v1/targets?overdue=true").json()
    every = office.get("/api/v1/targets").json()
    assert late and all(t["overdue"] for t in late)
    assert {t["target_id"] for t in every if t["overdue"]} == {t["target_id"] for t in late}
    page = office.get("/targets").text
    assert page.count('<span class="badge overdue">已逾期</span>') == len(late)


def test_a_village_dashboard_shows_its_own_figures(
    clients: dict[str | None, Client], web_env: WebEnv
) -> None:
    """A village reads its own figures down the page, with no town total under them."""
    mine = clients[VILLAGE_A].get(f"/?batch={BATCH}").text
    assert "全镇合计" not in mine
    block = re.search(r'<dl class="kv" data-testid="progress">(.*?)</dl>', mine, re.S)
    assert block is not None
    n = len(web_env.targets[web_env.code_of(VILLAGE_A)])
    assert f"<dt>下发</dt><dd>{n}</dd>" in block.group(1)
    office = clients["office1"].get(f"/?batch={BATCH}").text
    assert "全镇合计" in office and '<table class="grid num" data-testid="progress">' in office


def test_a_bad_batch_file_brings_the_form_back_filled_in(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    before = full_snapshot(web_env.store)
    page = office.post(
        "/batches/preview",
        data={"batch": "bad-cols", "issued": "2024-05-01", "crs": "", "lon_field": "X"},
        files={"file": ("列名.csv", "编号,东,北\nA1,106.05,29.70\n".encode(), "text/csv")},
    )
    assert page.status_code == 422
    assert full_snapshot(web_env.store) == before
    assert 'action="/batches/preview"' in page.text and 'data-testid="form-errors"' in page.text
    errors = re.search(r"data-testid=\"form-errors\">(.*?)</div>", page.text, re.S)
    assert errors is not None and "X" in errors.group(1), page.text[-3000:]
    assert (
        'name="batch" required maxlength="64" placeholder="例如 2024-03" value="bad-cols"'
        in page.text
    )
    assert 'name="lon_field" maxlength="100" value="X"' in page.text
    assert re.search(r"<details class=\"full\" open>", page.text)
    unknown = office.post(
        "/batches/preview",
        data={"batch": "bad-cols"},
        files={"file": ("列名.csv", "编号,东,北\nA1,106.05,29.70\n".encode(), "text/csv")},
    )
    assert "请指定（网页填写“经度列、纬度列”，命令行用 --lon-field/--lat-field）" in unknown.text
    assert full_snapshot(web_env.store) == before


def test_a_target_history_says_where_each_change_came_from(
    clients: dict[str | None, Client], web_env: WebEnv
) -> None:
    target = web_env.targets[web_env.code_of(VILLAGE_A)][0]
    page = clients["office1"].get(f"/targets/{target}").text
    history = re.search(r'data-testid="history">(.*?)</ul>', page, re.S)
    assert history is not None
    assert re.search(r">文件 \S+ 第 \d+ 行</span>", history.group(1))  # imported from a row
    assert "file:" not in re.sub(r'title="[^"]*"', "", history.group(1))


def test_the_office_narrows_the_open_targets_to_one_village(
    clients: dict[str | None, Client], web_env: WebEnv
) -> None:
    office = clients["office1"]
    code_b = web_env.code_of(VILLAGE_B)
    every = office.get("/feedback").text
    only_b = office.get(f"/feedback?village={code_b}").text
    listed = set(re.findall(r'href="/feedback/([^"]+)"', only_b))
    assert listed and listed <= set(web_env.targets[code_b])
    assert set(re.findall(r'href="/feedback/([^"]+)"', every)) > listed
    assert f'<option value="{code_b}" selected>' in only_b
    # A village sees its own list only; another village is "not found".
    code_a = web_env.code_of(VILLAGE_A)
    assert clients[VILLAGE_A].get(f"/feedback?village={code_b}").status_code == 404
    assert clients[VILLAGE_A].get(f"/feedback?village={code_a}").status_code == 200
    assert '<select name="village">' not in clients[VILLAGE_A].get("/feedback").text
