"""Tables of the feedback features (registered on the shared metadata)."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from geoverify.store.tables import metadata
from geoverify.store.types import JSONColumn, UTCDateTime

__all__ = ["evidence", "metadata"]

#: Photo evidence (证据照片) of a target. The file itself is stored once by SHA-256 under
#: ``<workspace>/evidence/<sha[:2]>/<sha>.<ext>``; ``stored_path`` is relative to the workspace.
#: ``flags`` lists :data:`geoverify.evidence.FLAG_LABELS` codes (far from the target, taken
#: before the batch was issued, no GPS, no time).
evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", Integer, ForeignKey("targets.id"), nullable=False, index=True),
    Column("sha256", String(64), nullable=False),
    Column("stored_path", Text, nullable=False),
    Column("original_name", Text, nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("taken_at", UTCDateTime, nullable=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("distance_m", Float, nullable=True),
    Column("flags", JSONColumn, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Column("added_by", String(100), nullable=False),
    Column("host", String(255), nullable=False),
    UniqueConstraint("target", "sha256", name="uq_evidence_target_sha256"),
)
