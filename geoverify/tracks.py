"""Track hygiene (轨迹清洗): GPS glitches are dropped before a track counts for anything.

One bad fix — a jump of a few kilometres, a (0, 0) fix, a point at longitude −91 — drawn as part
of a patrol's line credits ground nobody walked (a 30 m strip on each side of a 5 km spike is
30 ha). :func:`clean_track` takes a track's parts (coordinates and, where the file has them,
per-point times) and returns the line that was really walked plus a :class:`TrackReport` that
counts every dropped point by reason. The rules, in order:

1. a fix that is not a coordinate (NaN, latitude beyond ±90°, longitude beyond ±180°):
   ``invalid_fix``; a fix at (0, 0) — what a receiver writes before it has a position:
   ``zero_fix``; a fix outside :attr:`TrackRules.region` (China by default): ``outside_region``;
   a time before :attr:`TrackRules.earliest` or more than a day after ``now``:
   ``implausible_time``;
2. a *step* between consecutive remaining fixes is impossible when, with a usable time (later
   than the previous fix), its speed exceeds :attr:`TrackRules.max_speed_kmh`, or, without one,
   it is longer than :attr:`TrackRules.jump_m`. Impossible steps cut a part into runs;
3. when the part has a run longer than :attr:`TrackRules.max_glitch_points`, the long runs are
   the track. A short run (at most that many fixes) stays when possible steps connect it to the
   kept fix before it and to the next long run; otherwise it is a glitch and is dropped —
   ``too_fast`` when a speed was exceeded; without times (``jump``) only when it is the first or
   last run or the track comes back to where it left (a spike), so that a sparse hand-drawn
   line keeps its vertices. A part without a long run is left as it is;
4. the line is cut (never drawn) across a remaining step that is faster than the limit.

Everything here is pure: arrays and shapely geometries in, a geometry and a report out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

__all__ = [
    "CHINA_REGION",
    "DROP_REASONS",
    "TrackReport",
    "TrackRules",
    "clean_points",
    "clean_track",
    "epoch_seconds",
    "plausible_time",
    "reasons_zh",
]

#: Longitude/latitude box of China (with a margin): a fix outside it is not the town's.
CHINA_REGION: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)

#: Stable code → (Chinese, English) reason of a dropped fix.
DROP_REASONS: dict[str, tuple[str, str]] = {
    "invalid_fix": (
        "坐标无效（非数值或超出经纬度范围）",
        "not a coordinate (NaN or beyond ±90°/±180°)",
    ),
    "zero_fix": ("坐标为 (0, 0)，接收机尚未定位", "a (0, 0) fix: the receiver had no position"),
    "outside_region": ("坐标不在中国境内", "outside China"),
    "implausible_time": (
        "时间不合理（早于 2000 年或晚于现在）",
        "implausible time (before 2000 or in the future)",
    ),
    "too_fast": ("与前后点之间的速度超出上限", "faster than the speed limit to its neighbours"),
    "jump": ("孤立的远距离跳点", "an isolated far jump"),
}


def reasons_zh(dropped: Mapping[str, int]) -> str:
    """Fixes dropped by reason code, in Chinese: ``孤立的远距离跳点 2、…`` (none: empty)."""
    return "、".join(
        f"{DROP_REASONS[k][0] if k in DROP_REASONS else k} {n}" for k, n in dropped.items() if n
    )


_GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class TrackRules:
    """What counts as a glitch.

    Attributes
    ----------
    max_speed_kmh
        Fastest plausible movement between two fixes: 80 km/h covers walking and a motorbike
        on village roads.
    jump_m
        Without usable times, a step longer than this is a jump.
    max_glitch_points
        A run of at most this many points cut off by impossible steps is a glitch.
    region
        (west, south, east, north) in degrees; fixes outside are dropped. None: no region.
    earliest
        Fixes timed before this are dropped (a receiver's reset clock says 1980 or 2000).
    """

    max_speed_kmh: float = 80.0
    jump_m: float = 1000.0
    max_glitch_points: int = 3
    region: tuple[float, float, float, float] | None = CHINA_REGION
    earliest: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

    def __post_init__(self) -> None:
        if not self.max_speed_kmh > 0:
            msg = f"max_speed_kmh must be positive, got {self.max_speed_kmh!r}"
            raise ValueError(msg)
        if not self.jump_m > 0:
            msg = f"jump_m must be positive, got {self.jump_m!r}"
            raise ValueError(msg)


@dataclass
class TrackReport:
    """What :func:`clean_track` did to one track."""

    points: int = 0
    kept: int = 0
    #: Dropped fixes by reason code (see :data:`DROP_REASONS`); only codes that occurred.
    dropped: dict[str, int] = field(default_factory=dict)
    #: Places where the line was cut because the step across was impossibly fast.
    breaks: int = 0

    @property
    def n_dropped(self) -> int:
        return self.points - self.kept

    @property
    def changed(self) -> bool:
        return self.n_dropped > 0 or self.breaks > 0

    def add(self, other: TrackReport) -> None:
        self.points += other.points
        self.kept += other.kept
        self.breaks += other.breaks
        for k, v in other.dropped.items():
            self.dropped[k] = self.dropped.get(k, 0) + v

    def describe_zh(self) -> str:
        """In Chinese alone, for users: ``丢弃 3 / 40 个点：坐标为 (0, 0)… 1、孤立的…跳点 2``."""
        text = f"丢弃 {self.n_dropped} / {self.points} 个点：{reasons_zh(self.dropped)}"
        if self.breaks:
            text += f"；断开 {self.breaks} 处"
        return text

    def describe_en(self) -> str:
        """The same in English, by the reasons' codes."""
        en = ", ".join(f"{k} {n}" for k, n in self.dropped.items())
        text = f"dropped {self.n_dropped} of {self.points} points: {en}"
        if self.breaks:
            text += f"; line cut at {self.breaks} impossible steps"
        return text

    def describe(self) -> str:
        """One line: ``丢弃 3 / 40 个点：… (dropped 3 of 40 points: zero_fix 1, jump 2)``."""
        return f"{self.describe_zh()} ({self.describe_en()})"

    def to_json(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "kept": self.kept,
            "dropped": self.n_dropped,
            "dropped_by_reason": dict(self.dropped),
            "breaks": self.breaks,
        }


def epoch_seconds(when: dt.datetime | None) -> float:
    """Seconds since 1970 (UTC) of an aware datetime; NaN for None. Naive times count as UTC."""
    if when is None:
        return float("nan")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - _EPOCH).total_seconds()


