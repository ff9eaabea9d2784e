"""Small repository functions: rows in, frames out. Every write runs on a caller's transaction."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, RowMapping, and_, func, or_, select

from geoverify.errors import NotFoundError
from geoverify.geo import STORE_CRS
from geoverify.store import tables as t


@dataclass(frozen=True)
class Who:
    """Who changes the store, from which machine, through which command or file.

    ``channel`` is ``"cli"`` for the command line and ``"web"`` for the web service, where
    ``host`` is the client's address; an event source ``command:…`` is then written ``web:…``.
    """

    actor: str
    host: str
    source: str
    channel: str = "cli"

    def event_source(self, source: str | None = None) -> str:
        """The source recorded with an event: the given one, else this Who's own."""
        text = source or self.source
        if self.channel != "cli" and text.startswith("command:"):
            return f"{self.channel}:{text[len('command:') :]}"
        return text


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- imports ---------------------------------------------------------------------------------
def find_import(conn: Connection, *, kind: str, sha256: str) -> RowMapping | None:
    row = conn.execute(
        select(t.imports).where(and_(t.imports.c.kind == kind, t.imports.c.sha256 == sha256))
    ).first()
    return row._mapping if row is not None else None


def record_import(
    conn: Connection, *, kind: str, sha256: str, source_name: str, who: Who, summary: dict[str, Any]
) -> int:
    res = conn.execute(
        t.imports.insert().values(
            kind=kind,
            sha256=sha256,
            source_name=source_name,
            at=now(),
            actor=who.actor,
            host=who.host,
            summary=summary,
        )
    )
    return int(res.inserted_primary_key[0])  # type: ignore[index]


# -- events ----------------------------------------------------------------------------------
def record_events(conn: Connection, rows: Sequence[dict[str, Any]], *, who: Who) -> None:
    """Append events; each row gives ``kind`` and optionally target, batch_id, source, payload."""
    if not rows:
        return
    at = now()
    conn.execute(
        t.events.insert(),
        [
            {
                "target": r.get("target"),
                "batch_id": r.get("batch_id"),
                "at": r.get("at", at),
                "actor": who.actor,
                "host": who.host,
                "kind": r["kind"],
                "source": who.event_source(r.get("source")),
                "payload": r.get("payload", {}),
            }
            for r in rows
        ],
    )


def load_events(
    conn: Connection, *, target: int | None = None, batch_id: str | None = None
) -> pd.DataFrame:
    q = (
        select(
            t.events.c.id,
            t.events.c.at,
            t.events.c.actor,
            t.events.c.host,
            t.events.c.kind,
            t.events.c.source,
            t.events.c.payload,
            t.events.c.batch_id.label("batch"),
            t.events.c.target.label("pk"),
            t.targets.c.target_id,
        )
        .select_from(t.events.outerjoin(t.targets, t.events.c.target == t.targets.c.id))
        .order_by(t.events.c.id)
    )
    if target is not None:
        q = q.where(t.events.c.target == target)
    if batch_id is not None:
        q = q.where(t.events.c.batch_id == batch_id)
    rows = conn.execute(q).mappings().all()
    cols = ["id", "at", "actor", "host", "kind", "source", "payload", "batch", "pk", "target_id"]
    return pd.DataFrame([dict(r) for r in rows], columns=cols)


