"""Patrol records from the plan's table (CSV/XLSX) and from GPX/KML track files (踏查记录)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import union_all
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geoverify.clock import LOCAL_TZ, today_local
from geoverify.errors import InputError, RejectedInputError, RowProblem
from geoverify.geo import STORE_CRS
from geoverify.patrols import Patrol, track_lengths_by_village
from geoverify.readers.gpx import read_gpx
from geoverify.readers.kml import read_kml
from geoverify.readers.tables import TABLE_SUFFIXES, find_column, footer_count, read_table
from geoverify.sanity import check_date
from geoverify.tracks import TrackReport, TrackRules, clean_track, epoch_seconds, plausible_time
from geoverify.values import is_missing, text_or_none

__all__ = [
    "PATROL_COLUMNS",
    "TRACK_SUFFIXES",
    "PatrolRead",
    "parse_patrol_date",
    "read_patrol_file",
    "read_patrol_table",
    "read_track_file",
]

#: Accepted headers of each column of the plan's patrol table, in order of preference.
PATROL_COLUMNS: dict[str, tuple[str, ...]] = {
    "village": ("村、社区", "村(社区)", "村社区", "村/社区", "村", "社区", "村名", "village"),
    "group": ("组", "村民小组", "小组", "组别", "group"),
    "date": ("踏查时间", "踏查日期", "日期", "时间", "date"),
    "people": ("踏查人员", "人员", "参与人员", "people"),
    "findings": ("踏查情况", "情况", "踏查结果", "findings"),
    "remarks": ("备注", "remarks"),
    "track": ("轨迹", "轨迹文件", "轨迹名称", "track", "gpx"),
}
#: File suffixes read as track files.
TRACK_SUFFIXES = frozenset({".gpx", ".kml", ".kmz"})

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MD = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class PatrolRead:
    """Patrol records read from one file, with the rows that could not be used.

    Attributes
    ----------
    patrols
        The usable records, in file order.
    problems
        One :class:`~geoverify.errors.RowProblem` per unusable row (or track).
    source
        The file name as given.
    rows
        The row number (table) or track number (GPX/KML) of each record in ``patrols``.
    waypoints
        Waypoints of a GPX file (findings marked on the device), EPSG:4490, or None.
    hygiene
        What track hygiene dropped, per track (see :func:`hygiene_entries`).
    footer_rows
        The rows under a table that are its total or sign-off lines, not patrols
        (:func:`~geoverify.readers.tables.footer_count`).
    """

    patrols: list[Patrol]
    problems: list[RowProblem]
    source: str
    rows: list[int] = field(default_factory=list)
    waypoints: gpd.GeoDataFrame | None = None
    #: One entry per track that track hygiene changed: ``file``, ``number``, ``name`` and the
    #: :meth:`~geoverify.tracks.TrackReport.to_json` counts.
    hygiene: list[dict[str, Any]] = field(default_factory=list)
    footer_rows: list[int] = field(default_factory=list)

    def check(self) -> None:
        """Raise :class:`~geoverify.errors.RejectedInputError` if any row was rejected."""
        if self.problems:
            raise RejectedInputError(self.source, list(self.problems))


def parse_patrol_date(value: Any, *, year: int | None = None) -> dt.date:
    """Parse a 踏查时间 cell into a date.

    Accepts dates/datetimes (XLSX), Excel serial numbers, ``2024-03-12``, ``2024/3/12``,
    ``2024.3.12``, ``2024年3月12日`` (a time or a range after the date is ignored: the first day
    counts), ``20240312``, and ``3月12日`` / ``3-12`` when ``year`` is given.

    Raises
    ------
    ValueError
        When the value is not such a date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer() and 19000101 <= number <= 21001231:
            return parse_patrol_date(str(int(number)), year=year)
        if 20000 <= number < 80000:
            return _EXCEL_EPOCH + dt.timedelta(days=int(number))
        msg = f"not a date: {value!r}"
        raise ValueError(msg)
    if value is None:
        msg = "empty date"
        raise ValueError(msg)
    text = str(value).strip().translate(_FULLWIDTH)
    m = _YMD.match(text) or _COMPACT.match(text)
    if m:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _MD.match(text)
    if m and year is not None:
        return dt.date(year, int(m.group(1)), int(m.group(2)))
    msg = f"not a date: {value!r}"
    raise ValueError(msg)


