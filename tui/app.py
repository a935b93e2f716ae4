"""The terminal app: runs, a run in full, approvals, chat, schedules and memory, over a Desk.

Every call to the Desk happens in a worker thread (`io`); results and failures come back to
the event loop, where a failure is one notification and the app carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any, ClassVar, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.theme import Theme

from graph import RunStatus

from . import text as t
from .approvals import ApprovalsScreen
from .chat import ChatScreen
from .dashboard import DashboardScreen
from .desk import Desk
from .dialogs import ConfirmDialog, HelpScreen, ReasonDialog, RefundDialog, RefundForm
from .pane import Pane
from .schedules import MemoryScreen, SchedulesScreen

T = TypeVar("T")

DARK = Theme(
    name="keel-dark",
    dark=True,
    primary="#58A6FF",
    secondary="#79C0FF",
    accent="#BC8CFF",
    warning="#D29922",
    error="#F85149",
    success="#3FB950",
    foreground="#E6EDF3",
    background="#0D1117",
    surface="#161B22",
    panel="#21262D",
)
LIGHT = Theme(
    name="keel-light",
    dark=False,
    primary="#0969DA",
    secondary="#0550AE",
    accent="#8250DF",
    warning="#9A6700",
    error="#CF222E",
    success="#1A7F37",
    foreground="#1F2328",
    background="#FFFFFF",
    surface="#F6F8FA",
    panel="#EAEEF2",
)


class KeelCommands(Provider):
    """The command palette's Keel actions."""

    def commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app: KeelApp = self.app  # type: ignore[assignment]
        go = [
            (f"Go to {title}", partial(app.action_switch_mode, mode), f"Show {title.lower()}")
            for mode, title in t.SCREEN_TITLES.items()
        ]
        actions = {
            "approve": app.action_approve_selected,
            "reject": app.action_reject_selected,
            "refund": app.action_start_refund,
            "theme": app.action_toggle_theme,
            "refresh": app.action_refresh,
            "help": app.action_help,
            "quit": app.action_quit,
        }
        return [
            *go,
            *((t.PALETTE[name][0], run, t.PALETTE[name][1]) for name, run in actions.items()),
        ]

    async def discover(self) -> Hits:
        for name, run, help_text in self.commands():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, run, help_text in self.commands():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), run, help=help_text)


