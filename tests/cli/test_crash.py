"""``kill -9`` in the middle of a batch import, a feedback import and a dispatch, on SQLite and
PostGIS: the store holds all of the work or none of it, and stays sound.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from geoverify.store import Store, repo
from geoverify.store.database import WRITE_LOCK_KEY
from geoverify.workflows import import_batch, init_workspace, list_targets
from geoverify.workflows.dispatch import dispatch_batch
from tests.cli.feedback_helpers import fill
from tests.synthetic import batch_csv

N = 2500
#: Seconds after the process has taken the write lock at which it is killed.
KILL_AFTER = (0.0, 0.4)


def _cmd(ws: Path, url: str | None, *args: str) -> list[str]:
    base = [sys.executable, "-m", "geoverify", "--workspace", str(ws), "--by", "pytest"]
    return [*base, *(["--database-url", url] if url else []), *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GEOVERIFY_")}


def _writing(ws: Path, url: str | None) -> bool:
    """True while another process holds the store's write lock (it is inside its write)."""
    if url is None:
        engine = sa.create_engine(f"sqlite:///{ws / 'geoverify.sqlite'}", poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                except sa.exc.OperationalError:
                    return True
                conn.exec_driver_sql("ROLLBACK")
                return False
        finally:
            engine.dispose()
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            got = conn.execute(
                sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY}
            ).scalar_one()
            return not got
    finally:
        engine.dispose()


def _kill_while_writing(cmd: list[str], ws: Path, url: str | None, after: float) -> int | None:
    """Run ``cmd``; once it holds the write lock, SIGKILL it ``after`` seconds later.

    Returns the exit code when it finished before that, else None (killed while writing).
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and not _writing(ws, url):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        if proc.poll() is not None:
            return proc.returncode
        time.sleep(after)
        if proc.poll() is not None:
            return proc.returncode
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _sound(store: Store) -> None:
    """The SQLite file passes its own integrity check."""
    if store.sqlite_path is None:
        return
    engine = sa.create_engine(f"sqlite:///{store.sqlite_path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    engine.dispose()


def _counts(ws: Path, url: str | None) -> dict[str, int]:
    store = Store(ws, url=url)
    try:
        _sound(store)
        with store.connect() as conn:
            return repo.count_rows(conn)
    finally:
        store.dispose()


@pytest.fixture
def big_batch(tmp_path: Path) -> Path:
    return batch_csv(tmp_path / "大批次.csv", N)


@pytest.mark.parametrize("after", KILL_AFTER)
def test_kill_during_batch_import(
    tmp_path: Path, database_url: str | None, big_batch: Path, after: float
) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, url=database_url, actor="pytest")
    empty = _counts(ws, database_url)
    code = _kill_while_writing(
        _cmd(ws, database_url, "batch", "import", str(big_batch), "--batch", "b"),
        ws,
        database_url,
        after,
    )
    counts = _counts(ws, database_url)
    print(f"killed after {after} s: exit {code}, {counts['targets']} targets")
    if counts["targets"] == 0:
        assert counts == empty  # nothing of it, not even its import record or events
    else:
        assert counts["targets"] == N
        assert counts["batches"] == 1 and counts["target_issues"] == N
        assert counts["events"] == empty["events"] + N + 1
    if code is not None:
        assert code == 0 and counts["targets"] == N
    # Whatever happened, the same import now finishes or says it is done.
    res = subprocess.run(
        _cmd(ws, database_url, "batch", "import", str(big_batch), "--batch", "b"),
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert _counts(ws, database_url)["targets"] == N


def _imported(tmp_path: Path, url: str | None, batch: Path, *, dispatch: bool) -> Path:
    """A workspace with ``batch`` imported (and dispatched to ``tmp_path/out``), in-process."""
    ws = tmp_path / "ws"
    init_workspace(ws, url=url, actor="pytest")
    store = Store(ws, url=url)
    try:
        import_batch(store, batch, batch_id="b", issued_on=dt.date(2024, 3, 5), actor="pytest")
        if dispatch:
            dispatch_batch(store, batch="b", out=tmp_path / "out", actor="pytest")
    finally:
        store.dispose()
    return ws


@pytest.mark.parametrize("after", KILL_AFTER[:1])
def test_kill_during_dispatch(
    tmp_path: Path, database_url: str | None, big_batch: Path, after: float
) -> None:
    ws = _imported(tmp_path, database_url, big_batch, dispatch=False)
    _kill_while_writing(
        _cmd(ws, database_url, "dispatch", "--batch", "b", "--out", str(tmp_path / "o")),
        ws,
        database_url,
        after,
    )
    store = Store(ws, url=database_url)
    try:
        _sound(store)
        statuses = set(list_targets(store, batch="b").frame["status"])
        with store.connect() as conn:
            events = repo.load_events(conn, batch_id="b")
    finally:
        store.dispose()
    n_dispatched = int((events["kind"] == "dispatched").sum())
    assert statuses in ({"issued"}, {"dispatched"})
    assert n_dispatched == (N if statuses == {"dispatched"} else 0)


@pytest.mark.parametrize("after", KILL_AFTER[:1])
def test_kill_during_feedback_import(
    tmp_path: Path, database_url: str | None, after: float
) -> None:
    ws = _imported(
        tmp_path, database_url, batch_csv(tmp_path / "b.csv", 1500, seed=3), dispatch=True
    )
    out = tmp_path / "out"
    book = max(out.glob("*.xlsx"), key=lambda p: p.stat().st_size if p.name != "汇总.xlsx" else 0)
    store = Store(ws, url=database_url)
    try:
        village = book.stem
        ids = [str(t) for t in list_targets(store, batch="b", village=village).frame["target_id"]]
    finally:
        store.dispose()
    assert len(ids) > 100
    filled = tmp_path / book.name
    fill(
        book,
        filled,
        {t: {"核查日期": "2024-03-12", "核查人员": "甲", "核查结果": "排除"} for t in ids},
    )
    before = _counts(ws, database_url)
    code = _kill_while_writing(
        _cmd(ws, database_url, "feedback", "import", str(filled)), ws, database_url, after
    )
    counts = _counts(ws, database_url)
    store = Store(ws, url=database_url)
    try:
        frame = list_targets(store, batch="b", village=village).frame
    finally:
        store.dispose()
    answered = int(frame["result"].notna().sum())
    assert answered in (0, len(ids))
    if answered == 0:
        assert counts == before
    else:
        assert counts["events"] == before["events"] + len(ids)
    if code is not None:
        assert code == 0 and answered == len(ids)
