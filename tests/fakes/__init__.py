"""Fakes of outside services, run over loopback so tests exercise the real clients."""

from . import slack_requests
from .messages_api import (
    Answer,
    Failure,
    MessagesAPI,
    RecordedRequest,
    ToolUse,
    bad_request,
    overloaded,
    rate_limited,
    server_error,
    tokens,
)
from .slack_api import BOT_ID, BOT_USER_ID, TEAM_ID, PostedMessage, SlackAPI, SlackCall
from .slack_requests import SIGNING_SECRET, SignedRequest

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "SIGNING_SECRET",
    "TEAM_ID",
    "Answer",
    "Failure",
    "MessagesAPI",
    "PostedMessage",
    "RecordedRequest",
    "SignedRequest",
    "SlackAPI",
    "SlackCall",
    "ToolUse",
    "bad_request",
    "overloaded",
    "rate_limited",
    "server_error",
    "slack_requests",
    "tokens",
]
