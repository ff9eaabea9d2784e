"""Batch progress (核查进度): counts per village and for the town, overdue targets, ordering."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd

from geoverify.lifecycle import threshold_level

__all__ = [
    "OUTSIDE_LABEL",
    "SUMMARY_LABELS",
    "TOWN_LABEL",
    "natural_key",
    "overdue_mask",
    "sort_targets_for_lists",
    "status_summary",
    "threshold_levels",
]

#: Row label of the town total.
TOWN_LABEL = "全镇合计"
#: Row label of targets outside every village (镇外).
OUTSIDE_LABEL = "镇外/未归属"

#: Chinese headers of :func:`status_summary` columns.
SUMMARY_LABELS: dict[str, str] = {
    "village_code": "村（社区）代码",
    "village": "村（社区）",
    "issued": "下发",
    "dispatched": "已派发",
    "verified": "已核查",
    "confirmed": "确认种植",
    "excluded": "排除",
    "not_found": "未发现",
    "outside": "非本镇辖区",
    "eradicated": "已铲除",
    "reported": "已上报",
    "plants_eradicated": "铲除株数",
    "area_eradicated_m2": "铲除面积（平方米）",
    "overdue": "逾期未反馈",
    "threshold_cases": "达刑事立案标准",
    "verification_rate": "核查率",
    "match_rate": "吻合率",
}

_THRESHOLD_RANK = {"heavier": 0, "criminal": 1}


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def threshold_levels(frame: pd.DataFrame) -> pd.Series:
    """Art. 351 level per target (``"criminal"``, ``"heavier"`` or None); confirmed only."""
    result = _col(frame, "result")
    plants = _col(frame, "plants")
    levels = [
        threshold_level(None if pd.isna(p) else p) if r == "confirmed" else None
        for r, p in zip(result.astype(object), plants.astype(object), strict=True)
    ]
    return pd.Series(levels, index=frame.index, dtype=object)


def _as_date(v: Any) -> dt.date | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return None


def overdue_mask(frame: pd.DataFrame, *, today: dt.date) -> pd.Series:
    """True for targets past their due date (核查时限) without a result."""
    due = [_as_date(v) for v in _col(frame, "due_on").astype(object)]
    has_result = _col(frame, "result").astype(object).notna()
    late = pd.Series([d is not None and d < today for d in due], index=frame.index)
    return late & ~has_result


def _counts(sub: pd.DataFrame, *, today: dt.date) -> dict[str, Any]:
    status = _col(sub, "status").astype(object)
    result = _col(sub, "result").astype(object)
    erad_on = _col(sub, "eradicated_on").astype(object)
    eradicated = (status == "eradicated") | ((result == "confirmed") & erad_on.notna())
    plants = pd.to_numeric(_col(sub, "plants").astype(object), errors="coerce")
    area = pd.to_numeric(_col(sub, "eradicated_area_m2").astype(object), errors="coerce")
    n = len(sub)
    verified = int(result.notna().sum())
    confirmed = int((result == "confirmed").sum())
    return {
        "issued": n,
        "dispatched": int((status != "issued").sum()),
        "verified": verified,
        "confirmed": confirmed,
        "excluded": int((result == "excluded").sum()),
        "not_found": int((result == "not_found").sum()),
        "outside": int((result == "outside").sum()),
        "eradicated": int(eradicated.sum()),
        "reported": int((status == "reported").sum()),
        "plants_eradicated": int(plants[eradicated].fillna(0).sum()),
        "area_eradicated_m2": float(area[eradicated].fillna(0.0).sum()),
        "overdue": int(overdue_mask(sub, today=today).sum()),
        "threshold_cases": int(threshold_levels(sub).notna().sum()),
        "verification_rate": verified / n if n else np.nan,
        "match_rate": confirmed / n if n else np.nan,
    }


def status_summary(targets_frame: pd.DataFrame, *, today: dt.date) -> pd.DataFrame:
    """Counts per village and for the whole town.

    Parameters
    ----------
    targets_frame
        Targets as the store returns them (``village_code``, ``village``, ``status``, ``result``,
        ``plants``, ``eradicated_area_m2``, ``eradicated_on``, ``due_on``).
    today
        Date against which ``due_on`` is compared for overdue targets.

    Returns
    -------
    pandas.DataFrame
        One row per village (villages with threshold cases first, then by code), a row for
        targets outside every village when there are any, and the town total last. Columns:
        see :data:`SUMMARY_LABELS` (Chinese headers). 核查率 = verified / issued,
        吻合率 = confirmed / issued (NaN when nothing was issued).
    """
    frame = targets_frame
    codes = _col(frame, "village_code").astype(object)
    names = _col(frame, "village").astype(object)
    keys = pd.Series(
        [None if pd.isna(v) else str(v) for v in names], index=frame.index, dtype=object
    )
    rows: list[dict[str, Any]] = []
    for name in sorted({k for k in keys if k is not None}):
        sub = frame[keys == name]
        code_vals = [c for c in codes[keys == name] if not pd.isna(c)]
        rows.append(
            {
                "village_code": str(code_vals[0]) if code_vals else None,
                "village": name,
                **_counts(sub, today=today),
            }
        )
    rows.sort(key=lambda r: (r["threshold_cases"] == 0, r["village_code"] or "", r["village"]))
    outside = frame[keys.isna()]
    if len(outside):
        rows.append(
            {"village_code": None, "village": OUTSIDE_LABEL, **_counts(outside, today=today)}
        )
    rows.append({"village_code": None, "village": TOWN_LABEL, **_counts(frame, today=today)})
    out = pd.DataFrame(rows, columns=list(SUMMARY_LABELS))
    out["village_code"] = pd.Series([r["village_code"] for r in rows], dtype=object)
    return out


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: object) -> tuple[Any, ...]:
    """Sort key that orders ``T2`` before ``T10``."""
    parts = _DIGITS.split("" if text is None else str(text))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def sort_targets_for_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """Order targets for every list: threshold cases first (heavier, then criminal), then by
    village (by village code, then name; targets outside the town last), then by target id
    (natural order)."""
    levels = threshold_levels(frame)
    villages = _col(frame, "village").astype(object)
    codes = _col(frame, "village_code").astype(object)
    tids = _col(frame, "target_id").astype(object)

    def _s(v: Any) -> str:
        return "" if v is None or pd.isna(v) else str(v)

    keys = [
        (
            _THRESHOLD_RANK.get(lv, 2) if isinstance(lv, str) else 2,
            1 if not _s(v) else 0,
            natural_key(_s(c)),
            _s(v),
            natural_key(t),
        )
        for lv, v, c, t in zip(levels, villages, codes, tids, strict=True)
    ]
    order = sorted(range(len(frame)), key=lambda i: keys[i])
    return frame.iloc[order]
