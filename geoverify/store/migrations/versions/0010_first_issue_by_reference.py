"""target_issues: a batch's first issue of a target keeps no second copy of it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``target_issues.geometry`` and ``attributes`` keep what a batch said of a target. For the
batch that first issued it (``reissue`` false) that is the target's own geometry and columns,
which never change: the link now leaves both empty (NULL) and means the target's. A re-issue
keeps its own, as before. A million-target batch stored 150 MB of these copies. Rows written
before keep their copies (both readings are the same).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("geometry", "attributes")


def _set_nullable(nullable: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        change = "DROP" if nullable else "SET"
        for column in _COLUMNS:
            op.execute(f"ALTER TABLE target_issues ALTER COLUMN {column} {change} NOT NULL")
        return
    # SQLite changes a column's NOT NULL only by rebuilding the table; nothing refers to
    # target_issues, so the rebuild keeps every foreign key intact.
    with op.batch_alter_table("target_issues") as batch:
        batch.alter_column("geometry", existing_type=sa.LargeBinary(), nullable=nullable)
        batch.alter_column("attributes", existing_type=sa.JSON(), nullable=nullable)


def upgrade() -> None:
    _set_nullable(True)


def downgrade() -> None:
    for column in _COLUMNS:
        op.execute(
            f"UPDATE target_issues SET {column} = "
            f"(SELECT t.{column} FROM targets t WHERE t.id = target_issues.target) "
            f"WHERE {column} IS NULL"
        )
    _set_nullable(False)
