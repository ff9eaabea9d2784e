"""Shared CLI plumbing: options, the store from the context, errors, JSON, tables, progress."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import sys
import tempfile
import traceback
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import unquote

import click
import numpy as np

from geoverify.cli._usage import ResolvesInChinese, SaysUsageInChinese
from geoverify.errors import NEEDS_SUPERSEDE, GeoverifyError, RejectedInputError
from geoverify.problems import problem_from_error
from geoverify.store import Store

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    workspace: Path
    database_url: str | None
    actor: str | None

    def store(self, *, require: bool = True) -> Store:
        store = Store(self.workspace, url=self.database_url, on_wait=_say_waiting)
        return store.require() if require else store


def _say_waiting() -> None:
    click.echo(
        "另一个写入操作正在进行，等待其完成… (another write is in progress; waiting for it)",
        err=True,
    )


def get_ctx() -> Context:
    return cast(Context, click.get_current_context().find_object(Context))


@contextmanager
def open_store(*, require: bool = True) -> Iterator[Store]:
    """The workspace's store for one command, disposed when the command ends."""
    store = get_ctx().store(require=require)
    try:
        yield store
    finally:
        store.dispose()


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document on stdout (机器可读输出)."
)


def _default(o: Any) -> Any:
    if isinstance(o, dt.datetime | dt.date):
        return o.isoformat()
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        f = float(o)
        return None if not math.isfinite(f) else f
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, set | tuple):
        return list(o)
    return str(o)


def _clean(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    return o


def dump_json(doc: Any) -> str:
    return json.dumps(_clean(doc), ensure_ascii=False, indent=2, default=_default)


def emit_json(doc: Any) -> None:
    click.echo(dump_json(doc))


def readable_url(url: str) -> str:
    """A store URL as a person reads it: an SQLite file as its path, nothing percent-encoded."""
    if url.startswith("sqlite:///"):
        return unquote(url.removeprefix("sqlite:///"))
    return unquote(url)


def emit_usage_json(error: click.UsageError, kind: str | None = None) -> None:
    """The one JSON document of a usage error (exit code 2), on stdout; ``kind``: click's
    name of it (when ``error`` says it again, in Chinese)."""
    emit_json(
        {
            "status": "error",
            "kind": kind or type(error).__name__,
            "exit_code": 2,
            "error": error.format_message(),
        }
    )


#: click's usage messages, and what to say first in Chinese (``{0}``…: what the pattern caught;
#: ``{where}``: the option or argument, for a value it refused).
_USAGE_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Missing argument '(.+?)'"), "缺少参数 {0}"),
    (re.compile(r"Missing option '(.+?)'"), "缺少选项 {0}"),
    (re.compile(r"No such option '?([^'.]+)'?"), "没有选项 {0}"),
    (re.compile(r"No such command '(.+?)'"), "没有命令 {0}"),
    (re.compile(r"Option '(.+?)' requires an argument"), "选项 {0} 需要一个值"),
    (re.compile(r"(?:File|Path|Directory) '(.+)' does not exist"), "{where}文件不存在：{0}"),
    (re.compile(r"(?:File|Path) '(.+)' is a directory"), "{where}应为文件，却是文件夹：{0}"),
    (re.compile(r"'([^']*)' is not one of (.+)\.$"), "{where}取值“{0}”无效，应为 {1} 之一"),
    (re.compile(r"([^ ]+) is not in the range (.+)\.$"), "{where}取值 {0} 超出范围（{1}）"),
    (re.compile(r"'([^']*)' is not a valid (?:integer|float)"), "{where}“{0}”不是有效的数字"),
)


def in_chinese(error: click.UsageError) -> click.UsageError:
    """``error`` with its message said in Chinese first (click's own words kept after it), as
    every other geoverify message is; unchanged when its wording is not known."""
    said = error.format_message()
    for pattern, zh in _USAGE_ZH:
        m = pattern.search(said)
        if m:
            where = ""
            if isinstance(error, click.BadParameter) and error.param is not None and error.ctx:
                where = f"{error.param.get_error_hint(error.ctx)}："
            text = zh.format(*m.groups(), where=where)
            return click.UsageError(f"{text} ({said})", ctx=error.ctx)
    return error


def usage_error(error: click.UsageError, args: list[str]) -> click.UsageError:
    """``error`` said in Chinese first (:func:`in_chinese`), and printed as one JSON document
    too when ``--json`` is in ``args``: the error to raise."""
    said = in_chinese(error)
    if "--json" in args:
        emit_usage_json(said, type(error).__name__)
    return said


class JsonCommand(SaysUsageInChinese, click.Command):
    """A command whose usage errors are said in Chinese first, and as JSON with ``--json``."""


class JsonGroup(SaysUsageInChinese, ResolvesInChinese, click.Group):
    """A group of :class:`JsonCommand`; an unknown subcommand with ``--json`` prints JSON."""

    command_class = JsonCommand


JsonGroup.group_class = JsonGroup


