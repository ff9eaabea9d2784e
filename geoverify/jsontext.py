"""The store's JSON text: ``json.dumps(..., ensure_ascii=False)``, without its cost per call.

Every JSON document geoverify stores is written by this one encoder, on both backends and by
every writer (SQLAlchemy's JSON columns, the bulk import): Chinese stays Chinese (UTF-8, three
bytes a character) instead of ``\\uXXXX`` escapes (six), which made a district file's own
columns twice their size in the store. Documents written before read back the same: the
escapes and the characters are one JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from json import encoder
from typing import Any

__all__ = ["dumps_json", "dumps_json_strict", "encode_text"]

#: A string as JSON text, as :data:`dumps_json` writes it (non-ASCII characters as they are).
encode_text: Callable[[str], str] = encoder.encode_basestring


def _encoder(*, allow_nan: bool) -> Callable[[Any, int], Iterable[str]]:
    """One encoder for every document (``json.dumps`` builds a new one for each, and a
    million documents spent most of their time doing that)."""
    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # no C speedups: the pure-Python encoder json.dumps would use
        plain = json.JSONEncoder(ensure_ascii=False, allow_nan=allow_nan)
        return lambda value, _level: plain.iterencode(value)
    default = json.JSONEncoder().default
    encode: Callable[[Any, int], Iterable[str]] = make(
        None, default, encode_text, None, ": ", ", ", False, False, allow_nan
    )
    return encode


_ENCODE = _encoder(allow_nan=True)
_ENCODE_STRICT = _encoder(allow_nan=False)


# Module-level functions, not closures: psycopg caches its JSON dumpers by the function's code
# and warns of a leak for a closure.
def dumps_json(value: Any) -> str:
    """The store's JSON serialiser: the text ``json.dumps(value, ensure_ascii=False)`` gives
    for every document it accepts (dicts, lists, str, int, float, bool, None)."""
    if type(value) is str:  # a lone string: the C encoder gives it whole
        return encode_text(value)
    return "".join(_ENCODE(value, 0))


def dumps_json_strict(value: Any) -> str:
    """:func:`dumps_json` that refuses NaN and infinities (``ValueError``), as
    ``json.dumps(..., allow_nan=False)`` does."""
    if type(value) is str:
        return encode_text(value)
    return "".join(_ENCODE_STRICT(value, 0))
