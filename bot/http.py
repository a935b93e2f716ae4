"""HTTP mode: Slack's Events API, interactivity and slash commands POSTed to /slack/events.

A small threaded server in front of `SlackBot.handle`; Bolt verifies signatures and answers
within Slack's 3 seconds because handlers acknowledge first. Put it behind a TLS proxy
for a real workspace (Slack only calls https URLs).
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from .app import SlackBot

log = logging.getLogger("keel.slack.http")

PATH = "/slack/events"
MAX_BODY = 1 << 20
"""Slack's payloads are far smaller; anything bigger is refused unread."""


class SlackHTTPServer:
    def __init__(self, bot: SlackBot, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.bot = bot
        self.host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The request URL to give Slack (through your proxy)."""
        return f"http://{self.host}:{self.port}{PATH}"

    def start(self) -> Self:
        bot = self.bot

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._reply(200, {"Content-Type": "text/plain"}, b"ok")
                else:
                    self._reply(404, {}, b"")

            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != PATH:
                    self._reply(404, {}, b"")
                    return
                try:
                    size = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    size = -1
                if not 0 <= size <= MAX_BODY:
                    self._reply(413 if size > MAX_BODY else 400, {}, b"", close=True)
                    return
                raw = self.rfile.read(size)
                response = bot.handle(raw, dict(self.headers.items()))
                body = response.body.encode() if isinstance(response.body, str) else response.body
                headers = {k: v[0] if isinstance(v, list | tuple) else str(v)
                           for k, v in response.headers.items()
                           if k.lower() not in ("content-length", "connection")}
                self._reply(response.status, headers, body or b"")

            def _reply(self, status: int, headers: dict[str, Any], body: bytes, *,
                       close: bool = False) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s " + format, self.address_string(), *args)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="keel-slack-http",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
