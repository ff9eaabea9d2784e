"""Users as the web service changes them: 修改密码, and what a user may not do to themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from geoverify.errors import AuthError, InputError
from geoverify.store import Store, repo
from geoverify.store import tables_web as tw
from geoverify.workflows.common import Actor
from geoverify.workflows.users import (
    MAX_NAME_FAILURES,
    add_user,
    authenticate,
    change_password,
    reset_password,
    session_user,
    set_disabled,
    start_session,
)
from tests.conftest import users_state

NAME = "walker-2024"
PW = "first-pw-2024"


def _failures(store: Store, name: str) -> int:
    with store.connect() as conn:
        rows = conn.execute(select(tw.login_failures).where(tw.login_failures.c.name == name))
        return len(rows.all())


def test_change_password_keeps_this_session_and_ends_the_others(store: Store) -> None:
    user = add_user(store, NAME, role="viewer", password=PW, actor="pytest")
    here, here_session = start_session(store, user, client="10.0.0.5")
    there, _ = start_session(store, user, client="10.0.0.6")
    changed = change_password(
        store,
        NAME,
        current=PW,
        new="second-pw-2024",
        actor=Actor(name=NAME, host="10.0.0.5"),
        keep_session=here_session.token_hash,
    )
    assert changed.name == NAME
    assert session_user(store, here) is not None
    assert session_user(store, there) is None
    with pytest.raises(AuthError):
        authenticate(store, NAME, PW, client="test")
    assert authenticate(store, NAME, "second-pw-2024", client="test").name == NAME
    with store.connect() as conn:
        events = repo.load_events(conn)
    last = events.iloc[-1]
    assert last["kind"] == "password_changed"
    assert (last["actor"], last["host"]) == (NAME, "10.0.0.5")
    assert last["source"] == "web:users change-password"
    assert last["payload"] == {"name": NAME}
    assert "second-pw-2024" not in repr(events.to_dict("records"))


@pytest.mark.parametrize(
    ("current", "new", "needle"),
    [
        ("not-the-password", "second-pw-2024", "当前密码不正确"),
        (PW, "short", "至少 8 个字符"),
        (PW, NAME, "不能与用户名相同"),
        (PW, PW, "不能与当前密码相同"),
    ],
)
def test_a_refused_change_changes_nothing(
    store: Store, current: str, new: str, needle: str
) -> None:
    user = add_user(store, NAME, role="viewer", password=PW, actor="pytest")
    token, _ = start_session(store, user, client="10.0.0.5")
    before = users_state(store)
    with pytest.raises(InputError, match=needle):
        change_password(store, NAME, current=current, new=new, actor=NAME)
    assert users_state(store) == before
    assert session_user(store, token) is not None
    # Only a wrong current password counts as a failed login.
    assert _failures(store, NAME) == (1 if current != PW else 0)


def test_guessing_the_current_password_is_throttled(store: Store) -> None:
    add_user(store, NAME, role="viewer", password=PW, actor="pytest")
    for _ in range(MAX_NAME_FAILURES):
        with pytest.raises(InputError, match="当前密码不正确"):
            change_password(store, NAME, current="guess", new="second-pw-2024")
    before = users_state(store)
    with pytest.raises(InputError, match="错误次数过多"):
        change_password(store, NAME, current=PW, new="second-pw-2024")
    assert users_state(store) == before
    # The same failures pause the name's logins too.
    with pytest.raises(AuthError, match="登录失败次数过多"):
        authenticate(store, NAME, PW, client="test")


def test_a_logged_in_user_cannot_disable_or_reset_themselves(store: Store) -> None:
    add_user(store, "boss", role="office", password=PW, actor="pytest")
    add_user(store, "other", role="viewer", password=PW, actor="pytest")
    me = Actor(name="boss", host="10.0.0.5")
    before = users_state(store)
    with pytest.raises(InputError, match="不能停用自己的账号"):
        set_disabled(store, "boss", disabled=True, actor=me)
    with pytest.raises(InputError, match="修改密码"):
        reset_password(store, "boss", password="second-pw-2024", actor=me)
    assert users_state(store) == before
    # Another user, yes; and the command line (no session to lose) may still do both.
    assert set_disabled(store, "other", disabled=True, actor=me).disabled
    assert set_disabled(store, "boss", disabled=True, actor="boss").disabled
    assert not set_disabled(store, "boss", disabled=False, actor=me).disabled


@pytest.mark.parametrize("name", ["..", "...", "a b", "x"])
def test_names_that_cannot_be_an_address_are_refused(store: Store, name: str) -> None:
    with pytest.raises(InputError, match="用户名"):
        add_user(store, name, role="viewer", password=PW)