def plausible_time(when: dt.datetime, *, now: dt.datetime, rules: TrackRules | None = None) -> bool:
    """Whether a fix's time lies between :attr:`TrackRules.earliest` and a day after ``now``."""
    r = rules or TrackRules()
    t = epoch_seconds(when)
    return epoch_seconds(r.earliest) <= t <= epoch_seconds(now) + 86400.0


def _steps(
    lon: NDArray[np.float64], lat: NDArray[np.float64], t: NDArray[np.float64], rules: TrackRules
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.float64]]:
    """For each step i → i+1: impossible?, too fast?, length in metres."""
    if len(lon) < 2:
        empty = np.zeros(0, dtype=bool)
        return empty, empty, np.zeros(0)
    _, _, dist = _GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    dist = np.asarray(dist, dtype=float)
    dtime = np.diff(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = np.isfinite(dtime) & (dtime > 0)
        speed_kmh = np.where(usable, dist / np.where(usable, dtime, 1.0) * 3.6, 0.0)
    too_fast = usable & (speed_kmh > rules.max_speed_kmh)
    far = ~usable & (dist > rules.jump_m)
    return too_fast | far, too_fast, dist


def clean_points(
    lon: Sequence[float] | NDArray[np.float64],
    lat: Sequence[float] | NDArray[np.float64],
    times: Sequence[float] | NDArray[np.float64] | None = None,
    *,
    rules: TrackRules | None = None,
    now: dt.datetime | None = None,
) -> tuple[list[NDArray[np.intp]], TrackReport]:
    """Clean one sequence of fixes (one GPX ``<trkseg>``, one line).

    Parameters
    ----------
    lon, lat
        Degrees (CGCS2000 ≈ WGS84), in recorded order.
    times
        Seconds since 1970 UTC per fix (NaN where unknown), or None.
    now
        The present, for ``implausible_time``; None: no upper bound on times.

    Returns
    -------
    (pieces, report)
        ``pieces``: the indices of the kept fixes, one array per piece of line to draw (a piece
        has at least two fixes; fixes left alone by a cut count as dropped).
    """
    r = rules or TrackRules()
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    n = len(x)
    t = np.full(n, np.nan) if times is None else np.asarray(times, dtype=float)
    report = TrackReport(points=n)
    reason = np.full(n, "", dtype=object)

    with np.errstate(invalid="ignore"):
        invalid = ~(np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90))
        zero = ~invalid & (np.abs(x) < 1e-6) & (np.abs(y) < 1e-6)
        outside = np.zeros(n, dtype=bool)
        if r.region is not None:
            w, s, e, nn = r.region
            outside = ~invalid & ~zero & ~((x >= w) & (x <= e) & (y >= s) & (y <= nn))
        late = np.inf if now is None else epoch_seconds(now) + 86400.0
        bad_time = np.isfinite(t) & ((t < epoch_seconds(r.earliest)) | (t > late))
    for mask, code in (
        (invalid, "invalid_fix"),
        (zero, "zero_fix"),
        (outside, "outside_region"),
        (bad_time, "implausible_time"),
    ):
        reason[mask & (reason == "")] = code

    idx = np.flatnonzero(reason == "")
    fixes = _Fixes(x, y, t, r)
    impossible, _, _ = _steps(x[idx], y[idx], t[idx], r)
    # Runs of fixes between impossible steps: run k is idx[starts[k]:ends[k]].
    cuts = np.flatnonzero(impossible) + 1
    starts = np.concatenate([[0], cuts]).astype(int)
    ends = np.concatenate([cuts, [len(idx)]]).astype(int)
    runs = [idx[a:b] for a, b in zip(starts, ends, strict=True) if b > a]
    long = [len(run) > r.max_glitch_points for run in runs]
    # Only a part with a long run says which fixes are the track; otherwise nothing is decided.
    decidable = any(long)
    kept_runs: list[NDArray[np.intp]] = []
    for k, run in enumerate(runs):
        if not decidable or long[k]:
            kept_runs.append(run)
            continue
        # The next long run (or, when none follows, the next run) and the last kept fix.
        nxt = next((int(runs[j][0]) for j in range(k + 1, len(runs)) if long[j]), None)
        if nxt is None and k + 1 < len(runs):
            nxt = int(runs[k + 1][0])
        prev = int(kept_runs[-1][-1]) if kept_runs else None
        why = fixes.glitch(run, prev, nxt, first=k == 0, last=k == len(runs) - 1)
        if why is None:
            kept_runs.append(run)
        else:
            reason[run] = why

    pieces = _pieces(kept_runs, fixes, cut=decidable, report=report)
    for p in pieces:
        if len(p) < 2:
            reason[p] = "too_fast"  # left alone between two cuts
    pieces = [p for p in pieces if len(p) >= 2]

    kept = np.zeros(n, dtype=bool)
    for p in pieces:
        kept[p] = True
    report.kept = int(kept.sum())
    for code in DROP_REASONS:
        count = int(((reason == code) & ~kept).sum())
        if count:
            report.dropped[code] = count
    return pieces, report


