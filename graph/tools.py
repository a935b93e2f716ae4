"""What the assistant may do, as typed tools over the Runtime: the same doors, the same policy.

A tool never moves money itself: starting a workflow goes through the workflow's input
model and policy (so an approval policy requires is always asked for), and deciding an
approval needs the asker's own explicit words naming it, on top of the usual
authorisation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from connectors import ConnectorError
from connectors.llm import ToolSpec, tool_spec

from .errors import KeelError
from .metrics import summarise
from .records import Approval, Run
from .runtime import Runtime


class StartWorkflow(BaseModel):
    workflow: str = Field(description="The workflow's name, e.g. 'refund'.")
    input: dict[str, Any] = Field(
        description="The workflow's input, e.g. {order_id, reason, amount?}."
    )


class ShowRun(BaseModel):
    run_id: str


class ListPending(BaseModel):
    pass


class Decide(BaseModel):
    approval_id: str
    decision: Literal["approve", "reject"]
    reason: str | None = None


class SummariseMetrics(BaseModel):
    period: Literal["today", "yesterday", "last week", "last 30 days", "all"] = "last week"


class SearchMemory(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=2000,
        description="What to look for: words, an order id, a SKU, a name.",
    )
    subject: str | None = Field(
        default=None,
        description=("Only memories about this subject, e.g. 'customer:ada@example.com'."),
    )
    limit: int = Field(default=5, ge=1, le=20)


class ToolError(Exception):
    """Told to the model as an is_error tool result; the conversation goes on."""


_PERIODS = {
    "today": timedelta(days=1),
    "yesterday": timedelta(days=2),
    "last week": timedelta(days=7),
    "last 30 days": timedelta(days=30),
}


def _run_view(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "workflow": run.workflow,
        "status": str(run.status),
        "step": run.step,
        "input": run.input,
        "error": run.error,
        "cost_usd": round(run.cost_usd, 6),
    }


def _approval_view(a: Approval) -> dict[str, Any]:
    return {
        "approval_id": a.id,
        "run_id": a.run_id,
        "what": a.request.what,
        "why": a.request.why,
        "amount": str(a.request.amount) if a.request.amount is not None else None,
        "requested_by": a.requested_by,
        "status": str(a.status),
        "deadline": a.deadline.isoformat() if a.deadline else None,
    }


SPECS: list[ToolSpec] = [
    tool_spec(
        "start_workflow",
        "Start a business process (e.g. a refund). Policy decides"
        " whether it needs a person's approval.",
        StartWorkflow,
    ),
    tool_spec("show_run", "Show a run's status, step, input and cost.", ShowRun),
    tool_spec("list_pending", "List the approvals waiting on the person asking.", ListPending),
    tool_spec(
        "decide",
        "Approve or reject an approval, only when the person asking has"
        " explicitly said so for that approval id.",
        Decide,
    ),
    tool_spec(
        "summarise_metrics", "Runs, success rate, cost and latency over a period.", SummariseMetrics
    ),
    tool_spec(
        "search_memory",
        "Search long-term memory: past outcomes, customers' history,"
        " earlier conversations (summarised).",
        SearchMemory,
    ),
]


class Tools:
    """The assistant's tools for one asker in one conversation."""

    def __init__(
        self, runtime: Runtime, asker: str, origin: str, said: str, *, execute: bool = True
    ) -> None:
        self.runtime = runtime
        self.execute = execute
        self.asker = asker
        self.origin = origin
        self.said = said
        """The asker's own latest message: the only licence for a decision."""
        self._handlers: dict[str, tuple[type[BaseModel], Callable[[Any], dict[str, Any]]]] = {
            "start_workflow": (StartWorkflow, self.start_workflow),
            "show_run": (ShowRun, self.show_run),
            "list_pending": (ListPending, self.list_pending),
            "decide": (Decide, self.decide),
            "summarise_metrics": (SummariseMetrics, self.summarise_metrics),
            "search_memory": (SearchMemory, self.search_memory),
        }

    def call(self, name: str, arguments: Any) -> tuple[str, bool]:
        """Run a tool; (JSON result or error text, is_error). Never raises for bad calls."""
        if name not in self._handlers:
            return f"unknown tool {name!r}; tools: {', '.join(self._handlers)}", True
        model, handler = self._handlers[name]
        try:
            args = model.model_validate(arguments if isinstance(arguments, dict) else {})
            if not isinstance(arguments, dict):
                raise ToolError(f"arguments to {name} must be an object")
            return json.dumps(handler(args), default=str), False
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or name
            return f"invalid arguments to {name}: {where}: {err['msg']}", True
        except (ToolError, KeelError, ConnectorError) as exc:
            return str(exc), True

    def start_workflow(self, args: StartWorkflow) -> dict[str, Any]:
        run = self.runtime.start(
            args.workflow,
            args.input,
            requested_by=self.asker,
            origin=self.origin,
            execute=self.execute,
        )
        return self.show_run(ShowRun(run_id=run.id))

    def show_run(self, args: ShowRun) -> dict[str, Any]:
        detail = self.runtime.get(args.run_id)
        view = _run_view(detail.run)
        if detail.pending:
            view["waiting_for_approval"] = _approval_view(detail.pending)
        return view

    def list_pending(self, _args: ListPending) -> dict[str, Any]:
        waiting = self.runtime.pending_approvals(self.asker)
        return {"asker": self.asker, "pending": [_approval_view(a) for a in waiting]}

    def decide(self, args: Decide) -> dict[str, Any]:
        verb = r"approv" if args.decision == "approve" else r"reject|declin|deny"
        if args.approval_id not in self.said or not re.search(verb, self.said, re.IGNORECASE):
            raise ToolError(
                f"not decided: {self.asker} has not said to {args.decision}"
                f" {args.approval_id} in their own words; ask them to"
            )
        approval = self.runtime.decide(
            args.approval_id, args.decision, self.asker, args.reason, execute=self.execute
        )
        run = self.runtime.get(approval.run_id).run
        return {"approval": _approval_view(approval), "run": _run_view(run)}

    def summarise_metrics(self, args: SummariseMetrics) -> dict[str, Any]:
        since = None if args.period == "all" else self.runtime.clock.now() - _PERIODS[args.period]
        return {"period": args.period, **summarise(self.runtime.runs(limit=100_000), since)}

    def search_memory(self, args: SearchMemory) -> dict[str, Any]:
        memory = self.runtime.memory
        if memory is None:
            raise ToolError("long-term memory is not configured here")
        hits = memory.recall(args.query, subject=args.subject, k=args.limit)
        # Asked about an identifier (an order id, a SKU) that memory names: those memories,
        # not the lookalikes found beside them by meaning.
        exact = [h for h in hits if h.key_rank is not None]
        shown = exact or hits
        found: dict[str, Any] = {
            "query": args.query,
            "hits": [
                {
                    "subject": h.item.subject,
                    "kind": h.item.kind,
                    "text": h.item.text[:1000],
                    "at": h.item.created.isoformat(timespec="seconds"),
                    "source": h.item.source,
                }
                for h in shown
            ],
        }
        if len(shown) < len(hits):
            found["not_shown"] = (
                f"{len(hits) - len(shown)} other memories found by meaning"
                " do not name what was asked about"
            )
        return found
