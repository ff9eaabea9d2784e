"""The store's JSON text: ``json.dumps(..., ensure_ascii=False)``, without its cost per call.

Every JSON document geoverify stores is written by this one encoder, on both backends and by
every writer (SQLAlchemy's JSON columns, the bulk import): Chinese stays Chinese (UTF-8, three
bytes a character) instead of ``\\uXXXX`` escapes (six), which made a district file's own
columns twice their size in the store. Documents written before read back the same: the
escapes and the characters are one JSON text.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from json import encoder
from typing import Any

__all__ = ["dumps_json", "dumps_json_strict", "encode_text"]

#: A string as JSON text, as :data:`dumps_json` writes it (non-ASCII characters as they are).
encode_text: Callable[[str], str] = encoder.encode_basestring


def _json_encoder(*, allow_nan: bool = True) -> Callable[[Any], str]:
    """``json.dumps(..., ensure_ascii=False)``, one C encoder for every document.

    ``json.dumps`` builds a new C encoder for every document; a million documents spend most
    of their time doing that. This one encoder gives the same text for every document
    ``json.dumps`` accepts (dicts, lists, str, int, float, bool, None). Without ``allow_nan``
    a non-finite number raises ``ValueError``, as ``json.dumps(..., allow_nan=False)`` does."""
    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # no C speedups: json.dumps as it is
        return functools.partial(json.dumps, ensure_ascii=False, allow_nan=allow_nan)
    default = json.JSONEncoder().default
    encode = make(None, default, encode_text, None, ": ", ", ", False, False, allow_nan)
    join = "".join

    def dumps(value: Any) -> str:
        if type(value) is str:  # a lone string: the C encoder gives it whole
            return encode_text(value)
        return join(encode(value, 0))

    return dumps


#: The store's JSON serialiser (SQLAlchemy's default is ``json.dumps``, ASCII only).
dumps_json = _json_encoder()
#: :data:`dumps_json` that refuses NaN and infinities (``ValueError``).
dumps_json_strict = _json_encoder(allow_nan=False)
