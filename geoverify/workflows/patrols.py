"""Import and list patrol records (踏查记录): tables, GPX and KML tracks, all or nothing."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from geoverify.errors import InputError, RejectedInputError, RowProblem
from geoverify.geo import STORE_CRS, metric_crs
from geoverify.patrols import Patrol, track_lengths_by_village
from geoverify.readers.patrols import (
    TRACK_SUFFIXES,
    hygiene_entries,
    read_patrol_file,
    read_track_file,
)
from geoverify.readers.tables import TABLE_SUFFIXES, footer_said
from geoverify.sanity import check_date
from geoverify.store import Store, repo
from geoverify.store import patrols as store_patrols
from geoverify.tracks import TrackRules, reasons_zh
from geoverify.workflows.common import (
    LOCAL_TZ,
    Actor,
    Source,
    StagedInput,
    make_who,
    staged_input,
    today_local,
)

__all__ = [
    "PatrolImportResult",
    "import_patrols",
    "list_patrols",
    "load_patrol_tracks",
    "load_patrols",
    "month_range",
]

IMPORT_KIND = "patrols"


@dataclass
class PatrolImportResult:
    """What a patrol import did."""

    source: str
    sha256: str
    status: str  # "imported" | "already_imported"
    imported: int = 0
    tracked: int = 0
    waypoints: int = 0
    linked_tracks: int = 0
    #: Tracks of a track file that the store already holds (e.g. from a table's --tracks).
    already_recorded: int = 0
    by_village: dict[str, int] = field(default_factory=dict)
    dates: list[str] = field(default_factory=list)
    received_on: dt.date | None = None
    #: Per track that track hygiene changed: file, number, name, points, kept, dropped,
    #: dropped_by_reason, breaks, reason (see :mod:`geoverify.tracks`).
    track_hygiene: list[dict[str, Any]] = field(default_factory=list)
    #: The table's rows under it that are a total or sign-off lines, not patrols.
    footer_rows: list[int] = field(default_factory=list)

    @property
    def footer_text(self) -> str:
        """:attr:`footer_rows` as a person reads it (empty when there are none)."""
        return footer_said(self.footer_rows, "踏查记录")

    @property
    def points_dropped(self) -> int:
        """GPS fixes dropped by track hygiene, over every track of the import."""
        return sum(int(e["dropped"]) for e in self.track_hygiene)

    @property
    def dropped_said(self) -> str:
        """Why the fixes were dropped, over every track, in Chinese: ``时间不合理（早于 2000 年或
        晚于现在） 108、孤立的远距离跳点 2`` (empty when none was)."""
        counts: dict[str, int] = {}
        for e in self.track_hygiene:
            for code, n in (e.get("dropped_by_reason") or {}).items():
                counts[code] = counts.get(code, 0) + int(n)
        return reasons_zh(counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file_sha256": self.sha256,
            "status": self.status,
            "imported": self.imported,
            "tracked": self.tracked,
            "reported_only": self.imported - self.tracked,
            "waypoints": self.waypoints,
            "linked_tracks": self.linked_tracks,
            "already_recorded": self.already_recorded,
            "by_village": dict(self.by_village),
            "dates": list(self.dates),
            "received_on": self.received_on.isoformat() if self.received_on else None,
            "points_dropped": self.points_dropped,
            "track_hygiene": [dict(e) for e in self.track_hygiene],
            "footer_rows": list(self.footer_rows),
        }


def month_range(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``YYYY-MM``.

    Raises
    ------
    InputError
        When ``month`` is not ``YYYY-MM``.
    """
    try:
        year_s, month_s = month.strip().split("-")
        year, mon = int(year_s), int(month_s)
        first = dt.date(year, mon, 1)
    except ValueError as e:
        msg = f"月份「{month}」应为 YYYY-MM，例如 2024-03 (month must be YYYY-MM, got {month!r})"
        raise InputError(msg) from e
    return first, dt.date(year, mon, calendar.monthrange(year, mon)[1])


