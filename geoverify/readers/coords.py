"""Angles as people write them: decimal degrees and degrees-minutes-seconds (度分秒)."""

from __future__ import annotations

import math
import re
from numbers import Real
from typing import NamedTuple

__all__ = ["ParsedAngle", "format_dms", "parse_angle", "parse_angle_detail"]

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_DEG = frozenset("°º˚度")
_MIN = frozenset("'′’‘分")
_SEC = frozenset('"″”“秒')
_MARKS = re.escape("".join(sorted(_DEG | _MIN | _SEC)) + ":")
_TOKEN = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([" + _MARKS + r"])?\s*")
_HEMI = "东经|西经|北纬|南纬|[NSEWnsew东西南北]"
_HEMI_HEAD = re.compile(rf"^({_HEMI})\s*[:：]?\s*")
_HEMI_TAIL = re.compile(rf"\s*({_HEMI})$")
_NEGATIVE_HEMI = frozenset({"S", "W", "s", "w", "西", "南", "西经", "南纬"})
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")


def _fail(value: object, why_zh: str, why_en: str) -> ValueError:
    return ValueError(f"无法解析坐标「{value}」：{why_zh} (cannot parse angle {value!r}: {why_en})")


class ParsedAngle(NamedTuple):
    """An angle read by :func:`parse_angle_detail`."""

    degrees: float
    #: True when 60 seconds or 60 minutes (rounding, e.g. ``106°05'60.00"``) were carried to
    #: the next minute or degree.
    carried: bool


def parse_angle(value: object) -> float:
    """Parse an angle in degrees from a number or a string (see :func:`parse_angle_detail`)."""
    return parse_angle_detail(value).degrees


