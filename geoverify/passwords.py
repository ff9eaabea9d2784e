"""Password hashing (Argon2id) and the password rule; no password is ever stored in clear."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geoverify.errors import InputError

__all__ = ["MIN_LENGTH", "check_password_rule", "hash_password", "needs_rehash", "verify_password"]

#: Shortest password accepted.
MIN_LENGTH = 8
_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
# A hash to verify against when the user does not exist, so that a wrong name takes as long
# as a wrong password.
_DUMMY = _HASHER.hash("geoverify-no-such-user")


def check_password_rule(password: str, *, name: str) -> None:
    """Refuse a password that is too short, blank-padded or equal to the user's name."""
    if len(password) < MIN_LENGTH:
        msg = f"密码至少 {MIN_LENGTH} 个字符 (the password needs at least {MIN_LENGTH} characters)"
        raise InputError(msg)
    if password != password.strip():
        msg = "密码首尾不能有空格 (the password must not start or end with a space)"
        raise InputError(msg)
    if password.casefold() == name.casefold():
        msg = "密码不能与用户名相同 (the password must differ from the user name)"
        raise InputError(msg)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends the same work, even without a hash."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
