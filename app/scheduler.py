"""Recurring jobs on APScheduler, run by the one process that holds the home folder.

The server schedules the escalation sweep (deadlines, reminders, expiry), a daily digest
of open reconciliation items, and — on the embedded default — the demo shop's trickle of
refund requests. Each job returns a line saying what it did; the latest state of every
job is written to KEEL_HOME/schedules.json so an attached terminal app can show it, and
"run now" from another process arrives through the inbox. A job that starts failing, and
one that recovers, is an event in the log (once each, not every tick); what jobs do is
already there (approvals escalated, runs started, memories purged, the digest).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from graph import KeelError, NotFound, RunStateError, Runtime
from graph.inbox import through_inbox
from graph.remembering import MemoryKeeper
from tui.desk import JobInfo

from .demo import Demo

log = logging.getLogger("keel.scheduler")

RUN_JOB = "run_job"
"""The inbox command that asks the server to run a job now."""


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    trigger: BaseTrigger
    run: Callable[[], str]
    """Does the work; returns one line saying what it did."""


class Scheduler:
    """The jobs of a server process, with what each last did."""

    def __init__(
        self,
        jobs: list[Job],
        state_file: Path,
        record: Callable[[str, dict[str, Any]], object] | None = None,
    ) -> None:
        self._jobs = {job.id: job for job in jobs}
        self._state_file = state_file
        self._record = record
        """Writes an event to the log: a job's failure (`schedule.failed`, once per run of
        failures, not every tick) and its recovery (`schedule.recovered`)."""
        self._last: dict[str, tuple[datetime, str]] = {}
        self._failing: dict[str, datetime] = {}
        self._running: set[str] = set()
        self._asked = itertools.count(1)
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def start(self) -> None:
        for job in self._jobs.values():
            # A pause (a laptop asleep) runs a missed job once, late, rather than never.
            self._scheduler.add_job(
                self._run,
                job.trigger,
                args=[job.id],
                id=job.id,
                name=job.name,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        self._scheduler.start()
        self._save()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def jobs(self) -> list[JobInfo]:
        infos = []
        for job in self._jobs.values():
            scheduled = self._scheduler.get_job(job.id) if self._scheduler.running else None
            last = self._last.get(job.id)
            infos.append(
                JobInfo(
                    job.id,
                    job.name,
                    str(job.trigger),
                    scheduled.next_run_time if scheduled else None,
                    last[0] if last else None,
                    last[1] if last else None,
                )
            )
        return infos

    def run_now(self, job_id: str) -> None:
        """Run a job once, now, beside its schedule (which is left as it was); refused while
        the job is running (one run of a job at a time)."""
        if job_id not in self._jobs:
            raise NotFound(f"no scheduled job {job_id!r} (known: {', '.join(self._jobs)})")
        with self._lock:
            running = job_id in self._running
        if running:
            raise RunStateError(
                f"“{self._jobs[job_id].name}” is running now; it will not be started twice"
            )
        # Each request its own one-off job: the guard in _run keeps runs of a job apart.
        self._scheduler.add_job(
            self._run,
            args=[job_id],
            id=f"{job_id}.now.{next(self._asked)}",
            name=f"{self._jobs[job_id].name} (now)",
        )

    def command(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The inbox command RUN_JOB, for `run now` from another process."""
        self.run_now(str(payload["job_id"]))
        return {"job_id": payload["job_id"], "status": "started"}

    def _run(self, job_id: str) -> None:
        job = self._jobs[job_id]
        with self._lock:
            if job_id in self._running:  # a tick while a "run now" runs, or the reverse
                log.info("job %s is running already; this run is skipped", job_id)
                return
            self._running.add(job_id)
        failure: Exception | None = None
        try:
            result = job.run()
        except Exception as exc:  # a failed run is its last result; the schedule goes on
            log.exception("job %s failed", job_id)
            failure, result = exc, f"failed: {type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                self._running.discard(job_id)
        now = datetime.now(UTC)
        with self._lock:
            self._last[job_id] = (now, result)
            since = self._failing.get(job_id)
            if failure is not None and since is None:
                self._failing[job_id] = now
            elif failure is None and since is not None:
                del self._failing[job_id]
        if failure is not None and since is None:
            self._event("schedule.failed", job, error=f"{type(failure).__name__}: {failure}")
        elif failure is None and since is not None:
            self._event(
                "schedule.recovered",
                job,
                result=result,
                failing_since=since.isoformat(timespec="seconds"),
            )
        self._save()

    def _event(self, kind: str, job: Job, **data: Any) -> None:
        if self._record is None:
            return
        try:
            self._record(kind, {"job": job.id, "name": job.name, **data})
        except Exception:  # the log unreachable must not stop the schedule
            log.exception("could not record %s for job %s", kind, job.id)

    def _save(self) -> None:
        """Write every job's state for other processes (atomically: temp file, rename)."""
        state = [
            {**info.__dict__, "next_run": _iso(info.next_run), "last_run": _iso(info.last_run)}
            for info in self.jobs()
        ]
        with self._lock:
            temp = self._state_file.with_suffix(".tmp")
            temp.write_text(json.dumps(state, indent=1))
            os.replace(temp, self._state_file)


