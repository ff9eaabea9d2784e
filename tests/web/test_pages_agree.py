"""The pages tell one story: what is overdue, which row is the town's total, what a form hides.

A workspace with the March batch dispatched (its due date long past) and the April batch
imported but not dispatched: April's targets are late by the calendar, yet nobody has been
asked to check them, so no page may call them overdue (逾期).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from geoverify.progress import OUTSIDE_LABEL, TOWN_LABEL
from geoverify.workflows import import_batch, list_targets
from tests.cli.feedback_helpers import full_snapshot
from tests.web.conftest import (
    APRIL_BATCH,
    BATCH,
    VILLAGE_A,
    Client,
    WebEnv,
    browser_login,
    env_with_april,
    hidden_fields,
    login,
)
from tests.web.live import serve, watch


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def two_batches(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebEnv]:
    yield from env_with_april(request, tmp_path_factory.mktemp("agree"))


@pytest.fixture(scope="module")
def people(two_batches: WebEnv) -> dict[str, Client]:
    app = two_batches.app()
    return {name: login(app, name) for name in ("office1", VILLAGE_A)}


def _count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))


def _late_on_feedback_list(page: str) -> set[str]:
    """Target ids the 核查反馈 list marks 已逾期."""
    items = re.findall(r"<li>(.*?)</li>", page, re.S)
    return {
        m.group(1)
        for item in items
        if "已逾期" in item
        and (m := re.search(r'class="id" href="/feedback/[^"]+">([^<]+)<', item))
    }


@pytest.mark.parametrize("who", ["office1", VILLAGE_A])
def test_overdue_is_the_same_on_every_page(
    two_batches: WebEnv, people: dict[str, Client], who: str
) -> None:
    client = people[who]
    every = client.get("/api/v1/targets").json()
    late = {t["target_id"] for t in client.get("/api/v1/targets?overdue=true").json()}
    april = {t["target_id"] for t in every if t["batch"] == APRIL_BATCH}
    assert late and april and not late & april  # April is not dispatched: nothing of it is late
    assert all(t["batch"] == BATCH for t in every if t["target_id"] in late)
    # 核查反馈: its 已逾期 marks are the overdue targets, not every open one past its date.
    assert _late_on_feedback_list(client.get("/feedback").text) == late
    # 首页 (every batch unless one is chosen) counts the same targets.
    status = client.get("/api/v1/status").json()
    assert status["batch"] is None and status["town"]["overdue"] == len(late)
    home = client.get("/").text
    assert '<option value="">全部</option>' in home  # the default: no batch chosen
    assert not re.search(r'<option value="[^"]+" selected>', home)
    counted = re.search(r'href="/targets\?overdue=1">(\d+)', home)  # the town's, or the village's
    assert counted is not None and int(counted.group(1)) == len(late)
    # One late target and one April target: their form and page say so, or do not.
    one_late = sorted(late)[0]
    one_april = sorted(april)[0]
    assert '<span class="badge overdue">已逾期</span>' in client.get(f"/feedback/{one_late}").text
    assert "已超过核查时限" in client.get(f"/targets/{one_late}").text
    assert client.get(f"/api/v1/targets/{one_late}").json()["overdue"] is True
    assert "已逾期" not in client.get(f"/feedback/{one_april}").text
    assert "已超过核查时限" not in client.get(f"/targets/{one_april}").text
    assert client.get(f"/api/v1/targets/{one_april}").json()["overdue"] is False


def test_the_total_row_is_the_towns_and_the_outside_row_stands_apart(
    people: dict[str, Client],
) -> None:
    office = people["office1"]
    for url in (f"/?batch={BATCH}", f"/batches/{BATCH}"):
        page = office.get(url).text
        rows = re.findall(r'<tr class="([^"]*)">\s*<th scope="row">(.*?)</th>', page, re.S)
        assert rows, url
        classes = {re.sub(r"<[^>]+>", "", label).strip(): cls for cls, label in rows}
        assert classes[TOWN_LABEL] == "total", (url, classes)
        assert classes[OUTSIDE_LABEL] == "apart", (url, classes)  # the sample has 镇外 targets
        assert [c for c in classes.values() if c == "total"] == ["total"], (url, classes)


PHONE = {"width": 412, "height": 915}


@pytest.mark.browser
def test_the_answer_form_shows_what_the_result_needs(two_batches: WebEnv, browser: Any) -> None:
    """排除 and 未发现 need no plants, area, eradication date or case number: those fields are
    hidden, and come back for 确认种植."""
    target = two_batches.target_of(VILLAGE_A)
    planting = ["plants", "area_m2", "area_mu", "eradicated_on", "case_no"]
    with serve(two_batches.app()) as base:
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
        page = ctx.new_page()
        seen = watch(page, base)
        browser_login(page, base, VILLAGE_A)
        page.goto(f"{base}/feedback/{target}")
        shown = {n: page.locator(f"[name={n}]").is_visible() for n in planting}
        assert shown == dict.fromkeys(planting, False), shown  # nothing chosen yet
        for result, visible in (("excluded", False), ("confirmed", True), ("not_found", False)):
            page.select_option("select[name=result]", result)
            shown = {n: page.locator(f"[name={n}]").is_visible() for n in planting}
            assert shown == dict.fromkeys(planting, visible), (result, shown)
        # The area in one unit: typing 亩 clears 平方米 (a correction fills it in), and back.
        page.select_option("select[name=result]", "confirmed")
        page.fill("[name=area_m2]", "200")
        page.locator("[name=area_mu]").press_sequentially("0.5")
        assert page.input_value("[name=area_m2]") == ""
        page.locator("[name=area_m2]").press_sequentially("300")
        assert page.input_value("[name=area_mu]") == ""
        assert not seen.console_errors, seen.console_errors
        ctx.close()


@pytest.mark.browser
def test_numbers_stand_under_their_headers(two_batches: WebEnv, browser: Any) -> None:
    """In the progress tables each header's text ends where its column's numbers end."""
    right_edges = """(table) => {
      const edge = (cell) => {
        const r = document.createRange(); r.selectNodeContents(cell);
        return r.getBoundingClientRect().right;
      };
      const heads = [...table.querySelectorAll("thead th")].slice(1);
      const first = [...table.querySelectorAll("tbody tr")][0];
      const cells = [...first.querySelectorAll("td")];
      return heads.map((h, i) => [h.textContent, edge(h), cells[i] ? edge(cells[i]) : null]);
    }"""
    with serve(two_batches.app()) as base:
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page = ctx.new_page()
        browser_login(page, base, "office1")
        for url in (f"/?batch={BATCH}", f"/batches/{BATCH}"):
            page.goto(f"{base}{url}")
            table = page.locator("table.grid.num").first
            for name, head, cell in table.evaluate(right_edges):
                if cell is None or name == "派发文件":  # links, not numbers
                    continue
                assert abs(head - cell) <= 2, (url, name, head, cell)
        ctx.close()


def test_refused_patrol_rows_are_named_as_the_form_numbers_them(
    two_batches: WebEnv, people: dict[str, Client]
) -> None:
    """The form's 第 3 行 is 第 3 行 in the reason (not the 4th row of a table made from it),
    a blank row between does not shift it, and the form comes back with what was typed."""
    from tests.cli.feedback_helpers import full_snapshot

    village = people[VILLAGE_A]
    before = full_snapshot(two_batches.store)
    typed = {
        "date_0": "2024-03-18",
        "people_0": "甲、乙",
        "findings_0": "未发现异常",
        # row 2 left blank
        "date_2": "三月十九",
        "people_2": "丙",
        "remarks_9": "第十行的备注",
    }
    res = village.post("/patrols/rows", data=typed)
    assert res.status_code == 422, res.text
    assert full_snapshot(two_batches.store) == before
    errors = re.search(r'data-testid="form-errors">(.*?)</div>', res.text, re.S)
    assert errors is not None
    said = re.sub(r"<[^>]+>", " ", errors.group(1))
    assert "第 3 行：踏查时间" in said and "第 10 行：踏查时间" in said, said
    assert "第 2 行" not in said and "第 4 行" not in said and "行 4" not in said, said
    assert "网页录入" not in said  # no file the user never had
    for name, value in typed.items():  # every typed value is back in its field
        assert re.search(rf'name="{name}"[^>]*value="{value}"', res.text), name
    assert res.text.count("<fieldset") == 10  # the form keeps the tenth row it was given


def test_the_map_page_names_the_month_its_map_shows(
    two_batches: WebEnv, people: dict[str, Client]
) -> None:
    """With no month chosen the map shows the latest month with patrols: the month field says
    which, and the map is asked for it by name."""
    village = people[VILLAGE_A]
    for day in ("2024-02-27", "2024-03-18"):
        saved = village.post("/patrols/rows", data={"date_0": day, "people_0": "甲"})
        assert saved.status_code == 200, saved.text
    page = people["office1"].get("/maps").text
    assert re.search(r'name="month" value="2024-03"', page), page
    assert re.search(r'src="/maps/map.html\?month=2024-03"', page), page


@pytest.mark.browser
def test_on_a_phone_every_menu_item_shows_and_wide_tables_keep_the_village(
    two_batches: WebEnv, browser: Any
) -> None:
    """At 412 px the office's menu wraps (no item past the edge, each a finger tall), and the
    progress table scrolls sideways with the village column staying in view."""
    with serve(two_batches.app()) as base:
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
        page = ctx.new_page()
        browser_login(page, base, "office1")
        page.goto(f"{base}/?batch={BATCH}")
        for link in page.locator("nav a, .nav a").all():
            box = link.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 412, box
            assert box["height"] >= 44, (link.inner_text(), box)
        scroller = page.locator(".scroll").first
        wide = scroller.evaluate("(e) => e.scrollWidth > e.clientWidth")
        assert wide  # ten columns do not fit a phone
        first = page.locator(".scroll tbody th[scope=row]").first
        before = first.bounding_box()
        scroller.evaluate("(e) => { e.scrollLeft = e.scrollWidth; }")
        after = first.bounding_box()
        assert before is not None and after is not None
        assert abs(after["x"] - before["x"]) <= 1, (before, after)  # it stayed put
        last = page.locator(".scroll thead th").last.bounding_box()
        assert last is not None and last["x"] + last["width"] <= 412 + 1  # the end came in view
        ctx.close()


def test_a_refused_answer_names_every_reason_at_once(
    two_batches: WebEnv, people: dict[str, Client]
) -> None:
    """A number out of range and two dates against the rules: all three reasons in one round,
    in the form's own words, and nothing written."""
    from tests.cli.feedback_helpers import full_snapshot

    village = people[VILLAGE_A]
    target = two_batches.targets[two_batches.code_of(VILLAGE_A)][2]
    before = full_snapshot(two_batches.store)
    res = village.post(
        f"/feedback/{target}",
        data={
            **hidden_fields(village, f"/feedback/{target}"),
            "result": "confirmed",
            "verified_on": "2024-02-01",  # before the batch was issued (2024-03-05)
            "verified_by": "张三",
            "plants": "-5",
            "eradicated_on": "2024-01-20",  # before the check
        },
    )
    assert res.status_code == 422, res.text
    assert full_snapshot(two_batches.store) == before
    errors = re.search(r'data-testid="form-errors">(.*?)</div>', res.text, re.S)
    assert errors is not None
    said = re.sub(r"<[^>]+>", " ", errors.group(1))
    assert said.strip().startswith("表单有误，未写入任何数据"), said
    assert "株数" in said and "早于下发日期" in said, said
    assert "铲除日期" in said, said
    assert f"靶标 {target}:" not in said, said


