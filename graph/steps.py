"""What a workflow's nodes stand on: the step wrapper, effects, approvals, compensation.

A node is written as `@step("refund") def refund(state, scope): ...`. The wrapper times
the step, writes its events, and turns a `StepFailed` into the run's failure path. The
scope gives the node its three durable tools:

- `scope.read(...)`     a connector call with no side effect, recorded as an event;
- `scope.effect(...)`   a side effect performed at most once per (run, task, ordinal);
- `scope.approval(...)` a pause until a person decides, via LangGraph's `interrupt()`.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypedDict, TypeVar

from langgraph.config import get_config
from langgraph.runtime import Runtime as GraphRuntime
from langgraph.types import interrupt

from connectors import ConnectorError
from connectors.llm import Message, Reply, ToolSpec

from .errors import Cancelled, EffectFailed, KeelError, OutcomeUnknown, StepFailed
from .records import ApprovalRequest, Decision
from .statuses import ApprovalStatus, EffectStatus, RunStatus

if TYPE_CHECKING:
    from .clock import Clock
    from .policy import Policy
    from .router import Router
    from .services import Services
    from .store import Store
    from .workflow import Workflow

T = TypeVar("T")
S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)
State = dict[str, Any]
StepFn = Callable[[S, "StepScope"], State | None]


class Node(Protocol[S_contra]):
    """A wrapped step as LangGraph sees it: it passes the run context as `runtime=`."""

    __name__: str

    def __call__(self, state: S_contra, runtime: GraphRuntime[RunContext]) -> State: ...


class FailureState(TypedDict, total=False):
    """The part of any workflow's state the failure path reads."""

    failure: dict[str, Any]