class AttachedSchedules:
    """The server's jobs seen from another process: read from its state file, run through
    the inbox."""

    def __init__(self, runtime: Runtime, state_file: Path, actor: str) -> None:
        self.runtime = runtime
        self.state_file = state_file
        self.actor = actor

    def jobs(self) -> list[JobInfo]:
        try:
            state = json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return []
        return [
            JobInfo(
                s["id"],
                s["name"],
                s["trigger"],
                _dt(s["next_run"]),
                _dt(s["last_run"]),
                s["last_result"],
            )
            for s in state
        ]

    def run_now(self, job_id: str) -> None:
        through_inbox(self.runtime, RUN_JOB, {"job_id": job_id}, self.actor)


def standard_jobs(
    runtime: Runtime,
    *,
    demo: Demo | None = None,
    escalate_every: float = 15.0,
    remember_every: float = 10.0,
) -> list[Job]:
    jobs = [
        Job(
            "escalations",
            "Escalations, reminders and expiry",
            IntervalTrigger(seconds=escalate_every),
            lambda: _sweep(runtime),
        ),
        Job(
            "reconciliation-digest",
            "Open reconciliation items",
            CronTrigger(hour=9, minute=0, timezone=UTC),
            lambda: _digest(runtime),
        ),
    ]
    if runtime.memory is not None:
        from .wiring import build_keeper

        keeper = build_keeper(runtime)
        memory = runtime.memory
        jobs += [
            Job(
                "memory",
                "Memory: outcomes, profiles and conversations from the log",
                IntervalTrigger(seconds=remember_every),
                lambda: _remember(keeper),
            ),
            Job(
                "memory-retention",
                "Memory retention: purge what has expired",
                CronTrigger(hour=3, minute=30, timezone=UTC),
                lambda: f"{memory.purge_expired()} purged",
            ),
        ]
    if demo is not None:
        first = datetime.now(UTC) + timedelta(seconds=2)  # a newcomer sees a run move at once
        jobs.append(
            Job(
                "demo-shop",
                "Demo shop: a customer asks for a refund",
                IntervalTrigger(seconds=demo.every, start_date=first),
                lambda: _demo(demo),
            )
        )
    return jobs


def _sweep(runtime: Runtime) -> str:
    done = Counter(event.kind.removeprefix("approval.") for event in runtime.tick())
    return ", ".join(f"{n} {kind}" for kind, n in sorted(done.items())) or "nothing due"


def _remember(keeper: MemoryKeeper) -> str:
    done = keeper.sync()
    if not done.events:
        return "up to date"
    return (
        f"{done.events} events: {done.remembered} remembered, {done.profiles} profiles,"
        f" {done.folded} folded"
    )


def _digest(runtime: Runtime) -> str:
    open_items = runtime.store.reconciliations(status="open")
    if not open_items:
        return "no open items"
    oldest = min(item.created_at for item in open_items)
    kinds = Counter(item.kind for item in open_items)
    runtime.store.append_event(
        None,
        "reconciliation.digest",
        actor="scheduler",
        data={"open": len(open_items), "by_kind": dict(kinds), "oldest": oldest.isoformat()},
    )
    return f"{len(open_items)} open (oldest {oldest:%Y-%m-%d %H:%M})"


def _demo(demo: Demo) -> str:
    try:
        run_id = demo.once()
    except KeelError as exc:
        return f"skipped: {exc}"
    return f"started {run_id}" if run_id else "every order is refunded"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
