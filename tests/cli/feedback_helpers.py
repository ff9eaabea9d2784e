"""Helpers of the feedback tests: a workspace with the March sample batch, filling workbooks."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import select

from geoverify.store import Store
from geoverify.store import tables as t
from geoverify.workflows import sample_path
from tests.conftest import Cli, header_texts, snapshot

BATCH = "2024-03"
ISSUED = dt.date(2024, 3, 5)


def with_batch(run: Cli) -> None:
    """Initialise the workspace and import the March sample batch."""
    assert run("init").exit_code == 0
    res = run(
        "batch",
        "import",
        str(sample_path("samples", "district_batch_2024-03.geojson")),
        "--batch",
        BATCH,
        "--issued",
        ISSUED.isoformat(),
        "--due",
        "2024-03-20",
    )
    assert res.exit_code == 0, res.output


def full_snapshot(store: Store) -> dict[str, Any]:
    """:func:`snapshot` plus a checksum of every target's state (catches UPDATEs on PostGIS)."""
    snap = snapshot(store)
    c = t.targets.c
    cols = [c.target_id, c.status, c.result, c.verified_on, c.verified_by, c.plants]
    cols += [c.eradicated_area_m2, c.eradicated_on, c.case_no, c.remarks, c.updated_at]
    with store.connect() as conn:
        rows = conn.execute(select(*cols).order_by(c.target_id)).all()
    snap["targets"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return snap


def fill(src: Path, dst: Path, answers: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Fill a dispatch workbook as a village would; returns the Excel row of each target id.

    ``answers`` maps a target id to {header: value}. Text is written as text (a cell starting
    with ``=`` stays a string, as when typed with a leading apostrophe). An answer of 排除 says
    what the site really is (排除：实际为 油菜) unless it gives 排除：实际为 or 备注 itself (None
    for none).
    """
    wb = openpyxl.load_workbook(src)
    ws = wb["核查清单"]
    header_row = next(r for r in range(1, 6) if ws.cell(r, 1).value == "序号")
    col = {h: i for i, h in enumerate(header_texts(ws[header_row]), start=1)}
    rows: dict[str, int] = {}
    for r in range(header_row + 1, ws.max_row + 1):
        tid = ws.cell(r, col["靶标编号"]).value
        if tid is None:
            continue
        rows[str(tid)] = r
        answer = dict(answers.get(str(tid), {}))
        if answer.get("核查结果") == "排除" and not {"排除：实际为", "备注"} & set(answer):
            answer["排除：实际为"] = "油菜"
        for header, value in answer.items():
            cell = ws.cell(r, col[header])
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"
    missing = set(answers) - set(rows)
    assert not missing, f"not in the workbook: {missing}"
    wb.save(dst)
    return rows


def target_ids(src: Path) -> list[str]:
    wb = openpyxl.load_workbook(src, read_only=True)
    ws = wb["核查清单"]
    out = []
    seen_header = False
    for row in ws.iter_rows(values_only=True):
        if row[0] == "序号":
            seen_header = True
            continue
        if seen_header and row[1]:
            out.append(str(row[1]))
    wb.close()
    return out
