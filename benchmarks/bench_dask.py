"""Assignment past one machine (issue 10, goal 6): in-process against dask, and dask's sjoin.

Usage::

    python benchmarks/bench_dask.py [--points 10000000] [--villages 10000] [--workers 2]
        [--partitions N] [--repeat 1] [--out benchmarks/RESULTS_dask.md]

Generates the deterministic synthetic villages and uniform random points of ``data.py``, starts
a ``distributed.LocalCluster`` of ``--workers`` single-threaded worker processes, and times

(a) ``geoverify.assign.assign_targets`` in this process (its own threads);
(b) ``geoverify.engines.assign_targets_dask`` on the cluster (by its TCP address, as
    ``batch import --engine dask --scheduler`` does), results back in this process;
(c) ``dask_geopandas.sjoin(predicate="within")`` on the cluster, results back in this process
    (what a GIS analyst with dask would write: village code only, no neighbours, groups, gaps);
(d) ``geopandas.sjoin(predicate="within")`` in this process, for scale.

(a) and (b) must agree on every point and column (bit for bit for distances); the run fails
otherwise. Writes ``RESULTS_dask.md`` with the machine, the versions and the numbers. Cluster
start-up is timed separately, not in (b) or (c), and the workers are warmed up (imports) on
1,000 points first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import data  # noqa: E402
from benchmarks.run import _machine, _versions  # noqa: E402


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    runs: list[float] = []
    out: Any = None
    for _ in range(repeat):
        out = None  # let the previous result go before the next run
        start = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - start)
    return runs, out


def _text(runs: list[float]) -> str:
    med = statistics.median(runs)
    if len(runs) == 1:
        return f"{med:.1f} s"
    return f"{med:.1f} s ({min(runs):.1f}–{max(runs):.1f})"


def _differences(a: Any, b: Any) -> dict[str, int]:
    """Rows that differ, per column (floats bit for bit, NaN equal to NaN)."""
    import numpy as np

    out: dict[str, int] = {}
    if list(a.columns) != list(b.columns) or not a.index.equals(b.index):
        return {"(columns or index)": len(a)}
    for column in a.columns:
        x, y = a[column], b[column]
        if x.dtype != y.dtype:
            out[column] = len(a)
        elif column in ("overlap", "distance_m"):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            same = (xv == yv) | (np.isnan(xv) & np.isnan(yv))
            out[column] = int((~same).sum())
        elif x.equals(y):
            out[column] = 0
        else:
            out[column] = int((x.map(repr) != y.map(repr)).sum())
    return out


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--villages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-sjoin", action="store_true", help="skip (c) and (d)")
    parser.add_argument("--note", default="", help="a sentence for the results file")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS_dask.md")
    args = parser.parse_args(argv)

    import dask
    import dask_geopandas
    import distributed
    import geopandas as gpd
    from distributed import Client, LocalCluster

    from geoverify import assign, engines

    n = args.points
    print(f"data: {args.villages:,} villages, {n:,} points …", flush=True)
    start = time.perf_counter()
    villages = data.synthetic_villages(args.villages)
    points = data.random_points(villages, n, seed=1)
    t_data = time.perf_counter() - start

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster.scheduler_address, set_as_default=False)
    t_cluster = time.perf_counter() - start
    parts = args.partitions or max(
        1, min(math.ceil(n / engines.MIN_PARTITION_TARGETS), 2 * args.workers)
    )
    rows: list[tuple[str, list[float]]] = []
    try:
        # Warm the workers up (imports, the CRS database), as a long-running cluster would be.
        few = points.iloc[:1000]
        engines.assign_targets_dask(few, villages, scheduler=client, npartitions=2 * args.workers)
        print("(a) assign_targets in-process …", flush=True)
        t_a, a = _timed(lambda: assign.assign_targets(points, villages), args.repeat)
        rows.append(("(a) `assign_targets`, in this process", t_a))
        print(f"    {_text(t_a)}; (b) assign_targets_dask on the cluster …", flush=True)
        t_b, b = _timed(
            lambda: engines.assign_targets_dask(
                points, villages, scheduler=cluster.scheduler_address, npartitions=parts
            ),
            args.repeat,
        )
        rows.append((f"(b) `assign_targets_dask`, {args.workers} workers, {parts} partitions", t_b))
        print(f"    {_text(t_b)}; comparing …", flush=True)
        diff = _differences(b, a)
        kinds = a["assignment"].value_counts().to_dict()
        del a, b
        if not args.no_sjoin:
            print("(c) dask_geopandas.sjoin on the cluster …", flush=True)

            def dask_sjoin() -> Any:
                left = dask_geopandas.from_geopandas(points, npartitions=parts)
                right = dask_geopandas.from_geopandas(villages[["code", "geometry"]], 1)
                joined = dask_geopandas.sjoin(left, right, predicate="within")
                return client.compute(joined).result()

            with dask.config.set({"dataframe.convert-string": False}):
                t_c, _ = _timed(dask_sjoin, args.repeat)
            name = f'(c) `dask_geopandas.sjoin(predicate="within")`, {parts} partitions'
            rows.append((name, t_c))
            print(f"    {_text(t_c)}; (d) geopandas.sjoin in-process …", flush=True)
            t_d, _ = _timed(
                lambda: gpd.sjoin(points, villages[["code", "geometry"]], predicate="within"),
                args.repeat,
            )
            rows.append(('(d) `geopandas.sjoin(predicate="within")`, in this process', t_d))
            print(f"    {_text(t_d)}", flush=True)
    finally:
        client.close()
        cluster.close()

    same = all(v == 0 for v in diff.values())
    base = statistics.median(t_a)
    lines = [
        "# dask benchmark results (issue 10, goal 6: past one machine)",
        "",
        "Written by `benchmarks/bench_dask.py`; do not edit by hand. Synthetic villages (Voronoi, "
        "shared bent edges, a few gaps; `benchmarks/data.py`), no groups; points uniform over "
        "their bounding box plus 0.005°. The cluster is a `distributed.LocalCluster` of "
        "single-threaded worker processes on this machine, reached by its TCP address; (b) and "
        "(c) include sending the points to the workers and the results back (the workers were "
        "warmed up on 1,000 points first). Single runs on a shared machine: expect ±20 %.",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {_machine()}",
        *_versions(None),
        f"- dask {dask.__version__}, distributed {distributed.__version__}, "
        f"dask-geopandas {dask_geopandas.__version__}",
        f"- command: `python benchmarks/bench_dask.py --points {n} --villages {args.villages} "
        f"--workers {args.workers} --repeat {args.repeat}`",
        f"- data generation {t_data:.1f} s; cluster start-up {t_cluster:.1f} s; peak memory of "
        f"this process {_peak_rss_gib():.1f} GiB",
        "",
        f"| {n:,} points, {args.villages:,} villages | time | points/s | vs (a) |",
        "| --- | --- | --- | --- |",
    ]
    for name, runs in rows:
        med = statistics.median(runs)
        lines.append(f"| {name} | {_text(runs)} | {n / med:,.0f} | {med / base:.2f}× |")
    lines += [
        "",
        f"(a) = (b) on every point and column: **{'yes' if same else 'NO'}** "
        f"(rows differing per column: {diff}).",
        f"Assignments: {', '.join(f'{k} {v:,}' for k, v in sorted(kinds.items()))}.",
    ]
    if args.note:
        lines += ["", args.note]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
