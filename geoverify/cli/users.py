"""``geoverify users add|list|disable|enable|reset-password``: who may use the web app.

A password given here is the office's choice, as on the web page 用户管理: its owner must set
their own at the first login, unless ``--no-change-required`` says the owner chose it.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from geoverify.cli._common import (
    JsonGroup,
    emit_json,
    format_table,
    get_ctx,
    handle_errors,
    json_option,
    open_store,
)
from geoverify.model import Role
from geoverify.workflows.users import User, add_user, list_users, reset_password, set_disabled


@click.group("users", cls=JsonGroup)
def users_group() -> None:
    """Users of the web app (用户): office, village or viewer."""


def _change_option(when: str) -> Any:
    """``--change-required/--no-change-required``: must the user replace this password?"""
    return click.option(
        "--change-required/--no-change-required",
        "change_required",
        default=True,
        show_default=True,
        help=(
            f"The user must set their own password {when} before using the web app (the "
            "office chose this one). --no-change-required: the user chose it themselves "
            "(e.g. the first office account, made by its owner), so they may keep it."
        ),
    )


def _read_password(confirm: bool = True) -> str:
    """The password from a prompt (typed twice), or the first line of stdin when piped."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(click.prompt("密码 (password)", hide_input=True, confirmation_prompt=confirm))


@users_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="office: every village; village: its own village only; viewer: read-only.",
)
@click.option("--village", default=None, help="The village of a village user (name or code).")
@_change_option("at the first login")
@json_option
@handle_errors
def users_add(
    name: str, role: str, village: str | None, change_required: bool, as_json: bool
) -> None:
    """Add a user; the password is asked for (or read from stdin). No default passwords.

    The user must replace it with their own at the first login, unless --no-change-required.
    """
    password = _read_password()
    with open_store() as store:
        user = add_user(
            store,
            name,
            role=role,
            password=password,
            village=village,
            actor=get_ctx().actor,
            must_change=change_required,
        )
    if as_json:
        emit_json({"status": "added", "user": user.to_json()})
        return
    where = f"，{user.village}" if user.village else ""
    click.echo(f"已添加用户 {user.name}（{user.role_label}{where}） (user added)")
    _echo_change_required(user.must_change_password)


def _echo_change_required(required: bool) -> None:
    if required:
        click.echo(
            "本人第一次登录时须先设置自己的新密码 "
            "(they must set their own password when they first log in)"
        )


@users_group.command("list")
@json_option
@handle_errors
def users_list(as_json: bool) -> None:
    """List the users (never their passwords)."""
    with open_store() as store:
        listed = list_users(store)
    if as_json:
        emit_json(listed.to_json())
        return
    rows = [(u.name, u.role_label, u.village or "", _state(u)) for u in listed.users]
    click.echo(format_table(["用户名", "角色", "村（社区）", "状态"], rows))


def _state(user: User) -> str:
    if user.disabled:
        return "停用"
    return "正常（待改密码）" if user.must_change_password else "正常"


@users_group.command("disable")
@click.argument("name")
@json_option
@handle_errors
def users_disable(name: str, as_json: bool) -> None:
    """Disable a user: they can no longer log in, and their sessions end."""
    _set_disabled(name, as_json, disabled=True)


@users_group.command("enable")
@click.argument("name")
@json_option
@handle_errors
def users_enable(name: str, as_json: bool) -> None:
    """Enable a disabled user again."""
    _set_disabled(name, as_json, disabled=False)


def _set_disabled(name: str, as_json: bool, *, disabled: bool) -> None:
    with open_store() as store:
        user = set_disabled(store, name, disabled=disabled, actor=get_ctx().actor)
    if as_json:
        emit_json({"status": "disabled" if disabled else "enabled", "user": user.to_json()})
        return
    if disabled:
        click.echo(f"已停用用户 {user.name} (user disabled)")
    else:
        click.echo(f"已启用用户 {user.name} (user enabled)")


@users_group.command("reset-password")
@click.argument("name")
@_change_option("at the next login")
@json_option
@handle_errors
def users_reset(name: str, change_required: bool, as_json: bool) -> None:
    """Give a user a new password (asked for, or read from stdin); their sessions end.

    The user must replace it with their own at the next login, unless --no-change-required.
    """
    password = _read_password()
    with open_store() as store:
        user = reset_password(
            store, name, password=password, actor=get_ctx().actor, must_change=change_required
        )
    if as_json:
        emit_json({"status": "password_reset", "user": user.to_json()})
        return
    click.echo(f"已重置用户 {user.name} 的密码 (password reset)")
    _echo_change_required(user.must_change_password)


COMMANDS = [users_group]
