"""Run every issue-10 benchmark, interleaved with its alternative, and write RESULTS.md.

Usage::

    python -m benchmarks run [--size town|province|country] [--repeat 3]
        [--only assign,import,coverage,startup] [--database-url URL] [--out FILE]

``--database-url`` (or ``$GEOVERIFY_BENCH_DATABASE_URL``) names an EMPTY PostgreSQL database
with PostGIS for the PostGIS import; each run gets its own schema, dropped afterwards. Without
it the PostGIS import is not run and RESULTS.md says so.

Each measured operation runs ``--repeat`` times, geoverify and its alternative one after the
other in every round, so that load from other users of a shared machine falls on both alike.
Peak memory is measured once per operation in a fresh child process (``python -m benchmarks
mem …``): the growth of the resident set's high-water mark over the operation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_DB_ENV = "GEOVERIFY_BENCH_DATABASE_URL"


@dataclass(frozen=True)
class Size:
    """How much data one benchmark size generates."""

    name: str
    points: int  # targets assigned
    synthetic_villages: int
    import_rows: int
    tracks_month: int
    tracks_year: int


SIZES = {
    # The sizes of issue 10's goals.
    "town": Size("town", 1_000_000, 10_000, 1_000_000, 417, 5_000),
    # Larger, for a district or province deployment; not run on the 2-core machine.
    "province": Size("province", 5_000_000, 40_000, 2_000_000, 2_000, 20_000),
    "country": Size("country", 10_000_000, 100_000, 5_000_000, 5_000, 50_000),
    # A quick check that everything runs (seconds); its ratios mean little.
    "smoke": Size("smoke", 20_000, 500, 5_000, 20, 40),
}


@dataclass
class Timing:
    """Seconds of each run of one engine on one case."""

    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def text(self) -> str:
        return f"{self.median:.2f} s ({min(self.runs):.2f}–{max(self.runs):.2f})"


# --- data --------------------------------------------------------------------------------------


class Data:
    """The generated inputs of one size, made once and cached in a temporary folder."""

    def __init__(self, size: Size, folder: Path) -> None:
        from benchmarks import data

        self.size = size
        self.folder = folder
        self.villages, self.groups = data.town()
        self._synthetic: Any = None
        self._points: dict[str, Any] = {}
        self._tracks: dict[int, Any] = {}
        self._csv: Path | None = None

    @property
    def synthetic(self) -> Any:
        from benchmarks import data

        if self._synthetic is None:
            self._synthetic = data.synthetic_villages(self.size.synthetic_villages)
        return self._synthetic

    def points(self, which: str) -> Any:
        from benchmarks import data

        if which not in self._points:
            villages = self.villages if which == "town" else self.synthetic
            self._points[which] = data.random_points(villages, self.size.points, seed=1)
        return self._points[which]

    def batch(self, which: str) -> Any:
        """The points as a new batch: a new frame of the same geometries, without the spatial
        index geopandas caches on a frame once it has joined it (each batch is new points)."""
        import geopandas as gpd

        points = self.points(which)
        return gpd.GeoDataFrame(
            points.drop(columns=points.geometry.name),
            geometry=points.geometry.array.copy(),
            crs=points.crs,
        )

    def tracks(self, n: int) -> Any:
        from benchmarks import data

        if n not in self._tracks:
            self._tracks[n] = data.random_walk_tracks(self.villages, n, seed=n)
        return self._tracks[n]

    def csv(self) -> Path:
        """The district CSV of ``import_rows`` targets over the town (靶标编号, 经度, 纬度)."""
        import shapely

        from benchmarks import data

        if self._csv is None:
            pts = data.random_points(self.villages, self.size.import_rows, seed=2)
            xy = shapely.get_coordinates(pts.geometry.to_numpy())
            path = self.folder / f"batch_{self.size.import_rows}.csv"
            with path.open("w", encoding="utf-8") as fh:
                fh.write("靶标编号,经度,纬度\n")
                fh.writelines(
                    f"{tid},{x:.7f},{y:.7f}\n"
                    for tid, (x, y) in zip(pts["target_id"], xy, strict=True)
                )
            self._csv = path
        return self._csv


# --- the operations ------------------------------------------------------------------------------


def assign_geoverify(d: Data, which: str) -> Callable[[], Any]:
    from geoverify.assign import assign_targets

    groups = d.groups if which == "town" else None
    villages = d.villages if which == "town" else d.synthetic
    batch = d.batch(which)
    return lambda: assign_targets(batch, villages, groups)


def assign_sjoin(d: Data, which: str, *, same_frame: bool = False) -> Callable[[], Any]:
    """``sjoin(predicate="within")`` of a new batch; with ``same_frame``, of the one frame
    every run shares, whose points' tree (geopandas queries the points' tree with the villages
    for "within") the first run built and caches."""
    import geopandas as gpd

    villages = d.villages if which == "town" else d.synthetic
    points = d.points(which) if same_frame else d.batch(which)
    return lambda: gpd.sjoin(points, villages, predicate="within")


def _pg_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema},public"


def import_geoverify(d: Data, database_url: str | None) -> int:
    """A whole ``batch import`` of the CSV into a new workspace (SQLite, or a new schema)."""
    from geoverify.store import Store
    from geoverify.workflows import import_batch, init_workspace

    ws = d.folder / f"ws_{uuid.uuid4().hex[:8]}"
    schema = None
    url = None
    if database_url:
        import sqlalchemy as sa

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        url = _pg_url(database_url, schema)
    init_workspace(ws, url=url, actor="bench")
    store = Store(ws, url=url)
    try:
        res = import_batch(
            store, d.csv(), batch_id="BENCH", actor="bench", issued_on=dt.date(2024, 3, 1)
        )
        assert res.imported == d.size.import_rows, res.to_json()
        return res.imported
    finally:
        store.dispose()
        if schema is not None and database_url:
            import sqlalchemy as sa

            engine = sa.create_engine(database_url)
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()


def import_baseline(d: Data) -> int:
    from benchmarks.baseline_import import import_csv

    return import_csv(d.csv(), d.villages, d.folder / f"baseline_{uuid.uuid4().hex[:8]}.sqlite")


def coverage_geoverify(d: Data, n_tracks: int) -> Any:
    from geoverify.coverage import coverage

    return coverage(d.villages, d.tracks(n_tracks))


def coverage_exact(d: Data, n_tracks: int) -> Any:
    from geoverify.coverage import exact_coverage

    return exact_coverage(d.villages, d.tracks(n_tracks))


def _operation(name: str, d: Data, database_url: str | None) -> Callable[[], Any]:
    """The operation called ``name`` (``engine:case``), bound to its data."""
    table: dict[str, Callable[[], Any]] = {
        "geoverify:import-sqlite": lambda: import_geoverify(d, None),
        "geoverify:import-postgis": lambda: import_geoverify(d, database_url),
        "baseline:import-sqlite": lambda: import_baseline(d),
        "geoverify:coverage-month": lambda: coverage_geoverify(d, d.size.tracks_month),
        "exact:coverage-month": lambda: coverage_exact(d, d.size.tracks_month),
        "geoverify:coverage-year": lambda: coverage_geoverify(d, d.size.tracks_year),
        "exact:coverage-year": lambda: coverage_exact(d, d.size.tracks_year),
        "geoverify:compiled-runtime": compiled_runtime,
    }
    # The assignments' inputs are made here, before the caller starts its clock.
    assign: dict[str, Callable[[], Callable[[], Any]]] = {
        "geoverify:assign-town": lambda: assign_geoverify(d, "town"),
        "sjoin:assign-town": lambda: assign_sjoin(d, "town"),
        "sjoin-same-frame:assign-town": lambda: assign_sjoin(d, "town", same_frame=True),
        "geoverify:assign-synthetic": lambda: assign_geoverify(d, "synthetic"),
        "sjoin:assign-synthetic": lambda: assign_sjoin(d, "synthetic"),
        "sjoin-same-frame:assign-synthetic": lambda: assign_sjoin(d, "synthetic", same_frame=True),
    }
    if name in assign:
        return assign[name]()
    return table[name]


def compiled_runtime() -> None:
    """One compiled kernel on a 4 x 4 grid: what numba's runtime costs a process once, before
    the first kernel it runs (part of geoverify's first assignment in a process)."""
    import numpy as np

    from geoverify import cells

    cells.chebyshev(np.zeros((4, 4), np.uint8), 2)


def _prepare(name: str, d: Data) -> None:
    """Generate the operation's inputs and load its modules before it is timed or measured
    (for every engine alike: the data generators have already loaded geopandas)."""
    import importlib

    for module in ("geoverify.assign", "geoverify.coverage", "geoverify.workflows"):
        importlib.import_module(module)
    case = name.split(":")[1]
    if case == "assign-town":
        d.points("town")
    elif case == "assign-synthetic":
        d.points("synthetic")
    elif case.startswith("import"):
        d.csv()
    elif case == "coverage-month":
        d.tracks(d.size.tracks_month)
    elif case == "coverage-year":
        d.tracks(d.size.tracks_year)


# --- memory (in a child process) ----------------------------------------------------------------


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def measure_memory(name: str, size: Size, database_url: str | None) -> dict[str, float]:
    """Growth of the peak resident set (MiB) over one run of ``name``; and the result's size."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Data(size, Path(tmp))
        _prepare(name, d)
        op = _operation(name, d, database_url)
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
        before = _status_kib("VmRSS")
        result = op()
        peak = _status_kib("VmHWM")
        out = {"peak_growth_mib": (peak - before) / 1024}
        if hasattr(result, "memory_usage"):
            out["result_mib"] = _frame_bytes(result) / 2**20
        return out


def _frame_bytes(frame: Any) -> int:
    """Bytes a frame holds: its arrays and index, and each distinct object of its object
    columns once (``memory_usage(deep=True)`` counts an object shared by many rows once a row,
    e.g. one empty tuple a million times)."""
    total = int(frame.memory_usage(deep=False).sum())
    seen: set[int] = set()
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype != object:
            continue
        for value in values.tolist():
            if id(value) not in seen:
                seen.add(id(value))
                total += sys.getsizeof(value)
                if isinstance(value, tuple | list):
                    total += sum(sys.getsizeof(v) for v in value if id(v) not in seen)
                    seen.update(id(v) for v in value)
    return total


def memory_in_child(name: str, size: Size, database_url: str | None) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks", "mem", name, "--size", size.name]
    if database_url:
        cmd += ["--database-url", database_url]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


# --- start-up ------------------------------------------------------------------------------------


def startup_times(repeat: int) -> dict[str, Timing]:
    exe = Path(sys.executable).parent / "geoverify"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "geoverify"]
    out: dict[str, Timing] = {}
    for args in (["--version"], ["--help"]):
        timing = Timing()
        for _ in range(max(repeat, 5)):
            t0 = time.perf_counter()
            subprocess.run([*cmd, *args], capture_output=True, check=True)
            timing.runs.append(time.perf_counter() - t0)
        out[" ".join(args)] = timing
    return out


# --- the run -------------------------------------------------------------------------------------


PAIRS: dict[str, list[tuple[str, ...]]] = {
    "assign": [
        ("geoverify:assign-town", "sjoin:assign-town", "sjoin-same-frame:assign-town"),
        (
            "geoverify:assign-synthetic",
            "sjoin:assign-synthetic",
            "sjoin-same-frame:assign-synthetic",
        ),
    ],
    "import": [
        ("geoverify:import-sqlite", "baseline:import-sqlite"),
        ("geoverify:import-postgis",),
    ],
    "coverage": [
        ("geoverify:coverage-month", "exact:coverage-month"),
        ("geoverify:coverage-year", "exact:coverage-year"),
    ],
}


#: Groups of short operations whose timed runs follow one untimed run of each (for every
#: engine alike).
WARM_UP = frozenset({"assign", "coverage"})


def run(
    size: Size, repeat: int, only: set[str], database_url: str | None, memory: bool
) -> dict[str, Any]:
    timings: dict[str, Timing] = {}
    extra: dict[str, Any] = {"memory": {}, "accuracy": {}}
    with tempfile.TemporaryDirectory() as tmp:
        d = Data(size, Path(tmp))
        for group, pairs in PAIRS.items():
            if group not in only:
                continue
            for pair in pairs:
                names = [n for n in pair if database_url or "postgis" not in n]
                if not names:
                    continue
                for n in names:
                    _prepare(n, d)
                    timings[n] = Timing()
                if group in WARM_UP:
                    # One untimed run of each first: what a process does once (numba loading
                    # its compiled kernels) is not the operation's time. Each timed assignment
                    # gets a new batch frame, as a new batch would be: geopandas caches the
                    # points' tree on a frame, and only the "same-frame" join keeps it. The
                    # first run's memory is measured apart (below).
                    for n in names:
                        _operation(n, d, database_url)()
                        print(f"{n} warm-up run", flush=True)
                for r in range(repeat):
                    for n in names if r % 2 == 0 else names[::-1]:
                        op = _operation(n, d, database_url)
                        t0 = time.perf_counter()
                        result = op()
                        timings[n].runs.append(time.perf_counter() - t0)
                        print(f"{n} run {r + 1}: {timings[n].runs[-1]:.2f} s", flush=True)
                        if n.startswith(("geoverify:coverage", "exact:coverage")) and r == 0:
                            extra["accuracy"].setdefault(n.split(":")[1], {})[n] = result
                        del result
                if memory:
                    names = [n for n in names if "same-frame" not in n]  # as sjoin's first run
                    if pair[0] == "geoverify:assign-synthetic":
                        names = [*names, "geoverify:compiled-runtime"]
                    for n in names:
                        extra["memory"][n] = memory_in_child(n, size, database_url)
                        print(f"{n} memory: {extra['memory'][n]}", flush=True)
    if "startup" in only:
        timings.update({f"geoverify {k}": v for k, v in startup_times(repeat).items()})
    return {"timings": timings, **extra}


# --- the report ----------------------------------------------------------------------------------


def _versions(database_url: str | None) -> list[str]:
    from importlib.metadata import version

    import shapely

    names = ["numpy", "pandas", "shapely", "geopandas", "pyproj", "scipy", "rasterio", "SQLAlchemy"]
    libs = ", ".join(f"{n} {version(n)}" for n in names)
    lines = [f"- Python {platform.python_version()}; {libs}; GEOS {shapely.geos_version_string}"]
    if database_url:
        import sqlalchemy as sa

        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            pg = conn.execute(sa.text("SHOW server_version")).scalar()
            postgis = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar()
        engine.dispose()
        lines.append(f"- PostgreSQL {pg}, PostGIS {postgis} (same machine, default settings)")
    return lines


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {mem_kib / 2**20:.0f} GiB"
    except OSError:
        mem = ""
    return f"{model}, {os.cpu_count()} CPUs{mem}, {platform.system()} {platform.release()}"


def _mib_over(g: dict[str, float], limit: float) -> str:
    return f"{g['peak_growth_mib'] - limit:.0f} MiB over"


def _times(g: dict[str, float], b: dict[str, float]) -> str:
    return f"{g['peak_growth_mib'] / max(b['peak_growth_mib'], 1e-9):.1f}×"


def _verdict(ok: bool, gap: str) -> str:
    return "**met**" if ok else f"not met: {gap}"


def report(
    size: Size, repeat: int, found: dict[str, Any], database_url: str | None, cmd: str
) -> str:
    t: dict[str, Timing] = found["timings"]
    mem: dict[str, dict[str, float]] = found["memory"]
    lines = [
        "# Performance benchmarks (issue 10)",
        "",
        "Written by `python -m benchmarks run`; do not edit by hand. The map benchmark is in "
        "[RESULTS_map.md](RESULTS_map.md) (`benchmarks/bench_map.py`).",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {_machine()}, possibly shared with other work; geoverify and each "
        "alternative ran interleaved (alternating order) so that any load fell on both alike",
        *_versions(database_url),
        f"- command: `{cmd}`",
        f"- size `{size.name}`: {size.points:,} points; {size.synthetic_villages:,} synthetic "
        f"villages; {size.import_rows:,}-row batch; {size.tracks_month:,} and "
        f"{size.tracks_year:,} tracks at 1 Hz",
        f"- each time: median of {repeat} runs (min–max); the assignments and the coverage "
        "follow one untimed run of each operation, for every engine alike (a process's first "
        "call also loads compiled kernels; its memory is measured apart, below), the imports "
        "do not; each timed assignment joins a new frame of the points, as a new batch would "
        'be (geopandas caches the tree it builds on a frame: for `predicate="within"` the '
        "points' tree; the same-frame `sjoin` time, given for reference, reuses it)",
        "",
        "Data (`benchmarks/data.py`, fixed seeds): the bundled illustrative town (13 villages, "
        "52 groups); a Voronoi tessellation of synthetic villages of about 3 km² with shared, "
        "bent edges (about 110 vertices each) and 3 % of them shrunk by 20–80 m to leave gaps; "
        "targets uniform over the villages' bounding box plus 0.005° (some fall in gaps and "
        "outside); random-walk patrol tracks of 1,000 fixes at 1 Hz.",
        "",
        "| goal | geoverify | alternative | ratio | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for which, label in (
        ("town", "bundled town, 13 villages + 52 groups"),
        ("synthetic", "synthetic villages"),
    ):
        g, a = t.get(f"geoverify:assign-{which}"), t.get(f"sjoin:assign-{which}")
        same = t.get(f"sjoin-same-frame:assign-{which}")
        if g and a:
            ratio = a.median / g.median
            again = (
                f"; the same frame again, its points' tree cached: {same.text()}, "
                f"{same.median / g.median:.2f}×"
                if same
                else ""
            )
            lines.append(
                f"| 1. assign {size.points:,} points, {label} (≥ 3× `sjoin`) | {g.text()} "
                f'| `sjoin(predicate="within")` of a new batch {a.text()}{again} '
                f"| {ratio:.2f}× | {_verdict(ratio >= 3, f'{3 / ratio:.1f}× short of 3×')} |"
            )
    g, b = t.get("geoverify:import-sqlite"), t.get("baseline:import-sqlite")
    n = size.import_rows
    if g and b:
        rate, base = n / g.median, n / b.median
        ok = rate >= 25_000 and rate >= base / 2
        lines.append(
            f"| 2. `batch import` {n:,} rows, SQLite (≥ 25k rows/s and ≥ half the baseline) "
            f"| {g.text()}, {rate:,.0f} rows/s | read_csv + sjoin + sqlite3 executemany "
            f"{b.text()}, {base:,.0f} rows/s | {rate / base:.2f} "
            f"| {_verdict(ok, f'{rate:,.0f} rows/s against {max(25_000, base / 2):,.0f}')} |"
        )
    g = t.get("geoverify:import-postgis")
    if g:
        rate = n / g.median
        lines.append(
            f"| 2. `batch import` {n:,} rows, PostGIS (≥ 20k rows/s) | {g.text()}, "
            f"{rate:,.0f} rows/s | — | — | {_verdict(rate >= 20_000, f'{rate:,.0f} rows/s')} |"
        )
    elif "import" in cmd or "--only" not in cmd:
        lines.append("| 2. `batch import`, PostGIS | not run: no `--database-url` | — | — | — |")
    for which, label in (("month", "town-month"), ("year", "town-year")):
        g, e = t.get(f"geoverify:coverage-{which}"), t.get(f"exact:coverage-{which}")
        if g and e:
            ratio = e.median / g.median
            acc = found["accuracy"].get(f"coverage-{which}", {})
            diff_text = ""
            if len(acc) == 2:
                grid = acc[f"geoverify:coverage-{which}"].villages
                exact = acc[f"exact:coverage-{which}"]
                merged = grid.merge(exact, on="code", suffixes=("_g", "_e"))
                diff = (merged["covered_pct_g"] - merged["covered_pct_e"]).abs().max()
                span = f"{merged['covered_pct_e'].min():.0f}–{merged['covered_pct_e'].max():.0f} %"
                diff_text = f"; per village ≤ {diff:.2f} points from exact (exact {span})"
            tracks = size.tracks_month if which == "month" else size.tracks_year
            lines.append(
                f"| 3. coverage {label}, {tracks:,} tracks (≥ 10× exact, ≤ 0.5 points) "
                f"| {g.text()}{diff_text} | buffer + union_all + intersection {e.text()} "
                f"| {ratio:.1f}× | {_verdict(ratio >= 10, f'{10 / ratio:.1f}× short of 10×')} |"
            )
    for args in ("--version", "--help"):
        s = t.get(f"geoverify {args}")
        if s:
            lines.append(
                f"| 4. `geoverify {args}` (< 0.5 s) | {s.text()} | — | — "
                f"| {_verdict(s.median < 0.5, f'{s.median:.2f} s')} |"
            )
    if mem:
        lines += [
            "",
            "## Peak memory",
            "",
            "Growth of the resident set's high-water mark over one run, in a fresh process, "
            "its inputs made and its modules loaded first.",
            "",
            "| operation | peak growth | result | goal |",
            "| --- | ---: | ---: | --- |",
        ]
        for which in ("town", "synthetic"):
            g, a = mem.get(f"geoverify:assign-{which}"), mem.get(f"sjoin:assign-{which}")
            if g and a:
                limit = a["peak_growth_mib"] + g.get("result_mib", 0.0)
                ok = g["peak_growth_mib"] <= limit
                lines.append(
                    f"| assign, {which}: geoverify / sjoin | {g['peak_growth_mib']:.0f} / "
                    f"{a['peak_growth_mib']:.0f} MiB | {g.get('result_mib', 0):.0f} MiB "
                    f"| ≤ sjoin's + result ({limit:.0f} MiB): "
                    f"{_verdict(ok, _mib_over(g, limit))} |"
                )
        r = mem.get("geoverify:compiled-runtime")
        if r:
            lines.append(
                f"| numba's runtime, started by geoverify's first compiled kernel in a process "
                f"(part of each geoverify assignment above) | {r['peak_growth_mib']:.0f} MiB "
                "| — | once per process |"
            )
        g, b = mem.get("geoverify:import-sqlite"), mem.get("baseline:import-sqlite")
        if g and b:
            ok = g["peak_growth_mib"] <= 2 * b["peak_growth_mib"]
            lines.append(
                f"| import, SQLite: geoverify / baseline | {g['peak_growth_mib']:.0f} / "
                f"{b['peak_growth_mib']:.0f} MiB | — | ≤ 2× baseline: "
                f"{_verdict(ok, _times(g, b))} |"
            )
        g = mem.get("geoverify:import-postgis")
        if g and b:
            ok = g["peak_growth_mib"] <= 2 * b["peak_growth_mib"]
            lines.append(
                f"| import, PostGIS: geoverify | {g['peak_growth_mib']:.0f} MiB | — "
                f"| ≤ 2× SQLite baseline: "
                f"{_verdict(ok, _times(g, b))} |"
            )
    lines += ["", "## Every run", ""]
    for name, timing in t.items():
        lines.append(f"- {name}: " + ", ".join(f"{x:.2f}" for x in timing.runs) + " s")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run the benchmarks and write RESULTS.md")
    p_run.add_argument("--size", choices=sorted(SIZES), default="town")
    p_run.add_argument("--repeat", type=int, default=3)
    p_run.add_argument("--only", default="assign,import,coverage,startup")
    p_run.add_argument("--database-url", default=os.environ.get(BENCH_DB_ENV))
    p_run.add_argument("--no-memory", action="store_true")
    p_run.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    p_mem = sub.add_parser("mem", help="(internal) peak memory of one operation")
    p_mem.add_argument("name")
    p_mem.add_argument("--size", choices=sorted(SIZES), default="town")
    p_mem.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    if args.command == "mem":
        print(json.dumps(measure_memory(args.name, SIZES[args.size], args.database_url)))
        return
    size = SIZES[args.size]
    only = set(args.only.split(","))
    found = run(size, args.repeat, only, args.database_url, memory=not args.no_memory)
    shown = ["python -m benchmarks run", f"--size {size.name}", f"--repeat {args.repeat}"]
    if args.only != "assign,import,coverage,startup":
        shown.append(f"--only {args.only}")
    if args.database_url:
        shown.append("--database-url …")
    text = report(size, args.repeat, found, args.database_url, " ".join(shown))
    args.out.write_text(text, encoding="utf-8")
    print(text)
