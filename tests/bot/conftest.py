"""The Slack bot under test: the real Bolt app in HTTP mode behind our HTTP server, the real
slack_sdk client against the loopback Web API fake, a real runtime against the sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import SlackBot, web_client
from bot.http import SlackHTTPServer
from bot.ledger import Ledger
from connectors.offline import OfflineModel
from graph import ManualClock, Runtime, Services, parse_policy
from graph.assistant import Assistant
from graph.router import Router
from memory import HashingEmbedder
from tests.fakes import SIGNING_SECRET, SlackAPI
from tests.fakes.slack_requests import SignedRequest

from ..support import CLEO, MARIA, OLIVIA, SAM, SLACK_CHANNEL, SLACK_POLICY

__all__ = ["CHANNEL", "CLEO", "MARIA", "OLIVIA", "SAM", "SLACK_POLICY"]

CHANNEL = SLACK_CHANNEL


@pytest.fixture
def slack() -> Iterator[SlackAPI]:
    with SlackAPI() as running:
        yield running


@pytest.fixture
def slack_policy() -> str:
    """The policy text; a test parametrizes `slack_policy` to run under other rules."""
    return SLACK_POLICY


@pytest.fixture
def slack_runtime(
    home: Path, services: Services, clock: ManualClock, slack_policy: str
) -> Iterator[Runtime]:
    rt = Runtime.open(
        home, services=services, policy=parse_policy(slack_policy), clock=clock, workers=2
    )
    rt.router = Router(
        store=rt.store,
        clock=clock,
        models=rt.policy.models,
        offline=OfflineModel(HashingEmbedder()),
    )
    yield rt
    rt.close()


@pytest.fixture
def bot(slack_runtime: Runtime, slack: SlackAPI, home: Path) -> Iterator[SlackBot]:
    client = web_client(slack.token or "xoxb-test", slack.url)
    running = SlackBot(
        slack_runtime,
        Assistant(slack_runtime, slack_runtime.router),  # type: ignore[arg-type]
        client,
        Ledger.open(home / "slack.db"),
        signing_secret=SIGNING_SECRET,
    )
    yield running
    running.close()


@pytest.fixture
def server(bot: SlackBot) -> Iterator[SlackHTTPServer]:
    with SlackHTTPServer(bot, port=0) as running:
        yield running


Deliver = Callable[[SignedRequest], httpx.Response]


@pytest.fixture
def deliver(server: SlackHTTPServer, bot: SlackBot) -> Iterator[Deliver]:
    """POST a signed request as Slack would, then wait for the work it set off."""
    with httpx.Client(timeout=10) as http:

        def post(request: SignedRequest, *, settle: bool = True) -> httpx.Response:
            response = http.post(server.url, content=request.body, headers=request.headers)
            if settle:
                assert bot.settle(30), "the bot did not settle"
            return response

        yield post


def texts(blocks: list[dict[str, Any]]) -> str:
    """All the text a person sees in some blocks."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value", ""))
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]
    ]
