"""The lifecycle through the store: every pair of states, refused moves write nothing, events
are append-only (SQLite and PostGIS)."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from geoverify.errors import TransitionError
from geoverify.lifecycle import ALLOWED_TRANSITIONS, STATES
from geoverify.store import Store, repo
from geoverify.store import tables as t
from geoverify.workflows.feedback import change_state
from tests.cli.feedback_helpers import BATCH, full_snapshot, with_batch
from tests.conftest import Cli

State = tuple[str, str | None]


def _path_to(state: State) -> list[State]:
    """Legal ordinary steps from issued to ``state``."""
    status, result = state
    steps: list[State] = []
    if status == "issued":
        return steps
    steps.append(("dispatched", None))
    if status == "dispatched":
        return steps
    steps.append(("verified", result))
    if status == "eradicated" or (status == "reported" and result == "confirmed"):
        steps.append(("eradicated", "confirmed"))
    if status == "reported":
        steps.append(("reported", result))
    return steps


def _state(store: Store, tid: str) -> State:
    with store.connect() as conn:
        pk = int(conn.execute(t.targets.select().where(t.targets.c.target_id == tid)).one().id)
        rec = repo.load_targets(conn, pks=[pk]).iloc[0]
    return str(rec["status"]), rec["result"] if isinstance(rec["result"], str) else None


@pytest.mark.parametrize("start", STATES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_every_move_from_a_state(run: Cli, start: State) -> None:
    with_batch(run)
    store = run.store()
    with store.connect() as conn:
        ids = sorted(repo.load_targets(conn, batch=BATCH)["target_id"])
    with store.begin() as conn:  # counted, as a confirmed planting must be to be reported
        conn.execute(update(t.targets).values(plants=3))
    targets = [s for s in STATES if s != start]
    for tid, target in zip(ids, targets, strict=False):
        for step in _path_to(start):
            assert change_state(store, tid, to_status=step[0], to_result=step[1], actor="t")
        assert _state(store, tid) == start
        allowed = ALLOWED_TRANSITIONS[start]
        before = full_snapshot(store)
        if target not in allowed or allowed[target]:
            with pytest.raises(TransitionError):
                change_state(store, tid, to_status=target[0], to_result=target[1])
            assert full_snapshot(store) == before, (start, target)
        if allowed.get(target):
            # a supersede: refused without a reason, allowed with one
            with pytest.raises(TransitionError):
                change_state(store, tid, to_status=target[0], to_result=target[1], supersede=True)
            assert full_snapshot(store) == before
            change_state(
                store, tid, to_status=target[0], to_result=target[1], supersede=True, reason="复核"
            )
        elif target in allowed:
            change_state(store, tid, to_status=target[0], to_result=target[1])
        if target in allowed:
            assert _state(store, tid) == target
            with store.connect() as conn:
                pk = int(
                    conn.execute(t.targets.select().where(t.targets.c.target_id == tid)).one().id
                )
                last = repo.load_events(conn, target=pk).iloc[-1]
            assert last["payload"]["from"] == {"status": start[0], "result": start[1]}
            assert last["payload"]["to"] == {"status": target[0], "result": target[1]}
            if allowed[target]:
                assert last["kind"] == "superseded"
                assert last["payload"]["reason"] == "复核"
    assert len(targets) == len(STATES) - 1


def test_a_confirmed_planting_is_not_reported_without_its_count(run: Cli) -> None:
    with_batch(run)
    store = run.store()
    tid = "TL2024-03-001"
    for step in _path_to(("verified", "confirmed")):
        change_state(store, tid, to_status=step[0], to_result=step[1], actor="t")
    before = full_snapshot(store)
    with pytest.raises(TransitionError, match="株数"):
        change_state(store, tid, to_status="reported", to_result="confirmed")
    assert full_snapshot(store) == before
    with store.begin() as conn:
        conn.execute(update(t.targets).where(t.targets.c.target_id == tid).values(plants=12))
    assert change_state(store, tid, to_status="reported", to_result="confirmed")
    assert _state(store, tid) == ("reported", "confirmed")


def test_events_are_immutable(run: Cli) -> None:
    with_batch(run)
    store = run.store()
    change_state(store, "TL2024-03-001", to_status="dispatched")
    for stmt in (
        t.events.update().values(actor="mallory"),
        t.events.delete().where(t.events.c.kind == "dispatched"),
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
            conn.execute(stmt)
    with store.connect() as conn:
        ev = repo.load_events(conn)
    assert "mallory" not in set(ev["actor"])
    assert (ev["kind"] == "dispatched").sum() == 1
