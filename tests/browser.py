"""How the test suite starts Debian's Chromium: headless, and quiet on a closed network."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: Without the background-networking flags Chromium tries to reach Google's hosts at start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def launched_chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, for a fixture to yield from (skipped, or failed
    under ``GEOVERIFY_REQUIRE_ALL``, when it is not installed)."""
    from playwright.sync_api import sync_playwright

    from tests.web.live import chromium_path

    path = chromium_path()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two bounding boxes (Playwright's ``bounding_box()``) overlap."""
    return not (
        a["x"] >= b["x"] + b["width"]
        or b["x"] >= a["x"] + a["width"]
        or a["y"] >= b["y"] + b["height"]
        or b["y"] >= a["y"] + a["height"]
    )