def _village_lookup(villages: gpd.GeoDataFrame | pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    """Village name variants → (code, official name): 甲村 is found as 甲村 and 甲."""
    lookup: dict[str, tuple[str, str]] = {}
    if villages is None:
        return lookup
    for code, name in zip(villages["code"].astype(str), villages["name"].astype(str), strict=True):
        lookup[name] = (code, name)
        for suffix in ("社区", "村"):
            if name.endswith(suffix) and len(name) > len(suffix):
                lookup.setdefault(name[: -len(suffix)], (code, name))
        lookup.setdefault(code, (code, name))
    return lookup


def _lines_only(geom: BaseGeometry | None) -> BaseGeometry | None:
    """The LineString parts of a geometry (points and polygons of a KML are not tracks)."""
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, LineString | MultiLineString):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, LineString | MultiLineString)]
    if not parts:
        return None
    merged = union_all(parts)
    return merged if not merged.is_empty else None


def _hygiene(
    geom: BaseGeometry | None,
    times: Any,
    *,
    rules: TrackRules | None,
    now: dt.datetime | None,
) -> tuple[BaseGeometry | None, TrackReport, dt.datetime | None]:
    """The cleaned track, its report, and its first plausible time (UTC) among kept fixes."""
    line = _lines_only(geom)
    cleaned, report, kept = clean_track(line, times, rules=rules, now=now)
    finite = kept[np.isfinite(kept)] if len(kept) else kept
    start = dt.datetime.fromtimestamp(float(finite.min()), tz=dt.UTC) if len(finite) else None
    return cleaned, report, start


def _kml_times(geom: BaseGeometry | None, times: Any) -> list[Any] | None:
    """gx:Track times as seconds, when they belong one to one to the line's vertices (a
    gx:MultiTrack's, part by part)."""
    if not times or not isinstance(geom, LineString | MultiLineString):
        return None
    parts = [geom] if isinstance(geom, LineString) else list(geom.geoms)
    if len(times) != sum(len(part.coords) for part in parts):
        return None
    seconds = [epoch_seconds(t) for t in times]
    out: list[Any] = []
    for part in parts:
        out.append(seconds[: len(part.coords)])
        seconds = seconds[len(part.coords) :]
    return out


def _placemark_start(
    begin: Any, end: Any, *, rules: TrackRules | None, now: dt.datetime
) -> dt.datetime | None:
    """A KML placemark's time (``<TimeStamp>``, else ``<TimeSpan>``'s begin or end) as UTC, for a
    track whose fixes have none; None when absent or implausible (a fix's time would be dropped)."""
    for when in (begin, end):
        if isinstance(when, dt.datetime) and plausible_time(when, now=now, rules=rules):
            return dt.datetime.fromtimestamp(epoch_seconds(when), tz=dt.UTC)
    return None


#: Timed point placemarks further apart in time than this are not one walk.
TIMED_POINTS_GAP_S = 30 * 60


def _timed_points(
    frame: gpd.GeoDataFrame, *, rules: TrackRules | None, now: dt.datetime
) -> list[tuple[Any, LineString, list[Any]]]:
    """Tracks made of timed point placemarks — some phone apps write each fix as a placemark
    with a ``<TimeStamp>``: (folder, line, times) of each walk, the timed points of a folder
    (the top level is one) in time order, cut where two are more than
    :data:`TIMED_POINTS_GAP_S` apart or on two local days, for a walk of two or more. A KML
    with areas is marked sites, not a walk: none."""
    if any(isinstance(g, Polygon | MultiPolygon) for g in frame.geometry):
        return []
    groups: dict[Any, list[tuple[float, float, float]]] = {}
    for folder, times, begin, end, geom in zip(
        frame["folder"], frame["times"], frame["begin"], frame["end"], frame.geometry, strict=True
    ):
        if not isinstance(geom, Point):
            continue
        if isinstance(times, list) and len(times) == 1:
            begin = end = times[0]
        when = _placemark_start(begin, end, rules=rules, now=now)
        if when is None:
            continue
        groups.setdefault(folder, []).append((when.timestamp(), geom.x, geom.y))
    out: list[tuple[Any, LineString, list[Any]]] = []
    for folder, fixes in groups.items():
        fixes.sort(key=lambda fix: fix[0])  # by time: a file written newest first is the same
        walks = [fixes[:1]]
        for fix in fixes[1:]:
            if _one_walk(walks[-1][-1][0], fix[0]):
                walks[-1].append(fix)
            else:
                walks.append([fix])
        for walk in walks:
            if len(walk) >= 2:
                line = LineString([(x, y) for _t, x, y in walk])
                out.append((folder, line, [[t for t, _x, _y in walk]]))
    return out


