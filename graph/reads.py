"""Reading runs without driving them: a run's detail, the lists, the event log and what
waits on a person. Needs only the run store and the policy (no LangGraph), so read-only
commands start fast and the Runtime answers its reads through the same code."""

from __future__ import annotations

from dataclasses import dataclass

from .audit import AuditReport
from .authority import Authority
from .clock import Clock
from .errors import UnknownRun
from .records import Approval, Effect, Event, Reconciliation, Run
from .statuses import ApprovalStatus, RunStatus
from .store import Store


@dataclass(frozen=True)
class RunDetail:
    run: Run
    approvals: list[Approval]
    effects: list[Effect]
    reconciliations: list[Reconciliation]

    @property
    def pending(self) -> Approval | None:
        return next((a for a in self.approvals if a.status is ApprovalStatus.PENDING), None)


class Reads:
    def __init__(self, store: Store, authority: Authority, clock: Clock) -> None:
        self.store = store
        self.authority = authority
        self.clock = clock

    def get(self, run_id: str) -> RunDetail:
        run = self.store.run(run_id)
        if run is None:
            raise UnknownRun(f"no run with id {run_id}")
        return RunDetail(
            run,
            self.store.approvals(run_id=run_id),
            self.store.effects(run_id),
            self.store.reconciliations(run_id=run_id),
        )

    def runs(
        self,
        *,
        status: list[RunStatus] | None = None,
        workflow: str | None = None,
        limit: int = 100,
    ) -> list[Run]:
        return self.store.runs(status=status, workflow=workflow, limit=limit)

    def events(
        self, run_id: str | None = None, *, since: int = 0, limit: int = 1000
    ) -> list[Event]:
        return self.store.events(run_id, since=since, limit=limit)

    def pending_approvals(self, actor: str | None = None) -> list[Approval]:
        """What waits on a person: every pending approval, or those `actor` may decide now
        (for themselves or for someone they stand in for), not yet approved by them."""
        pending = self.store.approvals(status=ApprovalStatus.PENDING)
        if actor is None:
            return pending
        now = self.clock.now()
        return [a for a in pending if self.authority.may(a, actor, now)]

    def verify(self) -> AuditReport:
        return self.store.verify()