@dataclass(frozen=True)
class _Fixes:
    """The fixes of one part, for judging steps between any two of them."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    t: NDArray[np.float64]
    rules: TrackRules

    def step(self, a: int, b: int) -> tuple[bool, bool, float]:
        """Impossible?, too fast?, metres of the step from fix ``a`` to fix ``b``."""
        pair = [a, b]
        impossible, fast, dist = _steps(self.x[pair], self.y[pair], self.t[pair], self.rules)
        return bool(impossible[0]), bool(fast[0]), float(dist[0])

    def glitch(
        self, run: NDArray[np.intp], prev: int | None, nxt: int | None, *, first: bool, last: bool
    ) -> str | None:
        """Why a short run is a glitch (``too_fast``, ``jump``), or None when it belongs.

        A short run belongs when it connects by possible steps to the kept fix before it and to
        the next long run (the next run when no long run follows). Otherwise it is a glitch if
        a speed was exceeded; without times, if it is the first or last run of the part, or a
        spike (the track comes back to where it left).
        """
        into = self.step(prev, int(run[0])) if prev is not None else (False, False, 0.0)
        out = self.step(int(run[-1]), nxt) if nxt is not None else (False, False, 0.0)
        if not into[0] and not out[0]:
            return None
        if into[1] or out[1]:
            return "too_fast"
        if first or last:
            return "jump"
        if prev is not None and nxt is not None and self.step(prev, nxt)[2] <= self.rules.jump_m:
            return "jump"
        return None


def _pieces(
    runs: list[NDArray[np.intp]], fixes: _Fixes, *, cut: bool, report: TrackReport
) -> list[NDArray[np.intp]]:
    """Join the kept runs into pieces of line, cutting across a step that is too fast."""
    pieces: list[NDArray[np.intp]] = []
    current: list[int] = []
    for run in runs:
        if current and cut and fixes.step(current[-1], int(run[0]))[1]:
            report.breaks += 1
            pieces.append(np.asarray(current, dtype=np.intp))
            current = []
        current.extend(int(i) for i in run)
    if current:
        pieces.append(np.asarray(current, dtype=np.intp))
    return pieces


def _parts(geom: BaseGeometry) -> list[LineString]:
    if isinstance(geom, LineString):
        return [geom]
    if isinstance(geom, MultiLineString):
        return list(geom.geoms)
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, LineString)]


def clean_track(
    geom: BaseGeometry | None,
    times: Sequence[Sequence[float] | NDArray[np.float64] | None] | None = None,
    *,
    rules: TrackRules | None = None,
    now: dt.datetime | None = None,
) -> tuple[BaseGeometry | None, TrackReport, NDArray[np.float64]]:
    """Clean a track (LineString or MultiLineString, degrees) with :func:`clean_points`.

    Parameters
    ----------
    times
        One sequence per line part (seconds since 1970 UTC, NaN where unknown), aligned with
        the part's vertices; None (or a None entry, or a length that does not match): no times
        for that part.

    Returns
    -------
    (geometry, report, kept_times)
        The walked line (a LineString when one piece is left, a MultiLineString for several,
        None when nothing is left), the report, and the times of the kept fixes.
    """
    report = TrackReport()
    if geom is None or geom.is_empty:
        return None, report, np.zeros(0)
    parts = _parts(geom)
    lines: list[LineString] = []
    kept_times: list[NDArray[np.float64]] = []
    for i, part in enumerate(parts):
        xy = np.asarray(part.coords, dtype=float)[:, :2]
        t = None
        if times is not None and i < len(times) and times[i] is not None:
            cand = np.asarray(times[i], dtype=float)
            t = cand if len(cand) == len(xy) else None
        pieces, rep = clean_points(xy[:, 0], xy[:, 1], t, rules=rules, now=now)
        report.add(rep)
        for p in pieces:
            lines.append(LineString(xy[p]))
            if t is not None:
                kept_times.append(t[p])
    times_out = np.concatenate(kept_times) if kept_times else np.zeros(0)
    if not lines:
        return None, report, times_out
    out: BaseGeometry = lines[0] if len(lines) == 1 else MultiLineString(lines)
    return out, report, times_out