def test_a_batch_page_counts_its_targets_as_its_progress_table_does(
    people: dict[str, Client],
) -> None:
    """April re-sends targets of March: the header's count is the batch's targets, new and
    re-sent, as the progress table and the target list count them."""
    office = people["office1"]
    page = office.get(f"/batches/{APRIL_BATCH}").text
    head = re.search(r"<dt>靶标</dt><dd>(\d+) 个：新下发 (\d+)，重复下发 (\d+)", page)
    assert head is not None, page
    total, new, again = (int(g) for g in head.groups())
    assert again > 0 and total == new + again  # the sample re-sends some
    town = re.search(r'<tr class="total">\s*<th scope="row">[^<]*</th>\s*<td>(\d+)</td>', page)
    assert town is not None and int(town.group(1)) == total
    listed = office.get(f"/api/v1/targets?batch={APRIL_BATCH}").json()
    assert len(listed) == total


def test_a_resent_answer_is_replayed_after_the_target_changed(
    two_batches: WebEnv, people: dict[str, Client]
) -> None:
    """A phone resends its answer (no version given, as the API allows) after the office has
    corrected the target: the first answer comes back, not a refusal by today's rules."""
    import uuid

    village, office = people[VILLAGE_A], people["office1"]
    target = two_batches.targets[two_batches.code_of(VILLAGE_A)][3]
    body = {
        "submission": str(uuid.uuid4()),
        "result": "not_found",
        "verified_on": "2024-03-12",
        "verified_by": "张三",
    }
    first = village.post(f"/api/v1/targets/{target}/feedback", data=body)
    assert first.status_code == 200, first.text
    corrected = office.post(
        f"/feedback/{target}",
        data={
            **hidden_fields(office, f"/feedback/{target}"),
            "result": "excluded",
            "verified_on": "2024-03-13",
            "verified_by": "李四",
            "remarks": "玉米",
            "supersede": "true",
            "reason": "复核",
        },
    )
    assert corrected.status_code == 303, corrected.text
    again = village.post(f"/api/v1/targets/{target}/feedback", data=body)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def test_an_unreadable_field_is_named_once(people: dict[str, Client], two_batches: WebEnv) -> None:
    """A date that is no date is said once, by its field, not again as a missing date."""
    village = people[VILLAGE_A]
    target = two_batches.targets[two_batches.code_of(VILLAGE_A)][4]
    res = village.post(
        f"/feedback/{target}",
        data={
            **hidden_fields(village, f"/feedback/{target}"),
            "result": "excluded",
            "verified_on": "2024-13-45",
            "verified_by": "张三",
        },
    )
    assert res.status_code == 422, res.text
    errors = re.search(r'data-testid="form-errors">(.*?)</div>', res.text, re.S)
    assert errors is not None
    said = re.sub(r"<[^>]+>", " ", errors.group(1))
    assert said.count("核查日期") == 1, said


