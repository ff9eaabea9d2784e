"""``geoverify users add|reset-password``: the password given is to be changed at the next login
unless ``--no-change-required``; on SQLite and PostGIS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import Result

from geoverify.cli import cli
from geoverify.store import repo
from geoverify.workflows.users import list_users
from tests.conftest import Cli


@pytest.fixture
def ready(run: Cli) -> Cli:
    assert run("init").exit_code == 0
    return run


def _with_password(run: Cli, password: str, *args: str) -> Result:
    base = ["--workspace", str(run.ws), "--by", "pytest"]
    if run.url:
        base += ["--database-url", run.url]
    return run.runner.invoke(cli, [*base, *args], input=password + "\n", catch_exceptions=False)


def _flags(run: Cli) -> dict[str, bool]:
    return {u.name: u.must_change_password for u in list_users(run.store()).users}


def _account_events(run: Cli) -> list[tuple[str, Any, str, str]]:
    with run.store().connect() as conn:
        events = repo.load_events(conn)
    kinds = ("user_added", "password_reset", "must_change_password")
    rows = events[events["kind"].isin(kinds)]
    return list(zip(rows["kind"], rows["payload"], rows["actor"], rows["source"], strict=True))


def test_a_user_added_here_changes_the_password_at_the_first_login(ready: Cli) -> None:
    res = _with_password(ready, "given-pw-2024", "users", "add", "cadre1", "--role", "viewer")
    assert res.exit_code == 0, res.output
    assert "第一次登录时须先设置自己的新密码" in res.output
    res = _with_password(
        ready, "own-pw-2024", "users", "add", "boss", "--role", "office", "--no-change-required",
        "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["user"]["must_change_password"] is False
    assert _flags(ready) == {"cadre1": True, "boss": False}
    listed = json.loads(ready("users", "list", "--json").stdout)
    assert {u["name"]: u["must_change_password"] for u in listed} == _flags(ready)
    assert "正常（待改密码）" in ready("users", "list").output
    assert _account_events(ready) == [
        ("user_added", {"name": "cadre1", "role": "viewer", "village": None}, "pytest",
         "command:users add"),
        ("must_change_password", {"name": "cadre1", "required": True}, "pytest",
         "command:users add"),
        ("user_added", {"name": "boss", "role": "office", "village": None}, "pytest",
         "command:users add"),
    ]  # fmt: skip


def test_a_reset_here_asks_for_a_new_password_unless_told_not_to(ready: Cli) -> None:
    args = ["users", "add", "cadre2", "--role", "viewer", "--no-change-required"]
    assert _with_password(ready, "own-pw-2024", *args).exit_code == 0
    res = _with_password(ready, "given-pw-2024", "users", "reset-password", "cadre2", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["user"]["must_change_password"] is True
    assert _flags(ready) == {"cadre2": True}
    # Told the owner chose this one (at the desk, say): the mark goes, and that is recorded.
    args = ["users", "reset-password", "cadre2", "--no-change-required"]
    res = _with_password(ready, "chosen-pw-2024", *args)
    assert res.exit_code == 0, res.output
    assert "须先设置" not in res.output
    assert _flags(ready) == {"cadre2": False}
    assert [(k, p) for k, p, _, _ in _account_events(ready)][1:] == [
        ("password_reset", {"name": "cadre2"}),
        ("must_change_password", {"name": "cadre2", "required": True}),
        ("password_reset", {"name": "cadre2"}),
        ("must_change_password", {"name": "cadre2", "required": False}),
    ]


def test_the_option_is_in_the_help(run: Cli) -> None:
    for command in ("add", "reset-password"):
        res = run.runner.invoke(cli, ["users", command, "--help"])
        assert "--no-change-required" in res.output
