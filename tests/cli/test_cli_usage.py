"""The command line as a new user meets it (issue 9, item 11): usage errors, names, paths."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from geoverify.cli import cli
from geoverify.workflows import sample_path
from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["status", "--bogus", "--json"], "NoSuchOption"),
        (["batch", "import", "--json"], "MissingParameter"),
        (["batch", "nosuch", "--json"], "NoSuchCommand"),
        (["nosuch", "--json"], "NoSuchCommand"),
        (["status", "--as-of", "2024-13-01", "--json"], "BadParameter"),
        (["coverage", "--json"], "UsageError"),
        (["feedback", "set", "T1", "--result", "弄错了", "--json"], "BadParameter"),
    ],
)
def test_usage_errors_print_one_json_document(tmp_path: Path, args: list[str], kind: str) -> None:
    res = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "ws"), *args])
    assert res.exit_code == 2
    doc = json.loads(res.stdout)  # exactly one document, nothing else on stdout
    assert doc["status"] == "error" and doc["exit_code"] == 2 and doc["kind"] == kind
    assert doc["error"]
    assert "Usage:" in res.stderr  # the explanation for a person stays on stderr


def test_usage_error_without_json_prints_nothing_on_stdout(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "ws"), "status", "--bogus"])
    assert res.exit_code == 2 and res.stdout == ""


def test_the_help_example_village_exists_in_the_sample(run: Cli) -> None:
    text = CliRunner().invoke(cli, ["--help"]).output
    example = text.split("targets list --village", 1)[1].split()[0]
    assert run("init").exit_code == 0
    names = [v["name"] for v in json.loads(run("villages", "list", "--json").stdout)]
    assert example in names
    # the README's tour uses the same village (see test_readme_tour.TOUR)
    from tests.test_readme_tour import TOUR

    toured = [c[c.index("--village") + 1] for c in TOUR if "--village" in c]
    assert toured and all(v in names or v == "-" for v in toured)


def test_a_misspelled_village_names_the_nearest(run: Cli) -> None:
    assert run("init").exit_code == 0
    res = run("targets", "list", "--village", "青杠村")
    assert res.exit_code == 1
    assert "没有村（社区）青杠村；是否要找：青龙村" in res.stderr
    assert "did you mean 青龙村" in res.stderr
    res = run("map", "--out", str(run.ws / "m.html"), "--village", "青龙", "--json")
    assert res.exit_code == 1 and "青龙村" in json.loads(res.stdout)["error"]
    res = run("patrols", "import", str(sample_path("samples", "patrols_2024-03.gpx")),
              "--village", "龙全村")  # fmt: skip
    assert res.exit_code == 1 and "是否要找：龙泉村" in res.stderr


def test_a_failed_init_leaves_no_store(tmp_path: Path, run: Cli) -> None:
    bad = tmp_path / "村界.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    res = run("init", "--boundaries", str(bad))
    assert res.exit_code == 1
    if run.url is None:
        assert not run.ws.exists()  # neither the store nor the folder it made
    else:
        assert not run.store().has_schema()  # no table of geoverify's left in the schema
        assert "villages" not in run.store().table_names()
    assert run("init").exit_code == 0  # and the next try starts clean
    assert run.store().is_initialised()


def test_store_path_prints_readably(tmp_path: Path) -> None:
    ws = tmp_path / "福果镇 工作区"
    res = CliRunner().invoke(cli, ["--workspace", str(ws), "init"])
    assert res.exit_code == 0, res.output
    assert f"数据库 (store): {ws}/geoverify.sqlite" in res.stdout
    assert "%E7" not in res.stdout and "%20" not in res.stdout


def test_messages_name_the_target_once(run: Cli) -> None:
    from tests.cli.feedback_helpers import with_batch

    with_batch(run)
    tid = "TL2024-03-011"
    res = run("feedback", "set", tid, "--result", "排除", "--date", "2024-03-12",
              "--checked-by", "张三", "--remarks", "油菜")  # fmt: skip
    assert res.exit_code == 0, res.output
    res = run("feedback", "set", tid, "--result", "确认种植", "--plants", "40")
    assert res.exit_code == 1
    # (the error line: a notice that another writer is at work may come first, when another
    # test's store on the same PostgreSQL database holds the write lock)
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("错误 (error): ")]
    line = line.removeprefix("错误 (error): ")
    assert line.count(tid) == 2  # once in Chinese, once in the English translation
    assert line.split(" (", 1)[0].count(tid) == 1


def test_checked_by_and_the_global_by_each_mean_one_thing(run: Cli) -> None:
    from tests.cli.feedback_helpers import with_batch

    with_batch(run)
    tid = "TL2024-03-011"
    res = run("feedback", "set", tid, "--result", "排除", "--by", "张三")
    assert res.exit_code == 2 and "--checked-by" in res.stderr
    res = run("targets", "add", "--source", "self", "--lon", "106.03", "--lat", "29.70",
              "--by", "张三")  # fmt: skip
    assert res.exit_code == 2 and "--found-by" in res.stderr
    args = ["--result", "排除", "--date", "2024-03-12", "--checked-by", "村专干张三", "--json"]
    args += ["--remarks", "油菜"]
    res = run("feedback", "set", tid, *args, by="镇平安办李四")
    assert res.exit_code == 0, res.output
    events = json.loads(run("history", tid, "--json").stdout)["events"]
    last = events[-1]
    assert last["actor"] == "镇平安办李四"  # who recorded it
    assert last["payload"]["to"]["verified_by"] == "村专干张三"  # who checked on site


def test_demo_workspace_is_ignored_by_git() -> None:
    res = subprocess.run(
        ["git", "check-ignore", "-q", "demo-workspace/geoverify.sqlite"],
        cwd=ROOT,
        check=False,
    )
    assert res.returncode == 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["batch", "import", "nosuch.csv", "--batch", "X"], "'FILE'：文件不存在：nosuch.csv"),
        (["batch", "import"], "缺少参数 FILE"),
        (["status", "--bogus"], "没有选项 --bogus"),
        (["batch", "nosuch"], "没有命令 nosuch"),
        (["nosuch"], "没有命令 nosuch"),
        (["spotcheck", "--batch", "B", "--rate", "2"], "'--rate'：取值 2.0 超出范围（0<x<=1）"),
        (
            ["feedback", "set", "T1", "--result", "已排除"],
            "'--result'：取值“已排除”无效，应为 '确认种植'",
        ),
        (["backup"], "缺少参数 OUT"),
        (["export", "--bogus"], "没有选项 --bogus"),
        (["--bogus-top", "status"], "没有选项 --bogus-top"),
    ],
)
def test_usage_errors_are_said_in_chinese_first(tmp_path: Path, args: list[str], said: str) -> None:
    for extra in ([], ["--json"]):
        res = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "ws"), *args, *extra])
        assert res.exit_code == 2
        assert f"Error: {said}" in res.stderr
        if extra:
            assert json.loads(res.stdout)["error"].startswith(said)


def test_an_option_without_its_value_is_said_in_chinese(tmp_path: Path) -> None:
    args = ["--workspace", str(tmp_path / "ws"), "batch", "import", "a.csv", "--batch"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    assert "Error: 选项 --batch 需要一个值 (Option '--batch' requires an argument.)" in res.stderr
