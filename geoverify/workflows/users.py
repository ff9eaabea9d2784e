"""Users of the web service (用户): accounts, logins with throttling, and login sessions.

There is no built-in or default account: the office creates each user with
``geoverify users add`` or on the web page 用户管理; each user may change their own password
(修改密码). Passwords are stored as Argon2id hashes; a session cookie holds a
random token whose SHA-256 is all the store keeps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from geoverify.errors import AuthError, InputError, NotFoundError
from geoverify.model import ROLE_LABELS, Role
from geoverify.passwords import check_password_rule, hash_password, needs_rehash, verify_password
from geoverify.store import Store, repo
from geoverify.store import users as store_users
from geoverify.workflows.common import LOCAL_TZ, Actor, make_who

__all__ = [
    "FAILURE_WINDOW",
    "MAX_CLIENT_FAILURES",
    "MAX_NAME_FAILURES",
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "LoginSession",
    "User",
    "UserList",
    "add_user",
    "authenticate",
    "change_password",
    "end_session",
    "list_users",
    "reset_password",
    "session_user",
    "set_disabled",
    "start_session",
]

#: Failed logins counted over this window.
FAILURE_WINDOW = dt.timedelta(minutes=15)
#: Failures of one user name within the window before its logins are refused for a while.
MAX_NAME_FAILURES = 5
#: Failures from one client address within the window before it is refused for a while.
MAX_CLIENT_FAILURES = 20
#: A session ends after this long without a request…
SESSION_IDLE = dt.timedelta(days=7)
#: …and at the latest this long after the login.
SESSION_LIFETIME = dt.timedelta(days=30)

_NAME = re.compile(r"^[\w.\-@]{2,64}$")


@dataclass(frozen=True)
class User:
    """A user as the service sees it (never with the password hash)."""

    id: int
    name: str
    role: str
    village_code: str | None = None
    village: str | None = None
    disabled: bool = False

    @property
    def is_office(self) -> bool:
        return self.role == Role.OFFICE.value

    @property
    def is_village(self) -> bool:
        return self.role == Role.VILLAGE.value

    @property
    def can_write(self) -> bool:
        return self.role in (Role.OFFICE.value, Role.VILLAGE.value)

    @property
    def scope(self) -> str | None:
        """The village code this user is limited to, or None for the whole town."""
        return self.village_code if self.is_village else None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "role_label": self.role_label,
            "village": self.village,
            "village_code": self.village_code,
            "disabled": self.disabled,
        }


def _user(row: Any) -> User:
    return User(
        id=int(row["id"]),
        name=str(row["name"]),
        role=str(row["role"]),
        village_code=row["village_code"],
        village=row["village"],
        disabled=bool(row["disabled"]),
    )


@dataclass
class UserList:
    users: list[User]

    def to_json(self) -> list[dict[str, Any]]:
        return [u.to_json() for u in self.users]


def _check_name(name: str) -> str:
    name = name.strip()
    # Only dots ("..") would be a path step in the web pages' addresses.
    if not _NAME.match(name) or not name.strip("."):
        msg = (
            f"用户名“{name}”无效：2–64 个字符，只能用字母、数字、汉字和 . _ - @ "
            f"(invalid user name {name!r}: 2–64 letters, digits, CJK or . _ - @)"
        )
        raise InputError(msg)
    return name


def add_user(
    store: Store,
    name: str,
    *,
    role: str,
    password: str,
    village: str | None = None,
    actor: str | Actor | None = None,
) -> User:
    """Create a user. A ``village`` user needs the village (name or code); others must not."""
    name = _check_name(name)
    if role not in {r.value for r in Role}:
        msg = f"角色应为 office、village 或 viewer (role must be office, village or viewer): {role}"
        raise InputError(msg)
    if role == Role.VILLAGE.value and not village:
        msg = "村（社区）用户必须指定所属村（社区） (a village user needs its village: --village)"
        raise InputError(msg)
    if role != Role.VILLAGE.value and village:
        msg = "只有村（社区）用户才指定村（社区） (only village users have a village: --village)"
        raise InputError(msg)
    check_password_rule(password, name=name)
    store.require()
    who = make_who(actor=actor, source="command:users add")
    with store.begin() as conn:
        if store_users.find_user(conn, name=name) is not None:
            msg = f"用户 {name} 已存在 (user {name} exists already)"
            raise InputError(msg)
        code = repo.get_village(conn, village)["code"] if village else None
        now = repo.now()
        uid = store_users.insert_user(
            conn,
            {
                "name": name,
                "role": role,
                "village_code": code,
                "password_hash": hash_password(password),
                "disabled": False,
                "created_at": now,
                "updated_at": now,
            },
        )
        repo.record_events(
            conn,
            [{"kind": "user_added", "payload": {"name": name, "role": role, "village": code}}],
            who=who,
        )
        return _user(store_users.find_user(conn, user_id=uid))


def list_users(store: Store) -> UserList:
    store.require()
    with store.connect() as conn:
        return UserList([_user(r) for r in store_users.list_users(conn)])


def _get(conn: Any, name: str) -> Any:
    row = store_users.find_user(conn, name=name.strip())
    if row is None:
        msg = f"没有用户 {name} (no such user)"
        raise NotFoundError(msg)
    return row


def _refuse_self(actor: str | Actor | None, row: Any, zh: str, en: str) -> None:
    """A logged-in user (an :class:`Actor` of the web) may not do this to their own account."""
    if isinstance(actor, Actor) and actor.name == row["name"]:
        raise InputError(f"{zh} ({en})")


def set_disabled(
    store: Store, name: str, *, disabled: bool = True, actor: str | Actor | None = None
) -> User:
    """Disable (or enable again) a user; a disabled user's sessions end at once.

    A logged-in user (an :class:`Actor`) cannot disable their own account.
    """
    store.require()
    who = make_who(actor=actor, source="command:users disable")
    with store.begin() as conn:
        row = _get(conn, name)
        if disabled:
            _refuse_self(actor, row, "不能停用自己的账号", "you cannot disable your own account")
        store_users.update_user(
            conn, int(row["id"]), {"disabled": disabled, "updated_at": repo.now()}
        )
        if disabled:
            store_users.delete_sessions_of(conn, int(row["id"]))
        kind = "user_disabled" if disabled else "user_enabled"
        repo.record_events(conn, [{"kind": kind, "payload": {"name": row["name"]}}], who=who)
        return _user(store_users.find_user(conn, user_id=int(row["id"])))


def reset_password(
    store: Store, name: str, *, password: str, actor: str | Actor | None = None
) -> User:
    """Give a user a new password; every session of theirs ends.

    A logged-in user (an :class:`Actor`) changes their own password with
    :func:`change_password` instead, which asks for the current one.
    """
    store.require()
    who = make_who(actor=actor, source="command:users reset-password")
    with store.begin() as conn:
        row = _get(conn, name)
        _refuse_self(
            actor,
            row,
            "自己的密码请在“修改密码”中修改",
            "change your own password with the current one instead",
        )
        check_password_rule(password, name=str(row["name"]))
        store_users.update_user(
            conn,
            int(row["id"]),
            {"password_hash": hash_password(password), "updated_at": repo.now()},
        )
        store_users.delete_sessions_of(conn, int(row["id"]))
        store_users.clear_failures(conn, name=str(row["name"]))
        repo.record_events(
            conn, [{"kind": "password_reset", "payload": {"name": row["name"]}}], who=who
        )
        return _user(row)


def change_password(
    store: Store,
    name: str,
    *,
    current: str,
    new: str,
    actor: str | Actor | None = None,
    keep_session: str | None = None,
) -> User:
    """A user changes their own password (修改密码), giving the current one.

    Every other session of the user ends; the session ``keep_session`` (the id of the session
    the change was made in) stays. A wrong current password counts as a failed login of the
    name (so a borrowed session cannot guess it), and the change is refused while the name's
    logins are paused.

    Raises
    ------
    InputError
        The current password is wrong, too many failures, or the new password breaks the
        password rule or equals the current one. Nothing is changed.
    """
    store.require()
    who = make_who(actor=actor, source="command:users change-password")
    now = repo.now()
    failed: InputError | None = None
    with store.begin() as conn:
        row = _get(conn, name)
        uname = str(row["name"])
        n, last = store_users.count_failures(conn, since=now - FAILURE_WINDOW, name=uname)
        if n >= MAX_NAME_FAILURES and last is not None:
            msg = "密码错误次数过多，请" + _wait_text(last + FAILURE_WINDOW)
            raise InputError(msg)
        if not verify_password(str(row["password_hash"]), current):
            # The failure is recorded (committed) before the error is raised.
            store_users.record_failure(conn, name=uname, client=who.host, at=now)
            failed = InputError(
                "当前密码不正确，密码未修改 (the current password is wrong; nothing was changed)"
            )
        else:
            check_password_rule(new, name=uname)
            if new == current:
                msg = "新密码不能与当前密码相同 (the new password must differ from the current one)"
                raise InputError(msg)
            store_users.update_user(
                conn, int(row["id"]), {"password_hash": hash_password(new), "updated_at": now}
            )
            store_users.delete_sessions_of(conn, int(row["id"]), keep=keep_session)
            repo.record_events(
                conn, [{"kind": "password_changed", "payload": {"name": uname}}], who=who
            )
    if failed is not None:
        raise failed
    return _user(row)


def _wait_text(until: dt.datetime) -> str:
    minutes = max(1, int((until - repo.now()).total_seconds() // 60) + 1)
    local = until.astimezone(LOCAL_TZ).strftime("%H:%M")
    return f"{minutes} 分钟后（{local} 以后）再试 (try again in {minutes} min)"


def authenticate(store: Store, name: str, password: str, *, client: str) -> User:
    """The user whose name and password these are.

    Raises
    ------
    AuthError
        Wrong name or password (one message for both), a disabled account, or too many
        failures for this name or from this client within :data:`FAILURE_WINDOW` — then even
        the right password is refused until the window has passed.
    """
    name = name.strip()[:64]
    store.require()
    now = repo.now()
    since = now - FAILURE_WINDOW
    failed: AuthError | None = None
    with store.begin() as conn:
        n_name, last_name = store_users.count_failures(conn, since=since, name=name)
        n_client, last_client = store_users.count_failures(conn, since=since, client=client)
        if n_name >= MAX_NAME_FAILURES or n_client >= MAX_CLIENT_FAILURES:
            last = max(x for x in (last_name, last_client) if x is not None)
            msg = "登录失败次数过多，请" + _wait_text(last + FAILURE_WINDOW)
            raise AuthError(msg, en="too many failed logins; try again later")
        row = store_users.find_user(conn, name=name)
        ok = verify_password(row["password_hash"] if row is not None else None, password)
        if not ok or row is None:
            # The failure is recorded (committed) before the error is raised.
            store_users.record_failure(conn, name=name, client=client, at=now)
            left = MAX_NAME_FAILURES - n_name - 1
            hint = f"；再错 {left} 次将暂停登录 15 分钟" if 0 < left <= 2 else ""
            failed = AuthError(f"用户名或密码不正确{hint}", en="wrong user name or password")
        elif row["disabled"]:
            msg = "该账号已停用，请联系镇平安办"
            raise AuthError(msg, en="this account is disabled")
        else:
            store_users.clear_failures(conn, name=name)
            if needs_rehash(str(row["password_hash"])):
                store_users.update_user(
                    conn, int(row["id"]), {"password_hash": hash_password(password)}
                )
    if failed is not None or row is None:
        raise failed or AuthError("用户名或密码不正确", en="wrong user name or password")
    return _user(row)


@dataclass(frozen=True)
class LoginSession:
    """A logged-in session: the user and the session's form token (CSRF)."""

    user: User
    csrf: str
    token_hash: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(store: Store, user: User, *, client: str) -> tuple[str, LoginSession]:
    """A new session for ``user``: the cookie token (shown once) and the session."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = repo.now()
    with store.begin() as conn:
        store_users.insert_session(
            conn,
            {
                "id": _token_hash(token),
                "user_id": user.id,
                "csrf": csrf,
                "client": client[:255],
                "created_at": now,
                "last_seen_at": now,
                "expires_at": now + SESSION_LIFETIME,
            },
        )
    return token, LoginSession(user, csrf, _token_hash(token))


def session_user(store: Store, token: str | None) -> LoginSession | None:
    """The session of a cookie token, or None when it is unknown, expired or its user disabled."""
    if not token or len(token) > 200:
        return None
    key = _token_hash(token)
    now = repo.now()
    # Read without the write lock: every request asks this, and most need no write.
    with store.connect() as conn:
        row = store_users.find_session(conn, key)
        user_row = store_users.find_user(conn, user_id=int(row["user_id"])) if row else None
    if row is None:
        return None
    expired = row["expires_at"] <= now or row["last_seen_at"] + SESSION_IDLE <= now
    if expired or user_row is None or user_row["disabled"]:
        with store.begin() as conn:
            store_users.delete_session(conn, key)
        return None
    if now - row["last_seen_at"] > dt.timedelta(minutes=5):
        with store.begin() as conn:
            store_users.touch_session(conn, key, now)
    return LoginSession(_user(user_row), str(row["csrf"]), key)


def end_session(store: Store, token: str | None) -> None:
    """Log out: the session's token no longer works."""
    if not token:
        return
    with store.begin() as conn:
        store_users.delete_session(conn, _token_hash(token))
