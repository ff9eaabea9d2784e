"""Labels people read: where a change came from."""

from __future__ import annotations

import pytest

from geoverify.model import source_label


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("command:dispatch", "命令行：派发"),
        ("web:dispatch", "网页：派发"),
        ("web:evidence add:IMG_1.jpg", "网页：上传照片（IMG_1.jpg）"),
        ("web:feedback form", "网页：核查反馈表单"),
        ("command:targets add --source tip", "命令行：添加靶标"),
        (
            "file:district_batch_2024-03.geojson:row 12",
            "文件 district_batch_2024-03.geojson 第 12 行",
        ),
        ("file:a:b.csv", "文件 a:b.csv"),
        ("command:something new", "命令行：something new"),
        ("elsewhere", "elsewhere"),
        (None, ""),
    ],
)
def test_source_label(source: str | None, label: str) -> None:
    assert source_label(source) == label