def _as_multi(geom: BaseGeometry | None) -> MultiLineString | None:
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, MultiLineString):
        return geom
    if isinstance(geom, LineString):
        return MultiLineString([geom])
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, LineString)]
    return MultiLineString(parts) if parts else None


def _resolve_village(villages: gpd.GeoDataFrame, value: str) -> tuple[str, str]:
    """(code, name) of a village given by name, name without 村/社区, or code."""
    text = value.strip()
    for code, name in zip(villages["code"].astype(str), villages["name"].astype(str), strict=True):
        short = name.removesuffix("社区").removesuffix("村")
        if text in {code, name} or (short and text == short):
            return code, name
    err = repo.no_such_village(value, [str(n) for n in villages["name"]])
    msg = f"--village: {err}"
    raise InputError(msg)


@dataclass
class _StoredTracks:
    """Named tracks of earlier track-file imports that no table row claims yet."""

    #: Tracks whose name is unique among them (a table's 轨迹 cell can name them).
    frame: gpd.GeoDataFrame
    #: Patrol id by unique track name.
    by_name: dict[str, int]
    #: Patrol id by track geometry (:func:`_track_key`): the same track read from any file.
    by_key: dict[str, int]


def _stored_tracks(conn: Connection) -> _StoredTracks:
    rows = store_patrols.unclaimed_named_tracks(conn)
    counts = pd.Series([r.track_name for r in rows], dtype=object).value_counts()
    unique = [r for r in rows if counts.get(r.track_name, 0) == 1]
    frame = gpd.GeoDataFrame(
        {"name": [r.track_name for r in unique]},
        geometry=gpd.GeoSeries([r.geometry for r in unique], crs=STORE_CRS),
    )
    by_key: dict[str, int] = {}
    for r in rows:
        key = _track_key(_as_multi(r.geometry))
        if key is not None:
            by_key.setdefault(key, int(r.id))
    return _StoredTracks(frame, {str(r.track_name): int(r.id) for r in unique}, by_key)


def _track_key(geom: Any) -> str | None:
    """A key equal for the same track read from any file (coordinates to ~1 cm)."""
    if geom is None:
        return None
    return str(shapely.to_wkt(shapely.normalize(shapely.set_precision(geom, 1e-7))))


def _stored_track_keys(conn: Connection) -> set[str]:
    rows = store_patrols.stored_track_geometries(conn)
    return {k for k in (_track_key(_as_multi(g)) for g in rows) if k is not None}


def _local_received(received_on: dt.date | None) -> dt.date:
    return received_on or repo.now().astimezone(LOCAL_TZ).date()


def import_patrols(
    store: Store,
    path: Source,
    *,
    tracks: Sequence[Source] = (),
    village: str | None = None,
    date: dt.date | None = None,
    people: str | None = None,
    received_on: dt.date | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    actor: str | Actor | None = None,
    only_village: str | None = None,
    track_rules: TrackRules | None = None,
    group: str | None = None,
    findings: str | None = None,
) -> PatrolImportResult:
    """Import patrol records from a table (CSV/XLSX) or a track file (GPX/KML/KMZ), all or nothing.

    A table's 轨迹 cell may name a track of a file given in ``tracks``, a GPX/KML file next to
    the table, or a track imported earlier from a track file (that track-file patrol is then
    represented by the table row, never counted twice). A track file gives one patrol per
    track, assigned to the village it runs longest in (or ``village``), dated by its first
    time (local, Asia/Shanghai) or ``date``; ``people`` names who walked it, ``group`` the
    group (组, one of its village's) and ``findings`` what was found (踏查情况), as a table's
    row would.

    Every record is validated first; any problem raises
    :class:`~geoverify.errors.RejectedInputError` and nothing is written. The same file
    imported again changes nothing (``status == "already_imported"``).

    Parameters
    ----------
    received_on
        Date the village's table was received (for the 25th deadline). Default for a table:
        the day it is imported; for a track file: not recorded (the village's reporting is
        then 报送日期未记录, never late).
    track_rules
        Track hygiene (:class:`~geoverify.tracks.TrackRules`): GPS glitches are dropped from
        every track before village attribution, lengths and coverage, and reported per track
        in ``PatrolImportResult.track_hygiene``.

    ``path`` and each of ``tracks`` is a file path or an uploaded
    :class:`~geoverify.workflows.common.InputFile`. ``only_village`` (a village code) refuses
    records of any other village (a village user's upload); a track file is then that
    village's.
    """
    with ExitStack() as stack:
        main = stack.enter_context(staged_input(path))
        staged_tracks = [stack.enter_context(staged_input(f)) for f in tracks]
        return _import_patrols(
            store,
            main,
            tracks=staged_tracks,
            village=village,
            date=date,
            people=people,
            received_on=received_on,
            sheet=sheet,
            encoding=encoding,
            actor=actor,
            only_village=only_village,
            track_rules=track_rules,
            group=group,
            findings=findings,
        )


