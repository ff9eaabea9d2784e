"""Plausible values (值域检查): ids, areas, plant counts and dates a person could have meant.

A value can parse and still be wrong: a 100,009-character target id (the store holds 100), a
line break inside an id, an area of 1e308 m², a satellite image taken in 2099. Each check here
returns ``None`` for a plausible value, or a :class:`Implausible` with a stable code and the
reason in Chinese and English; readers and the feedback rules turn it into a row problem.
Everything here is pure.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

__all__ = [
    "EARLIEST_DATE",
    "MAX_AREA_M2",
    "MAX_BATCH_ID_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_PLANTS",
    "Implausible",
    "check_area",
    "check_date",
    "check_id",
    "check_plants",
    "short",
]

#: Longest target id the store holds (``targets.target_id`` is ``String(100)``).
MAX_ID_LENGTH = 100
#: Longest batch id the store holds (``batches.id`` is ``String(64)``).
MAX_BATCH_ID_LENGTH = 64
#: Largest plausible area of one site: 10 km² (1,000 ha, 15,000 亩).
MAX_AREA_M2 = 10_000_000.0
#: Largest plausible plant count of one site.
MAX_PLANTS = 10_000_000
#: No image, check, patrol or eradication in this work is dated before this.
EARLIEST_DATE = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class Implausible:
    """Why a value is refused: a stable ``code`` and the reason for a person (zh, en)."""

    code: str
    zh: str
    en: str


def short(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters for a message (with ``…`` and the full length)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…（共 {len(text)} 字符 / {len(text)} characters）"


def _control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def check_id(
    text: str, *, what: str = "编号", what_en: str = "id", limit: int = MAX_ID_LENGTH
) -> Implausible | None:
    """An id must fit the store (``limit`` characters) and hold no control characters.

    Codes: ``id_too_long``, ``id_control_characters`` (line breaks, tabs, zero-width marks…).
    """
    if len(text) > limit:
        return Implausible(
            "id_too_long",
            f"{what}过长（{len(text)} 个字符，最多 {limit} 个）",
            f"{what_en} is too long ({len(text)} characters, at most {limit})",
        )
    if text.isprintable():  # no Cc, Cf, Zl or Zp character: the common case, checked at once
        return None
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if _control(ch)})
    if bad:
        return Implausible(
            "id_control_characters",
            f"{what}含有控制字符（换行、制表符或不可见字符 {', '.join(bad)}）",
            f"{what_en} contains control characters (line breaks, tabs or invisible marks: "
            f"{', '.join(bad)})",
        )
    return None


def check_area(m2: float, *, what: str = "面积", what_en: str = "area") -> Implausible | None:
    """An area of one site above :data:`MAX_AREA_M2`: a typo or a unit error
    (``implausible_area``)."""
    if m2 > MAX_AREA_M2:
        return Implausible(
            "implausible_area",
            f"{what} {m2:.6g} 平方米不合理（一处靶标最大 {MAX_AREA_M2:.0f} 平方米，即 1000 公顷）",
            f"{what_en} of {m2:.6g} m² is implausible for one site (at most "
            f"{MAX_AREA_M2:.0f} m², 1,000 ha)",
        )
    return None


def check_plants(n: int) -> Implausible | None:
    """A plant count above :data:`MAX_PLANTS` is a typo (``implausible_plants``)."""
    if n > MAX_PLANTS:
        return Implausible(
            "implausible_plants",
            f"株数 {n} 不合理（一处最多 {MAX_PLANTS} 株）",
            f"plant count {n} is implausible for one site (at most {MAX_PLANTS})",
        )
    return None


def check_date(
    d: dt.date, *, latest: dt.date | None = None, what: str = "日期", what_en: str = "date"
) -> Implausible | None:
    """A date before :data:`EARLIEST_DATE` or after ``latest`` (``implausible_date``)."""
    if d < EARLIEST_DATE or (latest is not None and d > latest):
        upper = f"或晚于 {latest.isoformat()}" if latest is not None else ""
        upper_en = f" or after {latest.isoformat()}" if latest is not None else ""
        return Implausible(
            "implausible_date",
            f"{what} {d.isoformat()} 不合理（早于 {EARLIEST_DATE.year} 年{upper}）",
            f"{what_en} {d.isoformat()} is implausible (before {EARLIEST_DATE.year}{upper_en})",
        )
    return None
