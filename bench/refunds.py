"""Refunds end to end against the loopback sandbox, each round checked for exactly-once effects."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from connectors import MailConnector, ShopConnector
from connectors.sandbox import Sandbox
from graph import Policy, RunStatus, Runtime, Services, parse_policy

from .timing import stopwatch

# Refunds of 1.00 stay far under the threshold, so no run waits on a person.
POLICY: Policy = parse_policy("""
currency = "USD"
[workflows.refund]
approval_threshold = "100.00"
on_failure = "compensate"
[roles.manager]
approves = ["refund"]
[people]
bench = []
maria = ["manager"]
[escalation]
deadline = "4h"
chain = ["manager"]
on_call = "maria"
""")
AMOUNT = "1.00"
EFFECTS_PER_RUN = ("refund", "email")  # a partial refund without restock


class ExactlyOnceViolated(Exception):
    """A round's runs did not leave exactly one refund and one email each; its numbers are void."""

    def __init__(self, workers: int, problems: list[str]) -> None:
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        shown = "; ".join(problems[:5]) + more
        super().__init__(f"workers={workers}: {shown}")
        self.problems = problems


Placement = Literal["thread", "process"]
_SERVE = "import sys; from connectors.sandbox import serve; serve(sys.argv[1])"
_LISTENING = re.compile(r"store API on (\S+), SMTP on (\S+):(\d+)")


@dataclass(frozen=True)
class Round:
    seconds: float
    cpu_seconds: float
    """CPU this process used (with the sandbox in another process: Keel's side alone)."""
    runs: int
    orders: int
    """Distinct orders refunded (each order at most once per wave)."""
    effects: int
    steps_ms: dict[str, float]
    """Mean step.finished duration per step name, from the event log."""
    calls_ms: float
    """Mean time per run inside shop and mail calls made by steps, from the event log."""