def _one_walk(before: float, after: float) -> bool:
    """Whether fixes timed ``before`` and ``after`` (epoch seconds) can be of one walk."""
    day = dt.datetime.fromtimestamp(before, tz=LOCAL_TZ).date()
    return (
        after - before <= TIMED_POINTS_GAP_S
        and dt.datetime.fromtimestamp(after, tz=LOCAL_TZ).date() == day
    )


def read_track_file(
    path: str | os.PathLike[str],
    *,
    rules: TrackRules | None = None,
    now: dt.datetime | None = None,
) -> gpd.GeoDataFrame:
    """Tracks of a GPX, KML or KMZ file, cleaned of GPS glitches (EPSG:4490).

    Columns: ``number`` (the track's position in the file), ``name``, ``start``, ``date``,
    ``placemark_dated`` (the date is a KML placemark's label, not its fixes' times: a date
    given for the file wins over it), ``hygiene`` (a :class:`~geoverify.tracks.TrackReport`)
    and geometry — the line that was walked after :func:`geoverify.tracks.clean_track`
    dropped impossible fixes (``rules``; ``now`` bounds plausible times, default the
    present). A track with no fix left has geometry None. ``start``/``date`` come from the
    kept fixes. GPX routes are included. A KML line placemark whose fixes have no times (a
    LineString, or a gx:Track without ``<when>``) takes its start from the placemark's
    ``<TimeStamp>`` or ``<TimeSpan>`` when that is plausible. Other KML placemarks are left
    out, except in a KML without lines: there the point placemarks with a time (TimeStamp,
    TimeSpan) are the fixes of tracks, a walk per folder cut at long pauses and at midnight
    (:func:`_timed_points`), named by the folder; in a KML with areas they are marked sites,
    no track.

    Raises
    ------
    InputError
        Unreadable or hostile file, or no track in it.
    """
    source = os.fspath(path)
    suffix = Path(path).suffix.lower()
    when = now or dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    if suffix == ".gpx":
        tracks = read_gpx(path, source=source).tracks
        for number, name, times, geom in zip(
            tracks["number"], tracks["name"], tracks["times"], tracks.geometry, strict=True
        ):
            cleaned, report, start = _hygiene(geom, times, rules=rules, now=when)
            rows.append(_track_row(int(number), name, start, report, cleaned))
    elif suffix in {".kml", ".kmz"}:
        frame = read_kml(path, source=source, timestamps=True)
        number = 0
        for name, times, begin, end, geom in zip(
            frame["name"], frame["times"], frame["begin"], frame["end"], frame.geometry, strict=True
        ):
            if _lines_only(geom) is None:
                continue
            number += 1
            cleaned, report, start = _hygiene(geom, _kml_times(geom, times), rules=rules, now=when)
            labelled = start is None and cleaned is not None
            if labelled:  # no timed fix: the placemark's time
                start = _placemark_start(begin, end, rules=rules, now=when)
            rows.append(_track_row(number, name, start, report, cleaned, placemark_dated=labelled))
        if not rows:  # a phone app's export: each fix a point placemark with its time
            for folder, line, seconds in _timed_points(frame, rules=rules, now=when):
                number += 1
                cleaned, report, start = _hygiene(line, seconds, rules=rules, now=when)
                rows.append(_track_row(number, folder, start, report, cleaned))
        if not rows:
            msg = (
                f"{source}: KML 中没有轨迹线，也没有带时间的点 "
                "(no track lines, nor points with times, in the KML)"
            )
            raise InputError(msg)
    else:
        msg = f"{source}: 不支持的轨迹文件类型 {suffix} (track files must be .gpx, .kml or .kmz)"
        raise InputError(msg)
    columns = ["number", "name", "start", "date", "placemark_dated", "hygiene"]
    out = gpd.GeoDataFrame(
        {c: pd.Series([r[c] for r in rows], dtype=object) for c in columns},
        geometry=gpd.GeoSeries([r["geometry"] for r in rows], crs=STORE_CRS),
        crs=STORE_CRS,
    )
    out["number"] = out["number"].astype(int)
    out["placemark_dated"] = out["placemark_dated"].astype(bool)
    out["start"] = pd.to_datetime(out["start"], utc=True)
    return out


def _track_row(
    number: int,
    name: Any,
    start: dt.datetime | None,
    report: TrackReport,
    geom: BaseGeometry | None,
    *,
    placemark_dated: bool = False,
) -> dict[str, Any]:
    return {
        "number": number,
        "name": name,
        "start": start,
        "date": start.astimezone(LOCAL_TZ).date() if start else None,
        "placemark_dated": placemark_dated,
        "hygiene": report,
        "geometry": geom,
    }


