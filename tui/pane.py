"""The base of every screen: loads from the Desk in a worker thread, shows on the loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from textual.css.query import NoMatches
from textual.screen import Screen

from . import text as t

if TYPE_CHECKING:
    from .app import KeelApp
    from .desk import Desk

T = TypeVar("T")


class Pane(Screen[None], Generic[T]):
    """A screen that refreshes itself: `load` runs in a thread and must not touch widgets;
    `show` applies its result on the event loop. One load at a time; a failing load is
    told once (not every second) and the screen keeps what it showed."""

    doing = "Refreshing"
    live = True
    """Reload on the app's refresh timer (a conversation or a search loads when asked)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loading = False
        self._again = False
        self._last_error: str | None = None
        self._desk: Desk | None = None

    @property
    def keel(self) -> KeelApp:
        return self.app  # type: ignore[return-value]

    @property
    def desk(self) -> Desk:
        """The app's Desk, kept from the first use on the event loop: `load` runs in a
        thread, where Textual's active-app context is not always there to reach it."""
        if self._desk is None:
            self._desk = self.keel.desk
        return self._desk

    @property
    def idle(self) -> bool:
        """No load under way or asked for."""
        return not self._loading and not self._again

    def load(self) -> T:
        raise NotImplementedError

    def show(self, data: T) -> None:
        raise NotImplementedError

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Load again now; a load already under way is followed by one more."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        _ = self.desk  # held before the thread needs it
        self.keel.io(self.load, self._loaded, failed=self._failed, doing=self.doing)

    def _loaded(self, data: T) -> None:
        self._finish()
        self._last_error = None
        self._show(data, tries=20)

    def _show(self, data: T, tries: int) -> None:
        """Show a load's result; a first result can arrive before the screen's widgets are
        all mounted, and then waits a refresh or two for them."""
        if not self.is_attached:
            return
        try:
            self.show(data)
        except NoMatches:
            if tries <= 0:
                raise
            self.call_after_refresh(self._show, data, tries - 1)

    def _failed(self, exc: BaseException) -> None:
        self._finish()
        line = t.explain(exc, self.doing)
        if line != self._last_error:
            self._last_error = line
            self.notify(line, severity="error", timeout=8)

    def _finish(self) -> None:
        self._loading = False
        if self._again:
            self._again = False
            self.reload()
