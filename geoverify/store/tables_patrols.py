"""Tables of the patrols features (registered on the shared metadata)."""

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
from geoverify.store.types import GeometryColumn, UTCDateTime

__all__ = ["metadata", "patrol_villages", "patrol_waypoints", "patrols"]

#: One patrol record (踏查): a row of a village's table, or a track of a GPX/KML file.
#: ``geometry`` is the track (MULTILINESTRING, EPSG:4490) or NULL for a reported-only record.
#: ``track_patrol`` links a table row to the track-file patrol whose track it names; that
#: track-file patrol is then shown through the table row only (never counted twice).
patrols = Table(
    "patrols",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("row", Integer, nullable=False),
    Column("village_code", String(32), ForeignKey("villages.code"), nullable=False, index=True),
    Column("group_name", String(100), nullable=True),
    Column("date", Date, nullable=False, index=True),
    Column("people", Text, nullable=True),
    Column("findings", Text, nullable=True),
    Column("remarks", Text, nullable=True),
    Column("source", Text, nullable=False),
    Column("track_name", String(200), nullable=True),
    Column("geometry", GeometryColumn("MULTILINESTRING"), nullable=True),
    Column("length_m", Float, nullable=True),
    Column("track_patrol", Integer, ForeignKey("patrols.id"), nullable=True),
    Column("received_on", Date, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("import_id", "row", name="uq_patrols_import_row"),
)

#: Length of a patrol's track inside each village it passes through.
patrol_villages = Table(
    "patrol_villages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patrol", Integer, ForeignKey("patrols.id"), nullable=False),
    Column("village_code", String(32), ForeignKey("villages.code"), nullable=False),
    Column("length_m", Float, nullable=False),
    UniqueConstraint("patrol", "village_code", name="uq_patrol_villages_patrol_village"),
)

#: Waypoints of a GPX file (points marked on the device, e.g. a suspected site).
patrol_waypoints = Table(
    "patrol_waypoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("name", Text, nullable=True),
    Column("time", UTCDateTime, nullable=True),
    Column("description", Text, nullable=True),
    Column("geometry", GeometryColumn("POINT"), nullable=False),
    UniqueConstraint("import_id", "number", name="uq_patrol_waypoints_import_number"),
)