def test_the_navigation_buttons_are_the_same_wherever_they_stand(
    two_batches: WebEnv, people: dict[str, Client]
) -> None:
    """A target's page and its answer form offer the same apps, named as the maps and the
    dispatch lists name them, each opening the target's own link."""
    import html

    from geoverify.navigation import NAV_APPS

    village = people[VILLAGE_A]
    target = two_batches.target_of(VILLAGE_A)

    def buttons(url: str) -> list[tuple[str, str]]:
        block = re.search(r'data-testid="nav-links">(.*?)</div>', village.get(url).text, re.S)
        assert block is not None, url
        found = re.findall(r'<a class="button" href="([^"]+)"[^>]*>([^<]+)</a>', block.group(1))
        return [(html.unescape(href), label) for href, label in found]

    on_page, on_form = buttons(f"/targets/{target}"), buttons(f"/feedback/{target}")
    assert on_page == on_form
    links = village.get(f"/api/v1/targets/{target}").json()["links"]
    assert on_page == [(links[key], label) for key, label in NAV_APPS.items()]


def test_only_the_targets_nobody_took_on_stand_apart() -> None:
    """镇外 targets the office took on count in the town's total: a row like a village's."""
    from geoverify.progress import TAKEN_ON_LABEL
    from geoverify.web.templating import progress_row_class

    def row(village: str, cases: int) -> dict[str, Any]:
        return {"village": village, "village_code": None, "threshold_cases": cases}

    assert progress_row_class(row(TOWN_LABEL, 2)) == "total"
    assert progress_row_class(row(OUTSIDE_LABEL, 1)) == "apart"
    assert progress_row_class(row(TAKEN_ON_LABEL, 1)) == "hot"
    assert progress_row_class(row(TAKEN_ON_LABEL, 0)) == ""
    village = {"village": "青龙村", "village_code": "1", "threshold_cases": 1}
    assert progress_row_class(village) == "hot"


