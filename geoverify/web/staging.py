"""Uploads kept between a preview and its commit: stored under names the service chooses."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoverify.errors import InputError
from geoverify.workflows.common import InputFile

__all__ = ["Staged", "committed", "load", "mark_committed", "save"]

STAGING_DIR = "staging"
#: A preview can be committed within this time.
STAGING_TTL = dt.timedelta(hours=24)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_EXPIRED = "预览已失效，请重新上传 (this preview is unknown or expired; upload again)"


@dataclass(frozen=True)
class Staged:
    token: str
    file: InputFile
    params: dict[str, Any]


def _dir(workspace: Path) -> Path:
    return workspace / STAGING_DIR


def _paths(workspace: Path, token: str) -> tuple[Path, Path]:
    if not _TOKEN.match(token):
        raise InputError(_EXPIRED)
    d = _dir(workspace)
    return d / f"{token}.bin", d / f"{token}.json"


def _sweep(workspace: Path) -> None:
    d = _dir(workspace)
    if not d.exists():
        return
    cutoff = dt.datetime.now(dt.UTC).timestamp() - STAGING_TTL.total_seconds()
    for p in d.iterdir():
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            continue


def save(workspace: Path, upload: InputFile, *, user_id: int, params: dict[str, Any]) -> str:
    """Keep an upload for a later commit; the token that names it."""
    _sweep(workspace)
    token = secrets.token_urlsafe(32)
    data_path, meta_path = _paths(workspace, token)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    data_path.write_bytes(upload.data)
    meta = {"name": upload.name, "user_id": user_id, "params": params}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    return token


def _meta(workspace: Path, token: str, *, user_id: int) -> dict[str, Any] | None:
    """The kept upload's record, if there is one and it is ``user_id``'s."""
    _, meta_path = _paths(workspace, token)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or int(meta.get("user_id", -1)) != user_id:
        return None
    return meta


def load(workspace: Path, token: str, *, user_id: int) -> Staged:
    """A kept upload; only the user who uploaded it can commit it."""
    data_path, _ = _paths(workspace, token)
    meta = _meta(workspace, token, user_id=user_id)
    if meta is None:
        raise InputError(_EXPIRED)
    try:
        data = data_path.read_bytes()
    except OSError as e:
        raise InputError(_EXPIRED) from e
    return Staged(token, InputFile(str(meta["name"]), data), dict(meta.get("params") or {}))


def committed(workspace: Path, token: str, *, user_id: int) -> str | None:
    """The batch ``user_id``'s upload was imported as, once committed (:func:`mark_committed`);
    None when it was not (or is unknown): a second 确认导入 of one preview finds its batch."""
    meta = _meta(workspace, token, user_id=user_id)
    batch = meta.get("committed") if meta is not None else None
    return str(batch) if batch is not None else None


def mark_committed(workspace: Path, token: str, batch: str) -> None:
    """After the import: the upload is dropped, its record kept (for :data:`STAGING_TTL`)
    with the batch it became."""
    data_path, meta_path = _paths(workspace, token)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    data_path.unlink(missing_ok=True)
    if not isinstance(meta, dict):
        return
    meta["committed"] = batch
    fresh = meta_path.with_suffix(".tmp")
    fresh.write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    fresh.replace(meta_path)  # whole: a second confirm meanwhile reads the old or the new
