"""The approvals queue: what waits on the user (or everything pending), decided by key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header

from graph import Approval

from . import text as t
from .pane import Pane
from .run import RunScreen
from .widgets import Col, KeyedTable, Plain

COLUMNS = [
    Col("id", "Approval", 11),
    Col("what", "What", 34),
    Col("amount", "Amount", 11),
    Col("risk", "Risk", 6),
    Col("by", "Asked by", 8),
    Col("age", "Waiting", 7),
    Col("deadline", "Deadline", 10),
    Col("level", "Level", 5),
    Col("votes", "Votes", 5),
]


@dataclass(frozen=True)
class Queue:
    approvals: list[Approval]
    everyone: bool
    now: datetime


class ApprovalsScreen(Pane[Queue]):
    doing = "Loading approvals"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve"),
        Binding("r", "reject", "Reject"),
        Binding("enter", "open", "Open run", show=False),
        Binding("m", "toggle_everyone", "Mine/all"),
    ]

    def __init__(self) -> None:
        super().__init__(id="approvals")
        self.everyone = False
        self._approvals: dict[str, Approval] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain("", id="queue-title", classes="section-title")
        yield KeyedTable(COLUMNS, id="queue")
        yield Plain("", id="queue-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Approvals · {self.desk.user}"
        self.query_one("#queue", KeyedTable).focus()

    def load(self) -> Queue:
        everyone = self.everyone
        return Queue(self.desk.pending(everyone=everyone), everyone, self.desk.now())

    def show(self, queue: Queue) -> None:
        if queue.everyone != self.everyone:
            return  # toggled while loading; the next load follows
        self._approvals = {a.id: a for a in queue.approvals}
        title = t.APPROVALS_ALL if queue.everyone else t.APPROVALS_MINE.format(user=self.desk.user)
        empty = (
            t.NOTHING_PENDING_ALL
            if queue.everyone
            else t.NOTHING_PENDING.format(user=self.desk.user)
        )
        self.query_one("#queue-title", Plain).set(
            f"{title} ({len(queue.approvals)})" if queue.approvals else f"{title} — {empty}"
        )
        self.query_one("#queue", KeyedTable).show(
            [(a.id, self.cells(a, queue.now)) for a in queue.approvals]
        )
        self._describe()

    def cells(self, a: Approval, now: datetime) -> list[str | Text]:
        req = a.request
        level = Text(
            str(a.escalation_level), style=self.keel.tone("warning") if a.escalation_level else ""
        )
        return [
            "…" + a.id[-10:],
            req.what,
            t.money(req.amount, req.currency),
            Text(req.risk, style=self.keel.tone(t.RISK_TONE.get(req.risk, "muted"))),
            req.requested_by,
            t.age(a.created_at, now),
            t.until(a.deadline, now),
            level,
            f"{len(a.votes)}/{a.quorum}",
        ]

    @property
    def selected(self) -> Approval | None:
        key = self.query_one("#queue", KeyedTable).selected_key
        return self._approvals.get(key) if key else None

    @on(DataTable.RowHighlighted, "#queue")
    def _highlighted(self) -> None:
        self._describe()

    def _describe(self) -> None:
        a = self.selected
        detail = self.query_one("#queue-detail", Plain)
        if a is None:
            detail.set("")
            return
        req = a.request
        out = Text()
        out.append(f"{req.what}", style="bold")
        out.append(f"  {a.id} · run {a.run_id}\n")
        out.append(f"Why: {req.why}\n")
        out.append(
            f"May decide: {', '.join(req.approver_roles) or 'no one'}"
            f" · requested by {req.requested_by} at {t.when(a.created_at)}"
        )
        if a.votes:
            out.append(" · approved so far by " + ", ".join(v.by for v in a.votes))
        out.append("\na approve · r reject (asks why) · enter opens the run", style="dim")
        detail.set(out)

    def action_approve(self) -> None:
        a = self.selected
        if a is None:
            self.notify(t.NO_SELECTION, severity="warning")
            return
        self.keel.approve(a.id)

    def action_reject(self) -> None:
        a = self.selected
        if a is None:
            self.notify(t.NO_SELECTION, severity="warning")
            return
        self.keel.reject(a.id, a.request.what)

    def action_open(self) -> None:
        a = self.selected
        if a is not None:
            self.app.push_screen(RunScreen(a.run_id))

    @on(DataTable.RowSelected, "#queue")
    def _opened(self) -> None:
        self.action_open()

    def action_toggle_everyone(self) -> None:
        self.everyone = not self.everyone
        self.reload()
