"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 02:01:17.968012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from geoverify.store import types

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("at", types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("summary", types.JSONColumn, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
        sa.UniqueConstraint("kind", "sha256", name="uq_imports_kind_sha256"),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_crs", sa.String(length=64), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("imported_at", types.UTCDateTime(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_imported", sa.Integer(), nullable=False),
        sa.Column("n_reissued", sa.Integer(), nullable=False),
        sa.Column("n_rejected", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_batches_import_id_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.UniqueConstraint("import_id", name=op.f("uq_batches_import_id")),
        sa.UniqueConstraint("sha256", name=op.f("uq_batches_sha256")),
    )
    op.create_table(
        "villages",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("geometry", types.GeometryColumn("MULTIPOLYGON"), nullable=False),
        sa.Column("attributes", types.JSONColumn, nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_villages_import_id_imports")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_villages")),
        sa.UniqueConstraint("name", name=op.f("uq_villages_name")),
    )
    op.create_table(
        "rejected_rows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_rejected_rows_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_rejected_rows_import_id_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_rows")),
    )
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target_id", sa.String(length=100), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("geometry", types.GeometryColumn("GEOMETRY"), nullable=False),
        sa.Column("geom_type", sa.String(length=16), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("image_date", sa.Date(), nullable=True),
        sa.Column("attributes", types.JSONColumn, nullable=False),
        sa.Column("village_code", sa.String(length=32), nullable=True),
        sa.Column("group_name", sa.String(length=100), nullable=True),
        sa.Column("assignment", sa.String(length=16), nullable=False),
        sa.Column("assignment_detail", types.JSONColumn, nullable=False),
        sa.Column("repeat_of", sa.Integer(), nullable=True),
        sa.Column("repeat_distance_m", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.Column("verified_by", sa.String(length=200), nullable=True),
        sa.Column("plants", sa.Integer(), nullable=True),
        sa.Column("eradicated_area_m2", sa.Float(), nullable=True),
        sa.Column("eradicated_on", sa.Date(), nullable=True),
        sa.Column("case_no", sa.String(length=100), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("created_at", types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_targets_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["repeat_of"], ["targets.id"], name=op.f("fk_targets_repeat_of_targets")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"], ["villages.code"], name=op.f("fk_targets_village_code_villages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint("target_id", name=op.f("uq_targets_target_id")),
    )
    op.create_table(
        "village_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("village_code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("geometry", types.GeometryColumn("MULTIPOLYGON"), nullable=True),
        sa.Column("attributes", types.JSONColumn, nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_village_groups_import_id_imports")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"],
            ["villages.code"],
            name=op.f("fk_village_groups_village_code_villages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_village_groups")),
        sa.UniqueConstraint("village_code", "name", name="uq_village_groups_village_name"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("at", types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("payload", types.JSONColumn, nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_events_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(["target"], ["targets.id"], name=op.f("fk_events_target_targets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_table(
        "target_issues",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("reissue", sa.Boolean(), nullable=False),
        sa.Column("geometry", types.GeometryColumn("GEOMETRY"), nullable=False),
        sa.Column("attributes", types.JSONColumn, nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_target_issues_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["target"], ["targets.id"], name=op.f("fk_target_issues_target_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_issues")),
        sa.UniqueConstraint("target", "batch_id", name="uq_target_issues_target_batch"),
    )

    for table, column in _INDEXED:
        op.create_index(f"ix_{table}_{column}", table, [column])
    _append_only("events")
    _append_only("rejected_rows")
    if op.get_bind().dialect.name == "postgresql":
        for table, column in _SPATIAL:
            op.execute(f"CREATE INDEX ix_{table}_{column} ON {table} USING GIST ({column})")


_INDEXED = [
    ("targets", "batch_id"),
    ("targets", "village_code"),
    ("targets", "status"),
    ("target_issues", "batch_id"),
    ("events", "target"),
    ("events", "batch_id"),
]
_SPATIAL = [("villages", "geometry"), ("village_groups", "geometry"), ("targets", "geometry")]


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE) on ``table`` at the database level."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION geoverify_{table}_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION '{table} is append-only: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION geoverify_{table}_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION geoverify_{table}_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def _drop_append_only(table: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS geoverify_{table}_append_only()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_append_only("rejected_rows")
    _drop_append_only("events")
    op.drop_table("target_issues")
    op.drop_table("events")
    op.drop_table("village_groups")
    op.drop_table("targets")
    op.drop_table("rejected_rows")
    op.drop_table("villages")
    op.drop_table("batches")
    op.drop_table("imports")
