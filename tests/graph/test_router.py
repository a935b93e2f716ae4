"""The router: route by budget, fall back when overloaded, record every call with its cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.llm import Message, ModelOverloaded, Price, Reply, Usage, cost_of
from graph import parse_policy
from graph.policy import Budget
from graph.router import BudgetExceeded, Router

from ..support import POLICY


class Scripted:
    """A stand-in for a hosted model: answers from a script, or fails as told."""

    def __init__(
        self, name: str, usage: Usage, *, fail: Exception | None = None, offline: bool = False
    ) -> None:
        self.name = name
        self.usage = usage
        self.fail = fail
        self.offline = offline
        self.calls = 0

    def complete(self, *, system, messages, tools, max_tokens=1024, on_text=None) -> Reply:
        self.calls += 1
        if self.fail:
            raise self.fail
        return Reply(
            model=self.name, text=f"hello from {self.name}", usage=self.usage, offline=self.offline
        )


USAGE = Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=3000, cache_write_tokens=500)
OVERLOADED = ModelOverloaded("529 overloaded", connector="anthropic", operation="messages.create")


@pytest.fixture
def models():
    policy = parse_policy(POLICY)
    return policy.models


def router(store, clock, models, *, strong_fail=None, cheap_fail=None):
    strong = Scripted(models.strong, USAGE, fail=strong_fail)
    cheap = Scripted(models.cheap, USAGE, fail=cheap_fail)
    offline = Scripted("offline", Usage(input_tokens=10, output_tokens=5), offline=True)
    return (
        Router(
            store=store, clock=clock, models=models, strong=strong, cheap=cheap, offline=offline
        ),
        strong,
        cheap,
        offline,
    )


def ask(r, budget, scope="conv_1"):
    return r.complete(scope, budget, system="s", messages=[Message.user("hi")], tools=[])


def test_every_call_is_an_event_costed_at_each_token_kinds_own_price(runtime, models):
    r, _strong, _, _ = router(runtime.store, runtime.clock, models)
    ask(r, Budget())
    [event] = runtime.store.events("conv_1", kinds=["model.called"])
    p = models.prices[models.strong]
    expected = (1000 * p.input + 200 * p.output + 3000 * p.cache_read + 500 * p.cache_write) / 10**6
    assert Decimal(event.data["cost_usd"]) == expected
    assert expected == cost_of(USAGE, Price(**p.model_dump()))
    assert event.data["model"] == models.strong and event.data["route"] == "within budget"
    assert event.data["total_tokens"] == 4700 and event.duration_ms is not None


def test_crossing_the_soft_limit_switches_to_the_cheap_model(runtime, models):
    r, strong, cheap, _ = router(runtime.store, runtime.clock, models)
    budget = Budget(max_tokens=10_000, max_cost_usd=Decimal("100.00"), soft_limit=0.5)
    ask(r, budget)  # 4,700 tokens: under half
    ask(r, budget)  # 9,400: past half
    assert ask(r, budget).model == models.cheap
    routes = [e.data["route"] for e in runtime.store.events("conv_1", kinds=["model.called"])]
    assert routes[0] == "within budget" and routes[1] == "within budget"
    assert routes[2].startswith("soft limit crossed")
    assert (strong.calls, cheap.calls) == (2, 1)


def test_past_the_limit_it_stops_and_says_why(runtime, models):
    r, strong, cheap, offline = router(runtime.store, runtime.clock, models)
    budget = Budget(max_tokens=5_000, max_cost_usd=Decimal("100.00"))
    ask(r, budget)
    ask(r, budget)
    with pytest.raises(BudgetExceeded, match="budget spent: 9400 of 5000 tokens"):
        ask(r, budget)
    assert strong.calls + cheap.calls + offline.calls == 2
    assert runtime.store.events("conv_1", kinds=["model.stopped"])


def test_overloaded_strong_model_falls_back_to_cheap_then_offline_and_says_so(runtime, models):
    r, strong, cheap, offline = router(
        runtime.store, runtime.clock, models, strong_fail=OVERLOADED, cheap_fail=OVERLOADED
    )
    reply = ask(r, Budget())
    assert reply.offline and (strong.calls, cheap.calls, offline.calls) == (1, 1, 1)
    failed = runtime.store.events("conv_1", kinds=["model.failed"])
    assert [e.data["model"] for e in failed] == [models.strong, models.cheap]
    [called] = runtime.store.events("conv_1", kinds=["model.called"])
    assert "fallback" in called.data["route"] and "529 overloaded" in called.data["route"]
    assert called.data["cost_usd"] == "0"


def test_without_a_key_only_the_offline_model_is_used(runtime, models):
    offline = Scripted("offline", Usage(input_tokens=10), offline=True)
    r = Router(store=runtime.store, clock=runtime.clock, models=models, offline=offline)
    assert ask(r, Budget()).offline
    [called] = runtime.store.events("conv_1", kinds=["model.called"])
    assert called.data["route"].startswith("no API key")
