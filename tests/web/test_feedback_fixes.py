"""The answer form and a target's page, from a walk through them as the office (desk) and as
青龙村's cadre (phone, 412 px): corrections, each door's way to correct, the history's values,
dates, "nothing changed", photos from the gallery and the camera, targets a village may not
answer."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from geoverify.errors import HOW_TO_SUPERSEDE
from geoverify.store import tables as t
from geoverify.workflows import list_targets
from geoverify.workflows.common import today_local
from tests.cli.feedback_helpers import fill, full_snapshot, target_ids, with_batch
from tests.conftest import Cli
from tests.photos import jpeg_bytes
from tests.web.conftest import (
    APRIL_BATCH,
    BATCH,
    USERS,
    VILLAGE_A,
    VILLAGE_B,
    Client,
    WebEnv,
    browser_login,
    env_with_april,
    form_errors,
    hidden_fields,
    login,
)
from tests.web.live import serve, watch

PHONE = {"width": 412, "height": 915}


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebEnv]:
    """March dispatched (its targets answered by the tests, one each), April imported only."""
    yield from env_with_april(request, tmp_path_factory.mktemp("feedback-fixes"))


@pytest.fixture(scope="module")
def people(env: WebEnv) -> dict[str, Client]:
    app = env.app()
    return {name: login(app, name) for name in ("office1", VILLAGE_A)}


def _mine(env: WebEnv, i: int) -> str:
    """青龙村's i-th March target (each test answers its own)."""
    return env.targets[env.code_of(VILLAGE_A)][i]


def _send(client: Client, target: str, answer: dict[str, str], **kw: Any) -> Any:
    """The answer form sent as a browser sends it (its hidden fields, then what was typed)."""
    return client.post(
        f"/feedback/{target}", data={**hidden_fields(client, f"/feedback/{target}"), **answer}, **kw
    )


def _events(env: WebEnv, target: str) -> list[Any]:
    with env.store.connect() as conn:
        pk = conn.execute(sa.select(t.targets.c.id).where(t.targets.c.target_id == target)).one()
        rows = conn.execute(
            sa.select(t.events.c.kind, t.events.c.payload)
            .where(t.events.c.target == pk[0])
            .order_by(t.events.c.id)
        ).all()
    return list(rows)


def _history(html: str) -> str:
    found = re.search(r'data-testid="history">(.*?)</ul>', html, re.S)
    assert found is not None
    return found.group(1)


# -- 1, 3, 5: filling in, correcting, the history's values, nothing changed --------------------


def test_filling_in_is_no_correction_changing_is_and_the_history_shows_the_values(
    env: WebEnv, people: dict[str, Client]
) -> None:
    village = people[VILLAGE_A]
    target = _mine(env, 0)
    answer = {"result": "confirmed", "verified_on": "2024-03-12", "verified_by": "张三"}
    assert _send(village, target, answer).status_code == 303  # 确认种植, no count yet
    # The count filled in later: no correction asked for, an ordinary update.
    added = _send(village, target, {**answer, "plants": "20"})
    assert added.status_code == 303, form_errors(added.text)
    assert added.headers["location"].endswith("?saved=1")
    assert [k for k, _ in _events(env, target)][-1] == "updated"
    # The form says which is which, beside its check box.
    form = village.get(f"/feedback/{target}").text
    assert "原来空着的项目（如株数、面积、铲除日期、案件编号）直接补填，不用勾选" in form
    assert "已填写过的株数、面积、日期等要改（如株数 20 改为 35），也需要更正" in form
    # A given count changed is a correction: the refusal names the old and the new value,
    # and the form's way to correct it.
    before = full_snapshot(env.store)
    more = _send(village, target, {**answer, "plants": "35"})
    assert more.status_code == 422
    said = form_errors(more.text)
    assert "株数：已登记 20，本次 35" in said
    assert "勾选“需要更正”并写明更正理由" in said
    assert full_snapshot(env.store) == before
    fixed = _send(
        village,
        target,
        {**answer, "plants": "35", "eradicated_on": "2024-03-13", "area_m2": "12.5"}
        | {"supersede": "1", "reason": "复查又发现 15 株"},
    )
    assert fixed.status_code == 303, form_errors(fixed.text)
    kind, payload = _events(env, target)[-1]
    assert kind == "superseded" and payload["reason"] == "复查又发现 15 株"
    # The history shows what each answer changed, old → new where there was an old value.
    history = _history(village.get(f"/targets/{target}").text)
    assert "株数 20 → 35；铲除面积 12.5 平方米；铲除日期 2024-03-13" in history
    assert "核查日期 2024-03-12；核查人员 张三" in history  # the first answer
    assert ">株数 20</span>" in history  # the count filled in: no old value
    # The same answer again writes nothing, and says so (not 已保存).
    count = len(_events(env, target))
    again = _send(
        village,
        target,
        {**answer, "plants": "35", "eradicated_on": "2024-03-13", "area_m2": "12.5"},
    )
    assert again.status_code == 303
    assert again.headers["location"].endswith("?saved=0")
    page = village.get(again.headers["location"]).text
    assert "没有改动，未保存" in page and "已保存。" not in page
    assert len(_events(env, target)) == count
    # A correction of the result names both results in the history.
    changed = _send(
        village,
        target,
        {**answer, "result": "excluded", "remarks": "观赏植物", "supersede": "1", "reason": "误判"},
    )
    assert changed.status_code == 303, form_errors(changed.text)
    history = _history(village.get(f"/targets/{target}").text)
    assert "核查结果 确认种植 → 排除；株数 35 → （空）" in history


