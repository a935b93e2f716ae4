"""The Slack bot for a server: built from settings, run in Socket Mode or HTTP mode."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.error import URLError

from connectors import ConnectorError
from graph import Runtime

from .settings import Settings, SettingsError

log = logging.getLogger("keel.slack")

DEFAULT_HTTP_PORT = 3000


class SlackNotConfigured(SettingsError):
    pass


@dataclass
class RunningSlack:
    """A started bot and what feeds it; `stop()` undoes `start_slack`."""

    bot: Any
    mode: str
    """"socket" or "http"."""
    url: str | None = None
    _closers: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                log.exception("stopping the Slack bot")


def slack_enabled(settings: Settings) -> bool:
    return settings.slack_bot_token is not None


def build_bot(settings: Settings, runtime: Runtime) -> Any:
    """The SlackBot over `runtime`, checked against the workspace (token, [slack.users])."""
    from bot.app import SlackBot, web_client
    from bot.ledger import Ledger

    from .wiring import build_assistant

    if settings.slack_bot_token is None:
        raise SlackNotConfigured("SLACK_BOT_TOKEN is not set")
    secret = settings.slack_signing_secret
    if settings.slack_app_token is None and secret is None:
        raise SlackNotConfigured(
            "SLACK_SIGNING_SECRET is needed in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    client = web_client(settings.slack_bot_token.get_secret_value(), str(settings.slack_api_url))
    bot = SlackBot(
        runtime,
        build_assistant(runtime),
        client,
        Ledger.open(settings.home / "slack.db"),
        signing_secret=secret.get_secret_value() if secret else None,
    )
    bot.check()
    return bot


def start_slack(
    settings: Settings,
    runtime: Runtime,
    stop: threading.Event,
    *,
    http_port: int | None = None,
    http_host: str = "127.0.0.1",
) -> RunningSlack:
    """Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode on `http_port`; plus the
    thread keeper that mirrors every run into its Slack thread."""
    sdk = logging.getLogger("slack_sdk")
    level = sdk.level
    sdk.setLevel(logging.CRITICAL)  # its failed attempts would repeat the one error we raise
    try:
        bot = build_bot(settings, runtime)
        try:
            running = _connect(settings, bot, http_port, http_host)
        except BaseException:
            bot.close()
            raise
    except (URLError, TimeoutError) as exc:  # urllib's: Slack's Web API did not answer
        raise ConnectorError(
            f"unreachable ({getattr(exc, 'reason', exc)}); is SLACK_API_URL"
            " right, and Slack reachable from here?",
            connector="slack",
            operation="connect",
            target=str(settings.slack_api_url),
        ) from None
    finally:
        sdk.setLevel(level)
    keeper = threading.Thread(
        target=bot.keeper.serve, args=(stop,), name="keel-slack-threads", daemon=True
    )
    keeper.start()
    return running


def _connect(settings: Settings, bot: Any, http_port: int | None, http_host: str) -> RunningSlack:
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        from slack_sdk.errors import SlackApiError

        from bot.people import SlackSetupError

        handler = SocketModeHandler(bot.app, settings.slack_app_token.get_secret_value())
        try:
            handler.connect()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated
        except SlackApiError as exc:
            raise SlackSetupError(
                f"SLACK_APP_TOKEN was not accepted by Slack for Socket Mode:"
                f" {exc.response.get('error')}"
            ) from None
        return RunningSlack(bot, "socket", None, [bot.close, handler.close])
    from bot.http import SlackHTTPServer

    server = SlackHTTPServer(bot, http_host, DEFAULT_HTTP_PORT if http_port is None else http_port)
    server.start()
    return RunningSlack(bot, "http", server.url, [bot.close, server.stop])
