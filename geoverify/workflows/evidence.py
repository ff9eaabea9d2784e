"""Photo evidence (证据照片) of targets: stored once by SHA-256, EXIF read, copies stripped."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyproj import Geod
from sqlalchemy import Connection

from geoverify.errors import InputError, NotFoundError
from geoverify.evidence import (
    FLAG_LABELS,
    MAX_PHOTO_PIXELS,
    photo_flags,
    photo_pixels,
    read_exif,
    sniff_image,
    strip_exif,
)
from geoverify.store import Store, repo
from geoverify.store import evidence as store_evidence
from geoverify.store.repo import Who
from geoverify.workflows.common import Actor, InputFile, Source, make_who, read_input_bytes
from geoverify.workflows.dispatch import safe_file_name

__all__ = [
    "EVIDENCE_DIR",
    "EvidenceResult",
    "PhotoFile",
    "add_evidence",
    "export_evidence",
    "list_evidence",
    "load_photos",
    "photo_file",
    "store_photos",
]

EVIDENCE_DIR = "evidence"
MAX_DISTANCE_M = 200.0
_EXT = {"image/jpeg": "jpg", "image/png": "png"}
_GEOD = Geod(ellps="WGS84")


@dataclass
class EvidenceResult:
    """What ``add_evidence`` did: one entry per file given."""

    target_id: str
    photos: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "photos": self.photos}


def flag_text(code: str, *, max_distance_m: float = MAX_DISTANCE_M) -> str:
    return FLAG_LABELS.get(code, code).format(max_distance_m=max_distance_m)


def load_photos(
    files: Sequence[Source], *, max_pixels: int, max_bytes: int | None
) -> list[tuple[str, bytes, str]]:
    """Each file's name, bytes and media type; every bad file named in one error."""
    loaded: list[tuple[str, bytes, str]] = []
    bad: list[tuple[str, str]] = []  # (Chinese, English) per bad file
    for f in files:
        if isinstance(f, InputFile):
            name, data = f.display_name, f.data
        else:
            p = Path(f)
            name, data = p.name, read_input_bytes(p)
        if max_bytes is not None and len(data) > max_bytes:
            bad.append(
                (
                    f"{name} 文件过大（{len(data) / 1e6:.1f} MB，上限 {max_bytes / 1e6:.0f} MB）",
                    f"{name}: file too large ({len(data)} bytes, limit {max_bytes})",
                )
            )
            continue
        pixels = photo_pixels(data)
        if pixels is not None and pixels > max_pixels:
            bad.append(
                (
                    f"{name} 图片像素过多（{pixels / 1e6:.0f} 百万像素，上限 "
                    f"{max_pixels / 1e6:.0f}）",
                    f"{name}: image too large ({pixels} pixels, limit {max_pixels})",
                )
            )
            continue
        mime = sniff_image(data)
        if mime is None:
            bad.append(
                (
                    f"{name} 不是 JPEG 或 PNG 图片（按内容判断），或图片已损坏",
                    f"{name}: not a JPEG or PNG image by its content, or a broken image",
                )
            )
            continue
        loaded.append((name, data, mime))
    if bad:
        # Said as the forms say it: nothing of the answer (or the upload) was kept.
        zh = "；".join(z for z, _ in bad)
        en = "; ".join(e for _, e in bad)
        raise InputError(f"照片有误，未写入任何数据：{zh}", en=f"nothing stored: {en}")
    return loaded


def add_evidence(
    store: Store,
    target_id: str,
    files: Sequence[Source],
    *,
    actor: str | Actor | None = None,
    max_distance_m: float = MAX_DISTANCE_M,
    max_pixels: int = MAX_PHOTO_PIXELS,
    max_bytes: int | None = None,
    only_village: str | None = None,
) -> EvidenceResult:
    """Attach photos to a target, all or nothing.

    Each file (a path or an uploaded :class:`~geoverify.workflows.common.InputFile`) must be a
    JPEG or PNG by content (not by name) of at most ``max_pixels`` pixels. It is stored once
    under ``<workspace>/evidence/<sha[:2]>/<sha>.<ext>``; its EXIF time and GPS position are
    read and it is flagged when taken more than ``max_distance_m`` from the target or before
    the batch was issued. A photo already attached to the target is skipped. Any bad file:
    nothing stored. ``only_village`` (a village code) answers "no such target" for a target of
    another village.
    """
    if not files:
        msg = "没有给出照片文件 (no photo files given)"
        raise InputError(msg)
    store.require()
    loaded = load_photos(files, max_pixels=max_pixels, max_bytes=max_bytes)
    who = make_who(actor=actor, source="command:evidence add")
    res = EvidenceResult(target_id)
    with store.begin() as conn:
        pk = repo.target_pk(conn, target_id)
        target = repo.load_targets(conn, pks=[pk]).iloc[0]
        if only_village is not None and target["village_code"] != only_village:
            raise repo.no_such_target(target_id)
        res.photos = store_photos(
            conn, store.workspace, target, loaded, who=who, max_distance_m=max_distance_m
        )
    return res