# -- 2: each door says its own way to correct ------------------------------------------------


def test_a_workbook_refusal_says_what_to_do_in_the_workbook(
    env: WebEnv, people: dict[str, Client], tmp_path: Path
) -> None:
    village = people[VILLAGE_A]
    target = _mine(env, 1)
    answer = {"result": "excluded", "verified_on": "2024-03-12", "verified_by": "甲"}
    assert _send(village, target, {**answer, "remarks": "玉米"}).status_code == 303
    src = env.ws / "dispatch" / BATCH / f"{USERS[VILLAGE_A][1]}.xlsx"
    filled = tmp_path / src.name
    fill(src, filled, {target: {"核查日期": "2024-03-12", "核查人员": "甲", "核查结果": "未发现"}})
    before = full_snapshot(env.store)
    upload = {"file": (filled.name, filled.read_bytes(), "application/octet-stream")}
    page = village.post("/feedback-workbook", files=upload)
    assert page.status_code == 422
    assert "已登记结果“排除”，本次为“未发现”" in page.text
    assert "反馈表只能登记新的结果" in page.text and "改回已登记的内容后重新上传" in page.text
    assert HOW_TO_SUPERSEDE not in page.text  # the web form's box: not in a workbook
    api = village.post("/api/v1/feedback/workbooks", files=upload)
    assert api.status_code == 422
    (row,) = api.json()["rows"]
    assert row["code"] == "conflicting_result"
    assert row["reason_zh"].startswith(f"靶标 {target} 已登记结果“排除”")
    assert "反馈表只能登记新的结果" in row["reason_zh"]
    assert HOW_TO_SUPERSEDE not in row["reason_zh"]
    assert full_snapshot(env.store) == before
    # The API's own words: the fields a program sends.
    detail = village.get(f"/api/v1/targets/{target}").json()
    res = village.post(
        f"/api/v1/targets/{target}/feedback",
        data={**answer, "result": "not_found", "submission": str(uuid.uuid4())}
        | {"version": str(detail["version"])},
    )
    assert res.status_code == 422
    text = json.dumps(res.json(), ensure_ascii=False)
    assert "supersede=true" in text and "勾选" not in text


