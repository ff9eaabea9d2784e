"""Password hashing (Argon2id) and the password rule; no password is ever stored in clear.

The rule (:func:`check_password_rule`) refuses what a guesser tries first: a password shorter
than :data:`MIN_LENGTH`, one with spaces around it, the user name (or the user name with a
little added to it), one character repeated, a short block repeated, a run along the digits,
the alphabet or the keyboard, an eight-digit date (a birthday) and the most common passwords
of :data:`COMMON_PASSWORDS`. Each refusal says why and what to do instead.
"""

from __future__ import annotations

import datetime as dt
import re
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geoverify.errors import InputError

__all__ = [
    "COMMON_PASSWORDS",
    "MIN_LENGTH",
    "check_password_rule",
    "hash_password",
    "needs_rehash",
    "verify_password",
]

#: Shortest password accepted.
MIN_LENGTH = 8
_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
# A hash to verify against when the user does not exist, so that a wrong name takes as long
# as a wrong password.
_DUMMY = _HASHER.hash("geoverify-no-such-user")

# fmt: off
_COMMON = (
    # digits
    "12345678", "123456789", "1234567890", "0123456789", "87654321", "987654321",
    "9876543210", "0987654321", "11111111", "111111111", "1111111111", "00000000",
    "000000000", "0000000000", "88888888", "888888888", "66666666", "666666666",
    "99999999", "999999999", "22222222", "33333333", "55555555", "77777777", "12341234",
    "11223344", "12344321", "12121212", "123123123", "123321123", "112233445566",
    "123456123", "123456123456", "123456654321", "147258369", "147852369", "123654789",
    "789456123", "963852741", "741852963", "159753456", "1472583690", "31415926",
    "314159265", "110110110", "10101010", "100200300", "12301230", "19491001", "20082008",
    "14789632", "11112222", "12345600", "1234567899", "13800138000", "13888888888",
    # 1314 / 520: 一生一世、我爱你
    "13145200", "131452000", "1314520520", "52013140", "520131400",
    "5201314520", "520520520", "52013145201314", "13145201314", "13145211314",
    "woaini1314", "woaini520", "woaini5201314", "aini1314", "aini5201314", "520woaini",
    "1314woaini", "5201314a", "a5201314", "woaini123", "woaini1234", "woainiya",
    "woaiwojia", "woaimama", "woaibaba", "iloveyou", "iloveyou1", "iloveyou1314",
    "woshishui", "wodemima", "mima1234", "mima123456", "qwe123qwe", "zhongguo",
    "zhongguo123", "beijing2008", "wangyut2", "dearbook", "xiazhili",
    # letters and digits
    "a123456789", "a12345678", "a1234567", "a123456a", "aa123456", "aa123456789",
    "abc123456", "abc12345", "abcd1234", "abcd12345", "1234abcd", "123456abc",
    "123456aa", "123456789a", "12345678a", "1234567a", "z123456789", "qq123456",
    "qq123456789", "qq1234567", "asd123456", "qwe123456", "qwe123123", "zxc123456",
    "aaa123456", "abc123abc", "a1b2c3d4", "a1s2d3f4", "1a2b3c4d", "q1w2e3r4",
    "q1w2e3r4t5", "1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx", "1qaz2wsx3edc", "1qazxsw2",
    "2wsx3edc", "zaq12wsx", "zaq1xsw2", "12qwaszx", "qazwsxedc", "qazwsx123",
    "qwer1234", "1234qwer", "qwerty123", "qwerty12", "qwerty1234", "qwertyuiop",
    "qwertyui", "asdfghjkl", "asdfasdf", "asdasdasd", "qweqweqwe", "zxcvbnm123",
    "zxcvbnm1", "zxcvbnma", "asdf1234", "1234asdf", "zxcv1234",
    # words
    "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd",
    "p@ssword", "pa55word", "admin123", "admin1234", "admin12345", "admin888",
    "admin8888", "administrator", "root1234", "root123456", "test1234", "test123456",
    "welcome1", "welcome123", "letmein1", "changeme", "trustno1", "sunshine",
    "princess", "football", "baseball", "superman", "starwars", "computer", "internet",
    "whatever", "michelle", "jennifer", "corvette", "mustang1", "12345qwert",
    "liverpool", "chelsea1", "iloveu1314", "goodluck", "hello123", "hello1234",
    "helloworld", "abcdefg1", "geoverify", "geoverify1", "geoverify123",
)
# fmt: on
#: The most common passwords of at least :data:`MIN_LENGTH` characters (shorter ones are refused
#: anyway), from the published lists of leaked passwords, Chinese sites' leaks foremost; compared
#: ignoring case. Runs and repeats (``12345678``, ``11111111``) are refused by their own rules too.
COMMON_PASSWORDS: frozenset[str] = frozenset(p.casefold() for p in _COMMON)

