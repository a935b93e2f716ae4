"""The demo shop files real refund requests through the runtime."""

from __future__ import annotations

from app.demo import Demo
from graph import RunStatus


def test_the_demo_starts_refunds_until_nothing_is_left_to_refund(runtime, services):
    demo = Demo(runtime, seed=3)
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
