"""Crash safety: `keel serve` killed with SIGKILL at every step boundary and mid-call.

The server runs as a real subprocess against the sandbox (in this process, so it outlives
the server). Each named crash point fires once (KEEL_CRASH_LOG), so every restart gets a
little further; at the end every run must have finished with exactly one refund, one
restock and one email, and no decision may be lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from graph import ApprovalStatus, RunStatus, Runtime, Store

from ..support import POLICY, counts, orders

STEP_POINTS = [
    "step.before:lookup",
    "step.before:check_policy",
    "step.before:approval",
    "step.before:refund",
    "effect.before:refund",
    "effect.after:refund",
    "step.before:restock",
    "effect.before:restock",
    "effect.after:restock",
    "step.before:notify",
    "effect.before:email",
    "effect.after:email",
    "step.before:done",
    "inbox.handled",
]


class Server:
    """`keel serve` as a child process, restartable, killable."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.cwd = tmp_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.crashes = 0

    def start(self, *args: str, **extra_env: str) -> None:
        self.starts += 1
        log = open(self.cwd / f"serve-{self.starts}.log", "wb")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--quiet", *args],
            cwd=self.cwd,
            env={**self.env, **extra_env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )

    def died(self) -> bool:
        """True when the server is gone by itself (a crash point fired)."""
        if self.proc is None or self.proc.poll() is None:
            return False
        assert self.proc.returncode == -signal.SIGKILL, self.output()
        self.crashes += 1
        self.proc = None
        return True

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
            self.proc = None

    def output(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.cwd.glob("serve-*.log"))
        )


@pytest.fixture
def setup(tmp_path, sandbox, services):
    home = tmp_path / "home"
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KEEL_", "SLACK_", "ANTHROPIC_"))
    }
    env.update(
        KEEL_HOME=str(home),
        KEEL_POLICY=str(policy),
        KEEL_STORE_URL=sandbox.url,
        KEEL_STORE_TOKEN=sandbox.token,
        KEEL_SMTP_HOST=sandbox.smtp_host,
        KEEL_SMTP_PORT=str(sandbox.smtp_port),
        KEEL_RETRY_ATTEMPTS="3",
        KEEL_WORKERS="2",
        KEEL_LOG_LEVEL="WARNING",
        KEEL_DEMO="false",
    )
    server = Server(tmp_path, env)
    from graph import parse_policy

    client = Runtime.open(home, services=services, policy=parse_policy(POLICY))
    yield server, client
    server.stop()
    client.close()


def wait_until(condition: Callable[[], bool], server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; server output:\n{server.output()}"
        time.sleep(0.05)


def finished(store: Store, *run_ids: str) -> bool:
    return all(store.run(r).status.terminal for r in run_ids)  # type: ignore[union-attr]


def test_sigkill_at_every_step_boundary_loses_nothing_and_repeats_nothing(
    setup, sandbox, services, tmp_path
):
    server, client = setup
    store = client.store
    fired_log = tmp_path / "fired"
    crash_env = {"KEEL_CRASH_AT": ",".join(STEP_POINTS), "KEEL_CRASH_LOG": str(fired_log)}
    small = orders(services.shop, under="100.00")[0]
    large = orders(services.shop, over="100.00")[0]
    a = client.start("refund", {"order_id": small.id, "reason": "broken"}, "cleo", execute=False)
    b = client.start("refund", {"order_id": large.id, "reason": "late"}, "cleo", execute=False)

    decided = False
    deadline = time.monotonic() + 120
    while not finished(store, a.id, b.id):
        assert time.monotonic() < deadline, server.output()
        if server.proc is None or server.died():
            server.start(**crash_env)
        approval = store.latest_approval(b.id)
        if not decided and approval is not None and approval.status is ApprovalStatus.PENDING:
            # A person decides while the server is down: the decision waits in the inbox.
            server.kill()
            store.put_inbox(
                "decide",
                {
                    "approval_id": approval.id,
                    "decision": "approve",
                    "actor": "maria",
                    "reason": None,
                },
                "maria",
            )
            decided = True
        time.sleep(0.05)

    fired = set(fired_log.read_text().split())
    assert fired == set(STEP_POINTS), f"never reached: {set(STEP_POINTS) - fired}"
    for order in (small, large):
        assert counts(sandbox, order.id) == {"refund": 1, "restock": 1, "email": 1}
    assert [store.run(r).status for r in (a.id, b.id)] == [RunStatus.SUCCEEDED] * 2
    approval = store.latest_approval(b.id)
    assert approval.status is ApprovalStatus.APPROVED and approval.decided_by == "maria"
    assert [e.kind for e in store.events(b.id)].count("approval.decided") == 1
    assert len(sandbox.messages()) == 2
    assert store.verify().ok


def test_sigkill_in_the_middle_of_an_http_call(setup, sandbox, services):
    server, client = setup
    store = client.store
    order = orders(services.shop, under="100.00")[0]
    sandbox.set_faults(latency_ms=1500, paths=["/refunds.json"])
    server.start()
    run = client.start("refund", {"order_id": order.id, "reason": "broken"}, "cleo", execute=False)

    def refund_in_flight() -> bool:
        return any(e.kind == "refund" and e.status == "started" for e in store.effects(run.id))

    wait_until(refund_in_flight, server)
    time.sleep(0.3)  # the request has reached the sandbox, which is still "working"
    server.kill()
    wait_until(lambda: counts(sandbox, order.id).get("refund") == 1, server)  # it did happen
    sandbox.clear_faults()

    server.start()
    wait_until(lambda: finished(store, run.id), server)

    assert store.run(run.id).status is RunStatus.SUCCEEDED
    assert counts(sandbox, order.id) == {"refund": 1, "restock": 1, "email": 1}
    [refund] = [e for e in store.effects(run.id) if e.kind == "refund"]
    assert refund.attempts == 2  # sent again with the same key; the store replayed it
    assert "effect.retried" in [e.kind for e in store.events(run.id)]