class KeelApp(App[None]):
    TITLE = t.TITLE
    CSS_PATH = "keel.tcss"
    MODES: ClassVar[dict[str, Any]] = {
        "runs": DashboardScreen,
        "approvals": ApprovalsScreen,
        "chat": ChatScreen,
        "schedules": SchedulesScreen,
        "memory": MemoryScreen,
    }
    DEFAULT_MODE = "runs"
    COMMANDS = App.COMMANDS | {KeelCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('runs')", "Runs", id="go-runs"),
        Binding("2", "switch_mode('approvals')", "Approvals", id="go-approvals"),
        Binding("3", "switch_mode('chat')", "Chat", id="go-chat"),
        Binding("4", "switch_mode('schedules')", "Schedules", id="go-schedules"),
        Binding("5", "switch_mode('memory')", "Memory", id="go-memory"),
        Binding("s", "start_refund", "Refund", id="start-refund"),
        Binding("t", "toggle_theme", "Theme", id="toggle-theme", show=False),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit", show=False),
    ]

    def __init__(self, desk: Desk, *, refresh_every: float = 1.0) -> None:
        super().__init__()
        self.desk = desk
        self.refresh_every = refresh_every
        self.register_theme(DARK)
        self.register_theme(LIGHT)
        self.theme = DARK.name

    @property
    def mode_note(self) -> str:
        return t.ATTACHED_NOTE if self.desk.attached else t.EMBEDDED_NOTE

    def on_mount(self) -> None:
        self.sub_title = f"{self.desk.user} · {self.mode_note}"
        if self.refresh_every > 0:
            self.set_interval(self.refresh_every, self._tick)

    def _tick(self) -> None:
        screen = self.screen
        if isinstance(screen, Pane) and screen.live:
            screen.reload()

    # --- the one way to call the Desk -----------------------------------------------------

    @work(thread=True, exit_on_error=False, group="desk")
    def io(
        self,
        call: Callable[[], T],
        done: Callable[[T], Any] | None = None,
        *,
        failed: Callable[[BaseException], Any] | None = None,
        doing: str = "",
    ) -> None:
        """Run `call` in a thread; hand its result to `done` (or its error to `failed`, else
        a notification) on the event loop."""
        try:
            result = call()
        # The app outlives any failure of the Desk: it says so in one line and goes on.
        except Exception as exc:  # noqa: BLE001
            self.on_loop(self._failed, exc, failed, doing)
            return
        if done is not None:
            self.on_loop(self._deliver, done, result, doing)

    def on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """From a worker thread: call `fn(*args)` on the event loop (dropped if the app
        has closed meanwhile)."""
        with suppress(RuntimeError):  # the app closed meanwhile
            self.call_from_thread(fn, *args)

    def _deliver(self, done: Callable[[Any], Any], result: Any, doing: str) -> None:
        try:
            done(result)
        except Exception as exc:  # noqa: BLE001 — a screen that cannot show a result is told
            self._failed(exc, None, doing)

    def _failed(
        self, exc: BaseException, failed: Callable[[BaseException], Any] | None, doing: str
    ) -> None:
        if failed is not None:
            failed(exc)
        else:
            self.notify(t.explain(exc, doing or None), severity="error", timeout=8)

    def tone(self, name: str) -> str:
        """A Rich style for a tone (success, warning, error, accent, muted) in this theme."""
        theme = self.current_theme
        colours = {
            "success": theme.success,
            "warning": theme.warning,
            "error": theme.error,
            "accent": theme.accent or theme.primary,
        }
        return "dim" if name == "muted" else (colours.get(name) or "")

    # --- people's actions -----------------------------------------------------------------

    def approve(self, approval_id: str) -> None:
        self.io(partial(self._decide, approval_id, "approve", None), self._decided, doing="Approve")

    def reject(self, approval_id: str, what: str) -> None:
        """Ask whether the user may decide it first, then why, then reject."""

        def ask(_approval: object) -> None:
            self.push_screen(ReasonDialog(what), partial(self._rejecting, approval_id))

        self.io(partial(self.desk.authorise, approval_id), ask, doing="Reject")

    def _rejecting(self, approval_id: str, reason: str | None) -> None:
        if reason:
            self.io(
                partial(self._decide, approval_id, "reject", reason), self._decided, doing="Reject"
            )

    def _decide(
        self, approval_id: str, verdict: str, reason: str | None
    ) -> tuple[str, str, RunStatus]:
        approval = self.desk.decide(approval_id, verdict, reason)  # type: ignore[arg-type]
        return verdict, approval.id, self.desk.status(approval.run_id)

    def _decided(self, outcome: tuple[str, str, RunStatus]) -> None:
        verdict, approval_id, status = outcome
        self.notify(t.decided(verdict, approval_id, str(status)))
        self.action_refresh()

    def _told(self, news: str) -> None:
        """Say what was done, and show it."""
        self.notify(news)
        self.action_refresh()

    def cancel(self, run_id: str) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.io(
                    partial(self.desk.cancel, run_id),
                    lambda run: self._told(t.cancelled(run.id, str(run.status))),
                    doing="Cancel",
                )

        self.push_screen(
            ConfirmDialog(t.CANCEL_TITLE.format(run_id=run_id), t.CANCEL_BODY), confirmed
        )

    def action_start_refund(self) -> None:
        def filled(form: RefundForm | None) -> None:
            if form is not None:
                self.io(
                    partial(self.desk.start_refund, form.order_id, form.reason, form.amount),
                    lambda run: self._told(t.started(run.id, str(run.status), self.desk.attached)),
                    doing="Start the refund",
                )

        self.push_screen(RefundDialog(), filled)

    def action_approve_selected(self) -> None:
        self._on_screen("action_approve")

    def action_reject_selected(self) -> None:
        self._on_screen("action_reject")

    def _on_screen(self, action: str) -> None:
        handler = getattr(self.screen, action, None)
        if handler is None:
            self.notify(t.NOTHING_TO_DECIDE_HERE, severity="warning")
            return
        handler()

    def action_refresh(self) -> None:
        if isinstance(self.screen, Pane):
            self.screen.reload()

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT.name if self.theme == DARK.name else DARK.name
        self.action_refresh()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
