"""Import district target batches (下发批次) and list batches and targets."""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geoverify.assign import DEFAULT_TOLERANCE_M, assign_targets, find_repeat_sites
from geoverify.engines import AssignFn, assigner
from geoverify.errors import InputError, RejectedInputError, RowProblem
from geoverify.geo import metric_crs
from geoverify.model import Assignment, Status, TargetSource
from geoverify.outside import OutsideTown, outside_town_of
from geoverify.problems import split_bilingual
from geoverify.readers.tables import footer_said
from geoverify.readers.targets import read_targets
from geoverify.store import Store, bulk, repo
from geoverify.store import batches as store_batches
from geoverify.workflows.common import (
    Actor,
    Source,
    StagedInput,
    make_who,
    staged_input,
    today_local,
)

#: Default days between the issue date and the verification deadline (核查时限).
DEFAULT_DUE_DAYS = 15
#: Default radius (m) within which a new target repeats an earlier one (复种点).
DEFAULT_REPEAT_RADIUS_M = 30.0

#: Progress callback: (phase, done so far, total or None). Phases: "read", "write".
ProgressFn = Callable[[str, int, int | None], None]


@dataclass
class BatchImportResult:
    """What ``import_batch`` did; ``to_json`` is the documented ``--json`` shape."""

    batch: str
    file_sha256: str
    status: str  # "imported" | "already_imported" | "rejected" | "preview"
    source: str = ""
    imported: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    reissued: int = 0
    repeat_sites: int = 0
    assignment: dict[str, int] = field(default_factory=dict)
    by_village: dict[str, int] = field(default_factory=dict)
    issued_on: dt.date | None = None
    due_on: dt.date | None = None
    ids_generated: bool = False
    #: Rows whose 60 seconds/minutes (rounding, ``106°05'60.00"``) were carried over.
    dms_carried: int = 0
    #: Per village: targets and how each was assigned (a preview only).
    villages: list[dict[str, Any]] | None = None
    #: The new targets assigned outside the town (镇外), far ones flagged.
    outside: OutsideTown = field(default_factory=OutsideTown)
    #: Of the targets the file issues again: how many each earlier batch issued, most first.
    issued_before: dict[str, int] = field(default_factory=dict)
    #: The file's rows under its table that are a total or sign-off lines, not targets.
    footer_rows: list[int] = field(default_factory=list)

    @property
    def footer_text(self) -> str:
        """:attr:`footer_rows` as a person reads it (empty when there are none)."""
        return footer_said(self.footer_rows, "靶标")

    @property
    def issued_before_text(self) -> str:
        """:attr:`issued_before` as a person reads it (批次 2024-04 中 13 个；…)."""
        return "；".join(f"批次 {b} 中 {n} 个" for b, n in self.issued_before.items())

    @property
    def only_reissued(self) -> bool:
        """Every target of the file was issued before (nothing new): perhaps a batch already
        imported, given again in another format."""
        return self.reissued > 0 and self.imported == 0

    @property
    def rejected_rows(self) -> int:
        """Rows refused (a row can have more than one problem in :attr:`rejected`)."""
        return rejected_row_count(self.rejected)

    def to_json(self) -> dict[str, Any]:
        kinds = {k.value: int(self.assignment.get(k.value, 0)) for k in Assignment}
        doc = {
            "batch": self.batch,
            "file_sha256": self.file_sha256,
            "status": self.status,
            "source": self.source,
            "imported": self.imported,
            "rejected": [
                {
                    "row": p.row,
                    "target_id": p.target_id,
                    "reason": f"{p.reason} ({p.reason_en})",
                    "code": p.code,
                }
                for p in self.rejected
            ],
            "rejected_rows": self.rejected_rows,
            "reissued": self.reissued,
            "repeat_sites": self.repeat_sites,
            "assignment": kinds,
            "by_village": dict(self.by_village),
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "ids_generated": self.ids_generated,
            "dms_carried": self.dms_carried,
            "outside_town": self.outside.to_json(),
            "issued_before": dict(self.issued_before),
            "footer_rows": list(self.footer_rows),
        }
        if self.villages is not None:
            doc["villages"] = self.villages
        return doc


