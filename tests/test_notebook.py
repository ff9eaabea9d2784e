"""The walk-through notebook runs top to bottom and shows the map (nbclient, kernel python3)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_walkthrough.ipynb"


def test_notebook_is_committed_without_outputs() -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_notebook_runs_and_shows_the_map(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no Jupyter kernel 'python3' (python -m ipykernel install --sys-prefix)")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "批次 2024-03: 导入 60 个靶标" in texts
    assert "地图已写入 (map written)" in texts
    html_outputs = [
        o["data"]["text/html"]
        for o in outputs
        if o.output_type in ("display_data", "execute_result") and "text/html" in o.get("data", {})
    ]
    maps = [h for h in html_outputs if "<iframe srcdoc=" in h]
    assert len(maps) == 1
    # the map page sits escaped inside srcdoc: its data block and inlined Leaflet are there
    assert "id=&quot;gv-data&quot;" in maps[0]
    assert "Leaflet" in maps[0]
    # the tables came out as tables (villages, assignment counts, coverage)
    assert sum("<table" in h for h in html_outputs) >= 3
    # the notebook wrote nothing next to itself
    assert not list(tmp_path.iterdir())
