"""The long-lived process behind `keel up` and `keel serve`: sandbox, worker, scheduler,
the Slack bot, and in front either a live event log or the terminal app."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Literal

import httpx

from connectors.sandbox import Sandbox
from graph import KeelError, Runtime, Worker

from . import render
from .demo import Demo, DemoRefused, refusal
from .home import prepare_home
from .lock import HomeLock, server_running
from .scheduler import RUN_JOB, Scheduler, standard_jobs
from .settings import Settings
from .slack import RunningSlack, slack_enabled, start_slack
from .wiring import open_runtime

log = logging.getLogger("keel.server")


class ServerBusy(KeelError):
    pass


def _sandbox_already_up(settings: Settings) -> bool:
    try:
        url = str(settings.store_url).rstrip("/") + "/_sandbox/health"
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _hold_home(settings: Settings, wait: float = 30.0) -> HomeLock:
    """The home folder, held exclusively; waits for CLI commands, refuses a second server."""
    lock = HomeLock(settings.home, exclusive=True)
    deadline = time.monotonic() + wait
    while not lock.acquire(block=False):
        if server_running(settings.home) or time.monotonic() > deadline:
            raise ServerBusy(
                f"another keel server already drives {settings.home} (see"
                f" {lock.path}); stop it first or use another KEEL_HOME"
            )
        time.sleep(0.1)  # only CLI commands hold it (shared): they finish in moments
    return lock


def _tail(runtime: Runtime, stop: threading.Event, since: int) -> None:
    """Print every new event, one line each, until told to stop."""
    while not stop.is_set():
        events = runtime.events(since=since, limit=500)
        for event in events:
            print(render.event_line(event), flush=True)
            since = event.id
        if not events:
            stop.wait(0.3)


DemoMode = Literal["on", "auto", "off"]
"""on: the demo was asked for (refused with an error where it may not play); auto: it plays
where it may and says why not elsewhere; off."""


def _demo(
    mode: DemoMode, runtime: Runtime, sandbox: Sandbox | None, settings: Settings
) -> Demo | None:
    if mode == "off":
        return None
    why = refusal(runtime, sandbox, str(settings.store_url))
    if why is None:
        assert sandbox is not None
        return Demo(runtime, sandbox)
    if mode == "on":
        raise DemoRefused(f"refusing the demo: {why}; run without --demo (or KEEL_DEMO=false)")
    print(f"demo shop off: {why}", flush=True)
    return None


Foreground = Callable[[Runtime, Scheduler, "RunningSlack | None"], None]
"""What runs in front while the server works (the terminal app); returns when the user quits."""


def run_server(
    settings: Settings,
    *,
    workers: int | None = None,
    sandbox: bool,
    demo: DemoMode,
    live_log: bool,
    http_port: int | None = None,
    http_host: str = "127.0.0.1",
    foreground: Foreground | None = None,
) -> None:
    # With the terminal app in front, log lines would tear its screen: they go to a file.
    prepare_home(settings.home)
    target: dict[str, Any] = (
        {"filename": str(settings.home / "keel.log")} if foreground else {"stream": sys.stderr}
    )
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", **target
    )
    for chatty in ("httpx", "mail.log", "apscheduler"):  # one line per request drowns the log
        logging.getLogger(chatty).setLevel(logging.WARNING)
    lock = _hold_home(settings)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    store_service: Sandbox | None = None
    threads: list[threading.Thread] = []
    runtime: Runtime | None = None
    slack: RunningSlack | None = None
    scheduler: Scheduler | None = None
    try:
        if sandbox and not _sandbox_already_up(settings):
            store_service = Sandbox(
                settings.home / "sandbox.db",
                port=settings.sandbox_port,
                smtp_port=settings.smtp_port,
                token=settings.store_token.get_secret_value(),
            ).start()
            print(
                f"sandbox: store API on {store_service.url}, SMTP on port"
                f" {store_service.smtp_port}",
                flush=True,
            )
        runtime = open_runtime(settings, workers=workers or settings.workers)
        since = runtime.store.last_event_id()
        shop = _demo(demo, runtime, store_service, settings)
        scheduler = Scheduler(
            standard_jobs(runtime, demo=shop),
            settings.home / "schedules.json",
            record=lambda kind, data: runtime.store.append_event(
                None, kind, actor="scheduler", data=data
            ),
        )
        worker = Worker(runtime, tick_every=None, commands={RUN_JOB: scheduler.command})
        threads.append(threading.Thread(target=worker.serve, args=(stop,), name="keel-worker"))
        if live_log and foreground is None:
            threads.append(
                threading.Thread(
                    target=_tail, args=(runtime, stop, since), name="keel-log", daemon=True
                )
            )
        for thread in threads:
            thread.start()
        scheduler.start()
        if slack_enabled(settings):
            slack = start_slack(settings, runtime, stop, http_port=http_port, http_host=http_host)
            where = f"HTTP mode at {slack.url}" if slack.url else "Socket Mode"
            print(f"slack: bot connected in {where}", flush=True)
        if foreground is not None:
            foreground(runtime, scheduler, slack)
            return
        print(
            f"keel: serving {settings.home} with {workers or settings.workers} workers"
            f"{' and the demo shop' if shop else ''}; Ctrl-C stops.",
            flush=True,
        )
        while not stop.is_set():
            stop.wait(0.5)
    finally:
        stop.set()
        if scheduler is not None:
            scheduler.shutdown()
        for thread in threads:
            thread.join(timeout=10)
        if slack is not None:
            slack.stop()
        if runtime is not None:
            runtime.drain(timeout=30)
            runtime.close()
            runtime.services.close()
        if store_service is not None:
            store_service.stop()
        lock.release()
