"""``geoverify serve`` as the office starts it: a real process on a local port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from geoverify.workflows import init_workspace
from tests.web.live import free_port


def _serve(ws: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOVERIFY_")}
    return subprocess.Popen(
        [sys.executable, "-m", "geoverify", "--workspace", str(ws), "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_and_says_where(tmp_path: Path, workers: int) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, actor="pytest")
    port = free_port()
    proc = _serve(ws, "--port", str(port), "--workers", str(workers), "--json")
    try:
        assert proc.stdout is not None
        doc = json.loads(proc.stdout.readline())
        assert doc == {
            "status": "serving",
            "url": f"http://127.0.0.1:{port}/",
            "host": "127.0.0.1",
            "port": port,
        }
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as res:
                    body = res.read().decode("utf-8")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert "登录" in body
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_serve_needs_an_initialised_workspace(tmp_path: Path) -> None:
    proc = _serve(tmp_path / "nothing-here", "--port", str(free_port()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "geoverify init" in err
    assert "Traceback" not in err
