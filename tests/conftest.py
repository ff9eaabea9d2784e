"""Shared fixtures: stores on SQLite and PostGIS, workspaces, the CLI runner."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from geoverify.store import Store, repo

TEST_DB_ENV = "GEOVERIFY_TEST_DATABASE_URL"
REQUIRE_ALL_ENV = "GEOVERIFY_REQUIRE_ALL"


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where everything must be present."""
    if os.environ.get(REQUIRE_ALL_ENV):
        pytest.fail(f"{reason} (required because {REQUIRE_ALL_ENV} is set)")
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With ``GEOVERIFY_REQUIRE_ALL`` set, every skip is a failure.

    That covers ``pytest.skip``, ``skipif`` marks and ``importorskip`` alike: in CI a missing
    program (Chromium, LibreOffice), kernel, extension or sample file must fail the run, not
    quietly shrink it. An expected failure (``xfail``) is left alone.
    """
    outcome: Any = yield
    report = outcome.get_result()
    if not (os.environ.get(REQUIRE_ALL_ENV) and report.skipped) or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else longrepr
    report.outcome = "failed"
    report.longrepr = f"skipped, but {REQUIRE_ALL_ENV} is set, so this is a failure: {reason}"


def load_migration(revision: str) -> Any:
    """The module of one migration (its file name starts with a digit: no plain import)."""
    import importlib.util

    from geoverify.store import migrations

    folder = Path(migrations.__file__).parent / "versions"
    (path,) = folder.glob(f"{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"geoverify_migration_{revision}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        skip_or_fail(f"{name} is not installed")
    assert path is not None
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never pick up a developer's workspace, database or identity by accident.
    for var in ("GEOVERIFY_WORKSPACE", "GEOVERIFY_DATABASE_URL", "GEOVERIFY_USER"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(params=["sqlite", "postgis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def postgis_schema_url() -> Iterator[str]:
    """A fresh schema on the test PostGIS database (its URL), dropped when the generator ends."""
    base = os.environ.get(TEST_DB_ENV)
    if not base:
        skip_or_fail(f"{TEST_DB_ENV} is not set: no PostGIS to test against")
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema},public"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str | None]:
    """``None`` (the workspace's SQLite file) or a fresh PostGIS schema for this test."""
    if backend == "sqlite":
        yield None
        return
    yield from postgis_schema_url()


@pytest.fixture
def store(tmp_path: Path, database_url: str | None) -> Iterator[Store]:
    """An empty, migrated store."""
    s = Store(tmp_path / "ws", url=database_url)
    s.upgrade()
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def workspace(tmp_path: Path, database_url: str | None) -> Iterator[tuple[Path, str | None]]:
    """A workspace initialised with the bundled sample boundaries."""
    from geoverify.workflows import init_workspace

    ws = tmp_path / "ws"
    init_workspace(ws, url=database_url, actor="pytest")
    yield ws, database_url


@pytest.fixture
def sample_store(workspace: tuple[Path, str | None]) -> Iterator[Store]:
    ws, url = workspace
    s = Store(ws, url=url)
    try:
        yield s
    finally:
        s.dispose()


class Cli:
    """Run ``geoverify`` in-process against one workspace/database."""

    def __init__(self, ws: Path, url: str | None) -> None:
        self.ws = ws
        self.url = url
        self.runner = CliRunner()
        self._store: Store | None = None

    def store(self) -> Store:
        """A store on the same workspace/database, disposed when the test ends."""
        if self._store is None:
            self._store = Store(self.ws, url=self.url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()

    def __call__(self, *args: str, by: str = "pytest") -> Result:
        from geoverify.cli import cli

        base = ["--workspace", str(self.ws), "--by", by]
        if self.url:
            base += ["--database-url", self.url]
        return self.runner.invoke(cli, [*base, *args], catch_exceptions=False)


@pytest.fixture
def run(tmp_path: Path, database_url: str | None) -> Iterator[Cli]:
    cli = Cli(tmp_path / "ws", database_url)
    try:
        yield cli
    finally:
        cli.close()


def users_state(store: Store) -> dict[str, Any]:
    """The users (with their hashes), the sessions and the events' count: what a change of
    accounts would touch."""
    from geoverify.store import tables as t
    from geoverify.store import tables_web as tw

    with store.connect() as conn:
        users = conn.execute(sa.select(tw.users).order_by(tw.users.c.name)).all()
        sessions = conn.execute(sa.select(tw.sessions.c.id).order_by(tw.sessions.c.id)).all()
        events = conn.execute(sa.select(t.events.c.id)).all()
    return {"users": users, "sessions": sessions, "events": len(events)}


def header_texts(cells: Any) -> list[Any]:
    """A workbook's header cells as the headers they name: a header shown on two lines
    ("铲除面积\n（平方米）", see ``documents.xlsx``) is read without its line break."""
    values = [getattr(c, "value", c) for c in cells]
    return [v.replace("\n", "") if isinstance(v, str) else v for v in values]


def snapshot(store: Store) -> dict[str, Any]:
    """Row counts of every table, plus the SQLite file's checksum where there is one."""
    with store.connect() as conn:
        counts = repo.count_rows(conn)
    out: dict[str, Any] = {"counts": counts}
    path = store.sqlite_path
    if path is not None and path.exists():
        store.dispose()  # flush WAL so the main file holds everything
        with sa.create_engine(f"sqlite:///{path}").connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        import hashlib

        out["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``geoverify demo`` run once (SQLite): its ``--json`` document, with ``workspace``."""
    import json

    from geoverify.cli import cli

    ws = tmp_path_factory.mktemp("demo") / "demo-workspace"
    res = CliRunner().invoke(cli, ["--workspace", str(ws), "demo", "--json"])
    assert res.exit_code == 0, res.output
    return dict(json.loads(res.stdout))


# --- assignment -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def town() -> tuple[Any, Any]:
    """The bundled sample's villages and groups, as read from its GeoPackage."""
    import geopandas as gpd

    from geoverify.workflows.common import sample_boundaries

    path = sample_boundaries()
    return gpd.read_file(path, layer="villages"), gpd.read_file(path, layer="groups")


def same_assignments(new: Any, old: Any) -> None:
    """Two ``assign_targets`` results are the same: columns, index (and its name), dtypes;
    codes, groups, kinds and neighbour tuples (or lists) as equal values; distances and
    overlaps bit for bit."""
    import numpy as np

    assert list(new.columns) == list(old.columns)
    assert new.index.equals(old.index)
    assert new.index.name == old.index.name
    assert new.dtypes.equals(old.dtypes)
    for column in new.columns:
        a, b = new[column], old[column]
        if column in ("overlap", "distance_m"):
            np.testing.assert_array_equal(a.to_numpy(float), b.to_numpy(float), err_msg=column)
        else:  # the pre-issue-10 reference has lists where the assignment has tuples
            assert a.map(_as_tuple).map(repr).tolist() == b.map(_as_tuple).map(repr).tolist(), (
                column
            )


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """Two single-threaded worker processes, reached over TCP like a remote cluster.

    The scheduler's HTTP server takes a free port (``None`` still meant 8787, so two test
    workers' clusters collided)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster
