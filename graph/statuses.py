"""The statuses of runs, approvals and effects: plain enums, importable without pydantic."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    COMPENSATED = "compensated"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {
        RunStatus.SUCCEEDED,
        RunStatus.REJECTED,
        RunStatus.COMPENSATED,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
    }
)


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class EffectStatus(StrEnum):
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"
