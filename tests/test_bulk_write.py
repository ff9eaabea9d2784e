"""The bulk writer of ``batch import`` writes exactly what the slow, obvious code wrote.

JSON documents are put together from their parts, COPY text a column at a time, and on PostGIS
the rows go to the server from a writer thread: each must give the same text as ``json.dumps``
and the per-value COPY encoding, and a failure half-way must leave the store unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from geoverify.model import Status
from geoverify.readers import targets as targets_reader
from geoverify.store import Store, bulk, repo
from geoverify.store import tables as t
from geoverify.workflows import import_batch
from geoverify.workflows.batches import _issued_payloads, _Plan
from geoverify.workflows.common import sample_path
from tests.conftest import snapshot

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | _text
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@given(_documents)
@settings(max_examples=300, deadline=None)
def test_the_json_encoder_writes_what_json_dumps_writes(doc: Any) -> None:
    assert bulk.dumps_json(doc) == json.dumps(doc, ensure_ascii=False)


def test_the_strict_encoder_refuses_what_json_dumps_refuses() -> None:
    for bad in ({"a": math.nan}, {"a": [math.inf]}):
        with pytest.raises(ValueError, match="JSON"):
            bulk.dumps_json_strict(bad)
    with pytest.raises(TypeError):
        bulk.dumps_json_strict({"a": object()})


def _copy_text_one_by_one(values: list[Any]) -> list[str]:
    return [repr(v) if type(v) is float else bulk._copy_text(v) for v in values]


_copy_values = st.lists(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | _text
    | st.sampled_from(["a\tb", "c\\d", "e\nf", "g\rh", "\\N", "x"])
    | st.dates()
    | st.datetimes(timezones=st.just(dt.UTC)),
    max_size=30,
)


@given(_copy_values)
@settings(max_examples=300, deadline=None)
def test_copy_text_a_column_at_a_time_is_copy_text_value_by_value(values: list[Any]) -> None:
    assert bulk._copy_texts(values) == _copy_text_one_by_one(values)


@given(st.lists(st.sampled_from(["a", "b\tc", None, "d\\e"]), min_size=1, max_size=40))
def test_repeated_text_with_nulls_is_escaped_once_each(values: list[Any]) -> None:
    assert bulk._copy_texts(values) == _copy_text_one_by_one(values)


def test_assignment_details_and_payloads_are_json_dumps_texts() -> None:
    names = {"A": "青龙村", "B": 'Quote "B"', "C": "back\\slash"}
    names["D%s"] = "百分100%村"
    neighbours: list[Any] = [[], ["A"], ["A", "B"], ["C"], [], None, None, ("D%s",)]
    split_into: list[Any] = [[], [], ["B"], [], ["A", "C"], None, ["D%s"], None]
    overlap: list[Any] = [None, 0.25, 1e-9, None, 12.0, 1.0, math.nan, math.inf]
    distance: list[Any] = [None, 3.5, None, 49.99999999, 0.0, 0.0, -0.0, 1e300]
    for tolerance in (50.0, 50, 12.5):
        plan = _Plan(
            targets={},
            again=None,  # type: ignore[arg-type]
            known={},
            summary_columns={},
            detail_columns=(neighbours, split_into, overlap, distance),
            names=names,
            tolerance_m=tolerance,
        )
        expected = [
            json.dumps(
                repo.assignment_detail(
                    neighbours=[names[c] for c in nb or ()],
                    neighbour_codes=list(nb or ()),
                    split_into=[names[c] for c in sp or ()],
                    overlap=ov if ov is not None and math.isfinite(ov) else None,
                    distance_m=dm,
                    tolerance_m=tolerance,
                ),
                ensure_ascii=False,
            )
            for nb, sp, ov, dm in zip(neighbours, split_into, overlap, distance, strict=True)
        ]
        assert plan.details(slice(0, 8)) == expected
        assert plan.details(slice(1, 3)) == expected[1:3]
        arrays = (neighbours, split_into, np.array(overlap, dtype=object), np.array(distance))
        plan.detail_columns = (*arrays[:2], arrays[2].astype(float), arrays[3].astype(float))
        assert plan.details(slice(0, 8)) == expected

    codes = ["510001", None, "510001", "5100\t02"]
    kinds = ["inside", "outside", "near_boundary", "inside"]
    for repeats in ([None, 7, None, 12345678901], [None] * 4):
        assert _issued_payloads(codes, kinds, repeats) == [
            json.dumps(
                {"status": Status.ISSUED.value, "village_code": c, "assignment": k, "repeat_of": r},
                ensure_ascii=False,
            )
            for c, k, r in zip(codes, kinds, repeats, strict=True)
        ]


def test_event_sources_name_the_file_and_row() -> None:
    from geoverify.store.repo import Who
    from geoverify.workflows.batches import _row_sources

    for who in (Who("a", "h", "command:x"), Who("a", "h", "command:x", channel="web")):
        for name in ("批次.csv", "100%s.csv"):
            assert _row_sources(who, name, [2, 10, 1000001]) == [
                who.event_source(f"file:{name}:row {r}") for r in (2, 10, 1000001)
            ]


_cells = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | _text
    | st.sampled_from(["", "  ", "\u3000", "100%", "%s", 'q"uote', "back\\slash", "两行\n"])
    | st.dates()
    | st.datetimes()
    | st.decimals(allow_nan=False)
    | st.binary(max_size=3)
    | st.builds(np.int64, st.integers(-(2**63), 2**63 - 1))
    | st.builds(np.float32, st.floats(width=32))
    | st.lists(st.none() | st.integers() | _text, max_size=2)
    | st.dictionaries(_text, st.none() | st.floats(), max_size=2)
    | st.just(shapely.Point(1, 2))
)
_names = st.sampled_from(["靶标编号", "经度", "备注", "100%", "%s", 'a"b', 1, "1", 2.5, None])


def _json_dumps_or_nulls(doc: dict[str, Any]) -> str:
    """``json.dumps`` of ``doc``; where it refuses a non-finite number (an infinite Decimal
    cell), with null for each such number (what the store has always been given)."""

    def finite(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, list):
            return [finite(x) for x in v]
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        return v

    try:
        return json.dumps(doc, allow_nan=False, ensure_ascii=False)
    except ValueError:
        return json.dumps(finite(doc), allow_nan=False, ensure_ascii=False)


@given(
    st.lists(_names, max_size=4).flatmap(
        lambda names: st.tuples(
            st.just(names),
            st.lists(st.lists(_cells, min_size=len(names), max_size=len(names)), max_size=7),
        )
    )
)
@settings(max_examples=300, deadline=None)
def test_attributes_as_json_text_are_json_dumps_of_the_attribute_dicts(
    case: tuple[list[Any], list[list[Any]]],
) -> None:
    """The reader's attributes put into JSON text a column at a time are the text
    ``json.dumps`` writes for each row's dict (odd cells made JSON-safe first, two columns
    of one name as the dict keeps them, rows a part at a time)."""
    names, rows = case
    frame = pd.DataFrame(rows, columns=pd.Index(names, dtype=object), dtype=object)
    if not names:
        frame = pd.DataFrame(index=range(len(rows)))
    expected = [_json_dumps_or_nulls(d) for d in targets_reader._attributes(frame)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(targets_reader, "_JSON_PART", 3)
        got = targets_reader._attribute_json(frame)
    assert got == expected


def test_odd_cells_reach_the_store_exactly(sample_store: Store, tmp_path: Path) -> None:
    """Tabs, line breaks, backslashes, quotes and Chinese in a district's own columns."""
    path = tmp_path / "odd.csv"
    path.write_text(
        "靶标编号,经度,纬度,备注,路径\n"
        'O1,106.05,29.70,"两行\n第二行",C:\\影像\\1.tif\n'
        'O2,106.06,29.71,"tab\there ""quoted""",\\N\n'
        "O3,106.07,29.72,,\n",
        encoding="utf-8",
    )
    res = import_batch(sample_store, path, batch_id="ODD", issued_on=dt.date(2024, 3, 1))
    assert res.imported == 3
    with sample_store.connect() as conn:
        stored = {
            r.target_id: r.attributes
            for r in conn.execute(select(t.targets.c.target_id, t.targets.c.attributes))
        }
        issue = t.target_issues.c
        links = conn.execute(select(issue.reissue, issue.geometry, issue.attributes)).all()
    assert stored["O1"]["备注"] == "两行\n第二行"
    assert stored["O1"]["路径"] == "C:\\影像\\1.tif"
    assert stored["O2"]["备注"] == 'tab\there "quoted"'
    assert stored["O2"]["路径"] == "\\N"
    assert stored["O3"] == {
        "靶标编号": "O3",
        "经度": "106.07",
        "纬度": "29.72",
        "备注": None,
        "路径": None,
    }
    assert list(stored["O1"]) == ["靶标编号", "经度", "纬度", "备注", "路径"]  # the file's order
    # The batch that first issues a target keeps no second copy of it: NULL, the target's own.
    assert links == [(False, None, None)] * 3


