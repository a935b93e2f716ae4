"""The Slack surface: Block Kit rendering of runs and approvals, and the bot's words."""

from . import messages
from .blocks import (
    APPROVE,
    REASON,
    REJECT,
    REJECT_REASON,
    Mention,
    approval_decided,
    approval_fallback,
    approval_id_from,
    approval_request,
    decided_fallback,
    escalation_dm,
    escalation_fallback,
    home_view,
    reason_from,
    reject_reason_modal,
    run_fallback,
    run_root,
    step_reply,
)

__all__ = [
    "APPROVE", "REASON", "REJECT", "REJECT_REASON", "Mention", "approval_decided",
    "approval_fallback", "approval_id_from", "approval_request", "decided_fallback",
    "escalation_dm", "escalation_fallback", "home_view", "messages", "reason_from",
    "reject_reason_modal", "run_fallback", "run_root", "step_reply",
]
