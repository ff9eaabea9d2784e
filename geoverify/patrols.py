"""Patrol records (踏查): the Patrol record, track length per village, and the monthly summary."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from geoverify.geo import STORE_CRS, metric_crs

__all__ = [
    "DEADLINE_DAY",
    "RECEIVED_UNKNOWN",
    "STATUS_ORDER",
    "MonthlySummary",
    "Patrol",
    "coverage_inputs",
    "is_finding",
    "monthly_summary",
    "patrols_frame",
    "patrols_in_month",
    "split_people",
    "track_lengths_by_village",
]

#: Each village reports its monthly patrol table by this day of the month (每月25日前).
DEADLINE_DAY = 25

_PEOPLE_SEP = re.compile(r"[、，,;；\s]+")
_NOTHING_FOUND = re.compile(r"^\s*(未|没有?|无)(发现|见)?")


@dataclass(frozen=True)
class Patrol:
    """One patrol (踏查): who walked where and when, what they found, and maybe a track.

    Attributes
    ----------
    village
        Village/community name (村、社区).
    date
        Local date of the patrol (踏查时间).
    village_code
        Village code when known.
    group
        Group (组), e.g. "三组", or None.
    people
        Who patrolled (踏查人员), as written, e.g. "张三、李四".
    findings
        What was found (踏查情况), e.g. "未发现异常".
    remarks
        备注.
    track
        Track geometry (LineString/MultiLineString, EPSG:4490) or None: a record without a
        track counts as *reported*, never as *tracked* coverage.
    track_name
        The track's name in its GPX/KML file.
    source
        Where the record came from (file name).
    row
        Row number in the source table, or the track's number in a GPX file.
    """

    village: str
    date: dt.date
    village_code: str | None = None
    group: str | None = None
    people: str | None = None
    findings: str | None = None
    remarks: str | None = None
    track: BaseGeometry | None = None
    track_name: str | None = None
    source: str = ""
    row: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def persons(self) -> list[str]:
        """The people, split on 、，, and spaces."""
        return split_people(self.people)

    @property
    def tracked(self) -> bool:
        """Whether the record has a usable track."""
        return self.track is not None and not self.track.is_empty


def split_people(text: str | None) -> list[str]:
    """Split a 踏查人员 cell on 、，, ; and whitespace: ``"张三、李四 王五"`` → 3 people."""
    if text is None:
        return []
    return [p for p in _PEOPLE_SEP.split(str(text)) if p]


def is_finding(text: str | None) -> bool:
    """Whether a 踏查情况 text reports a finding.

    Empty text and texts starting with a negation (未发现异常, 无异常, 没有发现, 无, 未见…) are
    not findings; anything else (发现罂粟3株，已铲除) is.
    """
    if text is None or not str(text).strip():
        return False
    return _NOTHING_FOUND.match(str(text)) is None


def patrols_frame(patrols: Iterable[Patrol]) -> gpd.GeoDataFrame:
    """Patrols as a frame (EPSG:4490), one row each, ``patrol_id`` = position in the input.

    Columns: ``patrol_id``, ``village``, ``village_code``, ``group``, ``date``, ``people``,
    ``persons`` (count), ``findings``, ``finding`` (bool), ``remarks``, ``track_name``,
    ``tracked``, ``source``, ``row``, geometry (the track or None).
    """
    rows = []
    geoms: list[BaseGeometry | None] = []
    for i, p in enumerate(patrols):
        rows.append(
            {
                "patrol_id": i,
                "village": p.village,
                "village_code": p.village_code,
                "group": p.group,
                "date": p.date,
                "people": p.people,
                "persons": len(p.persons),
                "findings": p.findings,
                "finding": is_finding(p.findings),
                "remarks": p.remarks,
                "track_name": p.track_name,
                "tracked": p.tracked,
                "source": p.source,
                "row": p.row,
            }
        )
        geoms.append(p.track if p.tracked else None)
    columns = [
        "patrol_id",
        "village",
        "village_code",
        "group",
        "date",
        "people",
        "persons",
        "findings",
        "finding",
        "remarks",
        "track_name",
        "tracked",
        "source",
        "row",
    ]
    return gpd.GeoDataFrame(
        {c: [r[c] for r in rows] for c in columns},
        geometry=gpd.GeoSeries(geoms, crs=STORE_CRS),
    )


def patrols_in_month(patrols: Iterable[Patrol], *, year: int, month: int) -> list[Patrol]:
    """The patrols dated in the given month, sorted by date, village, group."""
    chosen = [p for p in patrols if p.date.year == year and p.date.month == month]
    return sorted(chosen, key=lambda p: (p.date, p.village, p.group or "", p.row or 0))


def coverage_inputs(
    patrols: Sequence[Patrol],
) -> tuple[gpd.GeoDataFrame, list[tuple[str, str]]]:
    """Split patrols into what :func:`geoverify.coverage.coverage` takes.

    Returns
    -------
    tracks
        Tracked patrols: ``patrol_id``, ``village``, ``village_code``, geometry (EPSG:4490).
    reported_groups
        ``(village_code, group)`` of the records WITHOUT a track (reported, not tracked).
    """
    tracked = [(i, p) for i, p in enumerate(patrols) if p.tracked]
    tracks = gpd.GeoDataFrame(
        {
            "patrol_id": [i for i, _ in tracked],
            "village": [p.village for _, p in tracked],
            "village_code": [p.village_code for _, p in tracked],
        },
        geometry=gpd.GeoSeries([p.track for _, p in tracked], crs=STORE_CRS),
    )
    reported = [
        (p.village_code, p.group)
        for p in patrols
        if not p.tracked and p.village_code is not None and p.group
    ]
    return tracks, reported


def track_lengths_by_village(
    tracks: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, *, crs: CRS | None = None
) -> pd.DataFrame:
    """Length of every track inside each village it passes through.

    Parameters
    ----------
    tracks
        Track lines (any CRS); the ``patrol_id`` column (or the row position) identifies them.
    villages
        Villages frame (``code``, ``name``).
    crs
        Metric CRS; ``geo.metric_crs`` of the villages when None.

    Returns
    -------
    pandas.DataFrame
        ``patrol_id``, ``village``, ``code``, ``length_m``, ``share`` (of the track's length),
        one row per (track, village) with a positive length, longest first within a track. A
        track's length outside every village is in a row with ``village`` and ``code`` None.
    """
    columns = ["patrol_id", "village", "code", "length_m", "share"]
    if len(tracks) == 0:
        return pd.DataFrame({c: [] for c in columns})
    if crs is None:
        lon = float(villages.to_crs(STORE_CRS).union_all().centroid.x)
        crs = metric_crs(lon)
    vm = villages.to_crs(crs)
    tm = tracks.to_crs(crs)
    ids = tracks["patrol_id"].tolist() if "patrol_id" in tracks.columns else list(range(len(tm)))
    tree = vm.sindex
    rows: list[dict[str, Any]] = []
    for pid, geom in zip(ids, tm.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        total = float(geom.length)
        inside = 0.0
        found = []
        for j in tree.query(geom, predicate="intersects"):
            length = float(geom.intersection(vm.geometry.iloc[j]).length)
            if length > 0:
                inside += length
                found.append(
                    {
                        "patrol_id": pid,
                        "village": str(vm["name"].iloc[j]),
                        "code": str(vm["code"].iloc[j]),
                        "length_m": length,
                        "share": length / total if total > 0 else 0.0,
                    }
                )
        found.sort(key=lambda r: -r["length_m"])
        rows.extend(found)
        outside = total - inside
        if outside > 0.01 * max(total, 1.0):
            rows.append(
                {
                    "patrol_id": pid,
                    "village": None,
                    "code": None,
                    "length_m": outside,
                    "share": outside / total,
                }
            )
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in columns}).astype(
        {"length_m": float, "share": float}
    )


#: Reporting status of a village whose records came without a received date (e.g. only GPX
#: tracks, imported without ``--received``): it is not known whether the table was late.
RECEIVED_UNKNOWN = "报送日期未记录"
#: The reporting statuses a village can have in a month, in the order documents list them.
STATUS_ORDER = ("已报送", "逾期报送", RECEIVED_UNKNOWN, "未报送", "待报送")


@dataclass
class MonthlySummary:
    """The town's monthly patrol summary (全镇踏查情况汇总).

    Attributes
    ----------
    year, month
        The month.
    villages
        One row per village: ``village``, ``code``, ``patrols``, ``tracked``, ``reported_only``
        (records without a track), ``person_times`` (人次), ``findings`` (records reporting a
        finding), ``covered_pct`` (tracked coverage, None when not computed), ``status``
        (``已报送`` / ``逾期报送`` / :data:`RECEIVED_UNKNOWN` / ``未报送`` / ``待报送``) and
        ``received_on`` (the date the village's table was received, None when not recorded).
    not_reported
        Names of villages with no patrol record for the month (after the deadline: overdue).
    deadline
        The reporting deadline (the 25th).
    totals
        Town totals of ``patrols``, ``tracked``, ``reported_only``, ``person_times``,
        ``findings``, ``villages``, ``villages_reported`` (villages with a record for the
        month, whatever their status) and ``statuses`` (how many villages have each status,
        in the order 已报送, 逾期报送, :data:`RECEIVED_UNKNOWN`, 未报送, 待报送; only those that
        occur).
    """

    year: int
    month: int
    villages: pd.DataFrame
    not_reported: list[str]
    deadline: dt.date
    totals: dict[str, Any]


def monthly_summary(
    patrols: Iterable[Patrol],
    villages: gpd.GeoDataFrame | pd.DataFrame,
    *,
    year: int,
    month: int,
    coverage: pd.DataFrame | None = None,
    received: Mapping[str, dt.date] | None = None,
    as_of: dt.date | None = None,
    deadline_day: int = DEADLINE_DAY,
) -> MonthlySummary:
    """Summarise a month's patrols per village, and who has not reported by the deadline.

    Parameters
    ----------
    patrols
        Patrol records (any month; only the given month is counted). A record is matched to
        a village by ``village_code`` when set, else by name.
    villages
        Villages frame (``code``, ``name``); every village gets a row, with zeros if idle.
    year, month
        The month.
    coverage
        Per-village coverage frame (``code``, ``covered_pct``) of the month, or None.
    received
        Date each village's table was received, by village code (given when importing, or
        the import date of the table); a village received after the deadline is ``逾期报送``
        (late). A village with records but no received date is :data:`RECEIVED_UNKNOWN`,
        never late.
    as_of
        Today; before the deadline a village without records is ``待报送`` (pending), not
        ``未报送``. None means the deadline has passed.
    deadline_day
        Day of the month of the deadline (25).
    """
    deadline = dt.date(year, month, deadline_day)
    month_patrols = patrols_in_month(patrols, year=year, month=month)
    by_name = {str(n): str(c) for c, n in zip(villages["code"], villages["name"], strict=True)}
    cov = {}
    if coverage is not None and len(coverage):
        cov = {str(c): v for c, v in zip(coverage["code"], coverage["covered_pct"], strict=True)}
    stats: dict[str, dict[str, int]] = {}
    for p in month_patrols:
        code = p.village_code or by_name.get(p.village)
        if code is None:
            continue
        s = stats.setdefault(
            code, {"patrols": 0, "tracked": 0, "reported_only": 0, "person_times": 0, "findings": 0}
        )
        s["patrols"] += 1
        s["tracked" if p.tracked else "reported_only"] += 1
        s["person_times"] += len(p.persons)
        s["findings"] += int(is_finding(p.findings))
    passed = as_of is None or as_of > deadline
    rows = []
    not_reported = []
    for code, name in zip(villages["code"].astype(str), villages["name"].astype(str), strict=True):
        s = stats.get(code, {})
        has = s.get("patrols", 0) > 0
        day = received.get(code) if received is not None else None
        if has:
            late = day is not None and day > deadline
            status = RECEIVED_UNKNOWN if day is None else "逾期报送" if late else "已报送"
        else:
            status = "未报送" if passed else "待报送"
            not_reported.append(name)
        covered = cov.get(code)
        rows.append(
            {
                "village": name,
                "code": code,
                "patrols": s.get("patrols", 0),
                "tracked": s.get("tracked", 0),
                "reported_only": s.get("reported_only", 0),
                "person_times": s.get("person_times", 0),
                "findings": s.get("findings", 0),
                "covered_pct": None if covered is None or pd.isna(covered) else float(covered),
                "status": status,
                "received_on": day if has else None,
            }
        )
    frame = pd.DataFrame(rows)
    totals: dict[str, Any] = {
        key: int(frame[key].sum()) if len(frame) else 0
        for key in ("patrols", "tracked", "reported_only", "person_times", "findings")
    }
    totals["villages"] = len(frame)
    totals["villages_reported"] = len(frame) - len(not_reported)
    counts = frame["status"].value_counts() if len(frame) else pd.Series(dtype=int)
    totals["statuses"] = {k: int(counts[k]) for k in STATUS_ORDER if k in counts.index}
    return MonthlySummary(year, month, frame, not_reported, deadline, totals)
