"""A batch of 100,000 targets, and a re-issue of 70,000 of them, through the whole import.

Before issue 10 an import bound one parameter per target in ``target_id IN (…)``: PostgreSQL
refuses a statement with 65,536 or more parameters. Here every look-up and write must stay
within fixed-size statements, the stored rows must be exactly those planned, and the result
must agree with the pure assignment. (Timings belong in ``benchmarks/``, not here.)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from geoverify.assign import assign_targets
from geoverify.geo import metric_crs
from geoverify.store import Store, repo
from geoverify.store import tables as t
from geoverify.workflows import import_batch

N = 100_000
AGAIN = 70_000  # more than PostgreSQL's 65,535 bound parameters per statement


def _write_csv(path: Path, ids: list[str], xs: np.ndarray, ys: np.ndarray) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("靶标编号,经度,纬度\n")
        fh.writelines(f"{i},{x:.7f},{y:.7f}\n" for i, x, y in zip(ids, xs, ys, strict=True))


@pytest.mark.postgis
@pytest.mark.parametrize("backend", ["postgis"])
def test_a_100k_batch_and_a_70k_reissue(sample_store: Store, tmp_path: Path) -> None:
    with sample_store.connect() as conn:
        villages = repo.load_villages(conn)
        groups = repo.load_groups(conn)
    rng = np.random.default_rng(10)
    x0, y0, x1, y1 = villages.total_bounds
    xs = rng.uniform(x0 - 0.003, x1 + 0.003, N)
    ys = rng.uniform(y0 - 0.003, y1 + 0.003, N)
    ids = [f"L{i:06d}" for i in range(N)]
    first = tmp_path / "first.csv"
    _write_csv(first, ids, xs, ys)

    res = import_batch(
        sample_store, first, batch_id="L1", actor="pytest", issued_on=dt.date(2024, 3, 1)
    )
    assert res.status == "imported" and res.imported == N and not res.rejected

    # The stored result is the pure assignment of the same points (read back as the CSV gives).
    read_back = gpd.GeoDataFrame(
        geometry=shapely.points(np.round(xs, 7), np.round(ys, 7)), crs=villages.crs
    )
    metric = metric_crs(float(villages.geometry.union_all().centroid.x))
    expected = assign_targets(read_back, villages, groups, metric=metric)
    assert res.assignment == dict(Counter(expected["assignment"]))
    with sample_store.connect() as conn:
        counts = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in (
                ("targets", t.targets),
                ("issues", t.target_issues),
                ("events", t.events),
            )
        }
        stored = dict(
            conn.execute(
                select(t.targets.c.assignment, func.count()).group_by(t.targets.c.assignment)
            ).all()
        )
        ids_stored = conn.execute(select(func.count(func.distinct(t.targets.c.id)))).scalar_one()
    assert counts["targets"] == N and counts["issues"] == N and ids_stored == N
    assert counts["events"] >= N + 1  # one "issued" per target and the batch's own
    assert stored == res.assignment

    # 70,000 of them again in a new batch, with 10 new ones.
    second = tmp_path / "second.csv"
    again_ids = ids[:AGAIN] + [f"M{i}" for i in range(10)]
    _write_csv(second, again_ids, np.r_[xs[:AGAIN], xs[:10]], np.r_[ys[:AGAIN], ys[:10]])
    res2 = import_batch(
        sample_store, second, batch_id="L2", actor="pytest", issued_on=dt.date(2024, 4, 1)
    )
    assert (res2.imported, res2.reissued) == (10, AGAIN)
    assert res2.repeat_sites == 10  # the new ones lie on earlier targets
    assert sum(res2.by_village.values()) == AGAIN + 10

    # The same file again answers from the store, as before.
    res3 = import_batch(sample_store, second, batch_id="L2", actor="pytest")
    assert res3.status == "already_imported"
    assert (res3.imported, res3.reissued, res3.assignment) == (10, AGAIN, res2.assignment)
