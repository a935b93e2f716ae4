"""Scheduled jobs (next run, last result, run now) and memory search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Input

from . import text as t
from .desk import Hit, JobInfo
from .pane import Pane
from .widgets import Col, KeyedTable, Plain

JOBS = [
    Col("name", "Job", 36),
    Col("trigger", "Trigger", 26),
    Col("next", "Next run", 16),
    Col("last", "Last run", 16),
    Col("result", "Last result"),
]


@dataclass(frozen=True)
class Jobs:
    jobs: list[JobInfo] | None
    """None when no scheduler runs in this process."""


class SchedulesScreen(Pane[Jobs]):
    doing = "Loading schedules"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("n", "run_now", "Run now")]

    def __init__(self) -> None:
        super().__init__(id="schedules")
        self._names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain("", id="jobs-note", classes="section-title")
        yield KeyedTable(JOBS, id="jobs")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Schedules"
        self.query_one("#jobs", KeyedTable).focus()

    def load(self) -> Jobs:
        if self.desk.schedules is None:
            return Jobs(None)
        return Jobs(self.desk.jobs())

    def show(self, data: Jobs) -> None:
        note = self.query_one("#jobs-note", Plain)
        self.query_one("#jobs", KeyedTable).display = data.jobs is not None
        if data.jobs is None:
            note.set(t.NO_SCHEDULER)
            return
        self._names = {j.id: j.name for j in data.jobs}
        note.set(f"{len(data.jobs)} jobs" if data.jobs else t.NO_JOBS)
        self.query_one("#jobs", KeyedTable).show(
            [
                (
                    j.id,
                    [
                        j.name,
                        j.trigger,
                        t.when(j.next_run),
                        t.when(j.last_run),
                        j.last_result or "-",
                    ],
                )
                for j in data.jobs
            ]
        )

    def action_run_now(self) -> None:
        job_id = self.query_one("#jobs", KeyedTable).selected_key
        if job_id is None:
            self.notify(t.NO_JOB_SELECTED, severity="warning")
            return
        name = self._names.get(job_id, job_id)

        def started(_none: None) -> None:
            self.notify(t.job_started(name))
            self.reload()

        self.keel.io(lambda: self.desk.run_job(job_id), started, doing=f"Running “{name}”")


class MemoryScreen(Pane[list[Hit] | None]):
    doing = "Searching memory"
    live = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_input", "Leave input", show=False)
    ]

    def __init__(self) -> None:
        super().__init__(id="memory")
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder=t.MEMORY_PLACEHOLDER, id="memory-query", compact=True)
        yield Plain("", id="memory-note", classes="section-title")
        yield VerticalScroll(id="memory-hits")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Memory"
        configured = self.desk.memory is not None
        query = self.query_one("#memory-query", Input)
        query.disabled = not configured
        self.query_one("#memory-note", Plain).set("" if configured else t.MEMORY_OFF)
        if configured:
            query.focus()

    def on_screen_resume(self) -> None:
        pass  # searches run when asked, not on a timer

    def reload(self) -> None:
        if self.query_text:
            super().reload()

    def load(self) -> list[Hit] | None:
        return self.desk.search_memory(self.query_text)

    def show(self, hits: list[Hit] | None) -> None:
        box = self.query_one("#memory-hits", VerticalScroll)
        box.remove_children()
        note = self.query_one("#memory-note", Plain)
        if not hits:
            note.set(t.MEMORY_NONE.format(query=self.query_text))
            return
        note.set(t.memory_found(len(hits), self.query_text))
        box.mount_all(Plain(t.memory_hit(h), classes="memory-hit") for h in hits)

    @on(Input.Submitted, "#memory-query")
    def _search(self, event: Input.Submitted) -> None:
        self.query_text = event.value.strip()
        self.reload()

    def action_leave_input(self) -> None:
        self.query_one("#memory-hits").focus()
