"""Request, response and error shapes shared by the sandbox's routes, with their error texts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .db import Store
from .faults import Faults

Clock = Callable[[], datetime]

NOT_FOUND = "Not Found"
METHOD_NOT_ALLOWED = "Method Not Allowed"
INVALID_TOKEN = "[API] Invalid API key or access token"
SERVICE_UNAVAILABLE = "Service Unavailable (sandbox fault: error_rate)"
BAD_GATEWAY = "Bad Gateway (sandbox fault: error_after_rate)"
RATE_LIMITED = (
    "Exceeded 2 calls per second for api client. "
    "Reduce request rates to resume uninterrupted service."
)
INTERNAL_ERROR = "Internal Server Error"
KEY_REUSED = "was used with different parameters"


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """The ISO 8601 form every timestamp in the sandbox takes."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Response:
    """A JSON response: status, body and any extra headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(self.body).encode()


class ApiError(Exception):
    """A request the sandbox refuses, carrying the response that says why."""

    def __init__(self, status: int, errors: str | dict[str, list[str]]) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors

    def response(self) -> Response:
        return Response(self.status, {"errors": self.errors})

    @classmethod
    def not_found(cls) -> ApiError:
        return cls(404, NOT_FOUND)

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(400, message)

    @classmethod
    def invalid(cls, field_name: str, message: str) -> ApiError:
        return cls(422, {field_name: [message]})


@dataclass(frozen=True)
class Request:
    """An HTTP request as the routes see it; header names are lower-cased."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json_object(self, *, empty_means: dict[str, Any] | None = None) -> dict[str, Any]:
        """The body as a JSON object; malformed, truncated or non-object bodies are a 400."""
        if not self.body.strip() and empty_means is not None:
            return dict(empty_means)
        try:
            value = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError.bad_request(f"malformed JSON body: {error}") from error
        if not isinstance(value, dict):
            raise ApiError.bad_request("request body must be a JSON object")
        return value

    def int_param(self, name: str) -> int:
        """A numeric path segment; anything else names no resource, so it is a 404."""
        raw = self.params.get(name, "")
        if not raw.isdigit():
            raise ApiError.not_found()
        return int(raw)


@dataclass(frozen=True)
class Context:
    """What every route may use: the store, the fault settings, the token and the clock."""

    store: Store
    faults: Faults
    token: str
    clock: Clock = utc_now


@dataclass(frozen=True)
class Call:
    """One admin API call: the request, its connection (inside its transaction for POSTs),
    the time it is handled at and the idempotency key it carried."""

    request: Request
    conn: sqlite3.Connection
    now: str
    idempotency_key: str | None
