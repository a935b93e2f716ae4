"""HTTP mode: Slack's Events API, interactivity and slash commands POSTed to /slack/events.

A threaded server in front of `SlackBot.handle`; Bolt verifies signatures and answers
within Slack's 3 seconds because handlers acknowledge first. Put it behind a TLS proxy
for a real workspace (Slack only calls https URLs).
"""

from __future__ import annotations

from remote.httpserver import BackgroundHTTPServer, Reply, Served

from .app import SlackBot

PATH = "/slack/events"
MAX_BODY = 1 << 20
"""Slack's payloads are far smaller; anything bigger is refused unread."""


class SlackHTTPServer(Served):
    def __init__(self, bot: SlackBot, host: str = "127.0.0.1", port: int = 3000) -> None:
        self.bot = bot
        self._http = BackgroundHTTPServer(
            self._respond, host, port, name="keel-slack-http", poll=0.1, max_body=MAX_BODY
        )

    @property
    def url(self) -> str:
        """The request URL to give Slack (through your proxy)."""
        return self._http.url + PATH

    def _respond(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        route = path.split("?", 1)[0]
        if method == "GET" and route == "/healthz":
            return 200, {"Content-Type": "text/plain"}, b"ok"
        if method != "POST" or route != PATH:
            return 404, {}, b""
        response = self.bot.handle(raw, headers)
        body = response.body.encode() if isinstance(response.body, str) else response.body
        out = {
            name: values[0] if isinstance(values, list | tuple) else str(values)
            for name, values in response.headers.items()
        }
        return response.status, out, body or b""
