"""Table definitions (SQLAlchemy Core). The schema itself is created by Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from geoverify.store.types import GeometryColumn, JSONColumn, OrderedJSONColumn, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

villages = Table(
    "villages",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(8), nullable=False),
    Column("geometry", GeometryColumn("MULTIPOLYGON"), nullable=False),
    Column("attributes", JSONColumn, nullable=False),
    Column("illustrative", Boolean, nullable=False, default=False),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
)

village_groups = Table(
    "village_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("village_code", String(32), ForeignKey("villages.code"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("geometry", GeometryColumn("MULTIPOLYGON"), nullable=True),
    Column("attributes", JSONColumn, nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    UniqueConstraint("village_code", "name", name="uq_village_groups_village_name"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source_name", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("host", String(255), nullable=False),
    Column("summary", JSONColumn, nullable=False),
    UniqueConstraint("kind", "sha256", name="uq_imports_kind_sha256"),
)

batches = Table(
    "batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False, unique=True),
    Column("source_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("source_crs", String(64), nullable=True),
    Column("issued_on", Date, nullable=True),
    Column("due_on", Date, nullable=True),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("n_imported", Integer, nullable=False),
    Column("n_reissued", Integer, nullable=False),
    Column("n_rejected", Integer, nullable=False),
)

targets = Table(
    "targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The district's id (or a generated one for self-found sites and tips): unique, so a
    # re-issued target is linked to the new batch (target_issues), never duplicated.
    Column("target_id", String(100), nullable=False, unique=True),
    Column("batch_id", String(64), ForeignKey("batches.id"), nullable=True, index=True),
    Column("source", String(16), nullable=False),
    Column("geometry", GeometryColumn("GEOMETRY"), nullable=False),
    Column("geom_type", String(16), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("area_m2", Float, nullable=True),
    Column("image_date", Date, nullable=True),
    # The district's own columns, in the file's order.
    Column("attributes", OrderedJSONColumn, nullable=False),
    Column("village_code", String(32), ForeignKey("villages.code"), nullable=True, index=True),
    Column("group_name", String(100), nullable=True),
    Column("assignment", String(16), nullable=False),
    Column("assignment_detail", JSONColumn, nullable=False),
    Column("repeat_of", Integer, ForeignKey("targets.id"), nullable=True),
    Column("repeat_distance_m", Float, nullable=True),
    Column("status", String(16), nullable=False, index=True),
    Column("result", String(16), nullable=True),
    Column("verified_on", Date, nullable=True),
    Column("verified_by", String(200), nullable=True),
    Column("plants", Integer, nullable=True),
    Column("eradicated_area_m2", Float, nullable=True),
    Column("eradicated_on", Date, nullable=True),
    Column("case_no", String(100), nullable=True),
    Column("remarks", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Raised by one with every change of status, result or feedback values: a change made
    # against an older version is refused (someone else changed the target first).
    Column("version", Integer, nullable=False, server_default="1"),
)

target_issues = Table(
    "target_issues",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", Integer, ForeignKey("targets.id"), nullable=False),
    Column("batch_id", String(64), ForeignKey("batches.id"), nullable=False, index=True),
    Column("row", Integer, nullable=True),
    Column("reissue", Boolean, nullable=False),
    # What this batch said of the target; NULL: the target's own (the batch that first
    # issued it, whose geometry and columns the target keeps).
    Column("geometry", GeometryColumn("GEOMETRY"), nullable=True),
    Column("attributes", OrderedJSONColumn, nullable=True),
    UniqueConstraint("target", "batch_id", name="uq_target_issues_target_batch"),
)

rejected_rows = Table(
    "rejected_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("batch_id", String(64), ForeignKey("batches.id"), nullable=True),
    Column("row", Integer, nullable=False),
    Column("target_id", String(100), nullable=True),
    Column("code", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("field", String(100), nullable=True),
    Column("value", Text, nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", Integer, ForeignKey("targets.id"), nullable=True, index=True),
    Column("batch_id", String(64), ForeignKey("batches.id"), nullable=True, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("host", String(255), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("payload", JSONColumn, nullable=False),
)


# Feature tables live in their own modules on the same metadata; import them so that the
# metadata is complete whenever this module is imported.
from geoverify.store import (  # noqa: E402, F401
    tables_feedback,
    tables_patrols,
    tables_spotchecks,
    tables_web,
)
