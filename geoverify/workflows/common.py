"""What every workflow shares: who acts, file checksums, the workspace, sample data paths."""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

# The town's clock, where the workflows and both doors have always found it.
from geoverify.clock import LOCAL_TZ as LOCAL_TZ
from geoverify.clock import today_local as today_local
from geoverify.errors import GeoverifyError, InputError, RejectedInputError
from geoverify.store.repo import Who

WORKSPACE_ENV = "GEOVERIFY_WORKSPACE"
USER_ENV = "GEOVERIFY_USER"


@dataclass(frozen=True)
class Actor:
    """Who acts through a front door other than the command line: the logged-in user's name
    and the client's address (the web service passes one of these as ``actor``)."""

    name: str
    host: str
    channel: str = "web"


def make_who(*, actor: str | Actor | None = None, source: str) -> Who:
    """Who is acting: an :class:`Actor` (the web service's user and client address), or the
    name ``actor`` or ``$GEOVERIFY_USER`` or the OS user, on this host."""
    if isinstance(actor, Actor):
        return Who(actor=actor.name, host=actor.host, source=source, channel=actor.channel)
    name = actor or os.environ.get(USER_ENV)
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
    return Who(actor=name, host=socket.gethostname(), source=source)


def default_workspace() -> Path:
    return Path(os.environ.get(WORKSPACE_ENV) or "workspace")


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


@dataclass(frozen=True)
class InputFile:
    """A file the user handed over as bytes (an upload), with the name it had on their machine.

    The name is only shown in messages and recorded in the history; it never chooses a path.
    """

    name: str
    data: bytes

    @property
    def display_name(self) -> str:
        base = re.split(r"[\\/]", self.name)[-1]
        cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
        return cleaned[:200] or "upload"

    @property
    def suffix(self) -> str:
        """The last suffix of the name, lower case, when it is a plain one (``.xlsx``)."""
        m = _SUFFIX.search(self.display_name.lower())
        return m.group(0) if m else ""


_ZIP = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"
#: What the first bytes of an upload must be, by its suffix (content sniffing).
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".xlsx": (_ZIP,),
    ".zip": (_ZIP, _EMPTY_ZIP),
    ".kmz": (_ZIP,),
    ".gpkg": (b"SQLite format 3\x00",),
    ".shp": (b"\x00\x00\x27\x0a",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}
#: Suffixes of text formats: an upload of these must not look binary.
_TEXT = {".csv", ".geojson", ".json", ".kml", ".gpx", ".txt"}


def check_content(upload: InputFile) -> None:
    """Refuse an upload whose content is not what its name says (a program named ``.csv``).

    Binary formats are recognised by their first bytes, text formats by the absence of NUL
    bytes and of the signatures of common binary files.
    """
    head = upload.data[:8192]
    suffix = upload.suffix
    wanted = _MAGIC.get(suffix)
    ok = True
    if wanted is not None:
        ok = any(head.startswith(m) for m in wanted)
    elif suffix in _TEXT:
        binary = (_ZIP, b"MZ", b"\x7fELF", b"%PDF", b"\xd0\xcf\x11\xe0", b"SQLite format 3")
        utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16 text has NUL bytes
        ok = utf16 or (b"\x00" not in head and not head.startswith(binary))
    if not ok:
        msg = (
            f"{upload.display_name}: 文件内容与扩展名 {suffix} 不符（可能不是这种文件） "
            f"(the content is not a {suffix} file)"
        )
        raise InputError(msg)


#: A file given by path or as an upload.
Source = str | os.PathLike[str] | InputFile
_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class StagedInput:
    """A user's file ready for a reader: a path on disk, the name to show, its SHA-256."""

    path: Path
    name: str
    sha256: str


@contextmanager
def staged_input(
    source: Source, *, suffixes: frozenset[str] | None = None
) -> Iterator[StagedInput]:
    """A path for a reader, whether the file came as a path or as an upload.

    An upload is written to a fresh private temporary folder as ``upload<suffix>``: the
    user's file name never chooses a path. ``suffixes`` limits the accepted suffixes of an
    upload; the temporary copy is removed when the block ends.
    """
    if not isinstance(source, InputFile):
        p = Path(source)
        yield StagedInput(p, p.name, file_sha256(p))
        return
    suffix = source.suffix
    check_content(source)
    if suffixes is not None and suffix not in suffixes:
        allowed = "、".join(sorted(suffixes))
        msg = (
            f"{source.display_name}: 不支持的文件类型，可用 {allowed} "
            f"(unsupported file type; use one of {', '.join(sorted(suffixes))})"
        )
        raise InputError(msg)
    with tempfile.TemporaryDirectory(prefix="geoverify-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(source.data)
        sha = hashlib.sha256(source.data).hexdigest()
        try:
            yield StagedInput(path, source.display_name, sha)
        except GeoverifyError as e:
            _name_upload_in_error(e, path, source.display_name)
            raise


def _name_upload_in_error(error: GeoverifyError, path: Path, name: str) -> None:
    """Readers name the file they read; for an upload, name it as the user knows it."""

    def fix(text: str) -> str:
        return text.replace(str(path), name).replace(path.name, name)

    if isinstance(error, RejectedInputError):
        error.source = fix(error.source)
        error.summary = fix(error.summary)
        if "source" in error.details:
            error.details = {**error.details, "source": name}
    error.args = tuple(fix(a) if isinstance(a, str) else a for a in error.args)


def sample_path(*parts: str) -> Path:
    """Path of a bundled sample file (``boundaries/…`` or ``samples/…``)."""
    p = files("geoverify").joinpath("sample_data", *parts)
    return Path(str(p))


def sample_boundaries() -> Path:
    """The bundled illustrative village boundaries of the sample town."""
    return sample_path("boundaries", "fuguo_sample.gpkg")
