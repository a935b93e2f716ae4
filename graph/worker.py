"""The server's loop: commands from the inbox, queued runs, and approval deadlines."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .errors import AlreadyDecided, AlreadyVoted, KeelError
from .records import InboxItem
from .runtime import Runtime
from .statuses import RunStatus
from .steps import crashpoint

log = logging.getLogger("keel.worker")

Command = Callable[[dict[str, Any]], dict[str, Any]]
"""An inbox command's handler: its payload in, its result out (KeelError to refuse)."""


class Worker:
    """Drives a runtime for a long-lived process; everything it reads is durable in the store."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        poll: float = 0.2,
        tick_every: float | None = 15.0,
        commands: Mapping[str, Command] | None = None,
    ) -> None:
        self.runtime = runtime
        self.poll = poll
        self.tick_every = tick_every
        """Seconds between deadline ticks; None when something else ticks (the scheduler)."""
        self.commands = dict(commands or {})
        """More inbox command kinds this process answers, e.g. running a scheduled job now."""
        self._last_tick: float | None = None

    def handle(self, item: InboxItem) -> tuple[bool, dict[str, Any]]:
        """Apply one command; a command re-taken after a crash settles the same way."""
        p = item.payload
        try:
            if item.kind == "decide":
                approval = self.runtime.decide(
                    p["approval_id"], p["decision"], p["actor"], p.get("reason")
                )
                return True, {
                    "approval_id": approval.id,
                    "status": str(approval.status),
                    "run_id": approval.run_id,
                }
            if item.kind == "cancel":
                run = self.runtime.cancel(p["run_id"], p["actor"], p.get("reason"))
                return True, {"run_id": run.id, "status": str(run.status)}
            if item.kind in self.commands:
                return True, self.commands[item.kind](p)
        except (AlreadyDecided, AlreadyVoted) as exc:
            found = self.runtime.store.approval(p["approval_id"])
            if (
                item.retaken
                and found is not None
                and p["actor"] in (found.decided_by, *(v.by for v in found.votes))
            ):
                # This very command was applied before a crash cut its bookkeeping short.
                return True, {
                    "approval_id": found.id,
                    "status": str(found.status),
                    "run_id": found.run_id,
                }
            return False, {"error": type(exc).__name__, "message": str(exc)}
        except KeelError as exc:
            return False, {"error": type(exc).__name__, "message": str(exc)}
        except (KeyError, TypeError) as exc:
            return False, {
                "error": "BadCommand",
                "message": f"malformed {item.kind} command: {exc}",
            }
        return False, {"error": "BadCommand", "message": f"unknown command {item.kind!r}"}

    def step(self) -> int:
        """One pass: drain the inbox, pick up queued runs, tick deadlines. Returns work done."""
        store, done = self.runtime.store, 0
        while (item := store.claim_inbox()) is not None:
            ok, result = self.handle(item)
            crashpoint("inbox.handled")
            store.finish_inbox(item.id, ok, result)
            done += 1
        for run in store.runs(status=[RunStatus.QUEUED], limit=1000):
            if not self.runtime.busy(run.id):
                self.runtime.resume(run.id)
                done += 1
        now = self.runtime.clock.monotonic()
        if self.tick_every is None:
            return done
        if self._last_tick is None or now - self._last_tick >= self.tick_every:
            self._last_tick = now
            done += len(self.runtime.tick())
        return done

    def serve(self, stop: threading.Event) -> None:
        resumed = self.runtime.recover()
        if resumed:
            log.info("recovered %d run(s) with pending work", len(resumed))
        while not stop.is_set():
            try:
                busy = self.step()
            except Exception:  # the loop must outlive one bad pass; the store keeps the work
                log.exception("worker pass failed")
                busy = 0
            if not busy:
                stop.wait(self.poll)
