"""PostgreSQL checks the busiest references once per statement instead of once per row

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

A batch of a million targets writes three million rows, and each row's foreign keys were
checked one by one: six lookups per target (its batch and village, its issue link's target
and batch, its event's target and batch), about 4 µs each, 40 % of a PostGIS import. On
PostgreSQL these six references become statement-level triggers that check every row a
statement wrote (or left behind) at once, against its transition table, with a join:

- after an INSERT or UPDATE of a referencing table, every non-null reference must name an
  existing row;
- after a DELETE or UPDATE of a referenced table, no row may still name a key that is gone;
- a TRUNCATE of a referenced table is refused while anything refers to it.

The error is PostgreSQL's own ``foreign_key_violation`` (an ``IntegrityError`` to
SQLAlchemy), raised by the statement that broke the reference, as the foreign key raised it.
A foreign key's row lock kept a concurrent transaction from deleting a row that an
uncommitted one refers to; these checks take the store's write lock instead (the same
advisory lock every geoverify writer holds), so two transactions that change references are
checked one after the other, each seeing what the other committed. That needs READ COMMITTED
(geoverify's writers ask for it): a transaction of another isolation level that writes these
references is refused (``serialization_failure``). The functions keep the ``search_path`` of
the migration, so they check the store's own tables whatever schema a session looks in first.
SQLite keeps its foreign keys: its checks are cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: geoverify.store.database.WRITE_LOCK_KEY when this revision was written.
_WRITE_LOCK_KEY = 0x67656F76

#: (referencing table, column, referenced table, key)
REFERENCES = (
    ("targets", "batch_id", "batches", "id"),
    ("targets", "village_code", "villages", "code"),
    ("target_issues", "target", "targets", "id"),
    ("target_issues", "batch_id", "batches", "id"),
    ("events", "target", "targets", "id"),
    ("events", "batch_id", "batches", "id"),
)


def _fk_name(child: str, column: str, parent: str) -> str:
    return f"fk_{child}_{column}_{parent}"


def _children() -> list[str]:
    return list(dict.fromkeys(child for child, _, _, _ in REFERENCES))


def _parents() -> list[str]:
    return list(dict.fromkeys(parent for _, _, parent, _ in REFERENCES))


def _check(found: str, message: str) -> str:
    """PL/pgSQL: raise ``foreign_key_violation`` with ``message`` if the query finds a row."""
    return f"""
          IF EXISTS ({found}) THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', MESSAGE = '{message}';
          END IF;"""


#: A check must see what other transactions committed while it waited for the lock: under
#: REPEATABLE READ or SERIALIZABLE it would read the transaction's first snapshot instead.
_READ_COMMITTED_ONLY = """
          IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE =
              'geoverify checks references under READ COMMITTED only: this transaction is '
              || current_setting('transaction_isolation');
          END IF;"""


def _function(name: str, checks: list[str], *, lock: bool = True) -> str:
    """A trigger function running ``checks``: under the store's write lock, in a READ
    COMMITTED transaction, with the tables of the schema the migration ran in whatever the
    caller's ``search_path`` (a foreign key is bound to its tables, not to their names)."""
    take = (
        f"{_READ_COMMITTED_ONLY}\n          PERFORM pg_advisory_xact_lock({_WRITE_LOCK_KEY});"
        if lock
        else ""
    )
    return f"""
        CREATE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN{take}{"".join(checks)}
          RETURN NULL;
        END;
        $$ LANGUAGE plpgsql SET search_path FROM CURRENT
        """


def _child_function(child: str) -> str:
    """After rows of ``child`` are written: each non-null reference names an existing row."""
    checks = [
        _check(
            f"SELECT 1 FROM new_rows n WHERE n.{column} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = n.{column})",
            f'insert or update on table "{child}" violates foreign key {child}.{column} -> '
            f"{parent}.{key}: a row names a {parent} row that does not exist",
        )
        for c, column, parent, key in REFERENCES
        if c == child
    ]
    return _function(f"geoverify_{child}_references", checks)


def _parent_function(parent: str) -> str:
    """After rows of ``parent`` are deleted or changed: nothing names a key that is gone."""
    checks = [
        _check(
            f"SELECT 1 FROM old_rows o "
            f"WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = o.{key}) "
            f"AND EXISTS (SELECT 1 FROM {child} c WHERE c.{column} = o.{key})",
            f'update or delete on table "{parent}" violates foreign key {child}.{column} -> '
            f'{parent}.{key}: "{child}" still names a row that is gone',
        )
        for child, column, p, key in REFERENCES
        if p == parent
    ]
    return _function(f"geoverify_{parent}_referenced", checks)


def _truncate_function(parent: str) -> str:
    """Before ``parent`` is truncated: nothing names any of its rows."""
    checks = [
        _check(
            f"SELECT 1 FROM {child} c WHERE c.{column} IS NOT NULL",
            f'truncate of table "{parent}" refused: foreign key {child}.{column} names it',
        )
        for child, column, p, _ in REFERENCES
        if p == parent
    ]
    return _function(f"geoverify_{parent}_no_truncate", checks, lock=False)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for child, column, parent, _ in REFERENCES:
        op.drop_constraint(_fk_name(child, column, parent), child, type_="foreignkey")
    for child in _children():
        op.execute(_child_function(child))
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {child}_references_{event.lower()} AFTER {event} ON {child} "
                f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION geoverify_{child}_references()"
            )
    for parent in _parents():
        op.execute(_parent_function(parent))
        for event in ("DELETE", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {parent}_referenced_{event.lower()} AFTER {event} ON {parent} "
                f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION geoverify_{parent}_referenced()"
            )
        op.execute(_truncate_function(parent))
        op.execute(
            f"CREATE TRIGGER {parent}_referenced_truncate BEFORE TRUNCATE ON {parent} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION geoverify_{parent}_no_truncate()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent in _parents():
        for event in ("delete", "update", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {parent}_referenced_{event} ON {parent}")
        op.execute(f"DROP FUNCTION IF EXISTS geoverify_{parent}_referenced()")
        op.execute(f"DROP FUNCTION IF EXISTS geoverify_{parent}_no_truncate()")
    for child in _children():
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {child}_references_{event} ON {child}")
        op.execute(f"DROP FUNCTION IF EXISTS geoverify_{child}_references()")
    for child, column, parent, key in REFERENCES:
        op.create_foreign_key(_fk_name(child, column, parent), child, parent, [column], [key])
