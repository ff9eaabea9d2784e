"""Backup and restore (issue 11, item 5), on SQLite and PostGIS, with a writer running.

A separate process keeps adding self-found targets with a photo each while the backup runs.
The restored store must be the original as it was at one moment: the same rows in every
table for what existed then (a prefix of the writer's work, every target with its event and
its photo), the row counts of the manifest, and evidence files with the same SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from geoverify.errors import InputError, StoreError
from geoverify.store import Store
from geoverify.store import tables as t
from geoverify.workflows import init_workspace
from geoverify.workflows.backup import backup_store, restore_store
from tests.conftest import Cli

WRITER = textwrap.dedent(
    """
    import io, sys
    from pathlib import Path
    from PIL import Image
    from geoverify.store import Store
    from geoverify.workflows.evidence import add_evidence
    from geoverify.workflows.sites import add_target

    ws, url, stop = sys.argv[1], sys.argv[2] or None, Path(sys.argv[3])
    store = Store(ws, url=url)
    for i in range(1, 301):
        if stop.exists():
            break
        added = add_target(
            store, source="self", lon=106.03 + i * 1e-5, lat=29.70, remarks=f"writer {i}",
            actor="writer",
        )
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), (i % 256, i // 256, 99)).save(buf, format="PNG")
        photo = Path(ws) / f"photo{i}.png"
        photo.write_bytes(buf.getvalue())
        add_evidence(store, added.target_id, [photo], actor="writer")
        print(f"step {i} {added.target_id}", flush=True)
    store.dispose()
    """
)


def _value(v: Any) -> Any:
    if hasattr(v, "wkb_hex"):
        return v.wkb_hex
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    return v


def table_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as comparable tuples, sorted."""
    out = {}
    with store.connect() as conn:
        for table in t.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(
                (tuple(_value(v) for v in r) for r in rows), key=lambda r: repr(r)
            )
    return out


def evidence_hashes(store: Store) -> dict[str, str]:
    with store.connect() as conn:
        paths = conn.execute(select(t.metadata.tables["evidence"].c.stored_path)).scalars().all()
    return {p: hashlib.sha256((store.workspace / p).read_bytes()).hexdigest() for p in paths}


def _start_writer(ws: Path, url: str | None, stop: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(ws), url or "", str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_step(proc: subprocess.Popen[str], n: int) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(f"step {n} "):
            return
    pytest.fail(f"the writer stopped before step {n}: {proc.stderr.read() if proc.stderr else ''}")


def _as_of_backup(original: dict[str, list[tuple]], restored: dict[str, list[tuple]]) -> dict:
    """The original's rows restricted to what existed at the backup: targets, their issues,
    events and evidence up to the restored ones' largest id (the writer only appends)."""
    out = {}
    for name, rows in original.items():
        if rows and name in ("targets", "events", "evidence"):
            last = max((r[0] for r in restored[name]), default=0)
            rows = [r for r in rows if r[0] <= last]
        out[name] = rows
    return out


def test_backup_while_a_writer_runs_restores_the_original(
    tmp_path: Path, database_url: str | None
) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, url=database_url, actor="pytest")
    store = Store(ws, url=database_url)
    stop = tmp_path / "stop"
    proc = _start_writer(ws, database_url, stop)
    seen: list[str] = []

    def writes_meanwhile(phase: str, done: int, total: int | None) -> None:
        # Once the snapshot is taken (on PostgreSQL: while it is held, before pg_dump runs),
        # the writer adds two more targets with photos before the backup goes on.
        seen.append(phase)
        if phase == "snapshot":
            with store.connect() as conn:
                live = conn.execute(select(sa.func.count()).select_from(t.targets)).scalar_one()
            _wait_for_step(proc, int(live) + 2)

    try:
        _wait_for_step(proc, 3)
        res = backup_store(store, tmp_path / "backup.tar", progress=writes_meanwhile)
        stop.touch()
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert seen[0] == "snapshot"
    assert res.counts["targets"] >= 3 and res.evidence_files == res.counts["evidence"]

    original = table_rows(store)
    original_files = evidence_hashes(store)
    store.dispose()
    if database_url is not None:
        # PostgreSQL restores into an empty schema of the same name: empty this one.
        engine = sa.create_engine(database_url)
        with engine.begin() as conn:
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
    target = Store(tmp_path / "restored", url=database_url)
    try:
        done = restore_store(target, tmp_path / "backup.tar")
        restored = table_rows(target)
        restored_files = evidence_hashes(target)
    finally:
        target.dispose()

    # The writer went on after the snapshot: the original holds more than the backup.
    assert len(original["targets"]) >= res.counts["targets"] + 2
    assert done.counts == res.counts
    assert {k: len(v) for k, v in restored.items()} == res.counts
    assert restored == _as_of_backup(original, restored)
    # Every restored target and photo has its event (written in the same transaction): the
    # snapshot is not torn. The backup may fall between a target and its photo.
    n, photos = res.counts["targets"], res.counts["evidence"]
    assert photos in (n - 1, n)
    kinds = [r[6] for r in restored["events"]]
    assert kinds.count("added") == n and kinds.count("evidence_added") == photos
    assert restored_files == {p: original_files[p] for p in restored_files}
    assert len(restored_files) == photos


def test_cli_backup_restore_and_refusals(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    out = tmp_path / "b.tar.gz"
    res = run("backup", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["counts"]["villages"] == 13 and doc["path"] == str(out)
    # OUT is never overwritten.
    res = run("backup", str(out))
    assert res.exit_code == 1 and "already exists" in res.output
    # A store is never overwritten by a restore.
    res = run("restore", str(out))
    assert res.exit_code == 1
    assert "restore into an empty" in res.output
    # Not a backup.
    junk = tmp_path / "junk.tar"
    with tarfile.open(junk, "w") as tar:
        info = tarfile.TarInfo("x.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    other = Cli(tmp_path / "other", None)
    try:
        res = other("restore", str(junk))
        assert res.exit_code == 1 and "not a geoverify backup" in res.output
        if run.url is None:
            res = other("restore", str(out), "--json")
            assert res.exit_code == 0, res.output
            assert json.loads(res.stdout)["verified"] is True
            assert other("villages", "list").exit_code == 0
        else:
            # A PostgreSQL backup does not restore into an SQLite workspace.
            res = other("restore", str(out))
            assert res.exit_code == 1 and "postgresql backup restores into a postgresql" in (
                res.output
            )
    finally:
        other.close()


def test_a_tampered_backup_is_refused_and_nothing_is_left_on_sqlite(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, actor="pytest")
    store = Store(ws)
    try:
        backup_store(store, tmp_path / "b.tar")
    finally:
        store.dispose()
    # Change the database inside the archive: the restore's row counts no longer match.
    with tarfile.open(tmp_path / "b.tar") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    manifest = json.loads(members["manifest.json"])
    manifest["counts"]["villages"] = 99
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(tmp_path / "bad.tar", "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = Store(tmp_path / "r")
    try:
        with pytest.raises(StoreError, match="row counts differ"):
            restore_store(target, tmp_path / "bad.tar")
    finally:
        target.dispose()
    assert not (tmp_path / "r" / "geoverify.sqlite").exists()
    assert not list((tmp_path / "r").rglob("*.tif"))
    with pytest.raises(InputError, match="not found"):
        restore_store(Store(tmp_path / "r2"), tmp_path / "nope.tar")
