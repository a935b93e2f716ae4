"""When a later step fails: compensation, escalation, cancellation, deadlines."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from connectors import MailConnector
from graph import (
    ApprovalStatus,
    RunStateError,
    RunStatus,
    Runtime,
    Services,
    UnknownRun,
    parse_policy,
)

from .conftest import FAST_RETRY, POLICY, counts, orders


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refund(runtime, order_id, by="cleo"):
    return runtime.start("refund", {"order_id": order_id, "reason": "broken"}, requested_by=by)


def kinds(runtime, run_id):
    return [e.kind for e in runtime.events(run_id)]


def test_failed_restock_voids_the_refund_and_ends_compensated(runtime, services, sandbox):
    order = orders(services.shop, under="100.00")[0]
    sandbox.set_faults(error_rate=1.0, paths=["inventory_levels"])

    run = refund(runtime, order.id)

    assert run.status is RunStatus.COMPENSATED
    assert counts(sandbox, order.id) == {"refund": 1, "refund_void": 1}
    assert services.shop.get_order(order.id).refundable == order.total_price
    assert "compensation.performed" in kinds(runtime, run.id)
    detail = runtime.get(run.id)
    assert [e.compensation_status for e in detail.effects if e.kind == "refund"] == ["done"]
    assert "restock" in (detail.run.error or "")
    assert detail.reconciliations == []


def test_failed_email_undoes_restock_then_refund_in_reverse_order(
    home, services, policy, sandbox, clock
):
    nowhere = MailConnector("127.0.0.1", free_port(), "shop@example.com", retry=FAST_RETRY)
    runtime = Runtime.open(
        home, services=Services(shop=services.shop, mail=nowhere), policy=policy, clock=clock
    )
    order = orders(services.shop, under="100.00")[0]

    run = refund(runtime, order.id)

    assert run.status is RunStatus.COMPENSATED
    undone = [
        e.data["effect"] for e in runtime.events(run.id) if e.kind == "compensation.performed"
    ]
    effects = {e.key: e.kind for e in runtime.get(run.id).effects}
    assert [effects[k] for k in undone] == ["restock", "refund"]
    assert counts(sandbox, order.id) == {"refund": 1, "restock": 2, "refund_void": 1}
    runtime.close()


def test_escalate_policy_keeps_the_refund_and_opens_a_reconciliation_item(
    home, services, sandbox, clock
):
    policy = parse_policy(POLICY.replace('on_failure = "compensate"', 'on_failure = "escalate"'))
    runtime = Runtime.open(home, services=services, policy=policy, clock=clock)
    order = orders(services.shop, under="100.00")[0]
    sandbox.set_faults(error_rate=1.0, paths=["inventory_levels"])

    run = refund(runtime, order.id)

    assert run.status is RunStatus.FAILED
    assert counts(sandbox, order.id) == {"refund": 1}
    [item] = runtime.get(run.id).reconciliations
    assert item.status == "open" and "restock failed" in item.summary
    escalation = [e for e in runtime.events(run.id) if e.kind == "escalation.raised"]
    assert escalation and escalation[0].data["to"] == "maria"
    runtime.close()


def test_a_failed_compensation_escalates_and_is_never_lost(runtime, services, sandbox):
    order = orders(services.shop, under="100.00")[0]
    sandbox.set_faults(error_rate=1.0, paths=["inventory_levels", "void"])

    run = refund(runtime, order.id)

    assert run.status is RunStatus.FAILED
    assert counts(sandbox, order.id) == {"refund": 1}
    detail = runtime.get(run.id)
    [item] = detail.reconciliations
    assert item.kind == "compensation_failed" and "could not undo refund" in item.summary
    assert [e.compensation_status for e in detail.effects if e.kind == "refund"] == ["failed"]
    assert {"compensation.failed", "escalation.raised", "reconciliation.opened"} <= set(
        kinds(runtime, run.id)
    )


def test_cancel_a_waiting_run(runtime, services, sandbox):
    order = orders(services.shop, over="100.00")[0]
    run = refund(runtime, order.id)

    cancelled = runtime.cancel(run.id, "maria", reason="duplicate request")

    assert cancelled.status is RunStatus.CANCELLED
    assert runtime.get(run.id).approvals[0].status is ApprovalStatus.CANCELLED
    assert counts(sandbox, order.id) == {}
    with pytest.raises(RunStateError, match="already ended cancelled"):
        runtime.cancel(run.id, "maria")
    with pytest.raises(UnknownRun):
        runtime.cancel("run_nope", "maria")


def test_deadline_escalates_along_the_chain_then_expires_to_reject(runtime, services, clock):
    order = orders(services.shop, over="100.00")[0]
    run = refund(runtime, order.id)

    assert runtime.tick() == []
    clock.advance(timedelta(hours=4, seconds=1))
    [first] = runtime.tick()
    assert first.kind == "approval.escalated" and first.data["role"] == "manager"
    assert first.data["notify"] == ["maria"]
    clock.advance(timedelta(hours=4, seconds=1))
    [second] = runtime.tick()
    assert second.data["role"] == "owner" and second.data["notify"] == ["olivia"]
    clock.advance(timedelta(hours=4, seconds=1))
    [expired] = runtime.tick()
    assert expired.kind == "approval.expired"

    detail = runtime.get(run.id)
    assert detail.run.status is RunStatus.REJECTED
    assert detail.approvals[0].status is ApprovalStatus.EXPIRED
    assert detail.approvals[0].decided_by == "policy"
