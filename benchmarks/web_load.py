"""Load on the web app: many phones answering targets at once (issue 11, item 8).

Starts ``geoverify serve`` on loopback on a fresh workspace with a dispatched batch of
synthetic targets, then runs N clients (threads, each its own login and HTTP connection) that
answer their own share of targets through ``POST /api/v1/targets/{id}/feedback`` for a fixed
time; one answer in ten is sent twice with the same submission UUID (a phone re-sending on a
bad network). Afterwards it checks the store: every accepted answer is recorded exactly once,
no answer is lost, and the re-sent ones got the first answer back. It writes the request
count, the error count and p50/p90/p99 latency to ``benchmarks/RESULTS_web.md``.

    python benchmarks/web_load.py --clients 50 --seconds 60 --workers 1 2
    python benchmarks/web_load.py --clients 50 --seconds 60 --workers 1 2 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/geoverify_bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS_web.md"
PASSWORD = "bench-password-1"


def _gv(ws: Path, url: str | None, *args: str, stdin: str | None = None) -> str:
    cmd = [sys.executable, "-m", "geoverify", "--workspace", str(ws), "--by", "bench"]
    if url:
        cmd += ["--database-url", url]
    res = subprocess.run(
        [*cmd, *args], input=stdin, capture_output=True, text=True, check=False, cwd=ROOT
    )
    if res.returncode != 0:
        raise SystemExit(f"geoverify {' '.join(args)} failed:\n{res.stderr}")
    return res.stdout


def _targets_csv(path: Path, n: int, seed: int) -> None:
    """``n`` targets at random points inside the bundled villages."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from geoverify.workflows import sample_boundaries

    villages = gpd.read_file(sample_boundaries(), layer="villages").to_crs(4490)
    town = shapely.union_all(villages.geometry.to_numpy())
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = town.bounds
    out: list[tuple[float, float]] = []
    prepared = shapely.prepared.prep(town)
    while len(out) < n:
        x = rng.uniform(minx, maxx, n)
        y = rng.uniform(miny, maxy, n)
        inside = [prepared.contains(shapely.Point(a, b)) for a, b in zip(x, y, strict=True)]
        out += [(a, b) for a, b, ok in zip(x, y, inside, strict=True) if ok]
    lines = ["靶标编号,经度,纬度"] + [
        f"LOAD-{i:06d},{lon:.6f},{lat:.6f}" for i, (lon, lat) in enumerate(out[:n], start=1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)  # submission ids answered 200 first time
    replays: int = 0
    replay_mismatch: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(base: str, user: str, targets: list[str], stop: float, tally: Tally) -> None:
    http = httpx.Client(base_url=base, timeout=60.0)
    try:
        res = http.post("/api/v1/session", json={"name": user, "password": PASSWORD})
        res.raise_for_status()
        csrf = res.json()["csrf_token"]
        rng = random.Random(user)
        for n, target in enumerate(targets):
            if time.monotonic() >= stop:
                break
            key = str(uuid.uuid4())
            result = rng.choice(["excluded", "not_found"])
            data = {
                "submission": key,
                "result": result,
                "verified_on": "2024-03-12",
                "verified_by": f"{user}核查员",
            }
            if result == "excluded":  # an exclusion says what the site really is
                data["remarks"] = "油菜"
            for attempt in range(2 if n % 10 == 0 else 1):
                t0 = time.perf_counter()
                try:
                    r = http.post(
                        f"/api/v1/targets/{target}/feedback",
                        data=data,
                        headers={"X-CSRF-Token": csrf},
                    )
                except httpx.HTTPError as e:
                    with tally.lock:
                        tally.errors.append(f"{target}: {type(e).__name__}: {e}")
                    continue
                took = time.perf_counter() - t0
                with tally.lock:
                    tally.latencies.append(took)
                    if r.status_code != 200:
                        tally.errors.append(f"{target}: {r.status_code} {r.text[:200]}")
                    elif attempt == 0:
                        tally.accepted.add(key)
                        first = r.json()
                    else:
                        tally.replays += 1
                        if r.json() != first or r.headers.get("Idempotent-Replayed") != "true":
                            tally.replay_mismatch += 1
    finally:
        http.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def run(
    clients: int, seconds: float, targets: int, url: str | None, workers: int = 1
) -> dict[str, Any]:
    """One run on a fresh SQLite workspace, or on a fresh schema of the PostGIS database."""
    if url is None:
        return _run(clients, seconds, targets, None, workers)
    import sqlalchemy as sa

    schema = f"load_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    try:
        return _run(
            clients,
            seconds,
            targets,
            f"{url}{sep}options=-csearch_path%3D{schema},public",
            workers,
        )
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _run(
    clients: int, seconds: float, targets: int, url: str | None, workers: int
) -> dict[str, Any]:
    from geoverify.store import Store, repo
    from geoverify.store import tables_web as tw

    with tempfile.TemporaryDirectory(prefix="geoverify-load-") as tmp:
        ws = Path(tmp) / "ws"
        csv = Path(tmp) / "load.csv"
        _targets_csv(csv, targets, seed=11)
        _gv(ws, url, "init")
        _gv(ws, url, "batch", "import", str(csv), "--batch", "load", "--issued", "2024-03-05")
        _gv(ws, url, "dispatch", "--batch", "load", "--out", str(Path(tmp) / "dispatch"))
        for i in range(clients):
            _gv(ws, url, "users", "add", f"office{i:02d}", "--role", "office", stdin=PASSWORD)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GEOVERIFY_")}
        cmd = [sys.executable, "-m", "geoverify", "--workspace", str(ws)]
        if url:
            cmd += ["--database-url", url]
        server = subprocess.Popen(
            [*cmd, "serve", "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_up(base)
            ids = [f"LOAD-{i:06d}" for i in range(1, targets + 1)]
            shares = [ids[i::clients] for i in range(clients)]
            tally = Tally()
            stop = time.monotonic() + seconds
            started = time.monotonic()
            threads = [
                threading.Thread(
                    target=_client, args=(base, f"office{i:02d}", shares[i], stop, tally)
                )
                for i in range(clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=60)
        store = Store(ws, url=url)
        try:
            with store.connect() as conn:
                events = repo.load_events(conn, batch_id="load")
                n_sub = conn.execute(tw.submissions.select()).all()
        finally:
            store.dispose()
        answered = events[events["kind"] == "verified"]
        per_target = answered.groupby("target_id").size()
        keys = {e["submission"] for e in answered["payload"] if isinstance(e, dict)}
    lat = tally.latencies
    return {
        "clients": clients,
        "workers": workers,
        "seconds": round(elapsed, 1),
        "targets": targets,
        "requests": len(lat),
        "requests_per_s": round(len(lat) / elapsed, 1),
        "accepted": len(tally.accepted),
        "replays": tally.replays,
        "replay_mismatch": tally.replay_mismatch,
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
        "recorded_answers": len(answered),
        "targets_answered_twice": int((per_target > 1).sum()),
        "lost": len(tally.accepted - keys),
        "unexpected_recorded": len(keys - tally.accepted),
        "submission_rows": len(n_sub),
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "p90_ms": round(1000 * _percentile(lat, 0.90), 1) if lat else None,
        "p99_ms": round(1000 * _percentile(lat, 0.99), 1) if lat else None,
        "store": "PostgreSQL + PostGIS" if url else "SQLite",
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the web app did not start")
        time.sleep(0.2)


def write_results(results: list[dict[str, Any]]) -> None:
    lines = [
        "# Web load results",
        "",
        "Written by `benchmarks/web_load.py`; do not edit by hand.",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()} (shared with other work while it ran)",
        f"- Python {platform.python_version()}; one `geoverify serve` process (uvicorn), "
        "the clients in threads of another process, on loopback",
        "",
        "| store | server workers | clients | seconds | requests | req/s | accepted | re-sent "
        "| errors | recorded | doubled | lost | p50 ms | p90 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['store']} | {r['workers']} | {r['clients']} | {r['seconds']} | {r['requests']} "
            f"| {r['requests_per_s']} | {r['accepted']} | {r['replays']} | {r['errors']} "
            f"| {r['recorded_answers']} | {r['targets_answered_twice']} | {r['lost']} "
            f"| {r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} |"
        )
    lines += [
        "",
        "*accepted*: first sends answered 200; *re-sent*: the same submission sent again, which "
        "must get the first answer back (mismatches: "
        + ", ".join(str(r["replay_mismatch"]) for r in results)
        + "); *recorded*: answers in the store's history; *doubled*: targets answered twice; "
        "*lost*: accepted answers missing from the history.",
        "",
        "```json",
        json.dumps(results, ensure_ascii=False, indent=2),
        "```",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--targets", type=int, default=20_000)
    ap.add_argument("--database-url", default=os.environ.get("GEOVERIFY_BENCH_DATABASE_URL"))
    ap.add_argument("--sqlite-only", action="store_true")
    ap.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="server worker processes to try"
    )
    args = ap.parse_args(argv)
    results = []
    urls = [None] + ([args.database_url] if args.database_url and not args.sqlite_only else [])
    for url in urls:
        for workers in args.workers:
            results.append(run(args.clients, args.seconds, args.targets, url, workers))
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    write_results(results)
    ok = all(
        r["errors"] == 0
        and r["lost"] == 0
        and r["targets_answered_twice"] == 0
        and r["replay_mismatch"] == 0
        and r["unexpected_recorded"] == 0
        for r in results
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
