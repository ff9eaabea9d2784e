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
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
