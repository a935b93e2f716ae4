"""The terminal app: runs, run detail, approvals, chat, schedules and memory over a Desk.

`run(desk)` shows it in the foreground until the user quits; `keel up` builds an embedded
Desk, `keel tui` one attached to a running server.
"""

from graph import ChatLine, Link, Metrics, RunPage, RunRow

from .app import KeelApp
from .desk import Desk, Hit, JobInfo, Memory, NotConfigured, RunView, Schedules

__all__ = [
    "ChatLine",
    "Desk",
    "Hit",
    "JobInfo",
    "KeelApp",
    "Link",
    "Memory",
    "Metrics",
    "NotConfigured",
    "RunPage",
    "RunRow",
    "RunView",
    "Schedules",
    "run",
]


def run(desk: Desk, *, refresh_every: float = 1.0) -> None:
    """Show the terminal app over `desk` until the user quits (the caller closes the desk's
    runtime)."""
    try:
        KeelApp(desk, refresh_every=refresh_every).run()
    finally:
        desk.close()
