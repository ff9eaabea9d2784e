"""``geoverify users``: accounts of the web app, on SQLite and PostGIS."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from geoverify.cli import cli
from geoverify.store import repo
from geoverify.store import tables_web as tw
from geoverify.workflows.users import authenticate
from tests.conftest import Cli, snapshot


@pytest.fixture
def ready(run: Cli) -> Cli:
    assert run("init").exit_code == 0
    return run


def _add(run: Cli, *args: str, password: str = "a-good-password") -> object:
    return run.runner.invoke(
        cli,
        [*_base(run), "users", "add", *args],
        input=password + "\n",
        catch_exceptions=False,
    )


def _base(run: Cli) -> list[str]:
    base = ["--workspace", str(run.ws), "--by", "pytest"]
    return [*base, "--database-url", run.url] if run.url else base


def test_add_list_disable_reset(ready: Cli) -> None:
    res = _add(ready, "office1", "--role", "office", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["user"] == {
        "name": "office1",
        "role": "office",
        "role_label": "镇平安办",
        "village": None,
        "village_code": None,
        "disabled": False,
        "must_change_password": True,  # added here for someone: an initial password
    }
    res = _add(ready, "qinglong", "--role", "village", "--village", "青龙村")
    assert res.exit_code == 0, res.output
    listed = json.loads(ready("users", "list", "--json").stdout)
    assert [(u["name"], u["village"]) for u in listed] == [
        ("office1", None),
        ("qinglong", "青龙村"),
    ]
    # The store keeps an Argon2id hash, never the password.
    with ready.store().connect() as conn:
        hashes = conn.execute(select(tw.users.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any("a-good-password" in h for h in hashes)
    user = authenticate(ready.store(), "qinglong", "a-good-password", client="test")
    assert user.village == "青龙村" and user.scope == user.village_code

    assert ready("users", "disable", "qinglong").exit_code == 0
    listed = json.loads(ready("users", "list", "--json").stdout)
    assert [u["disabled"] for u in listed] == [False, True]
    res = ready.runner.invoke(
        cli,
        [*_base(ready), "users", "reset-password", "office1"],
        input="another-password\n",
    )
    assert res.exit_code == 0, res.output
    assert authenticate(ready.store(), "office1", "another-password", client="test").is_office
    # Every change is an event, with who made it.
    with ready.store().connect() as conn:
        events = repo.load_events(conn)
    kinds = [k for k in events["kind"] if k.startswith(("user_", "password"))]
    assert kinds == ["user_added", "user_added", "user_disabled", "password_reset"]
    assert set(events.loc[events["kind"].isin(kinds), "actor"]) == {"pytest"}


@pytest.mark.parametrize(
    ("args", "password", "needle"),
    [
        (["x1", "--role", "village"], "long-enough-1", "--village"),
        (["x2", "--role", "office", "--village", "青龙村"], "long-enough-1", "只有村"),
        (["x3", "--role", "village", "--village", "不存在村"], "long-enough-1", "不存在村"),
        (["x4", "--role", "viewer"], "short", "至少"),
        (["viewer-name", "--role", "viewer"], "viewer-name", "不能与用户名相同"),
        (["bad name", "--role", "viewer"], "long-enough-1", "用户名"),
    ],
)
def test_bad_users_are_refused(ready: Cli, args: list[str], password: str, needle: str) -> None:
    before = snapshot(ready.store())
    res = _add(ready, *args, password=password)
    assert res.exit_code == 1
    assert needle in res.output
    assert snapshot(ready.store()) == before


def test_no_default_account_exists(ready: Cli) -> None:
    assert json.loads(ready("users", "list", "--json").stdout) == []


def test_a_name_cannot_be_added_twice(ready: Cli) -> None:
    assert _add(ready, "office1", "--role", "office").exit_code == 0
    res = _add(ready, "office1", "--role", "viewer")
    assert res.exit_code == 1
    assert "已存在" in res.output
