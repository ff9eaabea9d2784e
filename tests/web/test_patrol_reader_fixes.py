"""The 踏查 pages on the two reading fixes: a typed row without a date is told its date is
missing (not "unrecognisable"), by the form's own row number; a KML of timed points from a
phone is a patrol dated by its times."""

from __future__ import annotations

import datetime as dt

from tests.cli.feedback_helpers import full_snapshot
from tests.web.conftest import VILLAGE_A, Client, WebEnv, form_errors, walk_inside


def test_a_typed_row_without_a_date_is_said_to_miss_it(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    typed = {
        "village": web_env.code_of(VILLAGE_A),
        "date_0": "2024-03-18",
        "people_0": "甲",
        "people_2": "乙",  # the third row: typed, but no date
        "findings_2": "未发现异常",
    }
    before = full_snapshot(web_env.store)
    res = clients["office1"].post("/patrols/rows", data=typed)
    assert res.status_code == 422, res.text[:300]
    said = form_errors(res.text)
    assert "第 3 行：踏查时间为空，请填写 2024-03-12 这样的日期" in said, said
    assert "无法识别" not in said
    assert full_snapshot(web_env.store) == before


def test_a_kml_of_timed_points_from_a_phone_is_a_dated_patrol(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    start = dt.datetime(2024, 3, 19, 1, 0, tzinfo=dt.UTC)
    placemarks = "".join(
        f"<Placemark><TimeStamp><when>{(start + dt.timedelta(minutes=i)).isoformat()}</when>"
        f"</TimeStamp><Point><coordinates>{x:.7f},{y:.7f}</coordinates></Point></Placemark>"
        for i, (x, y) in enumerate(walk_inside(web_env, VILLAGE_A))
    )
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document>{placemarks}</Document></kml>"
    ).encode()
    cadre = clients[VILLAGE_A]
    res = cadre.post(
        "/patrols/upload",
        data={"people": "孙晓燕", "month": "2024-03"},  # no date: the file has it
        files={"file": ("手机轨迹.kml", kml, "application/vnd.google-earth.kml+xml")},
    )
    assert res.status_code == 200 and "已登记 1 条踏查记录" in res.text, res.text[:500]
    from geoverify.workflows.patrols import list_patrols

    day = dt.date(2024, 3, 19)
    mine = list_patrols(web_env.store, start=day, end=day, village=web_env.code_of(VILLAGE_A))
    assert mine["people"].tolist() == ["孙晓燕"]
