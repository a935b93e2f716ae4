"""The one error tree every connector raises, each error carrying the call's context.

    ConnectorError                 any failure of a connector call
    ├── TransientError             retryable, and the retries are spent (connection
    │   │                          errors, timeouts, 5xx, 429, SMTP 4xx); try later
    │   └── CircuitOpen            the breaker is open: failed fast, nothing was sent
    └── PermanentError             the service said no; repeating will not help
        │                          (raised as itself for SMTP 5xx and bad responses)
        ├── NotFound               404
        ├── Unauthorized           401 / 403
        ├── Unprocessable          422, with the API's field errors
        └── BadRequest             400 and any other 4xx

Every error reads as one sentence for a person, e.g.
``store: create_refund on order 1042 failed: amount exceeds refundable amount 12.00``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "BadRequest",
    "CircuitOpen",
    "ConnectorError",
    "NotFound",
    "PermanentError",
    "TransientError",
    "Unauthorized",
    "Unprocessable",
]


class ConnectorError(Exception):
    """A connector call failed; the attributes say which call and how."""

    UNPROCESSED = False

    def __init__(
        self,
        detail: str,
        *,
        connector: str,
        operation: str,
        target: str | None = None,
        status_code: int | None = None,
        idempotency_key: str | None = None,
        method: str | None = None,
        url: str | None = None,
        attempts: int | None = None,
        unprocessed: bool | None = None,
    ) -> None:
        self.detail = detail
        self.unprocessed = type(self).UNPROCESSED if unprocessed is None else unprocessed
        """True when the failure proves the service did nothing (every attempt refused unread)."""
        self.connector = connector
        self.operation = operation
        self.target = target
        self.status_code = status_code
        self.idempotency_key = idempotency_key
        self.method = method
        self.url = url
        self.attempts = attempts
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The sentence a person reads: who failed doing what, and why."""
        on = f" on {self.target}" if self.target else ""
        return f"{self.connector}: {self.operation}{on} failed: {self.detail}"

    @property
    def request(self) -> str | None:
        """``"POST https://…"`` when the failure concerns an HTTP request."""
        if self.method and self.url:
            return f"{self.method} {self.url}"
        return None

    def context(self) -> dict[str, Any]:
        """The error as plain data, for the event log."""
        return {"error": type(self).__name__, "message": self.message, **self.__dict__}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default pickling of exceptions.
        return (_rebuild, (type(self), dict(self.__dict__)))


class TransientError(ConnectorError):
    """A retryable failure that outlived its retries; the same call may work later."""


class CircuitOpen(TransientError):
    """The connector's circuit breaker is open, so the call failed without a request."""


class PermanentError(ConnectorError):
    """The service refused the request; sending it again will not change the answer."""

    UNPROCESSED = True


class NotFound(PermanentError):
    """The object does not exist (HTTP 404)."""


class Unauthorized(PermanentError):
    """The credentials are missing, wrong or lack the scope (HTTP 401 / 403)."""


class Unprocessable(PermanentError):
    """The request was understood but rejected on its content (HTTP 422)."""

    def __init__(
        self,
        detail: str,
        *,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        **context: Any,
    ) -> None:
        self.field_errors: dict[str, list[str]] = {
            name: list(messages) for name, messages in (field_errors or {}).items()
        }
        super().__init__(detail, **context)


class BadRequest(PermanentError):
    """The request was malformed or refused (HTTP 400 and other 4xx)."""


def describe_field_errors(field_errors: Mapping[str, Sequence[str]]) -> str:
    """``{"amount": ["exceeds refundable amount 12.00"]}`` → ``amount exceeds refundable …``."""
    parts = []
    for name, messages in field_errors.items():
        for text in messages:
            parts.append(text if text.lower().startswith(name.lower()) else f"{name} {text}")
    return "; ".join(parts)


def _rebuild(cls: type[ConnectorError], state: dict[str, Any]) -> ConnectorError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error.message)
    return error
