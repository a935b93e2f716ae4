"""The one door to running business processes: start, authorise, decide, cancel, get, runs,
events, recover, tick.

Runs execute as LangGraph graphs checkpointed by `SqliteSaver` (durability "sync": each
step's checkpoint is on disk before the next step's effects). A run's thread id is its
run id. The runtime drives a run until it waits on a person or ends; with `workers=0`
that happens in the caller's thread, otherwise on a small thread pool.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command
from pydantic import BaseModel, ValidationError

from .authority import Authority
from .clock import Clock, SystemClock, iso
from .errors import (
    InvalidInput,
    NotAuthorised,
    ReasonRequired,
    RunStateError,
    UnknownApproval,
    UnknownRun,
    UnknownWorkflow,
)
from .ids import new_id
from .policy import Policy
from .reads import Reads, RunDetail
from .records import Approval, Decision, Event, Run
from .router import Router
from .statuses import ApprovalStatus, RunStatus

if TYPE_CHECKING:
    from memory import MemoryStore
from .services import Services
from .steps import RunContext
from .store import RUN_STORE, Store
from .views import Views
from .workflow import Workflow
from .workflows import REGISTRY

log = logging.getLogger("keel.runtime")

Verdict = Literal["approve", "reject"]


class Runtime:
    def __init__(
        self,
        *,
        store: Store,
        checkpointer: BaseCheckpointSaver[str],
        services: Services,
        policy: Policy,
        clock: Clock | None = None,
        workflows: Mapping[str, Workflow] = REGISTRY,
        workers: int = 0,
        router: Router | None = None,
    ) -> None:
        self.store = store
        self.router = router
        """Model calls from steps (`scope.model`); set by the composition root."""
        self.memory: MemoryStore | None = None
        """Long-term memory the assistant recalls from; set by the composition root."""
        self.services = services
        self.policy = policy
        self.clock = clock or store.clock
        self.authority = Authority(policy)
        self.reads = Reads(store, self.authority, self.clock)
        self.workflows = dict(workflows)
        self._checkpointer = checkpointer
        self._graphs = {
            name: wf.build().compile(checkpointer=checkpointer)
            for name, wf in self.workflows.items()
        }
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="keel-run") if workers else None
        self._lock = threading.Lock()
        self._inflight: set[str] = set()
        self._again: set[str] = set()
        self._idle = threading.Condition(self._lock)

    @classmethod
    def open(
        cls,
        home: str | Path,
        *,
        services: Services,
        policy: Policy,
        clock: Clock | None = None,
        workers: int = 0,
        workflows: Mapping[str, Workflow] = REGISTRY,
    ) -> Runtime:
        """The embedded default: the run store and the checkpoints as two files in `home`."""
        home = Path(home)
        home.mkdir(parents=True, exist_ok=True)
        clock = clock or SystemClock()
        store = Store.open(home / RUN_STORE, clock)
        conn = sqlite3.connect(str(home / "checkpoints.db"), check_same_thread=False, timeout=30)
        conn.execute("PRAGMA synchronous=FULL")  # explicit: a checkpoint is on disk before effects
        saver = SqliteSaver(conn)
        saver.setup()
        return cls(
            store=store,
            checkpointer=saver,
            services=services,
            policy=policy,
            clock=clock,
            workers=workers,
            workflows=workflows,
        )

    @property
    def checkpointer(self) -> BaseCheckpointSaver[str]:
        return self._checkpointer

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=True)
        if self.memory is not None:
            self.memory.close()
        self.store.close()
        conn = getattr(self._checkpointer, "conn", None)
        if conn is not None:
            conn.close()

    # --- starting work --------------------------------------------------------------------

    def validate(self, kind: str, data: Mapping[str, Any] | BaseModel) -> BaseModel:
        """The input as the workflow will see it, or InvalidInput saying what is wrong."""
        workflow = self.workflows.get(kind)
        if workflow is None:
            known = ", ".join(sorted(self.workflows))
            raise UnknownWorkflow(f"no workflow named {kind!r} (known: {known})")
        raw = data.model_dump() if isinstance(data, BaseModel) else dict(data)
        try:
            model = workflow.input_model.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or kind
            message = err["msg"].removeprefix("Value error, ")
            raise InvalidInput(f"{field}: {message}", field=field) from None
        return workflow.prepare(self.services, self.policy, model)

    def start(
        self,
        kind: str,
        data: Mapping[str, Any] | BaseModel,
        requested_by: str,
        origin: str = "cli",
        *,
        execute: bool = True,
    ) -> Run:
        """Create a run and (unless `execute=False`, for a server to pick up) drive it."""
        model = self.validate(kind, data)
        workflow = self.workflows[kind]
        run_id = new_id("run", self.clock.now())
        self.store.create_run(
            run_id,
            workflow.name,
            workflow.version,
            model.model_dump(mode="json"),
            requested_by,
            origin,
            exclusive_on=workflow.exclusive_on,
        )
        if execute:
            self._kick(run_id)
        return self.get(run_id).run

    # --- people's decisions ---------------------------------------------------------------

    def authorise(self, approval_id: str, actor: str) -> Approval:
        """The approval, when `actor` may decide it now; else the refusal (one by policy is
        audited as an `approval.refused` event). Surfaces ask before opening a reason dialog."""
        approval = self._approval(approval_id)
        try:
            self.authority.standing(approval, actor, self.clock.now())
        except NotAuthorised as refusal:
            self._refused(approval, actor, refusal)
            raise
        return approval

    def decide(
        self,
        approval_id: str,
        decision: Verdict,
        actor: str,
        reason: str | None = None,
        *,
        execute: bool = True,
    ) -> Approval:
        """Approve (a vote toward the approval's quorum) or reject (a veto, needs a reason).

        The deciding click settles the approval once (compare-and-set) and resumes its run;
        every check runs again under the store's write lock, so racing clicks count once.
        """
        approval = self._approval(approval_id)
        if decision not in ("approve", "reject"):
            raise InvalidInput(f"a decision is approve or reject, not {decision!r}")
        reason = (reason or "").strip() or None
        if decision == "reject" and not reason:
            raise ReasonRequired("a rejection needs a reason")
        now = self.clock.now()
        try:
            with self.store.tx():
                current = self._approval(approval_id)
                on_behalf_of = self.authority.standing(current, actor, now)
                settled = decision == "reject" or self._vote(current, actor, on_behalf_of)
                if settled:
                    status = (
                        ApprovalStatus.APPROVED
                        if decision == "approve"
                        else ApprovalStatus.REJECTED
                    )
                    self.store.settle_approval(approval_id, status, actor, reason)
                    self.store.append_event(
                        approval.run_id,
                        "approval.decided",
                        step="approval",
                        actor=actor,
                        data={
                            "approval_id": approval_id,
                            "decision": str(status),
                            "reason": reason,
                            **_behalf(on_behalf_of),
                        },
                    )
                    self.store.transition(
                        approval.run_id, RunStatus.QUEUED, only_from=[RunStatus.WAITING]
                    )
        except NotAuthorised as refusal:
            self._refused(approval, actor, refusal)
            raise
        if settled and execute:
            self._kick(approval.run_id)
        return self._approval(approval_id)

    def _approval(self, approval_id: str) -> Approval:
        approval = self.store.approval(approval_id)
        if approval is None:
            raise UnknownApproval(f"no approval with id {approval_id}")
        return approval

    def _vote(self, approval: Approval, actor: str, on_behalf_of: str | None) -> bool:
        """Count an approve click; True when it completes the quorum."""
        votes = self.store.add_vote(approval.id, actor, on_behalf_of)
        if approval.quorum > 1:
            self.store.append_event(
                approval.run_id,
                "approval.voted",
                step="approval",
                actor=actor,
                data={
                    "approval_id": approval.id,
                    "by": actor,
                    "votes": votes,
                    "quorum": approval.quorum,
                    **_behalf(on_behalf_of),
                },
            )
        return votes >= approval.quorum

    def _refused(self, approval: Approval, actor: str, refusal: NotAuthorised) -> None:
        """A refusal by policy is an audit event."""
        self.store.append_event(
            approval.run_id,
            "approval.refused",
            step="approval",
            actor=actor,
            data={"approval_id": approval.id, "reason": str(refusal)},
        )

    def cancel(self, run_id: str, actor: str, reason: str | None = None) -> Run:
        """Stop a run at its next step boundary; done effects are compensated."""
        run = self.store.run(run_id)
        if run is None:
            raise UnknownRun(f"no run with id {run_id}")
        if run.status.terminal:
            raise RunStateError(f"run {run_id} already ended {run.status}")
        with self.store.tx():
            self.store.set_run(run_id, cancel_requested=1)
            for approval in self.store.approvals(run_id=run_id, status=ApprovalStatus.PENDING):
                self.store.settle_approval(approval.id, ApprovalStatus.CANCELLED, actor, reason)
            self.store.append_event(
                run_id, "run.cancel_requested", actor=actor, data={"reason": reason}
            )
            self.store.transition(run_id, RunStatus.QUEUED, only_from=[RunStatus.WAITING])
        self._kick(run_id)
        return self.get(run_id).run

    # --- reading --------------------------------------------------------------------------

    def get(self, run_id: str) -> RunDetail:
        return self.reads.get(run_id)

    def runs(
        self,
        *,
        status: list[RunStatus] | None = None,
        workflow: str | None = None,
        limit: int = 100,
    ) -> list[Run]:
        return self.reads.runs(status=status, workflow=workflow, limit=limit)

    def events(
        self, run_id: str | None = None, *, since: int = 0, limit: int = 1000
    ) -> list[Event]:
        return self.reads.events(run_id, since=since, limit=limit)

    def views(self) -> Views:
        """The lists and dashboards over a connection of their own (close them when done)."""
        return Views(self.store, self.policy)

    def pending_approvals(self, actor: str | None = None) -> list[Approval]:
        """What waits on a person (see `Reads.pending_approvals`)."""
        return self.reads.pending_approvals(actor)

    # --- recovery and time ----------------------------------------------------------------

    def recover(self) -> list[str]:
        """Resume every run with pending work that is not waiting on a person."""
        resumed = []
        for run in self.store.runs(
            status=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING], limit=1_000_000
        ):
            if run.status is RunStatus.WAITING:
                latest = self.store.latest_approval(run.id)
                if latest is not None and latest.status is ApprovalStatus.PENDING:
                    continue
            if run.status is not RunStatus.QUEUED:
                self.store.append_event(run.id, "run.recovered", data={"was": str(run.status)})
            resumed.append(run.id)
        for run_id in reversed(resumed):  # oldest first
            self._kick(run_id)
        return resumed

    def tick(self) -> list[Event]:
        """Escalate approvals past their deadline along the chain and settle them at its end
        as policy says; remind who may decide as a deadline nears. Each happens once."""
        now, esc = self.clock.now(), self.policy.escalation
        done: list[Event] = []
        for approval in self.store.approvals(status=ApprovalStatus.PENDING, due_before=now):
            level = approval.escalation_level + 1
            if level > len(esc.chain):
                done += self._expire(approval)
                continue
            role = esc.chain[level - 1]
            with self.store.tx():
                if self.store.escalate_approval(approval.id, level, now + esc.deadline):
                    done.append(
                        self.store.append_event(
                            approval.run_id,
                            "approval.escalated",
                            step="approval",
                            actor="policy",
                            data={
                                "approval_id": approval.id,
                                "level": level,
                                "role": role,
                                "notify": self.policy.with_delegates(
                                    self.policy.people_in(role), now
                                ),
                            },
                        )
                    )
        if esc.remind_before is None:
            return done
        for approval in self.store.approvals(
            status=ApprovalStatus.PENDING, due_before=now + esc.remind_before
        ):
            if approval.deadline is None or approval.deadline <= now:
                continue  # overdue: the escalation above, or a rival tick's, takes it
            with self.store.tx():
                if self.store.remind_approval(approval.id, approval.escalation_level):
                    done.append(
                        self.store.append_event(
                            approval.run_id,
                            "approval.reminded",
                            step="approval",
                            actor="policy",
                            data={
                                "approval_id": approval.id,
                                "level": approval.escalation_level,
                                "deadline": iso(approval.deadline),
                                "notify": [
                                    p
                                    for p in self.policy.people
                                    if self.authority.may(approval, p, now)
                                ],
                            },
                        )
                    )
        return done

    def _expire(self, approval: Approval) -> list[Event]:
        """Settle an approval at the end of the chain with its workflow's on_expiry."""
        choice = self.policy.expiry(approval.request.workflow)
        status = ApprovalStatus.APPROVED if choice == "approve" else ApprovalStatus.EXPIRED
        with self.store.tx():
            if not self.store.settle_approval(
                approval.id, status, "policy", "no decision before the deadline"
            ):
                return []
            event = self.store.append_event(
                approval.run_id,
                "approval.expired",
                step="approval",
                actor="policy",
                data={"approval_id": approval.id, "outcome": str(status), "on_expiry": choice},
            )
            self.store.transition(approval.run_id, RunStatus.QUEUED, only_from=[RunStatus.WAITING])
        self._kick(approval.run_id)
        return [event]

    # --- driving runs ---------------------------------------------------------------------

    def resume(self, run_id: str) -> None:
        """Drive a run that has work to do (queued by another process, say)."""
        self._kick(run_id)

    def _kick(self, run_id: str) -> None:
        if self._pool is None:
            self._drive(run_id)
            return
        with self._lock:
            if run_id in self._inflight:
                self._again.add(run_id)
                return
            self._inflight.add(run_id)
        self._pool.submit(self._drive_loop, run_id)

    def _drive_loop(self, run_id: str) -> None:
        try:
            while True:
                try:
                    self._drive(run_id)
                except Exception:  # keep the worker alive; the run stays resumable
                    log.exception("driving run %s failed", run_id)
                with self._lock:
                    if run_id not in self._again:
                        return
                    self._again.discard(run_id)
        finally:
            with self._lock:
                self._inflight.discard(run_id)
                self._idle.notify_all()

    def busy(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._inflight

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until no run is being driven (for tests, benchmarks and shutdown)."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._inflight, timeout)

    def _drive(self, run_id: str) -> None:
        """Advance a run from its last checkpoint until it waits on a person or ends."""
        resumed_from: str | None = None
        while True:
            run = self.store.run(run_id)
            if run is None or run.status.terminal:
                return
            graph = self._graphs[run.workflow]
            config: RunnableConfig = {"configurable": {"thread_id": run_id}}
            snapshot = graph.get_state(config)
            checkpoint = (snapshot.config or {}).get("configurable", {}).get("checkpoint_id")
            payload: Any
            if snapshot.interrupts:
                approval = self.store.latest_approval(run_id)
                if approval is None or approval.status is ApprovalStatus.PENDING:
                    if self._park(run_id):
                        return
                    continue  # decided while we looked
                payload = Command(resume=self._decision(approval).model_dump(mode="json"))
            elif checkpoint is None:  # never started
                if run.cancel_requested:
                    self.store.finish_run(run_id, RunStatus.CANCELLED, {"reason": "cancelled"})
                    return
                payload = {"input": run.input}
            elif "outcome" in snapshot.values and not snapshot.next:
                self._finish(run_id, snapshot.values)
                return
            elif checkpoint == resumed_from:  # resuming changed nothing: the graph is stuck
                self._defect(run_id, RuntimeError("the workflow ended without an outcome"))
                return
            else:
                # Carry on from the last checkpoint (after a crash, say); LangGraph applies
                # the writes of steps that finished and re-runs the step that did not.
                payload, resumed_from = None, checkpoint
            self.store.set_run(run_id, status=RunStatus.RUNNING)
            context = RunContext(
                run_id=run_id,
                requested_by=run.requested_by,
                workflow=self.workflows[run.workflow],
                store=self.store,
                services=self.services,
                policy=self.policy,
                clock=self.clock,
                router=self.router,
            )
            try:
                graph.invoke(payload, config, context=context, durability="sync")
            except Exception as exc:  # a defect, not a business failure: stop and tell a person
                log.exception("run %s crashed in a step", run_id)
                self._defect(run_id, exc)
                return

    def _defect(self, run_id: str, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        self.store.append_event(
            run_id,
            "escalation.raised",
            data={"reason": f"defect: {error}", "to": self.policy.escalation.on_call},
        )
        self.store.finish_run(run_id, RunStatus.FAILED, {}, error=error)

    def _park(self, run_id: str) -> bool:
        """Mark the run waiting, unless its approval was settled meanwhile (one transaction)."""
        with self.store.tx():
            approval = self.store.latest_approval(run_id)
            if approval is not None and approval.status is not ApprovalStatus.PENDING:
                return False
            self.store.set_run(run_id, status=RunStatus.WAITING, step="approval")
            return True

    @staticmethod
    def _decision(approval: Approval) -> Decision:
        return Decision(
            approval_id=approval.id,
            approved=approval.status is ApprovalStatus.APPROVED,
            status=approval.status,
            by=approval.decided_by or "policy",
            at=approval.decided_at or approval.created_at,
            reason=approval.reason,
        )

    def _finish(self, run_id: str, values: Mapping[str, Any]) -> None:
        status = RunStatus(values.get("outcome") or "failed")
        failure = values.get("failure") or {}
        outcome = {k: v for k, v in values.items() if k not in ("input", "outcome", "failure")}
        error = None
        if failure and status in (RunStatus.FAILED, RunStatus.COMPENSATED):
            error = f"{failure.get('step')} failed: {failure.get('message')}"
        self.store.finish_run(run_id, status, outcome, error=error)


def _behalf(on_behalf_of: str | None) -> dict[str, str]:
    return {"on_behalf_of": on_behalf_of} if on_behalf_of else {}
