"""Which model answers a call, decided by code from the budget in policy.toml.

The strong model normally; the cheap one once the run's or conversation's spend crosses
the budget's soft limit; a stop past the limit. When the strong model is overloaded past
the SDK's retries the router falls back to the cheap one, then to the offline model, and
says so. Every call is a `model.called` event with model, tokens, cost, latency and the
reason for the route, so a run's cost is the sum of its events.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from connectors.llm import Message, Model, ModelError, Price, Reply, TextSink, ToolSpec, cost_of

from .clock import Clock
from .errors import KeelError
from .policy import Budget, Models
from .store import Store


class BudgetExceeded(KeelError):
    """A run or conversation spent its budget; a person has to decide what next."""


@dataclass(frozen=True)
class Spend:
    tokens: int
    cost_usd: Decimal


class Router:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        models: Models,
        offline: Model,
        strong: Model | None = None,
        cheap: Model | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.offline = offline
        self.strong = strong
        self.cheap = cheap
        self.prices = {name: Price(**p.model_dump()) for name, p in models.prices.items()}

    def spend(self, scope: str) -> Spend:
        """Tokens and cost of the model calls recorded for a run or conversation."""
        tokens, cost = self.store.model_spend(scope)
        return Spend(tokens, Decimal(str(cost)))

    def route(self, scope: str, budget: Budget) -> list[tuple[Model, str]]:
        """The models to try, in order, each with the reason it is on the list."""
        spent = self.spend(scope)
        used = max(
            spent.tokens / budget.max_tokens,
            float(spent.cost_usd / budget.max_cost_usd) if budget.max_cost_usd else 0.0,
        )
        if used >= 1:
            reason = (
                f"budget spent: {spent.tokens} of {budget.max_tokens} tokens,"
                f" ${spent.cost_usd:.4f} of ${budget.max_cost_usd}"
            )
            self.store.append_event(scope, "model.stopped", data={"reason": reason})
            raise BudgetExceeded(reason, scope=scope)
        if self.strong is None:
            return [(self.offline, "no API key: the offline model")]
        plan: list[tuple[Model, str]] = []
        if used < budget.soft_limit:
            plan.append((self.strong, "within budget"))
        if self.cheap is not None:
            plan.append(
                (
                    self.cheap,
                    f"soft limit crossed ({used:.0%} of budget)"
                    if used >= budget.soft_limit
                    else "fallback: strong model unavailable",
                )
            )
        plan.append((self.offline, "fallback: hosted models unavailable"))
        return plan

    def complete(
        self,
        scope: str,
        budget: Budget,
        *,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Reply:
        """The first model on the route that answers; `on_text` hears a streaming model's
        text so far (a fallback starts its own text afresh)."""
        failures: list[str] = []
        for model, reason in self.route(scope, budget):
            if failures:
                reason = f"{reason} ({'; '.join(failures)})"
            started = self.clock.monotonic()
            try:
                reply = model.complete(
                    system=system,
                    messages=messages,
                    tools=tools,
                    max_tokens=max_tokens,
                    on_text=on_text,
                )
            except ModelError as exc:
                failures.append(f"{model.name}: {exc.detail}")
                self.store.append_event(
                    scope,
                    "model.failed",
                    data={"model": model.name, "error": str(exc)},
                    duration_ms=(self.clock.monotonic() - started) * 1000,
                )
                continue
            self._record(scope, model, reply, reason, (self.clock.monotonic() - started) * 1000)
            return reply
        raise BudgetExceeded("no model could answer: " + "; ".join(failures), scope=scope)

    def _record(self, scope: str, model: Model, reply: Reply, reason: str, ms: float) -> None:
        price = self.prices.get(reply.model) or self.prices.get(model.name)
        cost = cost_of(reply.usage, price) if price and not reply.offline else Decimal(0)
        u = reply.usage
        self.store.append_event(
            scope,
            "model.called",
            cost_usd=float(cost),
            duration_ms=ms,
            data={
                "model": reply.model,
                "route": reason,
                "offline": reply.offline,
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "cache_read_tokens": u.cache_read_tokens,
                "cache_write_tokens": u.cache_write_tokens,
                "total_tokens": u.total_tokens,
                "cost_usd": str(cost),
                "stop_reason": reply.stop_reason,
            },
        )
