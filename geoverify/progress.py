"""Batch progress (核查进度): counts per village and for the town, overdue targets, ordering.

The rules every output shares live here, so that ``status``, the maps, the district report and
the demo give the same numbers for the same targets on the same as-of date:

* :func:`outside_town_mask` — a target outside every village that the office has not taken on
  (no result, or the result 非本镇辖区). It is listed apart ("镇外，建议退回区禁毒办") and never
  counted as the town's work.
* :func:`overdue_mask` — dispatched to a village, no result yet, and its due date is before the
  as-of date. A target never dispatched, or outside the town, is not overdue.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd

from geoverify.lifecycle import threshold_level
from geoverify.values import as_date

__all__ = [
    "OUTSIDE_LABEL",
    "OUTSIDE_NOTE",
    "SUMMARY_LABELS",
    "TAKEN_ON_LABEL",
    "TOWN_LABEL",
    "natural_key",
    "outside_town_mask",
    "overdue_mask",
    "sort_targets_for_lists",
    "status_summary",
    "threshold_levels",
]

#: Row label of the town total.
TOWN_LABEL = "全镇合计"
#: What every output says about a target outside the town (镇外) that nobody has taken on.
OUTSIDE_NOTE = "镇外，建议退回区禁毒办"
#: Row label of targets outside every village (镇外); never part of the town's total.
OUTSIDE_LABEL = OUTSIDE_NOTE
#: Row label of targets outside every village that the office took on (it recorded a result).
TAKEN_ON_LABEL = "镇外（镇平安办已核查）"

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


def _as_of(as_of: dt.date | None, today: dt.date | None) -> dt.date:
    day = as_of if as_of is not None else today
    if day is None:
        msg = "as_of is required (the date that decides overdue targets)"
        raise TypeError(msg)
    return day


def outside_town_mask(frame: pd.DataFrame) -> pd.Series:
    """True for targets outside the town (镇外) that are not the town's work.

    A target is outside when it belongs to no village (assignment ``outside``) and the office
    has not taken it on: it has no result, or its result is 非本镇辖区 (``outside``). Once the
    office records another result for it (e.g. it checked the site anyway), it counts as the
    town's work.
    """
    no_village = _col(frame, "village_code").astype(object).isna()
    result = _col(frame, "result").astype(object)
    return no_village & (result.isna() | (result == "outside"))


def overdue_mask(
    frame: pd.DataFrame, *, as_of: dt.date | None = None, today: dt.date | None = None
) -> pd.Series:
    """True for overdue targets (逾期未反馈) on ``as_of``.

    Overdue means: dispatched to a village (status ``dispatched``), no result yet, and the due
    date (核查时限) is before ``as_of`` (the due date itself is not late). Targets never
    dispatched and targets outside the town (:func:`outside_town_mask`) are never overdue.
    ``today`` is the old name of ``as_of``.
    """
    day = _as_of(as_of, today)
    due = [as_date(v) for v in _col(frame, "due_on").astype(object)]
    late = pd.Series([d is not None and d < day for d in due], index=frame.index, dtype=bool)
    dispatched = _col(frame, "status").astype(object) == "dispatched"
    no_result = _col(frame, "result").astype(object).isna()
    return late & dispatched & no_result & ~outside_town_mask(frame)


def _counts(sub: pd.DataFrame, *, as_of: dt.date) -> dict[str, Any]:
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
        "overdue": int(overdue_mask(sub, as_of=as_of).sum()),
        "threshold_cases": int(threshold_levels(sub).notna().sum()),
        "verification_rate": verified / n if n else np.nan,
        "match_rate": confirmed / n if n else np.nan,
    }


def status_summary(
    targets_frame: pd.DataFrame, *, as_of: dt.date | None = None, today: dt.date | None = None
) -> pd.DataFrame:
    """Counts per village and for the whole town.

    Parameters
    ----------
    targets_frame
        Targets as the store returns them (``village_code``, ``village``, ``status``, ``result``,
        ``plants``, ``eradicated_area_m2``, ``eradicated_on``, ``due_on``).
    as_of
        Date against which ``due_on`` is compared for overdue targets (:func:`overdue_mask`);
        ``today`` is its old name.

    Returns
    -------
    pandas.DataFrame
        One row per village (villages with threshold cases first, then by code), the town
        total, and last a row of the targets outside the town (:data:`OUTSIDE_LABEL`) when
        there are any. The town total counts the town's work only: targets outside the town
        (:func:`outside_town_mask`) are in their own row and never in the total. Columns: see
        :data:`SUMMARY_LABELS` (Chinese headers). 核查率 = verified / issued,
        吻合率 = confirmed / issued (NaN when nothing was issued).
    """
    day = _as_of(as_of, today)
    frame = targets_frame
    away = outside_town_mask(frame)
    codes = _col(frame, "village_code").astype(object)
    names = _col(frame, "village").astype(object)
    keys = pd.Series(
        [None if pd.isna(v) else str(v) for v in names], index=frame.index, dtype=object
    )
    # A target outside every village that the office took on is the town's work: counted
    # under "outside the town" in the total, in no village.
    rows: list[dict[str, Any]] = []
    for name in sorted({k for k in keys if k is not None}):
        sub = frame[keys == name]
        code_vals = [c for c in codes[keys == name] if not pd.isna(c)]
        rows.append(
            {
                "village_code": str(code_vals[0]) if code_vals else None,
                "village": name,
                **_counts(sub, as_of=day),
            }
        )
    rows.sort(key=lambda r: (r["threshold_cases"] == 0, r["village_code"] or "", r["village"]))
    taken_on = frame[keys.isna() & ~away]
    if len(taken_on):
        rows.append(
            {"village_code": None, "village": TAKEN_ON_LABEL, **_counts(taken_on, as_of=day)}
        )
    rows.append({"village_code": None, "village": TOWN_LABEL, **_counts(frame[~away], as_of=day)})
    outside = frame[away]
    if len(outside):
        rows.append({"village_code": None, "village": OUTSIDE_LABEL, **_counts(outside, as_of=day)})
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
