"""Benchmark: assignment and batch import at scale on the sample town.

Run on demand (not part of the test suite)::

    python benchmarks/bench_import.py --targets 10000 100000

Writes ``benchmarks/RESULTS_import.md``: the time of the pure assignment
(:func:`geoverify.assign.assign_targets`) and of a whole CSV batch import into a fresh SQLite
workspace (read, validate, assign, repeat sites, write, events), for each size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geoverify.assign import assign_targets
from geoverify.store import Store, repo
from geoverify.workflows import import_batch, init_workspace

HERE = Path(__file__).resolve().parent


def _points(villages: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = villages.total_bounds
    pad = 0.005
    xs = rng.uniform(x0 - pad, x1 + pad, n)
    ys = rng.uniform(y0 - pad, y1 + pad, n)
    return gpd.GeoDataFrame(
        {"target_id": [f"B{i:06d}" for i in range(n)]},
        geometry=shapely.points(xs, ys),
        crs=villages.crs,
    )


def _write_csv(points: gpd.GeoDataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("靶标编号,经度,纬度\n")
        for tid, g in zip(points["target_id"], points.geometry, strict=True):
            fh.write(f"{tid},{g.x:.7f},{g.y:.7f}\n")


def run(sizes: list[int], repeat: int) -> str:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        init_workspace(base / "seed", actor="bench")
        seed_store = Store(base / "seed")
        with seed_store.connect() as conn:
            villages = repo.load_villages(conn)
            groups = repo.load_groups(conn)
        seed_store.dispose()
        for n in sizes:
            pts = _points(villages, n, seed=n)
            assign_times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                assign_targets(pts, villages, groups)
                assign_times.append(time.perf_counter() - t0)
            csv = base / f"batch_{n}.csv"
            _write_csv(pts, csv)
            import_times = []
            for r in range(repeat):
                ws = base / f"ws_{n}_{r}"
                init_workspace(ws, actor="bench")
                store = Store(ws)
                t0 = time.perf_counter()
                res = import_batch(
                    store, csv, batch_id=f"N{n}", actor="bench", issued_on=dt.date(2024, 3, 1)
                )
                import_times.append(time.perf_counter() - t0)
                store.dispose()
                assert res.imported == n, res.to_json()
            rows.append(
                (
                    n,
                    statistics.median(assign_times),
                    statistics.median(import_times),
                    assign_times,
                    import_times,
                )
            )
    lines = [
        "# Assignment and import benchmark",
        "",
        "Written by `benchmarks/bench_import.py`; do not edit by hand. Random points over the "
        "sample town's bounding box (plus a margin, so some fall outside), SQLite store.",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, shapely {shapely.__version__}",
        f"- command: `python benchmarks/bench_import.py --targets {' '.join(map(str, sizes))} "
        f"--repeat {repeat}`",
        "",
        "| targets | assign_targets (median) | whole batch import (median) | import per 1,000 |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for n, a, i, _, _ in rows:
        lines.append(f"| {n:,} | {a:.3f} s | {i:.2f} s | {i / n * 1000:.3f} s |")
    lines.append("")
    for n, _, _, a_all, i_all in rows:
        lines.append(
            f"Runs at {n:,}: assign {', '.join(f'{t:.3f}' for t in a_all)} s; "
            f"import {', '.join(f'{t:.2f}' for t in i_all)} s."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS_import.md")
    args = parser.parse_args()
    text = run(args.targets, args.repeat)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
