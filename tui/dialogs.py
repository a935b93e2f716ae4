"""Modal dialogs: a rejection's reason, a new refund, a confirmation, and the help page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Markdown

from . import text as t
from .widgets import Plain


class ReasonDialog(ModalScreen[str | None]):
    """Asks why a rejection; returns the reason (at least 3 characters) or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str) -> None:
        super().__init__(classes="dialog")
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Plain(t.REASON_TITLE.format(what=self.what), classes="dialog-title")
            yield Plain(t.REASON_LABEL)
            yield Input(placeholder=t.REASON_PLACEHOLDER, id="reason", max_length=3000)
            yield Plain("", id="reason-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Reject", variant="error", id="reject")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "reject":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if len(reason) < t.REASON_MIN:
            self.query_one("#reason-error", Plain).set(t.REASON_TOO_SHORT)
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class RefundForm:
    order_id: str
    reason: str
    amount: str | None


class RefundDialog(ModalScreen[RefundForm | None]):
    """Asks for a refund's order, reason and (optional) amount."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self) -> None:
        super().__init__(classes="dialog")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Plain(t.REFUND_TITLE, classes="dialog-title")
            yield Plain(t.REFUND_ORDER)
            yield Input(placeholder="1042", id="order", restrict=r"#?[0-9]*", max_length=12)
            yield Plain(t.REFUND_REASON)
            yield Input(placeholder="arrived broken", id="reason", max_length=2000)
            yield Plain(t.REFUND_AMOUNT)
            yield Input(placeholder="", id="amount", restrict=r"[0-9.]*", max_length=14)
            yield Plain("", id="refund-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "amount" or (self._value("order") and self._value("reason")):
            self._submit()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "start":
            self._submit()
        else:
            self.dismiss(None)

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value.strip()

    def _submit(self) -> None:
        order, reason = self._value("order"), self._value("reason")
        if not order or not reason:
            self.query_one("#refund-error", Plain).set(t.REFUND_NEEDS)
            return
        self.dismiss(RefundForm(order, reason, self._value("amount") or None))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", "No"),
        Binding("y", "yes", "Yes"),
        Binding("n", "no", "No", show=False),
    ]

    def __init__(self, title: str, body: str) -> None:
        super().__init__(classes="dialog")
        self._title, self._body = title, body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Plain(self._title, classes="dialog-title")
            yield Plain(self._body)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (esc)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self) -> None:
        super().__init__(classes="dialog")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog-box help-box"):
            yield Markdown(t.HELP)

    def action_close(self) -> None:
        self.dismiss(None)
