"""The terminal app under test: a real Runtime over the sandbox (a ManualClock, the offline
model), an embedded Desk, and a seeded, deterministic shop for the snapshots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
from textual.pilot import Pilot
from ulid import ULID

from connectors.offline import OfflineModel
from graph import (
    ApprovalRequest,
    ApprovalStatus,
    EffectStatus,
    ManualClock,
    RunStatus,
    Runtime,
    Services,
    parse_policy,
)
from graph.assistant import Assistant
from graph.router import Router
from memory import HashingEmbedder
from tui import Desk, KeelApp
from tui.pane import Pane

from ..support import POLICY

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def tui_runtime(home: Path, services: Services, clock: ManualClock) -> Iterator[Runtime]:
    rt = Runtime.open(home, services=services, policy=parse_policy(POLICY), clock=clock)
    rt.router = Router(
        store=rt.store,
        clock=clock,
        models=rt.policy.models,
        offline=OfflineModel(HashingEmbedder()),
    )
    yield rt
    rt.close()


MakeDesk = Callable[..., Desk]


@pytest.fixture
def make_desk(tui_runtime: Runtime) -> Iterator[MakeDesk]:
    desks: list[Desk] = []

    def make(user: str = "maria", *, attached: bool = False, **kwargs: object) -> Desk:
        assert tui_runtime.router is not None
        assistant = Assistant(tui_runtime, tui_runtime.router, execute=not attached)
        desk = Desk(tui_runtime, user=user, assistant=assistant, attached=attached, **kwargs)  # type: ignore[arg-type]
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.close()


def app_for(desk: Desk) -> KeelApp:
    """The app as tests drive it: no refresh timer (tests reload by switching screens)."""
    return KeelApp(desk, refresh_every=0)


async def settle(pilot: Pilot, rounds: int = 100) -> None:
    """Let every worker finish and its result reach the screen (results start more work):
    quiet twice in a row, a moment apart, so a screen just pushed has started loading."""
    app = pilot.app
    quiet = 0
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause(0.01)
        screen = app.screen
        busy = any(w.is_running for w in app.workers) or (
            isinstance(screen, Pane) and not screen.idle
        )
        quiet = 0 if busy else quiet + 1
        if quiet == 2:
            return
    raise AssertionError("the app did not settle")


# --- the seeded shop for snapshots ----------------------------------------------------------


def _ids(prefix: str, at: datetime, serial: Iterator[int]) -> str:
    """A ULID-shaped id at `at` with a fixed tail, so ids sort by time and never vary."""
    return f"{prefix}_{str(ULID.from_int(int(at.timestamp() * 1000) << 80 | next(serial))).lower()}"


@pytest.fixture
def seeded(tui_runtime: Runtime, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """A morning at the shop, written straight into the run store with fixed ids and times:
    refunds that succeeded, two waiting (one escalated), one rejected, one failed with an
    open reconciliation item, and a conversation."""
    serial = count(1)
    monkeypatch.setattr(
        "graph.store.new_id", lambda prefix, at=None: _ids(prefix, at or clock.now(), serial)
    )
    store = tui_runtime.store
    clock.advance(START - clock.now())

    def refund(order: int, amount: str, by: str, reason: str) -> str:
        run_id = _ids("run", clock.now(), serial)
        store.create_run(
            run_id, "refund", 1, {"order_id": order, "amount": amount, "reason": reason}, by, "tui"
        )
        store.set_run(run_id, status=RunStatus.RUNNING, step="lookup")
        clock.advance(0.4)
        store.append_event(
            run_id,
            "connector.called",
            step="lookup",
            data={"operation": "get_order"},
            duration_ms=412,
        )
        store.append_event(run_id, "step.finished", step="lookup", duration_ms=430)
        store.append_event(
            run_id,
            "model.called",
            step="lookup",
            cost_usd=0.0031,
            data={"model": "claude-haiku-5-5", "total_tokens": 1840},
            duration_ms=950,
        )
        store.append_event(
            run_id,
            "policy.checked",
            step="check_policy",
            data={"amount": amount, "needs_approval": Decimal(amount) > 100},
        )
        return run_id

    def approval(run_id: str, amount: str, by: str, what: str, why: str) -> str:
        store.set_run(run_id, status=RunStatus.WAITING, step="approval")
        request = ApprovalRequest(
            workflow="refund",
            what=what,
            why=why,
            amount=Decimal(amount),
            risk="high",
            approver_roles=["support", "manager", "owner"],
            requested_by=by,
        )
        found, _ = store.ensure_approval(
            run_id, "approval:seed", 1, request, clock.now() + timedelta(hours=4)
        )
        return found.id

    def effects(run_id: str, order: int) -> None:
        for n, kind in enumerate(("refund", "restock", "email"), start=1):
            key = f"keel-{run_id[-8:]}{n:032d}"
            store.start_effect(key, run_id, "refund:seed", n, kind, {"order_id": order})
            clock.advance(0.2)
            store.settle_effect(
                key,
                EffectStatus.DONE,
                result={"ok": True},
                compensation={"name": f"undo_{kind}", "args": {}} if kind != "email" else None,
            )
            store.append_event(
                run_id,
                "effect.performed",
                step=kind,
                data={"kind": kind, "key": key},
                duration_ms=180,
            )

    small = refund(1005, "77.00", "sam", "arrived broken")
    effects(small, 1005)
    store.finish_run(small, RunStatus.SUCCEEDED, {"refund": {"ok": True}})
    clock.advance(timedelta(minutes=7))

    decided = refund(1001, "118.00", "sam", "wrong size, customer returned it")
    apv = approval(decided, "118.00", "sam", "Refund 118.00 USD on order #1001", "wrong size")
    clock.advance(timedelta(minutes=3, seconds=20))
    store.settle_approval(apv, ApprovalStatus.APPROVED, "maria", None)
    store.append_event(
        decided,
        "approval.decided",
        step="approval",
        actor="maria",
        data={"approval_id": apv, "decision": "approved", "reason": None},
    )
    effects(decided, 1001)
    store.finish_run(decided, RunStatus.SUCCEEDED, {"refund": {"ok": True}})
    clock.advance(timedelta(minutes=12))

    vetoed = refund(1012, "240.00", "sam", "customer changed their mind")
    apv = approval(
        vetoed, "240.00", "sam", "Refund 240.00 USD on order #1012", "customer changed their mind"
    )
    clock.advance(timedelta(minutes=9))
    store.settle_approval(apv, ApprovalStatus.REJECTED, "maria", "outside the 30-day window")
    store.append_event(
        vetoed,
        "approval.decided",
        step="approval",
        actor="maria",
        data={"approval_id": apv, "decision": "rejected", "reason": "outside the 30-day window"},
    )
    store.finish_run(vetoed, RunStatus.REJECTED, {})
    clock.advance(timedelta(minutes=20))

    broken = refund(1020, "54.00", "demo", "never arrived")
    effects(broken, 1020)
    store.open_reconciliation(
        broken,
        "compensation_failed",
        "could not undo restock: the store answered 503",
        {"effect": "restock"},
    )
    store.finish_run(broken, RunStatus.FAILED, {}, error="notify failed: mail relay refused")
    clock.advance(timedelta(minutes=31))

    escalated = refund(1030, "310.00", "sam", "parcel damaged in transit")
    apv = approval(
        escalated, "310.00", "sam", "Refund 310.00 USD on order #1030", "parcel damaged in transit"
    )
    store.escalate_approval(apv, 1, clock.now() + timedelta(hours=8))
    store.append_event(
        escalated,
        "approval.escalated",
        step="approval",
        actor="policy",
        data={"approval_id": apv, "level": 1, "role": "manager", "notify": ["maria"]},
    )
    clock.advance(timedelta(minutes=42))

    waiting = refund(1041, "132.50", "sam", "the print frame arrived cracked")
    approval(
        waiting,
        "132.50",
        "sam",
        "Refund 132.50 USD on order #1041",
        "the print frame arrived cracked",
    )
    clock.advance(timedelta(minutes=5))

    queued = _ids("run", clock.now(), serial)
    store.create_run(
        queued,
        "refund",
        1,
        {"order_id": 1044, "amount": "22.00", "reason": "duplicate order"},
        "sam",
        "cli",
    )
    clock.advance(timedelta(minutes=2))

    conversation = "conv_tui_maria"
    store.append_event(
        conversation,
        "chat.message",
        actor="maria",
        data={"text": "what is waiting on me?", "origin": "tui"},
    )
    store.append_event(
        conversation,
        "chat.reply",
        data={
            "text": "[offline model] 2 approvals wait on you: Refund 310.00 USD on order #1030"
            " (escalated) and Refund 132.50 USD on order #1041.",
            "offline": True,
        },
    )
    clock.advance(timedelta(seconds=40))
    store.append_event(
        conversation,
        "chat.message",
        actor="maria",
        data={"text": "refund order 1044 because it was a duplicate", "origin": "tui"},
    )
    store.append_event(
        conversation,
        "chat.reply",
        data={
            "text": f"[offline model] Started the refund run {queued}; status: queued.",
            "offline": True,
        },
    )
    clock.advance(timedelta(minutes=1))
    return tui_runtime
