"""patrols: patrol records, their length per village, GPX waypoints

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from geoverify.store import types

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patrols",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=32), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("people", sa.Text(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("track_name", sa.String(length=200), nullable=True),
        sa.Column("geometry", types.GeometryColumn("MULTILINESTRING"), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=True),
        sa.Column("track_patrol", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("created_at", types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_patrols_import_id_imports")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"], ["villages.code"], name=op.f("fk_patrols_village_code_villages")
        ),
        sa.ForeignKeyConstraint(
            ["track_patrol"], ["patrols.id"], name=op.f("fk_patrols_track_patrol_patrols")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrols")),
        sa.UniqueConstraint("import_id", "row", name="uq_patrols_import_row"),
    )
    op.create_table(
        "patrol_villages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patrol", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=32), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patrol"], ["patrols.id"], name=op.f("fk_patrol_villages_patrol_patrols")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"],
            ["villages.code"],
            name=op.f("fk_patrol_villages_village_code_villages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_villages")),
        sa.UniqueConstraint("patrol", "village_code", name="uq_patrol_villages_patrol_village"),
    )
    op.create_table(
        "patrol_waypoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("time", types.UTCDateTime(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("geometry", types.GeometryColumn("POINT"), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_patrol_waypoints_import_id_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_waypoints")),
        sa.UniqueConstraint("import_id", "number", name="uq_patrol_waypoints_import_number"),
    )
    op.create_index("ix_patrols_village_code", "patrols", ["village_code"])
    op.create_index("ix_patrols_date", "patrols", ["date"])
    if op.get_bind().dialect.name == "postgresql":
        for table in ("patrols", "patrol_waypoints"):
            op.execute(f"CREATE INDEX ix_{table}_geometry ON {table} USING GIST (geometry)")


def downgrade() -> None:
    op.drop_table("patrol_waypoints")
    op.drop_table("patrol_villages")
    op.drop_table("patrols")
