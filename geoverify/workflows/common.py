"""What every workflow shares: who acts, file checksums, the workspace, sample data paths."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from geoverify.errors import InputError
from geoverify.store.repo import Who

WORKSPACE_ENV = "GEOVERIFY_WORKSPACE"
USER_ENV = "GEOVERIFY_USER"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def make_who(*, actor: str | None = None, source: str) -> Who:
    """Who is acting: ``actor`` or ``$GEOVERIFY_USER`` or the OS user, on this host."""
    name = actor or os.environ.get(USER_ENV)
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
    return Who(actor=name, host=socket.gethostname(), source=source)


def default_workspace() -> Path:
    return Path(os.environ.get(WORKSPACE_ENV) or "workspace")


def today_local() -> dt.date:
    """Today's date in China (Asia/Shanghai)."""
    return dt.datetime.now(LOCAL_TZ).date()


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn the OS errors of reading a user's file into clear input errors."""
    try:
        yield
    except FileNotFoundError as e:
        msg = f"文件不存在 (file not found): {path}"
        raise InputError(msg) from e
    except IsADirectoryError as e:
        msg = f"需要文件而不是文件夹 (a file is needed, not a folder): {path}"
        raise InputError(msg) from e
    except OSError as e:
        msg = f"无法读取文件 (cannot read file) {path}: {e.strerror}"
        raise InputError(msg) from e


def read_input_bytes(path: Path) -> bytes:
    """The bytes of a file the user gave, or a clear :class:`InputError`."""
    with _reading(path):
        return path.read_bytes()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file the user gave, read in chunks."""
    h = hashlib.sha256()
    with _reading(path), path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sample_path(*parts: str) -> Path:
    """Path of a bundled sample file (``boundaries/…`` or ``samples/…``)."""
    p = files("geoverify").joinpath("sample_data", *parts)
    return Path(str(p))


def sample_boundaries() -> Path:
    """The bundled illustrative village boundaries of the sample town."""
    return sample_path("boundaries", "fuguo_sample.gpkg")
