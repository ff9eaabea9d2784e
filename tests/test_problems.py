"""Problem documents: one message, told in Chinese and in English."""

from __future__ import annotations

import pytest

from geoverify.errors import InputError
from geoverify.problems import problem_from_error, split_bilingual


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        ("没有靶标 T1 (no such target)", "没有靶标 T1", "no such target"),
        # A translation with brackets of its own.
        (
            "靶标 T: 核查日期 2099-01-01 晚于今天 2026-12-06 "
            "(target T: verified_on 2099-01-01 is in the future (today 2026-12-06))",
            "靶标 T: 核查日期 2099-01-01 晚于今天 2026-12-06",
            "target T: verified_on 2099-01-01 is in the future (today 2026-12-06)",
        ),
        # Chinese in brackets is part of the Chinese message.
        (
            "文件没有坐标系，请指定（网页填写“坐标系”，命令行用 --crs）"
            " (no CRS in file; pass --crs)",
            "文件没有坐标系，请指定（网页填写“坐标系”，命令行用 --crs）",
            "no CRS in file; pass --crs",
        ),
        # A leading file name and a trailing detail belong to both.
        (
            "a.csv: 第 3 行有误 (row 3 is wrong): x=1",
            "a.csv: 第 3 行有误: x=1",
            "a.csv: row 3 is wrong: x=1",
        ),
        ("只有中文", "只有中文", "只有中文"),
    ],
)
def test_split_bilingual(text: str, zh: str, en: str) -> None:
    assert split_bilingual(text) == (zh, en)


def test_a_problem_document_keeps_english_out_of_the_chinese() -> None:
    p = problem_from_error(InputError("日期晚于今天 (date is in the future (today 2026-12-06))"))
    assert p.message_zh == "日期晚于今天"
    assert p.message_en == "date is in the future (today 2026-12-06)"


def test_the_chinese_of_an_error_with_its_own_english_carries_no_english() -> None:
    from geoverify.errors import ForbiddenError

    err = ForbiddenError("表单已过期，请刷新页面后重试 (missing token)", en="missing token; reload")
    p = problem_from_error(err)
    assert p.message_zh == "表单已过期，请刷新页面后重试"
    assert p.message_en == "missing token; reload"


def test_a_refusal_counts_rows_not_problems() -> None:
    """A row with two problems is one row refused, in the message and the problem document."""
    from geoverify.errors import RejectedInputError, RowProblem

    problems = [
        RowProblem(5, "T5", "核查结果无法识别", "bad result", field="核查结果", code="bad_result"),
        RowProblem(7, "T7", "缺少核查日期", "no date", field="核查日期", code="missing_date"),
        RowProblem(7, "T7", "缺少核查人员", "no person", field="核查人员", code="missing_person"),
    ]
    error = RejectedInputError("fb.xlsx", problems)
    assert str(error).startswith("fb.xlsx: 2 行有误，未写入任何数据")
    doc = problem_from_error(error)
    assert doc.message_zh == "fb.xlsx: 2 行有误，未写入任何数据"
    assert doc.message_en == "fb.xlsx: 2 rows rejected, nothing was written"
    assert len(doc.rows) == 3  # every problem is still listed
