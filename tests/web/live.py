"""The web app served by uvicorn in a thread, and Chromium (Playwright) with the network closed."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from tests.conftest import skip_or_fail

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts" / "web"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free local port while the block runs; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            msg = "the web app did not start"
            raise RuntimeError(msg)
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def chromium_path() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        skip_or_fail("Chromium is not installed (/usr/bin/chromium)")
    assert path is not None
    return path


@dataclass
class Watch:
    """What a page tried to do besides talking to the app: every such request is blocked."""

    base: str
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def watch(page: Any, base: str) -> Watch:
    """Block every request that does not go to the app; record errors."""
    w = Watch(base)

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(base) or url.startswith("data:") or url.startswith("blob:"):
            r.continue_()
        else:
            w.blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda req: w.failed.append(f"{req.url} {req.failure}"))
    page.on(
        "console", lambda msg: w.console_errors.append(msg.text) if msg.type == "error" else None
    )
    return w
