"""Domain vocabulary: statuses, results, assignment kinds and plain records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shapely.geometry.base import BaseGeometry


class VillageKind(StrEnum):
    """村 or 社区."""

    VILLAGE = "村"
    COMMUNITY = "社区"


class Status(StrEnum):
    """Where a target stands in its lifecycle."""

    ISSUED = "issued"
    DISPATCHED = "dispatched"
    VERIFIED = "verified"
    ERADICATED = "eradicated"
    REPORTED = "reported"


class Result(StrEnum):
    """Outcome of a field verification (核查结果)."""

    CONFIRMED = "confirmed"
    EXCLUDED = "excluded"
    NOT_FOUND = "not_found"
    OUTSIDE = "outside"


class Role(StrEnum):
    """What a user of the web service may see and do."""

    OFFICE = "office"  # 镇平安办: every village, uploads, dispatch, reports
    VILLAGE = "village"  # 村（社区）: its own village only
    VIEWER = "viewer"  # 只读: e.g. the district


ROLE_LABELS: dict[str, str] = {"office": "镇平安办", "village": "村（社区）", "viewer": "只读"}


class Assignment(StrEnum):
    """How a target was assigned to a village."""

    INSIDE = "inside"
    NEAR_BOUNDARY = "near_boundary"
    GAP_NEAREST = "gap_nearest"
    OUTSIDE = "outside"
    SPLIT = "split"


class TargetSource(StrEnum):
    """Where a target came from."""

    DISTRICT = "district"  # 区禁毒办下发
    SELF = "self"  # 自主发现
    TIP = "tip"  # 举报线索


STATUS_LABELS: dict[str, str] = {
    "issued": "已下发",
    "dispatched": "已派发",
    "verified": "已核查",
    "eradicated": "已铲除",
    "reported": "已上报",
}
RESULT_LABELS: dict[str, str] = {
    "confirmed": "确认种植",
    "excluded": "排除",
    "not_found": "未发现",
    "outside": "非本镇辖区",
}
#: The last suggestion of 排除：实际为: what the site is, written in 备注 instead.
EXCLUDED_AS_OTHER = "其他（写在备注）"
#: How a note says what an excluded site really is (before any other remarks).
EXCLUDED_AS_LEAD = "实际为："
#: A feedback's fields, in Chinese.
FEEDBACK_FIELD_LABELS: dict[str, str] = {
    "result": "核查结果",
    "verified_on": "核查日期",
    "verified_by": "核查人员",
    "plants": "株数",
    "eradicated_area_m2": "铲除面积（平方米）",
    "eradicated_on": "铲除日期",
    "case_no": "案件编号",
    "remarks": "备注",
}
#: Where a change came from (an event's ``source``: ``channel:action[:detail]``), in Chinese.
SOURCE_CHANNEL_LABELS: dict[str, str] = {"command": "命令行", "web": "网页", "file": "文件"}
SOURCE_ACTION_LABELS: dict[str, str] = {
    "dispatch": "派发",
    "report district": "反馈区禁毒办",
    "evidence add": "上传照片",
    "feedback form": "核查反馈表单",
    "spotcheck": "抽查",
    "spotcheck record": "登记抽查",
    "targets add": "添加靶标",
    "users add": "添加用户",
    "users disable": "停用用户",
    "users reset-password": "重置密码",
    "users change-password": "修改密码",
}


def source_label(source: str | None) -> str:
    """An event's ``source`` for people: ``web:evidence add:IMG_1.jpg`` is
    "网页：上传照片（IMG_1.jpg）", ``file:b.csv:row 3`` "文件 b.csv 第 3 行"; what is not known
    is shown as it is."""
    if not source:
        return ""
    channel, _, rest = source.partition(":")
    if channel == "file":
        name, _, row = rest.rpartition(":row ")
        return f"文件 {name} 第 {row} 行" if name and row.isdigit() else f"文件 {rest}"
    if channel not in SOURCE_CHANNEL_LABELS or not rest:
        return source
    action, _, detail = rest.partition(":")
    words = action.split(" --", 1)[0]  # options are not for people
    label = SOURCE_ACTION_LABELS.get(words, action)
    return f"{SOURCE_CHANNEL_LABELS[channel]}：{label}" + (f"（{detail}）" if detail else "")


#: Event kinds of a target's history (the workflows record these), in Chinese.
EVENT_LABELS: dict[str, str] = {
    "issued": "下发",
    "reissued": "再次下发",
    "added": "登记（自主发现/举报）",
    "dispatched": "派发",
    "verified": "核查反馈",
    "eradicated": "铲除",
    "updated": "更新反馈",
    "superseded": "更正",
    "reported": "上报区禁毒办",
    "evidence_added": "添加照片",
    "spotcheck_drawn": "抽中复核",
    "spotcheck_recorded": "抽查结论",
}
ASSIGNMENT_LABELS: dict[str, str] = {
    "inside": "村内",
    "near_boundary": "临近村界",
    "gap_nearest": "村界缝隙（就近）",
    "outside": "镇外",
    "split": "跨村",
}


@dataclass(frozen=True)
class Village:
    """Village or community (村/社区) with its boundary polygon."""

    code: str
    name: str
    kind: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Group:
    """Village group (组, 村民小组); its polygon is optional."""

    village_code: str
    name: str
    geometry: BaseGeometry | None = None


@dataclass(frozen=True)
class Batch:
    """A batch of suspect targets issued by the district (下发批次)."""

    id: str
    source_name: str
    sha256: str
    issued_on: dt.date | None
    due_on: dt.date | None
    imported_at: dt.datetime
    n_rows: int
    n_imported: int
    n_rejected: int


@dataclass(frozen=True)
class Target:
    """Suspect target (疑似靶标) issued by the district, or found locally."""

    target_id: str
    batch: str | None
    geometry: BaseGeometry
    lon: float
    lat: float
    area_m2: float | None
    image_date: dt.date | None
    village_code: str | None
    village: str | None
    group: str | None
    assignment: str
    status: str
    result: str | None = None
    source: str = TargetSource.DISTRICT.value
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One entry of a target's append-only history."""

    target_id: str | None
    at: dt.datetime
    actor: str
    kind: str
    source: str
    payload: dict[str, Any] = field(default_factory=dict)
