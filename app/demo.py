"""A small shop's day on the sandbox: refund requests trickle in, some over the threshold.

The demo refunds orders, restocks them and emails customers, so it plays only on a
sandbox this process started itself, store and mail alike: never on a store or mail
relay someone pointed Keel at, and never on a sandbox another process is serving.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from graph import KeelError, RunStatus

if TYPE_CHECKING:
    from connectors.sandbox import Sandbox
    from graph import Runtime

REASONS = [
    "arrived broken",
    "wrong size",
    "never arrived",
    "changed my mind",
    "colour not as pictured",
    "duplicate order",
    "late delivery, no longer needed",
]


class DemoRefused(KeelError):
    """The demo would act on something other than the sandbox this process started."""


def _address(url: str) -> tuple[str | None, int | None]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def refusal(runtime: Runtime, sandbox: Sandbox | None, store_url: str) -> str | None:
    """Why the demo may not play on what `runtime` is connected to, or None when it may."""
    if sandbox is None or not sandbox.running:
        return (
            f"the store at {store_url.rstrip('/')} was not started by this keel, so it may be"
            " a real shop; the demo plays only on the sandbox `keel up` starts itself on the"
            " default KEEL_STORE_URL"
        )
    shop, mail = runtime.services.shop, runtime.services.mail
    if _address(str(shop.client.base_url)) != _address(sandbox.url):
        return (
            f"the store connector points at {shop.client.base_url}, not at the sandbox this"
            f" keel started ({sandbox.url})"
        )
    if (mail.host, mail.port) != (sandbox.smtp_host, sandbox.smtp_port):
        return (
            f"customer mail goes to {mail.host}:{mail.port}, not to the sandbox's mail sink"
            f" ({sandbox.smtp_host}:{sandbox.smtp_port}); the demo would email real people"
        )
    return None


class Demo:
    def __init__(
        self, runtime: Runtime, sandbox: Sandbox, *, every: float = 8.0, seed: int | None = None
    ) -> None:
        self.runtime = runtime
        self.sandbox = sandbox
        self.every = every
        self.random = random.Random(seed)
        self._check()

    def _check(self) -> None:
        why = refusal(self.runtime, self.sandbox, str(self.runtime.services.shop.client.base_url))
        if why is not None:
            raise DemoRefused(f"demo refused: {why}")

    def once(self) -> str | None:
        """Start one refund on an order that still has money to refund; its run id."""
        self._check()  # each time: the sandbox may have been stopped since
        busy = {
            r.input.get("order_id")
            for r in self.runtime.runs(
                status=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING], limit=10_000
            )
        }
        orders = [
            o
            for o in self.runtime.services.shop.list_orders(limit=250)
            if o.refundable > 0 and o.id not in busy
        ]
        if not orders:
            return None
        order = self.random.choice(orders)
        data = {"order_id": order.id, "reason": self.random.choice(REASONS)}
        if self.random.random() < 0.3:  # some partial refunds
            data["amount"] = str((order.refundable / 2).quantize(Decimal("0.01")))
        run = self.runtime.start("refund", data, requested_by="demo", origin="demo")
        return run.id
