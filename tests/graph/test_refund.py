"""The refund process end to end against the sandbox store and SMTP sink."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from graph import (
    AlreadyDecided,
    AlreadyInProgress,
    ApprovalStatus,
    InvalidInput,
    NotAuthorised,
    ReasonRequired,
    RunStatus,
    SelfApproval,
    UnknownApproval,
    UnknownWorkflow,
)

from .conftest import counts, orders


def refund(runtime, order_id, *, amount=None, by="cleo", reason="arrived broken"):
    data = {"order_id": order_id, "reason": reason}
    if amount is not None:
        data["amount"] = amount
    return runtime.start("refund", data, requested_by=by)


def test_under_threshold_runs_to_success_with_one_of_each_effect(runtime, services, sandbox):
    order = orders(services.shop, under="100.00")[0]
    run = refund(runtime, order.id)

    assert run.status is RunStatus.SUCCEEDED
    assert counts(sandbox, order.id) == {"refund": 1, "restock": 1, "email": 1}
    assert services.shop.get_order(order.id).refundable == 0
    mail = sandbox.messages()
    assert len(mail) == 1 and mail[0]["to"] == order.email
    assert str(order.total_price) in mail[0]["body"]
    finished = [e for e in runtime.events(run.id) if e.kind == "step.finished"]
    assert [e.step for e in finished] == [
        "lookup",
        "check_policy",
        "refund",
        "restock",
        "notify",
        "done",
    ]
    assert all(e.duration_ms is not None for e in finished)
    assert runtime.get(run.id).run.workflow == "refund" and run.version == 1


def test_over_threshold_waits_then_succeeds_on_approve(runtime, services, sandbox):
    order = orders(services.shop, over="100.00")[0]
    run = refund(runtime, order.id)
    assert run.status is RunStatus.WAITING
    assert counts(sandbox, order.id) == {}
    pending = runtime.get(run.id).pending
    assert pending is not None and pending.request.amount == order.total_price
    assert runtime.pending_approvals("maria") == [pending]
    assert runtime.pending_approvals("cleo") == []

    runtime.decide(pending.id, "approve", "maria")

    detail = runtime.get(run.id)
    assert detail.run.status is RunStatus.SUCCEEDED
    assert detail.approvals[0].status is ApprovalStatus.APPROVED
    assert detail.approvals[0].decided_by == "maria"
    assert counts(sandbox, order.id) == {"refund": 1, "restock": 1, "email": 1}


def test_reject_ends_rejected_with_the_reason_and_no_effect(runtime, services, sandbox):
    order = orders(services.shop, over="100.00")[0]
    run = refund(runtime, order.id)
    approval = runtime.get(run.id).pending

    with pytest.raises(ReasonRequired):
        runtime.decide(approval.id, "reject", "maria", reason="   ")
    assert runtime.get(run.id).pending is not None

    runtime.decide(approval.id, "reject", "maria", reason="customer already got a replacement")

    detail = runtime.get(run.id)
    assert detail.run.status is RunStatus.REJECTED
    assert detail.approvals[0].reason == "customer already got a replacement"
    decided = [e for e in runtime.events(run.id) if e.kind == "approval.decided"]
    assert decided[0].data["reason"] == "customer already got a replacement"
    assert counts(sandbox, order.id) == {}


def test_partial_refund_skips_restock(runtime, services, sandbox):
    order = orders(services.shop, under="100.00")[0]
    run = refund(runtime, order.id, amount="1.50")
    assert run.status is RunStatus.SUCCEEDED
    assert counts(sandbox, order.id) == {"refund": 1, "email": 1}
    assert services.shop.get_order(order.id).refundable == order.total_price - Decimal("1.50")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "greater than 0"),
        ("0", "greater than 0"),
        ("abc", "valid decimal"),
        ("1.234", "decimal places"),
        ("99999.00", "more than what is still refundable"),
    ],
)
def test_bad_amounts_are_refused_before_any_run_exists(runtime, services, sandbox, amount, message):
    order = orders(services.shop, under="100.00")[0]
    with pytest.raises(InvalidInput, match=message):
        refund(runtime, order.id, amount=amount)
    assert runtime.runs() == [] and runtime.events() == []
    assert sandbox.ledger() == []


def test_unknown_order_and_unknown_workflow_are_refused(runtime, sandbox):
    with pytest.raises(InvalidInput, match="order 999999 not found"):
        refund(runtime, 999999)
    with pytest.raises(UnknownWorkflow, match="no workflow named 'refunds'"):
        runtime.start("refunds", {"order_id": 1}, requested_by="cleo")
    with pytest.raises(InvalidInput, match="reason"):
        runtime.start("refund", {"order_id": 1001, "reason": ""}, requested_by="cleo")
    assert runtime.runs() == [] and sandbox.ledger() == []


def test_second_full_refund_of_a_refunded_order_is_refused(runtime, services, sandbox):
    order = orders(services.shop, under="100.00")[0]
    assert refund(runtime, order.id).status is RunStatus.SUCCEEDED
    with pytest.raises(InvalidInput, match="already fully refunded"):
        refund(runtime, order.id)
    assert len(runtime.runs()) == 1
    assert counts(sandbox, order.id)["refund"] == 1


def test_an_order_takes_one_refund_at_a_time(runtime, services, sandbox):
    order, other = orders(services.shop, over="100.00")[:2]
    first = refund(runtime, order.id)  # the whole order: over the threshold, so it waits
    assert first.status is RunStatus.WAITING
    before = (len(runtime.runs(limit=1000)), len(runtime.events()))
    with pytest.raises(
        AlreadyInProgress,
        match=rf"order {order.id} already has a refund in"
        rf" progress: {first.id} \(waiting\)",
    ) as caught:
        refund(runtime, order.id, amount="10.00", by="sam")  # a double submit, or a second ask
    assert caught.value.context["run_id"] == first.id
    assert (len(runtime.runs(limit=1000)), len(runtime.events())) == before  # nothing written
    assert refund(runtime, other.id).status is RunStatus.WAITING  # other orders are free

    runtime.decide(runtime.get(first.id).pending.id, "reject", "maria", reason="no photos")
    second = refund(runtime, order.id, amount="10.00", by="sam")  # the first has ended
    assert second.status is RunStatus.SUCCEEDED
    assert counts(sandbox, order.id) == {"refund": 1, "email": 1}


def test_small_refunds_of_one_order_are_weighed_together_against_the_threshold(
    runtime, services, sandbox
):
    order = orders(services.shop, over="120.00")[0]
    assert refund(runtime, order.id, amount="60.00").status is RunStatus.SUCCEEDED
    second = refund(runtime, order.id, amount="60.00")  # 120.00 in all: over the threshold
    assert second.status is RunStatus.WAITING
    pending = runtime.get(second.id).pending
    assert pending.request.amount == Decimal("60.00")
    assert pending.request.weighed == Decimal("120.00")
    assert "(60.00 already refunded on it)" in pending.request.what
    [checked] = [e for e in runtime.events(second.id) if e.kind == "policy.checked"]
    assert checked.data["weighed"] == "120.00" and checked.data["needs_approval"]
    assert counts(sandbox, order.id) == {"refund": 1, "email": 1}


def test_an_approver_s_limit_counts_what_the_order_already_had_refunded(runtime, services):
    order = orders(services.shop, over="300.00")[0]
    first = refund(runtime, order.id, amount="200.00")
    runtime.decide(runtime.get(first.id).pending.id, "approve", "sam")  # within sam's 250
    assert runtime.get(first.id).run.status is RunStatus.SUCCEEDED
    second = refund(runtime, order.id, amount="80.00")  # 280.00 in all: past sam's limit
    pending = runtime.get(second.id).pending
    assert runtime.pending_approvals("sam") == []
    with pytest.raises(NotAuthorised, match="sam"):
        runtime.decide(pending.id, "approve", "sam")
    runtime.decide(pending.id, "approve", "maria")
    assert runtime.get(second.id).run.status is RunStatus.SUCCEEDED


def test_racing_starts_on_one_order_give_one_run(runtime, services):
    order = orders(services.shop, over="100.00")[0]
    barrier, outcomes = threading.Barrier(4), []

    def start() -> None:
        barrier.wait()
        try:
            outcomes.append(
                runtime.start(
                    "refund",
                    {"order_id": order.id, "reason": "race"},
                    requested_by="cleo",
                    execute=False,
                ).id
            )
        except AlreadyInProgress as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = [o for o in outcomes if isinstance(o, str)]
    assert len(started) == 1 and len(outcomes) == 4
    assert all(
        isinstance(o, AlreadyInProgress) and o.context["run_id"] == started[0]
        for o in outcomes
        if o is not started[0]
    )


def test_unauthorised_approver_is_refused_and_audited(runtime, services):
    order = orders(services.shop, over="250.00")[0]
    run = refund(runtime, order.id)
    approval = runtime.get(run.id).pending

    with pytest.raises(NotAuthorised, match="sam \\(support\\) may not approve a refund"):
        runtime.decide(approval.id, "approve", "sam")
    with pytest.raises(NotAuthorised, match="nobody has no role"):
        runtime.decide(approval.id, "approve", "nobody")

    assert runtime.get(run.id).pending == approval
    refused = [e for e in runtime.events(run.id) if e.kind == "approval.refused"]
    assert [e.actor for e in refused] == ["sam", "nobody"]


def test_requester_may_never_approve_their_own_request(runtime, services):
    order = orders(services.shop, over="100.00")[0]
    run = refund(runtime, order.id, by="maria")
    approval = runtime.get(run.id).pending
    with pytest.raises(SelfApproval):
        runtime.decide(approval.id, "approve", "maria")
    assert runtime.get(run.id).run.status is RunStatus.WAITING


def test_two_simultaneous_decisions_give_one(runtime, services, sandbox):
    order = orders(services.shop, over="100.00")[0]
    run = refund(runtime, order.id)
    approval = runtime.get(run.id).pending
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def click(who: str, verdict: str) -> None:
        barrier.wait()
        try:
            outcomes[who] = runtime.decide(approval.id, verdict, who, reason="no")
        except AlreadyDecided as exc:
            outcomes[who] = exc

    threads = [
        threading.Thread(target=click, args=("maria", "approve")),
        threading.Thread(target=click, args=("olivia", "reject")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    refused = [v for v in outcomes.values() if isinstance(v, AlreadyDecided)]
    assert len(refused) == 1
    settled = runtime.get(run.id).approvals[0]
    assert refused[0].decided_by == settled.decided_by
    assert f"already {settled.status} by {settled.decided_by}" in str(refused[0])
    assert len([e for e in runtime.events(run.id) if e.kind == "approval.decided"]) == 1
    expected = {"refund": 1, "restock": 1, "email": 1} if settled.status == "approved" else {}
    assert counts(sandbox, order.id) == expected


def test_decision_on_unknown_approval_is_refused(runtime):
    with pytest.raises(UnknownApproval, match="apv_nope"):
        runtime.decide("apv_nope", "approve", "maria")
    assert runtime.events() == []
