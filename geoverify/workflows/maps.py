"""Maps from the store (地图): the town or one village, with history, photos and coverage."""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import Connection

from geoverify import maps
from geoverify.errors import InputError
from geoverify.store import Store, repo
from geoverify.store import batches as store_batches
from geoverify.store import evidence as store_evidence
from geoverify.workflows.attributes import with_district_columns
from geoverify.workflows.common import today_local
from geoverify.workflows.coverage import coverage_for_period
from geoverify.workflows.patrols import latest_patrol_month, load_patrol_tracks, month_range
from geoverify.workflows.villages import village_areas_km2

__all__ = [
    "MAX_PHOTOS_PER_TARGET",
    "THUMBNAIL_PX",
    "StoreMap",
    "build_store_map",
    "latest_patrol_month",
    "map_html",
    "thumbnail_jpeg",
    "write_store_map",
    "write_village_map",
]

#: Longest side of a photo thumbnail in the map popups, in pixels.
THUMBNAIL_PX = 240
#: At most this many thumbnails per target are put into a map (the newest are left out).
MAX_PHOTOS_PER_TARGET = 4

TOWN_TITLE = "福果镇禁种铲毒靶标核查图"


@dataclass
class StoreMap:
    """A map built from the store, with what went into it (``to_json`` is the CLI shape)."""

    html: str
    villages: int
    targets: int
    batch: str | None = None
    village: str | None = None
    village_code: str | None = None
    month: str | None = None
    tracks: int = 0
    unsurveyed: int = 0
    photos: int = 0
    basemap: str = "none"
    warnings: list[str] = field(default_factory=list)
    out: Path | None = None
    as_of: dt.date | None = None
    #: Map category of every target (:func:`geoverify.maps.target_categories`), in order.
    categories: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out) if self.out else None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "category_counts": {
                key: n
                for key, *_ in maps.CATEGORIES
                if (n := sum(1 for c in self.categories if c == key))
            },
            "villages": self.villages,
            "targets": self.targets,
            "bytes": len(self.html.encode("utf-8")),
            "batch": self.batch,
            "village": self.village,
            "village_code": self.village_code,
            "month": self.month,
            "tracks": self.tracks,
            "unsurveyed": self.unsurveyed,
            "photos": self.photos,
            "basemap": self.basemap,
            "warnings": list(self.warnings),
        }


def thumbnail_jpeg(data: bytes, *, size: int = THUMBNAIL_PX) -> bytes:
    """A small JPEG of a photo (JPEG/PNG bytes), turned upright, with no EXIF or other metadata.

    Raises
    ------
    InputError
        When the bytes are not an image Pillow can read.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        msg = f"照片无法读取 (photo cannot be read): {e}"
        raise InputError(msg) from e
    if upright.mode not in ("RGB", "L"):
        background = Image.new("RGB", upright.size, (255, 255, 255))
        rgba = upright.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        upright = background
    upright.thumbnail((size, size))
    out = io.BytesIO()
    # A fresh save without ``exif=`` writes no EXIF/GPS; ICC and comments are not copied.
    upright.convert("RGB").save(out, format="JPEG", quality=72, optimize=True)
    return out.getvalue()


def _resolve_village(villages: gpd.GeoDataFrame, value: str) -> pd.Series:
    hit = villages[(villages["name"] == value) | (villages["code"] == value)]
    if hit.empty:
        raise repo.no_such_village(value, [str(n) for n in villages["name"]])
    return hit.iloc[0]


def _history(conn: Connection, pks: set[int]) -> dict[int, list[dict[str, Any]]]:
    """Events by target; a payload's ``repeat_of`` (a stored number) becomes the target id."""
    if not pks:
        return {}
    events = repo.load_events(conn)
    events = events[events["pk"].notna()]
    out: dict[int, list[dict[str, Any]]] = {}
    names: dict[int, str] = {}
    for rec in events.to_dict("records"):
        pk = int(rec["pk"])
        if pk not in pks:
            continue
        event = {str(k): v for k, v in rec.items()}
        payload = event.get("payload")
        if isinstance(payload, dict) and isinstance(payload.get("repeat_of"), int):
            ref = int(payload["repeat_of"])
            if ref not in names:
                names[ref] = repo.target_id_of(conn, ref)
            event["payload"] = {**payload, "repeat_of": names[ref]}
        out.setdefault(pk, []).append(event)
    return out


def _photos(
    conn: Connection, workspace: Path, pks: set[int], warnings: list[str]
) -> dict[int, list[bytes]]:
    if not pks:
        return {}
    rows = store_evidence.all_photos(conn)
    out: dict[int, list[bytes]] = {}
    for pk, stored, original, target_id in rows:
        if pk not in pks or len(out.get(pk, [])) >= MAX_PHOTOS_PER_TARGET:
            continue
        path = workspace / stored
        try:
            thumb = thumbnail_jpeg(path.read_bytes())
        except (OSError, InputError) as e:
            warnings.append(
                f"靶标 {target_id} 的照片 {original} 无法放入地图 (photo left out of the map): "
                f"{path}: {e}"
            )
            continue
        out.setdefault(int(pk), []).append(thumb)
    return out


