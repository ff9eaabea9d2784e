"""users: a password set by someone else must be changed at the next login

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

``users.must_change_password`` is true for an account whose password the office chose (a new
account, or a password reset): its owner is sent to 修改密码 until they set their own. The
users that exist already keep their passwords as they are (false).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not batch mode: on SQLite a batch rebuild of ``users`` would drop the
    # table that sessions and submissions point at (foreign keys are on) and fail. "0" is
    # false to both SQLite and PostgreSQL, and fills the rows there are.
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("users", "must_change_password")  # SQLite ≥ 3.35 drops it in place
