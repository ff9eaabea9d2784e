"""Writers that run at the same time (the web app makes this routine), on SQLite and PostGIS.

Each test holds the store's write lock while it starts two ``geoverify`` processes, so that both
have read the store before either may write — the situation in which, before every writer took
the lock before reading, repeat sites went unseen and the loser of a race died with a
traceback. Then it lets them go.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from geoverify.store import Store, repo
from geoverify.workflows import init_workspace, sample_path

MARCH = sample_path("samples", "district_batch_2024-03.geojson")
APRIL = sample_path("samples", "district_batch_2024-04.csv")
#: The longest the test waits for the writers to say that they wait.
WAIT_S = 180.0
WAITING = "另一个写入操作正在进行"


def _start(ws: Path, url: str | None, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOVERIFY_")}
    base = [sys.executable, "-m", "geoverify", "--workspace", str(ws), "--by", "pytest"]
    if url:
        base += ["--database-url", url]
    return subprocess.Popen(
        [*base, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _race(ws: Path, url: str | None, *commands: list[str]) -> list[tuple[int, Any, str]]:
    """Start every command while the write lock is held, let go once each says it waits;
    their exit codes, JSON and stderr."""
    store = Store(ws, url=url)
    try:
        with store.begin():
            procs = [_start(ws, url, *cmd) for cmd in commands]
            errs: list[list[str]] = [[] for _ in procs]
            readers = [
                threading.Thread(target=_read_lines, args=(p, e), daemon=True)
                for p, e in zip(procs, errs, strict=True)
            ]
            for r in readers:
                r.start()
            deadline = time.monotonic() + WAIT_S
            while not all(any(WAITING in line for line in e) for e in errs):
                assert time.monotonic() < deadline, errs
                assert all(p.poll() is None for p in procs), errs
                time.sleep(0.1)
        out = []
        for p, e, r in zip(procs, errs, readers, strict=True):
            assert p.stdout is not None
            stdout = p.stdout.read()
            p.wait(timeout=300)
            r.join(timeout=30)
            p.stdout.close()
            out.append((p.returncode, json.loads(stdout) if stdout.strip() else None, "".join(e)))
        return out
    finally:
        store.dispose()


def _read_lines(proc: subprocess.Popen[str], into: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        into.append(line)
    proc.stderr.close()


def _import(path: Path, batch: str, issued: str) -> list[str]:
    return ["batch", "import", str(path), "--batch", batch, "--issued", issued, "--json"]


def _repeat_sites(ws: Path, url: str | None) -> int:
    store = Store(ws, url=url)
    try:
        with store.connect() as conn:
            return int(repo.load_targets(conn)["repeat_of"].notna().sum())
    finally:
        store.dispose()


@pytest.fixture
def ws(tmp_path: Path, database_url: str | None) -> Path:
    path = tmp_path / "ws"
    init_workspace(path, url=database_url, actor="pytest")
    return path


def test_two_imports_at_once_see_each_others_repeat_sites(
    ws: Path, database_url: str | None, tmp_path: Path
) -> None:
    # The sequential runs, in either order, on their own stores (SQLite is enough for that).
    expected = set()
    for name, order in (("ab", [(MARCH, "m"), (APRIL, "a")]), ("ba", [(APRIL, "a"), (MARCH, "m")])):
        seq = tmp_path / f"seq-{name}"
        init_workspace(seq, actor="pytest")
        for path, batch in order:
            proc = _start(seq, None, *_import(path, batch, "2024-04-02"))
            proc.communicate(timeout=300)
            assert proc.returncode == 0
        expected.add(_repeat_sites(seq, None))
    assert max(expected) > 0
    results = _race(
        ws,
        database_url,
        _import(MARCH, "m", "2024-04-02"),
        _import(APRIL, "a", "2024-04-02"),
    )
    for code, doc, err in results:
        assert code == 0, err
        assert doc["status"] == "imported"
        assert "Traceback" not in err
        assert WAITING in err  # each said that it waits for the other writer
    assert _repeat_sites(ws, database_url) in expected


def test_the_same_file_twice_at_once(ws: Path, database_url: str | None) -> None:
    results = _race(
        ws,
        database_url,
        _import(MARCH, "2024-03", "2024-03-05"),
        _import(MARCH, "2024-03", "2024-03-05"),
    )
    assert [code for code, _, _ in results] == [0, 0], [e for _, _, e in results]
    assert sorted(doc["status"] for _, doc, _ in results) == ["already_imported", "imported"]
    assert all("Traceback" not in err for _, _, err in results)


def test_the_same_batch_id_for_two_files_at_once(ws: Path, database_url: str | None) -> None:
    results = _race(
        ws,
        database_url,
        _import(MARCH, "2024-03", "2024-03-05"),
        _import(APRIL, "2024-03", "2024-03-05"),
    )
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], [e for _, _, e in results]
    loser = next(r for r in results if r[0] == 1)
    assert loser[1]["status"] == "error"
    assert "已用于另一个文件" in loser[2]
    assert all("Traceback" not in err for _, _, err in results)


def test_a_small_change_waits_for_a_long_write(ws: Path, database_url: str | None) -> None:
    [(code, doc, err)] = _race(
        ws,
        database_url,
        ["targets", "add", "--source", "self", "--lon", "106.03", "--lat", "29.70", "--json"],
    )
    assert code == 0, err
    assert WAITING in err
    assert doc["target_id"]