def store_photos(
    conn: Connection,
    workspace: Path,
    target: Any,
    loaded: Sequence[tuple[str, bytes, str]],
    *,
    who: Who,
    max_distance_m: float = MAX_DISTANCE_M,
) -> list[dict[str, Any]]:
    """Store checked photos of one target (a frame record) on the caller's transaction.

    The files go to ``<workspace>/evidence/<sha[:2]>/<sha>.<ext>`` (by content, never by the
    user's name); each stored photo gets a row and an ``evidence_added`` event.
    """
    pk = int(target["pk"])
    issued_on = target["issued_on"] if isinstance(target["issued_on"], dt.date) else None
    lon, lat = float(target["lon"]), float(target["lat"])
    batch = target["batch"] if isinstance(target["batch"], str) else None
    photos: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name, data, mime in loaded:
        sha = hashlib.sha256(data).hexdigest()
        exists = store_evidence.find_photo(conn, target=pk, sha256=sha)
        if exists is not None or sha in seen:
            photos.append({"file": name, "sha256": sha, "status": "already_stored"})
            continue
        seen.add(sha)
        meta = read_exif(data)
        flags = photo_flags(meta, lon, lat, issued_on, max_distance_m=max_distance_m)
        distance = None
        if meta.lon is not None and meta.lat is not None:
            distance = float(_GEOD.inv(lon, lat, meta.lon, meta.lat)[2])
        rel = Path(EVIDENCE_DIR) / sha[:2] / f"{sha}.{_EXT[mime]}"
        dest = workspace / rel
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_suffix(dest.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(dest)
        store_evidence.insert_photo(
            conn,
            {
                "target": pk,
                "sha256": sha,
                "stored_path": rel.as_posix(),
                "original_name": name,
                "media_type": mime,
                "size_bytes": len(data),
                "taken_at": meta.taken_at,
                "lon": meta.lon,
                "lat": meta.lat,
                "distance_m": distance,
                "flags": flags,
                "added_at": repo.now(),
                "added_by": who.actor,
                "host": who.host,
            },
        )
        info = {
            "file": name,
            "sha256": sha,
            "status": "stored",
            "stored_path": rel.as_posix(),
            "media_type": mime,
            "taken_at": meta.taken_at.isoformat() if meta.taken_at else None,
            "lon": meta.lon,
            "lat": meta.lat,
            "distance_m": None if distance is None else round(distance, 1),
            "flags": flags,
        }
        photos.append(info)
        events.append(
            {
                "target": pk,
                "batch_id": batch,
                "kind": "evidence_added",
                "source": f"command:evidence add:{name}",
                "payload": {k: v for k, v in info.items() if k != "status"},
            }
        )
    repo.record_events(conn, events, who=who)
    return photos


def list_evidence(store: Store, target_id: str) -> list[dict[str, Any]]:
    """The photos of a target, oldest first."""
    store.require()
    with store.connect() as conn:
        pk = repo.target_pk(conn, target_id)
        return store_evidence.list_photos(conn, target=pk)


def export_evidence(store: Store, target_id: str, *, out: str | os.PathLike[str]) -> list[Path]:
    """Copies of a target's photos with EXIF (time, GPS, camera) removed, to hand out."""
    photos = list_evidence(store, target_id)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i, ph in enumerate(photos, start=1):
        src = store.workspace / ph["stored_path"]
        data = read_input_bytes(src)
        if hashlib.sha256(data).hexdigest() != ph["sha256"]:
            msg = f"证据文件已被改动 (stored evidence file changed): {src}"
            raise InputError(msg)
        ext = ph["stored_path"].rsplit(".", 1)[-1]
        dest = out_dir / f"{safe_file_name(target_id)}_{i:02d}.{ext}"
        dest.write_bytes(strip_exif(data))
        written.append(dest)
    return written


@dataclass(frozen=True)
class PhotoFile:
    """A photo ready to show: its bytes (EXIF removed, or a thumbnail) and its media type."""

    name: str
    media_type: str
    data: bytes


def photo_file(
    store: Store,
    target_id: str,
    photo_id: int,
    *,
    only_village: str | None = None,
    thumbnail: bool = False,
) -> PhotoFile:
    """One photo of a target, checked against its stored SHA-256, without EXIF (time, GPS,
    camera), or a small JPEG thumbnail. A photo of another target, or of a target outside
    ``only_village``, is "not found"."""
    from geoverify.workflows.maps import thumbnail_jpeg

    store.require()
    with store.connect() as conn:
        pk = repo.target_pk(conn, target_id)
        if only_village is not None:
            target = repo.load_targets(conn, pks=[pk]).iloc[0]
            if target["village_code"] != only_village:
                raise repo.no_such_target(target_id)
        row = store_evidence.get_photo(conn, target=pk, photo_id=photo_id)
    if row is None:
        msg = f"没有这张照片 (no such photo): {photo_id}"
        raise NotFoundError(msg)
    src = store.workspace / row["stored_path"]
    data = read_input_bytes(src)
    if hashlib.sha256(data).hexdigest() != row["sha256"]:
        msg = f"证据文件已被改动 (stored evidence file changed): {row['original_name']}"
        raise InputError(msg)
    if thumbnail:
        return PhotoFile(str(row["original_name"]), "image/jpeg", thumbnail_jpeg(data))
    return PhotoFile(str(row["original_name"]), str(row["media_type"]), strip_exif(data))
