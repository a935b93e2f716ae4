"""Every piece of text the Slack bot shows people, as named templates in one place."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from graph import ApprovalStatus, RunStatus

RUN_STATUS = {
    RunStatus.QUEUED: "⏳ queued",
    RunStatus.RUNNING: "▶️ running",
    RunStatus.WAITING: "⏸️ waiting for approval",
    RunStatus.SUCCEEDED: "✅ succeeded",
    RunStatus.REJECTED: "❌ rejected",
    RunStatus.COMPENSATED: "↩️ compensated",
    RunStatus.FAILED: "🔥 failed",
    RunStatus.CANCELLED: "🚫 cancelled",
}

APPROVAL_STATUS = {
    ApprovalStatus.PENDING: "⏸️ pending",
    ApprovalStatus.APPROVED: "✅ Approved",
    ApprovalStatus.REJECTED: "❌ Rejected",
    ApprovalStatus.EXPIRED: "⌛ Expired",
    ApprovalStatus.CANCELLED: "🚫 Cancelled",
}

RISK = {"low": "🟢 low", "medium": "🟡 medium", "high": "🔴 high"}

APPROVE_BUTTON = "Approve"
REJECT_BUTTON = "Reject"
REJECT_MODAL_TITLE = "Reject"
REJECT_MODAL_SUBMIT = "Reject"
REJECT_MODAL_CLOSE = "Cancel"
REJECT_REASON_LABEL = "Why are you rejecting this?"
REJECT_REASON_PLACEHOLDER = "A short reason the requester will see"
REASON_TOO_SHORT = "Please give a reason of at least 3 characters."

HOME_PENDING = "Waiting on a decision"
HOME_NO_PENDING = "Nothing is waiting for approval. 🎉"
HOME_RECENT = "Recent runs"
HOME_NO_RECENT = "No runs yet. Start one with `/keel start`."
HOME_METRICS = "Metrics"

HELP = (
    "*Keel* runs business processes and asks people before risky steps.\n"
    "• `/keel start` — start a run (e.g. a refund)\n"
    "• `/keel status RUN` — show where run RUN is\n"
    "• `/keel pending` — list approvals waiting on you\n"
    "• `/keel help` — show this help"
)

TRUNCATED = "…"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def money(amount: Decimal | float | str | None, currency: str = "USD") -> str:
    if amount is None or amount == "":
        return "-"
    return f"{Decimal(str(amount)):.2f} {currency}"


def cost(usd: float) -> str:
    return f"${usd:.4f}"


def run_status(status: RunStatus) -> str:
    return RUN_STATUS.get(status, f"❔ {status}")


def approval_status(status: ApprovalStatus) -> str:
    return APPROVAL_STATUS.get(status, f"❔ {status}")


def risk(level: str) -> str:
    return RISK.get(level, level)


def workflow_title(workflow: str) -> str:
    return workflow.replace("_", " ").capitalize()


def run_heading(workflow: str, run_id: str) -> str:
    return f"{workflow_title(workflow)} · {run_id}"


def run_fallback(workflow: str, run_id: str, status: RunStatus) -> str:
    return f"{workflow_title(workflow)} run {run_id}: {run_status(status)}"


def approval_fallback(what: str) -> str:
    return f"Approval needed: {what}"


def approval_heading(what: str) -> str:
    return f"⏸️ Approval needed: {what}"


def decided_line(status: ApprovalStatus, by: str, at: datetime | None,
                 reason: str | None = None) -> str:
    line = f"{approval_status(status)} by {by} at {when(at)}"
    return f"{line} — {reason}" if reason else line


def decided_fallback(status: ApprovalStatus, what: str, by: str) -> str:
    return f"{approval_status(status)} by {by}: {what}"


def may_approve(roles: list[str]) -> str:
    return ", ".join(roles) if roles else "anyone allowed by policy"


def refused(why: str) -> str:
    return f"You may not approve this: {why}"


def already_decided(status: ApprovalStatus | str, by: str, at: datetime | None) -> str:
    word = "approved" if str(status) == ApprovalStatus.APPROVED else str(status)
    return f"Already {word} by {by} at {when(at)}"


def unknown_command(text: str) -> str:
    return f"I don't know `{text}`.\n{HELP}"


def escalation_fallback(what: str, level: int) -> str:
    return f"Escalated (level {level}): {what} is waiting for a decision"


def escalation_text(what: str, level: int, role: str, deadline: datetime | None) -> str:
    return (f"⏰ *Escalation, level {level}* — you are asked as *{role}*.\n"
            f"{what} has waited past its deadline ({when(deadline)}) for a decision.")


# One line per meaningful step event, keyed by the event's kind.
STEP_FINISHED = "✔️ Step *{step}* finished{took}"
STEP_FAILED = "⚠️ Step *{step}* failed: {error}"
EFFECT_PERFORMED = "⚙️ Done: *{kind}*{step}"
EFFECT_FAILED = "⚠️ Could not do *{kind}*: {error}"
COMPENSATION_PERFORMED = "↩️ Undid {effect}{name}"
COMPENSATION_FAILED = "🔥 Could not undo {effect}: {error}"
ESCALATION_RAISED = "🚨 Escalated to {to}: {reason}"
RUN_FINISHED = "🏁 Run finished: {status}"