def _import_patrols(
    store: Store,
    staged: StagedInput,
    *,
    tracks: Sequence[StagedInput],
    village: str | None,
    date: dt.date | None,
    people: str | None,
    received_on: dt.date | None,
    sheet: str | None,
    encoding: str | None,
    actor: str | Actor | None,
    only_village: str | None = None,
    track_rules: TrackRules | None = None,
    group: str | None = None,
    findings: str | None = None,
) -> PatrolImportResult:
    p, name, sha = staged.path, staged.name, staged.sha256
    group = (group or "").strip() or None  # as a table's cell is read
    findings = (findings or "").strip() or None
    suffix = p.suffix.lower()
    is_table = suffix in TABLE_SUFFIXES
    if not is_table and suffix not in TRACK_SUFFIXES:
        msg = (
            f"{name}: 不支持的踏查文件类型 {suffix}，应为 .csv .xlsx .gpx .kml .kmz "
            "(unsupported patrol file type)"
        )
        raise InputError(msg)
    track_only = (village, date, people, group, findings)
    if is_table and any(v is not None for v in track_only):
        msg = (
            f"{name}: --village/--date/--people/--group/--findings 只用于轨迹文件；"
            "踏查表每行自带这些信息 (these options apply to track files only)"
        )
        raise InputError(msg)
    if not is_table and tracks:
        msg = f"{name}: --tracks 只用于踏查表 (--tracks applies to tables only)"
        raise InputError(msg)
    if date is not None:  # the rule a table's dates follow: nobody reports a patrol to come
        bad = check_date(date, latest=today_local(), what="踏查日期", what_en="date")
        if bad is not None:
            msg = f"{name}: {bad.zh} ({bad.en})"
            raise InputError(msg)
    store.require()
    with store.connect() as conn:
        if repo.find_import(conn, kind=IMPORT_KIND, sha256=sha):
            return PatrolImportResult(name, sha, "already_imported")
        villages = repo.load_villages(conn)
        groups = repo.load_groups(conn)
        stored = _stored_tracks(conn) if is_table else None
        known_tracks = _stored_track_keys(conn) if not is_table else set()
    if villages.empty:
        msg = "还没有村（社区）边界，请先运行 `geoverify init` (no village boundaries yet)"
        raise InputError(msg)
    forced = _resolve_village(villages, village) if village is not None else None

    given: list[gpd.GeoDataFrame] = [read_track_file(f.path, rules=track_rules) for f in tracks]
    given_names = {str(n).strip() for g in given for n in g["name"] if n is not None}
    frames = [g[["name", "geometry"]] for g in given]
    if stored is not None and len(stored.frame):
        frames.append(stored.frame[~stored.frame["name"].isin(given_names)])
    track_frame = (
        gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=STORE_CRS)
        if frames
        else None
    )
    read = read_patrol_file(
        p,
        villages=villages,
        tracks=track_frame,
        date=date,
        people=people,
        sheet=sheet,
        encoding=encoding,
        rules=track_rules,
        group=group,
        findings=findings,
    )
    hygiene = [
        e for g, f in zip(given, tracks, strict=True) for e in hygiene_entries(g, source=f.name)
    ]
    hygiene += [{**e, "file": name} if e["file"] == str(p) else e for e in read.hygiene]
    details: dict[str, object] = {"file_sha256": sha, "source": name}
    if read.problems:
        raise RejectedInputError(name, list(read.problems), details=details)
    if not read.patrols:
        summary = f"{name}: 没有踏查记录 (no patrol records)"
        raise RejectedInputError(name, [], summary=summary, details=details)

    if only_village is not None and forced is not None and forced[0] != only_village:
        msg = f"{name}: 只能登记你的村（社区）的踏查 (only your village's patrols)"
        raise InputError(msg)
    if only_village is not None and forced is None:
        _check_only_village(read.patrols, only_village, name=name, details=details)
    if only_village is not None:
        _check_tracks_reach(read.patrols, villages, only_village, name=name, details=details)
    patrols = read.patrols
    if forced is not None:  # the village given, before its groups are checked
        patrols = [
            Patrol(**{**_fields(x), "village_code": forced[0], "village": forced[1]})
            for x in patrols
        ]
    _check_groups(patrols, groups, name=name, details=details)
    already = 0
    if known_tracks:
        # A track that is already stored (imported with a table's --tracks, or from another
        # file) is the same patrol: never count it twice.
        fresh = [x for x in patrols if _track_key(_as_multi(x.track)) not in known_tracks]
        already = len(patrols) - len(fresh)
        patrols = fresh
        if not patrols:
            return PatrolImportResult(name, sha, "already_recorded", already_recorded=already)
    # Track length per village (metric CRS of the town).
    crs = metric_crs(float(villages.geometry.union_all().centroid.x))
    geoms = [_as_multi(x.track) for x in patrols]
    tracked = gpd.GeoDataFrame(
        {"patrol_id": [i for i, g in enumerate(geoms) if g is not None]},
        geometry=gpd.GeoSeries([g for g in geoms if g is not None], crs=STORE_CRS),
    )
    lengths = track_lengths_by_village(tracked, villages, crs=crs)
    totals = dict(
        zip(tracked["patrol_id"], tracked.to_crs(crs).geometry.length.astype(float), strict=True)
    )
    received = _local_received(received_on)
    # The date a village's table was received is known: given, or the day the table was
    # imported. A track file is not a village's table: its import date says nothing.
    received_known = received_on is not None or is_table
    who = make_who(actor=actor, source=f"file:{name}")
    now = repo.now()
    with store.begin() as conn:
        if repo.find_import(conn, kind=IMPORT_KIND, sha256=sha):
            return PatrolImportResult(name, sha, "already_imported")
        import_id = repo.record_import(
            conn,
            kind=IMPORT_KIND,
            sha256=sha,
            source_name=name,
            who=who,
            summary={
                "records": len(patrols),
                "tracked": len(tracked),
                "tracks_files": [f.name for f in tracks],
                "received_on": received.isoformat() if received_known else None,
                "track_hygiene": hygiene,
                "footer_rows": list(read.footer_rows),
            },
        )
        ids: list[int] = []
        linked = 0
        for i, x in enumerate(patrols):
            claim = _claim(stored, x, geoms[i], given_names) if stored is not None else None
            linked += claim is not None
            pid = store_patrols.insert_patrol(
                conn,
                {
                    "import_id": import_id,
                    "row": int(x.row or i + 1),
                    "village_code": x.village_code,
                    "group_name": x.group,
                    "date": x.date,
                    "people": x.people,
                    "findings": x.findings,
                    "remarks": x.remarks,
                    "source": f"file:{name}:row {x.row}",
                    "track_name": x.track_name,
                    "geometry": geoms[i],
                    "length_m": totals.get(i),
                    "track_patrol": claim,
                    "received_on": received,
                    "created_at": now,
                },
            )
            ids.append(pid)
        inside = lengths[lengths["code"].notna()]
        if len(inside):
            store_patrols.insert_patrol_villages(
                conn,
                [
                    {"patrol": ids[int(pid)], "village_code": str(code), "length_m": float(m)}
                    for pid, code, m in zip(
                        inside["patrol_id"], inside["code"], inside["length_m"], strict=True
                    )
                ],
            )
        n_wpt = 0
        wpts = read.waypoints
        if wpts is not None and len(wpts):
            rows = []
            for r in wpts.itertuples():
                when = r.time if not pd.isna(r.time) else None
                rows.append(
                    {
                        "import_id": import_id,
                        "number": int(r.number),
                        "name": r.name if isinstance(r.name, str) else None,
                        "time": when.to_pydatetime() if when is not None else None,
                        "description": r.description if isinstance(r.description, str) else None,
                        "geometry": r.geometry,
                    }
                )
            store_patrols.insert_waypoints(conn, rows)
            n_wpt = len(rows)
        events: list[dict[str, Any]] = [
            {
                "kind": "patrol_recorded",
                "source": f"file:{name}:row {x.row}",
                "payload": {
                    "patrol": pid,
                    "village_code": x.village_code,
                    "group": x.group,
                    "date": x.date.isoformat(),
                    "tracked": geoms[i] is not None,
                    "track_name": x.track_name,
                },
            }
            for i, (pid, x) in enumerate(zip(ids, patrols, strict=True))
        ]
        events.append(
            {
                "kind": "patrols_imported",
                "payload": {
                    "file": name,
                    "sha256": sha,
                    "records": len(patrols),
                    "tracked": len(tracked),
                    "waypoints": n_wpt,
                    "linked_tracks": linked,
                    "received_on": received.isoformat() if received_known else None,
                    "points_dropped": sum(int(e["dropped"]) for e in hygiene),
                },
            }
        )
        repo.record_events(conn, events, who=who)
    by_village: dict[str, int] = {}
    for x in patrols:
        by_village[x.village] = by_village.get(x.village, 0) + 1
    return PatrolImportResult(
        name,
        sha,
        "imported",
        imported=len(patrols),
        tracked=len(tracked),
        waypoints=n_wpt,
        linked_tracks=linked,
        already_recorded=already,
        by_village=by_village,
        dates=sorted({x.date.isoformat() for x in patrols}),
        received_on=received if received_known else None,
        track_hygiene=hygiene,
        footer_rows=list(read.footer_rows),
    )


