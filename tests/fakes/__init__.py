"""Fakes of outside services, run over loopback so tests exercise the real clients."""

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

__all__ = [
    "Answer",
    "Failure",
    "MessagesAPI",
    "RecordedRequest",
    "ToolUse",
    "bad_request",
    "overloaded",
    "rate_limited",
    "server_error",
    "tokens",
]
