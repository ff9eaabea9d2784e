"""Create a workspace: the store, its schema and the village boundaries."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoverify.errors import StoreError
from geoverify.store import Store
from geoverify.workflows.common import Actor, sample_boundaries
from geoverify.workflows.villages import VillageImportResult, import_groups, import_villages


@dataclass
class InitResult:
    workspace: Path
    database: str
    boundaries: str
    sample: bool
    villages: VillageImportResult
    groups: VillageImportResult | None

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace),
            "database": self.database,
            "boundaries": self.boundaries,
            "sample": self.sample,
            "villages": self.villages.to_json(),
            "groups": self.groups.to_json() if self.groups else None,
        }


def _has_layer(path: Path, name: str) -> bool:
    if path.suffix.lower() != ".gpkg":
        return False
    import pyogrio

    return name in {str(n) for n in pyogrio.list_layers(path)[:, 0]}


def init_workspace(
    workspace: str | os.PathLike[str],
    *,
    boundaries: str | os.PathLike[str] | None = None,
    name_field: str | None = None,
    code_field: str | None = None,
    crs: str | None = None,
    url: str | None = None,
    actor: str | Actor | None = None,
) -> InitResult:
    """Create (or bring up to date) a workspace and load village boundaries into it.

    Without ``boundaries`` the bundled illustrative sample of the town is loaded, with its
    groups (组). A GeoPackage with a ``groups`` layer brings its groups too. Running it again
    on the same workspace changes nothing.
    """
    ws = Path(workspace)
    # The folders this init makes (the workspace and any missing parents), outermost last.
    made = [p for p in (ws, *ws.parents) if not p.exists()]
    ws.mkdir(parents=True, exist_ok=True)
    store: Store | None = None
    sqlite: Path | None = None
    new_store = False
    new_schema = False  # until the database is known to hold no store: then this init makes it
    try:
        store = Store(ws, url=url)
        sqlite = store.sqlite_path
        new_store = sqlite is not None and not sqlite.exists()
        new_schema = sqlite is None and not store.has_schema()
        store.upgrade()
        sample = boundaries is None
        src = sample_boundaries() if boundaries is None else Path(boundaries)
        layer = "villages" if _has_layer(src, "villages") else None
        villages = import_villages(
            store,
            src,
            name_field=name_field,
            code_field=code_field,
            crs=crs,
            layer=layer,
            actor=actor,
        )
        groups = None
        if _has_layer(src, "groups"):
            groups = import_groups(store, src, layer="groups", crs=crs, actor=actor)
        return InitResult(ws, store.display_url, str(src), sample, villages, groups)
    except BaseException:
        # A failed first init leaves no store behind (and no folder it made), so the next
        # try starts clean instead of finding a half-made workspace.
        if store is not None and new_schema:
            # PostgreSQL: the tables this init made go again; if that fails too, the error
            # that stopped the init is the one to tell.
            with contextlib.suppress(StoreError):
                store.drop_schema()
        if store is not None:
            store.dispose()
        if new_store and sqlite is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{sqlite}{suffix}").unlink(missing_ok=True)
        for folder in made:  # innermost first; one that holds anything stays
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    finally:
        if store is not None:
            store.dispose()
