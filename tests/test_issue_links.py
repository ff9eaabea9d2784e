"""A batch's link to each target it issues keeps what that batch said of it, without a second
copy of what the target itself keeps (migration 0010)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from alembic import command
from sqlalchemy import func, select

from geoverify.store import Store
from geoverify.store import tables as t
from geoverify.store.database import _alembic_config
from geoverify.workflows import import_batch, sample_path

MARCH = sample_path("samples", "district_batch_2024-03.geojson")
APRIL = sample_path("samples", "district_batch_2024-04.csv")


def _links(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """Every issue link by (target id, batch): reissue, geometry, attributes and the target's
    own geometry and attributes."""
    tg, issue = t.targets.c, t.target_issues.c
    with store.connect() as conn:
        rows = conn.execute(
            select(
                tg.target_id,
                issue.batch_id,
                issue.reissue,
                issue.geometry,
                issue.attributes,
                tg.geometry.label("own_geometry"),
                tg.attributes.label("own_attributes"),
            ).join(t.targets, tg.id == issue.target)
        ).mappings()
        return {(r["target_id"], r["batch_id"]): dict(r) for r in rows}


def _two_batches(store: Store) -> None:
    import_batch(store, MARCH, batch_id="2024-03", actor="pytest")
    res = import_batch(
        store, APRIL, batch_id="2024-04", actor="pytest", issued_on=dt.date(2024, 4, 2)
    )
    assert res.reissued >= 1


def test_a_first_issue_refers_to_the_target_and_a_reissue_keeps_its_own(
    sample_store: Store,
) -> None:
    _two_batches(sample_store)
    links = _links(sample_store)
    firsts = [v for v in links.values() if not v["reissue"]]
    again = {k: v for k, v in links.items() if v["reissue"]}
    assert firsts and again
    assert all(v["geometry"] is None and v["attributes"] is None for v in firsts)
    # What the later batch said: its own row of the April file, its own point.
    table = pd.read_csv(APRIL, encoding="gbk", dtype=str).set_index("靶标编号")
    for (tid, batch), link in again.items():
        assert batch == "2024-04"
        row = table.loc[tid]
        assert link["attributes"]["面积（平方米）"] == row["面积（平方米）"]
        assert link["attributes"] != link["own_attributes"]
        assert isinstance(link["geometry"], shapely.Point)


def test_going_back_below_0010_fills_the_first_issues_in_and_up_again_keeps_them(
    sample_store: Store, tmp_path: Path
) -> None:
    _two_batches(sample_store)
    before = _links(sample_store)
    cfg = _alembic_config()
    with sample_store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    filled = _links(sample_store)
    assert filled.keys() == before.keys()
    for key, link in filled.items():
        if before[key]["reissue"]:
            assert link == before[key]
        else:
            assert link["attributes"] == link["own_attributes"]
            assert link["geometry"].equals(link["own_geometry"])
    with sample_store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert _links(sample_store).keys() == before.keys()
    with sample_store.connect() as conn:
        nulls = conn.execute(
            select(func.count()).where(t.target_issues.c.geometry.is_(None))
        ).scalar()
    assert nulls == 0  # rows written before 0010 keep their copies
    # and an import after it refers again
    later = tmp_path / "later.csv"
    later.write_text("靶标编号,经度,纬度\nL1,106.05,29.70\nL2,106.06,29.71\n", encoding="utf-8")
    import_batch(sample_store, later, batch_id="M", issued_on=dt.date(2024, 5, 1))
    assert all(v["geometry"] is None for (_, b), v in _links(sample_store).items() if b == "M")
