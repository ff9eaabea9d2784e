"""``GEOVERIFY_REQUIRE_ALL=1`` turns every kind of skip into a failure (the CI contract)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

INNER = """
import shutil
import pytest

def test_skip_call():
    pytest.skip("Chromium is not installed")

@pytest.mark.skipif(True, reason="sample data not generated yet")
def test_skipif_mark():
    pass

def test_importorskip():
    pytest.importorskip("a_module_that_does_not_exist_here")

@pytest.mark.xfail(reason="expected", strict=False)
def test_xfail_is_left_alone():
    assert False

def test_passes():
    assert True
"""


def _run(tmp_path: Path, *, require_all: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "GEOVERIFY_REQUIRE_ALL"}
    if require_all:
        env["GEOVERIFY_REQUIRE_ALL"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
    )


@pytest.mark.parametrize("require_all", [False, True])
def test_every_skip_fails_when_everything_is_required(tmp_path: Path, require_all: bool) -> None:
    out = _run(tmp_path, require_all=require_all)
    text = out.stdout
    last = text.strip().splitlines()[-1]
    if require_all:
        assert out.returncode == 1, text
        for name in ("test_skip_call", "test_skipif_mark", "test_importorskip"):
            assert f"test_inner.py::{name}" in text
        # a skip in setup (a skipif mark) is reported as an error, one in the test as a failure
        assert "2 failed" in last and "1 error" in last, last
        assert "skipped" not in last
        assert "GEOVERIFY_REQUIRE_ALL is set" in text
        assert "sample data not generated yet" in text
    else:
        assert out.returncode == 0, text
        assert "3 skipped" in last, last
    assert "1 passed" in last and "1 xfailed" in last, last