def parse_angle_detail(value: object) -> ParsedAngle:
    """Parse an angle in degrees from a number or a string, and say whether a 60 was carried.

    Accepted: ``int``/``float``; decimal strings (``"106.0343"``, ``"3,285,000.5"``); and
    degrees-minutes-seconds in the usual spellings — ``106°02'03.5"``, ``106°2′3.5″``,
    ``106 2 3.5``, ``106度2分3.5秒``, ``106°02.058'``, ``106:02:03.5`` — with an optional
    hemisphere before or after (``E106°02'03.5"``, ``29°39'N``, ``东经106°2'``). Full-width
    digits and punctuation are accepted. A minus sign or an S/W hemisphere gives a negative value.

    Non-finite values (``nan``, ``inf``) are returned as they are, so a caller can report them
    separately; plain decimals are not range-checked (projected metres pass through).

    Seconds or minutes of exactly 60 — what rounding makes of 59.996″ when a spreadsheet
    writes ``106°05'60.00"`` — are carried to the next minute or degree
    (``106°06'00"``) and ``carried`` is True. Anything above 60 is refused.

    Raises
    ------
    ValueError
        The value is empty or cannot be read; minutes or seconds above 60 (or a fraction of
        minutes with seconds, e.g. ``60'30"``); a degrees-minutes-seconds value exceeds 180°;
        or sign and hemisphere contradict.
    """
    if isinstance(value, bool) or value is None:
        raise _fail(value, "空值或非数值", "empty or not a number")
    if isinstance(value, Real):
        return ParsedAngle(float(value), False)
    if not isinstance(value, str):
        raise _fail(value, "类型不支持", f"unsupported type {type(value).__name__}")
    text = value.translate(_FULLWIDTH).strip()
    text = text.replace("''", '"').replace("′′", '"').replace("’’", '"')
    if not text:
        raise _fail(value, "空值", "empty")
    plain = text.replace(",", "") if _THOUSANDS.match(text) else text
    if "_" not in plain:
        try:
            return ParsedAngle(float(plain), False)
        except ValueError:
            pass

    hemi: str | None = None
    m = _HEMI_HEAD.match(text)
    if m:
        hemi = m.group(1)
        text = text[m.end() :]
    m = _HEMI_TAIL.search(text)
    if m:
        if hemi is not None:
            raise _fail(value, "方位字母重复", "hemisphere given twice")
        hemi = m.group(1)
        text = text[: m.start()]
    text = text.strip()
    sign = 1.0
    if text[:1] in {"-", "+", "−"}:
        sign = -1.0 if text[0] != "+" else 1.0
        text = text[1:].strip()
    if hemi in _NEGATIVE_HEMI:
        if sign < 0:
            raise _fail(value, "负号与方位 S/W 矛盾", "both a minus sign and an S/W hemisphere")
        sign = -1.0
    if not text:
        raise _fail(value, "没有数字", "no digits")

    if re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", text):
        return ParsedAngle(sign * float(text), False)

    parts: list[tuple[str, str | None]] = []
    pos = 0
    while pos < len(text):
        tok = _TOKEN.match(text, pos)
        if tok is None or tok.end() == pos:
            raise _fail(value, f"无法识别的字符 {text[pos:]!r}", f"unexpected text {text[pos:]!r}")
        parts.append((tok.group(1), tok.group(2)))
        pos = tok.end()

    slots: list[float | None] = [None, None, None]
    raw: list[str | None] = [None, None, None]
    last = -1
    for num, mark in parts:
        if mark in _DEG:
            slot = 0
        elif mark in _MIN:
            slot = 1
        elif mark in _SEC:
            slot = 2
        else:  # ':' or a bare number: the next position
            slot = last + 1
        if slot <= last or slot > 2:
            raise _fail(value, "度分秒顺序错误", "degrees, minutes, seconds out of order")
        slots[slot] = float(num)
        raw[slot] = num
        last = slot
    present = [i for i in range(3) if raw[i] is not None]
    for i in present[:-1]:
        if "." in (raw[i] or ""):
            raise _fail(
                value, "只有最后一项可以带小数", "only the last component may have decimals"
            )
    deg = slots[0] or 0.0
    minutes = slots[1] or 0.0
    seconds = slots[2] or 0.0
    if seconds > 60:
        raise _fail(value, f"秒 {seconds:g} 应小于 60", f"seconds {seconds:g} must be below 60")
    carried = False
    if seconds == 60:  # 59.996" rounded to 60.00": one more minute
        seconds, minutes, carried = 0.0, minutes + 1, True
    if minutes > 60 or (minutes == 60 and seconds > 0):
        raise _fail(value, f"分 {minutes:g} 应小于 60", f"minutes {minutes:g} must be below 60")
    if minutes == 60:  # 59.9996' rounded to 60.00' (or carried from 60"): one more degree
        minutes, deg, carried = 0.0, deg + 1, True
    total = deg + minutes / 60.0 + seconds / 3600.0
    if total > 180:
        raise _fail(value, "度数超过 180", "more than 180 degrees")
    return ParsedAngle(sign * total, carried)


def format_dms(value: float, *, hemi: str, decimals: int = 2) -> str:
    """Format decimal degrees as degrees-minutes-seconds, e.g. ``106°02'03.50"E``.

    Parameters
    ----------
    value
        Decimal degrees; negative values take the second hemisphere letter.
    hemi
        ``"EW"`` (or ``"lon"``) for longitudes, ``"NS"`` (or ``"lat"``) for latitudes.
    decimals
        Decimal places of the seconds.
    """
    pairs = {"EW": "EW", "lon": "EW", "NS": "NS", "lat": "NS"}
    if hemi not in pairs:
        msg = f"hemi must be 'EW'/'lon' or 'NS'/'lat', got {hemi!r}"
        raise ValueError(msg)
    if not math.isfinite(value):
        msg = f"坐标不是有限数值 (angle must be finite), got {value!r}"
        raise ValueError(msg)
    letters = pairs[hemi]
    letter = letters[0] if value >= 0 else letters[1]
    scale = 10**decimals
    units = round(abs(value) * 3600 * scale)
    deg, rest = divmod(units, 3600 * scale)
    minutes, sec_units = divmod(rest, 60 * scale)
    if decimals > 0:
        whole, frac = divmod(sec_units, scale)
        sec = f"{whole:02d}.{frac:0{decimals}d}"
    else:
        sec = f"{sec_units:02d}"
    return f"{deg}°{minutes:02d}'{sec}\"{letter}"
