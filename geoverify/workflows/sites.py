"""Self-found sites (自主发现) and public tips (举报线索): targets the town adds itself."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from geoverify.assign import assign_targets, find_repeat_sites
from geoverify.errors import InputError
from geoverify.geo import STORE_CRS, in_china, metric_crs
from geoverify.model import Status, TargetSource
from geoverify.store import Store, repo
from geoverify.workflows.batches import DEFAULT_REPEAT_RADIUS_M, DEFAULT_TOLERANCE_M
from geoverify.workflows.common import Actor, make_who, today_local

__all__ = ["ID_PREFIXES", "AddedTarget", "add_target", "next_target_id"]

#: Id prefix by source: ZZ = 自主 (self-found), JB = 举报 (tip).
ID_PREFIXES = {TargetSource.SELF.value: "ZZ", TargetSource.TIP.value: "JB"}


@dataclass
class AddedTarget:
    """A target added by the town; ``to_json`` is the ``--json`` shape."""

    target_id: str
    source: str
    lon: float
    lat: float
    village: str | None
    village_code: str | None
    group: str | None
    assignment: str
    found_on: dt.date
    hint_mismatch: str | None = None
    repeat_of: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "target_id": self.target_id,
            "source": self.source,
            "lon": self.lon,
            "lat": self.lat,
            "village": self.village,
            "village_code": self.village_code,
            "group": self.group,
            "assignment": self.assignment,
            "found_on": self.found_on.isoformat(),
            "status": Status.ISSUED.value,
            "hint_mismatch": self.hint_mismatch,
            "repeat_of": self.repeat_of,
        }


def next_target_id(existing: list[str], *, source: str, year: int) -> str:
    """The next free id ``ZZ-2024-0001`` / ``JB-2024-0001`` given the ids already used."""
    prefix = f"{ID_PREFIXES[source]}-{year}-"
    pat = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    used = [int(m.group(1)) for s in existing if (m := pat.match(s))]
    return f"{prefix}{(max(used) if used else 0) + 1:04d}"


def add_target(
    store: Store,
    *,
    source: str,
    lon: float,
    lat: float,
    village_hint: str | None = None,
    found_on: dt.date | None = None,
    found_by: str | None = None,
    remarks: str | None = None,
    actor: str | Actor | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> AddedTarget:
    """Add a self-found site or a tip as a target (status issued), assigned to its village.

    ``village_hint`` is what the finder said; when the boundaries place the site elsewhere,
    the result says so (``hint_mismatch``) and the hint is kept in the target's attributes.
    """
    if source not in ID_PREFIXES:
        msg = f"来源应为 self 或 tip (source must be self or tip), got {source!r}"
        raise InputError(msg)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        msg = f"经纬度无效 (invalid coordinates): lon={lon}, lat={lat}"
        raise InputError(msg)
    if not bool(in_china(lon, lat)):  # as a batch's rows are checked
        if bool(in_china(lat, lon)):
            msg = (
                f"经纬度疑似颠倒（交换后才在中国境内）：经度 {lon}，纬度 {lat} "
                f"(longitude and latitude look swapped: lon={lon}, lat={lat})"
            )
        else:
            msg = (
                f"坐标不在中国境内：经度 {lon}，纬度 {lat}，请检查是否少输了一位数字 "
                f"(coordinates are outside China: lon={lon}, lat={lat})"
            )
        raise InputError(msg)
    today = today_local()
    found_on = found_on or today
    if found_on > today:
        msg = f"发现日期 {found_on} 晚于今天 (found date is in the future)"
        raise InputError(msg)
    store.require()
    who = make_who(actor=actor, source=f"command:targets add --source {source}")
    with store.begin() as conn:
        villages = repo.load_villages(conn)
        if villages.empty:
            msg = "还没有村（社区）边界，请先运行 `geoverify init` (no village boundaries yet)"
            raise InputError(msg)
        if village_hint is not None and village_hint not in set(villages["name"]):
            msg = f"没有村（社区）{village_hint} (no such village)"
            raise InputError(msg)
        groups = repo.load_groups(conn)
        prefix = f"{ID_PREFIXES[source]}-{found_on.year}-"
        existing = repo.target_ids_with_prefix(conn, prefix)
        target_id = next_target_id(existing, source=source, year=found_on.year)
        point = Point(lon, lat)
        frame = gpd.GeoDataFrame({"target_id": [target_id]}, geometry=[point], crs=STORE_CRS)
        metric = metric_crs(float(villages.geometry.union_all().centroid.x))
        a = assign_targets(
            frame,
            villages,
            groups if not groups.empty else None,
            tolerance_m=tolerance_m,
            metric=metric,
        ).iloc[0]
        earlier = repo.load_targets(conn)
        repeat_pk: int | None = None
        repeat_dist: float | None = None
        if not earlier.empty:
            reps = find_repeat_sites(
                frame,
                earlier.set_index("pk"),
                radius_m=DEFAULT_REPEAT_RADIUS_M,
                metric=metric,
            )
            rep = reps.iloc[0]["repeat_of"]
            if rep is not None and not pd.isna(rep):
                repeat_pk = int(rep)
                repeat_dist = float(reps.iloc[0]["distance_m"])
        names = dict(zip(villages["code"], villages["name"], strict=True))
        code = a["village_code"] if isinstance(a["village_code"], str) else None
        village = names.get(code) if code else None
        mismatch = None
        if village_hint is not None and village_hint != village:
            mismatch = (
                f"报告所在村为 {village_hint}，按村界位于 {village or '镇外'} "
                f"(reported in {village_hint}, boundaries place it in {village or 'no village'})"
            )
        attributes: dict[str, Any] = {"found_on": found_on.isoformat()}
        if found_by:
            attributes["found_by"] = found_by
        if village_hint:
            attributes["village_hint"] = village_hint
        if remarks:
            attributes["remarks"] = remarks
        now = repo.now()
        group = a["group"] if isinstance(a["group"], str) else None
        pk = repo.insert_target(
            conn,
            {
                "target_id": target_id,
                "batch_id": None,
                "source": source,
                "geometry": point,
                "geom_type": "Point",
                "lon": lon,
                "lat": lat,
                "area_m2": None,
                "image_date": None,
                "attributes": attributes,
                "village_code": code,
                "group_name": group,
                "assignment": a["assignment"],
                "assignment_detail": repo.assignment_detail(
                    neighbours=[names[c] for c in a["neighbours"]],
                    neighbour_codes=list(a["neighbours"]),
                    split_into=[],
                    overlap=None,
                    distance_m=None if pd.isna(a["distance_m"]) else float(a["distance_m"]),
                    tolerance_m=tolerance_m,
                ),
                "repeat_of": repeat_pk,
                "repeat_distance_m": repeat_dist,
                "status": Status.ISSUED.value,
                "created_at": now,
                "updated_at": now,
            },
        )
        repeat_id = repo.target_id_of(conn, repeat_pk) if repeat_pk is not None else None
        repo.record_events(
            conn,
            [
                {
                    "target": pk,
                    "kind": "added",
                    "payload": {
                        "status": Status.ISSUED.value,
                        "source": source,
                        "lon": lon,
                        "lat": lat,
                        "village_code": code,
                        "assignment": a["assignment"],
                        "found_on": found_on.isoformat(),
                        "found_by": found_by,
                        "village_hint": village_hint,
                        "remarks": remarks,
                        "repeat_of": repeat_id,
                    },
                }
            ],
            who=who,
        )
    return AddedTarget(
        target_id,
        source,
        lon,
        lat,
        village,
        code,
        group,
        str(a["assignment"]),
        found_on,
        hint_mismatch=mismatch,
        repeat_of=repeat_id,
    )
