"""A repeat site (复种点) is said as what it is: near an earlier batch's target, at a distance."""

from __future__ import annotations

import html
import re

from geoverify.workflows import list_targets
from tests.web.conftest import Client, WebEnv
from tests.web.test_reissue_page import _april


def test_the_target_page_names_the_earlier_target_and_its_distance(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    _april(web_env)
    april = list_targets(web_env.store, batch="2024-04").frame
    repeats = april[april["repeat_of"].notna()]
    assert len(repeats), "the April batch has a target near a March one"
    for r in repeats.itertuples():
        page = clients["office1"].get(f"/targets/{r.target_id}")
        assert page.status_code == 200
        said = re.search(r'data-testid="repeat-of">(.*?)</dd>', page.text, re.S)
        assert said is not None
        text = html.unescape(re.sub(r"<[^>]+>", "", said.group(1)))
        # The batches may be of one year: "往年" (an earlier year's) would be wrong.
        assert "往年" not in text
        assert f"此前登记的靶标 {r.repeat_of} 在 {r.repeat_distance_m:.1f} 米处" in text
        doc = clients["office1"].get(f"/api/v1/targets/{r.target_id}").json()
        assert doc["repeat_of"] == r.repeat_of
        assert abs(doc["repeat_distance_m"] - r.repeat_distance_m) < 1e-9
