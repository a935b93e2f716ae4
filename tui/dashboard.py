"""The runs dashboard: metrics with small plots, and a live table of runs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input

from graph import SORT_KEYS, Metrics, RunPage, RunRow, RunStatus, SortKey

from . import text as t
from .pane import Pane
from .run import RunScreen
from .widgets import Col, KeyedTable, MetricsBar, Plain

COLUMNS = [
    Col("id", "Run", 11),
    Col("workflow", "Workflow", 8),
    Col("status", "Status", 13),
    Col("step", "Step", 12),
    Col("what", "What", 14),
    Col("age", "Age", 6),
    Col("cost", "Cost", 8),
    Col("waiting", "Waiting on", 20),
    Col("by", "By", 8),
]
SORT_OF_COLUMN: dict[str, SortKey] = {
    "id": "id",
    "workflow": "workflow",
    "status": "status",
    "step": "step",
    "what": "created",
    "age": "created",
    "cost": "cost",
    "waiting": "status",
    "by": "requested_by",
}
SORT_LABEL = {
    "created": "age",
    "id": "id",
    "workflow": "workflow",
    "status": "status",
    "step": "step",
    "cost": "cost",
    "requested_by": "requester",
}
PAGE = 100


@dataclass(frozen=True)
class RunFilter:
    text: str = ""
    status: tuple[RunStatus, ...] = ()
    workflow: str | None = None
    sort: SortKey = "created"
    descending: bool = True
    offset: int = 0


def parse_filter(typed: str) -> tuple[str, tuple[RunStatus, ...], str | None]:
    """`status:waiting,failed workflow:refund words…` → (words, statuses, workflow)."""
    words: list[str] = []
    status: list[RunStatus] = []
    workflow = None
    for part in typed.split():
        name, _, value = part.partition(":")
        if name in ("status", "s") and value:
            for one in value.split(","):
                try:
                    status.append(RunStatus(one))
                except ValueError:
                    words.append(one)
        elif name in ("workflow", "wf", "w") and value:
            workflow = value
        else:
            words.append(part)
    return " ".join(words), tuple(status), workflow


def short_id(run_id: str) -> str:
    return "…" + run_id[-10:] if len(run_id) > 11 else run_id


@dataclass(frozen=True)
class Board:
    page: RunPage
    metrics: Metrics
    now: datetime
    filter: RunFilter


class DashboardScreen(Pane[Board]):
    doing = "Loading runs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open run", show=False),
        Binding("slash", "focus_filter", "Filter"),
        Binding("o", "sort_next", "Sort"),
        Binding("O", "sort_reverse", "Reverse", show=False),
        Binding("left_square_bracket", "page(-1)", "Prev page", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
        Binding("escape", "leave_filter", "Leave filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="dashboard")
        self.filter = RunFilter()
        self._typed: Timer | None = None
        self._total = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield MetricsBar(id="metrics")
        yield Input(placeholder=t.FILTER_PLACEHOLDER, id="filter", compact=True)
        yield KeyedTable(COLUMNS, id="runs")
        with Horizontal(id="runs-status", classes="status-line"):
            yield Plain("", id="runs-page")
            yield Plain("", id="runs-empty")
            yield Plain("", id="runs-mode")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Runs · {self.desk.user} · {self.keel.mode_note}"
        self.query_one("#runs", KeyedTable).focus()

    # --- loading --------------------------------------------------------------------------

    def load(self) -> Board:
        f = self.filter
        page = self.desk.runs(
            status=f.status,
            workflow=f.workflow,
            text=f.text or None,
            sort=f.sort,
            descending=f.descending,
            offset=f.offset,
            limit=PAGE,
        )
        return Board(page, self.desk.metrics(), self.desk.now(), f)

    def show(self, board: Board) -> None:
        if board.filter != self.filter:
            return  # the filter moved on while this page loaded; its own load follows
        self._total = board.page.total
        self.query_one(MetricsBar).show(board.metrics)
        table = self.query_one("#runs", KeyedTable)
        table.show([(row.id, self.cells(row, board.now)) for row in board.page.rows])
        page = board.page
        self.query_one("#runs-page", Plain).set(
            f"{t.page_line(page.offset, len(page.rows), page.total)} · "
            f"{t.sort_line(SORT_LABEL[board.filter.sort], board.filter.descending)}"
        )
        filtered = bool(board.filter.text or board.filter.status or board.filter.workflow)
        empty = "" if page.rows else (t.NO_MATCH if filtered else t.NO_RUNS)
        self.query_one("#runs-empty", Plain).set(empty)
        self.query_one("#runs-mode", Plain).set(self.keel.mode_note)

    def cells(self, row: RunRow, now: datetime) -> list[str | Text]:
        tone = self.keel.tone(t.STATUS_TONE.get(row.status, "muted"))
        step = row.step if row.step and not row.status.terminal else "-"
        waiting = t.waiting_on(row.waiting_on, row.escalation_level, row.mine)
        return [
            short_id(row.id),
            row.workflow,
            Text(t.run_status(row.status), style=tone),
            step,
            row.summary or "-",
            t.age(row.created_at, now),
            t.cost(row.cost_usd),
            Text(
                waiting,
                style=self.keel.tone("warning")
                if row.escalation_level
                else "bold"
                if row.mine
                else "",
            ),
            row.requested_by,
        ]

    # --- acting ---------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#runs")
    def _opened(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.push_screen(RunScreen(event.row_key.value))

    def action_open(self) -> None:
        key = self.query_one("#runs", KeyedTable).selected_key
        if key:
            self.app.push_screen(RunScreen(key))
        else:
            self.notify(t.NO_RUN_SELECTED, severity="warning")

    @on(DataTable.HeaderSelected, "#runs")
    def _sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        sort = SORT_OF_COLUMN.get(str(event.column_key.value), "created")
        descending = not self.filter.descending if sort == self.filter.sort else True
        self._refilter(sort=sort, descending=descending, offset=0)

    def action_sort_next(self) -> None:
        keys = list(SORT_KEYS)
        sort = keys[(keys.index(self.filter.sort) + 1) % len(keys)]
        self._refilter(sort=sort, descending=sort in ("created", "cost"), offset=0)

    def action_sort_reverse(self) -> None:
        self._refilter(descending=not self.filter.descending, offset=0)

    def action_page(self, step: int) -> None:
        offset = max(0, self.filter.offset + step * PAGE)
        if step > 0 and offset >= self._total:
            return
        self._refilter(offset=offset)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_leave_filter(self) -> None:
        self.query_one("#runs", KeyedTable).focus()

    @on(Input.Changed, "#filter")
    def _typing(self, event: Input.Changed) -> None:
        if self._typed is not None:
            self._typed.stop()
        self._typed = self.set_timer(0.25, lambda: self._apply_typed(event.value))

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        self._apply_typed(event.value)
        self.query_one("#runs", KeyedTable).focus()

    def _apply_typed(self, typed: str) -> None:
        words, status, workflow = parse_filter(typed)
        self._refilter(text=words, status=status, workflow=workflow, offset=0)

    def _refilter(self, **changes: object) -> None:
        new = replace(self.filter, **changes)  # type: ignore[arg-type]
        if new != self.filter:
            self.filter = new
            self.reload()
