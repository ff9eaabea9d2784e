"""A non-editable install carries the sample data, migrations and map assets, and works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_non_editable_install_finds_its_data(tmp_path: Path) -> None:
    # Build from a copy, so no build folder is left in (or reused from) the checkout.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT, src, symlinks=True,
        ignore=shutil.ignore_patterns(".git", ".venv", "venv", "build", "*.egg-info", "workspace",
                                      "demo-workspace", "test-artifacts", "__pycache__", "maps"),
    )  # fmt: skip
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--verbose", "--no-deps", "--target",
         str(target), str(src)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    # setuptools says nothing about our configuration (licence form, data folders, …)
    log = build.stdout + build.stderr
    for marker in ("SetuptoolsDeprecationWarning", "SetuptoolsWarning", "_Warning:",
                   "is absent from the `packages`"):  # fmt: skip
        assert marker not in log, [ln for ln in log.splitlines() if marker in ln][:3]
    pkg = target / "geoverify"
    for rel in (
        "sample_data/boundaries/fuguo_sample.gpkg",
        "sample_data/samples/district_batch_2024-03.geojson",
        "store/migrations/versions/0001_initial_schema.py",
        "store/migrations/script.py.mako",
        "maps_assets/leaflet.js",
        "maps_assets/LICENSE-leaflet",
        "py.typed",
    ):
        assert (pkg / rel).is_file(), rel
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOVERIFY_")}
    env["PYTHONPATH"] = str(target)
    code = (
        "import geoverify, sys; assert geoverify.__file__.startswith(sys.argv[1]), "
        "geoverify.__file__; from geoverify.cli import main; "
        "sys.argv = ['geoverify', '--workspace', sys.argv[2], 'init', '--json']; main()"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(target), str(tmp_path / "ws")],
        capture_output=True, text=True, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert '"imported": 13' in run.stdout