def test_the_command_line_says_its_options_not_the_forms_box(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    res = run("dispatch", "--batch", BATCH, "--out", str(tmp_path / "all"), "--json")
    assert res.exit_code == 0, res.output
    book = Path(max(json.loads(res.stdout)["villages"], key=lambda v: v["targets"])["xlsx"])
    target = target_ids(book)[0]
    first = (
        "feedback",
        "set",
        target,
        "--result",
        "排除",
        "--date",
        "2024-03-08",
        "--remarks",
        "油菜",
    )
    assert run(*first, "--checked-by", "甲").exit_code == 0
    before = full_snapshot(run.store())
    res = run("feedback", "set", target, "--result", "未发现")
    assert res.exit_code == 1
    assert "已登记结果“排除”，本次为“未发现”" in res.stderr
    assert "--supersede --reason" in res.stderr and "勾选" not in res.stderr
    filled = tmp_path / "filled.xlsx"
    fill(book, filled, {target: {"核查日期": "2024-03-09", "核查人员": "乙", "核查结果": "未发现"}})
    res = run("feedback", "import", str(filled))
    assert res.exit_code == 1
    assert "已登记结果“排除”，本次为“未发现”" in res.stderr
    assert "--supersede --reason" in res.stderr and "勾选" not in res.stderr
    assert full_snapshot(run.store()) == before


# -- 4: an eradication before the check date ---------------------------------------------------


def test_an_eradication_before_the_check_date_names_both_dates(
    env: WebEnv, people: dict[str, Client]
) -> None:
    village = people[VILLAGE_A]
    target = _mine(env, 3)
    before = full_snapshot(env.store)
    res = _send(
        village,
        target,
        {
            "result": "confirmed",
            "verified_on": "2024-03-12",
            "verified_by": "张三",
            "eradicated_on": "2024-03-11",
        },
    )
    assert res.status_code == 422
    said = form_errors(res.text)
    assert "铲除日期 2024-03-11 早于核查日期 2024-03-12" in said
    assert "请把核查日期改为实际到现场核查的那天（不晚于铲除日期），或改正铲除日期" in said
    assert full_snapshot(env.store) == before
    # The form marks today as a guess only when nothing is recorded or typed.
    assert re.search(
        r'name="verified_on"[^>]*data-default-today', village.get(f"/feedback/{target}").text
    )
    assert "data-default-today" not in res.text  # typed: kept as typed


def test_a_refused_answer_keeps_todays_check_date_a_guess(
    env: WebEnv, people: dict[str, Client]
) -> None:
    """The form sent back refused still marks the check date as the guess it was (and the
    eradication date it followed), so that it follows an eradication date typed afterwards;
    a date the cadre typed stays theirs."""
    village = people["office1"]  # the office answers too; 青龙村's targets are the others'
    target = env.targets[env.code_of(VILLAGE_B)][0]
    today = today_local().isoformat()
    blank = {"result": "confirmed", "verified_by": "", "plants": "3"}  # 核查人员 missing
    guessed = _send(village, target, {**blank, "verified_on": today})
    assert guessed.status_code == 422
    assert re.search(rf'name="verified_on"[^>]*data-default-today="{today}"', guessed.text)
    assert "不是今天请改" in guessed.text
    assert f'name="verified_on_guess" value="{today}"' in guessed.text
    followed = _send(
        village, target, {**blank, "verified_on": "2024-03-11", "eradicated_on": "2024-03-11"}
    )
    assert followed.status_code == 422
    assert re.search(rf'name="verified_on"[^>]*data-default-today="{today}"', followed.text)
    form = hidden_fields(village, f"/feedback/{target}")
    typed = village.post(
        f"/feedback/{target}",
        data={**form, **blank, "verified_on": "2024-03-12", "eradicated_on": "2024-03-11"},
    )
    assert typed.status_code == 422
    assert "data-default-today" not in typed.text and "verified_on_guess" not in typed.text


@pytest.mark.browser
def test_a_refused_answer_still_follows_the_eradication_on_the_phone(
    env: WebEnv, browser: Any
) -> None:
    """Sent back refused, the guessed check date says again that it followed the eradication
    date, and follows it further; once saved, it is the date the form showed."""
    target = env.targets[env.code_of(VILLAGE_B)][1]
    day = lambda n: (today_local() - dt.timedelta(days=n)).isoformat()  # noqa: E731
    with serve(env.app()) as base:
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
        page = ctx.new_page()
        seen = watch(page, base)
        browser_login(page, base, "office1")
        page.goto(f"{base}/feedback/{target}")
        page.select_option("select[name=result]", "confirmed")
        page.fill("input[name=plants]", "7")
        page.fill("input[name=eradicated_on]", day(2))
        assert page.input_value("input[name=verified_on]") == day(2)
        # 核查人员 left empty and sent anyway: the server refuses it.
        page.evaluate("document.querySelector('input[name=verified_by]').required = false")
        page.click("text=提交")
        page.wait_for_selector("[data-testid=form-errors]")
        assert page.input_value("input[name=verified_on]") == day(2)
        assert f"已改为铲除日期 {day(2)}" in page.inner_text("[data-verified-note]")
        page.fill("input[name=eradicated_on]", day(3))
        assert page.input_value("input[name=verified_on]") == day(3)
        page.fill("input[name=verified_by]", "王五")
        page.click("text=提交")
        page.wait_for_selector("text=已保存")
        assert target_json(env, target)["feedback"]["verified_on"] == day(3)
        # The refusal's own 422 aside, the page raised nothing.
        assert [e for e in seen.console_errors if "422" not in e] == []
        ctx.close()


# -- 6: photos from the gallery and from the camera --------------------------------------------


def test_the_photo_fields_offer_the_gallery_and_the_camera(
    env: WebEnv, people: dict[str, Client]
) -> None:
    village = people[VILLAGE_A]
    target = _mine(env, 3)
    form = village.get(f"/feedback/{target}").text
    inputs = re.findall(r'<input type="file"[^>]*>', form)
    assert inputs and not any("capture" in i and "multiple" in i for i in inputs), inputs
    gallery = next(i for i in inputs if 'name="photos"' in i)
    camera = next(i for i in inputs if 'name="photos_camera"' in i)
    assert "multiple" in gallery and "capture" not in gallery
    assert 'capture="environment"' in camera
    detail = village.get(f"/api/v1/targets/{target}").json()
    lon, lat = detail["coordinates"]["lon"], detail["coordinates"]["lat"]
    photo = {c: jpeg_bytes(lon=lon, lat=lat, colour=c) for c in ("red", "blue", "green")}
    answer = {"result": "not_found", "verified_on": "2024-03-12", "verified_by": "甲"}
    # Eleven in all (10 from the gallery, 1 taken): over the limit, nothing written.
    before = full_snapshot(env.store)
    many = [
        ("photos", (f"IMG_{i}.jpg", jpeg_bytes(colour=f"#{i:06x}"), "image/jpeg"))
        for i in range(10)
    ]
    res = _send(
        village,
        target,
        answer,
        files=[*many, ("photos_camera", ("cam.jpg", photo["red"], "image/jpeg"))],
    )
    assert res.status_code == 422, res.status_code
    assert "最多上传 10 张" in res.text
    # A taken "photo" that is no image: refused by its content, whatever its name.
    res = _send(
        village,
        target,
        answer,
        files=[("photos_camera", ("cam.jpg", b"not an image", "image/jpeg"))],
    )
    assert res.status_code == 422, res.status_code
    # Said as every refused form says it: nothing of the answer was kept, not the photo only.
    said = form_errors(res.text)
    assert "<p>照片有误，未写入任何数据：cam.jpg 不是 JPEG 或 PNG 图片（按内容判断）" in said
    # A bound is written out, never as 1e+07.
    res = _send(village, target, {**answer, "result": "confirmed", "area_m2": "-5"})
    assert res.status_code == 422, res.status_code
    assert "铲除面积（平方米）：应在 0 到 10000000 之间" in form_errors(res.text)
    assert full_snapshot(env.store) == before
    # One from each field: both kept.
    ok = _send(
        village,
        target,
        answer,
        files=[
            ("photos", ("IMG_1.jpg", photo["blue"], "image/jpeg")),
            ("photos_camera", ("image.jpg", photo["green"], "image/jpeg")),
        ],
    )
    assert ok.status_code == 303, form_errors(ok.text)
    names = {p["name"] for p in village.get(f"/api/v1/targets/{target}").json()["photos"]}
    assert names == {"IMG_1.jpg", "image.jpg"}
    # Photos without a capture time say so once under each.
    page = village.get(f"/targets/{target}").text
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    assert len(captions) == 2
    for caption in captions:
        text = re.sub(r"<[^>]+>", " ", caption)
        assert "照片没有拍摄时间" in text and text.count("拍摄时间") == 1, text


# -- 3, 4, 6 on the phone ------------------------------------------------------------------------


@pytest.mark.browser
def test_a_cadre_records_yesterdays_eradication_with_photos_on_the_phone(
    env: WebEnv, browser: Any, tmp_path: Path
) -> None:
    target = _mine(env, 2)
    yesterday = (today_local() - dt.timedelta(days=1)).isoformat()
    with serve(env.app()) as base:
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
        page = ctx.new_page()
        seen = watch(page, base)
        browser_login(page, base, VILLAGE_A)
        page.goto(f"{base}/feedback/{target}")
        assert page.input_value("input[name=verified_on]") == today_local().isoformat()
        page.select_option("select[name=result]", "confirmed")
        page.fill("input[name=verified_by]", "孙晓燕")
        page.fill("input[name=plants]", "40")
        page.fill("input[name=eradicated_on]", yesterday)
        # Today was only a guess: the check date follows the eradication back, and says so.
        assert page.input_value("input[name=verified_on]") == yesterday
        assert f"已改为铲除日期 {yesterday}" in page.inner_text("[data-verified-note]")
        # Photos: two from the gallery at once, then two taken one after the other.
        files = []
        for colour in ("red", "blue", "green", "yellow"):
            path = tmp_path / f"{colour}.jpg"
            path.write_bytes(jpeg_bytes(colour=colour))
            files.append(str(path))
        page.set_input_files("input[name=photos]", files[:2])
        cameras = page.locator("input[name=photos_camera]")
        assert cameras.count() == 1
        cameras.nth(0).set_input_files(files[2])
        assert cameras.count() == 2  # 再拍一张
        assert page.locator("[data-camera]").nth(1).inner_text().startswith("再拍一张")
        cameras.nth(1).set_input_files(files[3])
        assert cameras.count() == 3
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width  # the form, with its photo fields, fits the phone
        page.click("text=提交")
        page.wait_for_selector("text=已保存")
        detail = target_json(env, target)
        assert detail["feedback"]["verified_on"] == yesterday
        assert detail["feedback"]["eradicated_on"] == yesterday
        assert len(detail["photos"]) == 4
        # A correction of the count, and the history with its values fits the phone.
        page.goto(f"{base}/feedback/{target}")
        assert page.locator("[data-default-today]").count() == 0  # recorded: not a guess
        page.fill("input[name=plants]", "55")
        page.check("input[name=supersede]")
        page.fill("input[name=reason]", "复查又发现 15 株，铲除后一并清点")
        page.click("text=提交")
        page.wait_for_selector("text=已保存")
        line = page.locator("[data-testid=history-values]").first.inner_text()
        assert line == "株数 40 → 55", line
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        assert not seen.console_errors, seen.console_errors
        ctx.close()


def target_json(env: WebEnv, target: str) -> dict[str, Any]:
    from geoverify.workflows.targets import target_detail

    return json.loads(json.dumps(target_detail(env.store, target).to_json(), default=str))


# -- 7: targets a village may not answer ---------------------------------------------------------


def _closed_to_the_village(
    env: WebEnv,
    village: Client,
    office: Client,
    target: str,
    *,
    page_says: str,
    form_says: str,
    post_to: str,
) -> None:
    """The village's target page has no answer link and says why, its form is refused (403)
    saying why, an answer of photos alone sent to ``post_to`` is refused with nothing
    written, and the office still has the link and the form."""
    page = village.get(f"/targets/{target}").text
    assert f'href="/feedback/{target}"' not in page
    assert page_says in page
    form = village.get(f"/feedback/{target}")
    assert form.status_code == 403
    assert 'data-testid="feedback-form"' not in form.text
    assert form_says in form.text
    before = full_snapshot(env.store)
    res = village.post(
        post_to,
        data={"submission": str(uuid.uuid4())},
        files=[("photos", ("IMG_1.jpg", jpeg_bytes(colour="red"), "image/jpeg"))],
    )
    assert res.status_code == 403, res.text
    assert full_snapshot(env.store) == before
    assert f'href="/feedback/{target}"' in office.get(f"/targets/{target}").text
    assert 'data-testid="feedback-form"' in office.get(f"/feedback/{target}").text


def test_a_village_gets_no_form_for_a_target_not_dispatched(
    env: WebEnv, people: dict[str, Client]
) -> None:
    village, office = people[VILLAGE_A], people["office1"]
    frame = list_targets(env.store, batch=APRIL_BATCH).frame
    target = str(frame[frame["village_code"] == env.code_of(VILLAGE_A)]["target_id"].iloc[0])
    # Photos alone are an answer too: refused, nothing written.
    _closed_to_the_village(
        env,
        village,
        office,
        target,
        page_says="尚未派发到本村（社区），派发后才能填写核查反馈",
        form_says="尚未派发到本村（社区）",
        post_to=f"/api/v1/targets/{target}/feedback",
    )


def test_a_village_gets_no_form_for_a_reported_target(
    env: WebEnv, people: dict[str, Client]
) -> None:
    """(Last in this module: it reports the answered March targets.)"""
    village, office = people[VILLAGE_A], people["office1"]
    target = _mine(env, 4)
    answer = {
        "result": "excluded",
        "verified_on": "2024-03-12",
        "verified_by": "甲",
        "remarks": "玉米",
    }
    assert _send(village, target, answer).status_code == 303
    assert office.post(f"/batches/{BATCH}/district-report").status_code == 200
    _closed_to_the_village(
        env,
        village,
        office,
        target,
        page_says="已上报区禁毒办，村（社区）不能再更改；如需更正，请联系镇平安办",
        form_says="已上报区禁毒办",
        post_to=f"/feedback/{target}",
    )
