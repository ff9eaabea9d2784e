"""The store refuses a reference to a row that does not exist, on both backends.

SQLite checks them with foreign keys. PostgreSQL checks the six busiest (a target's batch and
village, an issue link's and an event's target and batch) once per statement, with triggers
(migration 0008), so that a bulk import does not look up six rows per target; these tests
hold both to the same promises, row by row and through the bulk writer.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from geoverify.store import Store, bulk, repo
from geoverify.store import tables as t
from tests.conftest import load_migration, snapshot
from tests.test_store import _import, _target

WHO = repo.Who("tester", "host", "test")


def _batch(conn: sa.Connection, batch_id: str, sha: str) -> None:
    conn.execute(
        t.batches.insert().values(
            id=batch_id,
            import_id=_import(conn, sha),
            source_name="f.csv",
            sha256=sha,
            imported_at=repo.now(),
            n_rows=1,
            n_imported=1,
            n_reissued=0,
            n_rejected=0,
        )
    )


def _issue(target: int, batch_id: str, row: int) -> dict[str, Any]:
    point = shapely.Point(106.03, 29.7)
    return {"target": target, "batch_id": batch_id, "row": row, "reissue": False} | {
        "geometry": point,
        "attributes": {},
    }


def _village(conn: sa.Connection) -> str:
    return str(conn.execute(sa.select(t.villages.c.code).limit(1)).scalar_one())


@pytest.fixture
def linked(sample_store: Store) -> Store:
    """A store with batch B1 (target T1 in it, issued to a village, with its issue link and
    event) and an unused batch B2."""
    with sample_store.begin() as conn:
        _batch(conn, "B1", "1" * 64)
        _batch(conn, "B2", "2" * 64)
        pk = conn.execute(
            t.targets.insert().values(**_target(batch_id="B1", village_code=_village(conn)))
        ).inserted_primary_key[0]
        conn.execute(t.target_issues.insert().values(**_issue(pk, "B1", 2)))
        repo.record_events(
            conn, [{"target": pk, "batch_id": "B1", "kind": "issued", "payload": {}}], who=WHO
        )
    return sample_store


def _pk(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(t.targets.c.id)).scalar_one())


#: A refusal through SQLAlchemy, or straight from the driver (the bulk writer uses it alone).
REFUSED = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)


def _refused(store: Store, change: Callable[[sa.Connection], Any]) -> None:
    """``change`` fails as a foreign-key violation and leaves the store as it was."""
    before = snapshot(store)
    with pytest.raises(REFUSED, match=r"(?i)foreign key"), store.begin() as c:
        change(c)
    assert snapshot(store) == before


def test_the_reference_list_is_the_tables_foreign_keys() -> None:
    """Every reference the migration checks with triggers is one of the tables' foreign keys
    (which SQLite keeps), so the two backends promise the same."""
    declared = {
        (fk.parent.table.name, fk.parent.name, fk.column.table.name, fk.column.name)
        for table in t.metadata.tables.values()
        for fk in table.foreign_keys
    }
    assert set(load_migration("0008").REFERENCES) <= declared


#: Each checked reference, and values of it that name nothing.
BROKEN = [
    ("targets", {"batch_id": "no such batch"}),
    ("targets", {"village_code": "no such village"}),
    ("target_issues", {"target": 999_999}),
    ("target_issues", {"batch_id": "no such batch"}),
    ("events", {"target": 999_999}),
    ("events", {"batch_id": "no such batch"}),
]


@pytest.mark.parametrize(("table", "values"), BROKEN)
def test_a_new_row_naming_a_missing_row_is_refused(
    linked: Store, table: str, values: dict[str, Any]
) -> None:
    def insert(conn: sa.Connection) -> None:
        pk = _pk(conn)
        if table == "targets":
            row = _target(target_id="T2", batch_id="B1", village_code=_village(conn))
        elif table == "target_issues":
            row = _issue(pk, "B2", 3)
        else:
            row = {"target": pk, "batch_id": "B1", "at": repo.now(), "actor": "a", "host": "h"}
            row |= {"kind": "note", "source": "test", "payload": {}}
        conn.execute(t.metadata.tables[table].insert().values(**(row | values)))

    _refused(linked, insert)


# (events are append-only: no update gets as far as the check)
@pytest.mark.parametrize(("table", "values"), [b for b in BROKEN if b[0] != "events"])
def test_a_row_changed_to_name_a_missing_row_is_refused(
    linked: Store, table: str, values: dict[str, Any]
) -> None:
    _refused(linked, lambda c: c.execute(t.metadata.tables[table].update().values(**values)))


def test_a_row_something_names_cannot_go(linked: Store) -> None:
    _refused(linked, lambda c: c.execute(t.batches.delete().where(t.batches.c.id == "B1")))
    _refused(linked, lambda c: c.execute(t.targets.delete()))


def _without_groups(conn: sa.Connection) -> Any:
    """The village of the target, its groups gone (they name it too, by a foreign key on
    both backends): only the target's reference is left to refuse what follows."""
    code = conn.execute(sa.select(t.targets.c.village_code)).scalar_one()
    conn.execute(t.village_groups.delete().where(t.village_groups.c.village_code == code))
    return t.villages.c.code == code


