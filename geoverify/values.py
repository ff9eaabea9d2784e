"""Small helpers for single cell values, shared by readers, maps, lifecycle and workflows.

Pure functions with no I/O and no imports from the rest of geoverify, so that any module may
use them (this module sits on the bottom floor with :mod:`geoverify.model` and
:mod:`geoverify.errors`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_date", "is_missing", "text_or_none"]

_CONTAINERS = (list, tuple, dict, set, np.ndarray)


def is_missing(value: Any, *, blank: bool = True) -> bool:
    """True when a cell holds no value.

    Parameters
    ----------
    value : Any
        A cell value.
    blank : bool, default True
        Whether text that is empty or only whitespace counts as missing. With ``False``
        every string, even ``""``, is a value.

    Returns
    -------
    bool
        True for ``None``, ``NaN`` (Python or numpy floats), ``pd.NA``, ``pd.NaT`` and
        ``numpy.datetime64("NaT")``, and, when ``blank`` is true, for blank text.
        Containers (list, tuple, dict, set, numpy arrays) are never missing, even when
        empty; any other value is missing only when :func:`pandas.isna` says so.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return blank and not value.strip()
    if type(value) is float:
        return math.isnan(value)
    if isinstance(value, _CONTAINERS):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def text_or_none(value: Any) -> str | None:
    """A cell as trimmed text, or ``None`` when it is empty.

    ``None`` and float ``NaN`` give ``None``; a float with an integral value loses its
    ``.0`` (``3.0`` → ``"3"``, also for ``numpy.float64``); anything else is ``str(value)``
    with surrounding whitespace removed, and ``None`` when nothing is left. Other missing
    markers are not recognised here (``pd.NA`` → ``"<NA>"``, ``pd.NaT`` → ``"NaT"``):
    use :func:`is_missing` first where they can occur.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def as_date(value: Any) -> dt.date | None:
    """The calendar date of a date, datetime or :class:`pandas.Timestamp`, else ``None``.

    A datetime gives its own (local or aware) date, with no time-zone conversion. Missing
    values (``None``, ``NaN``, ``pd.NA``, ``pd.NaT``), text, numbers and anything else give
    ``None``: nothing is parsed.
    """
    if value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None
