"""Every piece of text the terminal app shows, as named templates and small formatters."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from graph import (
    AlreadyDecided,
    Event,
    KeelError,
    NotAuthorised,
    RunStatus,
)

if TYPE_CHECKING:
    from .desk import Hit

TITLE = "Keel"

RUN_STATUS = {
    RunStatus.QUEUED: "… queued",
    RunStatus.RUNNING: "▶ running",
    RunStatus.WAITING: "⏸ waiting",
    RunStatus.SUCCEEDED: "✓ succeeded",
    RunStatus.REJECTED: "✗ rejected",
    RunStatus.COMPENSATED: "↺ compensated",
    RunStatus.FAILED: "! failed",
    RunStatus.CANCELLED: "- cancelled",
}
STATUS_TONE = {
    RunStatus.QUEUED: "muted",
    RunStatus.RUNNING: "accent",
    RunStatus.WAITING: "warning",
    RunStatus.SUCCEEDED: "success",
    RunStatus.REJECTED: "muted",
    RunStatus.COMPENSATED: "warning",
    RunStatus.FAILED: "error",
    RunStatus.CANCELLED: "muted",
}
RISK_TONE = {"low": "success", "medium": "warning", "high": "error"}

NO_RUNS = "No runs yet. Press s to start a refund, or ask in Chat (3)."
NO_MATCH = "No runs match this filter."
FILTER_PLACEHOLDER = "Filter: text, status:waiting, workflow:refund   (/ to focus, esc to leave)"
NOTHING_PENDING = "Nothing is waiting on {user}."
NOTHING_PENDING_ALL = "No approval is pending."
APPROVALS_MINE = "Waiting on {user}"
APPROVALS_ALL = "Every pending approval"
NO_JOBS = "No scheduled jobs."
MEMORY_OFF = "Memory is not configured in this process (it opens KEEL_HOME/memory.db when it is)."
MEMORY_PLACEHOLDER = "Search memory…"
MEMORY_NONE = "Nothing found for “{query}”."
CHAT_PLACEHOLDER = "Ask Keel: “refund order 1042, it arrived broken”, “what is waiting on me?”"
CHAT_OFFLINE = (
    "Offline model: no ANTHROPIC_API_KEY is set, so a deterministic offline model"
    " answers (its replies start with [offline model])."
)
CHAT_THINKING = "Keel is thinking…"
CHAT_WRITING = " ▍"
"""After a reply's text while it is still being written."""
CHAT_EMPTY = "No messages yet. Say what you need; Keel acts through the same doors as the CLI."
REASON_TITLE = "Reject {what}"
REASON_LABEL = "Why are you rejecting this? The requester will see it."
REASON_PLACEHOLDER = "A short reason (at least 3 characters)"
REASON_TOO_SHORT = "Please give a reason of at least 3 characters."
REASON_MIN = 3
CANCEL_TITLE = "Cancel run {run_id}?"
CANCEL_BODY = "It stops at its next step; what it already did is undone."
REFUND_TITLE = "Start a refund"
REFUND_ORDER = "Order number"
REFUND_REASON = "Reason"
REFUND_AMOUNT = "Amount (empty: all that is still refundable)"
REFUND_NEEDS = "An order number and a reason are needed."
ATTACHED_NOTE = "attached to a running server"
EMBEDDED_NOTE = "embedded"
NOT_DECIDABLE = "This run is not waiting on an approval."
NO_SELECTION = "Select an approval first."
NO_RUN_SELECTED = "Select a run first."
NO_SLACK = "This run has no Slack thread."
NO_SCHEDULER = (
    "No scheduler runs in this process: start Keel with `keel up` or `keel serve`"
    " to run scheduled jobs."
)
NO_JOB_SELECTED = "Select a job first."
NOTHING_TO_DECIDE_HERE = "Open Approvals (2) or a run first."
NOT_YOURS = "Not yours to decide as {user} (a or r tells you why)."
ALREADY_ENDED = "{run_id} already ended {status}."
PALETTE = {
    "approve": ("Approve selected", "Approve the approval selected in Approvals or shown in a run"),
    "reject": ("Reject selected", "Reject it, with a reason"),
    "refund": ("Start a refund", "Refund an order (asks for the details)"),
    "theme": ("Toggle dark/light theme", "Switch the colour theme"),
    "refresh": ("Refresh now", "Reload what this screen shows"),
    "help": ("Help", "Keys and screens"),
    "quit": ("Quit", "Leave Keel's terminal app"),
}
SCREEN_TITLES = {
    "runs": "Runs",
    "approvals": "Approvals",
    "chat": "Chat",
    "schedules": "Schedules",
    "memory": "Memory",
}
CHAIN_OK = "✓ every link of this run in the event log's hash chain checks out"
CHAIN_BROKEN = "✗ the hash chain is broken at event {event_id}: {problem}"

HELP = """\
# Keel — terminal

Keel runs business processes as durable state machines and asks people before risky steps.

## Everywhere
| Key | Does |
|---|---|
| `1` … `5` | Runs · Approvals · Chat · Schedules · Memory |
| `ctrl+p` | Command palette: every action by name |
| `s` | Start a refund |
| `t` | Switch between the dark and the light theme |
| `?` | This help |
| `esc` | Back, or leave a text box |
| `q` | Quit |

## Runs
`enter` opens a run · `/` filters (text, `status:waiting`, `workflow:refund`) ·
`o` sorts by the next column, `O` reverses · click a column header to sort by it ·
`[` and `]` page through.

## A run
`a` approve · `r` reject (asks why) · `x` cancel the run · `l` opens its Slack thread ·
`[` and `]` switch tabs: timeline (durations, costs), effects (idempotency keys, undo),
reconciliation items, provenance (the hash chain, checked), state.

## Approvals
`a` approve · `r` reject (asks why) · `enter` opens the run · `m` waiting on me / everything.

## Schedules
`n` runs the selected job now.
"""


