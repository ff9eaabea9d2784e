"""Targets as both doors show them: lists with filters, one target with its history and photos."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import shapely.geometry

from geoverify.evidence import FLAG_LABELS
from geoverify.lifecycle import FEEDBACK_FIELDS, THRESHOLD_LABELS, threshold_level
from geoverify.model import (
    ASSIGNMENT_LABELS,
    FEEDBACK_FIELD_LABELS,
    RESULT_LABELS,
    STATUS_LABELS,
    source_label,
)
from geoverify.navigation import navigation_links, to_dms
from geoverify.problems import split_bilingual
from geoverify.progress import overdue_mask, sort_targets_for_lists, threshold_levels
from geoverify.store import Store, repo
from geoverify.store import batches as store_batches
from geoverify.store import evidence as store_evidence
from geoverify.workflows.common import LOCAL_TZ, today_local

__all__ = [
    "TargetDetail",
    "TargetHistory",
    "TargetList",
    "check_target_scope",
    "event_changes",
    "list_targets",
    "reissue_facts",
    "target_detail",
    "target_history",
    "target_record",
]


def _str_or_none(v: Any) -> str | None:
    """A string as it is (not trimmed); ``None`` for anything that is not a string."""
    return v if isinstance(v, str) else None


def _int(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def _float(v: Any) -> float | None:
    if v is None or pd.isna(v):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _date(v: Any) -> dt.date | None:
    if v is None or (not isinstance(v, dt.date) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    return v if isinstance(v, dt.date) else None


def target_record(r: Any) -> dict[str, Any]:
    """The documented JSON object of one target (a row of a targets frame, as a namedtuple)."""
    return {
        "target_id": r.target_id,
        "batch": r.batch,
        "village": _str_or_none(r.village),
        "village_code": _str_or_none(r.village_code),
        "group": _str_or_none(r.group),
        "lon": round(float(r.lon), 7),
        "lat": round(float(r.lat), 7),
        "geometry_type": r.geometry.geom_type,
        "area_m2": r.area_m2,
        "status": r.status,
        "result": r.result,
        "plants": _int(r.plants),
        "case_no": _str_or_none(r.case_no),
        "threshold": _str_or_none(r.threshold),
        "assignment": r.assignment,
        "neighbours": list(r.neighbours),
        "split_into": list(r.split_into),
        "repeat_of": r.repeat_of,
        "repeat_distance_m": _float(r.repeat_distance_m),
        "reissue_of": r.reissue_of,
        "source": r.source,
        "issued_on": r.issued_on,
        "due_on": r.due_on,
        "overdue": bool(getattr(r, "overdue", False)),
        "attributes": dict(r.attributes or {}),
    }


@dataclass
class TargetList:
    """Targets in list order (threshold cases first, then village and id)."""

    frame: gpd.GeoDataFrame
    batch: str | None = None
    village: str | None = None
    status: str | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def to_json(self) -> list[dict[str, Any]]:
        """The documented ``targets list --json`` array."""
        return [target_record(r) for r in self.frame.itertuples()]


def list_targets(
    store: Store,
    *,
    batch: str | None = None,
    village: str | None = None,
    status: str | None = None,
    overdue_on: dt.date | None = None,
) -> TargetList:
    """Targets, filtered by batch, village (name or code; ``-`` for outside) and status.

    Ordered as every list is: criminal-threshold cases first (art. 351), then by village code
    and target id; a ``threshold`` column says which level a target reaches, an ``overdue``
    column whether it is overdue (逾期未反馈) on ``overdue_on`` or today. ``overdue_on`` keeps
    only the targets overdue on that date.
    """
    store.require()
    with store.connect() as conn:
        if batch is not None:
            store_batches.get_batch(conn, batch)
        if village is not None and village != "-":
            repo.get_village(conn, village)
        day = overdue_on or today_local()
        frame = repo.load_targets(conn, batch=batch, village=village, status=status, as_of=day)
    frame["threshold"] = threshold_levels(frame)
    frame["overdue"] = overdue_mask(frame, today=day).to_numpy()
    if overdue_on is not None:
        frame = frame[frame["overdue"].to_numpy()]
    return TargetList(sort_targets_for_lists(frame), batch=batch, village=village, status=status)


@dataclass
class TargetHistory:
    """Every event of one target, oldest first, times in Asia/Shanghai; each event's
    ``changes`` say what a feedback event changed, as a person reads it (:func:`event_changes`)."""

    target_id: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "events": self.events}


def _history(conn: Any, pk: int, target_id: str) -> list[dict[str, Any]]:
    events = repo.load_events(conn, target=pk)
    out = []
    for r in events.to_dict(orient="records"):
        out.append(
            {
                "at": r["at"].astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
                "actor": r["actor"],
                "host": r["host"],
                "kind": r["kind"],
                "source": r["source"],
                "source_label": source_label(r["source"]),
                "batch": r["batch"] if isinstance(r["batch"], str) else None,
                "target_id": target_id,
                "payload": r["payload"],
                "changes": (
                    reissue_facts(r["payload"])
                    if r["kind"] == "reissued"
                    else event_changes(r["payload"])
                ),
            }
        )
    return out


#: Labels of the values a history line shows (the area's unit goes with its value).
_VALUE_LABELS = {**FEEDBACK_FIELD_LABELS, "eradicated_area_m2": "铲除面积"}
#: Longest text a history line shows of a value (a long note is cut, with "…").
_SHOWN_CHARS = 30


def _shown_value(key: str, value: Any) -> str:
    """One feedback value as a history line shows it."""
    if key == "result":
        return RESULT_LABELS.get(str(value), str(value))
    if key == "eradicated_area_m2" and isinstance(value, int | float):
        return f"{float(value):g} 平方米"
    text = str(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def event_changes(payload: Any) -> list[dict[str, str | None]]:
    """What a feedback event changed, as a person reads it: each value's Chinese label, what it
    was (``before``; None when nothing was recorded) and what it became (``after``; "（空）"
    when it was cleared). A changed result is named too (the status line shows only the new
    one); an event of no feedback value gives an empty list."""
    if not isinstance(payload, Mapping):
        return []
    before, after = payload.get("from"), payload.get("to")
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return []
    out: list[dict[str, str | None]] = []
    old, new = before.get("result"), after.get("result")
    if old is not None and new is not None and old != new:
        out.append(
            {
                "field": "result",
                "label": _VALUE_LABELS["result"],
                "before": _shown_value("result", old),
                "after": _shown_value("result", new),
            }
        )
    for key in FEEDBACK_FIELDS:
        if key not in after:
            continue
        old, new = before.get(key), after[key]
        if old is None and new is None:
            continue
        out.append(
            {
                "field": key,
                "label": _VALUE_LABELS[key],
                "before": None if old is None else _shown_value(key, old),
                "after": "（空）" if new is None else _shown_value(key, new),
            }
        )
    return out


def reissue_facts(payload: Any) -> list[dict[str, str | None]]:
    """What a batch that issued the target again said of it (its area, image date and due
    date, which the target's own record keeps from the first batch), as a history line shows
    them; in the shape of :func:`event_changes` (nothing ``before``)."""
    if not isinstance(payload, Mapping):
        return []
    out: list[dict[str, str | None]] = []
    area = payload.get("area_m2")
    if isinstance(area, int | float):
        out.append(
            {"field": "area_m2", "label": "图斑面积", "before": None, "after": f"{area:g} 平方米"}
        )
    for key, label in (("image_date", "影像时间"), ("due_on", "核查时限")):
        if payload.get(key):
            out.append({"field": key, "label": label, "before": None, "after": str(payload[key])})
    return out


def target_history(store: Store, target_id: str) -> TargetHistory:
    """Every event of one target, oldest first, with the time in Asia/Shanghai."""
    store.require()
    with store.connect() as conn:
        pk = repo.target_pk(conn, target_id)
        return TargetHistory(target_id, _history(conn, pk, target_id))


@dataclass
class TargetDetail:
    """One target as its page and ``GET /api/v1/targets/{id}`` show it."""

    record: dict[str, Any]
    version: int
    attributes: dict[str, Any]
    feedback: dict[str, Any]
    labels: dict[str, str | None]
    coordinates: dict[str, Any]
    links: dict[str, str]
    photos: list[dict[str, Any]]
    history: list[dict[str, Any]]
    overdue: bool
    geometry: dict[str, Any]
    #: The village's boundary, simplified to about 5 m (for a small map).
    village_outline: dict[str, Any] | None = None

    @property
    def target_id(self) -> str:
        return str(self.record["target_id"])

    @property
    def village_code(self) -> str | None:
        return self.record["village_code"]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.record,
            "version": self.version,
            "attributes": self.attributes,
            "feedback": self.feedback,
            "labels": self.labels,
            "coordinates": self.coordinates,
            "links": self.links,
            "photos": self.photos,
            "history": self.history,
            "overdue": self.overdue,
            "geometry": self.geometry,
            "village_outline": self.village_outline,
        }


def _photo_json(row: dict[str, Any]) -> dict[str, Any]:
    taken = row["taken_at"]
    return {
        "id": int(row["id"]),
        "name": row["original_name"],
        "sha256": row["sha256"],
        "media_type": row["media_type"],
        "size_bytes": int(row["size_bytes"]),
        "taken_at": taken.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if taken else None,
        "lon": row["lon"],
        "lat": row["lat"],
        "distance_m": None if row["distance_m"] is None else round(float(row["distance_m"]), 1),
        "flags": list(row["flags"] or []),
        "flag_labels": [
            split_bilingual(FLAG_LABELS.get(f, f).format(max_distance_m=200))[0]
            for f in row["flags"]
        ],
        "added_at": row["added_at"].astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
        "added_by": row["added_by"],
    }


def check_target_scope(store: Store, target_id: str, *, only_village: str | None) -> None:
    """ "No such target" unless the target exists and — given ``only_village`` (a village
    code) — belongs to that village: a village user never learns of another's targets."""
    if only_village is None:
        return
    store.require()
    with store.connect() as conn:
        pk = repo.target_pk(conn, target_id)
        code = repo.load_targets(conn, pks=[pk]).iloc[0]["village_code"]
    if code != only_village:
        raise repo.no_such_target(target_id)


def target_detail(
    store: Store, target_id: str, *, only_village: str | None = None, today: dt.date | None = None
) -> TargetDetail:
    """One target with its district columns, feedback, navigation links, photos and history.

    ``only_village`` (a village code) answers "no such target" for a target of another village,
    exactly as for a target that does not exist.
    """
    store.require()
    today = today or today_local()
    with store.connect() as conn:
        pk = repo.target_pk(conn, target_id)
        frame = repo.load_targets(conn, pks=[pk], as_of=today)
        rec = frame.iloc[0]
        if only_village is not None and rec["village_code"] != only_village:
            raise repo.no_such_target(target_id)
        photos = [_photo_json(p) for p in store_evidence.list_photos(conn, target=pk)]
        history = _history(conn, pk, str(rec["target_id"]))
        outline = None
        if isinstance(rec["village_code"], str):
            villages = repo.load_villages(conn)
            hit = villages[villages["code"] == rec["village_code"]]
            if len(hit):
                simple = shapely.simplify(hit.geometry.iloc[0], 0.00005, preserve_topology=True)
                outline = shapely.geometry.mapping(simple)
    frame["threshold"] = threshold_levels(frame)
    frame["overdue"] = overdue_mask(frame, as_of=today).to_numpy()
    row = next(frame.itertuples())
    record = target_record(row)
    lon, lat = float(rec["lon"]), float(rec["lat"])
    label = f"靶标 {rec['target_id']}"
    nav = navigation_links([lon], [lat], [label])[0]
    plants = _int(rec["plants"])
    level = threshold_level(plants) if rec["result"] == "confirmed" else None
    feedback = {
        "result": _str_or_none(rec["result"]),
        "verified_on": _date(rec["verified_on"]),
        "verified_by": _str_or_none(rec["verified_by"]),
        "plants": plants,
        "eradicated_area_m2": _float(rec["eradicated_area_m2"]),
        "eradicated_on": _date(rec["eradicated_on"]),
        "case_no": _str_or_none(rec["case_no"]),
        "remarks": _str_or_none(rec["remarks"]),
    }
    labels = {
        "status": STATUS_LABELS.get(str(rec["status"])),
        "result": RESULT_LABELS.get(str(rec["result"])) if _str_or_none(rec["result"]) else None,
        "assignment": ASSIGNMENT_LABELS.get(str(rec["assignment"])),
        "threshold": THRESHOLD_LABELS.get(level) if level else None,
    }
    overdue = bool(record["overdue"])
    return TargetDetail(
        record=record,
        version=int(rec["version"]),
        attributes=dict(rec["attributes"] or {}),
        feedback=feedback,
        labels=labels,
        coordinates={
            "lon": round(lon, 7),
            "lat": round(lat, 7),
            "lon_dms": to_dms(lon, axis="lon"),
            "lat_dms": to_dms(lat, axis="lat"),
        },
        links={"amap": nav.amap, "baidu": nav.baidu, "tencent": nav.tencent, "geo": nav.geo},
        photos=photos,
        history=history,
        overdue=overdue,
        geometry=shapely.geometry.mapping(rec.geometry),
        village_outline=outline,
    )