def _events_refused_at_the_end(n: int) -> dict[str, list[Any]]:
    """``n`` events whose last names a batch that does not exist (a foreign-key error)."""
    now = dt.datetime.now(dt.UTC)
    return {
        "target": [None] * n,
        "batch_id": [None] * (n - 1) + ["no such batch"],
        "at": [now] * n,
        "actor": ["pytest"] * n,
        "host": ["h"] * n,
        "kind": ["test"] * n,
        "source": [f"row {i}" for i in range(n)],
        "payload": [{"i": i} for i in range(n)],
    }


def test_a_failing_bulk_write_leaves_the_store_unchanged(sample_store: Store) -> None:
    """A row the database refuses, after several blocks were sent: nothing is kept."""
    before = snapshot(sample_store)
    n = 2 * bulk.CHUNK + 10
    with (
        pytest.raises(Exception, match=r"(?i)foreign key"),
        sample_store.begin() as conn,
        bulk.Loader(conn) as load,
    ):
        load.insert(t.events, _events_refused_at_the_end(n))
        load.wait()
    assert snapshot(sample_store) == before


def _indexes(store: Store) -> dict[str, list[str]]:
    """Index names per table, as the database has them."""
    from sqlalchemy import inspect

    with store.connect() as conn:
        found = inspect(conn)
        return {
            name: sorted(str(i["name"]) for i in found.get_indexes(name))
            for name in ("targets", "target_issues", "events")
        }


