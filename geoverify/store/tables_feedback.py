"""Tables of the feedback features (registered on the shared metadata)."""

from __future__ import annotations

from geoverify.store.tables import metadata

__all__ = ["metadata"]