def _record_problem(
    i: int, x: Patrol, code: str, zh: str, en: str, field: str, value: str | None
) -> RowProblem:
    """A problem of the ``i``-th record ``x`` of a patrol file, by the row it came from."""
    return RowProblem(int(x.row or i + 1), None, zh, en, field=field, value=value, code=code)


def _refuse(problems: list[RowProblem], name: str, details: dict[str, object]) -> None:
    """Refuse the file ``name`` when it has ``problems`` (nothing is written)."""
    if problems:
        raise RejectedInputError(name, problems, details=details)


#: Metres within which a track of a village user's upload must come of the user's village: a
#: patrol may cross the boundary, but one that never comes near the village is another's.
OWN_TRACK_REACH_M = 200.0


def _check_tracks_reach(
    patrols: Sequence[Patrol],
    villages: gpd.GeoDataFrame,
    code: str,
    *,
    name: str,
    details: dict[str, object],
) -> None:
    """Refuse every track of a village user's upload that never comes within
    :data:`OWN_TRACK_REACH_M` of the user's village: it would count as patrolled ground of
    the villages it does cross, under this village's name."""
    own = villages[villages["code"].astype(str) == code]
    rows = [(i, x) for i, x in enumerate(patrols) if _as_multi(x.track) is not None]
    if own.empty or not rows:
        return
    crs = metric_crs(float(own.geometry.iloc[0].centroid.x))
    area = own.to_crs(crs).geometry.iloc[0]
    lines = gpd.GeoSeries([_as_multi(x.track) for _, x in rows], crs=STORE_CRS).to_crs(crs)
    distances = lines.distance(area).to_numpy(dtype=float)
    village = str(own["name"].iloc[0])
    problems = [
        _record_problem(
            i,
            x,
            "track_outside_village",
            f"轨迹{f' {x.track_name}' if x.track_name else ''}不经过{village}"
            f"（最近处相距约 {d:,.0f} 米），只能登记本村（社区）的踏查轨迹",
            f"track does not come within {OWN_TRACK_REACH_M:.0f} m of {code} ({d:.0f} m away)",
            "track",
            x.track_name,
        )
        for (i, x), d in zip(rows, distances, strict=True)
        if d > OWN_TRACK_REACH_M
    ]
    _refuse(problems, name, details)


