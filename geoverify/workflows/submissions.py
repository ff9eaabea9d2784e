"""One answer from the field (核查反馈), as the web form and the API send it: idempotent.

A submission carries a client-made UUID. Its answer, photos and the position it was given
from are written in one transaction together with the submission's record; sending the same
UUID with the same content again returns the first answer and writes nothing; the same UUID
with other content is a conflict. A submission made against an older version of the target
is refused (someone else answered first).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pyproj import Geod

from geoverify.errors import ConflictError, InputError
from geoverify.evidence import MAX_PHOTO_PIXELS
from geoverify.lifecycle import Change
from geoverify.store import Store, repo
from geoverify.store import changes as store_changes
from geoverify.store import users as store_users
from geoverify.store.changes import target_version
from geoverify.workflows.common import Actor, InputFile, make_who, today_local
from geoverify.workflows.evidence import MAX_DISTANCE_M, load_photos, store_photos
from geoverify.workflows.feedback import (
    FeedbackResult,
    FeedbackValues,
    feedback_changes,
    jsonable_values,
    prepare_feedback,
)

__all__ = ["Position", "Submission", "submit_feedback"]

_GEOD = Geod(ellps="WGS84")
#: At most this many photos in one submission.
MAX_PHOTOS = 10


@dataclass(frozen=True)
class Position:
    """Where the answer was given from: the browser's location (over HTTPS) or a photo's EXIF."""

    lon: float
    lat: float
    accuracy_m: float | None = None
    source: str = "browser"  # "browser" | "photo_exif"

    def check(self) -> None:
        ok = (
            math.isfinite(self.lon)
            and math.isfinite(self.lat)
            and -180 <= self.lon <= 180
            and -90 <= self.lat <= 90
            and not (self.lon == 0 and self.lat == 0)
            and (self.accuracy_m is None or (0 <= self.accuracy_m < 1e6))
        )
        if not ok:
            msg = "位置无效 (the position is not a valid longitude/latitude)"
            raise InputError(msg)


@dataclass
class Submission:
    """The answer to a submission; ``replayed`` when it is the first answer sent again."""

    key: str
    status_code: int
    document: dict[str, Any]
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {**self.document, "replayed": self.replayed}


def _check_key(key: str) -> str:
    try:
        return str(uuid.UUID(str(key).strip()))
    except ValueError as e:
        msg = f"提交编号应为 UUID (the submission id must be a UUID): {key!r}"
        raise InputError(msg) from e


def _body_hash(
    target_id: str,
    values: FeedbackValues,
    *,
    supersede: bool,
    reason: str | None,
    version: int | None,
    position: Position | None,
    photo_hashes: Sequence[str],
) -> str:
    body = {
        "target_id": target_id,
        "values": jsonable_values(asdict(values)),
        "supersede": supersede,
        "reason": reason,
        "version": version,
        "position": asdict(position) if position else None,
        "photos": sorted(photo_hashes),
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _has_answer(values: FeedbackValues) -> bool:
    return any(v is not None and v != "" for v in asdict(values).values())


def _position_from_photos(photos: list[dict[str, Any]]) -> Position | None:
    for ph in photos:
        if ph.get("lon") is not None and ph.get("lat") is not None:
            return Position(float(ph["lon"]), float(ph["lat"]), None, "photo_exif")
    return None


def submit_feedback(
    store: Store,
    target_id: str,
    *,
    key: str,
    user_id: int,
    values: FeedbackValues,
    photos: Sequence[InputFile] = (),
    position: Position | None = None,
    expected_version: int | None = None,
    supersede: bool = False,
    reason: str | None = None,
    only_village: str | None = None,
    actor: str | Actor | None = None,
    today: dt.date | None = None,
    max_photo_bytes: int | None = None,
) -> Submission:
    """Record one field answer (result and values, photos, position), at most once per ``key``.

    Raises
    ------
    InputError
        A bad value (``rows`` name each field and reason, exactly as a workbook import would),
        a bad photo or position, or nothing to record.
    ConflictError
        ``key`` was used for other content, or the target changed since ``expected_version``.
    NotFoundError
        No such target — also for a target outside ``only_village``.
    """
    key = _check_key(key)
    if len(photos) > MAX_PHOTOS:
        msg = f"一次最多上传 {MAX_PHOTOS} 张照片 (at most {MAX_PHOTOS} photos at a time)"
        raise InputError(msg)
    if position is not None:
        position.check()
    if supersede and not (reason or "").strip():
        msg = "更正已登记的结果必须填写理由 (superseding a recorded result needs a reason)"
        raise InputError(msg)
    loaded = load_photos(list(photos), max_pixels=MAX_PHOTO_PIXELS, max_bytes=max_photo_bytes)
    answering = _has_answer(values)
    if not answering and not loaded:
        msg = "没有可保存的内容：请填写核查结果或上传照片 (nothing to record)"
        raise InputError(msg)
    digest = _body_hash(
        target_id.strip(),
        values,
        supersede=supersede,
        reason=reason,
        version=expected_version,
        position=position,
        photo_hashes=[hashlib.sha256(d).hexdigest() for _, d, _ in loaded],
    )
    store.require()
    source = "command:feedback form"
    who = make_who(actor=actor, source=source)
    today = today or today_local()
    with store.begin() as conn:
        earlier = store_users.find_submission(conn, key)
        if earlier is not None:
            if earlier["body_sha256"] != digest or int(earlier["user_id"]) != user_id:
                msg = (
                    "这个提交编号已用于另一份内容，未写入任何数据 "
                    "(this submission id was used for other content; nothing was written)"
                )
                raise ConflictError(msg)
            return Submission(key, int(earlier["status_code"]), dict(earlier["response"]), True)
        pk = repo.target_pk(conn, target_id)
        target_frame = repo.load_targets(conn, pks=[pk])
        target = target_frame.iloc[0]
        if only_village is not None and target["village_code"] != only_village:
            raise repo.no_such_target(target_id)
        if expected_version is not None and int(target["version"]) != expected_version:
            msg = (
                f"靶标 {target['target_id']} 在您打开后已被修改（他人，或您在另一个页面），"
                "本次未写入任何数据，请看过最新内容后再提交 "
                "(the target was changed meanwhile; nothing was written, reload and try again)"
            )
            raise ConflictError(msg)
        stored = store_photos(
            conn, store.workspace, target, loaded, who=who, max_distance_m=MAX_DISTANCE_M
        )
        where = position or _position_from_photos(stored)
        extra: dict[str, Any] = {"submission": key}
        if where is not None:
            dist = _GEOD.inv(float(target["lon"]), float(target["lat"]), where.lon, where.lat)[2]
            extra["position"] = {**asdict(where), "distance_m": round(float(dist), 1)}
        changes: list[Change] = []
        batch = target["batch"] if isinstance(target["batch"], str) else None
        if answering:
            _, changes = prepare_feedback(
                conn,
                target_id,
                values,
                today=today,
                supersede=supersede,
                reason=reason,
                expected_version=expected_version,
                only_village=only_village,
                frame=target_frame,
            )
            store_changes.change_targets(
                conn,
                feedback_changes(changes, source_of=lambda ch: source, batch=batch, extra=extra),
                who=who,
            )
        result = FeedbackResult(
            "web",
            "imported" if changes else "unchanged",
            batch=batch,
            village=target["village"] if isinstance(target["village"], str) else None,
            rows=1,
            changes=changes,
        )
        document = {
            "submission": key,
            "target_id": str(target["target_id"]),
            "status": result.status,
            "version": target_version(conn, pk),
            "feedback": result.to_json(),
            "photos": stored,
            "position": extra.get("position"),
        }
        store_users.insert_submission(
            conn,
            {
                "key": key,
                "user_id": user_id,
                "target": pk,
                "body_sha256": digest,
                "status_code": 200,
                "response": document,
                "at": repo.now(),
            },
        )
    return Submission(key, 200, document)
