"""`geoverify batch import --engine dask [--scheduler ADDRESS]`: the same import as in-process.

Two workspaces (on SQLite, or two schemas on PostGIS) import the same file, one with the
default engine and one on a local dask cluster of two worker processes reached by its TCP
address; the JSON answer and every stored target are the same. A scheduler that cannot be
reached stops the import before anything is read or written.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from distributed import LocalCluster

from geoverify import engines
from geoverify.workflows.common import sample_boundaries
from tests.conftest import Cli, postgis_schema_url, snapshot


@pytest.fixture
def other(tmp_path: Path, backend: str) -> Iterator[Cli]:
    """A second workspace on the same backend."""
    urls = postgis_schema_url() if backend == "postgis" else None
    url = next(urls) if urls is not None else None
    cli = Cli(tmp_path / "ws2", url)
    try:
        yield cli
    finally:
        cli.close()
        if urls is not None:
            next(urls, None)


@pytest.fixture(scope="module")
def batch_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 targets over the sample town and around it, a third near a boundary."""
    import geopandas as gpd

    villages = gpd.read_file(sample_boundaries(), layer="villages")
    rng = np.random.default_rng(10)
    x0, y0, x1, y1 = villages.total_bounds
    n = 2000
    xy = np.column_stack(
        [rng.uniform(x0 - 0.005, x1 + 0.005, n), rng.uniform(y0 - 0.005, y1 + 0.005, n)]
    )
    edge = shapely.get_coordinates(villages.geometry.boundary.to_numpy())
    pick = rng.choice(len(edge), n // 3)
    xy[: n // 3] = edge[pick] + rng.normal(0.0, 2e-4, (n // 3, 2))
    path = tmp_path_factory.mktemp("dask") / "batch_dask.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("靶标编号,经度,纬度\n")
        fh.writelines(f"D{i:05d},{x:.7f},{y:.7f}\n" for i, (x, y) in enumerate(xy))
    return path


def _import(run: Cli, path: Path, *args: str) -> dict[str, Any]:
    res = run(
        "batch",
        "import",
        str(path),
        "--batch",
        "2024-05",
        "--issued",
        "2024-05-02",
        *args,
        "--json",
    )
    assert res.exit_code == 0, res.output
    return dict(json.loads(res.stdout))


def _stored(run: Cli) -> list[dict[str, Any]]:
    res = run("targets", "list", "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    return sorted(
        ({k: v for k, v in t.items() if not k.endswith("_at")} for t in rows),
        key=lambda t: t["target_id"],
    )


@pytest.fixture
def small_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partitions of a few hundred targets, so that 2,000 make several."""
    monkeypatch.setattr(engines, "MIN_PARTITION_TARGETS", 300)


def test_dask_cluster_import_stores_what_a_local_import_stores(
    run: Cli, other: Cli, batch_csv: Path, dask_cluster: LocalCluster, small_partitions: None
) -> None:
    assert run("init").exit_code == 0
    assert other("init").exit_code == 0
    local = _import(run, batch_csv)
    dask = _import(
        other, batch_csv, "--engine", "dask", "--scheduler", dask_cluster.scheduler_address
    )
    assert dask == local
    assert local["imported"] == 2000
    assert sum(1 for v in local["assignment"].values() if v) >= 4
    stored = _stored(run)
    assert len(stored) == 2000
    assert _stored(other) == stored


def test_dask_engine_in_process_imports_the_same_assignments(
    run: Cli, other: Cli, batch_csv: Path, small_partitions: None
) -> None:
    assert run("init").exit_code == 0
    assert other("init").exit_code == 0
    assert _import(other, batch_csv, "--engine", "dask") == _import(run, batch_csv)
    assert _stored(other) == _stored(run)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_changes_nothing(run: Cli, batch_csv: Path) -> None:
    assert run("init").exit_code == 0
    store = run.store()
    before = snapshot(store)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    args = ["batch", "import", str(batch_csv), "--batch", "2024-05", "--engine", "dask"]
    res = run(*args, "--scheduler", address)
    assert res.exit_code == 1
    assert address in res.stderr and "无法连接 dask 调度器" in res.stderr
    assert "cannot reach the dask scheduler" in res.stderr
    res = run(*args, "--scheduler", address, "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["status"] == "error" and doc["kind"] == "EngineError" and address in doc["error"]
    assert snapshot(store) == before


def test_scheduler_needs_the_dask_engine(run: Cli, batch_csv: Path) -> None:
    assert run("init").exit_code == 0
    store = run.store()
    before = snapshot(store)
    res = run("batch", "import", str(batch_csv), "--batch", "2024-05", "--scheduler", "tcp://h:1")
    assert res.exit_code == 2
    assert "--engine dask" in res.stderr
    res = run("batch", "import", str(batch_csv), "--batch", "2024-05", "--engine", "spark")
    assert res.exit_code == 2
    assert snapshot(store) == before


_WITHOUT_DASK = """
import sys
sys.modules["dask_geopandas"] = None  # as if not installed: importing it raises ImportError
from geoverify.cli import cli
try:
    cli(sys.argv[1:], prog_name="geoverify")
except SystemExit as e:
    print("exit", e.code, "dask" in sys.modules, file=sys.stderr)
"""


def test_without_dask_installed_the_dask_engine_says_how_to_install_it(
    tmp_path: Path, batch_csv: Path
) -> None:
    """Run as a fresh interpreter in which dask-geopandas cannot be imported."""
    ws = str(tmp_path / "ws")

    def geoverify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", _WITHOUT_DASK, "--workspace", ws, *args],
            capture_output=True,
            text=True,
            check=False,
        )

    assert "exit 0" in geoverify("init").stderr
    res = geoverify("batch", "import", str(batch_csv), "--batch", "2024-05", "--engine", "dask")
    assert "exit 1" in res.stderr
    assert "pip install 'geoverify[dask]'" in res.stderr and "dask_geopandas" in res.stderr
    res = geoverify("batch", "import", str(batch_csv), "--batch", "2024-05", "--json")
    assert "exit 0 False" in res.stderr  # the local engine neither needs nor imports dask
    assert json.loads(res.stdout)["imported"] == 2000
