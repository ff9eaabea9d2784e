"""Input the office's pages took that they should have refused, found by a walk through them."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from geoverify.clock import today_local
from geoverify.errors import InputError
from geoverify.workflows.batches import check_batch_id
from tests.cli.feedback_helpers import full_snapshot
from tests.web.conftest import Client, WebEnv, gpx_track, walk_inside

CSV = "靶标编号,经度,纬度\nS1,106.05,29.70\n"


@pytest.mark.parametrize("bad", ["2024/06", "../../etc", "a\\b", "2024?x", "50%", "..", "a\tb"])
def test_a_batch_id_that_cannot_name_a_page_is_refused(bad: str) -> None:
    with pytest.raises(InputError, match="批次编号"):
        check_batch_id(bad)


def test_a_batch_id_of_words_and_dashes_is_kept() -> None:
    assert check_batch_id("  2024年第1批-补充_二 ") == "2024年第1批-补充_二"


def test_the_upload_page_refuses_a_batch_id_with_a_slash(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    before = full_snapshot(web_env.store)
    page = clients["office1"].post(
        "/batches/preview",
        data={"batch": "2024/06", "issued": "2024-05-01"},
        files={"file": ("六月.csv", CSV.encode("utf-8"), "text/csv")},
    )
    assert page.status_code == 422, page.text[:300]
    assert "批次编号「2024/06」不能含有" in page.text
    assert full_snapshot(web_env.store) == before


@pytest.mark.parametrize("days", [1, 27000])
def test_a_track_dated_in_the_future_is_refused(
    web_env: WebEnv, clients: dict[str | None, Client], days: int
) -> None:
    """Tomorrow in the town is as much in the future as 2099 (as on the answer form)."""
    # A track without times, dated on the form.
    gpx = gpx_track(walk_inside(web_env, "qinglong"), dt.date(2024, 3, 1))
    untimed = gpx.replace(b"<time>", b"<!--").replace(b"</time>", b"-->")
    day = (today_local() + dt.timedelta(days=days)).isoformat()
    before = full_snapshot(web_env.store)
    res = clients["office1"].post(
        "/patrols/upload",
        data={"date": day, "village": "青龙村"},
        files={"file": ("无时间.gpx", untimed, "application/gpx+xml")},
    )
    assert res.status_code == 422, res.text[:300]
    assert f"踏查日期 {day} 不合理（早于 2000 年或晚于 {today_local().isoformat()}）" in res.text
    assert full_snapshot(web_env.store) == before


def test_a_row_with_two_problems_is_one_rejected_row(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    # Row 3 has two problems (its longitude and its latitude); row 4 one.
    text = "靶标编号,经度,纬度\nR1,106.05,29.70\nR2,abc,xyz\nR3,106.04,\n"
    page = clients["office1"].post(
        "/batches/preview",
        data={"batch": "rows-1", "issued": "2024-05-01"},
        files={"file": ("五月.csv", text.encode("utf-8"), "text/csv")},
    )
    assert page.status_code == 200, page.text[:300]
    assert '<dd data-testid="rejected-count">2 行</dd>' in page.text
    assert "有误的行（2 行，3 处问题）" in page.text


def test_the_batch_page_lists_the_rows_an_import_left_out(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    text = "靶标编号,经度,纬度\nL1,106.05,29.70\nL2,abc,29.70\nL3,106.04,\n"
    page = office.post(
        "/batches/preview",
        data={"batch": "left-out-1", "issued": "2024-05-01"},
        files={"file": ("五月.csv", text.encode("utf-8"), "text/csv")},
    )
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None, page.text[:300]
    res = office.post("/batches/commit", data={"token": token.group(1), "accept_partial": "1"})
    assert res.status_code == 303
    shown = office.get(res.headers["location"]).text
    table = shown[shown.index('data-testid="batch-rejected"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr><td>(\d+)</td><td class=\"id\">([^<]*)</td><td>([^<]*)</td>", table)
    assert [(r, i) for r, i, _ in rows] == [("3", "L2"), ("4", "L3")]
    assert all(reason and "(" not in reason for _, _, reason in rows)  # Chinese only
    assert "有误未导入的行（2 行）" in shown


def test_bad_input_is_said_in_chinese_without_the_parsers_english(
    clients: dict[str | None, Client],
) -> None:
    office = clients["office1"]
    month = office.get("/patrols?month=2024-13")
    assert month.status_code == 422
    assert "月份：应为 YYYY-MM，例如 2024-03（“2024-13”不是有效的月份）" in month.text
    checked = office.get("/maps?month=2024-3")  # refused by the query's own pattern
    assert checked.status_code == 422
    assert "月份：应为 YYYY-MM" in checked.text and "参数 month" not in checked.text
    for page in ("/maps", "/patrols"):  # one check, one message, on both pages
        said = office.get(page, params={"month": "2024-3"})
        assert said.status_code == 422
        assert "月份：应为 YYYY-MM，例如 2024-03（“2024-3”不是有效的月份）" in said.text, page
    broken = b'<?xml version="1.0"?><gpx version="1.1"><trk><trkseg><trkpt lat="29.7"'
    res = office.post(
        "/patrols/upload",
        data={"date": "2024-03-01", "village": "青龙村"},
        files={"file": ("坏轨迹.gpx", broken, "application/gpx+xml")},
    )
    assert res.status_code == 422, res.text[:300]
    shown = re.sub(r"<details.*?</details>", "", res.text, flags=re.S)  # 技术信息, folded
    assert "GPX 格式错误" in shown and "文件可能不完整或已损坏" in shown
    assert "malformed" not in shown and "unclosed" not in shown


def test_a_patrol_of_a_group_the_village_does_not_have_is_refused(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    village = clients["qinglong"]
    before = full_snapshot(web_env.store)
    res = village.post(
        "/patrols/rows",
        data={"date_0": "2024-03-18", "people_0": "甲", "group_0": "九组"},
    )
    assert res.status_code == 422, res.text[:300]
    assert "青龙村没有“九组”（有：一组" in res.text
    assert full_snapshot(web_env.store) == before
    ok = village.post(
        "/patrols/rows",
        data={"date_0": "2024-03-18", "people_0": "甲", "group_0": "一组"},
    )
    assert ok.status_code in (200, 303), ok.text[:300]


def test_a_bad_filter_value_is_named_in_chinese(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    res = clients["office1"].get("/targets", params={"status": "bogus"})
    assert res.status_code == 422, res.text[:300]
    cells = re.findall(r"<td>(.*?)</td>", res.text[res.text.index("<tbody>") :], re.S)
    assert "状态" in cells and "status" not in cells
    # The reason beside the field's column does not name the field again (状态：取值无效).
    assert "取值无效" in cells and "状态：取值无效" not in cells
    # The API keeps the parameter's own name for scripts.
    api = clients["office1"].get("/api/v1/targets", params={"status": "bogus"})
    assert api.status_code == 422
    assert [r["field"] for r in api.json()["rows"]] == ["status"]


def test_a_track_whose_times_fall_tomorrow_is_refused(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    """A device's clock ahead dates a track tomorrow in the town: refused, as a typed date is."""
    from geoverify.clock import LOCAL_TZ

    start = dt.datetime.combine(
        today_local() + dt.timedelta(days=1), dt.time(0, 0, 10), tzinfo=LOCAL_TZ
    )
    if (start - dt.datetime.now(dt.UTC)).total_seconds() > 86_000:
        pytest.skip("within minutes after midnight in the town: tomorrow's first fix is a glitch")
    fixes = "".join(
        f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><time>'
        f"{(start + dt.timedelta(seconds=10 * i)).astimezone(dt.UTC).isoformat()}</time></trkpt>"
        for i, (lon, lat) in enumerate(walk_inside(web_env, "qinglong"))
    )
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="t" '
        'xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>明天</name><trkseg>{fixes}</trkseg></trk></gpx>"
    ).encode()
    before = full_snapshot(web_env.store)
    res = clients["office1"].post(
        "/patrols/upload", files={"file": ("明天.gpx", gpx, "application/gpx+xml")}
    )
    assert res.status_code == 422, res.text[:300]
    tomorrow = (today_local() + dt.timedelta(days=1)).isoformat()
    assert f"轨迹的日期 {tomorrow} 晚于今天 {today_local().isoformat()}" in res.text
    assert full_snapshot(web_env.store) == before


def test_a_refusals_field_names_a_check_in_chinese_and_keeps_a_files_column() -> None:
    from geoverify.web.templating import _env

    field = _env.filters["field"]
    assert (field("track"), field("status"), field(None)) == ("轨迹", "状态", "")
    # A district's column area_m2 is the site's area, not the form's eradicated area.
    assert (field("area_m2"), field("面积（平方米）")) == ("area_m2", "面积（平方米）")