def crashpoint(name: str) -> None:
    """Test hook: die here, as `kill -9` would, when KEEL_CRASH_AT names this point.

    With KEEL_CRASH_LOG set, each point fires once: its name is appended to that file
    first, so a restarted process passes it (the crash tests walk every point this way).
    """
    wanted = os.environ.get("KEEL_CRASH_AT")
    if not wanted or name not in wanted.split(","):
        return
    if log := os.environ.get("KEEL_CRASH_LOG"):
        with open(log, "a+", encoding="utf-8") as fired:
            fired.seek(0)
            if name in fired.read().split():
                return
            fired.write(name + "\n")
            fired.flush()
            os.fsync(fired.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def effect_key(run_id: str, task_id: str, ordinal: int) -> str:
    """The idempotency key: the same when a node re-runs, new on each pass of a loop."""
    digest = hashlib.sha256(f"{run_id}|{task_id}|{ordinal}".encode()).hexdigest()
    return f"keel-{digest[:40]}"


@dataclass(frozen=True)
class RunContext:
    """Everything a node needs, handed in by the runtime as LangGraph's run context."""

    run_id: str
    requested_by: str
    workflow: Workflow
    store: Store
    services: Services
    policy: Policy
    clock: Clock
    router: Router | None = None


class StepScope:
    def __init__(self, ctx: RunContext, step: str, task_id: str) -> None:
        self.ctx = ctx
        self.step = step
        self.task_id = task_id
        self._ordinal = 0

    @property
    def services(self) -> Services:
        return self.ctx.services

    @property
    def policy(self) -> Policy:
        return self.ctx.policy

    def _next_ordinal(self) -> int:
        self._ordinal += 1
        return self._ordinal

    def event(self, name: str, /, *, duration_ms: float | None = None, **data: Any) -> None:
        self.ctx.store.append_event(
            self.ctx.run_id, name, step=self.step, data=data, duration_ms=duration_ms
        )

    def _elapsed_ms(self, started: float) -> float:
        return (self.ctx.clock.monotonic() - started) * 1000

    def fail(self, message: str, **data: Any) -> NoReturn:
        raise StepFailed(message, step=self.step, **data)

    def read(self, operation: str, call: Callable[[], T]) -> T:
        """A connector call with no side effect; its failure fails the step."""
        started = self.ctx.clock.monotonic()
        try:
            result = call()
        except ConnectorError as exc:
            self.event(
                "connector.failed",
                operation=operation,
                error=str(exc),
                duration_ms=self._elapsed_ms(started),
            )
            raise StepFailed(str(exc), step=self.step, operation=operation) from exc
        self.event("connector.called", operation=operation, duration_ms=self._elapsed_ms(started))
        return result

    def effect(
        self,
        kind: str,
        call: Callable[[str], dict[str, Any]],
        *,
        request: dict[str, Any],
        keyed: bool = True,
        lookup: Callable[[str], dict[str, Any] | None] | None = None,
        compensation: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Perform `call(key)` at most once for this run, task and ordinal.

        `keyed`: the API honours the key, so a call whose outcome a crash hid may be
        sent again with it. Otherwise `lookup(key)` is asked whether it happened; with
        neither, an unfinished call is escalated as "outcome unknown", never repeated.
        `compensation(result)` names the undo ({"name": ..., "args": ...}) if a later step fails.
        """
        store, run_id = self.ctx.store, self.ctx.run_id
        ordinal = self._next_ordinal()
        key = effect_key(run_id, self.task_id, ordinal)
        found = store.effect(key)
        if found is not None and found.status is EffectStatus.DONE:
            self.event("effect.replayed", kind=kind, key=key)
            return found.result or {}
        if found is not None and found.status in (EffectStatus.FAILED, EffectStatus.UNKNOWN):
            raise EffectFailed(found.error or f"{kind} failed", step=self.step, key=key)
        if found is not None:  # started, never settled: a crash hid the outcome
            if not keyed:
                answered, seen = self._ask(lookup, key)
                if seen is not None:
                    return self._settle(kind, key, seen, compensation, recovered=True)
                if not answered:
                    self._unknown(kind, key, found.request or {})
            store.retry_effect(key)
            self.event("effect.retried", kind=kind, key=key, attempt=found.attempts + 1)
        else:
            store.start_effect(key, run_id, self.task_id, ordinal, kind, request)
        crashpoint(f"effect.before:{kind}")
        started = self.ctx.clock.monotonic()
        try:
            result = call(key)
        except ConnectorError as exc:
            if not exc.unprocessed:  # it may have happened: ask, or escalate; never guess
                answered, seen = self._ask(lookup, key)
                if seen is not None:
                    return self._settle(kind, key, seen, compensation, recovered=True)
                if not answered:
                    self._unknown(kind, key, request, cause=str(exc))
            store.settle_effect(key, EffectStatus.FAILED, error=str(exc))
            self.event(
                "effect.failed",
                kind=kind,
                key=key,
                error=str(exc),
                error_type=type(exc).__name__,
                duration_ms=self._elapsed_ms(started),
            )
            raise EffectFailed(str(exc), step=self.step, key=key, kind=kind) from exc
        crashpoint(f"effect.after:{kind}")
        return self._settle(kind, key, result, compensation, duration_ms=self._elapsed_ms(started))

    @staticmethod
    def _ask(
        lookup: Callable[[str], dict[str, Any] | None] | None,
        key: str,
    ) -> tuple[bool, dict[str, Any] | None]:
        """Whether the API could say if the keyed call happened, and what it found."""
        if lookup is None:
            return False, None
        try:
            return True, lookup(key)
        except ConnectorError:
            return False, None

    def _settle(
        self,
        kind: str,
        key: str,
        result: dict[str, Any],
        compensation: Callable[[dict[str, Any]], dict[str, Any]] | None,
        *,
        duration_ms: float | None = None,
        recovered: bool = False,
    ) -> dict[str, Any]:
        store = self.ctx.store
        with store.tx():  # the result and its event land together
            store.settle_effect(
                key,
                EffectStatus.DONE,
                result=result,
                compensation=compensation(result) if compensation else None,
            )
            self.event(
                "effect.performed",
                kind=kind,
                key=key,
                recovered=recovered,
                result=result,
                duration_ms=duration_ms,
            )
        return result

    def _unknown(
        self,
        kind: str,
        key: str,
        request: dict[str, Any],
        cause: str | None = None,
    ) -> NoReturn:
        store = self.ctx.store
        message = (
            f"{kind}: outcome unknown ({cause}); it may have happened: check before redoing"
            if cause
            else f"{kind}: outcome unknown after a crash; the API cannot be asked and won't dedupe"
        )
        with store.tx():
            store.settle_effect(key, EffectStatus.UNKNOWN, error=message)
            store.open_reconciliation(
                self.ctx.run_id,
                "effect_outcome_unknown",
                message,
                {"effect": kind, "request": request},
                effect_key=key,
            )
            self.event("escalation.raised", reason=message, to=self.policy.escalation.on_call)
        raise OutcomeUnknown(message, step=self.step, key=key)

    def model(
        self,
        *,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec] | None = None,
        max_tokens: int = 1024,
    ) -> Reply:
        """A model call within the run's budget (policy.toml); past it the run escalates."""
        from .router import BudgetExceeded

        if self.ctx.router is None:
            raise StepFailed("no model router is configured for this runtime", step=self.step)
        budget = self.policy.workflow(self.ctx.workflow.name).budget
        try:
            return self.ctx.router.complete(
                self.ctx.run_id,
                budget,
                system=system,
                messages=messages,
                tools=tools or [],
                max_tokens=max_tokens,
            )
        except BudgetExceeded as exc:
            self.event(
                "escalation.raised",
                reason=f"model budget: {exc}",
                to=self.policy.escalation.on_call,
            )
            raise StepFailed(f"stopped by its model budget: {exc}", step=self.step) from exc

    def approval(self, request: ApprovalRequest, deadline: datetime | None) -> Decision:
        """Pause the run until a person decides; re-running the node finds the same approval.

        The quorum policy asks for at this workflow and amount is fixed on the approval now.
        """
        quorum = self.policy.quorum(request.workflow, request.policy_amount)
        approval, _ = self.ctx.store.ensure_approval(
            self.ctx.run_id, self.task_id, self._next_ordinal(), request, deadline, quorum
        )
        answer = interrupt({"approval_id": approval.id, **request.model_dump(mode="json")})
        decision = Decision.model_validate(answer)
        if decision.status is ApprovalStatus.CANCELLED:
            raise Cancelled(f"cancelled by {decision.by}", step=self.step)
        return decision


def step(
    name: str,
    *,
    cancellable: bool = True,
) -> Callable[[StepFn[S]], Node[S]]:
    """Wrap a node: cancellation check, timing, events, and failure routing."""

    def wrap(fn: StepFn[S]) -> Node[S]:
        def node(state: S, runtime: GraphRuntime[RunContext]) -> State:
            ctx = runtime.context
            crashpoint(f"step.before:{name}")
            if cancellable and ctx.store.cancel_requested(ctx.run_id):
                return {"failure": {"step": name, "message": "cancelled", "cancelled": True}}
            ctx.store.set_run(ctx.run_id, step=name, status=RunStatus.RUNNING)
            scope = StepScope(ctx, name, get_config()["configurable"]["checkpoint_ns"])
            started = ctx.clock.monotonic()
            try:
                update = fn(state, scope) or {}
            except StepFailed as exc:
                scope.event("step.failed", error=str(exc), duration_ms=scope._elapsed_ms(started))
                return {
                    "failure": {
                        "step": name,
                        "message": str(exc),
                        "cancelled": isinstance(exc, Cancelled),
                    }
                }
            scope.event("step.finished", duration_ms=scope._elapsed_ms(started))
            return update

        node.__name__ = name
        return node

    return wrap


def after(next_node: str, on_failure: str = "recover") -> Callable[[State], str]:
    """A conditional edge: on to `next_node`, or to the failure path when a step failed."""

    def route(state: State) -> str:
        return on_failure if state.get("failure") else next_node

    return route


@step("recover", cancellable=False)
def recover(state: FailureState, scope: StepScope) -> State:
    """The failure path: undo done effects in reverse order, or escalate, as policy says.

    A compensation that fails becomes an escalation and an open reconciliation item.
    """
    ctx = scope.ctx
    failure = state.get("failure") or {}
    cancelled = bool(failure.get("cancelled"))
    standing = [
        e
        for e in ctx.store.effects(ctx.run_id)
        if e.status is EffectStatus.DONE and e.compensation and e.compensation_status != "done"
    ]
    mode = "compensate" if cancelled else ctx.policy.workflow(ctx.workflow.name).on_failure
    if mode == "escalate" and standing:
        summary = f"{failure.get('step')} failed ({failure.get('message')}); kept: " + ", ".join(
            e.kind for e in standing
        )
        ctx.store.open_reconciliation(
            ctx.run_id,
            "step_failed",
            summary,
            {"kept": [e.key for e in standing], "failure": failure},
        )
        scope.event("escalation.raised", reason=summary, to=ctx.policy.escalation.on_call)
        return {"outcome": "failed"}
    broken = 0
    for done in reversed(standing):
        comp = done.compensation or {}
        undo = ctx.workflow.compensations[comp["name"]]
        try:
            scope.effect(
                f"undo:{done.kind}",
                partial(undo, ctx.services, comp["args"]),
                request={"undoes": done.key, **comp},
            )
        except KeelError as exc:
            broken += 1
            ctx.store.set_compensation_status(done.key, "failed")
            summary = f"could not undo {done.kind}: {exc}"
            scope.event("compensation.failed", effect=done.key, error=str(exc))
            ctx.store.open_reconciliation(
                ctx.run_id,
                "compensation_failed",
                summary,
                {"effect": done.kind, "compensation": comp},
                effect_key=done.key,
            )
            scope.event("escalation.raised", reason=summary, to=ctx.policy.escalation.on_call)
            continue
        ctx.store.set_compensation_status(done.key, "done")
        scope.event("compensation.performed", effect=done.key, name=comp["name"])
    if broken:
        return {"outcome": "failed"}
    if cancelled:
        return {"outcome": "cancelled"}
    return {"outcome": "compensated" if standing else "failed"}