def _check_groups(
    patrols: Sequence[Patrol], groups: gpd.GeoDataFrame, *, name: str, details: dict[str, object]
) -> None:
    """Refuse a record naming a group (组) its village does not have, where the village's
    groups are known (a typo would file the patrol under a group nobody can find)."""
    known: dict[str, list[str]] = {}
    for code, group in zip(groups["village_code"], groups["name"], strict=True):
        known.setdefault(str(code), []).append(str(group))
    problems = []
    for i, x in enumerate(patrols):
        have = known.get(str(x.village_code))
        if x.group is None or not have or x.group.strip() in have:
            continue
        zh = f"{x.village}没有“{x.group}”（有：{'、'.join(have)}）"
        en = f"{x.village} has no group {x.group!r}"
        problems.append(_record_problem(i, x, "unknown_group", zh, en, "group", x.group))
    _refuse(problems, name, details)


def _check_only_village(
    patrols: Sequence[Patrol], code: str, *, name: str, details: dict[str, object]
) -> None:
    """Refuse every record of another village (a village user uploads their own only)."""
    problems = [
        _record_problem(
            i,
            x,
            "other_village",
            f"这条记录属于 {x.village}，不是你的村（社区）",
            f"record of another village ({x.village})",
            "village",
            x.village,
        )
        for i, x in enumerate(patrols)
        if x.village_code != code
    ]
    _refuse(problems, name, details)