def test_a_village_something_names_cannot_go_or_change_its_code(linked: Store) -> None:
    _refused(linked, lambda c: c.execute(t.villages.delete().where(_without_groups(c))))
    _refused(
        linked,
        lambda c: c.execute(t.villages.update().where(_without_groups(c)).values(code="X")),
    )


def test_a_batch_key_something_names_cannot_change(linked: Store) -> None:
    _refused(
        linked, lambda c: c.execute(t.batches.update().where(t.batches.c.id == "B1").values(id="Z"))
    )


def test_a_row_nothing_names_can_go(linked: Store) -> None:
    """The checks refuse what breaks a reference, not every delete."""
    with linked.begin() as conn:
        conn.execute(t.batches.delete().where(t.batches.c.id == "B2"))
    with linked.connect() as conn:
        assert conn.execute(sa.select(t.batches.c.id)).scalars().all() == ["B1"]


def test_bulk_rows_naming_a_missing_row_are_refused_after_several_blocks(
    linked: Store,
) -> None:
    """The bulk writer's blocks (COPY on PostgreSQL): one bad reference in the last of three
    blocks fails the transaction, and nothing of it is kept."""
    n = 2 * bulk.CHUNK + 10

    def write(conn: sa.Connection) -> None:
        pk = _pk(conn)
        with bulk.Loader(conn) as load:
            load.insert(
                t.events,
                {
                    "target": [pk] * (n - 1) + [999_999],
                    "batch_id": ["B1"] * n,
                    "at": [repo.now()] * n,
                    "actor": ["a"] * n,
                    "host": ["h"] * n,
                    "kind": ["note"] * n,
                    "source": ["test"] * n,
                    "payload": [{}] * n,
                },
            )

    _refused(linked, write)


#: PostgreSQL only: SQLite has no TRUNCATE, and one writer at a time.
postgres_only = pytest.mark.parametrize("backend", ["postgis"])


@postgres_only
def test_a_truncate_of_a_named_table_is_refused(linked: Store) -> None:
    for parent in ("batches", "villages", "targets"):
        # (a foreign key left on the table may refuse it first, in its own words)
        with pytest.raises(sa.exc.DBAPIError, match=r"(?i)truncate"), linked.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {parent}")
    # With the tables that still name batches by foreign keys, only the triggers are left
    # to refuse it.
    before = snapshot(linked)
    with (
        pytest.raises(IntegrityError, match=r'truncate of table "batches" refused'),
        linked.begin() as conn,
    ):
        conn.exec_driver_sql("TRUNCATE batches, spotchecks, rejected_rows")
    assert snapshot(linked) == before


def _store_schema(store: Store) -> str:
    with store.connect() as conn:
        return str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())


