"""Supervision spot checks (issue 11, item 7): a reproducible sample per village, its lists, the
re-inspection outcome as an event, and the agreement rate in ``geoverify status``."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from geoverify.errors import InputError
from geoverify.store import tables as t
from geoverify.store.tables_spotchecks import spotchecks
from geoverify.workflows.feedback import set_feedback
from geoverify.workflows.spotcheck import sample_closed_targets
from tests.cli.feedback_helpers import BATCH, full_snapshot, with_batch
from tests.conftest import Cli, header_texts
from tests.office import libreoffice_convert

# --- the sample (pure) ------------------------------------------------------------------------


def _frame(villages: dict[str, int], *, open_per_village: int = 2) -> pd.DataFrame:
    rows = []
    for code, n in villages.items():
        for i in range(1, n + 1):
            rows.append({"target_id": f"{code}-T{i}", "village_code": code, "status": "verified"})
        for i in range(1, open_per_village + 1):
            rows.append({"target_id": f"{code}-O{i}", "village_code": code, "status": "dispatched"})
    rows.append({"target_id": "X-1", "village_code": None, "status": "verified"})  # outside
    return pd.DataFrame(rows)


def test_sample_per_village_is_reproducible_and_of_closed_targets_only() -> None:
    frame = _frame({"A": 10, "B": 3, "C": 21})
    one = sample_closed_targets(frame, rate=0.1, seed=7, batch="B1")
    assert one == sample_closed_targets(
        frame.sample(frac=1, random_state=3), rate=0.1, seed=7, batch="B1"
    )
    assert {k: len(v) for k, v in one.items()} == {"A": 1, "B": 1, "C": 3}  # ceil(rate × n)
    assert all("-T" in tid for ids in one.values() for tid in ids)
    # A village's sample does not depend on the other villages.
    alone = sample_closed_targets(frame[frame["village_code"] == "C"], rate=0.1, seed=7, batch="B1")
    assert alone["C"] == one["C"]
    # Another seed (or batch) gives another sample of the same sizes.
    seeds = {
        tuple(sample_closed_targets(frame, rate=0.1, seed=s, batch="B1")["C"]) for s in range(20)
    }
    assert len(seeds) > 1
    full = sample_closed_targets(frame, rate=1.0, seed=1, batch="B1")
    assert {k: len(v) for k, v in full.items()} == {"A": 10, "B": 3, "C": 21}
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(InputError, match="rate"):
            sample_closed_targets(frame, rate=bad, seed=1, batch="B1")


# --- the command line on both stores ------------------------------------------------------------


def _close_targets(run: Cli, n: int) -> list[str]:
    """Record a result for the first ``n`` targets of the sample batch (by id)."""
    c = t.targets.c
    store = run.store()
    with store.connect() as conn:
        ids = list(conn.execute(select(c.target_id).order_by(c.target_id)).scalars())[:n]
    for i, tid in enumerate(ids):
        set_feedback(
            store,
            tid,
            result="排除" if i % 3 else "确认种植",
            plants=None if i % 3 else 12,
            remarks="油菜" if i % 3 else None,
            verified_on=dt.date(2024, 3, 8),
            verified_by="张三",
            actor="pytest",
            today=dt.date(2024, 3, 20),
        )
    return ids


def _closed_by_village(run: Cli) -> dict[str, int]:
    c = t.targets.c
    with run.store().connect() as conn:
        rows = conn.execute(
            select(c.village_code, c.status).where(c.village_code.is_not(None))
        ).all()
    out: dict[str, int] = {}
    for code, status in rows:
        if status in ("verified", "eradicated", "reported"):
            out[code] = out.get(code, 0) + 1
    return out


def test_draw_lists_record_and_status(run: Cli, tmp_path: Path) -> None:
    with_batch(run)
    closed_ids = _close_targets(run, 30)
    out = tmp_path / "抽查"
    res = run(
        "spotcheck", "--batch", BATCH, "--rate", "0.2", "--seed", "7", "--out", str(out), "--json"
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "drawn" and doc["seed"] == 7
    closed = _closed_by_village(run)
    assert {v["village_code"]: v["sampled"] for v in doc["villages"]} == {
        code: math.ceil(0.2 * n) for code, n in closed.items()
    }
    sampled = [tid for v in doc["villages"] for tid in v["targets"]]
    assert set(sampled) <= set(closed_ids) and doc["sampled"] == len(sampled)

    # The lists: one workbook per village with a 一致/不一致 drop-down, and a summary.
    files = [Path(f) for f in doc["files"]]
    assert {f.name for f in files} == {f"{v['village']}_抽查.xlsx" for v in doc["villages"]} | {
        "抽查汇总.xlsx"
    }
    first = doc["villages"][0]
    ws = openpyxl.load_workbook(out / f"{first['village']}_抽查.xlsx")["抽查清单"]
    header = header_texts(ws[3])  # under the title and the note
    fill = header.index("抽查日期")
    assert header[:2] == ["序号", "靶标编号"] and header[fill : fill + 4] == [
        "抽查日期",
        "抽查人员",
        "抽查结论",
        "抽查情况",
    ]
    assert header[-4:] == ["高德地图", "百度地图", "腾讯地图", "手机地图"]
    listed = [ws.cell(r, 2).value for r in range(4, ws.max_row + 1) if ws.cell(r, 2).value]
    assert listed == first["targets"]
    assert ws.cell(4, header.index("原核查结果") + 1).value in ("确认种植", "排除")
    assert any('"一致,不一致"' in dv.formula1 for dv in ws.data_validations.dataValidation)

    # The same draw again shows the stored sample; another seed is refused, nothing written.
    res = run("spotcheck", "--batch", BATCH, "--rate", "0.2", "--json")
    again = json.loads(res.stdout)
    assert again["status"] == "already_drawn" and again["villages"] == doc["villages"]
    before = full_snapshot(run.store())
    res = run("spotcheck", "--batch", BATCH, "--rate", "0.2", "--seed", "8")
    assert res.exit_code == 1 and "seed 7" in res.output
    assert full_snapshot(run.store()) == before
    with run.store().connect() as conn:
        assert conn.execute(select(spotchecks.c.id)).all().__len__() == len(sampled)

    # Re-inspection outcomes: two agree, one does not (a date before the draw is refused).
    a, b, c = sampled[:3]
    res = run("spotcheck", "record", a, "--result", "一致", "--date", "2024-03-15")
    assert res.exit_code == 1 and "before the draw" in res.output
    for tid, outcome in ((a, "一致"), (b, "一致"), (c, "不一致")):
        res = run("spotcheck", "record", tid, "--result", outcome, "--checked-by", "王五")
        assert res.exit_code == 0, res.output
    res = run("spotcheck", "record", a, "--result", "一致", "--json")
    assert json.loads(res.stdout)["status"] == "unchanged"
    # A different outcome needs --supersede and a reason.
    before = full_snapshot(run.store())
    res = run("spotcheck", "record", c, "--result", "一致")
    assert res.exit_code == 1 and "--supersede" in res.output
    not_drawn = next(tid for tid in closed_ids if tid not in sampled)
    res = run("spotcheck", "record", not_drawn, "--result", "一致")
    assert res.exit_code == 1 and "not drawn" in res.output
    assert full_snapshot(run.store()) == before

    res = run("status", "--batch", BATCH, "--json")
    status = json.loads(res.stdout)
    assert {"batch", "today", "villages", "town"} <= set(status)
    spot = status["spotcheck"]
    assert (spot["drawn"], spot["checked"], spot["consistent"], spot["inconsistent"]) == (
        len(sampled),
        3,
        2,
        1,
    )
    assert spot["agreement_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert sum(v["drawn"] for v in spot["villages"]) == len(sampled)
    assert "一致率 (agreement) 66.7%" in run("status", "--batch", BATCH).output

    res = run("spotcheck", "record", c, "--result", "一致", "--supersede", "--reason", "复核后更正")
    assert res.exit_code == 0, res.output
    history = json.loads(run("history", c, "--json").stdout)["events"]
    kinds = [e["kind"] for e in history]
    assert kinds.count("spotcheck_drawn") == 1 and kinds.count("spotcheck_recorded") == 2
    last = history[-1]["payload"]
    assert last["from"] == {"outcome": "inconsistent"} and last["to"]["label"] == "一致"
    assert last["reason"] == "复核后更正"
    assert json.loads(run("status", "--json").stdout)["spotcheck"]["agreement_rate"] == 1.0


def _drawn_list(run: Cli, out: Path) -> Path:
    with_batch(run)
    _close_targets(run, 30)
    res = run(
        "spotcheck", "--batch", BATCH, "--rate", "0.2", "--seed", "7", "--out", str(out), "--json"
    )
    assert res.exit_code == 0, res.output
    first = json.loads(res.stdout)["villages"][0]
    return out / f"{first['village']}_抽查.xlsx"


def test_village_list_prints_readably(run: Cli, tmp_path: Path) -> None:
    """The list printed all twenty columns on one page at 5.3 pt, the fill-in cells a few mm
    wide: now at a fixed 85 % over two pages across (the fill-in block on its own, beside
    序号 and 靶标编号), wide fill-in columns and tall rows, the links not printed."""
    ws = openpyxl.load_workbook(_drawn_list(run, tmp_path / "抽查"))["抽查清单"]
    header = header_texts(ws[3])
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert not ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.scale >= 82  # 11 pt prints at 9 pt or more
    assert ws.print_title_rows == "$3:$3" and ws.print_title_cols == "$A:$B"
    assert [b.id for b in ws.col_breaks.brk] == [header.index("抽查日期")]
    # printed: from 序号 to 抽查情况; the navigation links, right of it, are not
    last = header.index("抽查情况") + 1
    assert ws.print_area == f"'抽查清单'!$A$3:${get_column_letter(last)}${ws.max_row}"
    assert header.index("高德地图") + 1 > last
    assert "村（社区）" not in header  # the list's village, in its title
    for name, least in (("抽查日期", 14), ("抽查人员", 16), ("抽查结论", 10), ("抽查情况", 40)):
        col = get_column_letter(header.index(name) + 1)
        assert ws.column_dimensions[col].width >= least, name
        assert ws[f"{col}4"].fill.fgColor.rgb.endswith("FFF2CC")
    assert all(ws.row_dimensions[r].height >= 28 for r in range(4, ws.max_row + 1))


@pytest.mark.libreoffice
def test_village_list_prints_at_9_pt(run: Cli, tmp_path: Path) -> None:
    from tests.test_documents_print_fixes import printed_sizes

    src = tmp_path / "list.xlsx"
    shutil.copy(_drawn_list(run, tmp_path / "抽查"), src)
    pages = printed_sizes(libreoffice_convert(src, tmp_path)[0])
    assert len(pages) == 2
    for text, size in pages:
        assert size >= 9.0, size  # 5.3 pt before
        assert "靶标编号" in text and "高德导航" not in text and "腾讯导航" not in text
    assert "抽查日期" in pages[1][0] and "经度" not in pages[1][0]


def test_no_closed_targets_and_usage(run: Cli) -> None:
    with_batch(run)
    before = full_snapshot(run.store())
    res = run("spotcheck", "--batch", BATCH, "--rate", "0.1")
    assert res.exit_code == 1 and "no closed targets" in res.output
    assert full_snapshot(run.store()) == before
    assert run("spotcheck", "--batch", BATCH).exit_code == 2
    assert run("spotcheck", "--batch", BATCH, "--rate", "0").exit_code == 2
    assert run("spotcheck", "--batch", "NOPE", "--rate", "0.1").exit_code == 1
    status = json.loads(run("status", "--json").stdout)
    assert status["spotcheck"]["drawn"] == 0 and status["spotcheck"]["agreement_rate"] is None
