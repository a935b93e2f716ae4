"""Fixtures for the runtime: a sandbox store, real connectors over loopback, a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from connectors import BreakerPolicy, MailConnector, Order, RetryPolicy, ShopConnector
from graph import ManualClock, Policy, Runtime, Services, parse_policy

POLICY = """
currency = "USD"
[workflows.refund]
approval_threshold = "100.00"
on_failure = "compensate"
[roles.support]
approves = ["refund"]
limit = "250.00"
[roles.manager]
approves = ["refund"]
limit = "2000.00"
[roles.owner]
approves = ["refund"]
[people]
sam = ["support"]
maria = ["manager"]
olivia = ["owner"]
cleo = []
[escalation]
deadline = "4h"
chain = ["manager", "owner"]
on_expiry = "reject"
on_call = "maria"
"""

FAST_RETRY = RetryPolicy(attempts=6, initial_backoff=0.001, max_backoff=0.01, jitter=0.001,
                         max_retry_after=0.01)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy() -> Policy:
    return parse_policy(POLICY)


@pytest.fixture
def services(sandbox) -> Iterator[Services]:
    # A breaker that stays closed through one test's deliberate fault storms.
    shop = ShopConnector.connect(sandbox.url, sandbox.token, timeout=5, retry=FAST_RETRY,
                                 breaker=BreakerPolicy(fail_max=1000))
    mail = MailConnector(sandbox.smtp_host, sandbox.smtp_port, "shop@example.com", timeout=5,
                         retry=FAST_RETRY)
    yield Services(shop=shop, mail=mail)
    shop.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def runtime(home: Path, services: Services, policy: Policy, clock: ManualClock) -> Iterator[Runtime]:
    rt = Runtime.open(home, services=services, policy=policy, clock=clock)
    yield rt
    rt.close()


def orders(shop: ShopConnector, *, under: str | None = None, over: str | None = None) -> list[Order]:
    """Unrefunded orders with totals at or under / over the given amounts."""
    found = [o for o in shop.list_orders(limit=250) if o.refundable == o.total_price]
    if under is not None:
        found = [o for o in found if o.total_price <= Decimal(under)]
    if over is not None:
        found = [o for o in found if o.total_price > Decimal(over)]
    assert found, "the sandbox's seed data should have such orders"
    return found


def counts(sandbox, order_id: int) -> dict[str, int]:
    """How many of each effect the store performed for one order."""
    result: dict[str, int] = {}
    for row in sandbox.ledger(order_id=order_id):
        result[row["kind"]] = result.get(row["kind"], 0) + 1
    return result
