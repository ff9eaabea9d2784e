"""The bundled, pinned front-end files (Leaflet) for the pages' small maps: no CDN."""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from geoverify.errors import NotFoundError

router = APIRouter(tags=["pages"], include_in_schema=False)

_MEDIA = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@functools.cache
def _listed() -> dict[str, str]:
    root = resources.files("geoverify") / "maps_assets"
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for pkg in manifest["packages"]:
        out.update(pkg["files"])
    return out


@functools.cache
def _read(name: str) -> bytes:
    data = (resources.files("geoverify") / "maps_assets" / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != _listed()[name]:
        msg = f"bundled asset {name} does not match its manifest"
        raise NotFoundError(msg)
    return data


@router.get("/assets/{name}")
def asset(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if name not in _listed() or suffix not in _MEDIA:
        raise NotFoundError("没有这个文件 (no such file)")
    return Response(
        _read(name),
        media_type=_MEDIA[suffix],
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/favicon.ico")
def favicon() -> Response:
    """The tab icon for what asks the old way (pages link ``/static/favicon.svg``)."""
    icon = resources.files("geoverify.web") / "static" / "favicon.svg"
    return Response(
        icon.read_bytes(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