def _claim(
    stored: _StoredTracks, x: Patrol, geom: MultiLineString | None, given_names: set[str]
) -> int | None:
    """The stored track-file patrol a table row stands for, if any (then never counted twice).

    A row whose track (from ``--tracks`` or a file next to the table) is the same line as a
    stored track links to it, whatever the order of the imports; a row naming a stored track
    that no given file holds links to it by name. Each stored patrol is claimed once.
    """
    claim = None
    key = _track_key(geom)
    if key is not None:
        claim = stored.by_key.pop(key, None)
    if claim is None and x.track_name and x.track_name not in given_names:
        claim = stored.by_name.pop(x.track_name, None)
    if claim is not None:
        for k, v in list(stored.by_key.items()):
            if v == claim:
                del stored.by_key[k]
        for k, v in list(stored.by_name.items()):
            if v == claim:
                del stored.by_name[k]
    return claim


def _fields(x: Patrol) -> dict[str, Any]:
    return {
        "village": x.village,
        "date": x.date,
        "village_code": x.village_code,
        "group": x.group,
        "people": x.people,
        "findings": x.findings,
        "remarks": x.remarks,
        "track": x.track,
        "track_name": x.track_name,
        "source": x.source,
        "row": x.row,
        "extra": dict(x.extra),
    }


def _known_received(row: Any) -> dt.date | None:
    """The received date of a stored record, or None when its import did not know it."""
    summary = row.import_summary if isinstance(row.import_summary, dict) else {}
    if "received_on" in summary and summary["received_on"] is None:
        return None
    return row.received_on


