"""Reading forms and uploads with limits; turning form text into typed values with clear errors."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query, Request
from starlette.datastructures import FormData, UploadFile

from geoverify.errors import InputError, RowProblem, TooLargeError
from geoverify.web.settings import Settings
from geoverify.workflows.common import InputFile
from geoverify.workflows.patrols import month_range

__all__ = [
    "MONTH_PATTERN",
    "Form",
    "PageMonthQ",
    "checked_month",
    "labelled",
    "max_files",
    "read_form",
    "size_text",
]

log = logging.getLogger("geoverify.web")

#: Largest text field of a form.
MAX_FIELD_BYTES = 64 * 1024
#: Longest password read from a form or a body (the password rule sets the shortest).
MAX_PASSWORD = 512
#: A month as the pages and the API take it.
MONTH_PATTERN = r"^\d{4}-\d{2}$"
_MONTH = re.compile(MONTH_PATTERN)
#: A page's month: checked by :func:`checked_month`, so that a month that cannot be read is
#: said in the page's words (beside the month field, or in the map's frame by a bare
#: message); the API's months are checked by their pattern.
PageMonthQ = Annotated[str | None, Query(description="踏查月份 YYYY-MM")]


def checked_month(value: str | None) -> str | None:
    """The month asked for (``YYYY-MM``), None when none is; an input error naming the field
    when it is not a month (said beside the month field, or in the map's frame)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        if not _MONTH.match(value):
            raise ValueError(value)
        month_range(value)
    except ValueError as e:  # month_range's InputError is a ValueError too
        shown = value if len(value) <= 20 else value[:20] + "…"
        msg = f"月份：应为 YYYY-MM，例如 2024-03（“{shown}”不是有效的月份）"
        raise InputError(msg, en=f"month must be YYYY-MM, got {shown!r}") from e
    return value


@dataclass
class Form:
    """A parsed form: text fields, uploaded files, and the problems found while reading it."""

    data: FormData
    problems: list[RowProblem] = field(default_factory=list)

    def text(self, name: str, *, max_len: int = 2000) -> str | None:
        """A trimmed text field, or None when absent or blank."""
        value = self.data.get(name)
        if not isinstance(value, str):
            return None
        value = value.strip()
        if len(value) > max_len:
            self.bad(name, value[:50], f"内容过长（最多 {max_len} 个字符）", "too long")
            return None
        if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in value):
            self.bad(name, value[:50], "包含控制字符", "contains control characters")
            return None
        return value or None

    def date(self, name: str) -> dt.date | None:
        text = self.text(name, max_len=40)
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.bad(name, text, "日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD")
            return None

    def integer(self, name: str, *, minimum: int = 0, maximum: int = 10**9) -> int | None:
        text = self.text(name, max_len=40)
        if text is None:
            return None
        try:
            value = int(text.replace(",", ""))
        except ValueError:
            self.bad(name, text, "应为整数", "must be a whole number")
            return None
        if not minimum <= value <= maximum:
            self.bad(
                name, text, f"应在 {minimum} 到 {maximum} 之间", f"must be {minimum}–{maximum}"
            )
            return None
        return value

    def number(self, name: str, *, minimum: float = 0.0, maximum: float = 1e9) -> float | None:
        text = self.text(name, max_len=40)
        if text is None:
            return None
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            self.bad(name, text, "应为数字", "must be a number")
            return None
        if not math.isfinite(value) or not minimum <= value <= maximum:
            low, high = _plain(minimum), _plain(maximum)
            self.bad(name, text, f"应在 {low} 到 {high} 之间", f"must be {low}–{high}")
            return None
        return value

    def flag(self, name: str) -> bool:
        return (self.text(name, max_len=10) or "").lower() in ("1", "on", "true", "yes")

    async def files(
        self, name: str, *, max_count: int, max_bytes: int | None = None
    ) -> list[InputFile]:
        """The files of a field, read into memory.

        A file input left empty (no file name) is ignored; a chosen file that holds nothing
        is a problem of the field (raised with :meth:`raise_problems`), never taken for no
        file at all.
        """
        uploads = [f for f in self.data.getlist(name) if isinstance(f, UploadFile)]
        uploads = [f for f in uploads if f.filename]
        if len(uploads) > max_count:
            msg = f"一次最多上传 {max_count} 个文件 (at most {max_count} files at a time)"
            raise InputError(msg)
        out = []
        for up in uploads:
            data = await up.read()
            await up.close()
            filename = up.filename or "upload"
            if max_bytes is not None and len(data) > max_bytes:
                limit = size_text(max_bytes)
                msg = f"{filename}: 文件过大，上限 {limit} (file larger than {limit})"
                raise TooLargeError(msg)
            if not data:
                # Said after the field's label: 文件：五月.csv 是空的 (not 文件：文件 五月.csv).
                self.bad(
                    name,
                    filename,
                    f"{filename} 是空的（0 字节），请检查后重新选择",
                    f"file {filename} is empty (0 bytes)",
                )
                continue
            out.append(InputFile(filename, data))
        return out

    async def file(self, name: str, *, max_bytes: int | None = None) -> InputFile:
        """The one file a field must hold (an empty file is said to be empty)."""
        said = len(self.problems)
        found = await self.files(name, max_count=1, max_bytes=max_bytes)
        if not found:
            if len(self.problems) == said:  # nothing chosen (not an empty file)
                what = FIELD_LABELS.get(name, "文件")
                self.bad(name, None, f"请选择要上传的{what}", "choose a file to upload")
            self.raise_problems()
        return found[0]

    def password(self, name: str) -> str:
        """A password field as typed (not trimmed: the rule refuses padding); a problem when
        it is empty or longer than :data:`MAX_PASSWORD`."""
        value = self.data.get(name)
        text = value if isinstance(value, str) else ""
        if not text:
            self.bad(name, None, "请填写", "required")
        elif len(text) > MAX_PASSWORD:
            self.bad(
                name, None, f"最多 {MAX_PASSWORD} 个字符", f"at most {MAX_PASSWORD} characters"
            )
        return text

    def new_password(self, first: str, second: str) -> str:
        """A new password typed twice (fields ``first`` and ``second``); the two must match."""
        password = self.password(first)
        again = self.password(second)
        if password and again and password != again:
            # Of the two fields together: said alone, not after the second field's label
            # (再次输入的新密码：两次输入的密码不一致 said the same thing twice).
            what = FIELD_LABELS.get(first, "密码")
            zh = f"两次输入的{what}不一致，请重新输入"
            self.bad(second, None, zh, "the two passwords differ", named=True)
        return password

    def bad(self, name: str, value: str | None, zh: str, en: str, *, named: bool = False) -> None:
        """Note a problem with field ``name``: the field by its Chinese label (as the rules
        name fields, and as the error table shows it), the reason in Chinese and English.

        The reason is said after the label (``批次编号：请填写``-style, :func:`labelled`) unless
        it names the field already, or ``named`` says it speaks of the field in its own words.
        """
        label = FIELD_LABELS.get(name, name)
        self.problems.append(
            RowProblem(
                row=len(self.problems) + 1,
                target_id=None,
                reason=zh if named else labelled(label, zh, value),
                reason_en=f"{name}: {en}",
                field=label,
                value=value,
                code="invalid_field",
            )
        )

    def refused_labels(self) -> set[str]:
        """The Chinese labels of the fields refused so far (as the rules name fields)."""
        return {FIELD_LABELS.get(str(p.field), str(p.field)) for p in self.problems}

    def raise_problems(self) -> None:
        """Raise one input error naming every bad field, if there is any."""
        if self.problems:
            reasons = "；".join(p.reason for p in self.problems)
            raise InputError(
                f"表单有误，未写入任何数据：{reasons}",
                en="invalid form fields; nothing was written",
                rows=self.problems,
            )


