"""What the CLI prints for people: runs, run detail, approvals, the ledger, live events."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graph import Approval, Event, Run, RunDetail
    from memory import MemoryStats, Recalled

STATUS_MARK = {
    "queued": "…",
    "running": "▶",
    "waiting": "⏸",
    "succeeded": "✓",
    "rejected": "✗",
    "compensated": "↺",
    "failed": "!",
    "cancelled": "-",
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, *body]).rstrip()


def run_table(runs: list[Run]) -> str:
    if not runs:
        return "No runs yet. Start one with: keel start refund --order ID --reason TEXT"
    rows = [
        [
            r.id,
            r.workflow,
            f"{STATUS_MARK.get(r.status, '?')} {r.status}",
            r.step or "-",
            _summary(r.input),
            r.requested_by,
            _when(r.created_at),
            f"${r.cost_usd:.4f}",
        ]
        for r in runs
    ]
    return _table(["RUN", "WORKFLOW", "STATUS", "STEP", "WHAT", "BY", "STARTED", "COST"], rows)


def _summary(data: dict[str, Any]) -> str:
    parts = [f"order {data['order_id']}"] if "order_id" in data else []
    if data.get("amount"):
        parts.append(str(data["amount"]))
    return ", ".join(parts) or "-"


def approval_text(approval: Approval) -> str:
    req = approval.request
    amount = f"{req.amount:.2f} {req.currency}" if req.amount is not None else "-"
    lines = [
        f"Approval {approval.id} ({approval.status})",
        f"  what:      {req.what}",
        f"  why:       {req.why}",
        f"  amount:    {amount}   risk: {req.risk}",
        f"  asked by:  {req.requested_by}; may decide: {', '.join(req.approver_roles)}",
        f"  deadline:  {_when(approval.deadline)}",
    ]
    if approval.decided_by:
        lines.append(
            f"  decided:   {approval.status} by {approval.decided_by}"
            f" at {_when(approval.decided_at)}"
            + (f" — {approval.reason}" if approval.reason else "")
        )
    return "\n".join(lines)


def run_detail(detail: RunDetail, events: list[Event]) -> str:
    run = detail.run
    lines = [
        f"Run {run.id}: {run.workflow} v{run.version} — {run.status}"
        + (f" (at {run.step})" if run.step and not run.status.terminal else ""),
        f"  requested by {run.requested_by} via {run.origin} at {_when(run.created_at)}",
        f"  input: {_summary(run.input)}; reason: {run.input.get('reason', '-')}",
        f"  cost so far: ${run.cost_usd:.4f}",
    ]
    if run.error:
        lines.append(f"  error: {run.error}")
    if detail.pending:
        lines += [
            "",
            "Waiting on a person:",
            approval_text(detail.pending),
            (
                f"  decide: keel approve {detail.pending.id} --as USER"
                f"  |  keel reject {detail.pending.id} --as USER --reason TEXT"
            ),
        ]
    if detail.effects:
        lines += ["", "Effects:"]
        lines += [
            f"  {e.kind:<14} {e.status:<8} key {e.key}"
            + (f"  (undo: {e.compensation_status})" if e.compensation_status else "")
            for e in detail.effects
        ]
    if detail.reconciliations:
        lines += ["", "Open reconciliation items:"]
        lines += [f"  {r.id}: {r.summary}" for r in detail.reconciliations]
    lines += ["", "Steps and events:"]
    lines += [f"  {event_line(e, with_run=False)}" for e in events]
    return "\n".join(lines)


def event_line(event: Event, *, with_run: bool = True) -> str:
    took = f" {event.duration_ms:.0f}ms" if event.duration_ms is not None else ""
    cost = f" ${event.cost_usd:.4f}" if event.cost_usd else ""
    who = f" by {event.actor}" if event.actor else ""
    run = f"{event.run_id or '-'} " if with_run else ""
    note = _event_note(event)
    return (
        f"{event.at.strftime('%H:%M:%S')} {run}{event.kind}"
        f"{' [' + event.step + ']' if event.step else ''}{who}{took}{cost}"
        f"{'  ' + note if note else ''}"
    )


def _event_note(event: Event) -> str:
    d = event.data
    if event.kind == "approval.requested":
        return (
            f"⏸ {d.get('what')} waits for a person: keel approve {d.get('approval_id')}"
            " --as USER (or keel reject … --reason …)"
        )
    for key in ("status", "decision", "reason", "error", "operation", "kind", "role", "summary"):
        if d.get(key):
            return f"{key}={d[key]}"
    return ""


def ledger_table(effects: list[dict[str, Any]]) -> str:
    if not effects:
        return "The sandbox has performed no effects yet."
    rows = [
        [
            str(e.get("seq", "")),
            e["kind"],
            str(e.get("order_id") or "-"),
            str(e.get("amount") or "-"),
            e.get("idempotency_key") or "-",
            e.get("at", ""),
        ]
        for e in effects
    ]
    return _table(["SEQ", "KIND", "ORDER", "AMOUNT", "IDEMPOTENCY KEY", "AT"], rows)


def _found_by(hit: Recalled) -> str:
    return "+".join(hit.found_by) or "-"


def memory_hit_data(hit: Recalled) -> dict[str, Any]:
    item = hit.item
    return {
        "id": item.id,
        "subject": item.subject,
        "kind": item.kind,
        "text": item.text,
        "created": item.created.isoformat(),
        "source": item.source,
        "score": round(hit.score, 5),
        "found_by": _found_by(hit),
    }


def memory_hits(query: str, hits: list[Recalled]) -> str:
    if not hits:
        return f"Nothing in memory matches {query!r}."
    rows = [
        [
            _when(h.item.created)[:10],
            h.item.kind,
            h.item.subject,
            _found_by(h),
            " ".join(h.item.text.split())[:90],
        ]
        for h in hits
    ]
    return _table(["date", "kind", "subject", "found by", "text"], rows)


def memory_stats(stats: MemoryStats) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in stats.by_kind.items()) or "none"
    return "\n".join(
        [
            f"{stats.items} memories about {stats.subjects} subjects ({kinds})",
            (
                f"{stats.folded} folded into summaries (transcripts kept); {stats.expired} expired,"
                " awaiting the daily purge"
            ),
            (
                f"embedder {stats.embedder} ({stats.dim} dimensions); {stats.path},"
                f" {stats.file_bytes / 1e6:.1f} MB"
            ),
        ]
    )