def load_patrols(
    conn: Connection,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    village: str | None = None,
) -> list[Patrol]:
    """Patrol records dated from ``start`` to ``end`` (inclusive), as :class:`Patrol` objects.

    A track-file patrol whose track a table row names is left out (the row stands for it).
    ``extra`` holds ``id``, ``received_on`` (None when unknown: a track file imported without
    ``received_on``), ``length_m`` and ``import`` (file name).
    ``village`` matches a village name or code.
    """
    out = []
    for r in store_patrols.patrol_rows(conn, start=start, end=end, village=village):
        geom = r.geometry
        out.append(
            Patrol(
                village=str(r.village),
                date=r.date,
                village_code=str(r.village_code),
                group=r.group_name,
                people=r.people,
                findings=r.findings,
                remarks=r.remarks,
                track=geom if geom is not None and not shapely.is_empty(geom) else None,
                track_name=r.track_name,
                source=str(r.source_name),
                row=int(r.row),
                extra={
                    "id": int(r.id),
                    "received_on": _known_received(r),
                    "length_m": r.length_m,
                    "import": str(r.source_name),
                },
            )
        )
    return out


def list_patrols(
    store: Store,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    village: str | None = None,
) -> pd.DataFrame:
    """Patrol records as a table: id, date, village, group, people, findings, remarks, track,
    length_m, source file, row, received_on."""
    store.require()
    with store.connect() as conn:
        patrols = load_patrols(conn, start=start, end=end, village=village)
    columns = [
        "id",
        "date",
        "village",
        "village_code",
        "group",
        "people",
        "findings",
        "remarks",
        "tracked",
        "track_name",
        "length_m",
        "source",
        "row",
        "received_on",
    ]
    rows = [
        {
            "id": x.extra["id"],
            "date": x.date,
            "village": x.village,
            "village_code": x.village_code,
            "group": x.group,
            "people": x.people,
            "findings": x.findings,
            "remarks": x.remarks,
            "tracked": x.tracked,
            "track_name": x.track_name,
            "length_m": x.extra["length_m"],
            "source": x.source,
            "row": x.row,
            "received_on": x.extra["received_on"],
        }
        for x in patrols
    ]
    return pd.DataFrame(rows, columns=columns)


def load_patrol_tracks(
    store: Store, *, start: dt.date | None = None, end: dt.date | None = None
) -> gpd.GeoDataFrame:
    """Tracks of the patrols dated from ``start`` to ``end`` (inclusive), EPSG:4490.

    Columns: ``patrol_id`` (store id), ``date``, ``village``, ``village_code``, ``group``,
    ``people``, ``track_name``, ``length_m``, geometry (MultiLineString). Reported-only
    records (no track) are not in it.
    """
    store.require()
    with store.connect() as conn:
        patrols = [x for x in load_patrols(conn, start=start, end=end) if x.tracked]
    return gpd.GeoDataFrame(
        {
            "patrol_id": [x.extra["id"] for x in patrols],
            "date": [x.date for x in patrols],
            "village": [x.village for x in patrols],
            "village_code": [x.village_code for x in patrols],
            "group": [x.group for x in patrols],
            "people": [x.people for x in patrols],
            "track_name": [x.track_name for x in patrols],
            "length_m": [x.extra["length_m"] for x in patrols],
        },
        geometry=gpd.GeoSeries([x.track for x in patrols], crs=STORE_CRS),
    )


def latest_patrol_month(conn: Connection) -> str | None:
    """``YYYY-MM`` of the latest patrol record in the store, or None when there is none."""
    latest = store_patrols.latest_patrol_date(conn)
    return None if latest is None else f"{latest.year:04d}-{latest.month:02d}"


def latest_month(store: Store) -> str | None:
    """:func:`latest_patrol_month` on a connection of its own."""
    store.require()
    with store.connect() as conn:
        return latest_patrol_month(conn)
