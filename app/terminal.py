"""The terminal app's Desk, built for `keel up` (embedded) or `keel tui` (attached)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from graph import Runtime

from .scheduler import AttachedSchedules, Scheduler
from .settings import Settings
from .slack import RunningSlack
from .wiring import build_assistant

if TYPE_CHECKING:
    from memory import MemoryStore
    from tui import Hit


def has_terminal() -> bool:
    """True when a person is at a terminal (not CI, not a pipe)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def slack_links(home: Path) -> Callable[[str], str | None] | None:
    """Links to runs' Slack threads from what the bot recorded, when it has run here."""
    path = home / "slack.db"
    if not path.exists():
        return None
    from bot.ledger import Ledger

    ledger = Ledger.open(path)
    return ledger.thread_link


class MemorySearch:
    """Long-term memory as the terminal app's memory screen searches it."""

    def __init__(self, memory: MemoryStore) -> None:
        self.memory = memory

    def search(self, query: str, limit: int) -> list[Hit]:
        from tui import Hit

        return [
            Hit(
                text=hit.item.text,
                score=hit.score,
                kind=hit.item.kind,
                source=hit.item.source,
                at=hit.item.created,
                subject=hit.item.subject,
                found_by=hit.found_by,
            )
            for hit in self.memory.recall(query, k=limit)
        ]


def _memory(runtime: Runtime) -> MemorySearch | None:
    return MemorySearch(runtime.memory) if runtime.memory is not None else None


def embedded(
    settings: Settings, runtime: Runtime, scheduler: Scheduler, slack: RunningSlack | None
) -> None:
    """`keel up`'s foreground: the terminal app over the server's own runtime."""
    from tui import Desk, run

    link = slack.bot.ledger.thread_link if slack is not None else slack_links(settings.home)
    run(
        Desk(
            runtime,
            user=settings.user,
            assistant=build_assistant(runtime),
            schedules=scheduler,
            slack_link=link,
            memory=_memory(runtime),
        )
    )


def attached(settings: Settings, runtime: Runtime, served: bool, user: str) -> None:
    """`keel tui`: beside a running server, commands go through its inbox; alone, this
    process drives what it starts or decides, as the CLI does."""
    from tui import Desk, run

    schedules = (
        AttachedSchedules(runtime, settings.home / "schedules.json", user) if served else None
    )
    run(
        Desk(
            runtime,
            user=user,
            assistant=build_assistant(runtime, execute=not served),
            attached=served,
            schedules=schedules,
            slack_link=slack_links(settings.home),
            memory=_memory(runtime),
        )
    )
