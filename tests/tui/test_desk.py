"""The Desk: what the terminal app reads and does, without the app."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from graph import (
    AlreadyDecided,
    ApprovalStatus,
    InvalidInput,
    ManualClock,
    NotAuthorised,
    ReasonRequired,
    RunStatus,
    Runtime,
    SelfApproval,
    Services,
    Worker,
)
from graph.audit import canonical
from tui import NotConfigured

from ..support import orders
from .conftest import MakeDesk


def test_runs_filter_sort_and_page(seeded: Runtime, make_desk: MakeDesk) -> None:
    desk = make_desk("maria")
    page = desk.runs()
    assert page.total == 7 and [r.summary for r in page.rows][:3] == [
        "#1044 22.00",
        "#1041 132.50",
        "#1030 310.00",
    ]
    waiting = desk.runs(status=[RunStatus.WAITING])
    assert [(r.summary, r.waiting_on, r.escalation_level, r.mine) for r in waiting.rows] == [
        ("#1041 132.50", "support +2", 0, True),
        ("#1030 310.00", "manager", 1, True),
    ]
    assert [r.summary for r in desk.runs(text="1012").rows] == ["#1012 240.00"]
    assert [r.summary for r in desk.runs(text="rejected").rows] == ["#1012 240.00"]
    assert desk.runs(text="100%_").total == 0  # LIKE's wildcards are taken literally
    by_status = desk.runs(sort="status", descending=False)
    assert [r.status for r in by_status.rows][:2] == [RunStatus.FAILED, RunStatus.QUEUED]
    second = desk.runs(offset=5, limit=5)
    assert (second.total, [r.summary for r in second.rows]) == (7, ["#1001 118.00", "#1005 77.00"])
    [failed] = desk.runs(status=[RunStatus.FAILED]).rows
    assert failed.waiting_on == "maria (on call)"
    assert desk.runs(sort="cost").rows[-1].summary == "#1044 22.00"  # no model calls yet


def test_metrics_for_the_header(seeded: Runtime, make_desk: MakeDesk) -> None:
    m = make_desk("maria").metrics()
    assert (m.runs, m.success_rate, m.waiting, m.open_escalations) == (7, 0.5, 2, 2)
    assert m.by_status == {"succeeded": 2, "rejected": 1, "failed": 1, "waiting": 2, "queued": 1}
    assert (m.decisions, m.p95_decision_seconds) == (2, 540.0)  # 3m20s and 9m: p95 is 9m
    assert m.cost_per_completed_usd == 0.0031
    assert m.cost_usd == round(6 * 0.0031, 6)
    assert len(m.runs_per_hour) == len(m.cost_per_hour) == 25
    assert sum(m.runs_per_hour) == 7 and m.runs_per_hour[-3:] == [4.0, 1.0, 2.0]  # 09h, 10h, 11h


def test_a_run_in_full_with_its_provenance(seeded: Runtime, make_desk: MakeDesk) -> None:
    desk = make_desk("maria", slack_link=lambda run_id: f"https://slack.example/{run_id}")
    [failed] = desk.runs(status=[RunStatus.FAILED]).rows
    view = desk.run(failed.id)
    assert view.slack_url == f"https://slack.example/{failed.id}"
    assert [e.kind for e in view.detail.effects] == ["refund", "restock", "email"]
    assert [r.kind for r in view.detail.reconciliations] == ["compensation_failed"]
    assert [link.seq for link in view.provenance] == [e.seq for e in view.events]
    assert view.chain_intact and not view.decidable

    # Someone edits the log behind the runtime's back: the run's provenance says where.
    conn = seeded.store.conn
    conn.execute("DROP TRIGGER events_no_update")
    target = view.events[3]
    conn.execute(
        "UPDATE events SET data = ? WHERE id = ?",
        (canonical({**target.data, "model": "forged"}), target.id),
    )
    broken = desk.run(failed.id)
    assert not broken.chain_intact
    [bad] = [link for link in broken.provenance if not link.intact]
    assert (bad.event_id, bad.problem) == (
        target.id,
        "its fields do not match its hash (the row was altered)",
    )


def test_the_conversation_comes_back_from_the_log(seeded: Runtime, make_desk: MakeDesk) -> None:
    lines = make_desk("maria").chat_history()
    assert [(line.who, line.from_person) for line in lines] == [
        ("maria", True),
        ("keel", False),
        ("maria", True),
        ("keel", False),
    ]
    assert lines[1].offline and lines[1].text.startswith("[offline model] 2 approvals")
    assert make_desk("sam").chat_history() == []


def test_decisions_raise_what_every_surface_raises(
    tui_runtime: Runtime,
    services: Services,
    make_desk: MakeDesk,
) -> None:
    order = orders(services.shop, over="100", under="250")[0]
    run = tui_runtime.start("refund", {"order_id": order.id, "reason": "dented"}, "sam")
    approval_id = tui_runtime.get(run.id).pending.id  # type: ignore[union-attr]

    with pytest.raises(NotAuthorised, match="cleo has no role in policy"):
        make_desk("cleo").decide(approval_id, "approve")
    with pytest.raises(SelfApproval, match="sam requested this and may not decide it"):
        make_desk("sam").authorise(approval_id)
    with pytest.raises(ReasonRequired):
        make_desk("maria").decide(approval_id, "reject", "  ")
    assert make_desk("maria").decide(approval_id, "approve").status is ApprovalStatus.APPROVED
    with pytest.raises(
        AlreadyDecided, match=r"^already approved by maria at 2026-01-05 09:00 UTC$"
    ):
        make_desk("olivia").decide(approval_id, "reject", "too late")
    refused = tui_runtime.store.events(run.id, kinds=["approval.refused"])
    assert [e.actor for e in refused] == ["cleo", "sam"]


def test_start_refund_checks_its_input(make_desk: MakeDesk) -> None:
    desk = make_desk("sam")
    with pytest.raises(InvalidInput, match="is not an order number"):
        desk.start_refund("abc", "broken")
    with pytest.raises(InvalidInput, match="order 999999 not found"):
        desk.start_refund("999999", "broken")
    with pytest.raises(InvalidInput, match="is not an amount"):
        desk.start_refund("1001", "broken", amount="1,5")


def test_attached_it_leaves_runs_and_decisions_to_the_server(
    tui_runtime: Runtime,
    services: Services,
    make_desk: MakeDesk,
) -> None:
    desk = make_desk("maria", attached=True)
    small = orders(services.shop, under="100")[0]
    first, second = orders(services.shop, over="100")[:2]
    queued = desk.start_refund(small.id, "broken")
    assert queued.status is RunStatus.QUEUED  # nothing drives it in this process
    waiting = [
        tui_runtime.start("refund", {"order_id": o.id, "reason": "dented"}, "sam")
        for o in (first, second)
    ]
    approval_id = tui_runtime.get(waiting[0].id).pending.id  # type: ignore[union-attr]

    stop = threading.Event()
    server = threading.Thread(
        target=Worker(tui_runtime, poll=0.02, tick_every=None).serve, args=(stop,), daemon=True
    )
    server.start()
    try:
        assert desk.decide(approval_id, "approve").decided_by == "maria"
        with pytest.raises(AlreadyDecided, match=r"^already approved by maria at"):
            desk.decide(approval_id, "reject", "changed my mind")
        desk.cancel(waiting[1].id, "customer kept it")
        assert tui_runtime.drain(timeout=10)
    finally:
        stop.set()
        server.join(timeout=10)
    items = [
        (i.kind, i.actor, i.status)
        for n in (1, 2, 3)
        if (i := tui_runtime.store.inbox_item(n)) is not None
    ]
    assert items == [
        ("decide", "maria", "done"),
        ("decide", "maria", "failed"),
        ("cancel", "maria", "done"),
    ]
    statuses = [tui_runtime.get(r.id).run.status for r in (queued, *waiting)]
    assert statuses == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.CANCELLED]


def test_schedules_and_memory_when_absent(make_desk: MakeDesk) -> None:
    desk = make_desk("maria")
    with pytest.raises(NotConfigured, match="no scheduler runs in this process"):
        desk.jobs()
    with pytest.raises(NotConfigured, match="memory is not configured"):
        desk.search_memory("refund")


def test_ten_thousand_runs_page_and_sum_without_loading_them_all(
    tui_runtime: Runtime,
    make_desk: MakeDesk,
    clock: ManualClock,
) -> None:
    conn = tui_runtime.store.conn
    now = clock.now()
    runs, events = [], []
    for n in range(10_000):
        at = (now - timedelta(seconds=(10_000 - n) * 8)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        run_id = f"run_{n:026d}"
        status = "succeeded" if n % 10 else "failed"
        runs.append(
            (run_id, "refund", 1, status, json.dumps({"order_id": n}), "sam", "cli", at, at)
        )
        events.append((run_id, 1, at, "model.called", "{}", 0.001, "p", f"h{n}"))
    with tui_runtime.store.tx():
        conn.executemany(
            "INSERT INTO runs (id, workflow, version, status, input, requested_by,"
            " origin, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            runs,
        )
        conn.executemany(
            "INSERT INTO events (run_id, seq, at, kind, data, cost_usd, prev_hash,"
            " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            events,
        )
    desk = make_desk("maria")
    page = desk.runs(offset=100, limit=100)
    assert (page.total, page.rows[0].id, len(page.rows)) == (10_000, f"run_{9_899:026d}", 100)
    assert desk.runs(status=[RunStatus.FAILED], limit=1).total == 1_000
    assert desk.runs(text='order_id": 4242', limit=5).rows[0].id == f"run_{4_242:026d}"
    assert desk.runs(sort="cost", limit=1).rows[0].cost_usd == 0.001
    # The fixed "run_000…" ids carry no time: the header's window counts by id, so these
    # predate it, and the log's cost is in it.
    metrics = desk.metrics()
    assert metrics.runs == 0 and round(metrics.cost_usd, 6) == 10.0