def money(amount: Decimal | float | str | None, currency: str = "USD") -> str:
    if amount is None or amount == "":
        return "-"
    return f"{Decimal(str(amount)):.2f} {currency}"


def cost(usd: float | None) -> str:
    if not usd:
        return "-"
    return f"${usd:.4f}" if usd < 100 else f"${usd:,.2f}"


def age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600}h"


def duration(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s" if ms < 60_000 else str(timedelta(seconds=round(ms / 1000)))


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.0f}s"
    if value < 3600:
        return f"{value / 60:.1f}m"
    return f"{value / 3600:.1f}h"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def clock(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S") if moment else "-"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def run_status(status: RunStatus) -> str:
    return RUN_STATUS.get(status, f"? {status}")


def workflow_title(workflow: str) -> str:
    return workflow.replace("_", " ").capitalize()


def waiting_on(who: str | None, level: int, mine: bool = False) -> str:
    if not who:
        return "-"
    shown = f"⚠ L{level} {who}" if level else who
    return f"you · {shown}" if mine else shown


def until(moment: datetime | None, now: datetime) -> str:
    """A deadline from now: "in 3h58m", or "12m late" once passed."""
    if moment is None:
        return "-"
    return f"in {age(now, moment)}" if moment > now else f"{age(moment, now)} late"


def page_line(offset: int, shown: int, total: int) -> str:
    if not total:
        return "0 runs"
    return f"runs {offset + 1:,}–{offset + shown:,} of {total:,}"


def sort_line(column: str, descending: bool) -> str:
    return f"sorted by {column} {'↓' if descending else '↑'}"


def decided(verdict: str, approval_id: str, run_status_now: str) -> str:
    word = "Approved" if verdict == "approve" else "Rejected"
    return f"{word} {approval_id}; the run is {run_status_now}"


def started(run_id: str, status: str, attached: bool) -> str:
    tail = " (queued for the server)" if attached else ""
    return f"Started {run_id}: {status}{tail}"


def cancelled(run_id: str, status: str) -> str:
    return (
        f"{run_id} {status}"
        if RunStatus(status).terminal
        else (f"{run_id}: cancel requested; it stops at its next step")
    )


def job_started(name: str) -> str:
    return f"Running “{name}” now"


def explain(exc: BaseException, doing: str | None = None) -> str:
    """One line saying why something did not happen."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, AlreadyDecided):
        return message[:1].upper() + message[1:]
    if isinstance(exc, NotAuthorised):
        return f"Not authorised: {message}"
    if isinstance(exc, KeelError):
        return message[:1].upper() + message[1:]
    prefix = f"{doing} failed" if doing else "Something failed"
    return f"{prefix}: {type(exc).__name__}: {message}"[:300]


def event_note(event: Event) -> str:
    """What an event says, in a few words, for the timeline."""
    d: dict[str, Any] = event.data
    match event.kind:
        case "run.started":
            return f"via {d.get('origin', '?')}"
        case "approval.requested":
            return f"{d.get('what')} — may decide: {', '.join(d.get('approver_roles') or [])}"
        case "approval.decided":
            reason = f" — {d['reason']}" if d.get("reason") else ""
            behalf = f" for {d['on_behalf_of']}" if d.get("on_behalf_of") else ""
            return f"{d.get('decision')} by {event.actor}{behalf}{reason}"
        case "approval.refused":
            return f"refused {event.actor}: {d.get('reason')}"
        case "approval.voted":
            return f"{d.get('by')} approved ({d.get('votes')} of {d.get('quorum')})"
        case "approval.escalated":
            return (
                f"to {d.get('role')} (level {d.get('level')}): {', '.join(d.get('notify') or [])}"
            )
        case "approval.expired":
            return f"no decision in time → {d.get('outcome')}"
        case "effect.performed" | "effect.replayed" | "effect.retried":
            return f"{d.get('kind')}  key {d.get('key')}"
        case "effect.failed":
            return f"{d.get('kind')}: {d.get('error')}"
        case "compensation.performed":
            return f"undid {d.get('name') or d.get('effect')}"
        case "compensation.failed":
            return f"could not undo {d.get('effect')}: {d.get('error')}"
        case "escalation.raised":
            return f"to {d.get('to') or 'on call'}: {d.get('reason')}"
        case "model.called":
            return f"{d.get('model')} {d.get('total_tokens', 0)} tokens"
    for key in ("status", "decision", "operation", "error", "reason", "summary", "kind"):
        if d.get(key):
            return f"{key}: {d[key]}"
    return ""


def memory_found(count: int, query: str) -> str:
    return f"{count} found for “{query}”, best first"


def memory_hit(hit: Hit) -> str:
    """`[outcome · customer:ada@… · 2026-03-02 · words+meaning] text`"""
    parts = [hit.kind]
    if hit.subject:
        parts.append(hit.subject)
    if hit.at:
        parts.append(f"{hit.at:%Y-%m-%d}")
    if hit.found_by:
        parts.append("+".join(hit.found_by))
    return f"[{' · '.join(parts)}]  {' '.join(hit.text.split())}"