def labelled(label: str, zh: str, value: str | None = None) -> str:
    """A field's reason said once: ``label：reason``, or the reason alone when it names the
    field already (请填写用户名, never 用户名：请填写用户名). A value the reason quotes (the
    name of a file) does not count as naming the field."""
    said = zh.replace(value, "") if value else zh
    return zh if label and label in said else f"{label}：{zh}"


def size_text(n: int) -> str:
    """A size limit as people say it (``100 MB``, ``512 KB``), never above the limit itself:
    an upload smaller than the size named is never refused."""
    if n >= 1024 * 1024:
        tenths = n * 10 // (1024 * 1024)
        return f"{tenths // 10} MB" if tenths % 10 == 0 else f"{tenths / 10:.1f} MB"
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} 字节"


def _plain(x: float) -> str:
    """A bound as a person writes it: 10000000, 0.5 (never 1e+07)."""
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.6f}".rstrip("0").rstrip(".")


#: Chinese names of the form fields, for messages.
FIELD_LABELS: dict[str, str] = {
    "batch": "批次编号",
    "date_0": "第 1 行踏查时间",
    "issued": "下发日期",
    "due": "核查时限",
    "file": "文件",
    "tracks": "轨迹文件",
    "photos": "现场照片",
    "result": "核查结果",
    "verified_on": "核查日期",
    "verified_by": "核查人员",
    "plants": "株数",
    "area_m2": "铲除面积（平方米）",
    "area_mu": "铲除面积（亩）",
    "eradicated_on": "铲除日期",
    "case_no": "案件编号",
    "remarks": "备注",
    "lon": "经度",
    "lat": "纬度",
    "accuracy": "定位精度",
    "version": "版本",
    "submission": "提交编号",
    "reason": "更正理由",
    "date": "踏查日期",
    "people": "踏查人员",
    "village": "村（社区）",
    "month": "月份",
    "crs": "坐标系",
    "name": "用户名",
    "password": "密码",
    "password2": "再次输入的密码",
    "role": "角色",
    "current_password": "当前密码",
    "new_password": "新密码",
    "new_password2": "再次输入的新密码",
    # Named by the checks behind the forms and by the lists' filters.
    "track": "轨迹",
    "geometry": "图形（坐标）",
    "status": "状态",
    "batch_id": "批次编号",
    "target_id": "靶标编号",
}


