"""Starting the Slack bot from settings: HTTP mode end to end, Socket Mode's token, and the
configuration mistakes that must stop start-up with a clear message."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import load_settings
from app.slack import SlackNotConfigured, start_slack
from app.wiring import open_runtime
from bot.people import SlackSetupError
from graph import Runtime, Services, parse_policy
from tests.fakes import SIGNING_SECRET, SlackAPI, slack_requests

from ..support import SLACK_POLICY


@pytest.fixture
def slack() -> Iterator[SlackAPI]:
    with SlackAPI() as running:
        yield running


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackAPI) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token or "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack.url.rstrip("/"))  # the bot adds the slash
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    return tmp_path


@pytest.fixture
def runtime(env: Path, services: Services) -> Iterator[Runtime]:
    rt = open_runtime(load_settings(), services=services, policy=parse_policy(SLACK_POLICY))
    yield rt
    rt.close()


def test_http_mode_serves_signed_requests_at_slack_events(
    runtime: Runtime, slack: SlackAPI
) -> None:
    stop = threading.Event()
    running = start_slack(load_settings(), runtime, stop, http_port=0)
    try:
        assert running.mode == "http" and running.url and running.url.endswith("/slack/events")
        request = slack_requests.slash_command("/keel", "help")
        answer = httpx.post(running.url, content=request.body, headers=request.headers)
        unsigned = httpx.post(
            running.url,
            content=request.body,
            headers={"Content-Type": request.headers["Content-Type"]},
        )
    finally:
        stop.set()
        running.stop()

    assert answer.status_code == 200 and "/keel start" in answer.text
    assert unsigned.status_code == 401
    # SLACK_API_URL took every call there; the policy's Slack users were checked at start.
    assert slack.calls("auth.test")[0].token == "xoxb-test"
    assert sorted(c.params["user"] for c in slack.calls("users.info")) == sorted(
        runtime.policy.slack.users
    )


def test_socket_mode_uses_the_app_token(
    runtime: Runtime, slack: SlackAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-not-known-to-slack")

    with pytest.raises(SlackSetupError, match=r"SLACK_APP_TOKEN was not accepted.*invalid_auth"):
        start_slack(load_settings(), runtime, threading.Event())

    [opened] = slack.calls("apps.connections.open")
    assert opened.token == "xapp-not-known-to-slack"


def test_http_mode_without_a_signing_secret_is_refused(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")

    with pytest.raises(SlackNotConfigured, match="SLACK_SIGNING_SECRET"):
        start_slack(load_settings(), runtime, threading.Event())


def test_a_bot_token_slack_rejects_stops_start_up(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")

    with pytest.raises(SlackSetupError, match=r"SLACK_BOT_TOKEN was not accepted.*invalid_auth"):
        start_slack(load_settings(), runtime, threading.Event())


def test_a_slack_user_in_policy_the_workspace_does_not_know_stops_start_up(
    runtime: Runtime, slack: SlackAPI
) -> None:
    slack.fail_next("users.info", "user_not_found")

    with pytest.raises(
        SlackSetupError, match=r"\[slack.users\] U0000\w+ = '\w+': .*user_not_found"
    ):
        start_slack(load_settings(), runtime, threading.Event(), http_port=0)