def build_store_map(
    store: Store,
    *,
    batch: str | None = None,
    village: str | None = None,
    month: str | None = None,
    basemap: maps.Basemap = "none",
    tianditu_key: str | None = None,
    as_of: dt.date | None = None,
) -> StoreMap:
    """Gather everything a map shows from the store and build it (see :func:`map_html`)."""
    store.require()
    as_of = as_of or today_local()
    if month is not None:
        start, end = month_range(month)  # validates YYYY-MM before any work
    warnings: list[str] = []
    with store.connect() as conn:
        villages = repo.load_villages(conn)
        if villages.empty:
            msg = "还没有村（社区）边界，请先运行 `geoverify init` (no village boundaries yet)"
            raise InputError(msg)
        if batch is not None:
            store_batches.get_batch(conn, batch)
        code: str | None = None
        name: str | None = None
        if village is not None:
            row = _resolve_village(villages, village)
            code, name = str(row["code"]), str(row["name"])
        targets = with_district_columns(
            repo.load_targets(conn, batch=batch, village=code, as_of=as_of)
        )
        groups = repo.load_groups(conn)
        pks = {int(p) for p in targets["pk"]}
        history = _history(conn, pks)
        photos = _photos(conn, store.workspace, pks, warnings)
        if month is None:
            month = latest_patrol_month(conn)
            if month is not None:
                start, end = month_range(month)

    coverage: pd.DataFrame | None = None
    unsurveyed: gpd.GeoDataFrame | None = None
    tracks: gpd.GeoDataFrame | None = None
    if month is not None:
        cov = coverage_for_period(store, start=start, end=end)
        coverage = cov.villages
        unsurveyed = cov.unsurveyed
        tracks = load_patrol_tracks(store, start=start, end=end)
        tracks = tracks.assign(
            label=[
                " ".join(str(v) for v in parts if isinstance(v, str | dt.date) and str(v))
                for parts in zip(
                    tracks["village"],
                    tracks["group"],
                    tracks["date"],
                    tracks["people"],
                    strict=True,
                )
            ]
        )

    villages = villages.assign(area_km2=village_areas_km2(villages))
    if code is not None:
        villages = villages[villages["code"] == code]
        groups = groups[groups["village_code"] == code]
        if unsurveyed is not None and "code" in unsurveyed.columns:
            unsurveyed = unsurveyed[unsurveyed["code"] == code]
        if tracks is not None:
            tracks = tracks[tracks["village_code"] == code]

    title = f"福果镇{name}禁种铲毒靶标核查图" if name else TOWN_TITLE
    parts = []
    if batch is not None:
        parts.append(f"批次 {batch}")
    if month is not None:
        parts.append(f"踏查覆盖 {month}")
    parts.append(f"统计截至 {as_of.isoformat()}")
    html_text = maps.build_map(
        villages,
        targets,
        groups=groups,
        coverage=coverage,
        unsurveyed=unsurveyed,
        tracks=tracks,
        history=history,
        photos=photos,
        basemap=basemap,
        tianditu_key=tianditu_key,
        title=title,
        subtitle=" · ".join(parts),
        as_of=as_of,
    )
    return StoreMap(
        html=html_text,
        villages=len(villages),
        targets=len(targets),
        batch=batch,
        village=name,
        village_code=code,
        month=month,
        tracks=0 if tracks is None else len(tracks),
        unsurveyed=0 if unsurveyed is None else len(unsurveyed),
        photos=sum(len(v) for v in photos.values()),
        basemap=basemap,
        warnings=warnings,
        as_of=as_of,
        categories=maps.target_categories(targets, as_of=as_of),
    )


def map_html(
    store: Store,
    *,
    batch: str | None = None,
    village: str | None = None,
    month: str | None = None,
    basemap: maps.Basemap = "none",
    tianditu_key: str | None = None,
    as_of: dt.date | None = None,
) -> str:
    """The offline HTML map of the town (or one village) from the store.

    Parameters
    ----------
    store
        An initialised store.
    batch
        Only the targets issued in this batch (default: every target).
    village
        Village name or code: only that village, its groups, targets, tracks and unsurveyed
        areas (the map of its dispatch pack).
    month
        ``YYYY-MM`` of the coverage, unsurveyed areas and patrol tracks shown; default the
        month of the latest patrol, and none of them when there is no patrol.
    basemap, tianditu_key
        See :func:`geoverify.maps.build_map`.
    as_of
        Date that decides overdue targets (:func:`geoverify.progress.overdue_mask`), printed
        on the map; default today in Asia/Shanghai.

    Raises
    ------
    NotFoundError
        Unknown batch or village.
    InputError
        Bad month, basemap or key, or no villages in the store.
    """
    return build_store_map(
        store,
        batch=batch,
        village=village,
        month=month,
        basemap=basemap,
        tianditu_key=tianditu_key,
        as_of=as_of,
    ).html


def write_store_map(
    store: Store,
    *,
    out: str | os.PathLike[str],
    batch: str | None = None,
    village: str | None = None,
    month: str | None = None,
    basemap: maps.Basemap = "none",
    tianditu_key: str | None = None,
    as_of: dt.date | None = None,
) -> StoreMap:
    """Build the map (see :func:`map_html`) and write it to ``out``; ``.out`` is set."""
    res = build_store_map(
        store,
        batch=batch,
        village=village,
        month=month,
        basemap=basemap,
        tianditu_key=tianditu_key,
        as_of=as_of,
    )
    try:
        res.out = maps.write_map(Path(out), res.html)
    except OSError as e:
        msg = f"无法写入地图文件 (cannot write the map) {out}: {e.strerror or e}"
        raise InputError(msg) from e
    return res


def write_village_map(
    store: Store,
    *,
    village_code: str,
    batch: str | None,
    path: str | os.PathLike[str],
    as_of: dt.date | None = None,
) -> Path:
    """Write one village's map of a batch (the ``<village>_地图.html`` of a dispatch pack)."""
    res = write_store_map(store, out=path, batch=batch, village=village_code, as_of=as_of)
    assert res.out is not None
    return res.out
