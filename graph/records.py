"""Typed records of the run store: runs, events, approvals, effects, reconciliation items."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .statuses import ApprovalStatus, EffectStatus, RunStatus

Risk = Literal["low", "medium", "high"]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Run(Record):
    id: str
    workflow: str
    version: int
    status: RunStatus
    step: str | None
    input: dict[str, Any]
    requested_by: str
    origin: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    outcome: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    cost_usd: float = 0.0
    cancel_requested: bool = False


class Event(Record):
    id: int
    run_id: str | None
    seq: int
    at: datetime
    kind: str
    step: str | None
    actor: str | None
    data: dict[str, Any]
    cost_usd: float
    duration_ms: float | None
    prev_hash: str
    hash: str


class ApprovalRequest(Record):
    """What a step asks a person to decide; surfaces render it as it is."""

    workflow: str
    what: str
    why: str
    amount: Decimal | None = None
    currency: str = "USD"
    risk: Risk = "medium"
    approver_roles: list[str]
    requested_by: str
    weighed: Decimal | None = Field(default=None, exclude_if=lambda v: v is None)
    """The amount policy judges this request by when it is not `amount` itself: a refund
    plus what its order already had refunded, so splitting one refund into several small
    ones never slips under the threshold or an approver's limit."""

    @property
    def policy_amount(self) -> Decimal | None:
        return self.weighed if self.weighed is not None else self.amount


class Vote(Record):
    """One person's approve click toward an approval's quorum."""

    by: str
    at: datetime
    on_behalf_of: str | None = None
    """The person `by` stood in for through a delegation."""


class Approval(Record):
    id: str
    run_id: str
    status: ApprovalStatus
    request: ApprovalRequest
    requested_by: str
    created_at: datetime
    deadline: datetime | None
    escalation_level: int = 0
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    quorum: int = 1
    """How many different people must approve; fixed when the approval was requested."""
    votes: list[Vote] = Field(default_factory=list)
    """Approve clicks so far, oldest first."""


class Decision(Record):
    """The value a paused step resumes with."""

    approval_id: str
    approved: bool
    status: ApprovalStatus
    by: str
    at: datetime
    reason: str | None = None


class Effect(Record):
    key: str
    run_id: str
    task_id: str
    ordinal: int
    kind: str
    status: EffectStatus
    request: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    attempts: int
    compensation: dict[str, Any] | None
    compensation_status: str | None


class Reconciliation(Record):
    id: str
    run_id: str | None
    effect_key: str | None
    kind: str
    summary: str
    detail: dict[str, Any]
    status: Literal["open", "resolved"]
    created_at: datetime


class InboxItem(Record):
    id: int
    kind: str
    payload: dict[str, Any]
    actor: str | None
    created_at: datetime
    status: Literal["pending", "handling", "done", "failed"]
    result: dict[str, Any] | None
    retaken: bool = False
    """Claimed again after a crash left it half-handled."""
