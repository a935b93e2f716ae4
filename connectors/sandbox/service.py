"""The sandbox as one object to start and stop, and `serve` to run it until a signal."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

from . import db, seed
from .faults import Faults, FaultSettings
from .http import SandboxServer
from .smtp import MailController, MailSink
from .wire import Context, utc_now


class Sandbox:
    """A local store API (HTTP) and mail server (SMTP) over one SQLite file.

    The file keeps its data across restarts; the shop is seeded only when it is empty.
    Fault settings live in memory and start cleared.
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        smtp_port: int = 0,
        token: str = "sandbox",
        seed: bool = True,
    ) -> None:
        self._db_path = Path(db_path)
        self._host = host
        self._port = port
        self._smtp_port = smtp_port
        self._token = token
        self._seed = seed
        self._faults = Faults()
        self._store: db.Store | None = None
        self._http: SandboxServer | None = None
        self._http_thread: threading.Thread | None = None
        self._mail: MailController | None = None

    def start(self) -> Self:
        """Listen for HTTP and SMTP in background threads; port 0 picks a free port."""
        if self._http is not None:
            raise RuntimeError("the sandbox is already running")
        store = self._open_store()
        if self._seed:
            seed.seed_if_empty(store)
        try:
            context = Context(store=store, faults=self._faults, token=self._token, clock=utc_now)
            self._http = SandboxServer((self._host, self._port), context)
            self._http_thread = threading.Thread(
                target=self._http.serve_forever,
                kwargs={"poll_interval": 0.02},  # bounds how long stop() waits
                name="keel-sandbox-http",
                daemon=True,
            )
            self._http_thread.start()
            self._mail = MailController(
                MailSink(store, utc_now),
                hostname=self._host,
                port=self._smtp_port,
                server_hostname="keel-sandbox",  # skips a reverse DNS lookup that stalls offline
            )
            self._mail.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers and close the store; safe to call twice."""
        if self._http is not None:
            self._http.shutdown()
            self._http.close_connections()
            self._http.server_close()
            self._http = None
        if self._http_thread is not None:
            self._http_thread.join()
            self._http_thread = None
        if self._mail is not None:
            if self._mail.server is not None:
                self._mail.stop()
            self._mail = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._http is not None

    @property
    def url(self) -> str:
        """Where the store API listens, e.g. http://127.0.0.1:43121."""
        if self._http is None:
            raise RuntimeError("the sandbox is not running")
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def smtp_host(self) -> str:
        return self._running_mail().bound_host

    @property
    def smtp_port(self) -> int:
        return int(self._running_mail().port)

    @property
    def token(self) -> str:
        return self._token

    @property
    def faults(self) -> FaultSettings:
        return self._faults.settings

    def set_faults(self, **changes: Any) -> FaultSettings:
        """Change the named fault settings and keep the rest; invalid values raise ValueError."""
        return self._faults.update(changes)

    def clear_faults(self) -> FaultSettings:
        return self._faults.clear()

    def ledger(self, kind: str | None = None, order_id: int | None = None) -> list[dict[str, Any]]:
        """Every effect performed, in order; optionally one kind and/or one order."""
        with self._open_store().read() as conn:
            return [dict(effect) for effect in db.effects(conn, kind, order_id)]

    def messages(self, message_id: str | None = None) -> list[dict[str, Any]]:
        """Mail the SMTP sink stored, optionally only the message with this Message-ID."""
        wanted = None if message_id is None else message_id.strip("<>")
        with self._open_store().read() as conn:
            return [dict(message) for message in db.messages(conn, wanted)]

    def reset(self) -> None:
        """Wipe every order, refund, ledger row, key and message, then seed afresh."""
        seed.reset(self._open_store())

    def _open_store(self) -> db.Store:
        if self._store is None:
            self._store = db.Store.open(self._db_path)
            self._store.setup()
        return self._store

    def _running_mail(self) -> MailController:
        if self._mail is None:
            raise RuntimeError("the sandbox is not running")
        return self._mail


def serve(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    smtp_port: int = 0,
    token: str = "sandbox",
) -> None:
    """Run the sandbox in the foreground until SIGINT or SIGTERM."""
    received: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Only note it: taking a lock inside a signal handler can deadlock the main thread.
        received.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Sandbox(db_path, host=host, port=port, smtp_port=smtp_port, token=token) as sandbox:
            print(
                f"keel sandbox: store API on {sandbox.url}, SMTP on"
                f" {sandbox.smtp_host}:{sandbox.smtp_port}, data in {db_path}",
                flush=True,
            )
            while not received:
                time.sleep(0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