@postgres_only
def test_the_checks_use_the_stores_tables_whatever_the_search_path(linked: Store) -> None:
    """A session that finds tables of the same names in another schema first: the checks
    still look at the store's own tables, as a foreign key would."""
    schema = _store_schema(linked)
    other = f"{schema}_other"
    with linked.engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {other}")
        for name in ("targets", "target_issues", "events"):
            conn.exec_driver_sql(f"CREATE TABLE {other}.{name} (target int, batch_id text)")
    engine = sa.create_engine(
        linked.engine.url.update_query_dict({"options": f"-csearch_path={other},{schema},public"})
    )
    try:
        with pytest.raises(IntegrityError, match="foreign key"), engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM {schema}.batches WHERE id = 'B1'")
    finally:
        engine.dispose()
        with linked.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {other} CASCADE")
    with linked.connect() as conn:
        assert sorted(conn.execute(sa.select(t.batches.c.id)).scalars()) == ["B1", "B2"]


@postgres_only
def test_a_transaction_that_would_check_an_old_snapshot_is_refused(linked: Store) -> None:
    """Under REPEATABLE READ a check would read the transaction's first snapshot, not what
    was committed while it waited: such a write is refused. geoverify's own writers ask for
    READ COMMITTED, so they work whatever the server's default."""
    url = linked.engine.url.update_query_dict(
        {
            "options": linked.engine.url.query["options"]
            + " -cdefault_transaction_isolation=repeatable\\ read"
        }
    )
    repeatable = Store(linked.workspace, url=url.render_as_string(hide_password=False))
    try:
        with repeatable.connect() as conn:
            level = conn.exec_driver_sql("SHOW default_transaction_isolation").scalar_one()
        assert level == "repeatable read"
        with (
            pytest.raises(sa.exc.DBAPIError, match="READ COMMITTED only"),
            repeatable.engine.begin() as conn,
        ):
            conn.execute(t.batches.delete().where(t.batches.c.id == "B2"))
        with repeatable.begin() as conn:
            repo.record_events(conn, [{"batch_id": "B2", "kind": "note", "payload": {}}], who=WHO)
    finally:
        repeatable.dispose()
    with linked.connect() as conn:
        assert sorted(conn.execute(sa.select(t.batches.c.id)).scalars()) == ["B1", "B2"]


@postgres_only
def test_a_delete_waits_for_the_writer_that_names_the_row_and_then_is_refused(
    linked: Store,
) -> None:
    """A foreign key's row lock made a delete wait for an uncommitted row naming its row;
    here the store's write lock does: a delete that does not take it itself (as a tool
    outside geoverify would not) still waits in its check, then sees the new reference."""
    outcome: list[BaseException | None] = []
    started = threading.Event()

    def delete_b2() -> None:
        engine = sa.create_engine(linked.engine.url)
        try:
            with engine.begin() as conn:
                started.set()
                conn.execute(t.batches.delete().where(t.batches.c.id == "B2"))
            outcome.append(None)
        except BaseException as e:  # handed to the test's thread
            outcome.append(e)
        finally:
            engine.dispose()

    with linked.begin() as conn:  # holds the write lock, as every geoverify writer does
        pk = _pk(conn)
        conn.execute(t.target_issues.insert().values(**_issue(pk, "B2", 3)))
        other = threading.Thread(target=delete_b2)
        other.start()
        started.wait(10)
        time.sleep(0.5)  # the delete is now waiting for the lock in its check
        assert other.is_alive()
        assert outcome == []
    other.join(30)
    assert len(outcome) == 1
    assert isinstance(outcome[0], IntegrityError)
    with linked.connect() as conn:
        assert sorted(conn.execute(sa.select(t.batches.c.id)).scalars()) == ["B1", "B2"]


def test_a_store_with_rows_goes_back_to_foreign_keys_and_forward_again(linked: Store) -> None:
    """Migration 0008 on a store that holds rows: down (the foreign keys come back and accept
    the rows), up again (the checks come back), nothing lost on the way."""
    from alembic import command

    from geoverify.store.database import _alembic_config

    def rows() -> dict[str, list[Any]]:
        with linked.connect() as conn:
            return {
                name: [
                    tuple(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key))
                ]
                for name in ("batches", "villages", "targets", "target_issues", "events")
                for table in [t.metadata.tables[name]]
            }

    before = rows()
    for revision in ("0007", "heads"):
        with linked.engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            if revision == "heads":
                command.upgrade(cfg, revision)
            else:
                command.downgrade(cfg, revision)
        assert rows() == before
        _refused(linked, lambda c: c.execute(t.batches.delete().where(t.batches.c.id == "B1")))
    assert linked.is_initialised()
