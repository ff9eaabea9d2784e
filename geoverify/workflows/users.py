"""Users of the web service (用户): accounts, logins with throttling, and login sessions.

There is no built-in or default account: the office creates each user with
``geoverify users add`` or on the web page 用户管理; each user may change their own password
(修改密码). A password the office chose (a new account, a reset) is marked to be changed: its
owner must set their own at the next login before using anything else (see
:attr:`User.must_change_password`). Passwords are stored as Argon2id hashes; a session cookie
holds a random token whose SHA-256 is all the store keeps. Failed logins pause further logins for a
while; see :func:`authenticate` for how they are counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
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
    "MAX_NAME_FAILURES_ALL_CLIENTS",
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "LoginSession",
    "User",
    "UserList",
    "add_user",
    "authenticate",
    "change_password",
    "client_key",
    "end_session",
    "list_users",
    "reset_password",
    "session_user",
    "set_disabled",
    "start_session",
]

#: Failed logins counted over this window.
FAILURE_WINDOW = dt.timedelta(minutes=15)
#: Failures of one user name from one client address within the window before the logins of
#: that name from that address are paused (other addresses may still log in as the name).
MAX_NAME_FAILURES = 5
#: Failures from one client address within the window, whatever the names, before every login
#: from that address is paused.
MAX_CLIENT_FAILURES = 20
#: Failures of one user name from all client addresses together within the window before the
#: name's logins are paused from every address (against guessing spread over many addresses).
MAX_NAME_FAILURES_ALL_CLIENTS = 50
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
    #: The password was chosen by someone else (the office adding the user or resetting it):
    #: the web app lets this user do nothing but change it (and log out) until they have.
    must_change_password: bool = False

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
            "must_change_password": self.must_change_password,
        }


def _user(row: Any) -> User:
    return User(
        id=int(row["id"]),
        name=str(row["name"]),
        role=str(row["role"]),
        village_code=row["village_code"],
        village=row["village"],
        disabled=bool(row["disabled"]),
        must_change_password=bool(row["must_change_password"]),
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
    must_change: bool = False,
) -> User:
    """Create a user. A ``village`` user needs the village (name or code); others must not.

    ``must_change``: the password was chosen by someone else (the office, on 用户管理 or with
    ``geoverify users add``), so the user must set their own at the first login; recorded as a
    ``must_change_password`` event beside ``user_added``. False (the default) is for a password
    the user chose themselves, or an account made by a program: the test suites and demos.
    """
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
        # Names differing only in case would look alike in every list and log: refused.
        same = store_users.find_user_ignoring_case(conn, name)
        if same is not None and same["name"] == name:
            msg = f"用户 {name} 已存在 (user {name} exists already)"
            raise InputError(msg)
        if same is not None:
            other = same["name"]
            msg = (
                f"已有用户 {other}（用户名不区分大小写），请换一个用户名 "
                f"(a user {other} exists already; user names are compared ignoring case)"
            )
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
                "must_change_password": must_change,
                "created_at": now,
                "updated_at": now,
            },
        )
        events: list[dict[str, Any]] = [
            {"kind": "user_added", "payload": {"name": name, "role": role, "village": code}}
        ]
        if must_change:
            events.append(_must_change_event(name, required=True))
        repo.record_events(conn, events, who=who)
        return _user(store_users.find_user(conn, user_id=uid))


def _must_change_event(name: str, *, required: bool) -> dict[str, Any]:
    """The event of a user's password being marked to be changed (or no longer)."""
    return {"kind": "must_change_password", "payload": {"name": name, "required": required}}


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
    store: Store,
    name: str,
    *,
    password: str,
    actor: str | Actor | None = None,
    must_change: bool = False,
) -> User:
    """Give a user a new password; every session of theirs ends.

    ``must_change``: the user must replace this password at the next login (the office chose
    it: 用户管理, ``geoverify users reset-password``); otherwise they may keep it. A logged-in
    user (an :class:`Actor`) changes their own password with :func:`change_password` instead,
    which asks for the current one.
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
            {
                "password_hash": hash_password(password),
                "must_change_password": must_change,
                "updated_at": repo.now(),
            },
        )
        store_users.delete_sessions_of(conn, int(row["id"]))
        store_users.clear_failures(conn, name=str(row["name"]))
        events: list[dict[str, Any]] = [
            {"kind": "password_reset", "payload": {"name": row["name"]}}
        ]
        if must_change or row["must_change_password"]:
            events.append(_must_change_event(str(row["name"]), required=must_change))
        repo.record_events(conn, events, who=who)
        return _user(store_users.find_user(conn, user_id=int(row["id"])))


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

    This ends a :attr:`User.must_change_password` mark: the password is the user's own now (the
    new one must differ from the current one, the one the office gave).

    Every other session of the user ends; the session ``keep_session`` (the id of the session
    the change was made in) stays. A wrong current password counts as a failed login of the
    name from every client address (so a borrowed session cannot guess it, here or on the login
    page elsewhere: whoever typed it holds a session of the user already, so no stranger can
    pause a name this way), and the change is refused while the name's logins from the
    actor's address are paused (see :func:`authenticate`).

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
    key = client_key(who.host)
    with store.begin() as conn:
        row = changed = _get(conn, name)
        uname = str(row["name"])
        until, _ = _paused_until(conn, uname, key, now)
        if until is not None:
            zh, en = _wait_text(until)
            raise InputError(f"密码错误次数过多，请{zh}", en=f"too many wrong passwords; {en}")
        if not verify_password(str(row["password_hash"]), current):
            # The failure is recorded (committed) before the error is raised.
            store_users.record_failure(conn, name=uname, client=key, at=now, everywhere=True)
            given = "初始密码" if row["must_change_password"] else "当前密码"  # as the form says
            failed = InputError(
                f"{given}不正确，密码未修改 (the current password is wrong; nothing was changed)"
            )
        else:
            check_password_rule(new, name=uname)
            if new == current:
                given = "镇平安办设置的初始密码" if row["must_change_password"] else "当前密码"
                msg = f"新密码不能与{given}相同 (the new password must differ from the current one)"
                raise InputError(msg)
            store_users.update_user(
                conn,
                int(row["id"]),
                {
                    "password_hash": hash_password(new),
                    "must_change_password": False,
                    "updated_at": now,
                },
            )
            store_users.delete_sessions_of(conn, int(row["id"]), keep=keep_session)
            events: list[dict[str, Any]] = [
                {"kind": "password_changed", "payload": {"name": uname}}
            ]
            if row["must_change_password"]:
                events.append(_must_change_event(uname, required=False))
            repo.record_events(conn, events, who=who)
            changed = store_users.find_user(conn, user_id=int(row["id"]))
    if failed is not None:
        raise failed
    return _user(changed)


def client_key(client: str) -> str:
    """The address failed logins are counted by: an IPv6 client by its /64 network (one host
    usually holds a whole /64 and may change its address within it at will), an IPv4 address
    (also one written as IPv6) as itself, anything else (a host name) as given."""
    try:
        ip = ipaddress.ip_address(client.strip().split("%", 1)[0])  # without an IPv6 zone
    except ValueError:
        return client
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _paused_until(
    conn: Any, name: str, client: str, now: dt.datetime
) -> tuple[dt.datetime | None, int]:
    """Until when logins of ``name`` from ``client`` (a :func:`client_key`) are paused (None:
    they are not), and how many failures of the name from that client count now."""
    since = now - FAILURE_WINDOW
    pair = store_users.count_failures(conn, since=since, name=name, client=client, everywhere=True)
    checks = (
        (pair, MAX_NAME_FAILURES),
        (store_users.count_failures(conn, since=since, client=client), MAX_CLIENT_FAILURES),
        (store_users.count_failures(conn, since=since, name=name), MAX_NAME_FAILURES_ALL_CLIENTS),
    )
    lasts = [last for (n, last), limit in checks if n >= limit and last is not None]
    return (max(lasts) + FAILURE_WINDOW if lasts else None), pair[0]


def _wait_text(until: dt.datetime) -> tuple[str, str]:
    """How long to wait, in Chinese and English: (" 15 分钟后（13:20 以后）再试", …)."""
    minutes = max(1, math.ceil((until - repo.now()).total_seconds() / 60))
    local = until.astimezone(LOCAL_TZ)
    if local.second or local.microsecond:  # the minute at which trying again works
        local = local.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    hm = local.strftime("%H:%M")
    return (
        f" {minutes} 分钟后（{hm} 以后）再试",
        f"try again in {minutes} min (after {hm} Beijing time)",
    )


def authenticate(store: Store, name: str, password: str, *, client: str) -> User:
    """The user whose name and password these are.

    Failed logins are counted over :data:`FAILURE_WINDOW` per user name *and* client address
    (an IPv6 client by its /64 network, see :func:`client_key`), so that a stranger guessing
    at a name pauses only their own address, never the name's owner elsewhere. Logins are
    paused — even the right password is refused until the window has passed — when within the
    window there were

    * :data:`MAX_NAME_FAILURES` (5) failures of this name from this address (or, for the
      name, a wrong current password in a session of its own: see :func:`change_password`),
    * :data:`MAX_CLIENT_FAILURES` (20) failures from this address, whatever the names (one
      address trying many names), or
    * :data:`MAX_NAME_FAILURES_ALL_CLIENTS` (50) failures of this name from all addresses
      together. Without this ceiling guesses at one name would be unlimited for whoever
      commands many addresses (each address 5 per window); with it such a guesser gets at most
      50 per window, but can also pause the name for everyone while they keep it up. That
      needs ten addresses (or IPv6 /64 networks) at once, far beyond a stranger at one
      computer or phone, and sessions already logged in are not affected. A lower ceiling
      would make this easier, a higher one make guessing cheaper.

    A successful login forgets the name's failures from this address only: failures from
    other addresses keep counting. Behind a reverse proxy the proxy must pass the client's
    address on in ``X-Forwarded-For`` (``geoverify serve`` believes it from a proxy on the same
    computer, or from those in uvicorn's ``FORWARDED_ALLOW_IPS``); otherwise every client has
    the proxy's address and one stranger pauses a name for everyone again.

    Raises
    ------
    AuthError
        Wrong name or password (one message for both), a disabled account, or logins paused
        as above. The message is Chinese only; the English is the error's ``en``.
    """
    name = name.strip()[:64]
    store.require()
    now = repo.now()
    key = client_key(client)
    failed: AuthError | None = None
    with store.begin() as conn:
        until, n_pair = _paused_until(conn, name, key, now)
        if until is not None:
            zh, en = _wait_text(until)
            raise AuthError(f"登录失败次数过多，请{zh}", en=f"too many failed logins; {en}")
        row = store_users.find_user(conn, name=name)
        ok = verify_password(row["password_hash"] if row is not None else None, password)
        if not ok or row is None:
            # The failure is recorded (committed) before the error is raised.
            store_users.record_failure(conn, name=name, client=key, at=now)
            left = MAX_NAME_FAILURES - n_pair - 1
            minutes = int(FAILURE_WINDOW.total_seconds() // 60)
            hint = (
                f"；再错 {left} 次将暂停在本设备登录该账号 {minutes} 分钟" if 0 < left <= 2 else ""
            )
            # A failure that pauses logins says so now, not at the next try: the name from
            # here, every name from here, the name from everywhere (the first that applies).
            since = now - FAILURE_WINDOW
            by_client = store_users.count_failures(conn, since=since, client=key)[0]
            by_name = store_users.count_failures(conn, since=since, name=name)[0]
            pauses = (
                (left <= 0, f"{minutes} 分钟内已错 {MAX_NAME_FAILURES} 次，本设备暂停登录该账号"),
                (
                    by_client >= MAX_CLIENT_FAILURES,
                    f"本设备 {minutes} 分钟内登录已错 {MAX_CLIENT_FAILURES} 次，"
                    "暂停在本设备登录任何账号",
                ),
                (
                    by_name >= MAX_NAME_FAILURES_ALL_CLIENTS,
                    f"该账号 {minutes} 分钟内在各设备共错 {MAX_NAME_FAILURES_ALL_CLIENTS} 次，"
                    "暂停登录该账号",
                ),
            )
            paused = next((said for applies, said in pauses if applies), None)
            if paused is not None:
                hint = f"；{paused}，请{_wait_text(now + FAILURE_WINDOW)[0]}"
            failed = AuthError(f"用户名或密码不正确{hint}", en="wrong user name or password")
        elif row["disabled"]:
            msg = "该账号已停用，请联系镇平安办"
            raise AuthError(msg, en="this account is disabled")
        else:
            store_users.clear_failures(conn, name=name, client=key)
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