def rejected_row_count(problems: list[RowProblem]) -> int:
    """How many rows ``problems`` refuse: one a row, however many problems it has."""
    return len({p.row for p in problems})


def _summary_from_store(conn: Any, batch_id: str, sha: str, source: str) -> BatchImportResult:
    frame = repo.load_targets(conn, batch=batch_id)
    b = store_batches.get_batch(conn, batch_id)
    res = BatchImportResult(batch_id, sha, "already_imported", source=source)
    res.imported = int(b["n_imported"])
    res.reissued = int(b["n_reissued"])
    res.repeat_sites = int(frame["repeat_of"].notna().sum())
    res.assignment = dict(Counter(_column(frame, "assignment")))
    res.by_village = _by_village(frame)
    res.issued_on, res.due_on = b["issued_on"], b["due_on"]
    res.outside = _outside_from_store(conn, b)
    return res


def _already(conn: Any, *, batch_id: str, sha: str, name: str) -> BatchImportResult | None:
    """The summary of this file's earlier import; an error when the batch id is taken."""
    previous = repo.find_import(conn, kind="batch", sha256=sha)
    if previous is not None:
        prev_batch = store_batches.batch_of_import(conn, int(previous["id"]))
        return _summary_from_store(conn, prev_batch, sha, name)
    clash = store_batches.find_batch(conn, batch_id)
    if clash is not None:
        msg = (
            f"{name}: 批次编号 {batch_id} 已用于另一个文件 {clash['source_name']} "
            f"(batch id {batch_id} is already used for another file)"
        )
        raise InputError(msg)
    return None


def _by_village(frame: pd.DataFrame) -> dict[str, int]:
    """Targets per village name, in village-code order; outside the town last as （镇外）."""
    return _village_counts(_column(frame, "village_code"), _column(frame, "village"))


def _missing(v: Any) -> bool:
    return v is None or v != v  # None or NaN


def _village_counts(codes: list[Any], villages: list[Any]) -> dict[str, int]:
    """:func:`_by_village` of the columns ``village_code`` and ``village``: each distinct pair
    counted once, then ordered by code (missing last)."""
    pairs = Counter(zip(codes, villages, strict=True))
    out: dict[str, int] = {}
    for code, name in sorted(pairs, key=lambda p: (True, "") if _missing(p[0]) else (False, p[0])):
        label = "（镇外）" if _missing(name) else str(name)
        out[label] = out.get(label, 0) + pairs[code, name]
    return out


