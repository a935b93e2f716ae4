"""A batch of refunds against a store that fails often: every run ends, no effect twice."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from graph import TERMINAL, EffectStatus, RunStatus, Runtime

from ..support import orders


def test_fifty_refunds_under_faults_end_terminal_with_no_duplicate_effect(
    home, services, policy, clock, sandbox, caplog
):
    runtime = Runtime.open(home, services=services, policy=policy, clock=clock, workers=4)
    pool = orders(services.shop, under="100.00") + orders(services.shop, over="100.00")
    runs = []
    # An order takes one refund at a time, so fifty over fewer orders go in waves; each
    # wave is started (checked against the store) without faults, then driven through them.
    for wave in range(0, 50, len(pool)):
        sandbox.clear_faults()
        started = [
            runtime.start(
                "refund",
                {
                    "order_id": pool[i % len(pool)].id,
                    "amount": "1.00",
                    "reason": f"batch {i}",
                    "restock": True,
                },
                requested_by="cleo",
                execute=False,
            )
            for i in range(wave, min(50, wave + len(pool)))
        ]
        sandbox.set_faults(
            error_rate=0.3,
            rate_limit_rate=0.1,
            retry_after=1,
            error_after_rate=0.05,
            drop_after_rate=0.02,
            seed=7 + wave,
        )
        for run in started:
            runtime.resume(run.id)
        assert runtime.drain(timeout=120)
        runs += started
    sandbox.clear_faults()
    retried = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retried) >= 50  # the faults really were in the way
    assert any("502" in r.getMessage() for r in retried)  # some acted, then failed to answer

    finals = [runtime.get(r.id) for r in runs]
    assert all(d.run.status in TERMINAL for d in finals), Counter(d.run.status for d in finals)
    assert Counter(d.run.status for d in finals)[RunStatus.SUCCEEDED] >= 25

    ledger = Counter(row["idempotency_key"].removesuffix("@keel.local") for row in sandbox.ledger())
    assert max(ledger.values()) == 1  # no key was acted on twice
    ours = {e.key: e for d in finals for e in d.effects}
    assert set(ledger) <= set(ours)  # nothing happened that Keel does not know of
    for key, effect in ours.items():
        if effect.status is EffectStatus.DONE:
            assert ledger[key] == 1, effect
        if effect.status is EffectStatus.FAILED:
            assert ledger[key] == 0, f"an effect marked failed happened: {effect}"

    for detail in finals:
        kinds = Counter(e.kind for e in detail.effects if e.status is EffectStatus.DONE)
        assert all(n == 1 for n in kinds.values()), kinds
        if detail.run.status is RunStatus.SUCCEEDED:
            assert kinds["refund"] == kinds["restock"] == kinds["email"] == 1

    refunded = Counter()
    for detail in finals:
        done = {e.kind for e in detail.effects if e.status is EffectStatus.DONE}
        if "refund" in done and "undo:refund" not in done:
            refunded[detail.run.input["order_id"]] += Decimal("1.00")
    for order in pool:
        assert services.shop.get_order(order.id).total_refunded == refunded[order.id]
    runtime.close()