def test_a_batch_all_outside_the_town_still_shows_its_table(
    two_batches: WebEnv, people: dict[str, Client], tmp_path: Any
) -> None:
    """(Last in this module: it adds a batch.) Nothing of it is the town's work, but the office
    must see it, to send it back."""
    path = tmp_path / "outside.csv"
    path.write_text("靶标编号,经度,纬度\nOUT-1,107.5,30.5\n", encoding="utf-8")
    import_batch(two_batches.store, path, batch_id="2024-05", actor="pytest")
    page = people["office1"].get("/?batch=2024-05").text
    assert 'data-testid="progress"' in page
    apart = rf'<tr class="apart">\s*<th scope="row">{OUTSIDE_LABEL}</th>\s*<td>1</td>'
    assert re.search(apart, page), page


def test_a_village_answers_only_what_was_dispatched_to_it(
    people: dict[str, Client], two_batches: WebEnv
) -> None:
    """April is imported, not dispatched: its targets are not in the village's 核查反馈 list,
    and an answer to one is refused (it would count the target as 已派发)."""
    village = people[VILLAGE_A]
    frame = list_targets(two_batches.store, batch=APRIL_BATCH).frame
    mine = frame[frame["village_code"] == two_batches.code_of(VILLAGE_A)]
    undispatched = [str(t) for t in mine["target_id"]]
    assert undispatched and set(mine["status"]) == {"issued"}
    listed = village.get("/feedback").text
    assert not any(t in listed for t in undispatched)
    target = undispatched[0]
    before = full_snapshot(two_batches.store)
    res = village.post(
        f"/api/v1/targets/{target}/feedback",
        data={
            "submission": str(uuid.uuid4()),
            "result": "excluded",
            "verified_on": "2024-04-05",
            "verified_by": "甲",
        },
    )
    assert res.status_code == 403, res.text
    assert "尚未派发" in res.json()["detail"]
    assert full_snapshot(two_batches.store) == before
