"""Chat with the assistant, in the user's own conversation (kept across restarts)."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Input, Static

from graph import ChatLine
from graph.assistant import TurnResult

from . import text as t
from .pane import Pane
from .widgets import Plain


class Message(Static):
    def __init__(self, line: ChatLine, *, id: str | None = None) -> None:
        super().__init__(
            self.body(line),
            id=id,
            classes="message " + ("-person" if line.from_person else "-keel"),
        )

    @staticmethod
    def body(line: ChatLine) -> Text:
        body = Text()
        body.append(line.who if line.from_person else "Keel", style="bold")
        body.append(f"  {t.clock(line.at)}\n", style="dim")
        body.append(line.text)
        return body


class ChatScreen(Pane[list[ChatLine]]):
    doing = "Loading the conversation"
    live = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_input", "Leave input"),
        Binding("i", "focus_input", "Type", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="chat")
        self._loaded_once = False
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(t.CHAT_OFFLINE, id="chat-offline")
        yield VerticalScroll(Plain(t.CHAT_EMPTY, id="chat-empty"), id="chat-log")
        yield Plain(t.CHAT_THINKING, id="chat-thinking")
        yield Input(placeholder=t.CHAT_PLACEHOLDER, id="chat-input", max_length=20_000)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Chat · {self.desk.conversation}"
        self.query_one("#chat-offline").display = self.desk.offline
        self.query_one("#chat-thinking").display = False
        self.query_one("#chat-input", Input).focus()

    def on_screen_resume(self) -> None:
        if not self._loaded_once:  # the log then grows from what this screen says and hears
            self.reload()

    def load(self) -> list[ChatLine]:
        return self.desk.chat_history()

    def show(self, lines: list[ChatLine]) -> None:
        if self._loaded_once:
            return
        self._loaded_once = True
        for line in lines:
            self._append(line)

    def _append(self, line: ChatLine) -> None:
        log = self.query_one("#chat-log", VerticalScroll)
        self.query_one("#chat-empty").display = False
        log.mount(Message(line))
        log.scroll_end(animate=False)

    @on(Input.Submitted, "#chat-input")
    def _send(self, event: Input.Submitted) -> None:
        said = event.value.strip()
        if not said or self._busy:
            return
        event.input.value = ""
        self._append(ChatLine(self.desk.now(), self.desk.user, said, True))
        self._thinking(True)
        heard = partial(self.keel.on_loop, self._writing)  # from the worker to the screen
        self.keel.io(
            lambda: self.desk.chat(said, on_text=heard),
            self._answered,
            failed=self._unanswered,
            doing="Asking Keel",
        )

    def _writing(self, so_far: str) -> None:
        """Show the reply so far while the model writes it, in a draft the answer replaces."""
        if not self._busy:
            return  # the answer (or its failure) came first
        line = ChatLine(self.desk.now(), "keel", so_far + t.CHAT_WRITING, False)
        drafts = self.query("#chat-draft")
        if drafts:
            drafts.first(Message).update(Message.body(line))
            return
        log = self.query_one("#chat-log", VerticalScroll)
        self.query_one("#chat-empty").display = False
        log.mount(Message(line, id="chat-draft"))
        log.scroll_end(animate=False)

    def _answered(self, result: TurnResult) -> None:
        self._thinking(False)
        self.query("#chat-draft").remove()
        self._append(
            ChatLine(self.desk.now(), "keel", result.text or "(no answer)", False, result.offline)
        )

    def _unanswered(self, exc: BaseException) -> None:
        self._thinking(False)
        self.query("#chat-draft").remove()
        self.notify(t.explain(exc, "Asking Keel"), severity="error", timeout=8)

    def _thinking(self, busy: bool) -> None:
        self._busy = busy
        self.query_one("#chat-thinking").display = busy

    def action_leave_input(self) -> None:
        self.query_one("#chat-log").focus()

    def action_focus_input(self) -> None:
        self.query_one("#chat-input", Input).focus()
