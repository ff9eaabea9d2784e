"""Limits for users' files: zip archives checked before unpacking, parser failures as input errors.

A corrupt or hostile file (bit flips, truncation, a missing part, entity declarations, a zip bomb)
must end in one clear :class:`~geoverify.errors.InputError` naming the file — never in a
traceback, and never after unpacking hundreds of megabytes. Readers call :func:`check_zip` on
an archive (XLSX, KMZ, a zipped shapefile) before any parser touches it: the central directory
gives every member's declared size, so the total, the number of members and the compression
ratio are judged from a few kilobytes. :func:`read_member` then reads a member with a hard cap
(the zip module stops at the declared size, and the CRC check catches a lying directory).
:func:`parser_errors` turns whatever a third-party parser raises into an input error.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geoverify.errors import GeoverifyError, InputError, TooLargeError

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_RATIO",
    "MAX_UNPACKED_BYTES",
    "MAX_XML_BYTES",
    "ZipLimits",
    "check_size",
    "check_zip",
    "parser_errors",
    "read_member",
]

#: Largest total unpacked size of an archive we agree to open (XLSX, KMZ, zipped shapefile).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
#: Largest XML document (KML, GPX), packed or not, we agree to parse into memory.
MAX_XML_BYTES = 128 * 1024 * 1024
#: Highest compression ratio of one member (unpacked / packed) above :data:`_RATIO_FLOOR`.
MAX_MEMBER_RATIO = 200
#: Most members an archive may hold.
MAX_MEMBERS = 10_000
#: Members smaller than this unpacked are never refused for their ratio (tiny XML parts of an
#: XLSX compress 100:1 and more, harmlessly).
_RATIO_FLOOR = 1024 * 1024


class ZipLimits:
    """The limits :func:`check_zip` applies (module constants by default; tests may pass less)."""

    def __init__(
        self,
        *,
        total: int = MAX_UNPACKED_BYTES,
        ratio: float = MAX_MEMBER_RATIO,
        members: int = MAX_MEMBERS,
    ) -> None:
        self.total = total
        self.ratio = ratio
        self.members = members


def _mib(n: float) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def check_size(size: int, *, source: str, limit: int = MAX_XML_BYTES, what: str = "文档") -> None:
    """Refuse a document larger than ``limit`` bytes before it is read into memory."""
    if size > limit:
        msg = (
            f"{source}: {what}过大（{_mib(size)}，上限 {_mib(limit)}），拒绝读取 "
            f"(the document is too large: {_mib(size)}, the limit is {_mib(limit)})"
        )
        raise TooLargeError(msg)


def check_zip(
    source_data: str | os.PathLike[str] | bytes,
    *,
    source: str,
    kind: str = "zip",
    limits: ZipLimits | None = None,
) -> list[zipfile.ZipInfo]:
    """Check an archive's central directory before anything is unpacked; return its members.

    Parameters
    ----------
    source_data
        The archive's path or bytes.
    source
        The file name shown in messages.
    kind
        What the archive is for the user (``"XLSX"``, ``"KMZ"``, ``"zip"``).

    Raises
    ------
    TooLargeError
        Too many members, a total unpacked size above the limit, or a member that unpacks to
        more than :data:`MAX_MEMBER_RATIO` times its packed size (a zip bomb).
    InputError
        Not a zip archive, or a corrupt central directory.
    """
    lim = limits or ZipLimits()
    try:
        opened = (
            zipfile.ZipFile(io.BytesIO(source_data))
            if isinstance(source_data, bytes)
            else zipfile.ZipFile(Path(source_data))
        )
        with opened as zf:
            infos = zf.infolist()
    except FileNotFoundError as e:
        msg = f"{source}: 文件不存在 (file not found)"
        raise InputError(msg) from e
    except Exception as e:  # BadZipFile, struct.error, OSError, ValueError, …
        msg = (
            f"{source}: 无法作为 {kind} 读取，文件已损坏或不是 zip 压缩包 "
            f"(cannot be read as {kind}: corrupt, or not a zip archive: {type(e).__name__}: {e})"
        )
        raise InputError(msg) from e
    if len(infos) > lim.members:
        msg = (
            f"{source}: {kind} 压缩包内文件过多（{len(infos)} 个，上限 {lim.members}），拒绝解压 "
            f"(too many members in the archive: {len(infos)}, the limit is {lim.members})"
        )
        raise TooLargeError(msg)
    total = 0
    for info in infos:
        size, packed = info.file_size, info.compress_size
        total += size
        if size > _RATIO_FLOOR and size > lim.ratio * max(packed, 1):
            msg = (
                f"{source}: {kind} 中的 {info.filename} 压缩比异常（{_mib(packed)} 解压后为 "
                f"{_mib(size)}），疑似压缩炸弹，拒绝解压 (member {info.filename!r} would unpack "
                f"{_mib(packed)} to {_mib(size)}, a ratio above {lim.ratio:g}: refused as a "
                "zip bomb)"
            )
            raise TooLargeError(msg)
    if total > lim.total:
        msg = (
            f"{source}: {kind} 解压后过大（{_mib(total)}，上限 {_mib(lim.total)}），拒绝解压 "
            f"(the archive would unpack to {_mib(total)}, the limit is {_mib(lim.total)})"
        )
        raise TooLargeError(msg)
    return infos


def read_member(
    data: bytes, info: zipfile.ZipInfo, *, source: str, kind: str, limit: int = MAX_XML_BYTES
) -> bytes:
    """The bytes of one member of an archive checked by :func:`check_zip`, at most ``limit``.

    Reading stops at the declared size (the zip module never returns more), so memory is
    bounded even when the data lies; a corrupt member is an :class:`InputError`.
    """
    check_size(info.file_size, source=f"{source} ({info.filename})", limit=limit)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open(info) as fh:
            out = fh.read(limit + 1)
    except Exception as e:  # zlib.error, BadZipFile (CRC), EOFError, …
        msg = (
            f"{source}: {kind} 中的 {info.filename} 已损坏，无法解压 "
            f"(member {info.filename!r} is corrupt and cannot be unpacked): "
            f"{type(e).__name__}: {e}"
        )
        raise InputError(msg) from e
    check_size(len(out), source=f"{source} ({info.filename})", limit=limit)
    return out


@contextmanager
def parser_errors(source: str, kind: str) -> Iterator[None]:
    """Turn any exception of a third-party parser into an :class:`InputError` naming the file.

    geoverify's own errors pass through unchanged. ``kind`` names the format for the user
    (``"XLSX"``, ``"KML"``, ``"GPX"``, ``"GeoPackage"``…).
    """
    try:
        yield
    except GeoverifyError:
        raise
    except RecursionError as e:
        msg = f"{source}: {kind} 文件嵌套过深，无法读取 (the {kind} file is nested too deeply)"
        raise InputError(msg) from e
    except MemoryError as e:
        msg = f"{source}: {kind} 文件过大，内存不足 (the {kind} file is too large to read)"
        raise TooLargeError(msg) from e
    except Exception as e:
        detail = str(e).splitlines()[0][:300] if str(e) else ""
        msg = (
            f"{source}: {kind} 文件已损坏或格式无效，无法读取 "
            f"(corrupt or invalid {kind} file): {type(e).__name__}"
            + (f": {detail}" if detail else "")
        )
        raise InputError(msg) from e