# -- villages and groups ---------------------------------------------------------------------
def _gdf(rows: Iterable[RowMapping], columns: list[str]) -> gpd.GeoDataFrame:
    records = [dict(r) for r in rows]
    frame = pd.DataFrame(records, columns=[*columns, "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORE_CRS)


def load_villages(conn: Connection) -> gpd.GeoDataFrame:
    """Villages frame: code, name, kind, illustrative, attributes, geometry (EPSG:4490)."""
    v = t.villages.c
    rows = conn.execute(
        select(v.code, v.name, v.kind, v.illustrative, v.attributes, v.geometry).order_by(v.code)
    ).mappings()
    return _gdf(rows, ["code", "name", "kind", "illustrative", "attributes"])


def load_groups(conn: Connection) -> gpd.GeoDataFrame:
    """Groups frame: village_code, village, name, geometry (None when a group has no polygon)."""
    g = t.village_groups.c
    rows = conn.execute(
        select(g.village_code, t.villages.c.name.label("village"), g.name, g.attributes, g.geometry)
        .select_from(t.village_groups.join(t.villages))
        .order_by(g.village_code, g.id)
    ).mappings()
    return _gdf(rows, ["village_code", "village", "name", "attributes"])


def find_village(conn: Connection, name_or_code: str) -> RowMapping | None:
    """The village (code, name, kind, illustrative) named or coded ``name_or_code``, or None."""
    v = t.villages.c
    row = conn.execute(
        select(v.code, v.name, v.kind, v.illustrative).where(
            (v.name == name_or_code) | (v.code == name_or_code)
        )
    ).first()
    return row._mapping if row is not None else None


def no_such_village(value: str, names: Sequence[str]) -> NotFoundError:
    """The error for an unknown village, naming the closest existing names (a typo, 青杠村)."""
    close = difflib.get_close_matches(value, list(names), n=3, cutoff=0.3)
    hint = f"；是否要找：{'、'.join(close)}" if close else ""
    also = f"; did you mean {', '.join(close)}?" if close else ""
    return NotFoundError(f"没有村（社区）{value}{hint} (no such village{also})")


def get_village(conn: Connection, name_or_code: str) -> RowMapping:
    """Like :func:`find_village`; :class:`NotFoundError` (with the nearest names) when there is
    no such village."""
    row = find_village(conn, name_or_code)
    if row is None:
        names = [str(n) for n in conn.execute(select(t.villages.c.name)).scalars()]
        raise no_such_village(name_or_code, names)
    return row


def no_such_target(target_id: object) -> NotFoundError:
    """The error for a target that does not exist (or that the asker may not see)."""
    msg = f"没有靶标 {target_id} (no such target)"
    return NotFoundError(msg)


def target_pk(conn: Connection, target_id: str) -> int:
    """Store key of a target id; :class:`NotFoundError` when there is none."""
    pk = conn.execute(
        select(t.targets.c.id).where(t.targets.c.target_id == target_id.strip())
    ).scalar_one_or_none()
    if pk is None:
        raise no_such_target(target_id)
    return int(pk)


def target_ids_with_prefix(conn: Connection, prefix: str) -> list[str]:
    """Every target id that starts with ``prefix`` (to make the next id of a series)."""
    c = t.targets.c
    return [
        str(x)
        for x in conn.execute(select(c.target_id).where(c.target_id.like(f"{prefix}%"))).scalars()
    ]


def target_id_of(conn: Connection, pk: int) -> str:
    """The target id of a store key."""
    return str(conn.execute(select(t.targets.c.target_id).where(t.targets.c.id == pk)).scalar_one())


def assignment_detail(
    *,
    neighbours: Sequence[str],
    neighbour_codes: Sequence[str],
    split_into: Sequence[str],
    overlap: float | None,
    distance_m: float | None,
    tolerance_m: float,
) -> dict[str, Any]:
    """A target's stored ``assignment_detail``: the neighbouring villages within the
    tolerance (names and codes) and the villages a polygon is split into, each only when
    there are any (most targets have none; :func:`load_targets` gives ``[]`` for a missing
    one), then the overlap, the distance to the village and the tolerance."""
    detail: dict[str, Any] = {}
    if neighbours or neighbour_codes:
        detail["neighbours"] = list(neighbours)
        detail["neighbour_codes"] = list(neighbour_codes)
    if split_into:
        detail["split_into"] = list(split_into)
    detail.update(overlap=overlap, distance_m=distance_m, tolerance_m=tolerance_m)
    return detail


def insert_target(conn: Connection, values: dict[str, Any]) -> int:
    """Insert one target row; its store key."""
    res = conn.execute(t.targets.insert().values(**values))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def count_rows(conn: Connection) -> dict[str, int]:
    """Row count of every table (used to prove a refused import changed nothing)."""
    return {
        table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for table in t.metadata.sorted_tables
    }


# -- targets ---------------------------------------------------------------------------------
TARGET_COLUMNS = [
    "pk",
    "target_id",
    "batch",
    "source",
    "lon",
    "lat",
    "area_m2",
    "image_date",
    "village_code",
    "village",
    "group",
    "assignment",
    "neighbours",
    "split_into",
    "distance_m",
    "repeat_of",
    "repeat_distance_m",
    "reissue_of",
    "status",
    "result",
    "verified_on",
    "verified_by",
    "plants",
    "eradicated_area_m2",
    "eradicated_on",
    "case_no",
    "remarks",
    "issued_on",
    "due_on",
    "attributes",
    "version",
]


def _latest_due_dates(
    conn: Connection, frame: pd.DataFrame, pks: Sequence[int] | None, as_of: dt.date | None
) -> None:
    """Give each target of ``frame`` that more than one batch issued the latest due date
    (核查时限) of those batches issued by ``as_of`` (every one when None; its first batch's
    always): the district's last word on it that day, as a re-issue's dispatch list says. Its
    first batch and issue date stay. ``pks``: the frame's keys when it was asked for by key
    (looked up by key, in chunks). In place."""
    issue, b = t.target_issues.c, t.batches.c
    if conn.execute(select(b.id).where(b.n_reissued > 0).limit(1)).first() is None:
        return  # no batch issued any target again (no need to read the issue links)
    again = select(issue.target).where(issue.reissue.is_(True))
    query = (
        select(issue.target, issue.reissue, b.issued_on, b.due_on)
        .join(t.batches, b.id == issue.batch_id)
        .where(issue.target.in_(again))
    )
    if pks is None:
        found = list(conn.execute(query))
    else:
        keys = list(pks)
        found = []
        for i in range(0, len(keys), 500):  # no statement grows with the frame
            found.extend(conn.execute(query.where(issue.target.in_(keys[i : i + 500]))))
    latest: dict[int, Any] = {}
    for pk, reissue, issued_on, due_on in found:
        if due_on is None or (reissue and as_of is not None and issued_on and issued_on > as_of):
            continue  # a re-issue not yet issued on that day
        key = int(pk)
        if key not in latest or due_on > latest[key]:
            latest[key] = due_on
    later = frame["pk"].isin(latest.keys())
    if later.any():
        frame.loc[later, "due_on"] = frame.loc[later, "pk"].map(latest)


def _as_this_batch_said(frame: pd.DataFrame, rows: pd.Series, said: dict[int, Any]) -> None:
    """The area and the image date the batch's ``reissued`` events (``said``, payload by
    target key) gave the targets it issued again (``rows``): in that batch's view a target
    reads as the district sent it then (its first batch's are the target's own). An event
    recorded before the events kept them (its payload names the batch alone, no due date)
    leaves the target's own, as that batch's lists showed them then. In place."""
    area: list[float] = []
    image: list[Any] = []
    own = frame.loc[rows]
    for pk, own_area, own_image in zip(
        own["pk"].tolist(), own["area_m2"].tolist(), own["image_date"].tolist(), strict=True
    ):
        payload = said.get(int(pk)) or {}
        if "due_on" not in payload:  # recorded before the batch's values were kept
            area.append(float("nan") if own_area is None else float(own_area))
            image.append(own_image if isinstance(own_image, dt.date) else None)
            continue
        given = payload.get("area_m2")
        area.append(float("nan") if given is None else float(given))
        day = payload.get("image_date")
        image.append(dt.date.fromisoformat(day) if day else None)
    if area:
        where = frame.index[rows]
        frame["area_m2"] = frame["area_m2"].astype(float)
        frame.loc[rows, "area_m2"] = pd.Series(area, index=where, dtype=float)
        frame["image_date"] = frame["image_date"].astype(object)
        frame.loc[rows, "image_date"] = pd.Series(image, index=where, dtype=object)


def count_reissued(
    conn: Connection, *, village: str | None = None, as_of: dt.date | None = None
) -> int:
    """How many targets (of ``village``, a name or code, ``"-"`` for those outside every
    village) a later batch issued again by ``as_of`` (at any time when None)."""
    tg, issue, b = t.targets.c, t.target_issues.c, t.batches.c
    if conn.execute(select(b.id).where(b.n_reissued > 0).limit(1)).first() is None:
        return 0
    q = (
        select(func.count(func.distinct(issue.target)))
        .select_from(t.target_issues)
        .join(t.batches, b.id == issue.batch_id)
        .join(t.targets, tg.id == issue.target)
        .where(issue.reissue.is_(True))
    )
    if as_of is not None:
        q = q.where(or_(b.issued_on.is_(None), b.issued_on <= as_of))
    if village == "-":
        q = q.where(tg.village_code.is_(None))
    elif village is not None:
        named = select(t.villages.c.code).where(t.villages.c.name == village)
        q = q.where(or_(tg.village_code == village, tg.village_code.in_(named)))
    return int(conn.execute(q).scalar_one())


def load_targets(
    conn: Connection,
    *,
    batch: str | None = None,
    village: str | None = None,
    status: str | Sequence[str] | None = None,
    pks: Sequence[int] | None = None,
    as_of: dt.date | None = None,
) -> gpd.GeoDataFrame:
    """Targets frame (see DESIGN.md); ``batch`` selects every target issued in that batch.

    ``village`` matches a village name or code; the literal ``"-"`` selects targets outside
    every village. Without ``batch``, a target issued again has the latest deadline of its
    batches issued by ``as_of`` (of all of them when None); with it, that batch's.
    """
    tg = t.targets.c
    earlier = t.targets.alias("earlier")
    issue = t.target_issues.alias("issue")
    b = t.batches.alias("b")
    batch_col = issue.c.batch_id if batch is not None else tg.batch_id
    q = (
        select(
            tg.id.label("pk"),
            tg.target_id,
            batch_col.label("batch"),
            tg.source,
            tg.geometry,
            tg.lon,
            tg.lat,
            tg.area_m2,
            tg.image_date,
            tg.village_code,
            t.villages.c.name.label("village"),
            tg.group_name.label("group"),
            tg.assignment,
            tg.assignment_detail,
            earlier.c.target_id.label("repeat_of"),
            tg.repeat_distance_m,
            tg.status,
            tg.result,
            tg.verified_on,
            tg.verified_by,
            tg.plants,
            tg.eradicated_area_m2,
            tg.eradicated_on,
            tg.case_no,
            tg.remarks,
            b.c.issued_on,
            b.c.due_on,
            tg.attributes,
            tg.version,
        )
        .select_from(t.targets)
        .outerjoin(t.villages, tg.village_code == t.villages.c.code)
        .outerjoin(earlier, tg.repeat_of == earlier.c.id)
    )
    if batch is not None:
        q = q.join(issue, and_(issue.c.target == tg.id, issue.c.batch_id == batch))
        q = q.add_columns(
            issue.c.reissue.label("_reissue"), issue.c.attributes.label("_issue_attributes")
        )
    q = q.outerjoin(b, b.c.id == batch_col)
    if village is not None:
        if village == "-":
            q = q.where(tg.village_code.is_(None))
        else:
            q = q.where((t.villages.c.name == village) | (tg.village_code == village))
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        q = q.where(tg.status.in_(statuses))
    if pks is not None:
        q = q.where(tg.id.in_(list(pks)))
    q = q.order_by(tg.village_code, tg.target_id)
    records = []
    for r in conn.execute(q).mappings():
        rec = dict(r)
        detail = rec.pop("assignment_detail") or {}
        rec["neighbours"] = detail.get("neighbours", [])
        rec["split_into"] = detail.get("split_into", [])
        rec["distance_m"] = detail.get("distance_m")
        reissue = rec.pop("_reissue", False)
        columns = rec.pop("_issue_attributes", None)
        if reissue and columns is not None:  # the district's columns as this batch gave them
            rec["attributes"] = columns
        rec["reissue_of"] = None  # filled below for re-issued targets
        rec["_reissued"] = bool(reissue)
        records.append(rec)
    frame = pd.DataFrame(records, columns=[*TARGET_COLUMNS, "geometry", "_reissued"])
    if batch is not None and len(frame):
        reissued = frame.loc[frame["_reissued"], "pk"].tolist()
        if reissued:
            firsts: dict[int, str] = {}
            said: dict[int, Any] = {}
            ev = t.events.c
            for i in range(0, len(reissued), 500):  # no statement grows with the batch
                part = reissued[i : i + 500]
                firsts.update(conn.execute(select(tg.id, tg.batch_id).where(tg.id.in_(part))).all())
                said.update(
                    conn.execute(
                        select(ev.target, ev.payload).where(
                            ev.kind == "reissued", ev.batch_id == batch, ev.target.in_(part)
                        )
                    ).all()
                )
            rows = frame["_reissued"]
            frame.loc[rows, "reissue_of"] = frame.loc[rows, "pk"].map(firsts)
            _as_this_batch_said(frame, rows, said)
    if batch is None and len(frame):
        _latest_due_dates(conn, frame, pks, as_of)
    frame = frame.drop(columns="_reissued")
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=STORE_CRS)
    return gdf
