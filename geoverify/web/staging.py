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

__all__ = ["Staged", "discard", "load", "save"]

STAGING_DIR = "staging"
#: A preview can be committed within this time.
STAGING_TTL = dt.timedelta(hours=24)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True)
class Staged:
    token: str
    file: InputFile
    params: dict[str, Any]


def _dir(workspace: Path) -> Path:
    return workspace / STAGING_DIR


def _paths(workspace: Path, token: str) -> tuple[Path, Path]:
    if not _TOKEN.match(token):
        msg = "预览已失效，请重新上传 (this preview is unknown or expired; upload again)"
        raise InputError(msg)
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


def load(workspace: Path, token: str, *, user_id: int) -> Staged:
    """A kept upload; only the user who uploaded it can commit it."""
    data_path, meta_path = _paths(workspace, token)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = data_path.read_bytes()
    except (OSError, ValueError) as e:
        msg = "预览已失效，请重新上传 (this preview is unknown or expired; upload again)"
        raise InputError(msg) from e
    if int(meta.get("user_id", -1)) != user_id:
        msg = "预览已失效，请重新上传 (this preview is unknown or expired; upload again)"
        raise InputError(msg)
    return Staged(token, InputFile(str(meta["name"]), data), dict(meta.get("params") or {}))


def discard(workspace: Path, token: str) -> None:
    for p in _paths(workspace, token):
        p.unlink(missing_ok=True)
