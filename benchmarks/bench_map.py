"""Benchmark of the offline HTML map at district size: synthetic targets on the sample villages.

Measures the build time of :func:`geoverify.maps.build_map`, the file size, and in headless
Chromium (network blocked) the time until the map is ready and the time to redraw after a zoom
step (in and out, several steps). Goals (issue 10, goal 5) at 100,000 targets: build < 2 s,
HTML < 10 MiB, zoom redraw < 300 ms. Writes ``benchmarks/RESULTS_map.md``.

Usage::

    python benchmarks/bench_map.py [--targets 10000 100000] [--repeat 3]
                                   [--out benchmarks/RESULTS_map.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoverify import maps

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "boundaries" / "fuguo_sample.gpkg"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TODAY = dt.date(2024, 4, 15)
_STATES = (
    ("issued", None),
    ("dispatched", None),
    ("verified", "confirmed"),
    ("eradicated", "confirmed"),
    ("verified", "excluded"),
    ("reported", "not_found"),
    ("verified", "outside"),
)


def synthetic_targets(villages: gpd.GeoDataFrame, n: int, *, seed: int = 2024) -> gpd.GeoDataFrame:
    """``n`` targets at random points inside the villages, in every status."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = villages.total_bounds
    union = villages.geometry.union_all()
    xs: list[float] = []
    ys: list[float] = []
    while len(xs) < n:
        cx, cy = rng.uniform(x0, x1, 2 * n), rng.uniform(y0, y1, 2 * n)
        inside = gpd.GeoSeries(gpd.points_from_xy(cx, cy), crs=4490).within(union).to_numpy()
        xs += cx[inside].tolist()
        ys += cy[inside].tolist()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xs[:n], ys[:n]), crs=4490)
    joined = gpd.sjoin(pts, villages[["code", "name", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    k = np.arange(n)
    status = [_STATES[i % len(_STATES)][0] for i in k]
    result = [_STATES[i % len(_STATES)][1] for i in k]
    frame = pd.DataFrame(
        {
            "pk": k + 1,
            "target_id": [f"TL2024-{i + 1:05d}" for i in k],
            "batch": "2024-03",
            "source": "district",
            "lon": xs[:n],
            "lat": ys[:n],
            "village_code": joined["code"].to_numpy(),
            "village": joined["name"].to_numpy(),
            "group": "三组",
            "assignment": "inside",
            "status": status,
            "result": result,
            "plants": np.where(k % 97 == 0, 650, np.where(k % 5 == 2, 40, np.nan)),
            "repeat_of": [f"TL2023-{i:05d}" if i % 23 == 0 else None for i in k],
            "issued_on": dt.date(2024, 3, 5),
            "due_on": [TODAY - dt.timedelta(days=int(i % 30) - 10) for i in k],
            "verified_by": ["李四" if r else None for r in result],
            "remarks": ["地头零星种植，已拍照" if i % 11 == 0 else None for i in k],
        }
    )
    return gpd.GeoDataFrame(frame, geometry=pts.geometry.to_numpy(), crs=4490)


def _history(n: int) -> dict[int, list[dict[str, Any]]]:
    start = dt.datetime(2024, 3, 5, 1, 0, tzinfo=dt.UTC)
    return {
        pk: [
            {"at": start, "actor": "镇平安办", "kind": "dispatched", "payload": {}},
            {
                "at": start + dt.timedelta(days=3),
                "actor": "李四",
                "kind": "verified",
                "payload": {"result": "excluded"},
            },
        ]
        for pk in range(1, n + 1, 10)
    }


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def _offline_route(blocked: list[str]) -> Any:
    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    return route


_ZOOM_JS = """(steps) => new Promise(resolve => {
    const m = window.geoverifyMap.map, out = [];
    let k = 0;
    function next() {
        if (k >= steps.length) { resolve(out); return; }
        const t = performance.now();
        m.setZoom(m.getZoom() + steps[k], {animate: false});
        requestAnimationFrame(() => requestAnimationFrame(() => {
            out.push([performance.now() - t, window.geoverifyMap.mode(),
                      window.geoverifyMap.drawn().targets]);
            k += 1;
            next();
        }));
    }
    next();
})"""
#: Zoom steps after the first view: in to street level and back out.
_STEPS = [1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1]


def _browser_times(
    path: Path, repeat: int
) -> tuple[list[float], list[float], list[float], str, list[str]]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    ready: list[float] = []
    wall: list[float] = []
    zoom: list[float] = []
    modes: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        version = str(browser.version)
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            blocked: list[str] = []
            page.route("**/*", _offline_route(blocked))
            t0 = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_function(
                "window.geoverifyMap && window.geoverifyMap.ready", timeout=120_000
            )
            wall.append(time.perf_counter() - t0)
            ready.append(float(page.evaluate("window.geoverifyMap.readyAt")) / 1000)
            drawn = page.evaluate("window.geoverifyMap.drawn().targets")
            if blocked or drawn != page.evaluate("window.geoverifyMap.total.targets"):
                msg = f"benchmark page misbehaved: blocked={blocked[:3]} drawn={drawn}"
                raise RuntimeError(msg)
            for ms, mode, _ in page.evaluate(_ZOOM_JS, _STEPS):
                zoom.append(float(ms) / 1000)
                modes.append(str(mode))
            page.close()
        browser.close()
    return ready, wall, zoom, version, modes


def _measure(
    villages: gpd.GeoDataFrame, groups: gpd.GeoDataFrame, n: int, repeat: int
) -> dict[str, Any]:
    targets = synthetic_targets(villages, n)
    coverage = pd.DataFrame(
        {"code": villages["code"], "covered_pct": np.linspace(2, 90, len(villages))}
    )
    history = _history(n)
    builds = []
    html = ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        html = maps.build_map(
            villages,
            targets,
            groups=groups,
            coverage=coverage,
            history=history,
            illustrative=True,
            as_of=TODAY,
        )
        builds.append(time.perf_counter() - t0)
    size = len(html.encode("utf-8"))
    with tempfile.TemporaryDirectory(prefix="geoverify-bench-") as tmp:
        path = maps.write_map(Path(tmp) / "bench.html", html)
        ready, wall, zoom, version, modes = _browser_times(path, repeat)
    return {
        "n": n,
        "history": len(history),
        "builds": builds,
        "size": size,
        "ready": ready,
        "wall": wall,
        "zoom": zoom,
        "modes": modes,
        "version": version,
    }


def _fmt_runs(values: list[float], unit: str, scale: float = 1.0, fmt: str = ".2f") -> str:
    med = statistics.median(values)
    return (
        f"{med * scale:{fmt}} {unit} (min {min(values) * scale:{fmt}}, "
        f"max {max(values) * scale:{fmt}})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS_map.md")
    args = parser.parse_args(argv)

    villages = gpd.read_file(SAMPLE, layer="villages")
    groups = gpd.read_file(SAMPLE, layer="groups")
    results = [_measure(villages, groups, n, args.repeat) for n in args.targets]

    goals = {
        "build": (2.0, "s"),
        "size": (10 * 1024 * 1024, "bytes"),
        "zoom": (0.3, "s"),
    }
    now = dt.datetime.now(dt.UTC).astimezone()
    lines = [
        "# Map benchmark results (issue 10, goal 5: maps at district size)",
        "",
        "Written by `benchmarks/bench_map.py`; do not edit by hand. "
        "Headless Chromium, software rendering (`--disable-gpu`), network blocked. "
        f"{len(villages)} sample villages, {len(groups)} groups; synthetic targets in every "
        "status, 1 in 10 with two history events. Medians of "
        f"{args.repeat} runs (min, max); the zoom redraw is timed over "
        f"{len(_STEPS)} steps per run (in to street level and back out), from `setZoom` to the "
        "second animation frame.",
        "",
        f"- date: {now:%Y-%m-%d %H:%M %Z}",
        f"- machine: {_machine()}",
        f"- Python {platform.python_version()}, Chromium {results[0]['version']}, "
        "geoverify maps with Leaflet 1.9.4",
        f"- command: `python benchmarks/bench_map.py --targets "
        f"{' '.join(str(n) for n in args.targets)} --repeat {args.repeat}`",
        "",
        "| targets | build_map | HTML size | ready in Chromium (page clock) | zoom redraw "
        "(all steps) | drawn as | goals met (build < 2 s, < 10 MiB, redraw < 300 ms) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        med_build = statistics.median(r["builds"])
        med_zoom = statistics.median(r["zoom"])
        met = [
            "build " + ("yes" if med_build < goals["build"][0] else "NO"),
            "size " + ("yes" if r["size"] < goals["size"][0] else "NO"),
            "redraw " + ("yes" if max(r["zoom"]) < goals["zoom"][0] else "NO"),
        ]
        modes = ", ".join(sorted(set(r["modes"])))
        lines.append(
            f"| {r['n']:,} | {_fmt_runs(r['builds'], 's')} | "
            f"{r['size'] / 1024 / 1024:.2f} MiB | {_fmt_runs(r['ready'], 's')} | "
            f"{med_zoom * 1000:.0f} ms (min {min(r['zoom']) * 1000:.0f}, "
            f"max {max(r['zoom']) * 1000:.0f}) | {modes} | {'; '.join(met)} |"
        )
    lines += [
        "",
        "`drawn as`: `grid` = targets gathered into screen-space cells with their count (many in "
        "view), `markers` = each target drawn (few in view).",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