# Runs a guesser tries in either direction: digits, the alphabet, the keyboard's rows and
# columns.
_RUNS = (
    "01234567890",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertyuiop[]",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "!@#$%^&*()",
)
_REPEATED_BLOCK = re.compile(r"(.{1,4})\1+", re.DOTALL)
_WHAT_TO_DO = "请换一个不容易猜到的密码，例如由几个词和数字组成"
_WHAT_TO_DO_EN = "choose one that is hard to guess, e.g. a few words and digits"


def _is_run(text: str) -> bool:
    return any(text in run or text in run[::-1] for run in _RUNS)


def _is_date(text: str) -> bool:
    if len(text) != 8 or not text.isdigit() or text[:2] not in ("19", "20"):
        return False
    try:
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


def _weakness(password: str) -> tuple[str, str] | None:
    """Why a password is easy to guess (Chinese, English), or None. Punctuation around it does
    not help (``12345678!`` is as easy as ``12345678``)."""
    low = password.casefold()
    for text in dict.fromkeys((low, low.strip(string.punctuation))):
        if not text:
            continue
        if len(set(text)) == 1:
            return "密码不能全是同一个字符（如 11111111）", "the password is one character repeated"
        if _REPEATED_BLOCK.fullmatch(text):
            return (
                "密码不能是同一小段字符的重复（如 12121212、abcabcabc）",
                "the password is a short block repeated",
            )
        if _is_run(text):
            return (
                "密码不能是连续的数字、字母或键盘上挨着的键（如 12345678、abcdefgh、qwertyui）",
                "the password is a run of digits, letters or neighbouring keys",
            )
        if _is_date(text):
            return "密码不能是日期（如生日 19900101）", "the password is a date"
        if text in COMMON_PASSWORDS:
            return "密码太常见", "the password is too common"
    return None


def check_password_rule(password: str, *, name: str) -> None:
    """Refuse a password that is easy to guess; the message says why and what to do.

    Refused: shorter than :data:`MIN_LENGTH`; spaces at either end; the user name; one
    character repeated (``11111111``); a block of up to four characters repeated
    (``12121212``); a run along the digits, the alphabet or the keyboard, either way
    (``12345678``, ``87654321``, ``abcdefgh``, ``qwertyui``); an eight-digit date
    (``19900101``); one of :data:`COMMON_PASSWORDS` — all ignoring case.

    Punctuation around the password does not make it pass (``password!``, ``#12345678``).

    A password that contains the user name (ignoring case) is refused when what remains without
    the name would be refused on its own: the name is no secret, so ``office2024`` is as weak
    as ``2024``, while ``qinglong-pw-2024`` still has eight characters not given by the name.
    """
    if len(password) < MIN_LENGTH:
        msg = f"密码至少 {MIN_LENGTH} 个字符 (the password needs at least {MIN_LENGTH} characters)"
        raise InputError(msg)
    if password != password.strip():
        msg = "密码首尾不能有空格 (the password must not start or end with a space)"
        raise InputError(msg)
    folded_name = name.strip().casefold()
    if password.casefold() == folded_name:
        msg = "密码不能与用户名相同 (the password must differ from the user name)"
        raise InputError(msg)
    weak = _weakness(password)
    if weak is not None:
        zh, en = weak
        raise InputError(f"{zh}，{_WHAT_TO_DO} ({en}; {_WHAT_TO_DO_EN})")
    if folded_name and folded_name in password.casefold():
        rest = password.casefold().replace(folded_name, "")
        if len(rest) < MIN_LENGTH or _weakness(rest) is not None:
            msg = (
                f"密码里含有用户名，而用户名是别人知道的；去掉用户名后，剩下的部分要至少 "
                f"{MIN_LENGTH} 个字符且不容易猜到。{_WHAT_TO_DO}，最好不含用户名 "
                f"(the password contains the user name, and what remains without it is short or "
                f"easy to guess; {_WHAT_TO_DO_EN}, better without the user name)"
            )
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
