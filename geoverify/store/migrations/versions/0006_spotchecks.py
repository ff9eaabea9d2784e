"""supervision spot checks (抽查)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from geoverify.store import types

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spotchecks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=32), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("drawn_at", types.UTCDateTime(), nullable=False),
        sa.Column("drawn_by", sa.String(length=100), nullable=False),
        sa.Column("status_at_draw", sa.String(length=16), nullable=False),
        sa.Column("result_at_draw", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("checked_by", sa.String(length=200), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("recorded_at", types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_spotchecks_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["target"], ["targets.id"], name=op.f("fk_spotchecks_target_targets")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"], ["villages.code"], name=op.f("fk_spotchecks_village_code_villages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spotchecks")),
        sa.UniqueConstraint("batch_id", "target", name="uq_spotchecks_batch_target"),
    )
    op.create_index("ix_spotchecks_batch_id", "spotchecks", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_spotchecks_batch_id", table_name="spotchecks")
    op.drop_table("spotchecks")