def _village_table(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per village: how many targets and how each was assigned (the preview's table)."""
    out: list[dict[str, Any]] = []
    if frame.empty:
        return out
    ordered = frame.assign(_code=frame["village_code"].fillna("~")).sort_values("_code")
    for code, sub in ordered.groupby("_code", sort=False):
        first = sub.iloc[0]
        row: dict[str, Any] = {
            "village": first["village"] if isinstance(first["village"], str) else None,
            "village_code": None if code == "~" else str(code),
            "targets": len(sub),
        }
        counts = Counter(_column(sub, "assignment"))
        row.update({k.value: int(counts.get(k.value, 0)) for k in Assignment})
        row["repeat_sites"] = int(sub["repeat_of"].notna().sum())
        row["reissued"] = int(sub["reissue_of"].notna().sum())
        out.append(row)
    return out


def _town(villages: gpd.GeoDataFrame) -> tuple[Any, CRS]:
    """The town (the villages' union) and its metric CRS."""
    town = villages.geometry.union_all()
    return town, metric_crs(float(town.centroid.x))


def _outside_from_store(conn: Any, batch: dict[str, Any]) -> OutsideTown:
    """:class:`OutsideTown` of a stored batch: its new targets outside the town, as its import
    listed them (kept in the import's summary; found again from the store for a batch imported
    before imports kept it)."""
    kept = store_batches.import_summary(conn, int(batch["import_id"])).get("outside_town")
    if kept is not None:
        return OutsideTown.from_json(kept)
    batch_id, source_crs = str(batch["id"]), batch["source_crs"]
    found = store_batches.outside_targets_of(conn, batch_id)
    if not found["row"]:
        return OutsideTown()
    villages = repo.load_villages(conn)
    town, metric = _town(villages)
    return outside_town_of(
        villages,
        town,
        metric,
        rows=found["row"],
        target_ids=found["target_id"],
        lon=found["lon"],
        lat=found["lat"],
        distance_m=found["distance_m"],
        source_crs=source_crs,
    )


def outside_town(store: Store, batch_id: str) -> OutsideTown:
    """The batch's new targets that its import assigned outside the town (镇外), as its
    preview listed them; :class:`~geoverify.errors.NotFoundError` for no such batch."""
    store.require()
    with store.connect() as conn:
        return _outside_from_store(conn, store_batches.get_batch(conn, batch_id))


@dataclass
class _Plan:
    """What an import would write: new target rows (column by column), re-issued rows, and a
    frame to summarise."""

    #: Column -> list, or numpy array (numbers, as lists a chunk at a time).
    targets: dict[str, Any]
    again: pd.DataFrame
    known: dict[str, int]
    #: village_code, village, assignment, repeat_of, reissue_of of every target of the batch
    #: (new, then re-issued): to summarise a preview the way an import is summarised
    summary_columns: dict[str, list[Any]]
    #: neighbours, split_into (tuples), overlap, distance_m (arrays) of each new target
    detail_columns: tuple[list[Any], list[Any], Any, Any]
    names: dict[str, str]
    tolerance_m: float
    #: The new targets assigned outside the town
    outside: OutsideTown = field(default_factory=OutsideTown)
    #: Of the targets issued again: how many each earlier batch issued
    issued_before: dict[str, int] = field(default_factory=dict)

    @property
    def n_new(self) -> int:
        return len(self.targets["target_id"])

    @property
    def summary(self) -> pd.DataFrame:
        """A frame shaped like the store's, of every target of the batch."""
        return pd.DataFrame(self.summary_columns)

    def details(self, part: slice) -> bulk.JSONTexts:
        """``assignment_detail`` of the new targets in ``part`` as JSON text (a chunk at a time).

        The text of :func:`repo.assignment_detail` exactly as the store's encoder writes it,
        put together from its parts a column at a time: the village lists repeat, so each is
        encoded once."""
        names = self.names
        dumps = bulk.dumps_json
        neighbours, split_into, overlaps, distances = (c[part] for c in self.detail_columns)
        lists: dict[tuple[tuple[Any, ...], tuple[Any, ...]], str] = {}

        def head(nb: Any, sp: Any) -> str:
            key = (tuple(nb or ()), tuple(sp or ()))  # None: none
            text = lists.get(key)
            if text is None:
                nb, sp = key
                text = "{"
                if nb:
                    text += (
                        f'"neighbours": {dumps([names[c] for c in nb])}, '
                        f'"neighbour_codes": {dumps(list(nb))}, '
                    )
                if sp:
                    text += f'"split_into": {dumps([names[c] for c in sp])}, '
                text = lists[key] = text + '"overlap": '
            return text

        alone = head(None, None)  # most targets: no neighbours, not split
        heads = [
            alone if not nb and not sp else head(nb, sp)
            for nb, sp in zip(neighbours, split_into, strict=True)
        ]
        tail = f', "tolerance_m": {dumps(self.tolerance_m)}}}'.replace("%", "%%")
        row = '%s%s, "distance_m": %s' + tail
        return bulk.JSONTexts(
            map(
                row.__mod__,
                zip(heads, _json_floats(overlaps), _json_floats(distances), strict=True),
            )
        )


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """A column's values as a list, or Nones when the reader gave no such column.

    Through numpy: ``Series.tolist`` of a text column walks it one element at a time."""
    if name in frame.columns:
        values: list[Any] = frame[name].to_numpy(dtype=object).tolist()
        return values
    return [None] * len(frame)


def _geometries(frame: gpd.GeoDataFrame) -> list[Any]:
    """The frame's geometries as a list of shapely objects (without a walk through pandas)."""
    geoms: list[Any] = np.asarray(frame.geometry.array, dtype=object).tolist()
    return geoms


def _json_floats(values: Any) -> list[str]:
    """:func:`_opt_floats` as JSON text: each number as the store's encoder writes it, else
    null."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        arr = values
    else:
        arr = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    out: list[str] = list(map(float.__repr__, arr.tolist()))
    for i in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[i] = "null"
    return out


def _opt_dates(values: Any) -> list[dt.date | None]:
    """Dates (a reader's dates pass as they are), None for missing values."""
    return [v if v is None or type(v) is dt.date else _opt_date(v) for v in values]


def _opt_floats(values: Any) -> list[float | None]:
    """Floats, None where missing or not finite (column-wise :func:`_opt_float`)."""
    if isinstance(values, list) and values.count(None) == len(values):
        return list(values)  # an empty column (no areas in the file)
    arr = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    out: list[float | None] = arr.tolist()
    for i in np.flatnonzero(~np.isfinite(arr)).tolist():
        out[i] = None
    return out


def _plan_rows(
    conn: Any,
    frame: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    groups: gpd.GeoDataFrame,
    *,
    batch_id: str,
    tolerance_m: float,
    repeat_radius_m: float,
    source_crs: str | None,
    assign: AssignFn = assign_targets,
) -> _Plan:
    """Assign new targets, find repeat sites and re-issues; build the rows to insert."""
    target_ids = _column(frame, "target_id")
    known = store_batches.known_target_ids(conn, target_ids)
    is_reissue = (
        frame["target_id"].isin(list(known)).to_numpy() if known else np.zeros(len(frame), bool)
    )
    # No copy of the whole batch when nothing in it was issued before (the usual case).
    new = frame.loc[~is_reissue].copy() if is_reissue.any() else frame
    again = frame.loc[is_reissue].copy()

    # Assignment and repeat sites, in the metric CRS of the town.
    town, metric = _town(villages)
    assigned = assign(
        new,
        villages,
        groups if not groups.empty else None,
        tolerance_m=tolerance_m,
        metric=metric,
    )
    earlier = bulk.target_geometries(conn) if not new.empty else None
    n = len(new)
    repeat_of: list[Any] = [None] * n
    repeat_dist: list[Any] = [None] * n
    if earlier is not None and not earlier.empty:
        reps = find_repeat_sites(new, earlier, radius_m=repeat_radius_m, metric=metric)
        repeat_of = [
            None if r is None or pd.isna(r) else int(r) for r in _column(reps, "repeat_of")
        ]
        repeat_dist = [
            None if r is None else float(d)
            for r, d in zip(repeat_of, _column(reps, "distance_m"), strict=True)
        ]
    names = dict(zip(villages["code"], villages["name"], strict=True))
    now = repo.now()
    geoms = _geometries(new)
    # Numbers stay in numpy until their chunk is written (a float object each is 24 bytes).
    reps_xy = shapely.point_on_surface(np.asarray(new.geometry.array, dtype=object))
    lon, lat = shapely.get_x(reps_xy), shapely.get_y(reps_xy)
    del reps_xy
    detail_columns = (
        _column(assigned, "neighbours"),
        _column(assigned, "split_into"),
        # floats stay in numpy until their chunk is written
        assigned["overlap"].to_numpy(dtype=float),
        assigned["distance_m"].to_numpy(dtype=float),
    )
    village_codes = _column(assigned, "village_code")
    out = np.flatnonzero(assigned["assignment"].to_numpy(dtype=object) == Assignment.OUTSIDE.value)
    new_ids = target_ids if new is frame else _column(new, "target_id")
    file_rows = new["row"].to_numpy(dtype=np.int64)
    outside = outside_town_of(
        villages,
        town,
        metric,
        rows=file_rows[out],
        target_ids=[new_ids[i] for i in out.tolist()],
        lon=lon[out],
        lat=lat[out],
        distance_m=detail_columns[3][out],
        source_crs=source_crs,
    )
    targets: dict[str, Any] = {
        "target_id": new_ids,
        "batch_id": [batch_id] * n,
        "source": [TargetSource.DISTRICT.value] * n,
        "geometry": geoms,
        "geom_type": shapely.get_type_id(np.asarray(geoms, dtype=object)).tolist(),
        "lon": lon,
        "lat": lat,
        "area_m2": _opt_floats(_column(new, "area_m2")),
        "image_date": _opt_dates(_column(new, "image_date")),
        "attributes": _column(new, "attributes"),
        "village_code": village_codes,
        "group_name": _column(assigned, "group"),
        "assignment": _column(assigned, "assignment"),
        "repeat_of": repeat_of,
        "repeat_distance_m": repeat_dist,
        "status": [Status.ISSUED.value] * n,
        "created_at": [now] * n,
        "updated_at": [now] * n,
        "_row": file_rows,
    }
    targets["geom_type"] = list(map(_GEOM_TYPES.__getitem__, targets["geom_type"]))
    summary: dict[str, list[Any]] = {
        "village_code": village_codes,
        "village": [names.get(c) for c in village_codes],
        "assignment": targets["assignment"],
        "repeat_of": repeat_of,
        "reissue_of": [None] * n,
    }
    issued_before: dict[str, int] = {}
    if len(again):
        keys = [known[x] for x in again["target_id"]]
        issued_before = store_batches.issuing_batches(conn, keys)
        before = bulk.load_targets_by_pk(conn, keys)
        summary = {
            "village_code": summary["village_code"] + _column(before, "village_code"),
            "village": summary["village"] + _column(before, "village"),
            "assignment": summary["assignment"] + _column(before, "assignment"),
            "repeat_of": summary["repeat_of"] + [None] * len(before),
            "reissue_of": summary["reissue_of"] + _column(before, "batch"),
        }
    return _Plan(
        targets=targets,
        again=again,
        known=known,
        summary_columns=summary,
        detail_columns=detail_columns,
        names=names,
        tolerance_m=tolerance_m,
        outside=outside,
        issued_before=issued_before,
    )


def _issued_payloads(codes: list[Any], kinds: list[Any], repeats: list[Any]) -> bulk.JSONTexts:
    """The ``issued`` events' payloads as JSON text, exactly as the store's encoder writes
    ``{"status": "issued", "village_code": c, "assignment": k, "repeat_of": r}``; the few
    village codes and assignment kinds are encoded once each, and the payloads of targets
    that repeat no earlier one are one text per village and kind."""
    dumps = bulk.dumps_json
    start = f'{{"status": {dumps(Status.ISSUED.value)}, "village_code": '
    keys = list(zip(codes, kinds, strict=True))
    heads = {
        (code, kind): f'{start}{dumps(code)}, "assignment": {dumps(kind)}, "repeat_of": '
        for code, kind in dict.fromkeys(keys)
    }
    alone = {key: f"{text}null}}" for key, text in heads.items()}
    if repeats.count(None) == len(repeats):
        return bulk.JSONTexts(map(alone.__getitem__, keys))
    return bulk.JSONTexts(
        alone[key] if rep is None else f"{heads[key]}{dumps(rep)}}}"
        for key, rep in zip(keys, repeats, strict=True)
    )


def _row_sources(who: Any, name: str, rows: list[int]) -> list[str]:
    """The events' sources of the file's ``rows``: ``file:<name>:row <n>``."""
    head = f"file:{name}:row "
    if who.event_source(f"{head}1") != f"{head}1":  # not so for this Who: one by one
        return [who.event_source(f"{head}{r}") for r in rows]
    return list(map((head.replace("%", "%%") + "%d").__mod__, rows))


#: shapely type ids -> the geometry type names shapely's ``geom_type`` gives.
_GEOM_TYPES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


#: What a batch id may not hold: it names the batch's pages and files (``/batches/<id>``,
#: ``dispatch/<id>/``), so no path or URL separators, and no control characters.
_BAD_BATCH_ID = re.compile(r"[/\\?#%<>\"|*:\x00-\x1f\x7f]")


def check_batch_id(batch_id: str) -> str:
    """``batch_id`` without surrounding spaces; :class:`InputError` when it is empty or holds
    a character that cannot name a page or a folder (``/ \\ ? # % < > " | * :``)."""
    batch_id = batch_id.strip()
    if not batch_id:
        msg = "批次编号不能为空 (batch id must not be empty)"
        raise InputError(msg)
    if _BAD_BATCH_ID.search(batch_id) or batch_id.strip(".") == "":
        msg = (
            f'批次编号「{batch_id}」不能含有 / \\ ? # % < > " | * : 等字符，'
            "请只用汉字、字母、数字、短横线和下划线，例如 2024-03 "
            "(batch id must not hold path or URL characters)"
        )
        raise InputError(msg)
    return batch_id


def import_batch(
    store: Store,
    path: Source,
    *,
    batch_id: str,
    issued_on: dt.date | None = None,
    due_on: dt.date | None = None,
    id_field: str | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    accept_partial: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    repeat_radius_m: float = DEFAULT_REPEAT_RADIUS_M,
    actor: str | Actor | None = None,
    progress: ProgressFn | None = None,
    preview: bool = False,
    engine: str = "local",
    scheduler: str | None = None,
) -> BatchImportResult:
    """Import one batch of suspect targets from the district, all or nothing.

    Every row is validated first. If any row is bad, nothing is written and
    :class:`~geoverify.errors.RejectedInputError` lists every bad row — unless
    ``accept_partial``, which writes the good rows and records each rejected row with its reason.
    The same file imported again changes nothing. A target id seen in an earlier batch is linked
    to this batch as re-issued; a new target within ``repeat_radius_m`` of an earlier batch's
    target is flagged as a repeat site (复种点).

    ``path`` is a file path or an uploaded :class:`~geoverify.workflows.common.InputFile`.
    With ``preview`` nothing is written: the result (status ``"preview"``) says what an import
    would do — the assignment per village and every rejected row with its reason.
    ``engine="dask"`` assigns the targets on dask (``scheduler``: a cluster's address, else in
    this process; :mod:`geoverify.engines`), with the same result.
    """
    batch_id = check_batch_id(batch_id)
    store.require()
    with assigner(engine, scheduler) as assign, staged_input(path) as staged, _collector_paused():
        return _import_staged(
            store,
            staged,
            batch_id=batch_id,
            issued_on=issued_on,
            due_on=due_on,
            read_options={
                "id_field": id_field,
                "lon_field": lon_field,
                "lat_field": lat_field,
                "crs": crs,
                "layer": layer,
                "sheet": sheet,
                "encoding": encoding,
            },
            accept_partial=accept_partial,
            tolerance_m=tolerance_m,
            repeat_radius_m=repeat_radius_m,
            actor=actor,
            progress=progress,
            preview=preview,
            assign=assign,
        )


def _import_staged(
    store: Store,
    staged: StagedInput,
    *,
    batch_id: str,
    issued_on: dt.date | None,
    due_on: dt.date | None,
    read_options: dict[str, Any],
    accept_partial: bool,
    tolerance_m: float,
    repeat_radius_m: float,
    actor: str | Actor | None,
    progress: ProgressFn | None,
    preview: bool,
    assign: AssignFn = assign_targets,
) -> BatchImportResult:
    name, sha = staged.name, staged.sha256
    with store.connect() as conn:
        done = _already(conn, batch_id=batch_id, sha=sha, name=name)
        if done is not None:
            return done
        villages = repo.load_villages(conn)
        groups = repo.load_groups(conn)
    if villages.empty:
        msg = "还没有村（社区）边界，请先运行 `geoverify init` 或 `geoverify villages import`"
        raise InputError(msg + " (no village boundaries yet)")

    read = read_targets(
        staged.path,
        batch_id=batch_id,
        **read_options,
        json_attributes=True,  # each row's attributes as the store's JSON text
        progress=(lambda n: progress("read", n, None)) if progress is not None else None,
    )
    issued_on = issued_on or today_local()
    due_on = due_on or issued_on + dt.timedelta(days=DEFAULT_DUE_DAYS)
    if due_on < issued_on:
        msg = f"核查时限 {due_on} 早于下发日期 {issued_on} (due date before issue date)"
        raise InputError(msg)
    # A rejected import answers with the same JSON shape as an imported one.
    rejected = BatchImportResult(
        batch_id,
        sha,
        "rejected",
        source=name,
        rejected=list(read.problems),
        issued_on=issued_on,
        due_on=due_on,
    )
    if read.problems and not accept_partial and not preview:
        raise RejectedInputError(read.source, read.problems, details=rejected.to_json())
    frame = read.frame
    if frame.empty:
        if preview:
            rejected.status = "preview"
            return rejected
        summary = f"{read.source}: 没有可导入的靶标 (no importable targets)"
        raise RejectedInputError(
            read.source, read.problems, summary=summary, details=rejected.to_json()
        )

    if preview:
        with store.connect() as conn:
            plan = _plan_rows(
                conn,
                frame,
                villages,
                groups,
                batch_id=batch_id,
                tolerance_m=tolerance_m,
                repeat_radius_m=repeat_radius_m,
                source_crs=read.source_crs,
                assign=assign,
            )
        res = BatchImportResult(batch_id, sha, "preview", source=name)
        _fill_result(res, plan, read, issued_on, due_on)
        res.villages = _village_table(plan.summary)
        return res

    who = make_who(actor=actor, source=f"file:{name}")
    with store.begin() as conn:
        # Checked again under the write lock: another import may have finished meanwhile.
        done = _already(conn, batch_id=batch_id, sha=sha, name=name)
        if done is not None:
            return done
        plan = _plan_rows(
            conn,
            frame,
            villages,
            groups,
            batch_id=batch_id,
            tolerance_m=tolerance_m,
            repeat_radius_m=repeat_radius_m,
            source_crs=read.source_crs,
            assign=assign,
        )
        _write_import(
            conn,
            plan,
            read,
            batch_id=batch_id,
            sha=sha,
            name=name,
            who=who,
            issued_on=issued_on,
            due_on=due_on,
            progress=progress,
        )
    res = BatchImportResult(batch_id, sha, "imported", source=name)
    _fill_result(res, plan, read, issued_on, due_on)
    return res


def _reissue_payloads(again: pd.DataFrame, batch_id: str, due_on: dt.date) -> list[Any]:
    """Each ``reissued`` event's payload: the batch, its due date, and the area and image date
    this batch gives the target (the target keeps its first batch's; the new ones are kept
    here, shown in its history)."""
    areas = _opt_floats(_column(again, "area_m2"))
    days = _opt_dates(_column(again, "image_date"))
    due = due_on.isoformat()
    out: list[Any] = []
    for area, day in zip(areas, days, strict=True):
        payload: dict[str, Any] = {"batch": batch_id, "due_on": due}
        if area is not None:
            payload["area_m2"] = area
        if day is not None:
            payload["image_date"] = day.isoformat()
        out.append(payload)
    return out


def _write_import(
    conn: Any,
    plan: _Plan,
    read: Any,
    *,
    batch_id: str,
    sha: str,
    name: str,
    who: Any,
    issued_on: dt.date,
    due_on: dt.date,
    progress: ProgressFn | None,
) -> None:
    """Write the planned import: its record, the batch, the new targets, the re-issues, the
    rejected rows (of an ``accept_partial`` import) and the batch's event."""
    again, known = plan.again, plan.known
    n_new = plan.n_new
    import_id = repo.record_import(
        conn,
        kind="batch",
        sha256=sha,
        source_name=name,
        who=who,
        summary={
            "batch": batch_id,
            "rows": read.n_rows,
            "imported": n_new,
            "reissued": len(again),
            "rejected": rejected_row_count(read.problems),
            "dms_carried": read.dms_carried,
            "outside_town": plan.outside.to_json(),
        },
    )
    now = repo.now()  # the time of the batch and of every event of this import
    store_batches.insert_batch(
        conn,
        {
            "id": batch_id,
            "import_id": import_id,
            "source_name": name,
            "sha256": sha,
            "source_crs": read.source_crs,
            "issued_on": issued_on,
            "due_on": due_on,
            "imported_at": now,
            "n_rows": read.n_rows,
            "n_imported": n_new,
            "n_reissued": len(again),
            "n_rejected": rejected_row_count(read.problems),
        },
    )
    _write_new_targets(
        conn, plan, who=who, name=name, batch_id=batch_id, now=now, progress=progress
    )
    # Re-issued targets: a link to this batch and an event each.
    again_rows = again["row"].to_numpy(dtype=np.int64).tolist()
    store_batches.link_reissued(
        conn,
        batch_id=batch_id,
        targets=[known[x] for x in _column(again, "target_id")],
        rows=again_rows,
        geometries=_geometries(again),
        attributes=_column(again, "attributes"),
        payloads=_reissue_payloads(again, batch_id, due_on),
        at=now,
        actor=who.actor,
        host=who.host,
        sources=_row_sources(who, name, again_rows),
    )
    store_batches.insert_rejected_rows(
        conn,
        [
            {
                "import_id": import_id,
                "batch_id": batch_id,
                "row": pr.row,
                "target_id": pr.target_id,
                "code": pr.code or "rejected",
                "reason": f"{pr.reason} ({pr.reason_en})",
                "field": pr.field,
                "value": pr.value,
            }
            for pr in read.problems
        ],
    )
    repo.record_events(
        conn,
        [
            {
                "batch_id": batch_id,
                "kind": "batch_imported",
                "at": now,
                "payload": {
                    "file": name,
                    "sha256": sha,
                    "rows": read.n_rows,
                    "imported": n_new,
                    "reissued": len(again),
                    "rejected": rejected_row_count(read.problems),
                    "issued_on": issued_on.isoformat(),
                    "due_on": due_on.isoformat(),
                },
            }
        ],
        who=who,
    )


def _write_new_targets(
    conn: Any,
    plan: _Plan,
    *,
    who: Any,
    name: str,
    batch_id: str,
    now: dt.datetime,
    progress: ProgressFn | None,
) -> None:
    """The batch's new targets, chunk by chunk, with their issue links and events."""
    rows, n_new = plan.targets, plan.n_new
    if progress is not None:
        progress("write", 0, n_new)
    with store_batches.IssueWriter(
        conn, batch_id=batch_id, n=n_new, at=now, actor=who.actor, host=who.host
    ) as writer:
        for start in range(0, n_new, writer.chunk):
            part = slice(start, start + writer.chunk)
            chunk = {
                k: v[part].tolist() if isinstance(v, np.ndarray) else v[part]
                for k, v in rows.items()
            }
            columns = {k: v for k, v in chunk.items() if k[0] != "_"}
            columns["assignment_detail"] = plan.details(part)
            writer.write(
                part,
                columns,
                rows=chunk["_row"],
                sources=_row_sources(who, name, chunk["_row"]),
                payloads=_issued_payloads(
                    chunk["village_code"], chunk["assignment"], chunk["repeat_of"]
                ),
            )
            if progress is not None:
                progress("write", min(n_new, start + writer.chunk), n_new)


def _fill_result(
    res: BatchImportResult, plan: _Plan, read: Any, issued_on: dt.date, due_on: dt.date
) -> None:
    res.imported = plan.n_new
    res.rejected = list(read.problems)
    res.reissued = len(plan.again)
    repeats = plan.targets["repeat_of"]
    res.repeat_sites = len(repeats) - repeats.count(None)
    summary = plan.summary_columns
    res.assignment = dict(Counter(summary["assignment"]))
    res.by_village = _village_counts(summary["village_code"], summary["village"])
    res.issued_on, res.due_on = issued_on, due_on
    res.ids_generated = read.ids_generated
    res.dms_carried = read.dms_carried
    res.outside = plan.outside
    res.issued_before = plan.issued_before
    res.footer_rows = list(read.footer_rows)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an import runs.

    An import builds millions of small dicts and lists that live until it ends; every
    automatic collection walks all of them, which made a 200,000-row import three times
    slower. Nothing an import builds is cyclic garbage.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _opt_float(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(f) else f


def _opt_date(v: Any) -> dt.date | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return None


def list_batches(store: Store) -> pd.DataFrame:
    """Every batch with its counts and current status breakdown."""
    store.require()
    with store.connect() as conn:
        return store_batches.list_batches(conn)


def rejected_rows(store: Store, batch_id: str) -> list[RowProblem]:
    """The rows of the batch's file that its import refused and recorded (``accept_partial``),
    with their reasons, by row: what to ask the district to send again."""
    with store.connect() as conn:
        store_batches.get_batch(conn, batch_id)
        found = store_batches.rejected_rows_of(conn, batch_id)
    out = []
    for rec in found:
        zh, en = split_bilingual(str(rec["reason"]))
        out.append(
            RowProblem(
                int(rec["row"]),
                rec["target_id"],
                zh,
                en,
                field=rec["field"],
                value=rec["value"],
                code=str(rec["code"]),
            )
        )
    return out