def hygiene_entries(frame: gpd.GeoDataFrame, *, source: str) -> list[dict[str, Any]]:
    """The tracks of a :func:`read_track_file` frame that hygiene changed, as JSON-ready dicts."""
    out = []
    for number, name, report in zip(frame["number"], frame["name"], frame["hygiene"], strict=True):
        if isinstance(report, TrackReport) and report.changed:
            out.append(
                {
                    "file": source,
                    "number": int(number),
                    "name": text_or_none(name),
                    **report.to_json(),
                    "reason": report.describe(),
                }
            )
    return out


def _merge(geoms: list[BaseGeometry]) -> BaseGeometry:
    lines: list[LineString] = []
    for g in geoms:
        lines.extend(g.geoms if isinstance(g, MultiLineString) else [g])
    return lines[0] if len(lines) == 1 else MultiLineString(lines)


def read_patrol_table(
    path: str | os.PathLike[str],
    *,
    villages: gpd.GeoDataFrame | pd.DataFrame | None = None,
    tracks: gpd.GeoDataFrame | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    year: int | None = None,
    rules: TrackRules | None = None,
) -> PatrolRead:
    """Read the plan's patrol table: 村、社区 | 组 | 踏查时间 | 踏查人员 | 踏查情况 | 备注 [| 轨迹].

    Parameters
    ----------
    path
        CSV (UTF-8, BOM, GBK) or XLSX; title rows above the header are skipped.
    villages
        Villages frame (``code``, ``name``); when given, a village that is not in it is a
        problem (``unknown_village``). Names match exactly or without the 村/社区 suffix.
    tracks
        Tracks of a GPX/KML given with the table (``name``, geometry); a 轨迹 cell naming one
        of them takes its geometry (all tracks of that name, joined).
    year
        Year for dates written without one (``3月12日``).
    rules
        Track hygiene for track files next to the table (:class:`~geoverify.tracks.TrackRules`).

    Returns
    -------
    PatrolRead
        A 轨迹 cell that names neither a given track nor a GPX/KML file next to the table is a
        problem (``track_not_found``); so are empty dates (``missing_date``), unparsable dates
        (``bad_date``), dates before 2000 or in the future (``implausible_date``) and rows
        without a village (``missing_village``).
    """
    source = os.fspath(path)
    headers = [h for names in PATROL_COLUMNS.values() for h in names[:2]]
    table = read_table(path, sheet=sheet, encoding=encoding, headers=headers)
    columns = list(table.frame.columns)
    col = {key: find_column(columns, names) for key, names in PATROL_COLUMNS.items()}
    missing = [PATROL_COLUMNS[k][0] for k in ("village", "date") if col[k] is None]
    if missing:
        msg = (
            f"{source}: 缺少列{''.join(f'“{m}”' for m in missing)}，踏查表应有列“村、社区”“组”"
            f"“踏查时间”“踏查人员”“踏查情况”“备注” (missing columns; found {columns})"
        )
        raise InputError(msg)
    lookup = _village_lookup(villages)
    base_dir = Path(path).parent
    file_tracks: dict[str, gpd.GeoDataFrame] = {}
    by_name: dict[str, list[BaseGeometry]] = {}
    if tracks is not None:
        for name, geom in zip(tracks["name"], tracks.to_crs(STORE_CRS).geometry, strict=True):
            if name is not None and geom is not None and not geom.is_empty:
                by_name.setdefault(str(name).strip(), []).append(geom)

    footer_rows: list[int] = []
    date_col = col["date"]
    if date_col is not None and col["village"] is not None:
        at = list(table.frame.columns).index(date_col)

        def dated(row: list[Any]) -> bool:
            try:
                parse_patrol_date(row[at], year=year)
            except (ValueError, TypeError, OverflowError):
                return False
            return True

        n = footer_count(table.frame, key=col["village"], holds_data=dated)
        if n:  # a total or sign-off lines under the table: not patrols
            footer_rows = list(table.rows[-n:])
            table = dataclasses.replace(
                table, frame=table.frame.iloc[:-n], rows=list(table.rows[:-n])
            )
    patrols: list[Patrol] = []
    rows: list[int] = []
    problems: list[RowProblem] = []
    latest = today_local()  # nobody reports a patrol to come
    for i, rownum in enumerate(table.rows):
        rec = {k: (table.frame[c].iloc[i] if c is not None else None) for k, c in col.items()}
        ok = True
        village = text_or_none(rec["village"])
        code: str | None = None
        if village is None:
            problems.append(
                RowProblem(
                    rownum,
                    None,
                    "村、社区为空",
                    "village is empty",
                    field=col["village"],
                    code="missing_village",
                )
            )
            ok = False
        elif lookup:
            found = lookup.get(village)
            if found is None:
                problems.append(
                    RowProblem(
                        rownum,
                        None,
                        f"村（社区）“{village}”不在村界数据中",
                        f"unknown village {village!r}",
                        field=col["village"],
                        value=village,
                        code="unknown_village",
                    )
                )
                ok = False
            else:
                code, village = found
        raw_date = rec["date"]
        date: dt.date | None = None
        if is_missing(raw_date):  # a blank cell is not an unreadable date: say what to write
            problems.append(
                RowProblem(
                    rownum,
                    None,
                    "踏查时间为空，请填写 2024-03-12 这样的日期",
                    "patrol date is empty (expected e.g. 2024-03-12)",
                    field=col["date"],
                    value=None,
                    code="missing_date",
                )
            )
            ok = False
        else:
            try:
                date = parse_patrol_date(raw_date, year=year)
                bad = check_date(date, latest=latest, what="踏查时间", what_en="patrol date")
                if bad is not None:
                    date = None
                    problems.append(
                        RowProblem(
                            rownum,
                            None,
                            bad.zh,
                            bad.en,
                            field=col["date"],
                            value=str(raw_date),
                            code=bad.code,
                        )
                    )
                    ok = False
            except (ValueError, OverflowError):
                problems.append(
                    RowProblem(
                        rownum,
                        None,
                        "踏查时间无法识别，应为 2024-03-12 这样的日期",
                        "patrol date cannot be parsed (expected e.g. 2024-03-12)",
                        field=col["date"],
                        value=str(raw_date),
                        code="bad_date",
                    )
                )
                ok = False
        track_name = text_or_none(rec["track"])
        track: BaseGeometry | None = None
        if track_name:
            try:
                track = _find_track(track_name, by_name, base_dir, file_tracks, rules)
            except InputError as e:
                problems.append(
                    RowProblem(
                        rownum,
                        None,
                        f"轨迹文件无法读取：{e}",
                        "track file cannot be read",
                        field=col["track"],
                        value=track_name,
                        code="bad_track_file",
                    )
                )
                ok = False
            else:
                if track is None:
                    problems.append(
                        RowProblem(
                            rownum,
                            None,
                            f"找不到轨迹“{track_name}”（既不是所给 GPX 中的轨迹名，"
                            "也不是表格旁的轨迹文件）",
                            f"track {track_name!r} is neither a track name in the given GPX "
                            "nor a track file next to the table",
                            field=col["track"],
                            value=track_name,
                            code="track_not_found",
                        )
                    )
                    ok = False
        if not ok or village is None or date is None:
            continue
        patrols.append(
            Patrol(
                village=village,
                date=date,
                village_code=code,
                group=text_or_none(rec["group"]),
                people=text_or_none(rec["people"]),
                findings=text_or_none(rec["findings"]),
                remarks=text_or_none(rec["remarks"]),
                track=track,
                track_name=track_name,
                source=source,
                row=rownum,
            )
        )
        rows.append(rownum)
    hygiene = [e for key, frame in file_tracks.items() for e in hygiene_entries(frame, source=key)]
    return PatrolRead(patrols, problems, source, rows, hygiene=hygiene, footer_rows=footer_rows)


