"""Errors raised by geoverify; every one derives from :class:`GeoverifyError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class RowProblem:
    """One rejected row or feature of an input file.

    ``row`` is the row number as the user sees it in the file (a spreadsheet's row number,
    counting the header; a feature's 1-based position in a GIS layer). ``code`` is a stable
    machine-readable reason (``missing_coordinates``, ``duplicate_id``, …).
    """

    row: int
    target_id: str | None
    reason: str
    reason_en: str
    field: str | None = None
    value: str | None = None
    code: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "target_id": self.target_id,
            "reason": f"{self.reason} / {self.reason_en}",
            "reason_zh": self.reason,
            "reason_en": self.reason_en,
            "field": self.field,
            "value": self.value,
            "code": self.code,
        }

    def __str__(self) -> str:
        who = f" 编号 {self.target_id}" if self.target_id else ""
        return f"第 {self.row} 行{who}: {self.reason} ({self.reason_en})"


def where_to_give(field: str, option: str) -> str:
    """Where a user gives what a message asks for, through either door: the web form's field
    and the command line's option (messages are shared by both)."""
    return f"（网页填写“{field}”，命令行用 {option}）"


#: What a change of a recorded answer is, whatever the door (each door then says how).
SUPERSEDE_NEEDS_REASON = "改动已登记的内容属于更正"
#: How a recorded answer is corrected on the web answer form (its check box and field).
HOW_TO_SUPERSEDE = "如需更正，请勾选“需要更正”并写明更正理由"
#: ... on the command line (``feedback set``, ``feedback import``).
HOW_TO_SUPERSEDE_CLI = "如需更正，请加上 --supersede --reason “更正理由”"
#: ... through the API (a program sends the fields).
HOW_TO_SUPERSEDE_API = "如需更正，请同时提交 supersede=true 和更正理由 reason"
#: ... when a filled workbook is uploaded on the web: a workbook only brings new answers.
HOW_TO_SUPERSEDE_WORKBOOK = (
    "反馈表只能登记新的结果，不能更正已登记的：如是误填，请把这一行改回已登记的内容后重新上传；"
    "确需更正，请在网页上打开该靶标，点“补充或更正核查结果”，勾选“需要更正”并写明理由"
    "（已上报区禁毒办的，请联系镇平安办）"
)
#: Problem codes a correction (``--supersede --reason`` on the command line) would settle.
NEEDS_SUPERSEDE = frozenset({"conflicting_result", "conflicting_values", "missing_reason"})
#: Problem codes whose reason ends with the door's own way to correct (:func:`how_to_correct`).
_SAYS_HOW = frozenset({"conflicting_result", "conflicting_values"})


def how_to_correct(problems: Sequence[RowProblem], how: str) -> list[RowProblem]:
    """The problems with each refusal of a change to a recorded answer saying ``how`` to
    correct it, in the words of the door it came through (the web form's check box, a
    workbook, the command line's options); the rules themselves say only what differs."""
    return [replace(p, reason=f"{p.reason}；{how}") if p.code in _SAYS_HOW else p for p in problems]


class GeoverifyError(Exception):
    """Root of every error geoverify raises on purpose.

    The message is Chinese first with the English in brackets (``"没有批次 X (no such batch)"``);
    ``en`` may give the English message explicitly. :mod:`geoverify.problems` turns any of these
    into one problem document for the CLI and the web service.
    """

    def __init__(self, *args: object, en: str | None = None) -> None:
        super().__init__(*args)
        self.en = en


class InputError(GeoverifyError, ValueError):
    """A file or value given by the user cannot be used (CLI exit code 1).

    ``rows`` may list each refused row or field with its reason (a form's fields, say).
    """

    def __init__(
        self, *args: object, en: str | None = None, rows: Sequence[RowProblem] = ()
    ) -> None:
        super().__init__(*args, en=en)
        self.rows = list(rows)


class CRSError(InputError):
    """The coordinate reference system of an input is missing or unusable."""


@dataclass
class RejectedInputError(InputError):
    """Some rows of an input file were rejected; nothing was written."""

    source: str
    problems: list[RowProblem] = field(default_factory=list)
    summary: str = ""
    #: Extra facts for machine-readable output (batch id, checksum, …).
    details: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def n_rows(self) -> int:
        """How many rows were refused: one a row, however many problems it has."""
        return len({p.row for p in self.problems})

    def __str__(self) -> str:
        head = self.summary or f"{self.source}: {self.n_rows} 行有误，未写入任何数据 (rejected)"
        lines = [head]
        lines += [f"  {self.source} {p}" for p in self.problems[:200]]
        if len(self.problems) > 200:
            lines.append(f"  … 另有 {len(self.problems) - 200} 处问题 (and more)")
        return "\n".join(lines)


class StoreError(GeoverifyError):
    """The store cannot do what was asked (missing workspace, schema, connection)."""


class NotFoundError(StoreError, LookupError):
    """A target, batch or village named by the user does not exist."""


class TransitionError(GeoverifyError, ValueError):
    """A target cannot move from its current status to the one asked for."""


class ConflictError(StoreError):
    """Someone else changed the object first (stale version, re-sent submission with another
    body, a lost race); nothing was written."""


class EngineError(GeoverifyError):
    """The compute engine asked for cannot be used: dask is not installed, or its scheduler
    cannot be reached or was lost (CLI exit code 1; nothing is written)."""


class AuthError(GeoverifyError):
    """Not logged in, a wrong password, a disabled account or too many attempts."""


class ForbiddenError(GeoverifyError, PermissionError):
    """The user is logged in but their role may not do this."""


class TooLargeError(InputError):
    """An upload or request is larger than the service accepts."""