def test_a_batch_that_doubles_the_store_gets_its_indexes_back(
    sample_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite such a batch builds the secondary indexes once at the end: afterwards they
    are all there and used, on both stores."""
    monkeypatch.setattr(bulk, "DEFER_INDEXES_FROM", 1)
    expected = _indexes(sample_store)
    assert "ix_targets_batch_id" in expected["targets"]
    path = sample_path("samples", "district_batch_2024-03.geojson")
    res = import_batch(sample_store, path, batch_id="2024-03", issued_on=dt.date(2024, 3, 5))
    assert res.imported > 0
    assert _indexes(sample_store) == expected
    if sample_store.sqlite_path is not None:
        with sample_store.connect() as conn:
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM targets WHERE batch_id = '2024-03'"
            ).all()
        assert "ix_targets_batch_id" in " ".join(str(r[-1]) for r in plan)


def test_a_failing_write_with_deferred_indexes_leaves_the_store_unchanged(
    sample_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The indexes are dropped inside the transaction: a failure brings them back."""
    monkeypatch.setattr(bulk, "DEFER_INDEXES_FROM", 1)
    before = snapshot(sample_store)
    indexes = _indexes(sample_store)
    with sample_store.connect() as conn:
        n = 10 + int(conn.execute(select(func.count()).select_from(t.events)).scalar() or 0)
    with (
        pytest.raises(Exception, match=r"(?i)foreign key"),
        sample_store.begin() as conn,
        bulk.indexes_deferred(conn, (t.events,), n),
        bulk.Loader(conn) as load,
    ):
        if sample_store.sqlite_path is not None:  # dropped meanwhile
            names = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
            ).scalars()
            assert "ix_events_target" not in set(names)
        load.insert(t.events, _events_refused_at_the_end(n))
        load.wait()
    assert snapshot(sample_store) == before
    assert _indexes(sample_store) == indexes


_sqlite_values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["it's", "a\x00b", "''", "?", "NULL"])
    | st.binary(max_size=4)
)


