"""Fetch the pinned Leaflet assets from the npm registry into ``geoverify/maps_assets/``.

Every package is pinned to an exact version. The tarball is fetched with the ordinary npm
client (``npm pack NAME@VERSION`` in a temporary directory), its SHA-512 is checked against the
registry's ``dist.integrity`` (``npm view NAME@VERSION dist.integrity``), and only the listed
distribution files and the package's licence are extracted, flat, into ``maps_assets/`` (so the
package-data glob ``maps_assets/*`` ships them). ``manifest.json`` records name,
version, licence, integrity and each file's SHA-256.

The script is idempotent: when the files on disk already match the manifest for the pinned
versions nothing is fetched. ``--check`` verifies the files against the manifest without any
network access and exits non-zero on a mismatch. ``--force`` fetches again and fails if the
registry now serves different bytes for a pinned version.

Usage::

    python scripts/fetch_map_assets.py            # fetch if needed, verify
    python scripts/fetch_map_assets.py --check    # verify only (offline)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "geoverify" / "maps_assets"
MANIFEST = ASSETS / "manifest.json"

#: name, exact version, SPDX licence, and {path inside the tarball: path under maps_assets}.
PINS: list[dict[str, Any]] = [
    {
        "name": "leaflet",
        "version": "1.9.4",
        "licence": "BSD-2-Clause",
        "files": {
            "package/dist/leaflet.js": "leaflet.js",
            "package/dist/leaflet.css": "leaflet.css",
            "package/dist/images/layers.png": "leaflet-images-layers.png",
            "package/dist/images/layers-2x.png": "leaflet-images-layers-2x.png",
            "package/dist/images/marker-icon.png": "leaflet-images-marker-icon.png",
            "package/LICENSE": "LICENSE-leaflet",
        },
    },
    {
        "name": "leaflet.fullscreen",
        "version": "5.3.3",
        "licence": "MIT",
        "files": {
            "package/dist/Control.FullScreen.umd.js": "Control.FullScreen.umd.js",
            "package/dist/Control.FullScreen.css": "Control.FullScreen.css",
            "package/LICENSE.md": "LICENSE-leaflet.fullscreen.md",
        },
    },
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _npm(*args: str, cwd: Path) -> str:
    proc = subprocess.run(
        ["npm", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )
    if proc.returncode != 0:
        msg = f"npm {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}"
        raise SystemExit(msg)
    return proc.stdout


def _load_manifest() -> dict[str, Any]:
    if not MANIFEST.exists():
        return {"packages": []}
    return dict(json.loads(MANIFEST.read_text(encoding="utf-8")))


def check(manifest: dict[str, Any], *, require_pins: bool = True) -> list[str]:
    """Return a list of problems (empty when every file matches the manifest and the pins)."""
    problems: list[str] = []
    by_name = {p["name"]: p for p in manifest.get("packages", [])}
    for pin in PINS:
        entry = by_name.get(pin["name"])
        if entry is None or entry.get("version") != pin["version"]:
            if require_pins:
                problems.append(f"{pin['name']}: manifest does not pin {pin['version']}")
            continue
        if sorted(entry["files"]) != sorted(pin["files"].values()):
            problems.append(f"{pin['name']}: manifest file list differs from the pins")
        for rel, digest in entry["files"].items():
            path = ASSETS / rel
            if not path.exists():
                problems.append(f"{rel}: missing")
            elif _sha256(path) != digest:
                problems.append(f"{rel}: sha256 mismatch")
    return problems


def _fetch_one(pin: dict[str, Any], tmp: Path) -> dict[str, Any]:
    spec = f"{pin['name']}@{pin['version']}"
    integrity = _npm("view", spec, "dist.integrity", cwd=tmp).strip()
    if not integrity.startswith("sha512-"):
        msg = f"{spec}: unexpected integrity {integrity!r}"
        raise SystemExit(msg)
    packed = json.loads(_npm("pack", "--json", spec, cwd=tmp))
    tarball = tmp / packed[0]["filename"]
    actual = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if actual != integrity:
        msg = f"{spec}: tarball integrity {actual} != registry {integrity}"
        raise SystemExit(msg)
    files: dict[str, str] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member_name, rel in pin["files"].items():
            member = tar.getmember(member_name)
            if not member.isfile():
                msg = f"{spec}: {member_name} is not a regular file"
                raise SystemExit(msg)
            fh = tar.extractfile(member)
            assert fh is not None
            data = fh.read()
            out = ASSETS / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            files[rel] = hashlib.sha256(data).hexdigest()
    return {
        "name": pin["name"],
        "version": pin["version"],
        "licence": pin["licence"],
        "integrity": integrity,
        "source": f"npm registry: npm pack {spec}",
        "files": dict(sorted(files.items())),
    }


def fetch(*, force: bool = False) -> int:
    """Fetch what is missing or stale; verify; write the manifest. Returns an exit code."""
    old = _load_manifest()
    if not force and not check(old):
        print("maps_assets: up to date, every sha256 verified")
        return 0
    old_by_name = {p["name"]: p for p in old.get("packages", [])}
    entries = []
    with tempfile.TemporaryDirectory(prefix="geoverify-assets-") as tmpdir:
        for pin in PINS:
            entry = _fetch_one(pin, Path(tmpdir))
            prev = old_by_name.get(pin["name"])
            old_digests = sorted(prev["files"].values()) if prev is not None else None
            new_digests = sorted(entry["files"].values())
            same_version = prev is not None and prev.get("version") == pin["version"]
            if same_version and old_digests != new_digests:
                print(f"{pin['name']}@{pin['version']}: registry bytes differ from the manifest")
                return 1
            entries.append(entry)
            print(f"fetched {pin['name']}@{pin['version']} ({len(entry['files'])} files)")
    manifest = {
        "comment": "Generated by scripts/fetch_map_assets.py; do not edit by hand.",
        "packages": entries,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    problems = check(manifest)
    for p in problems:
        print(p)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify only, no network")
    parser.add_argument("--force", action="store_true", help="fetch again and compare")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(_load_manifest())
        for p in problems:
            print(p)
        if not problems:
            print("maps_assets: every sha256 verified")
        return 1 if problems else 0
    return fetch(force=args.force)


if __name__ == "__main__":
    sys.exit(main())
