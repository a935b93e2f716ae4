"""The orchestrator: the Runtime façade, the run store and event log, policy, workflows.

Every name is imported on first use: a read-only command that needs the statuses, the
store and policy never loads LangGraph or the connectors that `Runtime` drives runs with.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audit import AuditReport
    from .authority import Authority
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
        UnknownPerson,
        UnknownRun,
        UnknownWorkflow,
    )
    from .policy import Delegation, Policy, load_policy, parse_policy
    from .reads import Reads, RunDetail
    from .records import (
        Approval,
        ApprovalRequest,
        Decision,
        Effect,
        Event,
        InboxItem,
        Reconciliation,
        Run,
        Vote,
    )
    from .runtime import Runtime
    from .services import Services
    from .statuses import TERMINAL, ApprovalStatus, EffectStatus, RunStatus
    from .store import RUN_STORE, Store
    from .views import SORT_KEYS, ChatLine, Link, Metrics, RunPage, RunRow, SortKey, Views
    from .worker import Worker
    from .workflows import REGISTRY

_HOME = {
    name: module
    for module, names in {
        ".audit": ["AuditReport"],
        ".authority": ["Authority"],
        ".clock": ["Clock", "ManualClock", "SystemClock"],
        ".errors": [
            "AlreadyDecided",
            "AlreadyInProgress",
            "AlreadyVoted",
            "Cancelled",
            "DecisionRefused",
            "EffectFailed",
            "InvalidInput",
            "KeelError",
            "NotAuthorised",
            "NotFound",
            "OutcomeUnknown",
            "PolicyError",
            "ReasonRequired",
            "RunStateError",
            "SelfApproval",
            "StepFailed",
            "UnknownApproval",
            "UnknownPerson",
            "UnknownRun",
            "UnknownWorkflow",
        ],
        ".policy": ["Delegation", "Policy", "load_policy", "parse_policy"],
        ".reads": ["Reads", "RunDetail"],
        ".records": [
            "Approval",
            "ApprovalRequest",
            "Decision",
            "Effect",
            "Event",
            "InboxItem",
            "Reconciliation",
            "Run",
            "Vote",
        ],
        ".runtime": ["Runtime"],
        ".services": ["Services"],
        ".statuses": ["ApprovalStatus", "EffectStatus", "RunStatus", "TERMINAL"],
        ".store": ["RUN_STORE", "Store"],
        ".views": [
            "SORT_KEYS",
            "ChatLine",
            "Link",
            "Metrics",
            "RunPage",
            "RunRow",
            "SortKey",
            "Views",
        ],
        ".worker": ["Worker"],
        ".workflows": ["REGISTRY"],
    }.items()
    for name in names
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOME[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "REGISTRY",
    "RUN_STORE",
    "SORT_KEYS",
    "TERMINAL",
    "AlreadyDecided",
    "AlreadyInProgress",
    "AlreadyVoted",
    "Approval",
    "ApprovalRequest",
    "ApprovalStatus",
    "AuditReport",
    "Authority",
    "Cancelled",
    "ChatLine",
    "Clock",
    "Decision",
    "DecisionRefused",
    "Delegation",
    "Effect",
    "EffectFailed",
    "EffectStatus",
    "Event",
    "InboxItem",
    "InvalidInput",
    "KeelError",
    "Link",
    "ManualClock",
    "Metrics",
    "NotAuthorised",
    "NotFound",
    "OutcomeUnknown",
    "Policy",
    "PolicyError",
    "Reads",
    "ReasonRequired",
    "Reconciliation",
    "Run",
    "RunDetail",
    "RunPage",
    "RunRow",
    "RunStateError",
    "RunStatus",
    "Runtime",
    "SelfApproval",
    "Services",
    "SortKey",
    "StepFailed",
    "Store",
    "SystemClock",
    "UnknownApproval",
    "UnknownPerson",
    "UnknownRun",
    "UnknownWorkflow",
    "Views",
    "Vote",
    "Worker",
    "load_policy",
    "parse_policy",
]