@given(
    st.integers(min_value=1, max_value=250).flatmap(
        lambda n: st.lists(
            # a column of one repeated value (written as a literal) or of any values
            _sqlite_values.map(lambda v: [v] * n)
            | st.lists(_sqlite_values, min_size=n, max_size=n)
            | st.sampled_from([[1] * (n - 1) + [1.0], [True] * (n - 1) + [1]])
            # counting up by one (written as the first value plus the row's place), or not quite
            | st.integers(min_value=-(2**63), max_value=2**63 - n).map(
                lambda v: list(range(v, v + n))
            )
            | st.sampled_from([2**62 - 2, -(2**62) + 1, 0]).map(lambda v: list(range(v, v + n)))
            | st.integers(0, 9).map(lambda v: [*range(v, v + n - 1), v + n])
            | st.integers(0, 9).map(lambda v: [float(v), *range(v + 1, v + n)]),
            min_size=1,
            max_size=4,
        )
    )
)
@settings(max_examples=150, deadline=None)
def test_sqlite_multi_row_inserts_store_what_executemany_stores(columns: list[list[Any]]) -> None:
    """Rows many to a statement, constant columns as literals, counting columns as their first
    value plus the row's place: the same values of the same types, in the same order, as one
    ``executemany`` of the same rows."""
    import sqlite3

    names = [f"c{j}" for j in range(len(columns))]
    table = sa.Table("x", sa.MetaData(), *(sa.Column(c) for c in names))
    got, want = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    for db in (got, want):
        db.execute(f"CREATE TABLE x (id INTEGER PRIMARY KEY, {', '.join(names)})")
    bulk._sqlite_insert(got, table, names, columns)
    want.executemany(
        f"INSERT INTO x ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        zip(*columns, strict=True),
    )
    cols = ", ".join(f"typeof({c}), quote({c})" for c in names)
    query = f"SELECT id, {cols} FROM x ORDER BY id"
    assert got.execute(query).fetchall() == want.execute(query).fetchall()


def test_an_import_refused_half_way_leaves_the_store_as_it_was(
    sample_store: Store, tmp_path: Path
) -> None:
    """A batch large enough to be written in several chunks, with its indexes deferred on
    SQLite, refused by the database after the first chunk: nothing of it is kept, and the
    indexes are all there."""
    n = bulk.CHUNK + 20_000
    assert n >= bulk.DEFER_INDEXES_FROM
    if sample_store.sqlite_path is not None:
        trigger = [
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.target > 60000 "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ]
    else:
        trigger = [
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.target > 60000 THEN "
            "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
    with sample_store.begin() as conn:
        for sql in trigger:
            conn.exec_driver_sql(sql)
    path = tmp_path / "big.csv"
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(106.02, 106.08, n), rng.uniform(29.76, 29.84, n)
    path.write_text(
        "靶标编号,经度,纬度\n"
        + "".join(
            f"R{i:06d},{x:.6f},{y:.6f}\n" for i, (x, y) in enumerate(zip(xs, ys, strict=True))
        ),
        encoding="utf-8",
    )
    before = snapshot(sample_store)
    indexes = _indexes(sample_store)
    with pytest.raises(Exception, match="refused by the test"):
        import_batch(sample_store, path, batch_id="BIG", issued_on=dt.date(2024, 3, 1))
    assert snapshot(sample_store) == before
    assert _indexes(sample_store) == indexes


def test_reserved_keys_are_new_and_later_rows_get_keys_after_them(store: Store) -> None:
    """Keys reserved for an import (PostgreSQL: the sequence moved on in one statement) are
    not handed out again: not to the next reservation, nor to a row inserted without a key."""

    def insert(conn: sa.Connection, key: int | None) -> int:
        row = {
            "kind": "batch",
            "sha256": f"{key or 0:064d}",
            "source_name": "f.csv",
            "at": dt.datetime.now(dt.UTC),
            "actor": "pytest",
            "host": "h",
            "summary": {},
        }
        if key is not None:
            row["id"] = key
        return int(conn.execute(t.imports.insert().values(**row)).inserted_primary_key[0])

    with store.begin() as conn:
        assert bulk.reserve_ids(conn, t.imports, 0) == []
        first = bulk.reserve_ids(conn, t.imports, 3)
        assert first == list(range(first[0], first[0] + 3))
        for key in first:
            insert(conn, key)
        second = bulk.reserve_ids(conn, t.imports, 2)
        assert second == list(range(second[0], second[0] + 2))
        assert second[0] > first[-1]
        for key in second:
            insert(conn, key)
        assert insert(conn, None) > second[-1]
