"""Refund runs written straight into a run store, as the benchmarks that read a big store
seed it: a run a minute apart with real, time-ordered ids, and approvals waiting on a
manager."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from graph import ApprovalRequest, ManualClock, Store
from graph.ids import new_id


def refund_run(store: Store, clock: ManualClock, i: int) -> tuple[str, Decimal]:
    """The `i`-th seeded refund, a minute after the one before: its run id and amount."""
    clock.advance(timedelta(minutes=1))
    run_id = new_id("run", clock.now())
    amount = Decimal(20 + (i * 37) % 400)
    data = {
        "order_id": 1001 + i % 48,
        "amount": str(amount),
        "reason": f"bench {i}",
        "restock": False,
        "customer": f"customer{i % 300}@example.com",
    }
    store.create_run(run_id, "refund", 1, data, "sam", "cli")
    return run_id, amount


def wait_for_a_manager(
    store: Store,
    run_id: str,
    amount: Decimal,
    deadline: datetime,
    risk: Literal["low", "medium", "high"] = "medium",
) -> None:
    """An approval of the refund, pending until `deadline`, that a manager may decide."""
    request = ApprovalRequest(
        workflow="refund",
        what=f"Refund {amount} USD",
        why="bench",
        amount=amount,
        risk=risk,
        approver_roles=["manager"],
        requested_by="sam",
    )
    store.ensure_approval(run_id, "approval:bench", 1, request, deadline)
