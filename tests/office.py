"""LibreOffice for the tests that print or re-save what geoverify writes."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import require_program


def libreoffice_convert(
    sources: Path | Sequence[Path], out_dir: Path, to: str = "pdf", *, timeout: int = 240
) -> list[Path]:
    """``sources`` converted by headless LibreOffice (``to`` as ``--convert-to`` takes it, e.g.
    ``pdf`` or ``xlsx:Calc MS Excel 2007 XML``) into ``out_dir``, with a profile of its own
    there; the converted files, in order. Without LibreOffice the test is skipped (a failure
    under ``GEOVERIFY_REQUIRE_ALL``); a failed conversion fails it."""
    exe = require_program("libreoffice")
    files = [sources] if isinstance(sources, Path) else list(sources)
    proc = subprocess.run(
        [exe, f"-env:UserInstallation={(out_dir / 'lo-profile').as_uri()}", "--headless",
         "--convert-to", to, "--outdir", str(out_dir), *map(str, files)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    ext = to.split(":", 1)[0]
    out = [out_dir / f"{f.stem}.{ext}" for f in files]
    missing = [p.name for p in out if not p.exists()]
    assert proc.returncode == 0 and not missing, (missing, proc.stdout, proc.stderr)
    return out