def max_files(settings: Settings) -> int:
    """Most files one form may hold (the parser's limit): an answer's photos and a few more."""
    return settings.max_photos + 4


async def read_form(request: Request, settings: Settings) -> Form:
    """The request's form, parsed with limits on the number of files, fields and field size."""
    content_type = request.headers.get("content-type", "")
    if not (
        content_type.startswith("multipart/form-data")
        or content_type.startswith("application/x-www-form-urlencoded")
    ):
        msg = "请求应为表单 (the request must be a form: multipart/form-data)"
        raise InputError(msg, en="the request must be multipart/form-data")
    try:
        data = await request.form(
            max_files=max_files(settings),
            max_fields=settings.max_form_fields,
            max_part_size=MAX_FIELD_BYTES,
        )
    except (TooLargeError, InputError):
        raise
    except Exception as e:  # the multipart parser's own errors: a malformed or oversized form
        raise _unreadable(e, settings) from e
    return Form(data)


def _unreadable(error: Exception, settings: Settings) -> InputError:
    """The parser's refusal of a form (starlette says it in English, as an HTTP 400 or a
    ``MultiPartException``) said in Chinese, with the limit it met."""
    said = str(getattr(error, "detail", None) or getattr(error, "message", None) or error)
    log.info("form refused by the parser: %s", said)
    if said.startswith("Too many files"):
        n, photos = max_files(settings), settings.max_photos
        zh = f"一次最多上传 {n} 个文件（照片最多 {photos} 张），请分几次上传"
        en = f"at most {n} files in one form ({photos} photos); upload them in parts"
    elif said.startswith("Too many fields"):
        n = settings.max_form_fields
        zh = f"表单的项目过多（最多 {n} 项），请分几次提交"
        en = f"at most {n} fields in one form"
    elif said.startswith(("Part exceeded", "Field exceeded")):
        kb = MAX_FIELD_BYTES // 1024
        zh = f"有一项填写的内容过长（每项最多 {kb} KB），请删减后重新提交"
        en = f"a form field is longer than {kb} KB"
    else:
        zh = "表单无法读取，请刷新页面后重新填写提交"
        en = "the form cannot be read (malformed form data)"
    return InputError(zh, en=en)


def as_dict(form: Form) -> dict[str, Any]:
    """The text fields of a form (for re-showing a form with what the user typed)."""
    return {k: v for k, v in form.data.items() if isinstance(v, str)}


def multipart_body(
    properties: dict[str, dict[str, Any]], *, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``openapi_extra`` describing a multipart form body that a route parses itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": list(required),
                    }
                }
            },
        }
    }


FILE = {"type": "string", "format": "binary"}
FILES = {"type": "array", "items": {"type": "string", "format": "binary"}}
TEXT = {"type": "string", "maxLength": 2000}
DATE = {"type": "string", "format": "date"}
