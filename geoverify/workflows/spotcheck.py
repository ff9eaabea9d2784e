"""Supervision spot checks (抽查): re-inspect a reproducible random sample of closed targets.

``draw_spotcheck`` samples, in every village, ``ceil(rate × n)`` of the batch's closed targets
(verified, eradicated or reported — the ones with a result), with a seed: the same batch,
rate and seed always give the same sample, village by village. The draw is stored (one row
and one ``spotcheck_drawn`` event per target) and written as lists like the dispatch lists:
one workbook per village with the recorded result, navigation links and the columns the
inspector fills in (抽查日期, 抽查人员, 抽查结论 一致/不一致, 抽查情况), and a town summary.
``record_spotcheck`` records the re-inspection (a ``spotcheck_recorded`` event); the agreement
rate (一致率) is what ``geoverify status`` shows.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from geoverify.documents.dispatch import TARGET_HEADERS, dispatch_rows
from geoverify.documents.xlsx import new_workbook, write_sheet
from geoverify.errors import InputError
from geoverify.model import RESULT_LABELS, STATUS_LABELS, Status
from geoverify.progress import natural_key
from geoverify.store import Store, repo
from geoverify.store import batches as store_batches
from geoverify.store import spotchecks as store_spotchecks
from geoverify.workflows.common import Actor, make_who, today_local
from geoverify.workflows.dispatch import safe_file_name

__all__ = [
    "CLOSED_STATUSES",
    "OUTCOME_LABELS",
    "SpotcheckDraw",
    "SpotcheckRecord",
    "SpotcheckSummary",
    "draw_spotcheck",
    "record_spotcheck",
    "sample_closed_targets",
    "spotcheck_summary",
]

#: Statuses of a closed target: it has a result.
CLOSED_STATUSES = (Status.VERIFIED.value, Status.ERADICATED.value, Status.REPORTED.value)
#: Outcome codes and the labels inspectors write.
OUTCOME_LABELS: dict[str, str] = {"consistent": "一致", "inconsistent": "不一致"}
SUMMARY_NAME = "抽查汇总.xlsx"
_FILL_HEADERS = ("抽查日期", "抽查人员", "抽查结论", "抽查情况")
#: Where the target is (序号 … 纬度（度分秒）, as on the dispatch list; the village is the
#: list's own, named in the title).
_PLACE_HEADERS = tuple(h for h in TARGET_HEADERS[:8] if h != "村（社区）")
#: What the village answered, to be checked against.
_RESULT_HEADERS = ("原核查结果", "原核查日期", "原核查人员", "株数")
#: The navigation links, as on the dispatch list: clicked on a screen, not printed.
_LINK_HEADERS = TARGET_HEADERS[-4:]
#: Columns of a village's list, in order: the printed ones first (the target's place and its
#: recorded result on the first page; the fill-in block, beside 序号 and 靶标编号 repeated, on a
#: page of its own, as on the dispatch lists), the links last, right of the print area.
_LIST_HEADERS = (*_PLACE_HEADERS, *_RESULT_HEADERS, *_FILL_HEADERS, *_LINK_HEADERS)
#: Print scale (%) of a village's list: 11 pt text prints at 9.35 pt (it was fitted to one
#: page at 5.3 pt); the list runs over two pages across.
_PRINT_SCALE = 85
#: Row height (points) of a listed target: room to write by hand.
_HANDWRITING_PT = 28
_LIST_WIDTHS = {
    "序号": 4.5,
    "靶标编号": 14,
    "组": 6,
    "经度": 11,
    "纬度": 10,
    "经度（度分秒）": 15,
    "纬度（度分秒）": 15,
    "原核查结果": 10,
    "原核查日期": 11,
    "原核查人员": 12,
    "株数": 6,
    "抽查日期": 16,
    "抽查人员": 20,
    "抽查结论": 12,
    "抽查情况": 48,
    **dict.fromkeys(_LINK_HEADERS, 10),
}
#: Background of the columns the inspector fills in (as on the dispatch lists).
_FILL_COLOUR = "FFF2CC"


def parse_outcome(value: str) -> str:
    """``一致``/``consistent`` → ``consistent``; ``不一致``/``inconsistent`` → ``inconsistent``."""
    text = value.strip()
    for code, label in OUTCOME_LABELS.items():
        if text in (code, label):
            return code
    msg = f"抽查结论应为 一致 或 不一致 (outcome must be 一致 or 不一致), got {value!r}"
    raise InputError(msg)


def sample_closed_targets(
    frame: pd.DataFrame, *, rate: float, seed: int, batch: str
) -> dict[str, list[str]]:
    """The sample of each village: ``ceil(rate × closed targets)`` target ids, reproducible.

    Pure: each village draws with its own generator seeded by (seed, batch, village code), from
    its closed targets in natural id order, so one village's sample does not depend on another.
    Targets outside every village are not sampled.
    """
    if not 0 < rate <= 1:
        msg = f"抽查比例应大于 0 且不超过 1 (rate must be in (0, 1]), got {rate}"
        raise InputError(msg)
    closed = frame[frame["status"].isin(CLOSED_STATUSES) & frame["village_code"].notna()]
    out: dict[str, list[str]] = {}
    for code in sorted(closed["village_code"].astype(str).unique()):
        ids = sorted(
            closed.loc[closed["village_code"] == code, "target_id"].astype(str), key=natural_key
        )
        k = math.ceil(rate * len(ids) - 1e-9)
        rng = random.Random(f"{seed}|{batch}|{code}")
        out[code] = sorted(rng.sample(ids, k), key=natural_key)
    return out


@dataclass
class SpotcheckDraw:
    """What ``draw_spotcheck`` did."""

    batch: str
    rate: float
    seed: int
    status: str  # "drawn" | "already_drawn"
    #: One entry per village: code, village, closed (population), sampled, target ids.
    villages: list[dict[str, Any]] = field(default_factory=list)
    out: Path | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def sampled(self) -> int:
        return sum(len(v["targets"]) for v in self.villages)

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "status": self.status,
            "rate": self.rate,
            "seed": self.seed,
            "sampled": self.sampled,
            "villages": [dict(v) for v in self.villages],
            "out": str(self.out) if self.out else None,
            "files": [str(p) for p in self.files],
        }


def _closed_counts(frame: pd.DataFrame) -> dict[str, int]:
    closed = frame[frame["status"].isin(CLOSED_STATUSES) & frame["village_code"].notna()]
    return {str(k): int(v) for k, v in closed["village_code"].astype(str).value_counts().items()}


def draw_spotcheck(
    store: Store,
    *,
    batch: str,
    rate: float,
    seed: int | None = None,
    out: str | os.PathLike[str] | None = None,
    actor: str | Actor | None = None,
) -> SpotcheckDraw:
    """Draw (or show again) a batch's spot-check sample and write its lists.

    A batch is drawn once: running again with no seed, or the same seed and rate, shows the
    stored sample and writes the lists again; another seed or rate is refused. Without
    ``seed`` a random one is chosen and reported, so that the draw can be repeated.
    ``out`` defaults to ``<workspace>/spotcheck/<batch>``.

    Raises
    ------
    InputError
        A rate outside (0, 1], a batch without closed targets, or a batch drawn with another
        seed or rate.
    NotFoundError
        No such batch.
    """
    if not 0 < rate <= 1:
        msg = f"抽查比例应大于 0 且不超过 1 (rate must be in (0, 1]), got {rate}"
        raise InputError(msg)
    store.require()
    who = make_who(actor=actor, source="command:spotcheck")
    out_dir = (
        Path(out) if out is not None else store.workspace / "spotcheck" / safe_file_name(batch)
    )
    with store.begin() as conn:
        store_batches.get_batch(conn, batch)
        frame = repo.load_targets(conn, batch=batch)
        existing = store_spotchecks.drawn(conn, batch)
        closed = _closed_counts(frame)
        if existing:
            first = existing[0]
            same = (seed is None or seed == first["seed"]) and math.isclose(rate, first["rate"])
            if not same:
                msg = (
                    f"批次 {batch} 已于 {first['drawn_at']:%Y-%m-%d} 抽查（比例 {first['rate']}，"
                    f"种子 {first['seed']}），不能以其他比例或种子重抽 (batch {batch} was drawn "
                    f"with rate {first['rate']} and seed {first['seed']}; it is not drawn again)"
                )
                raise InputError(msg)
            res = SpotcheckDraw(batch, float(first["rate"]), int(first["seed"]), "already_drawn")
            rows = existing
        else:
            seed = seed if seed is not None else secrets.randbelow(1_000_000)
            sample = sample_closed_targets(frame, rate=rate, seed=seed, batch=batch)
            if not any(sample.values()):
                msg = (
                    f"批次 {batch} 还没有已核查（有结果）的靶标，无法抽查 "
                    f"(batch {batch} has no closed targets to spot-check)"
                )
                raise InputError(msg)
            res = SpotcheckDraw(batch, rate, seed, "drawn")
            rows = _store_draw(conn, frame, sample, batch=batch, rate=rate, seed=seed, who=who)
    names = {str(r["village_code"]): str(r["village"]) for r in rows}
    by_code: dict[str, list[str]] = {}
    for r in rows:
        by_code.setdefault(str(r["village_code"]), []).append(str(r["target_id"]))
    res.villages = [
        {
            "village_code": code,
            "village": names[code],
            "closed": closed.get(code, 0),
            "sampled": len(ids),
            "targets": ids,
        }
        for code, ids in sorted(by_code.items())
    ]
    res.out = out_dir
    res.files = _write_lists(out_dir, frame, rows, batch=batch, rate=res.rate, seed=res.seed)
    return res


def _store_draw(
    conn: Any,
    frame: pd.DataFrame,
    sample: dict[str, list[str]],
    *,
    batch: str,
    rate: float,
    seed: int,
    who: Any,
) -> list[dict[str, Any]]:
    recs = {str(r["target_id"]): r for r in frame.to_dict(orient="records")}
    now = repo.now()
    rows = []
    events = []
    for code, ids in sample.items():
        for tid in ids:
            rec = recs[tid]
            rows.append(
                {
                    "batch_id": batch,
                    "target": int(rec["pk"]),
                    "village_code": code,
                    "seed": seed,
                    "rate": rate,
                    "drawn_at": now,
                    "drawn_by": who.actor,
                    "status_at_draw": str(rec["status"]),
                    "result_at_draw": rec["result"] if isinstance(rec["result"], str) else None,
                }
            )
            events.append(
                {
                    "target": int(rec["pk"]),
                    "batch_id": batch,
                    "kind": "spotcheck_drawn",
                    "payload": {
                        "seed": seed,
                        "rate": rate,
                        "status": str(rec["status"]),
                        "result": rec["result"] if isinstance(rec["result"], str) else None,
                    },
                }
            )
    store_spotchecks.insert_draw(conn, rows)
    repo.record_events(conn, events, who=who)
    return store_spotchecks.drawn(conn, batch)


def _date(v: Any) -> dt.date | None:
    return v if isinstance(v, dt.date) else None


def _write_lists(
    out_dir: Path,
    frame: pd.DataFrame,
    rows: list[dict[str, Any]],
    *,
    batch: str,
    rate: float,
    seed: int,
) -> list[Path]:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        msg = f"无法创建输出文件夹 (cannot create the output folder) {out_dir}: {e.strerror}"
        raise InputError(msg) from e
    drawn = {int(r["pk"]): r for r in rows}
    sample = frame[frame["pk"].isin(list(drawn))]
    files: list[Path] = []
    headers = list(_LIST_HEADERS)
    summary: list[list[Any]] = []
    for code in sorted({str(r["village_code"]) for r in rows}):
        sub = sample[sample["village_code"] == code]
        name = str(sub["village"].iloc[0])
        by_id = {str(r["target_id"]): r for r in sub.to_dict(orient="records")}
        lines = []
        for d in dispatch_rows(sub):
            rec = by_id[d["靶标编号"]]
            spot = drawn[int(rec["pk"])]
            result = RESULT_LABELS.get(str(spot["result_at_draw"]), None)
            plants = rec["plants"] if not pd.isna(rec["plants"]) else None
            values = {
                **d,
                "原核查结果": result,
                "原核查日期": _date(rec["verified_on"]),
                "原核查人员": rec["verified_by"] if isinstance(rec["verified_by"], str) else None,
                "株数": int(plants) if plants is not None else None,
            }
            outcome = OUTCOME_LABELS.get(str(spot["outcome"])) if spot["outcome"] else None
            filled = [_date(spot["checked_on"]), spot["checked_by"], outcome, spot["remarks"]]
            values.update(zip(_FILL_HEADERS, filled, strict=True))
            lines.append([values[h] for h in _LIST_HEADERS])
            state = STATUS_LABELS.get(str(spot["status_at_draw"]))
            summary.append([name, d["靶标编号"], state, result, *filled])
        wb = new_workbook()
        ws = wb.create_sheet("抽查清单")
        header_row = write_sheet(
            ws,
            headers,
            lines,
            title=f"{name} 疑似靶标核查抽查清单（批次 {batch}，比例 {rate:g}，随机种子 {seed}）",
            subtitle="黄色各列由抽查人员现场填写，抽查结论填“一致”或“不一致”；"
            "导航链接在表格右侧，在手机或电脑上点击（不打印）",
            widths=_LIST_WIDTHS,
            dropdowns={"抽查结论": list(OUTCOME_LABELS.values())},
            fills=dict.fromkeys(_FILL_HEADERS, _FILL_COLOUR),
            wrap=("原核查人员", "抽查情况"),
            centre=("序号", "组", "原核查结果", "株数", "抽查结论"),
            number_formats={"经度": "0.000000", "纬度": "0.000000"},
            landscape=True,
            freeze_columns=2,
            print_scale=_PRINT_SCALE,
            page_breaks_before=(_FILL_HEADERS[0],),
        )
        # Printed: the columns up to the fill-in block; the links are for the screen.
        last_printed = get_column_letter(headers.index(_FILL_HEADERS[-1]) + 1)
        ws.print_area = f"A{header_row}:{last_printed}{header_row + max(len(lines), 1)}"
        for r in range(header_row + 1, header_row + 1 + len(lines)):
            ws.row_dimensions[r].height = max(ws.row_dimensions[r].height or 0, _HANDWRITING_PT)
        path = out_dir / f"{safe_file_name(name)}_抽查.xlsx"
        wb.save(path)
        files.append(path)
    wb = new_workbook()
    ws = wb.create_sheet("抽查汇总")
    write_sheet(
        ws,
        ["村（社区）", "靶标编号", "抽查时状态", "原核查结果", *_FILL_HEADERS],
        summary,
        title=f"疑似靶标核查抽查汇总（批次 {batch}，抽查比例 {rate:g}，随机种子 {seed}）",
    )
    path = out_dir / SUMMARY_NAME
    wb.save(path)
    files.append(path)
    return files


@dataclass
class SpotcheckRecord:
    """What ``record_spotcheck`` did."""

    target_id: str
    batch: str
    outcome: str
    status: str  # "recorded" | "unchanged"
    previous: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "target_id": self.target_id,
            "batch": self.batch,
            "status": self.status,
            "outcome": self.outcome,
            "outcome_label": OUTCOME_LABELS[self.outcome],
            "previous": self.previous,
        }


def record_spotcheck(
    store: Store,
    target_id: str,
    *,
    outcome: str,
    checked_on: dt.date | None = None,
    checked_by: str | None = None,
    remarks: str | None = None,
    batch: str | None = None,
    supersede: bool = False,
    reason: str | None = None,
    actor: str | Actor | None = None,
) -> SpotcheckRecord:
    """Record the re-inspection of a drawn target: 一致 (consistent) or 不一致 (inconsistent).

    The same outcome again changes nothing; another outcome than the one recorded needs
    ``supersede`` and a ``reason`` (the old one stays in the history).

    Raises
    ------
    InputError
        Not an outcome, the target was not drawn (in ``batch``), it was drawn in several
        batches and none is named, a date in the future or before the draw, or a change
        without ``supersede``/``reason``.
    """
    code = parse_outcome(outcome)
    if supersede and not (reason or "").strip():
        msg = "使用 --supersede 时必须用 --reason 说明理由 (--supersede needs --reason)"
        raise InputError(msg)
    store.require()
    today = today_local()
    checked_on = checked_on or today
    if checked_on > today:
        msg = f"抽查日期 {checked_on} 晚于今天 (the spot-check date is in the future)"
        raise InputError(msg)
    who = make_who(actor=actor, source="command:spotcheck record")
    with store.begin() as conn:
        pk = repo.target_pk(conn, target_id)
        spots = store_spotchecks.of_target(conn, pk, batch)
        if not spots:
            where = f"批次 {batch} " if batch else ""
            msg = (
                f"靶标 {target_id} 未被{where}抽中，不能登记抽查结论 "
                f"(target {target_id} was not drawn for a spot check)"
            )
            raise InputError(msg)
        if len(spots) > 1:
            batches = ", ".join(str(s["batch_id"]) for s in spots)
            msg = (
                f"靶标 {target_id} 在多个批次中被抽中（{batches}），请用 --batch 指定 "
                f"(target {target_id} was drawn in several batches; pass --batch)"
            )
            raise InputError(msg)
        spot = spots[0]
        drawn_on = spot["drawn_at"].astimezone(dt.UTC).date()
        if checked_on < drawn_on - dt.timedelta(days=1):
            msg = (
                f"抽查日期 {checked_on} 早于抽取日期 {drawn_on} "
                f"(the spot-check date is before the draw)"
            )
            raise InputError(msg)
        res = SpotcheckRecord(target_id, str(spot["batch_id"]), code, "recorded", spot["outcome"])
        previous = spot["outcome"]
        if previous == code:
            res.status = "unchanged"
            return res
        if previous is not None and not supersede:
            msg = (
                f"靶标 {target_id} 已登记抽查结论“{OUTCOME_LABELS[previous]}”，"
                "更改需要 --supersede 并说明理由 (a different outcome is already recorded; "
                "use --supersede with --reason)"
            )
            raise InputError(msg)
        values = {
            "outcome": code,
            "checked_on": checked_on,
            "checked_by": checked_by,
            "remarks": remarks,
            "recorded_at": repo.now(),
        }
        store_spotchecks.record_outcome(conn, int(spot["id"]), expected=previous, values=values)
        payload: dict[str, Any] = {
            "from": {"outcome": previous},
            "to": {
                "outcome": code,
                "label": OUTCOME_LABELS[code],
                "checked_on": checked_on.isoformat(),
                "checked_by": checked_by,
                "remarks": remarks,
            },
            "result_at_draw": spot["result_at_draw"],
        }
        if previous is not None:
            payload["reason"] = reason
        repo.record_events(
            conn,
            [
                {
                    "target": pk,
                    "batch_id": spot["batch_id"],
                    "kind": "spotcheck_recorded",
                    "payload": payload,
                }
            ],
            who=who,
        )
    return res


@dataclass
class SpotcheckSummary:
    """Spot checks of a batch (or all): drawn, re-inspected, 一致 / 不一致, agreement rate."""

    drawn: int = 0
    checked: int = 0
    consistent: int = 0
    inconsistent: int = 0
    villages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def agreement_rate(self) -> float | None:
        """Share of re-inspected targets whose re-inspection agreed (一致率); None before any."""
        return round(self.consistent / self.checked, 4) if self.checked else None

    def to_json(self) -> dict[str, Any]:
        return {
            "drawn": self.drawn,
            "checked": self.checked,
            "consistent": self.consistent,
            "inconsistent": self.inconsistent,
            "agreement_rate": self.agreement_rate,
            "villages": [
                {
                    **v,
                    "agreement_rate": round(v["consistent"] / v["checked"], 4)
                    if v["checked"]
                    else None,
                }
                for v in self.villages
            ],
        }


def spotcheck_summary(
    conn: Any, *, batch: str | None = None, village_code: str | None = None
) -> SpotcheckSummary:
    """The spot-check counts on ``conn``, per village and in total."""
    rows = store_spotchecks.counts_by_village(conn, batch_id=batch, village_code=village_code)
    out = SpotcheckSummary(villages=[dict(r) for r in rows])
    for r in rows:
        out.drawn += int(r["drawn"])
        out.checked += int(r["checked"])
        out.consistent += int(r["consistent"])
        out.inconsistent += int(r["inconsistent"])
    return out
