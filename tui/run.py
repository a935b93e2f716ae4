"""One run in full: summary, its pending approval, timeline, effects, reconciliation items,
provenance (the hash chain) and state."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, TabbedContent, TabPane

from graph import Approval

from . import text as t
from .desk import RunView
from .pane import Pane
from .widgets import Col, KeyedTable, Plain

TIMELINE = [
    Col("offset", "+T", 7),
    Col("kind", "Event", 22),
    Col("step", "Step", 12),
    Col("actor", "By", 8),
    Col("took", "Took", 7),
    Col("cost", "Cost", 7),
    Col("note", "Note"),
]
EFFECTS = [
    Col("kind", "Effect", 12),
    Col("status", "Status", 8),
    Col("key", "Idempotency key", 45),
    Col("tries", "Tries", 5),
    Col("undo", "Undo", 12),
    Col("undone", "Undone", 8),
    Col("error", "Error"),
]
ITEMS = [
    Col("id", "Item", 11),
    Col("kind", "Kind", 22),
    Col("status", "Status", 8),
    Col("at", "Opened", 16),
    Col("summary", "Summary"),
]
CHAIN = [
    Col("seq", "Seq", 4),
    Col("kind", "Event", 22),
    Col("at", "Time", 8),
    Col("prev", "Prev hash", 14),
    Col("hash", "Hash", 14),
    Col("check", "Check"),
]
TABS = ["tab-timeline", "tab-effects", "tab-items", "tab-chain", "tab-state"]


def _short_hash(value: str) -> str:
    return value[:12] + "…"


class RunScreen(Pane[RunView]):
    doing = "Loading the run"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("a", "approve", "Approve"),
        Binding("r", "reject", "Reject"),
        Binding("x", "cancel_run", "Cancel run"),
        Binding("right_square_bracket", "tab(1)", "Next tab"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False),
        Binding("l", "slack", "Slack thread", show=False),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__(classes="run-screen")
        self.run_id = run_id
        self.view: RunView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain("", id="run-summary")
        yield Plain("", id="run-approval")
        with TabbedContent(id="run-tabs"):
            with TabPane("Timeline", id="tab-timeline"):
                yield KeyedTable(TIMELINE, id="timeline")
            with TabPane("Effects", id="tab-effects"):
                yield KeyedTable(EFFECTS, id="effects")
            with TabPane("Reconciliation", id="tab-items"):
                yield KeyedTable(ITEMS, id="items")
            with TabPane("Provenance", id="tab-chain"):
                yield Plain("", id="chain-line")
                yield KeyedTable(CHAIN, id="chain")
            with TabPane("State", id="tab-state"), VerticalScroll():
                yield Plain("", id="state")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Run {self.run_id}"
        self.query_one("#timeline", KeyedTable).focus()

    def load(self) -> RunView:
        return self.desk.run(self.run_id)

    def show(self, view: RunView) -> None:
        self.view = view
        run = view.run
        self.sub_title = f"{t.workflow_title(run.workflow)} · {run.id}"
        self.query_one("#run-summary", Plain).set(self._summary(view))
        pending = view.detail.pending
        box = self.query_one("#run-approval", Plain)
        box.display = pending is not None
        if pending is not None:
            box.set(self._approval(pending, view))
        self._tab_labels(view)
        self._timeline(view)
        self.query_one("#effects", KeyedTable).show(
            [
                (
                    e.key,
                    [
                        e.kind,
                        str(e.status),
                        e.key,
                        str(e.attempts),
                        str((e.compensation or {}).get("name", "")),
                        e.compensation_status or "",
                        e.error or "",
                    ],
                )
                for e in view.detail.effects
            ]
        )
        self.query_one("#items", KeyedTable).show(
            [
                (r.id, ["…" + r.id[-10:], r.kind, r.status, t.when(r.created_at), r.summary])
                for r in view.detail.reconciliations
            ]
        )
        self._provenance(view)
        self.query_one("#state", Plain).set(self._state(view))

    def _tab_labels(self, view: RunView) -> None:
        tabs = self.query_one("#run-tabs", TabbedContent)
        for pane, label in (
            ("tab-timeline", f"Timeline {len(view.events)}"),
            ("tab-effects", f"Effects {len(view.detail.effects)}"),
            ("tab-items", f"Reconciliation {len(view.detail.reconciliations)}"),
            ("tab-chain", "Provenance ✓" if view.chain_intact else "Provenance ✗"),
        ):
            tab = tabs.get_tab(pane)
            if tab.label_text != label:
                tab.label = label

    def _timeline(self, view: RunView) -> None:
        start = view.run.created_at
        self.query_one("#timeline", KeyedTable).show(
            [
                (
                    str(e.id),
                    [
                        f"+{t.seconds((e.at - start).total_seconds())}",
                        e.kind,
                        e.step or "",
                        e.actor or "",
                        t.duration(e.duration_ms),
                        t.cost(e.cost_usd) if e.cost_usd else "",
                        t.event_note(e),
                    ],
                )
                for e in view.events
            ]
        )

    def _provenance(self, view: RunView) -> None:
        good, bad = self.keel.tone("success"), self.keel.tone("error")
        broken = next((link for link in view.provenance if not link.intact), None)
        self.query_one("#chain-line", Plain).set(
            Text(t.CHAIN_OK, style=good)
            if broken is None
            else Text(
                t.CHAIN_BROKEN.format(event_id=broken.event_id, problem=broken.problem), style=bad
            )
        )
        self.query_one("#chain", KeyedTable).show(
            [
                (
                    str(link.event_id),
                    [
                        str(link.seq),
                        link.kind,
                        t.clock(link.at),
                        _short_hash(link.prev_hash),
                        _short_hash(link.hash),
                        Text("✓ intact", style=good)
                        if link.intact
                        else Text(f"✗ {link.problem}", style=bad),
                    ],
                )
                for link in view.provenance
            ]
        )

    def _summary(self, view: RunView) -> Text:
        run = view.run
        out = Text()
        out.append(f"{t.workflow_title(run.workflow)} ", style="bold")
        out.append(run.id)
        out.append("  ")
        out.append(
            t.run_status(run.status),
            style=self.keel.tone(t.STATUS_TONE.get(run.status, "muted")) + " bold",
        )
        if run.step and not run.status.terminal:
            out.append(f" at {run.step}")
        out.append(
            f"\nRequested by {run.requested_by} via {run.origin} at {t.when(run.created_at)}"
            f" · cost so far {t.cost(run.cost_usd)}"
        )
        what = [f"Order #{run.input['order_id']}"] if run.input.get("order_id") else []
        if run.input.get("amount"):
            what.append(t.money(run.input["amount"]))
        if run.input.get("customer"):
            what.append(str(run.input["customer"]))
        if what:
            out.append("\n" + " · ".join(what))
        if reason := run.input.get("reason"):
            out.append(f"\nReason: {reason}")
        if run.error:
            out.append(f"\nError: {run.error}", style=self.keel.tone("error"))
        if view.slack_url:
            out.append(f"\nSlack thread: {view.slack_url}  (l opens it)")
        return out

    def _approval(self, approval: Approval, view: RunView) -> Text:
        req = approval.request
        out = Text()
        out.append(f"⏸ Approval needed: {req.what}", style="bold")
        out.append(f"   {approval.id}\n")
        out.append(f"Why: {req.why}\n")
        out.append(f"Amount {t.money(req.amount, req.currency)} · risk ")
        out.append(req.risk, style=self.keel.tone(t.RISK_TONE.get(req.risk, "muted")))
        out.append(
            f" · may decide: {', '.join(req.approver_roles) or 'no one'}"
            f" · due {t.until(approval.deadline, view.now)}"
        )
        if approval.escalation_level:
            out.append(
                f" · escalated, level {approval.escalation_level}", style=self.keel.tone("warning")
            )
        if approval.quorum > 1:
            out.append(f" · {len(approval.votes)} of {approval.quorum} approvals")
        out.append("\n")
        if view.decidable:
            out.append("a approve · r reject (asks why)", style="bold")
        else:
            out.append(t.NOT_YOURS.format(user=self.desk.user), style="dim")
        return out

    def _state(self, view: RunView) -> Text:
        def block(title: str, data: Any) -> str:
            return f"{title}\n{json.dumps(data, indent=2, default=str, ensure_ascii=False)}\n"

        run = view.run
        approvals = [
            {
                "id": a.id,
                "status": str(a.status),
                "what": a.request.what,
                "decided_by": a.decided_by,
                "decided_at": a.decided_at,
                "reason": a.reason,
            }
            for a in view.detail.approvals
        ]
        return Text(
            block("Input", run.input)
            + "\n"
            + block("Outcome", run.outcome)
            + "\n"
            + block("Approvals", approvals)
        )

    # --- acting ---------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_approve(self) -> None:
        pending = self.view.detail.pending if self.view else None
        if pending is None:
            self.notify(t.NOT_DECIDABLE, severity="warning")
            return
        self.keel.approve(pending.id)

    def action_reject(self) -> None:
        pending = self.view.detail.pending if self.view else None
        if pending is None:
            self.notify(t.NOT_DECIDABLE, severity="warning")
            return
        self.keel.reject(pending.id, pending.request.what)

    def action_cancel_run(self) -> None:
        if self.view is not None and self.view.run.status.terminal:
            self.notify(
                t.ALREADY_ENDED.format(run_id=self.run_id, status=self.view.run.status),
                severity="warning",
            )
            return
        self.keel.cancel(self.run_id)

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#run-tabs", TabbedContent)
        at = TABS.index(tabs.active) if tabs.active in TABS else 0
        tabs.active = TABS[(at + step) % len(TABS)]

    def action_slack(self) -> None:
        if self.view is None or not self.view.slack_url:
            self.notify(t.NO_SLACK, severity="warning")
            return
        self.app.open_url(self.view.slack_url)