def _find_track(
    name: str,
    by_name: dict[str, list[BaseGeometry]],
    base_dir: Path,
    cache: dict[str, gpd.GeoDataFrame],
    rules: TrackRules | None,
) -> BaseGeometry | None:
    if name in by_name:
        return _merge(by_name[name])
    candidate = base_dir / name
    if candidate.suffix.lower() in TRACK_SUFFIXES and candidate.is_file():
        key = str(candidate)
        if key not in cache:
            cache[key] = read_track_file(candidate, rules=rules)
        geoms = [g for g in cache[key].geometry if g is not None and not g.is_empty]
        return _merge(geoms) if geoms else None
    return None


def read_patrol_file(
    path: str | os.PathLike[str],
    *,
    villages: gpd.GeoDataFrame | None = None,
    tracks: gpd.GeoDataFrame | None = None,
    date: dt.date | None = None,
    people: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    year: int | None = None,
    rules: TrackRules | None = None,
    group: str | None = None,
    findings: str | None = None,
) -> PatrolRead:
    """Read patrol records from a table (CSV/XLSX) or a track file (GPX/KML/KMZ).

    A track file gives one patrol per track, cleaned of GPS glitches first
    (:func:`read_track_file` with ``rules``): its village is the village the cleaned track runs
    longest in (``villages`` is then required), its date the local date (Asia/Shanghai) of
    its first plausible time, or ``date`` for files without times. A track outside every
    village (``track_outside``), with no fix left after hygiene (``track_no_valid_fixes``) or
    without a date (``missing_date``) is a problem. Tables are read by
    :func:`read_patrol_table`. ``PatrolRead.hygiene`` lists what hygiene dropped per track.
    A track file's patrols are walked by ``people``, in ``group`` (组), having found
    ``findings`` (踏查情况): what a table's row says of its patrol.
    """
    suffix = Path(path).suffix.lower()
    source = os.fspath(path)
    if suffix in TABLE_SUFFIXES:
        return read_patrol_table(
            path,
            villages=villages,
            tracks=tracks,
            sheet=sheet,
            encoding=encoding,
            year=year,
            rules=rules,
        )
    if suffix not in TRACK_SUFFIXES:
        msg = (
            f"{source}: 不支持的踏查文件类型 {suffix}，应为 .csv .xlsx .gpx .kml .kmz "
            "(unsupported patrol file type)"
        )
        raise InputError(msg)
    if villages is None:
        msg = f"{source}: 读取轨迹需要村界数据 (villages are needed to assign tracks)"
        raise InputError(msg)
    frame = read_track_file(path, rules=rules)
    hygiene = hygiene_entries(frame, source=source)
    waypoints = read_gpx(path, source=source).waypoints if suffix == ".gpx" else None
    frame = frame.reset_index(drop=True)
    frame["patrol_id"] = np.arange(len(frame))
    lengths = track_lengths_by_village(frame, villages)
    inside = lengths[lengths["code"].notna()]
    lookup = _village_lookup(villages)
    patrols: list[Patrol] = []
    rows: list[int] = []
    problems: list[RowProblem] = []
    for i, rec in frame.iterrows():
        number = int(i) + 1
        name = text_or_none(rec["name"])
        if rec.geometry is None or rec.geometry.is_empty:
            report = rec["hygiene"]
            problems.append(
                RowProblem(
                    number,
                    name,
                    f"轨迹的所有点都是 GPS 异常点（{report.describe_zh()}）",
                    "no fix of the track is left after removing GPS glitches "
                    f"({report.describe_en()})",
                    code="track_no_valid_fixes",
                )
            )
            continue
        mine = inside[inside["patrol_id"] == rec["patrol_id"]]
        if len(mine) == 0:
            problems.append(
                RowProblem(
                    number,
                    name,
                    "轨迹不经过任何村（社区）",
                    "the track passes through no village",
                    code="track_outside",
                )
            )
            continue
        best = mine.sort_values("length_m", ascending=False).iloc[0]
        found = rec["date"] if rec["date"] is not None and not pd.isna(rec["date"]) else None
        # The fixes' own times say the day; a placemark's label of a time gives way to a date
        # typed (it may be when the file was made, not walked).
        day = date if date is not None and (found is None or rec["placemark_dated"]) else found
        if day is None:
            problems.append(
                RowProblem(
                    number,
                    name,
                    "轨迹没有时间，请指定日期",
                    "the track has no times; give the date",
                    code="missing_date",
                )
            )
            continue
        if day > today_local():  # a device's clock ahead: a patrol to come is reported by none
            problems.append(
                RowProblem(
                    number,
                    name,
                    f"轨迹的日期 {day.isoformat()} 晚于今天 {today_local().isoformat()}"
                    "（定位设备的时钟不对？），请核对",
                    f"the track is dated {day.isoformat()}, after today",
                    code="implausible_date",
                )
            )
            continue
        code, village = lookup[str(best["code"])]
        patrols.append(
            Patrol(
                village=village,
                date=day,
                village_code=code,
                group=group,
                people=people,
                findings=findings,
                track=rec.geometry,
                track_name=name,
                source=source,
                row=number,
                extra={"villages": list(mine["village"]), "hygiene": rec["hygiene"].to_json()},
            )
        )
        rows.append(number)
    return PatrolRead(patrols, problems, source, rows, waypoints, hygiene=hygiene)
