"""What tests share besides fixtures: the test policy, fast retries, order pickers, the
assistant on Claude through a loopback Messages API."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connectors import Order, RetryPolicy, ShopConnector

if TYPE_CHECKING:
    from graph import Runtime
    from graph.assistant import Assistant
    from tests.fakes import MessagesAPI

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

SLACK_CHANNEL = "C0000OPS"
SAM, MARIA, OLIVIA, CLEO = "U0000SAM", "U0000MARIA", "U0000OLIVIA", "U0000CLEO"
"""Slack users: sam approves up to 250, maria up to 2000, olivia anything, cleo nothing."""

SLACK_POLICY = (
    POLICY
    + f"""
[slack]
channel = "{SLACK_CHANNEL}"
[slack.users]
{SAM} = "sam"
{MARIA} = "maria"
{OLIVIA} = "olivia"
{CLEO} = "cleo"
"""
)

FAST_RETRY = RetryPolicy(
    attempts=6, initial_backoff=0.001, max_backoff=0.01, jitter=0.001, max_retry_after=0.01
)


def orders(
    shop: ShopConnector, *, under: str | None = None, over: str | None = None
) -> list[Order]:
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


def claude(rt: Runtime, fake: MessagesAPI, **kw: Any) -> Assistant:
    """The assistant over `rt` with Claude (strong and cheap) answered by `fake`."""
    from connectors.anthropic import AnthropicModel
    from connectors.offline import OfflineModel
    from graph.assistant import Assistant
    from graph.router import Router
    from memory import HashingEmbedder

    models = rt.policy.models
    strong, cheap = (
        AnthropicModel(name, api_key="sk-test", base_url=fake.url, max_retries=0)
        for name in (models.strong, models.cheap)
    )
    router = Router(
        store=rt.store,
        clock=rt.clock,
        models=models,
        offline=OfflineModel(HashingEmbedder()),
        strong=strong,
        cheap=cheap,
    )
    return Assistant(rt, router, **kw)
