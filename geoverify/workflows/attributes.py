"""The district's own columns of each target (备注, 地类, 作物类型, 面积 with its unit, …).

A batch file carries more than ids and coordinates. :func:`district_columns` picks, from a
target's stored ``attributes`` (every column of the file, as given), the ones that are neither
an id, a row number nor a coordinate, so that dispatch workbooks, printable pages and maps can
show them next to the standard columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from geoverify.readers.tables import ID_HEADERS, LAT_HEADERS, LON_HEADERS, columns_matching

__all__ = ["district_columns", "with_district_columns"]

#: Columns that are ours or positional, never the district's information about a target.
_NOT_INFORMATION = (*ID_HEADERS, *LON_HEADERS, *LAT_HEADERS, "序号", "行号", "fid", "geometry")


def district_columns(attributes: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """``[(name, value)]`` of a target's district columns, in the file's order, values as given.

    Empty values are kept (``None``) so that every target of a batch has the same columns.
    """
    if not isinstance(attributes, Mapping):
        return []
    skip = columns_matching([str(k) for k in attributes], _NOT_INFORMATION)
    return [(str(k), v) for k, v in attributes.items() if str(k) not in skip]


def with_district_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``district_columns`` column (see :func:`district_columns`)."""
    out = frame.copy()
    attrs = frame["attributes"] if "attributes" in frame.columns else [None] * len(frame)
    values = [district_columns(a) for a in attrs]
    out["district_columns"] = pd.Series(values, index=frame.index, dtype=object)
    return out
