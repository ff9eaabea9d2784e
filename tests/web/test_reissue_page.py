"""The target page of a target issued again shows what the later batch said of it."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from fastapi.testclient import TestClient

from geoverify.workflows import import_batch, list_targets
from geoverify.workflows.reports import status_report
from geoverify.workflows.targets import target_history
from geoverify.workflows.users import add_user
from tests.web.conftest import APRIL, MARCH, USERS, Client, WebEnv, login, page_login

PASSWORD = "again1-own-pw-2024"


def _april(web_env: WebEnv) -> tuple[Any, list[str], list[str]]:
    """The April batch imported (once per module's store): its result, the targets it issues
    again and those it issues first."""
    res = import_batch(
        web_env.store, APRIL, batch_id="2024-04", actor="pytest", issued_on=dt.date(2024, 4, 2)
    )
    april = list_targets(web_env.store, batch="2024-04").frame
    again = april.loc[april["reissue_of"].notna(), "target_id"].tolist()
    once = april.loc[april["reissue_of"].isna(), "target_id"].tolist()
    assert again and once
    return res, again, once


def test_the_target_page_shows_the_later_batch(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    _, again, _ = _april(web_env)
    for tid in again:
        event = next(
            e for e in target_history(web_env.store, tid).events if e["kind"] == "reissued"
        )
        page = clients["office1"].get(f"/targets/{tid}")
        assert page.status_code == 200
        history = page.text[page.text.index('data-testid="history"') :]
        item = next(li for li in re.findall(r"<li>(.*?)</li>", history, re.S) if "再次下发" in li)
        text = html.unescape(re.sub(r"<[^>]+>", " ", item))
        assert "（批次 2024-04）" in text
        for change in event["changes"]:
            assert f"{change['label']} {change['after']}" in text


def test_the_target_page_lists_its_history_newest_first(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    tid = _april(web_env)[1][0]
    kinds = [e["kind"] for e in target_history(web_env.store, tid).events]  # oldest first
    assert kinds[0] == "issued" and kinds[-1] == "reissued"
    page = clients["office1"].get(f"/targets/{tid}").text
    history = page[page.index('data-testid="history"') : page.index("</ul>", page.index("history"))]
    items = re.findall(r"<li>(.*?)</li>", history, re.S)
    assert len(items) == len(kinds)
    assert "再次下发" in items[0] and "再次下发" not in items[-1]


def test_the_dashboard_says_a_target_issued_again_counts_once(fresh_env: WebEnv) -> None:
    """Said once some target has been issued again, where batches are not told apart."""
    note = "只计一次，核查时限取各次下发中最晚的"
    office = login(fresh_env.app(), "office1")
    import_batch(fresh_env.store, MARCH, batch_id="2024-03", issued_on=dt.date(2024, 3, 5))
    page = office.get("/").text
    assert "批次 全部，截至" in page and note not in page  # no target issued twice yet
    _, again, _ = _april(fresh_env)
    assert f"重复下发的靶标（{len(again)} 个）{note}" in office.get("/").text
    for batch in ("2024-03", "2024-04"):  # within one batch each target counts once anyway
        assert note not in office.get("/", params={"batch": batch}).text
    # Counted on a day before the later batch was issued, no target was issued twice yet.
    assert note not in office.get("/", params={"as_of": "2024-04-01"}).text


def test_the_dashboard_note_on_targets_issued_again_is_only_where_they_are(
    fresh_env: WebEnv,
) -> None:
    """A village user sees the note only when a target of the village was issued again."""
    note = "只计一次，核查时限取各次下发中最晚的"
    import_batch(fresh_env.store, MARCH, batch_id="2024-03", issued_on=dt.date(2024, 3, 5))
    _, again, _ = _april(fresh_env)
    frame = list_targets(fresh_env.store).frame
    issued_again = frame[frame["target_id"].isin(again)]
    # A cadre of a village that has a target issued again, beside the two that have none.
    code = str(issued_again["village_code"].iloc[0])
    add_user(
        fresh_env.store, "again1", role="village", password=PASSWORD, village=code,
        actor="pytest", must_change=False,
    )  # fmt: skip
    cadres = {"qinglong": USERS["qinglong"][2], "shiqiao": USERS["shiqiao"][2], "again1": PASSWORD}
    codes = dict(zip(frame["village"], frame["village_code"], strict=True))
    seen = {}
    for user, password in cadres.items():
        http = TestClient(fresh_env.app(), follow_redirects=False)
        assert page_login(http, user, password).status_code == 303
        page = http.get("/").text
        scope = code if user == "again1" else codes[USERS[user][1]]
        n = int(issued_again["village_code"].eq(scope).sum())
        seen[user] = (f"重复下发的靶标（{n} 个）{note}" in page) if n else (note in page)
        assert status_report(fresh_env.store, village=scope).to_json()["reissued"] == n
    assert seen == {"qinglong": False, "shiqiao": False, "again1": True}


def test_the_target_page_names_both_batches_and_the_deadline_that_counts(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    res, again, once = _april(web_env)
    tid = again[0]
    page = clients["office1"].get(f"/targets/{tid}").text
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert re.search(r"批次\s+2024-03（下发 2024-03-05）；再次下发 2024-04", text)
    due = re.search(r'data-testid="due">([^<]*)<', page)
    assert due is not None
    assert due.group(1) == f"{res.due_on.isoformat()}（各次下发中最晚的）"
    # A target issued once says only its own batch and deadline.
    page = clients["office1"].get(f"/targets/{once[0]}").text
    assert "再次下发" not in page and "各次下发中最晚的" not in page
