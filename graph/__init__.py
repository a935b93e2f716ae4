"""The orchestrator: the Runtime façade, the run store and event log, policy, workflows."""

from .audit import AuditReport
from .clock import Clock, ManualClock, SystemClock
from .errors import (
    AlreadyDecided,
    AlreadyInProgress,
    AlreadyVoted,
    Cancelled,
    DecisionRefused,
    EffectFailed,
    InvalidInput,
    KeelError,
    NotAuthorised,
    NotFound,
    OutcomeUnknown,
    PolicyError,
    ReasonRequired,
    RunStateError,
    SelfApproval,
    StepFailed,
    UnknownApproval,
    UnknownRun,
    UnknownWorkflow,
)
from .policy import Delegation, Policy, load_policy, parse_policy
from .records import (
    TERMINAL,
    Approval,
    ApprovalRequest,
    ApprovalStatus,
    Decision,
    Effect,
    EffectStatus,
    Event,
    InboxItem,
    Reconciliation,
    Run,
    RunStatus,
    Vote,
)
from .runtime import RunDetail, Runtime
from .services import Services
from .store import Store
from .worker import Worker
from .workflows import REGISTRY

__all__ = [
    "REGISTRY", "TERMINAL", "AlreadyDecided", "AlreadyInProgress", "AlreadyVoted", "Approval", "ApprovalRequest",
    "ApprovalStatus", "AuditReport", "Cancelled", "Clock", "Decision", "DecisionRefused",
    "Delegation", "Effect", "EffectFailed", "EffectStatus", "Event", "InboxItem", "InvalidInput",
    "KeelError", "ManualClock", "NotAuthorised", "NotFound", "OutcomeUnknown", "Policy",
    "PolicyError", "ReasonRequired", "Reconciliation", "Run", "RunDetail", "RunStateError",
    "RunStatus", "Runtime", "SelfApproval", "Services", "StepFailed", "Store", "SystemClock",
    "UnknownApproval", "UnknownRun", "UnknownWorkflow", "Vote", "Worker", "load_policy",
    "parse_policy",
]
