"""Tables of the web service: users, sessions, login failures, idempotent submissions."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, false

from geoverify.store.tables import metadata
from geoverify.store.types import JSONColumn, UTCDateTime

__all__ = ["login_failures", "metadata", "sessions", "submissions", "users"]

#: A person who logs in. ``role`` is ``office`` (all villages), ``village`` (``village_code``
#: only) or ``viewer`` (read-only). ``password_hash`` is an Argon2id hash; no default password
#: exists anywhere. ``must_change_password``: the password was chosen by someone else (the
#: office adding the user or resetting the password), so its owner must set their own at the
#: next login before anything else.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("village_code", String(32), ForeignKey("villages.code"), nullable=True),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("must_change_password", Boolean, nullable=False, default=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: A login session. ``id`` is the SHA-256 of the cookie's random token (the token itself is
#: never stored); ``csrf`` is the form token of this session.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("client", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

#: Failed logins, for throttling (by user name and by client address).
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, index=True),
    Column("client", String(255), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
)

#: A feedback submission by its client-made UUID: the same UUID with the same body gets the
#: first answer again; with another body it is a conflict.
submissions = Table(
    "submissions",
    metadata,
    Column("key", String(36), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("target", Integer, ForeignKey("targets.id"), nullable=True),
    Column("body_sha256", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSONColumn, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
