"""One router per resource; each module has its pages (``router``) and its API (``api``)."""

from __future__ import annotations

from fastapi import APIRouter

from geoverify.web.routers import (
    assets,
    auth,
    batches,
    dashboard,
    feedback,
    maps,
    patrols,
    targets,
    users,
)

_MODULES = (auth, dashboard, batches, targets, feedback, patrols, maps, users)

ROUTERS: list[APIRouter] = [assets.router]
for _m in _MODULES:
    ROUTERS += [_m.router, _m.api]
