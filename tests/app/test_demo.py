"""The demo shop files real refund requests through the runtime."""

from __future__ import annotations

import pytest

from app.demo import Demo, DemoRefused, refusal
from connectors.sandbox import Sandbox
from graph import RunStatus


def test_the_demo_starts_refunds_until_nothing_is_left_to_refund(runtime, services, sandbox):
    demo = Demo(runtime, sandbox, seed=3)
    started = [demo.once() for _ in range(5)]

    runs = {r.id: r for r in runtime.runs()}
    assert set(started) == set(runs)
    assert all(r.requested_by == "demo" and r.origin == "demo" for r in runs.values())
    assert {r.status for r in runs.values()} <= {RunStatus.SUCCEEDED, RunStatus.WAITING}

    while demo.once() is not None:  # the shop runs out of orders to refund, then rests
        pass
    waiting = {a.run_id for a in runtime.pending_approvals()}
    busy = {r.input["order_id"] for r in runtime.runs(limit=1000) if r.id in waiting}
    for order in services.shop.list_orders(limit=250):
        assert order.refundable == 0 or order.id in busy
    per_order = [r.input["order_id"] for r in runtime.runs(limit=1000) if r.id in waiting]
    assert len(per_order) == len(set(per_order))  # never two open refunds on one order


def test_the_demo_refuses_a_store_this_process_did_not_start(runtime):
    message = refusal(runtime, None, "https://real-shop.example.com/")

    assert message == (
        "the store at https://real-shop.example.com was not started by this keel,"
        " so it may be a real shop; the demo plays only on the sandbox `keel up`"
        " starts itself on the default KEEL_STORE_URL"
    )


def test_the_demo_refuses_when_mail_would_leave_the_sandbox(
    runtime,
    services,
    sandbox,
    monkeypatch,
):
    monkeypatch.setattr(services.mail, "port", sandbox.smtp_port + 1)  # a relay next door

    with pytest.raises(DemoRefused, match=r"customer mail goes to .* the demo would email real"):
        Demo(runtime, sandbox)
    assert runtime.runs() == []


def test_the_demo_stops_playing_once_its_sandbox_is_gone(runtime, tmp_path):
    with Sandbox(tmp_path / "other.db") as other:
        refused = refusal(runtime, other, other.url)
    assert refused is not None and "not at the sandbox this keel started" in refused

    demo_sandbox = Sandbox(tmp_path / "mine.db")
    assert refusal(runtime, demo_sandbox, "http://127.0.0.1:8765") is not None  # never started
