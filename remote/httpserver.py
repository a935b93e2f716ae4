"""A threaded HTTP server in a background thread, answering through one function.

The Slack bot's HTTP mode serves with it, and so do the loopback test doubles of Slack's
Web API and Anthropic's Messages API: each gives `respond(method, path, headers, body)`
and gets back (status, headers, body).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

log = logging.getLogger("keel.http")

Reply = tuple[int, dict[str, str], bytes]
Responder = Callable[[str, str, dict[str, str], bytes], Reply]
"""(method, path with query, headers with lower-case names, body) → (status, headers, body)."""
DROP = 0
"""A reply status that closes the connection without answering (for test doubles: a
service that acted, then lost the connection)."""


class BackgroundHTTPServer:
    def __init__(
        self,
        respond: Responder,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "http",
        max_body: int = 16 << 20,
        poll: float = 0.5,
    ) -> None:
        self.respond = respond
        self.host = host
        self.port = port
        self.name = name
        self.max_body = max_body
        """Bigger requests get 413 unread."""
        self.poll = poll
        """How often serve_forever looks for a stop(), in seconds: what stop() may wait."""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without this, Nagle's algorithm and
            # the client's delayed ACK hold the body back ~40 ms on a kept-alive connection.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                try:
                    size = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    size = -1
                if not 0 <= size <= owner.max_body:
                    self._reply((413 if size > owner.max_body else 400, {}, b""), close=True)
                    return
                raw = self.rfile.read(size) if size else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._reply(owner.respond(self.command, self.path, headers, raw))

            def _reply(self, reply: Reply, *, close: bool = False) -> None:
                status, headers, body = reply
                if status == DROP:
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s %s " + format, owner.name, self.address_string(), *args)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(self.poll,), name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Served:
    """For a class that answers HTTP through a `BackgroundHTTPServer` it keeps as `_http`:
    `start`, `stop` and use as a context manager, delegated to that server."""

    _http: BackgroundHTTPServer

    @property
    def root(self) -> str:
        """http://host:port of the running server."""
        assert self._http.port, "start the server first"
        return self._http.url

    def start(self) -> Self:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
