"""One mapping from an error to a problem document (RFC 9457), shared by the CLI and the service.

Every error geoverify raises on purpose becomes a :class:`Problem`: a stable ``code``, the HTTP
status the web service answers with, the message in Chinese and English, and — for a rejected
file — every rejected row. The CLI prints the same facts (its ``--json`` error shapes are built
here too), so both doors say the same thing about the same input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from geoverify.errors import (
    AuthError,
    ConflictError,
    CRSError,
    EngineError,
    ForbiddenError,
    GeoverifyError,
    InputError,
    NotFoundError,
    RejectedInputError,
    RowProblem,
    StoreError,
    TooLargeError,
    TransitionError,
)

__all__ = ["PROBLEM_MEDIA_TYPE", "Problem", "problem_from_error", "split_bilingual"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:geoverify:problem:"

#: (error class, code, HTTP status, English title), most specific first.
_KINDS: tuple[tuple[type[BaseException], str, int, str], ...] = (
    (RejectedInputError, "rejected_input", 422, "Input rejected"),
    (TooLargeError, "too_large", 413, "Too large"),
    (CRSError, "crs_error", 422, "Unusable coordinate reference system"),
    (InputError, "input_error", 422, "Input error"),
    (TransitionError, "transition_refused", 409, "Change refused"),
    (ConflictError, "conflict", 409, "Changed meanwhile"),
    (NotFoundError, "not_found", 404, "Not found"),
    (AuthError, "unauthorized", 401, "Not logged in"),
    (ForbiddenError, "forbidden", 403, "Forbidden"),
    (StoreError, "store_error", 503, "Store unavailable"),
    (EngineError, "engine_unavailable", 503, "Compute engine unavailable"),
    (GeoverifyError, "error", 400, "Error"),
)

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# A bracketed English translation: "(…)" or "（…）" holding Latin letters and no CJK, with at
# most one level of brackets inside ("(date is in the future (today 2026-12-06))").
_EN_INNER = r"(?:[^()（）]|\([^()（）]*\))"
_EN_GROUP = re.compile(rf"\s*[(（]({_EN_INNER}*[A-Za-z]{_EN_INNER}*)[)）]")
_PREFIX = re.compile(r"^([^\u3000-\u9fff]*?:\s)")


def split_bilingual(text: str) -> tuple[str, str]:
    """Split a geoverify message ``"中文 (English): detail"`` into its Chinese and English forms.

    Bracketed English (no Chinese inside) is the translation of what precedes it; a leading
    ``name: `` and a trailing detail without Chinese are kept in both. A message with no
    bracketed English is returned as is for both languages.
    """
    groups = [m for m in _EN_GROUP.finditer(text) if not _CJK.search(m.group(1))]
    if not groups:
        return text, text
    zh = text
    for m in reversed(groups):
        zh = zh[: m.start()] + zh[m.end() :]
    zh = re.sub(r"\s{2,}", " ", zh).strip()
    parts = [m.group(1).strip() for m in groups]
    en = "; ".join(parts)
    prefix = _PREFIX.match(text[: groups[0].start()])
    if prefix:
        en = prefix.group(1) + en
    tail = text[groups[-1].end() :]
    if tail.strip() and not _CJK.search(tail):
        en += tail
    return zh or text, en


@dataclass(frozen=True)
class Problem:
    """A problem document: what went wrong, for a person (zh/en) and for a program (code)."""

    code: str
    status: int
    title: str
    message_zh: str
    message_en: str
    rows: list[RowProblem] = field(default_factory=list)
    #: Extra facts (batch id, file checksum, …) a rejected import also reports.
    details: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    kind: str = "GeoverifyError"
    #: The error's own text, as the CLI prints it.
    text: str = ""

    @property
    def type(self) -> str:
        return _TYPE_PREFIX + self.code

    def to_json(self, *, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 document (``application/problem+json``) the web service answers with."""
        doc: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.message_zh,
            "code": self.code,
            "messages": {"zh": self.message_zh, "en": self.message_en},
        }
        if instance:
            doc["instance"] = instance
        if self.rows:
            doc["rows"] = [_row_json(p) for p in self.rows]
        if self.details:
            doc["details"] = {k: v for k, v in self.details.items() if k != "rejected"}
        return doc

    def cli_json(self) -> dict[str, Any]:
        """The documented ``--json`` document the CLI prints when a command fails."""
        if self.code != "rejected_input":
            return {"status": "error", "error": self.text or self.message_full, "kind": self.kind}
        doc: dict[str, Any] = {**self.details, "status": "rejected", "error": self.summary}
        doc["rejected"] = [
            {
                "row": p.row,
                "target_id": p.target_id,
                "reason": f"{p.reason} ({p.reason_en})",
                "code": p.code,
                "field": p.field,
                "value": p.value,
            }
            for p in self.rows
        ]
        doc.setdefault("imported", 0)
        return doc

    @property
    def message_full(self) -> str:
        """The message as geoverify writes it: Chinese with the English in brackets."""
        if self.message_zh == self.message_en:
            return self.message_zh
        return f"{self.message_zh} ({self.message_en})"


def _row_json(p: RowProblem) -> dict[str, Any]:
    return {
        "row": p.row,
        "target_id": p.target_id,
        "field": p.field,
        "value": p.value,
        "code": p.code,
        "reason_zh": p.reason,
        "reason_en": p.reason_en,
    }


def _kind_of(error: BaseException) -> tuple[str, int, str]:
    for cls, code, status, title in _KINDS:
        if isinstance(error, cls):
            return code, status, title
    return "internal_error", 500, "Internal error"


def problem_from_error(error: BaseException) -> Problem:
    """The problem document of an error; an error geoverify did not raise on purpose becomes a
    short ``internal_error`` that says nothing of the program's insides."""
    code, status, title = _kind_of(error)
    if code == "internal_error":
        return Problem(
            code,
            status,
            title,
            "内部错误，操作未完成；详细信息已写入日志",
            "internal error, nothing was done; the details are in the log",
            kind=type(error).__name__,
        )
    if isinstance(error, RejectedInputError):
        n = error.n_rows
        summary = error.summary or f"{error.source}: {n} 行有误"
        zh, en = split_bilingual(summary)
        if not error.summary:
            en = f"{error.source}: {n} rows rejected, nothing was written"
            zh = f"{error.source}: {n} 行有误，未写入任何数据"
        return Problem(
            code,
            status,
            title,
            zh,
            en,
            rows=list(error.problems),
            details=dict(error.details),
            summary=summary,
            kind=type(error).__name__,
            text=str(error),
        )
    text = str(error)
    zh, en = split_bilingual(text)
    if isinstance(error, GeoverifyError) and error.en:
        en = error.en  # and the Chinese without the English a message may also carry
    rows = list(error.rows) if isinstance(error, InputError) else []
    return Problem(code, status, title, zh, en, rows=rows, kind=type(error).__name__, text=text)
