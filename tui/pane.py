"""The base of every screen: loads from the Desk in a worker thread, shows on the loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

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

    @property
    def keel(self) -> KeelApp:
        return self.app  # type: ignore[return-value]

    @property
    def desk(self) -> Desk:
        return self.keel.desk

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
        self.keel.io(self.load, self._loaded, failed=self._failed, doing=self.doing)

    def _loaded(self, data: T) -> None:
        self._finish()
        self._last_error = None
        if self.is_attached:
            self.show(data)

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
