"""Everything the terminal app reads and does, over a Runtime, synchronously.

The app calls a Desk only from worker threads, never on its event loop. Embedded (`keel up`),
the Desk drives the runtime directly; attached to a running server (`keel tui` beside
`keel serve`), decisions and cancels go through the server's inbox and runs it starts are
left queued for the server to drive. Either way the same policy checks apply and the same
graph errors come back (NotAuthorised, SelfApproval, AlreadyDecided, ReasonRequired, …).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol

from graph import (
    AlreadyDecided,
    Approval,
    ChatLine,
    Event,
    InvalidInput,
    KeelError,
    Link,
    Metrics,
    Run,
    RunDetail,
    RunPage,
    RunStatus,
    Runtime,
    SortKey,
    UnknownApproval,
)
from graph.assistant import Assistant, TurnResult

Verdict = Literal["approve", "reject"]


class NotConfigured(KeelError):
    """A part of Keel this process was started without (memory, schedules)."""


@dataclass(frozen=True)
class JobInfo:
    """A scheduled job as the Schedules screen shows it."""

    id: str
    name: str
    trigger: str
    """When it runs, as text (e.g. "interval[0:00:15]", "cron[hour='9', minute='0']")."""
    next_run: datetime | None
    last_run: datetime | None
    last_result: str | None


class Schedules(Protocol):
    """The recurring jobs of the process that runs them (APScheduler, in app/)."""

    def jobs(self) -> Sequence[JobInfo]: ...

    def run_now(self, job_id: str) -> None: ...


@dataclass(frozen=True)
class Hit:
    """One memory search result."""

    text: str
    score: float
    kind: str = "note"
    source: str | None = None
    at: datetime | None = None
    subject: str | None = None
    found_by: list[str] = field(default_factory=list)
    """"meaning" (the vector index), "words" (the full-text index), or both."""


class Memory(Protocol):
    """Long-term memory search (memory/); the app runs without it when not given."""

    def search(self, query: str, limit: int) -> list[Hit]: ...


@dataclass(frozen=True)
class RunView:
    """A run as the detail screen shows it."""

    detail: RunDetail
    events: list[Event]
    provenance: list[Link]
    slack_url: str | None
    decidable: bool
    """The viewer may decide its pending approval now."""
    now: datetime

    @property
    def run(self) -> Run:
        return self.detail.run

    @property
    def chain_intact(self) -> bool:
        return all(link.intact for link in self.provenance)


class Desk:
    """The terminal app's one door to Keel, for one person (`user`)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        user: str,
        assistant: Assistant,
        attached: bool = False,
        schedules: Schedules | None = None,
        slack_link: Callable[[str], str | None] | None = None,
        memory: Memory | None = None,
        window: timedelta = timedelta(hours=24),
        metrics_every: float = 2.0,
        inbox_wait: float = 10.0,
    ) -> None:
        self.runtime = runtime
        self.user = user
        self.assistant = assistant
        self.attached = attached
        """Another process (`keel serve`) drives runs; commands go through its inbox."""
        self.schedules = schedules
        self.slack_link = slack_link
        self.memory = memory
        self.window = window
        """How far back the header's metrics look."""
        self.metrics_every = metrics_every
        """Seconds between metric recomputations while the log keeps changing."""
        self.inbox_wait = inbox_wait
        """Attached: how long to wait for the server's answer (the command stays queued)."""
        self.reader = runtime.views()
        self._metrics: tuple[tuple[int, str], float, Metrics] | None = None
        self._metrics_lock = threading.Lock()

    def close(self) -> None:
        self.reader.close()

    @property
    def conversation(self) -> str:
        """The user's own conversation: the same thread after a restart (it is checkpointed)."""
        return f"conv_tui_{self.user}"

    @property
    def offline(self) -> bool:
        """No model key is configured: the deterministic offline model answers."""
        router = self.assistant.router
        return router.strong is None and router.cheap is None

    def now(self) -> datetime:
        return self.runtime.clock.now()

    # --- reading --------------------------------------------------------------------------

    def runs(
        self,
        *,
        status: Sequence[RunStatus] = (),
        workflow: str | None = None,
        text: str | None = None,
        sort: SortKey = "created",
        descending: bool = True,
        offset: int = 0,
        limit: int = 100,
    ) -> RunPage:
        """One page of runs matching the filter (text matches id, workflow, status, step,
        requester and input), sorted; `total` counts every match."""
        page = self.reader.runs(
            status=status,
            workflow=workflow,
            text=text,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        )
        if not any(row.waiting_on for row in page.rows):
            return page
        mine = {a.run_id for a in self.runtime.pending_approvals(self.user)}
        return replace(
            page, rows=[replace(row, mine=True) if row.id in mine else row for row in page.rows]
        )

    def run(self, run_id: str) -> RunView:
        detail = self.runtime.get(run_id)
        pending = detail.pending
        decidable = pending is not None and any(
            a.id == pending.id for a in self.runtime.pending_approvals(self.user)
        )
        return RunView(
            detail,
            self.runtime.events(run_id, limit=10_000),
            self.reader.provenance(run_id),
            self.slack_link(run_id) if self.slack_link else None,
            decidable,
            self.now(),
        )

    def status(self, run_id: str) -> RunStatus:
        return self.runtime.get(run_id).run.status

    def metrics(self) -> Metrics:
        """The header's metrics; recomputed when the log changed, at most every
        `metrics_every` seconds (and when the hour or window moves)."""
        now = self.now()
        token = (self.reader.last_event_id(), now.strftime("%Y-%m-%dT%H:%M"))
        with self._metrics_lock:
            cached = self._metrics
            if cached is not None and (
                cached[0] == token or time.monotonic() - cached[1] < self.metrics_every
            ):
                return cached[2]
        metrics = self.reader.metrics(now, self.window)
        with self._metrics_lock:
            self._metrics = (token, time.monotonic(), metrics)
        return metrics

    def pending(self, *, everyone: bool = False) -> list[Approval]:
        """Approvals the user may decide now; with `everyone`, every pending approval."""
        return self.runtime.pending_approvals(None if everyone else self.user)

    # --- deciding -------------------------------------------------------------------------

    def authorise(self, approval_id: str) -> Approval:
        """The approval when the user may decide it now; else the refusal (audited). Ask
        before asking the user for a rejection's reason."""
        return self.runtime.authorise(approval_id, self.user)

    def decide(self, approval_id: str, verdict: Verdict, reason: str | None = None) -> Approval:
        """Approve or reject (with a reason). A decision someone else made first comes back
        as AlreadyDecided saying who decided and when."""
        try:
            if self.attached:
                result = self._through_inbox(
                    "decide",
                    {
                        "approval_id": approval_id,
                        "decision": verdict,
                        "actor": self.user,
                        "reason": reason,
                    },
                )
                approval = self.runtime.store.approval(result["approval_id"])
                if approval is None:  # the server decided it, so it exists: a broken store
                    raise UnknownApproval(f"no approval with id {approval_id}")
                return approval
            return self.runtime.decide(approval_id, verdict, self.user, reason)
        except AlreadyDecided as exc:
            raise self._already(approval_id, exc) from None

    def _already(self, approval_id: str, exc: AlreadyDecided) -> AlreadyDecided:
        approval = self.runtime.store.approval(approval_id)
        if approval is None or approval.decided_by is None:
            return exc
        when = approval.decided_at.strftime("%Y-%m-%d %H:%M UTC") if approval.decided_at else ""
        return AlreadyDecided(
            f"already {approval.status} by {approval.decided_by}" + (f" at {when}" if when else ""),
            decided_by=approval.decided_by,
            status=str(approval.status),
            decided_at=approval.decided_at,
            approval_id=approval_id,
        )

    def cancel(self, run_id: str, reason: str | None = None) -> Run:
        """Stop a run at its next step; what it did is undone (compensated)."""
        if self.attached:
            self._through_inbox("cancel", {"run_id": run_id, "actor": self.user, "reason": reason})
            return self.runtime.get(run_id).run
        return self.runtime.cancel(run_id, self.user, reason)

    def start_refund(self, order_id: int | str, reason: str, amount: str | None = None) -> Run:
        """Start a refund as the user (over the policy's threshold it waits for approval)."""
        try:
            order = int(str(order_id).strip().lstrip("#"))
        except ValueError:
            raise InvalidInput(
                f"order_id: {order_id!r} is not an order number", field="order_id"
            ) from None
        data: dict[str, Any] = {"order_id": order, "reason": reason}
        if amount is not None and amount.strip():
            try:
                data["amount"] = str(Decimal(amount.strip()))
            except InvalidOperation:
                raise InvalidInput(f"amount: {amount!r} is not an amount", field="amount") from None
        return self.runtime.start(
            "refund", data, self.user, origin="tui", execute=not self.attached
        )

    def _through_inbox(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        from graph.inbox import through_inbox

        return through_inbox(self.runtime, kind, payload, self.user, wait=self.inbox_wait)

    # --- the assistant --------------------------------------------------------------------

    def chat(self, text: str, on_text: Callable[[str], None] | None = None) -> TurnResult:
        """One turn of the assistant in the user's own conversation; `on_text` hears the
        reply so far while a hosted model writes it."""
        return self.assistant.turn(
            self.conversation, self.user, text, origin="tui", on_text=on_text
        )

    def chat_history(self, limit: int = 200) -> list[ChatLine]:
        """The conversation so far (its latest `limit` messages), oldest first."""
        return self.reader.conversation(self.conversation, limit)

    # --- schedules and memory -------------------------------------------------------------

    def jobs(self) -> list[JobInfo]:
        if self.schedules is None:
            raise NotConfigured("no scheduler runs in this process")
        return [
            JobInfo(j.id, j.name, j.trigger, j.next_run, j.last_run, j.last_result)
            for j in self.schedules.jobs()
        ]

    def run_job(self, job_id: str) -> None:
        if self.schedules is None:
            raise NotConfigured("no scheduler runs in this process")
        self.schedules.run_now(job_id)

    def search_memory(self, query: str, limit: int = 20) -> list[Hit]:
        if self.memory is None:
            raise NotConfigured("memory is not configured")
        return self.memory.search(query, limit)