class RefundBench:
    """One sandbox and its connectors, reused across rounds; each round starts from a fresh seed.

    `thread`: the sandbox serves from threads of this process, as in the tests. `process`: it
    serves from a child process, and this process opens the same file only to read the ledger
    and to reset, so the CPU measured here is Keel's side alone.
    """

    def __init__(self, tmp: Path, placement: Placement) -> None:
        self.tmp = tmp
        self.placement = placement
        self.sandbox = Sandbox(tmp / f"sandbox-{placement}.db")
        self._child: subprocess.Popen[str] | None = None
        if placement == "thread":
            self.sandbox.start()
            url, host, port = self.sandbox.url, self.sandbox.smtp_host, self.sandbox.smtp_port
        else:
            url, host, port = self._spawn(tmp / f"sandbox-{placement}.db")
        # No rate limit: the store's 2 requests/s (Shopify's) would be all this measured.
        self.shop = ShopConnector.connect(url, self.sandbox.token, timeout=10, rate_limit=None)
        self.mail = MailConnector(host, port, "Keel Shop <shop@example.com>", timeout=10)
        self.services = Services(shop=self.shop, mail=self.mail)

    def _spawn(self, db: Path) -> tuple[str, str, int]:
        self._child = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(db)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not (found := _LISTENING.search(line)):
            self._child.kill()
            raise RuntimeError(f"the sandbox process did not start (said {line!r})")
        return found[1], found[2], int(found[3])

    def close(self) -> None:
        self.shop.close()
        self.sandbox.stop()
        if self._child is not None:
            self._child.terminate()
            self._child.wait(timeout=10)

    def round(self, runs: int, workers: int) -> Round:
        self.sandbox.reset()
        # Every refund in a round is of a different order. Keel allows one unfinished refund
        # per order (a second start is refused: graph.AlreadyInProgress), and with workers the
        # refund before it on the same order could still be running. The fresh seed's 48
        # orders are all fully refundable, and a refund of 1.00 weighs 1.00 against the
        # approval threshold whatever the order's total, so any of them will do. A round of
        # more refunds than orders goes in waves of distinct orders, each started once the
        # one before has finished (none at the sizes in measure.py: 40 refunds at most).
        orders = [o.id for o in self.shop.list_orders(limit=250) if o.refundable == o.total_price]
        if not orders:
            raise RuntimeError("the sandbox's fresh seed has no fully refundable order")
        home = self.tmp / f"keel-{uuid.uuid4().hex[:8]}"
        runtime = Runtime.open(home, services=self.services, policy=POLICY, workers=workers)
        try:
            elapsed, cpu = stopwatch(), time.process_time()
            ids: list[str] = []
            for first in range(0, runs, len(orders)):
                if first:
                    self._finished(runtime, ids, workers)
                ids += [
                    runtime.start(
                        "refund",
                        {
                            "order_id": order,
                            "amount": AMOUNT,
                            "restock": False,
                            "reason": "benchmark",
                        },
                        requested_by="bench",
                    ).id
                    for order in orders[: runs - first]
                ]
            if workers and not runtime.drain(timeout=300):
                raise ExactlyOnceViolated(workers, ["runs still in flight after 300 s"])
            seconds, cpu = elapsed(), time.process_time() - cpu
            effects = self._check(runtime, ids, workers)
            steps, calls = _from_events(runtime, ids)
        finally:
            runtime.close()
            shutil.rmtree(home, ignore_errors=True)
        return Round(seconds, cpu, runs, min(runs, len(orders)), effects, steps, calls)

    @staticmethod
    def _finished(runtime: Runtime, ids: list[str], workers: int) -> None:
        """Wait out a wave: its orders may be refunded again once none of its runs is unfinished."""
        if workers and not runtime.drain(timeout=300):
            raise ExactlyOnceViolated(workers, ["runs still in flight after 300 s"])
        if unfinished := [i for i in ids if not runtime.get(i).run.status.terminal]:
            raise ExactlyOnceViolated(
                workers, [f"{i} unfinished at the end of its wave" for i in unfinished]
            )

    def _check(self, runtime: Runtime, ids: list[str], workers: int) -> int:
        """Exactly one refund and one email in the sandbox's ledger per run, and nothing else."""
        ledger = self.sandbox.ledger()
        # The mail sink keys its row by Message-ID, which is our key plus "@<domain>".
        seen = Counter(
            (row["kind"], (row["idempotency_key"] or "").split("@")[0]) for row in ledger
        )
        problems = []
        for run_id in ids:
            detail = runtime.get(run_id)
            if detail.run.status is not RunStatus.SUCCEEDED:
                problems.append(f"{run_id} ended {detail.run.status} ({detail.run.error})")
            keys = {e.kind: e.key for e in detail.effects}
            for kind in EFFECTS_PER_RUN:
                if (n := seen[(kind, keys.get(kind))]) != 1:
                    problems.append(f"{run_id}: {n} {kind} rows in the ledger")
        if len(ledger) != len(EFFECTS_PER_RUN) * len(ids):
            problems.append(f"{len(ledger)} ledger rows for {len(ids)} runs")
        if (mail := len(self.sandbox.messages())) != len(ids):
            problems.append(f"{mail} messages for {len(ids)} runs")
        if problems:
            raise ExactlyOnceViolated(workers, problems)
        return len(ledger)


def _from_events(runtime: Runtime, ids: list[str]) -> tuple[dict[str, float], float]:
    """Where a run's time went, as its own event log tells it (step and connector durations)."""
    steps: defaultdict[str, float] = defaultdict(float)
    calls = 0.0
    for run_id in ids:
        for event in runtime.events(run_id):
            if event.kind == "step.finished" and event.step:
                steps[event.step] += event.duration_ms or 0.0
            elif event.kind in ("connector.called", "effect.performed"):
                calls += event.duration_ms or 0.0
    return {k: v / len(ids) for k, v in steps.items()}, calls / len(ids)


def summarise(rounds: list[Round], workers: int, placement: Placement) -> dict[str, Any]:
    seconds = [r.seconds for r in rounds]
    median = statistics.median(seconds)
    runs, effects = rounds[0].runs, rounds[0].effects
    steps = {
        name: statistics.median(r.steps_ms[name] for r in rounds) for name in rounds[0].steps_ms
    }
    return {
        "workers": workers,
        "sandbox": placement,
        "runs_per_round": runs,
        "orders_per_round": rounds[0].orders,
        "effects_per_round": effects,
        "rounds_s": seconds,
        "median_s": median,
        "spread": (max(seconds) - min(seconds)) / median,
        "runs_per_s": runs / median,
        "effects_per_s": effects / median,
        "ms_per_run": 1000 * median / runs,
        "cpu_ms_per_run": 1000 * statistics.median(r.cpu_seconds for r in rounds) / runs,
        "step_ms": steps,
        "connector_ms_per_run": statistics.median(r.calls_ms for r in rounds),
        "exactly_once": "verified: one refund and one email per run, no other ledger rows",
    }
