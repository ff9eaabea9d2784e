"""Assignment on dask gives exactly what the in-process assignment gives (issue 10, goal 6).

Every column is compared on every target, as in ``tests/test_assign_engines.py``: codes,
groups, kinds and neighbour lists as equal values, distances and overlaps bit for bit, the same
index in the same order and the same dtypes. Runs on dask's threaded scheduler in this process
and on a real local cluster of two worker processes, reached by its TCP address.
"""

from __future__ import annotations

import socket

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import Client, LocalCluster

from geoverify import assign
from geoverify.engines import assign_targets_dask, assigner, connect
from geoverify.errors import EngineError, InputError
from tests.conftest import same_assignments


def _targets(villages: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    """Random points over the town and beyond it, points on and a few metres off the
    boundaries, and polygon targets (some across a boundary, some outside); shuffled, with an
    index that is neither sorted nor a range."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = villages.total_bounds
    pad = 0.01
    spread = shapely.points(rng.uniform(x0 - pad, x1 + pad, n), rng.uniform(y0 - pad, y1 + pad, n))
    xy = shapely.get_coordinates(villages.geometry.boundary.to_numpy())
    mids = (xy[:-1] + xy[1:]) / 2.0
    k = n // 3
    pick = rng.choice(len(xy) - 1, k)
    near = np.concatenate(
        [xy[pick[: k // 3]], mids[pick[k // 3 :]] + rng.normal(0.0, 3e-4, (k - k // 3, 2))]
    )
    centres = rng.uniform([x0, y0], [x1, y1], (n // 20, 2))
    sizes = rng.uniform(5e-5, 3e-3, len(centres))
    polys = shapely.box(
        centres[:, 0] - sizes, centres[:, 1] - sizes, centres[:, 0] + sizes, centres[:, 1] + sizes
    )
    geoms = np.concatenate([spread, shapely.points(near), polys])
    order = rng.permutation(len(geoms))
    frame = gpd.GeoDataFrame(
        {"target_id": [f"T{i}" for i in range(len(geoms))]},
        geometry=geoms[order],
        crs=villages.crs,
        index=pd.Index(rng.permutation(len(geoms)) * 7 + 3, name="row"),
    )
    return frame


@pytest.mark.parametrize("npartitions", [None, 1, 6])
def test_threaded_scheduler_matches_in_process(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], npartitions: int | None
) -> None:
    villages, groups = town
    targets = _targets(villages, 3000, seed=1)
    expected = assign.assign_targets(targets, villages, groups)
    got = assign_targets_dask(targets, villages, groups, npartitions=npartitions)
    same_assignments(got, expected)
    # every kind of answer is exercised
    kinds = set(expected["assignment"])
    assert kinds >= {"inside", "near_boundary", "gap_nearest", "outside", "split"}
    assert expected["group"].notna().sum() > 500


def test_cluster_by_address_matches_in_process(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], dask_cluster: LocalCluster
) -> None:
    villages, groups = town
    targets = _targets(villages, 4000, seed=2)
    got = assign_targets_dask(
        targets, villages, groups, scheduler=dask_cluster.scheduler_address, npartitions=5
    )
    same_assignments(got, assign.assign_targets(targets, villages, groups))


@pytest.mark.parametrize("tolerance_m", [0.0, 200.0])
def test_cluster_client_with_other_parameters_matches_in_process(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], dask_cluster: LocalCluster, tolerance_m: float
) -> None:
    """A client given as is; no groups; targets in a projected CRS; an explicit metric CRS."""
    villages, _ = town
    targets = _targets(villages, 2000, seed=3).to_crs(4544)
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        for metric in (None, "EPSG:4545"):
            got = assign_targets_dask(
                targets,
                villages,
                tolerance_m=tolerance_m,
                metric=metric,
                scheduler=client,
                npartitions=4,
            )
            expected = assign.assign_targets(
                targets, villages, tolerance_m=tolerance_m, metric=metric
            )
            same_assignments(got, expected)


def test_assigner_runs_on_the_engine_asked_for(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame], dask_cluster: LocalCluster
) -> None:
    villages, groups = town
    targets = _targets(villages, 600, seed=4)
    expected = assign.assign_targets(targets, villages, groups)
    with assigner("local") as run:
        assert run is assign.assign_targets
    for scheduler in (None, dask_cluster.scheduler_address):
        with assigner("dask", scheduler) as run:
            same_assignments(run(targets, villages, groups), expected)


def test_edge_cases_give_the_in_process_answer_or_error(
    town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    villages, groups = town
    targets = _targets(villages, 300, seed=5)
    # no targets; one target; more partitions than targets; all on one meridian
    x = float(villages.geometry.union_all().centroid.x)
    y0, y1 = villages.total_bounds[[1, 3]]
    meridian = gpd.GeoDataFrame(
        geometry=shapely.points(np.full(40, x), np.linspace(y0, y1, 40)), crs=villages.crs
    )
    for frame in (targets.iloc[:0], targets.iloc[:1], targets.iloc[:3], meridian):
        same_assignments(
            assign_targets_dask(frame, villages, groups, npartitions=8),
            assign.assign_targets(frame, villages, groups),
        )
    # no villages: every target outside, measured in a CRS chosen from the targets
    none = villages.iloc[:0]
    same_assignments(
        assign_targets_dask(targets, none, npartitions=3), assign.assign_targets(targets, none)
    )
    # the same errors, with the same messages, as in-process
    broken = targets.copy()
    broken.loc[broken.index[[5, 50, 150]], "geometry"] = None
    bad_inputs = [
        (broken, villages, {}),
        (targets, villages.drop(columns="code"), {}),
        (targets, villages, {"tolerance_m": -1.0}),
        (targets.set_crs(None, allow_override=True), villages, {}),
    ]
    for t, v, kw in bad_inputs:
        with pytest.raises(InputError) as local:
            assign.assign_targets(t, v, groups, **kw)
        with pytest.raises(InputError) as dask:
            assign_targets_dask(t, v, groups, npartitions=3, **kw)
        assert type(dask.value) is type(local.value)
        assert str(dask.value) == str(local.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_is_named(town: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    villages, groups = town
    targets = _targets(villages, 50, seed=6)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(EngineError, match="无法连接 dask 调度器") as e:
        assign_targets_dask(targets, villages, groups, scheduler=address)
    assert address in str(e.value) and "cannot reach the dask scheduler" in str(e.value)
    for bad in ("no-port", "http://example.org"):
        with pytest.raises(EngineError, match=bad):
            connect(bad)
    with pytest.raises(EngineError, match="needs the dask engine"), assigner("local", address):
        pass
    with pytest.raises(EngineError, match="unknown engine"), assigner("spark"):
        pass
