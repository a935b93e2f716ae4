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

APPROVAL_STATUS: dict[str, str] = {  # by status or its text (StrEnum keys equal their text)
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
FORM_BROKEN = "This form could not be read; please click Reject again."

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


def duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def cost(usd: float) -> str:
    return f"${usd:.4f}"


def run_status(status: RunStatus) -> str:
    return RUN_STATUS.get(status, f"❔ {status}")


def approval_status(status: ApprovalStatus | str) -> str:
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


def decided_line(
    status: ApprovalStatus | str, by: str, at: datetime | None, reason: str | None = None
) -> str:
    line = f"{approval_status(status)} by {by} at {when(at)}"
    return f"{line} — {reason}" if reason else line


def decided_fallback(status: ApprovalStatus, what: str, by: str) -> str:
    return f"{approval_status(status)} by {by}: {what}"


def may_approve(roles: list[str]) -> str:
    return ", ".join(roles) if roles else "anyone allowed by policy"


def votes(count: int, quorum: int, by: list[str]) -> str:
    return f"{count} of {quorum}" + (f": {', '.join(by)}" if by else "")


def standing_in(away: str, delegate: str, until: datetime) -> str:
    return f"🔁 {away} is away; {delegate} decides for them until {when(until)}"


def refused(why: str) -> str:
    return f"You may not approve this: {why}"


def already_decided(status: ApprovalStatus | str, by: str, at: datetime | None) -> str:
    word = "approved" if str(status) == ApprovalStatus.APPROVED else str(status)
    return f"Already {word} by {by} at {when(at)}"


def pending_summary(count: int) -> str:
    if not count:
        return "Nothing is waiting on you. 🎉"
    return f"{count} approval{'s' if count != 1 else ''} waiting on you" + (
        " (the first 10 below)" if count > 10 else ""
    )


def start_refused(why: str) -> str:
    return f"Not started: {why}"


def home_metrics(summary: dict[str, object]) -> dict[str, str]:
    """Today's numbers for the App Home, from `graph.metrics.summarise`."""
    rate = summary.get("success_rate")
    p95 = summary.get("p95_seconds")
    by_status = summary.get("by_status") or {}
    return {
        "Runs today": str(summary.get("runs", 0)),
        "Success rate": f"{float(rate):.0%}" if isinstance(rate, int | float) else "-",
        "Waiting for approval": str(by_status.get("waiting", 0))
        if isinstance(by_status, dict)
        else "0",
        "Cost today": cost(float(summary.get("cost_usd") or 0)),  # type: ignore[arg-type]
        "p95 time to finish": f"{float(p95):.1f}s" if isinstance(p95, int | float) else "-",
    }


def unknown_command(text: str) -> str:
    return f"I don't know `{text}`.\n{HELP}"


def escalation_fallback(what: str, level: int) -> str:
    return f"Escalated (level {level}): {what} is waiting for a decision"


def escalation_text(what: str, level: int, role: str, deadline: datetime | None) -> str:
    return (
        f"⏰ *Escalation, level {level}* — you are asked as *{role}*.\n"
        f"{what} has waited past its deadline ({when(deadline)}) for a decision."
    )


def people(mentions: list[str]) -> str:
    return ", ".join(mentions) if mentions else "no one (nobody in policy can be reached)"


def reminder_text(what: str, deadline: datetime | None) -> str:
    return f"⏳ *Reminder* — {what} needs a decision before {when(deadline)}."


def failure_text(workflow: str, run_id: str, reason: str, where: str | None) -> str:
    thread = f"\nIts thread is in {where}." if where else ""
    return f"🚨 *{workflow} run `{run_id}` needs you* (on call).\n{reason}{thread}"


def failure_fallback(run_id: str) -> str:
    return f"Run {run_id} needs the on-call person"


def reminder_fallback(what: str) -> str:
    return f"Reminder: {what} is waiting for a decision"


def requested_by(who: str) -> str:
    return f"Requested by {who}"


def started(run_id: str, where: str | None) -> str:
    return f"Started run `{run_id}`" + (f"; follow it in <#{where}>." if where else ".")


# One line per meaningful step event, keyed by the event's kind.
STEP_FINISHED = "✔️ Step *{step}* finished{took}"
STEP_FAILED = "⚠️ Step *{step}* failed: {error}"
EFFECT_PERFORMED = "⚙️ Done: *{kind}*{step}"
EFFECT_FAILED = "⚠️ Could not do *{kind}*: {error}"
COMPENSATION_PERFORMED = "↩️ Undid {effect}{name}"
COMPENSATION_FAILED = "🔥 Could not undo {effect}: {error}"
ESCALATION_RAISED = "🚨 Escalated to {to}: {reason}"
RUN_FINISHED = "🏁 Run finished: {status}"
VOTED = "👍 {by} approved ({votes} of {quorum} needed)"
ESCALATED = "⏰ Escalated to {role} (level {level}); asked: {who}"
REMINDED = "⏳ Reminder sent to {who}; deadline {deadline}"
EXPIRED_REASON = "no decision before the deadline"

THINKING = "💭 Thinking…"
WRITING = " ▍"
"""After an answer's text while it is still being written."""
EMPTY_REPLY = "(no answer)"
OFFLINE_NOTE = (
    "Offline model: no ANTHROPIC_API_KEY is set, so a deterministic offline model answered."
)
FEEDBACK_UP = "👍 Helpful"
FEEDBACK_DOWN = "👎 Not helpful"
FEEDBACK_THANKS = "Thanks — noted."
ASSISTANT_FAILED = "⚠️ I could not answer that: {error}"
STARTING = "Starting…"
NOT_SLACK_CHANNEL = "No Slack channel is configured for this run's thread."
