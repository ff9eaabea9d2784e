"""`feedback set` adds a case number to a recorded result without repeating it."""

from __future__ import annotations

import json

from geoverify.workflows import sample_path
from tests.conftest import Cli, snapshot

MARCH = sample_path("samples", "district_batch_2024-03.geojson")


def test_case_number_alone_and_no_result_yet(run: Cli) -> None:
    assert run("init").exit_code == 0
    res = run("batch", "import", str(MARCH), "--batch", "2024-03", "--issued", "2024-03-05")
    assert res.exit_code == 0, res.output
    first, second = [t["target_id"] for t in json.loads(run("targets", "list", "--json").stdout)][
        :2
    ]
    res = run(
        "feedback",
        "set",
        first,
        "--result",
        "确认种植",
        "--date",
        "2024-03-10",
        "--checked-by",
        "张三",
        "--plants",
        "640",
    )
    assert res.exit_code == 0 and "上报前须有案件编号" in res.stdout
    res = run("feedback", "set", first, "--case", "铜公刑2024-001")
    assert res.exit_code == 0, res.output
    assert "上报前须有案件编号" not in res.stdout and "铜公刑2024-001" in res.stdout
    listed = {t["target_id"]: t for t in json.loads(run("targets", "list", "--json").stdout)}
    assert listed[first]["case_no"] == "铜公刑2024-001"
    assert listed[first]["result"] == "confirmed" and listed[first]["plants"] == 640
    history = json.loads(run("history", first, "--json").stdout)["events"]
    assert history[-1]["source"] == "command:feedback set"

    store = run.store()
    before = snapshot(store)
    res = run("feedback", "set", second, "--case", "X")
    assert res.exit_code == 1 and "--result" in res.stderr
    assert snapshot(store) == before


def test_a_confirmed_planting_is_reported_with_its_count(run: Cli) -> None:
    """确认种植 may be saved before the plants are counted, but the district report waits for
    the count (a count never typed in would also pass the criminal threshold unseen)."""
    assert run("init").exit_code == 0
    res = run("batch", "import", str(MARCH), "--batch", "2024-03", "--issued", "2024-03-05")
    assert res.exit_code == 0, res.output
    tid = json.loads(run("targets", "list", "--json").stdout)[0]["target_id"]
    answer = ["feedback", "set", tid, "--result", "确认种植", "--date", "2024-03-10"]
    assert run(*answer, "--checked-by", "张三").exit_code == 0
    out = run.ws.parent / "report.xlsx"
    store = run.store()
    before = snapshot(store)
    res = run("report", "district", "--batch", "2024-03", "--out", str(out))
    assert res.exit_code == 1
    assert tid in res.stderr and "未填株数" in res.stderr and "--plants" in res.stderr
    assert not out.exists() and snapshot(store) == before
    assert run("feedback", "set", tid, "--result", "确认种植", "--plants", "30").exit_code == 0
    res = run("report", "district", "--batch", "2024-03", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    assert tid in json.loads(res.stdout)["marked"]
