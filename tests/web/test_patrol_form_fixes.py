"""The 踏查 forms as the office (desk, 1400 × 900) and a village cadre (phone, 412 and 360 px)
meet them: a refused upload or refused typed rows come back with what was chosen and typed
(only the file must be chosen again), the store untouched; the typed rows are a compact table
at a desk and one column on a phone. Screenshots go to ``test-artifacts/web/``."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from itertools import pairwise
from typing import Any

import pytest

from tests.cli.feedback_helpers import full_snapshot
from tests.conftest import snapshot
from tests.web.conftest import (
    USERS,
    VILLAGE_A,
    VILLAGE_B,
    Client,
    WebEnv,
    browser_login,
    form_errors,
    gpx_track,
    walk_inside,
)
from tests.web.live import ARTIFACTS, serve, watch

BROKEN_GPX = b'<?xml version="1.0"?><gpx version="1.1"><trk><trkseg><trkpt lat="29.7"'
ROW_FIELDS = ("date", "group", "people", "findings", "remarks")


class _FormFields(HTMLParser):
    """The fields of the form posting to ``action`` as a browser would fill them from the page:
    inputs by their value, selects by their selected option (files and hidden fields left out)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.values: dict[str, str] = {}
        self._inside = False
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._inside = a.get("action") == self.action
        if not self._inside or not a.get("name"):
            if tag == "option" and self._inside and self._select and "selected" in a:
                self.values[self._select] = a.get("value", "")
            return
        if tag == "input" and a.get("type") not in ("hidden", "file"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self.values[a["name"]] = ""
        elif tag == "textarea":
            self.values[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._inside = False


def fields_of(html: str, action: str) -> dict[str, str]:
    parser = _FormFields(action)
    parser.feed(html)
    assert parser.values, f"no form posting to {action}"
    return parser.values


def _village_code(web_env: WebEnv, user: str) -> str:
    return web_env.code_of(user)


# -- 1. a refused upload keeps what was chosen and typed ---------------------------------------
def test_a_refused_track_upload_keeps_the_form(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    code = _village_code(web_env, VILLAGE_A)
    typed = {"village": code, "date": "2024-03-18", "people": "张三、李四", "month": "2024-03"}
    typed |= {"group": "一组", "findings": "未发现异常"}
    before = full_snapshot(web_env.store)
    res = office.post(
        "/patrols/upload",
        data=typed,
        files={"file": ("坏轨迹.gpx", BROKEN_GPX, "application/gpx+xml")},
    )
    assert res.status_code == 422, res.text[:300]
    assert "GPX 格式错误" in form_errors(res.text)
    shown = fields_of(res.text, "/patrols/upload")
    assert shown == {
        "village": code, "date": "2024-03-18", "people": "张三、李四",
        "group": "一组", "findings": "未发现异常",
    }, shown  # fmt: skip
    assert "文件需要重新选择" in res.text
    assert "踏查 · 2024-03" in res.text  # the month the page was on
    assert full_snapshot(web_env.store) == before
    assert snapshot(web_env.store)["counts"] == before["counts"]


def test_a_date_that_is_no_date_is_kept_as_typed(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    gpx = gpx_track(walk_inside(web_env, VILLAGE_A), dt.date(2024, 3, 1))
    before = full_snapshot(web_env.store)
    res = clients["office1"].post(
        "/patrols/upload",
        data={"date": "2024-02-30", "people": "王五"},
        files={"file": ("三月.gpx", gpx, "application/gpx+xml")},
    )
    assert res.status_code == 422, res.text[:300]
    assert "踏查日期：日期格式应为 YYYY-MM-DD" in form_errors(res.text)
    shown = fields_of(res.text, "/patrols/upload")
    assert shown["date"] == "2024-02-30" and shown["people"] == "王五", shown
    assert shown["village"] == ""  # 按轨迹所在村自动判断, as left
    assert full_snapshot(web_env.store) == before


def test_a_village_track_outside_it_keeps_the_form(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    elsewhere = gpx_track(walk_inside(web_env, VILLAGE_B), dt.date(2024, 3, 21))
    untimed = elsewhere.replace(b"<time>", b"<!--").replace(b"</time>", b"-->")
    before = full_snapshot(web_env.store)
    res = clients[VILLAGE_A].post(
        "/patrols/upload",
        data={"date": "2024-03-21", "people": "孙晓燕"},
        files={"file": ("轨迹.gpx", untimed, "application/gpx+xml")},
    )
    assert res.status_code == 422, res.text[:300]
    assert "不经过" in form_errors(res.text)
    shown = fields_of(res.text, "/patrols/upload")
    # no village to choose
    assert shown == {"date": "2024-03-21", "people": "孙晓燕", "group": "", "findings": ""}, shown
    assert "文件需要重新选择" in res.text
    assert full_snapshot(web_env.store) == before


def test_a_track_from_the_phone_says_its_group_and_findings(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    """A cadre's track upload carries 组 and 踏查情况 into its record (and the monthly table's
    row), as a typed row would; a group the village does not have is refused."""
    walk = gpx_track(walk_inside(web_env, VILLAGE_A), dt.date(2024, 3, 23))
    cadre = clients[VILLAGE_A]
    before = full_snapshot(web_env.store)
    sent = {"people": "孙晓燕", "findings": "未发现异常", "month": "2024-03"}
    res = cadre.post(
        "/patrols/upload",
        data=sent | {"group": "九十九组"},
        files={"file": ("轨迹.gpx", walk, "application/gpx+xml")},
    )
    assert res.status_code == 422 and "没有“九十九组”" in form_errors(res.text)
    assert full_snapshot(web_env.store) == before
    with web_env.store.connect() as conn:
        from geoverify.store import repo

        groups = repo.load_groups(conn)
    group = str(groups.loc[groups["village_code"] == web_env.code_of(VILLAGE_A), "name"].iloc[0])
    res = cadre.post(
        "/patrols/upload",
        data=sent | {"group": group},
        files={"file": ("轨迹.gpx", walk, "application/gpx+xml")},
    )
    assert res.status_code == 200 and "已登记 1 条踏查记录" in res.text, res.text[:300]
    listed = cadre.get("/patrols?month=2024-03").text
    assert f"2024-03-23 · {USERS[VILLAGE_A][1]} · {group}" in listed
    from geoverify.workflows.patrols import list_patrols

    day = dt.date(2024, 3, 23)
    mine = list_patrols(web_env.store, start=day, end=day, village=web_env.code_of(VILLAGE_A))
    said = mine[["group", "people", "findings"]].values.tolist()
    assert said == [[group, "孙晓燕", "未发现异常"]]


def test_refused_typed_rows_keep_the_village_and_every_row(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    code = _village_code(web_env, VILLAGE_A)
    typed = {
        "village": code,
        "date_0": "2024-03-18",
        "group_0": "一组",
        "people_0": "甲、乙",
        "findings_0": "未发现异常",
        "remarks_0": "雨后",
        "date_2": "2024-03-19",
        "group_2": "九组",  # 青龙村 has no 九组
        "people_2": "丙",
        "remarks_2": "山脚",
    }
    before = full_snapshot(web_env.store)
    res = clients["office1"].post("/patrols/rows", data=typed)
    assert res.status_code == 422, res.text[:300]
    assert "第 3 行" in form_errors(res.text) and "九组" in form_errors(res.text)
    shown = fields_of(res.text, "/patrols/rows")
    for name, value in typed.items():
        assert shown[name] == value, (name, shown[name])
    untyped = {f"{k}_{i}" for k in ROW_FIELDS for i in range(8)} - set(typed)
    assert all(shown[name] == "" for name in untyped), shown
    assert full_snapshot(web_env.store) == before


def test_typed_rows_naming_an_unknown_village_keep_the_rows(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    typed = {"village": "没有这个村", "date_0": "2024-03-18", "people_0": "甲"}
    before = full_snapshot(web_env.store)
    res = clients["office1"].post("/patrols/rows", data=typed)
    assert res.status_code == 422, res.text[:300]
    assert "没有这个村" in form_errors(res.text)
    shown = fields_of(res.text, "/patrols/rows")
    assert shown["date_0"] == "2024-03-18" and shown["people_0"] == "甲", shown
    assert full_snapshot(web_env.store) == before


# -- 2. the typed rows: a table at a desk, one column on a phone -------------------------------
DESK = {"width": 1400, "height": 900}
PHONES = ({"width": 412, "height": 915}, {"width": 360, "height": 740})

BOXES_JS = """names => Object.fromEntries(names.map(n => {
  const b = document.querySelector(`[name=${n}]`).getBoundingClientRect();
  return [n, {x: b.left, y: b.top, w: b.width, h: b.height}];
}))"""
#: The fields of the form's first two rows.
TWO_ROWS = [f"{k}_{i}" for i in (0, 1) for k in ROW_FIELDS]


def _rows_page(browser: Any, base: str, user: str, size: dict[str, int]) -> tuple[Any, Any]:
    phone = size["width"] < 800
    ctx = browser.new_context(viewport=size, locale="zh-CN", is_mobile=phone, has_touch=phone)
    page = ctx.new_page()
    seen = watch(page, base)
    browser_login(page, base, user)
    page.goto(f"{base}/patrols/rows")
    page.wait_for_load_state("load")
    return page, seen


@pytest.mark.browser
def test_typed_rows_are_a_table_at_a_desk_and_one_column_on_a_phone(
    web_env: WebEnv, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(web_env.app()) as base:
        page, seen = _rows_page(browser, base, "office1", DESK)
        boxes = page.evaluate(BOXES_JS, TWO_ROWS)
        first = [boxes[f"{k}_0"] for k in ROW_FIELDS]
        # one line a row: every field of row 1 on the same line, left to right, none overlapping
        assert max(b["y"] for b in first) - min(b["y"] for b in first) < 2, first
        assert all(a["x"] + a["w"] <= b["x"] for a, b in pairwise(first))
        assert all(b["w"] >= 90 for b in first), first  # each still wide enough to type in
        # row 2 right under row 1, in the same columns
        second = [boxes[f"{k}_1"] for k in ROW_FIELDS]
        gap = second[0]["y"] - (first[0]["y"] + first[0]["h"])
        assert 0 <= gap < 40, gap
        assert all(abs(a["x"] - b["x"]) < 1 for a, b in zip(first, second, strict=True))
        # the column heads stand over their fields
        heads = page.locator("[data-testid=row-heads] > *")
        assert heads.count() == len(ROW_FIELDS) + 1
        assert page.evaluate("document.scrollingElement.scrollWidth") <= DESK["width"]
        # eight rows and the submit button within about one screen (was about three)
        submit = page.locator("form[action='/patrols/rows'] button[type=submit]").bounding_box()
        assert submit is not None and submit["y"] + submit["height"] < DESK["height"] * 1.2
        page.screenshot(path=str(ARTIFACTS / "patrol_rows_1400.png"), full_page=True)
        assert not seen.console_errors, seen.console_errors
        page.context.close()

        for size in PHONES:
            page, seen = _rows_page(browser, base, VILLAGE_A, size)
            boxes = page.evaluate(BOXES_JS, TWO_ROWS)
            fields = [boxes[f"{k}_0"] for k in ROW_FIELDS]
            # one field a line, each as wide as the others
            assert all(a["y"] + a["h"] <= b["y"] for a, b in pairwise(fields))
            assert max(b["w"] for b in fields) - min(b["w"] for b in fields) < 2, fields
            assert page.evaluate("document.scrollingElement.scrollWidth") <= size["width"]
            # each field says what it is (its label above it, not only the desk's column heads)
            assert page.locator("[data-testid=row-heads]").is_hidden()
            label = page.locator("label:has([name=people_0])")
            assert "踏查人员" in label.inner_text()
            assert "第 1 行" in page.inner_text("form[action='/patrols/rows']")
            page.screenshot(
                path=str(ARTIFACTS / f"patrol_rows_{size['width']}.png"), full_page=True
            )
            assert not seen.console_errors, seen.console_errors
            page.context.close()


@pytest.mark.browser
def test_a_refused_upload_in_the_browser_shows_the_form_as_it_was(
    web_env: WebEnv, browser: Any, tmp_path: Any
) -> None:
    """Chosen and typed in Chromium, refused: the date and the village are in their fields again
    (a date field drops a value it cannot read, so this is the browser's own word)."""
    bad = tmp_path / "坏轨迹.gpx"
    bad.write_bytes(BROKEN_GPX)
    name = USERS[VILLAGE_A][1]
    with serve(web_env.app()) as base:
        for user, size in (("office1", DESK), (VILLAGE_A, PHONES[0])):
            phone = size is not DESK
            ctx = browser.new_context(
                viewport=size, locale="zh-CN", is_mobile=phone, has_touch=phone
            )
            page = ctx.new_page()
            seen = watch(page, base)
            browser_login(page, base, user)
            page.goto(f"{base}/patrols?month=2024-03")
            form = page.locator("form[action='/patrols/upload']")
            form.locator("input[name=file]").set_input_files(str(bad))
            if not phone:
                form.locator("select[name=village]").select_option(label=name)
            form.locator("input[name=date]").fill("2024-03-18")
            form.locator("input[name=people]").fill("张三")
            form.locator("button[type=submit]").click()
            page.wait_for_load_state("load")
            assert "GPX 格式错误" in page.inner_text("[data-testid=form-errors]")
            assert form.locator("input[name=date]").input_value() == "2024-03-18"
            assert form.locator("input[name=people]").input_value() == "张三"
            assert form.locator("input[name=file]").input_value() == ""  # chosen again
            if not phone:
                chosen = form.locator("select[name=village] option:checked").inner_text()
                assert chosen == name
            assert "踏查 · 2024-03" in page.inner_text("h1")
            assert page.evaluate("document.scrollingElement.scrollWidth") <= size["width"]
            page.screenshot(
                path=str(ARTIFACTS / f"patrols_refused_{size['width']}.png"), full_page=True
            )
            # the browser notes the refusal's status (422), and nothing else went wrong
            others = [e for e in seen.console_errors if "status of 422" not in e]
            assert others == [], seen.console_errors
            ctx.close()


# -- 3. the map page with a month that is none -------------------------------------------------
def test_the_map_page_says_a_bad_month_beside_its_field(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    from tests.web.conftest import BATCH

    office = clients["office1"]
    for bad in ("2024-13", "2024-3", "三月"):
        page = office.get("/maps", params={"batch": BATCH, "month": bad})
        assert page.status_code == 422, page.text[:300]
        said = form_errors(page.text)
        assert "月份：应为 YYYY-MM" in said and bad in said, said
        assert "mapframe" not in page.text  # no frame of a map that cannot be drawn
        assert fields_of(page.text, "/maps") == {"batch": BATCH, "month": bad}
    # an unknown batch is said there too, the month kept
    page = office.get("/maps", params={"batch": "没有的批次", "month": "2024-03"})
    assert page.status_code == 404, page.text[:300]
    assert "没有批次「没有的批次」" in form_errors(page.text)
    assert fields_of(page.text, "/maps")["month"] == "2024-03"
    # a good month still frames its map
    page = office.get("/maps", params={"month": "2024-03"})
    assert page.status_code == 200
    assert 'src="/maps/map.html?month=2024-03"' in page.text


@pytest.mark.parametrize(
    ("query", "status", "said"),
    [
        ("month=2024-13", 422, "月份：应为 YYYY-MM"),
        ("month=2024-3", 422, "月份：应为 YYYY-MM"),
        ("batch=没有的批次", 404, "没有批次 没有的批次"),
    ],
)
def test_the_maps_frame_says_a_refusal_without_the_apps_header(
    clients: dict[str | None, Client], query: str, status: int, said: str
) -> None:
    from geoverify.web.routers.maps import MAP_CSP

    for user in ("office1", VILLAGE_A):
        res = clients[user].get(f"/maps/map.html?{query}")
        assert res.status_code == status, res.text[:300]
        assert res.headers["content-type"].startswith("text/html")
        assert res.headers["content-security-policy"] == MAP_CSP
        text = str(res.text)
        assert said in text, text
        # bare: none of the app's header, menu, login form or footer inside the frame
        for chrome in ('class="top"', "主菜单", "/logout", "退出", 'class="foot"', "/static/"):
            assert chrome not in text, chrome
        shown = text.split("<details>")[0]
        assert "month must" not in shown and "no such" not in shown  # English folded away
    # the API still answers with its problem document
    api = clients["office1"].get(f"/api/v1/maps/map.html?{query}")
    assert api.status_code in (404, 422), api.text[:300]
    assert api.headers["content-type"].startswith("application/problem+json")


@pytest.mark.browser
def test_the_maps_frame_refusal_is_styled_under_the_maps_policy(
    web_env: WebEnv, browser: Any
) -> None:
    with serve(web_env.app()) as base:
        ctx = browser.new_context(
            viewport=PHONES[0], locale="zh-CN", is_mobile=True, has_touch=True
        )
        page = ctx.new_page()
        seen = watch(page, base)
        browser_login(page, base, VILLAGE_A)
        page.goto(f"{base}/maps?month=2024-03")
        frame = page.locator("iframe.mapframe")
        assert frame.count() == 1
        # the frame sent to a month that is none (a bookmark, a link typed by hand)
        frame.evaluate("f => { f.src = '/maps/map.html?month=2024-13'; }")
        inner = page.frame_locator("iframe.mapframe")
        msg = inner.locator("[data-testid=map-error]")
        msg.wait_for()
        assert "月份：应为 YYYY-MM" in msg.inner_text()
        assert inner.locator("header, nav, .top").count() == 0
        colour = msg.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(253, 236, 236)", colour  # its inline style is allowed
        others = [e for e in seen.console_errors if "status of 422" not in e]
        assert others == [], seen.console_errors
        page.screenshot(path=str(ARTIFACTS / "maps_frame_refused_412.png"))
        ctx.close()


def _timed_gpx(points: list[tuple[float, float]], times: list[str]) -> bytes:
    fixes = "".join(
        f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><time>{t}</time></trkpt>'
        for (lon, lat), t in zip(points, times, strict=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="t" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{fixes}</trkseg></trk></gpx>'
    ).encode()


def test_gps_fixes_dropped_for_their_times_are_said_so(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    """A device clock years ahead: a track whose every fix is in the future is refused in
    Chinese alone (no reason codes), and one with some such fixes says why they did not count
    (not a generic list of what glitches may be)."""
    walk = walk_inside(web_env, VILLAGE_A)
    cadre = clients[VILLAGE_A]
    ahead = [f"2031-05-0{1 + i // 6}T0{i % 6}:00:00Z" for i in range(len(walk))]
    before = full_snapshot(web_env.store)
    res = cadre.post(
        "/patrols/upload",
        data={"month": "2024-03"},
        files={"file": ("将来.gpx", _timed_gpx(walk, ahead), "application/gpx+xml")},
    )
    assert res.status_code == 422
    said = form_errors(res.text)
    assert f"时间不合理（早于 2000 年或晚于现在） {len(walk)}" in said
    assert "implausible_time" not in said and "dropped" not in said
    assert full_snapshot(web_env.store) == before
    now = [f"2024-03-24T0{i % 10}:{i:02d}:00Z" for i in range(8)]
    res = cadre.post(
        "/patrols/upload",
        data={"month": "2024-03"},
        files={"file": ("半对.gpx", _timed_gpx(walk, now + ahead[8:]), "application/gpx+xml")},
    )
    assert res.status_code == 200 and "已登记 1 条踏查记录" in res.text, res.text[:300]
    assert f"定位点未计入覆盖率：时间不合理（早于 2000 年或晚于现在） {len(walk) - 8}" in res.text
    assert "请核对设备时间" in res.text
