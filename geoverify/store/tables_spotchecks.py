"""Tables of supervision spot checks (抽查), registered on the shared metadata."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from geoverify.store.tables import metadata
from geoverify.store.types import UTCDateTime

__all__ = ["metadata", "spotchecks"]

#: One closed target drawn for re-inspection (抽查) in a batch's spot check: the draw (seed,
#: rate, who and when, the target's status and result then) and, once re-inspected, the
#: outcome — ``consistent`` (一致) or ``inconsistent`` (不一致) — with date, inspector and notes.
#: A target is drawn at most once per batch. Every draw and outcome is also an event.
spotchecks = Table(
    "spotchecks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(64), ForeignKey("batches.id"), nullable=False, index=True),
    Column("target", Integer, ForeignKey("targets.id"), nullable=False),
    Column("village_code", String(32), ForeignKey("villages.code"), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("rate", Float, nullable=False),
    Column("drawn_at", UTCDateTime, nullable=False),
    Column("drawn_by", String(100), nullable=False),
    Column("status_at_draw", String(16), nullable=False),
    Column("result_at_draw", String(16), nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("checked_on", Date, nullable=True),
    Column("checked_by", String(200), nullable=True),
    Column("remarks", Text, nullable=True),
    Column("recorded_at", UTCDateTime, nullable=True),
    UniqueConstraint("batch_id", "target", name="uq_spotchecks_batch_target"),
)
