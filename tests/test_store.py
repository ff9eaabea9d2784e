"""The store on SQLite and PostGIS: schema, append-only events, constraints, geometry."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from geoverify.errors import StoreError
from geoverify.store import Store, repo
from geoverify.store import tables as t
from tests.conftest import load_migration


def _import(conn: sa.Connection, sha: str = "a" * 64) -> int:
    who = repo.Who("tester", "host", "test")
    return repo.record_import(
        conn, kind="batch", sha256=sha, source_name="f.csv", who=who, summary={}
    )


def _target(**kw: object) -> dict[str, object]:
    now = repo.now()
    row: dict[str, object] = dict(
        target_id="T1",
        batch_id=None,
        source="district",
        geometry=shapely.Point(106.03, 29.7),
        geom_type="Point",
        lon=106.03,
        lat=29.7,
        attributes={"原编号": "甲"},
        assignment="inside",
        assignment_detail={},
        status="issued",
        created_at=now,
        updated_at=now,
    )
    row.update(kw)
    return row


def test_schema_matches_tables(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert {
        "villages",
        "village_groups",
        "batches",
        "targets",
        "events",
        "imports",
        "rejected_rows",
        "target_issues",
    } <= set(store.table_names())

    references = load_migration("0008")
    replaced = {
        references._fk_name(child, column, parent)
        for child, column, parent, _ in references.REFERENCES
    }

    def ours(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        # PostGIS brings spatial_ref_sys (and friends) in the public schema: not ours; the
        # GiST indexes are made by the migration for PostgreSQL only, which also checks six
        # references with statement triggers instead of foreign keys (migration 0008).
        if type_ == "index" and name is not None and name.endswith("_geometry"):
            return False
        if type_ == "foreign_key_constraint" and store.backend == "postgresql":
            return name not in replaced
        return not (type_ == "table" and reflected and compare_to is None)

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": ours})
        diff = compare_metadata(ctx, t.metadata)
    assert diff == []
    assert store.is_initialised()


def test_upgrade_twice_is_harmless(store: Store) -> None:
    store.upgrade()
    assert store.is_initialised()


def test_events_refuse_update_and_delete(store: Store) -> None:
    with store.begin() as conn:
        repo.record_events(
            conn, [{"kind": "note", "payload": {"x": 1}}], who=repo.Who("a", "h", "cmd")
        )
    for stmt in (t.events.update().values(actor="mallory"), t.events.delete()):
        with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
            conn.execute(stmt)
    with store.connect() as conn:
        rows = conn.execute(sa.select(t.events.c.actor, t.events.c.payload)).all()
    assert rows == [("a", {"x": 1})]


def test_rejected_rows_are_append_only_too(store: Store) -> None:
    with store.begin() as conn:
        iid = _import(conn)
        conn.execute(t.rejected_rows.insert().values(import_id=iid, row=2, code="x", reason="r"))
    with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
        conn.execute(t.rejected_rows.delete())


def test_target_id_is_unique_in_the_database(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(t.targets.insert().values(**_target()))
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(t.targets.insert().values(**_target(lon=106.0)))


def test_same_file_cannot_be_recorded_twice(store: Store) -> None:
    with store.begin() as conn:
        _import(conn)
    with pytest.raises(IntegrityError), store.begin() as conn:
        _import(conn)


def test_geometry_and_time_round_trip(store: Store) -> None:
    poly = shapely.Polygon([(106.0, 29.7), (106.001, 29.7), (106.001, 29.701), (106.0, 29.7)])
    with store.begin() as conn:
        conn.execute(t.targets.insert().values(**_target(geometry=poly, geom_type="Polygon")))
    with store.connect() as conn:
        geom, created = conn.execute(sa.select(t.targets.c.geometry, t.targets.c.created_at)).one()
    assert shapely.equals_exact(geom, poly, tolerance=0)
    assert created.tzinfo is not None
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 3600


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(t.targets.insert().values(**_target(target_id="A")))
        conn.execute(t.targets.insert().values(**_target(target_id="A")))
    with store.connect() as conn:
        assert repo.count_rows(conn)["targets"] == 0


def test_uninitialised_workspace_is_a_clear_error(tmp_path: object) -> None:
    s = Store(tmp_path / "nothing")  # type: ignore[operator]
    with pytest.raises(StoreError, match="geoverify init"):
        s.require()


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_postgis_has_spatial_index(store: Store) -> None:
    assert store.backend == "postgresql"
    with store.connect() as conn:
        names = set(
            conn.execute(
                # this test's schema only: other tests' schemas may be dropped meanwhile
                sa.text(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                    " AND indexdef ILIKE '%USING gist%'"
                )
            ).scalars()
        )
        srid = conn.execute(
            sa.text(
                "SELECT srid FROM geometry_columns WHERE f_table_schema = current_schema()"
                " AND f_table_name = 'targets'"
            )
        ).scalar()
    assert "ix_targets_geometry" in names
    assert srid == 4490


def test_migrations_go_down_and_up_again(store: Store) -> None:
    from alembic import command

    from geoverify.store.database import _alembic_config

    with store.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert not store.is_initialised()
    assert "targets" not in store.table_names()
    store.upgrade()
    assert store.is_initialised()
    assert "targets" in store.table_names()
