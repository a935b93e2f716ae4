"""The run store over a real SQLite file: the hash-chained event log, approvals, and the inbox."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from graph import ApprovalRequest, ApprovalStatus, Event, ManualClock, Store

GENESIS = "0" * 64


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "keel.db"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    opened = Store.open(path, ManualClock())
    yield opened
    opened.close()


@pytest.fixture
def raw(path: Path, store: Store) -> Iterator[sqlite3.Connection]:
    """A second, plain connection to the same file: what someone editing the file would use."""
    conn = sqlite3.connect(path, isolation_level=None)
    yield conn
    conn.close()


def fill(store: Store, count: int = 30) -> list[Event]:
    """Events spread over three runs and the global stream, interleaved."""
    runs = ["run_a", "run_b", None, "run_c"]
    return [
        store.append_event(
            runs[i % len(runs)],
            f"kind.{i % 3}",
            step=f"s{i % 2}",
            actor="cleo" if i % 5 == 0 else None,
            data={"i": i, "note": "é ✓"},
            cost_usd=0.001 * i,
            duration_ms=1.23456 * i if i % 2 else None,
        )
        for i in range(count)
    ]


def request(by: str = "cleo") -> ApprovalRequest:
    return ApprovalRequest(
        workflow="refund",
        what="Refund 131.00 USD on order #1043",
        why="arrived broken",
        amount=Decimal("131.00"),
        approver_roles=["manager"],
        requested_by=by,
    )


# --- the chain -----------------------------------------------------------------------------


def test_events_form_one_chain_across_runs(store: Store) -> None:
    appended = fill(store, 60)

    stored = store.events(limit=1000)
    assert stored == appended
    assert stored[0].prev_hash == GENESIS
    for before, after in pairwise(stored):
        assert after.prev_hash == before.hash
    assert len({e.hash for e in stored}) == 60
    for run_id in ("run_a", "run_b", "run_c"):
        assert [e.seq for e in store.events(run_id)] == list(range(1, 16))
    assert [e.seq for e in stored if e.run_id is None] == list(range(1, 16))

    report = store.verify()
    assert report.ok
    assert report.checked == 60


def test_an_empty_log_verifies(store: Store) -> None:
    report = store.verify()
    assert report.ok and report.checked == 0


def test_events_read_back_as_written(store: Store) -> None:
    event = store.append_event(
        "run_a",
        "effect.performed",
        step="refund",
        actor="maria",
        data={"amount": "84.00", "nested": {"b": 1, "a": [1, 2]}},
        cost_usd=0.0125,
        duration_ms=12.34567,
    )

    [stored] = store.events("run_a")
    assert stored == event
    assert stored.data == {"amount": "84.00", "nested": {"a": [1, 2], "b": 1}}
    assert (stored.cost_usd, stored.duration_ms) == (0.0125, 12.346)
    assert store.events(kinds=["effect.performed"]) == [event]
    assert store.events(since=event.id) == []


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET data = '{}' WHERE id = 2",
        "UPDATE events SET hash = 'x' WHERE id = 2",
        "DELETE FROM events WHERE id = 2",
        "DELETE FROM events",
    ],
)
def test_the_log_refuses_update_and_delete(store: Store, raw: sqlite3.Connection, sql: str) -> None:
    before = fill(store, 5)

    with pytest.raises(sqlite3.IntegrityError, match="events are append-only"):
        raw.execute(sql)

    assert store.events() == before
    assert store.verify().ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("data", '{"i":7,"note":"é ✓","amount":"9999.00"}'),
        ("cost_usd", 12.5),
        ("kind", "kind.forged"),
        ("actor", "maria"),
        ("at", "2020-01-01T00:00:00.000000Z"),
        ("seq", 99),
        ("duration_ms", 0.5),
    ],
)
def test_an_altered_row_is_named(
    store: Store,
    raw: sqlite3.Connection,
    column: str,
    value: object,
) -> None:
    events = fill(store, 12)
    target = events[7]
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute(f"UPDATE events SET {column} = ? WHERE id = ?", (value, target.id))

    report = store.verify()

    assert not report.ok
    seq = value if column == "seq" else target.seq  # the report shows the row as it now reads
    assert (report.broken_at, report.run_id, report.seq) == (target.id, target.run_id, seq)
    assert report.checked == 7
    assert "altered" in (report.problem or "")


def test_a_rewritten_hash_breaks_the_next_link(store: Store, raw: sqlite3.Connection) -> None:
    events = fill(store, 6)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("UPDATE events SET hash = ? WHERE id = ?", ("f" * 64, events[2].id))

    report = store.verify()

    assert report.broken_at == events[2].id  # its own hash no longer matches its contents


def test_a_deleted_middle_row_is_found_at_the_next_row(
    store: Store,
    raw: sqlite3.Connection,
) -> None:
    events = fill(store, 10)
    raw.execute("DROP TRIGGER events_no_delete")
    raw.execute("DELETE FROM events WHERE id = ?", (events[4].id,))

    report = store.verify()

    assert (report.broken_at, report.run_id, report.seq) == (
        events[5].id,
        events[5].run_id,
        events[5].seq,
    )
    assert report.checked == 4
    assert "prev_hash" in (report.problem or "")


def test_a_deleted_first_row_is_found(store: Store, raw: sqlite3.Connection) -> None:
    events = fill(store, 3)
    raw.execute("DROP TRIGGER events_no_delete")
    raw.execute("DELETE FROM events WHERE id = ?", (events[0].id,))

    assert store.verify().broken_at == events[1].id


@pytest.mark.parametrize("column", ["run_id", "step", "actor"])
def test_null_changed_to_empty_text_is_found(
    store: Store,
    raw: sqlite3.Connection,
    column: str,
) -> None:
    events = [
        store.append_event(None, "tick"),
        store.append_event(None, "tick"),
        store.append_event(None, "tick"),
    ]
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute(f"UPDATE events SET {column} = '' WHERE id = ?", (events[1].id,))

    assert store.verify().broken_at == events[1].id


def test_two_connections_interleaving_keep_one_chain(path: Path, store: Store) -> None:
    other = Store.open(path, ManualClock())
    try:
        for i in range(20):
            (store if i % 2 else other).append_event("run_shared", "tick", data={"i": i})
            (other if i % 3 else store).append_event(f"run_{i % 4}", "tock", data={"i": i})
        assert store.events() == other.events()
    finally:
        other.close()

    events = store.events()
    assert len(events) == 40
    assert [e.seq for e in events if e.run_id == "run_shared"] == list(range(1, 21))
    assert [e.data["i"] for e in events if e.run_id == "run_shared"] == list(range(20))
    assert store.verify().ok and store.verify().checked == 40


def test_two_connections_appending_at_once_keep_one_chain(path: Path, store: Store) -> None:
    other = Store.open(path, ManualClock())
    start = threading.Barrier(2)

    def append(into: Store, who: str) -> None:
        start.wait()
        for i in range(40):
            into.append_event("run_shared", "tick", actor=who, data={"i": i})

    threads = [
        threading.Thread(target=append, args=(s, w)) for s, w in ((store, "one"), (other, "two"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    other.close()

    events = store.events()
    assert len(events) == 80
    assert [e.seq for e in events] == list(range(1, 81))
    assert store.verify().ok and store.verify().checked == 80


def test_reopening_the_file_continues_the_chain(path: Path, store: Store) -> None:
    first = fill(store, 4)
    store.close()
    reopened = Store.open(path, ManualClock())
    try:
        added = reopened.append_event("run_a", "later")
        assert added.prev_hash == first[-1].hash
        assert added.seq == 2  # run_a already had event 0 of fill()
        assert reopened.verify().checked == 5
    finally:
        reopened.close()


# --- approvals -----------------------------------------------------------------------------


def approval_in(store: Store) -> str:
    store.create_run("run_x", "refund", 1, {"order_id": 1043}, "cleo", "cli")
    approval, created = store.ensure_approval(
        "run_x", "approval:task", 1, request(), store.clock.now() + timedelta(hours=4)
    )
    assert created
    return approval.id


def test_an_approval_is_created_once_per_task_and_ordinal(store: Store) -> None:
    approval_id = approval_in(store)

    again, created = store.ensure_approval("run_x", "approval:task", 1, request(), None)
    other, created_other = store.ensure_approval("run_x", "approval:task", 2, request(), None)

    assert (again.id, created) == (approval_id, False)
    assert created_other and other.id != approval_id
    kinds = [e.kind for e in store.events("run_x")]
    assert kinds == ["run.started", "approval.requested", "approval.requested"]


def test_settling_an_approval_is_a_compare_and_set(store: Store) -> None:
    approval_id = approval_in(store)

    first = store.settle_approval(approval_id, ApprovalStatus.APPROVED, "maria", None)
    second = store.settle_approval(approval_id, ApprovalStatus.REJECTED, "olivia", "no")

    assert (first, second) == (True, False)
    settled = store.approval(approval_id)
    assert settled is not None
    assert (settled.status, settled.decided_by, settled.reason) == (
        ApprovalStatus.APPROVED,
        "maria",
        None,
    )
    assert settled.decided_at == store.clock.now()


def test_two_connections_settling_at_once_only_one_wins(path: Path, store: Store) -> None:
    approval_id = approval_in(store)
    other = Store.open(path, ManualClock())
    start = threading.Barrier(2)
    won: dict[str, bool] = {}

    def settle(into: Store, who: str) -> None:
        start.wait()
        won[who] = into.settle_approval(approval_id, ApprovalStatus.APPROVED, who, None)

    threads = [
        threading.Thread(target=settle, args=(s, w))
        for s, w in ((store, "maria"), (other, "olivia"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    other.close()

    assert sorted(won.values()) == [False, True]
    winner = next(who for who, ok in won.items() if ok)
    assert store.approval(approval_id).decided_by == winner  # type: ignore[union-attr]


# --- the inbox -----------------------------------------------------------------------------


def test_inbox_items_are_claimed_in_order_and_finished(store: Store) -> None:
    first = store.put_inbox("decide", {"approval_id": "apv_1", "decision": "approve"}, "maria")
    second = store.put_inbox("cancel", {"run_id": "run_1"}, "olivia")

    claimed = store.claim_inbox()
    assert claimed is not None
    assert (claimed.id, claimed.kind, claimed.status, claimed.actor) == (
        first,
        "decide",
        "handling",
        "maria",
    )
    assert claimed.payload == {"approval_id": "apv_1", "decision": "approve"}
    store.finish_inbox(first, True, {"status": "approved"})

    done = store.inbox_item(first)
    assert done is not None and (done.status, done.result) == ("done", {"status": "approved"})
    nxt = store.claim_inbox()
    assert nxt is not None and nxt.id == second
    store.finish_inbox(second, False, {"error": "UnknownRun"})
    assert store.inbox_item(second).status == "failed"  # type: ignore[union-attr]
    assert store.claim_inbox() is None
    assert store.inbox_item(999) is None


def test_an_item_left_handling_by_a_crash_is_claimed_again(path: Path, store: Store) -> None:
    item = store.put_inbox("decide", {"approval_id": "apv_1"}, "maria")
    later = store.put_inbox("decide", {"approval_id": "apv_2"}, "maria")
    assert store.claim_inbox().id == item  # type: ignore[union-attr]
    store.close()  # the process dies before finish_inbox (closing twice is harmless)

    restarted = Store.open(path, ManualClock())
    try:
        again = restarted.claim_inbox()
        assert again is not None and (again.id, again.status) == (item, "handling")
        restarted.finish_inbox(item, True, {})
        assert restarted.claim_inbox().id == later  # type: ignore[union-attr]
    finally:
        restarted.close()
