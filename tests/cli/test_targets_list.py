"""`targets list`: threshold cases first, their fields, unknown filters."""

from __future__ import annotations

import json

from geoverify.workflows import sample_path
from tests.conftest import Cli

MARCH = sample_path("samples", "district_batch_2024-03.geojson")


def test_threshold_cases_come_first_with_their_fields(run: Cli) -> None:
    assert run("init").exit_code == 0
    res = run("batch", "import", str(MARCH), "--batch", "2024-03", "--issued", "2024-03-05")
    assert res.exit_code == 0, res.output
    plain = json.loads(run("targets", "list", "--json").stdout)
    last, middle = plain[-1]["target_id"], plain[len(plain) // 2]["target_id"]
    for tid, plants in ((middle, "600"), (last, "3200")):
        res = run(
            "feedback",
            "set",
            tid,
            "--result",
            "确认种植",
            "--date",
            "2024-03-10",
            "--checked-by",
            "张三",
            "--plants",
            plants,
        )
        assert res.exit_code == 0, res.output
    listed = json.loads(run("targets", "list", "--json").stdout)
    assert [t["target_id"] for t in listed[:2]] == [last, middle]
    assert [(t["threshold"], t["plants"]) for t in listed[:2]] == [
        ("heavier", 3200),
        ("criminal", 600),
    ]
    assert all(t["threshold"] is None for t in listed[2:])
    text = run("targets", "list").stdout
    assert text.index(last) < text.index(middle) < text.index(plain[0]["target_id"])
    assert "缺案件编号" in text


def test_unknown_village_is_an_error(run: Cli) -> None:
    assert run("init").exit_code == 0
    res = run("targets", "list", "--village", "不存在村")
    assert res.exit_code == 1 and "不存在村" in res.stderr


def test_targets_show_one_target_and_its_version(run: Cli) -> None:
    """`targets show`: village, group, status, coordinates, the phone apps' links and the
    version, in Chinese; --json as the web API gives it; an unknown id is named."""
    assert run("init").exit_code == 0
    res = run("batch", "import", str(MARCH), "--batch", "2024-03", "--issued", "2024-03-05")
    assert res.exit_code == 0, res.output
    first = json.loads(run("targets", "list", "--json").stdout)[0]
    tid = first["target_id"]
    doc = json.loads(run("targets", "show", tid, "--json").stdout)
    assert doc["target_id"] == tid and doc["village"] == first["village"]
    assert doc["version"] >= 1 and set(doc["links"]) >= {"amap", "baidu", "tencent"}
    text = run("targets", "show", tid).stdout
    assert f"靶标 {tid}" in text and f"版本 {doc['version']}" in text
    assert first["village"] in text and "高德导航: https://uri.amap.com/" in text
    assert "百度导航" in text and "腾讯导航" in text and "CGCS2000" in text
    res = run("targets", "show", "没有这个靶标")
    assert res.exit_code == 1 and "没有这个靶标" in res.stderr and "Traceback" not in res.stderr