def handle_errors(func: F) -> F:
    """Turn geoverify errors into a clear message on stderr and exit code 1.

    With ``--json`` the same facts are also printed as one JSON document on stdout. The
    message and the document come from :func:`geoverify.problems.problem_from_error`, the
    mapping the web service uses too.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.UsageError as e:
            if kwargs.get("as_json"):
                emit_usage_json(e)
            raise
        except GeoverifyError as e:
            problem = problem_from_error(e)
            if kwargs.get("as_json"):
                emit_json(problem.cli_json())
            click.echo(f"错误 (error): {e}", err=True)
            if isinstance(e, RejectedInputError):
                if any(r.code in NEEDS_SUPERSEDE for r in e.problems):
                    click.echo(
                        '更正已登记的结果或数值：加上 --supersede --reason "理由" '
                        "(to correct what is recorded: --supersede --reason TEXT)",
                        err=True,
                    )
                click.echo("未写入任何数据 (nothing was written).", err=True)
            sys.exit(1)

    return cast(F, wrapper)


def crash_log_path() -> Path:
    """Where the CLI writes the details of an unexpected error."""
    return Path(tempfile.gettempdir()) / "geoverify-errors.log"


def report_crash(error: BaseException) -> int:
    """Write an unexpected error's traceback to the log and print one short line; exit code 1."""
    path = crash_log_path()
    try:
        with path.open("a", encoding="utf-8") as fh:
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            fh.write(f"--- {stamp} geoverify {' '.join(sys.argv[1:])}\n")
            fh.write("".join(traceback.format_exception(error)))
        where = str(path)
    except OSError:
        where = "(日志无法写入 / the log could not be written)"
    problem = problem_from_error(error)
    click.echo(
        f"错误 (error): {problem.message_zh} ({problem.message_en}): {type(error).__name__}；"
        f"日志 (log): {where}",
        err=True,
    )
    return 1


def text_width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def pad(s: str, width: int, *, right: bool = False) -> str:
    gap = max(0, width - text_width(s))
    return " " * gap + s if right else s + " " * gap


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table that lines up Chinese and Latin text."""
    cells = [[("" if v is None else str(v)) for v in r] for r in rows]
    widths = [text_width(h) for h in headers]
    for r in cells:
        widths = [max(w, text_width(c)) for w, c in zip(widths, r, strict=True)]
    numeric = [
        all(_is_number(r[i]) for r in cells if r[i] not in ("", "-", "—"))
        and any(_is_number(r[i]) for r in cells)
        for i in range(len(headers))
    ]
    lines = [
        "  ".join(pad(h, w, right=n) for h, w, n in zip(headers, widths, numeric, strict=True))
    ]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append(
            "  ".join(pad(c, w, right=n) for c, w, n in zip(r, widths, numeric, strict=True))
        )
    return "\n".join(lines)


def _is_number(s: str) -> bool:
    try:
        float(s.rstrip("%"))
    except ValueError:
        return False
    return True


@contextmanager
def progress(label: str) -> Iterator[Callable[[str, int, int | None], None] | None]:
    """Progress on stderr while a long import runs, only when stdout is a terminal.

    The callback takes (phase, done, total): a row counter while reading, a bar while writing.
    """
    if not sys.stdout.isatty():
        yield None
        return
    phases = {"read": "读取 (reading)", "write": "写入 (writing)"}
    shown: set[str] = set()

    def step(phase: str, done: int, total: int | None) -> None:
        name = phases.get(phase, phase)
        if total:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "-" * (width - filled)
            click.echo(f"\r{label} {name} [{bar}] {done}/{total}", nl=False, err=True)
        else:
            click.echo(f"\r{label} {name}: {done} …", nl=False, err=True)
        shown.add(phase)

    try:
        yield step
    finally:
        if shown:
            click.echo("", err=True)


def check_month(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: a ``YYYY-MM`` month, else a usage error (exit 2)."""
    if value is None:
        return None
    try:
        year_s, month_s = value.strip().split("-")
        dt.date(int(year_s), int(month_s), 1)
    except ValueError as e:
        msg = f"月份「{value}」应为 YYYY-MM，例如 2024-03 (month must be YYYY-MM, got {value!r})"
        raise click.BadParameter(msg, ctx=ctx, param=param) from e
    return value.strip()


def _check_as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as e:
        msg = f"日期格式应为 YYYY-MM-DD (expected YYYY-MM-DD), got {value!r}"
        raise click.BadParameter(msg, ctx=ctx, param=param) from e


#: ``--as-of DATE``: the date that decides overdue targets; every output prints it.
as_of_option = click.option(
    "--as-of",
    "as_of",
    callback=_check_as_of,
    default=None,
    metavar="YYYY-MM-DD",
    help="Count overdue targets as of this date (统计截至); default today (Asia/Shanghai).",
)


def parse_date(value: str | None, *, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        msg = f"{option}: 日期格式应为 YYYY-MM-DD (expected YYYY-MM-DD), got {value!r}"
        raise click.BadParameter(msg) from e


#: A command's own ``--by`` (hidden): refused, because ``--by`` is the global actor option.
misplaced_by_option = click.option("--by", "misplaced_by", default=None, hidden=True)


def refuse_misplaced_by(value: str | None, *, command: str, use: str, what_zh: str) -> None:
    """A usage error for ``--by`` after a command: the global ``--by`` (who records) goes
    before the command; who did the work on site has its own option (``use``)."""
    if value is None:
        return
    msg = (
        f"--by 在 {command} 之后有歧义：{what_zh}请用 {use} {value}；"
        f"操作人（记入历史）请写在命令前：geoverify --by 姓名 {command} … "
        f"(after the command --by is ambiguous: use {use}; "
        "put the global --by before the command for who records it)"
    )
    raise click.UsageError(msg)
