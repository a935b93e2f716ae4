"""A small shop's day on the sandbox: refund requests trickle in, some over the threshold."""

from __future__ import annotations

import random
from decimal import Decimal

from graph import RunStatus, Runtime

REASONS = [
    "arrived broken", "wrong size", "never arrived", "changed my mind",
    "colour not as pictured", "duplicate order", "late delivery, no longer needed",
]


class Demo:
    def __init__(self, runtime: Runtime, *, every: float = 8.0, seed: int | None = None) -> None:
        self.runtime = runtime
        self.every = every
        self.random = random.Random(seed)

    def once(self) -> str | None:
        """Start one refund on an order that still has money to refund; its run id."""
        busy = {r.input.get("order_id") for r in self.runtime.runs(
            status=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING], limit=10_000)}
        orders = [o for o in self.runtime.services.shop.list_orders(limit=250)
                  if o.refundable > 0 and o.id not in busy]
        if not orders:
            return None
        order = self.random.choice(orders)
        data = {"order_id": order.id, "reason": self.random.choice(REASONS)}
        if self.random.random() < 0.3:  # some partial refunds
            data["amount"] = str((order.refundable / 2).quantize(Decimal("0.01")))
        run = self.runtime.start("refund", data, requested_by="demo", origin="demo")
        return run.id
