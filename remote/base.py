"""HttpConnector: one service's HTTP calls with timeouts, retries, a breaker and a rate limit.

A call (``request``) is tried up to ``RetryPolicy.attempts`` times by tenacity. Each
attempt goes through its operation's circuit (``remote.breaker``: one circuit per
operation, so a failing endpoint does not stop calls to healthy ones), which counts
only retryable failures; inside the circuit the attempt waits for a rate-limit token
and sends the request once. Backoff and the token bucket sleep with the injected
``sleep``; the bucket and the circuits' reset timeout run on the injected ``clock``.

Only retryable failures are retried: transport errors, timeouts, 5xx and 429 (after
its ``Retry-After``). A POST or PATCH is retried only when it carries an idempotency
key — the same key on every attempt —, when the caller says it changes nothing (an
embedding), or when the failure proves nothing was done (the connection never opened,
or a 429).

Nothing holds a lock while a request is in flight, so threads may share one connector
and its calls run in parallel.
"""

from __future__ import annotations

import json as jsonlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx
import tenacity
from pydantic import BaseModel, ConfigDict, Field

from remote.breaker import (
    BreakerPolicy,
    Circuit,
    CircuitBreaker,
    CircuitRefused,
    CircuitState,
)
from remote.errors import (
    BadRequest,
    CircuitOpen,
    ConnectorError,
    NotFound,
    PermanentError,
    TransientError,
    Unauthorized,
    Unprocessable,
    describe_field_errors,
)
from remote.ratelimit import RateLimit, TokenBucket

__all__ = ["AttemptFailed", "Attempts", "BreakerPolicy", "HttpConnector", "RetryPolicy", "retrying"]

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_TRANSPORT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
# Failures that prove the request never reached the service.
UNSENT_TRANSPORT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RetryPolicy(BaseModel):
    """How a connector retries a retryable failure."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    attempts: int = Field(5, ge=1)
    """Tries in all, the first included."""
    initial_backoff: float = Field(0.5, ge=0)
    """Seconds before the first retry; doubled for each retry after it."""
    max_backoff: float = Field(30.0, ge=0)
    """Ceiling on one backoff sleep."""
    jitter: float = Field(0.5, ge=0)
    """Up to this many random seconds added to each backoff, to spread retries out."""
    max_retry_after: float = Field(60.0, ge=0)
    """Ceiling on a server's ``Retry-After``."""


DEFAULT_RETRY = RetryPolicy()
DEFAULT_BREAKER = BreakerPolicy()
DEFAULT_RATE_LIMIT = RateLimit()


class AttemptFailed(Exception):
    """One attempt failed in a way that may succeed if repeated (internal to the retry loop)."""

    def __init__(
        self,
        detail: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        unsent: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code
        self.retry_after = retry_after
        self.unsent = unsent


class Attempts:
    """Wraps one call's attempt function; remembers whether any attempt may have been acted on."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.touched = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.fn(*args, **kwargs)
        except AttemptFailed as failure:
            self.touched |= not failure.unsent
            raise


def retrying(
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    should_retry: Callable[[BaseException], bool],
    on_retry: Callable[[tenacity.RetryCallState], None],
) -> tenacity.Retrying:
    """The retry loop every connector uses: backoff with jitter, or the server's Retry-After."""
    backoff = tenacity.wait_exponential_jitter(
        multiplier=policy.initial_backoff, max=policy.max_backoff, jitter=policy.jitter
    )

    def wait(state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, AttemptFailed) and failure.retry_after is not None:
            return min(failure.retry_after, policy.max_retry_after)
        return backoff(state)

    return tenacity.Retrying(
        sleep=sleep,
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=wait,
        retry=tenacity.retry_if_exception(should_retry),
        before_sleep=on_retry,
        reraise=True,
    )


class HttpConnector:
    """Calls one HTTP service through an injected ``httpx.Client``; see the module docstring."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        name: str,
        retry: RetryPolicy = DEFAULT_RETRY,
        breaker: BreakerPolicy = DEFAULT_BREAKER,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        timeout: float | httpx.Timeout = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        owns_client: bool = False,
    ) -> None:
        self.client = client
        self.name = name
        self.retry = retry
        self.breaker_policy = breaker
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._sleep = sleep
        self._bucket = TokenBucket(rate_limit, clock=clock, sleep=sleep) if rate_limit else None
        self._breaker = CircuitBreaker(
            name, breaker, clock=clock, is_failure=lambda exc: isinstance(exc, AttemptFailed)
        )
        self._owns_client = owns_client

    def circuit(self, operation: str) -> CircuitState:
        """The operation's circuit: ``"closed"``, ``"open"`` or ``"half-open"``."""
        return self._breaker.state(operation)

    @property
    def circuits(self) -> dict[str, CircuitState]:
        """The circuit of every operation called so far, by operation."""
        return self._breaker.states()

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        target: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        changes_nothing: bool = False,
    ) -> dict[str, Any]:
        """Send one call (retried as the policy allows) and return its JSON object.

        ``operation`` and ``target`` ("order 1042") name the call in errors and logs.
        ``changes_nothing`` marks a POST that only computes (a search, an embedding), so
        it is retried like a GET.
        Raises ``TransientError`` (or ``CircuitOpen``) and ``PermanentError`` subclasses.
        """
        method = method.upper()
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        request = self.client.build_request(
            method,
            path,
            json=json,
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers=headers,
            timeout=self._timeout,
        )
        context: dict[str, Any] = {
            "connector": self.name,
            "operation": operation,
            "target": target,
            "idempotency_key": idempotency_key,
            "method": method,
            "url": str(request.url),
        }
        repeatable = method in IDEMPOTENT_METHODS or idempotency_key is not None or changes_nothing
        loop = retrying(
            self.retry,
            sleep=self._sleep,
            should_retry=lambda exc: isinstance(exc, AttemptFailed) and (repeatable or exc.unsent),
            on_retry=lambda state: _log_retry(state, context, self.retry.attempts),
        )
        attempt = Attempts(self._attempt)
        try:
            return loop(attempt, self._breaker.circuit(operation), request, context)
        except CircuitOpen as exc:
            exc.unprocessed = not attempt.touched
            raise
        except AttemptFailed as failure:
            attempts = loop.statistics.get("attempt_number", 1)
            if repeatable or failure.unsent:
                detail = f"{failure.detail} (gave up after {attempts} attempts)"
            else:
                detail = f"{failure.detail} (not retried: a {method} without an idempotency key)"
            raise TransientError(
                detail,
                status_code=failure.status_code,
                attempts=attempts,
                unprocessed=not attempt.touched,
                **context,
            ) from (failure.__cause__ or failure)

    def close(self) -> None:
        """Close the HTTP client if this connector built it (``connect``)."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _attempt(
        self, circuit: Circuit, request: httpx.Request, context: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return circuit.call(self._exchange, request, context)
        except CircuitRefused as refused:
            raise CircuitOpen(_refusal(refused), **context) from None

    def _exchange(self, request: httpx.Request, context: dict[str, Any]) -> dict[str, Any]:
        if self._bucket is not None:
            self._bucket.acquire()
        try:
            response = self.client.send(request)
        except RETRYABLE_TRANSPORT_ERRORS as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise AttemptFailed(detail, unsent=isinstance(exc, UNSENT_TRANSPORT_ERRORS)) from exc
        except httpx.TransportError as exc:  # e.g. UnsupportedProtocol: our bug, not the network
            raise PermanentError(f"could not send the request: {exc}", **context) from exc

        status = response.status_code
        if status == 429 or status >= 500:
            raise AttemptFailed(
                f"{status} {response.reason_phrase}{_error_suffix(response)}",
                status_code=status,
                retry_after=_retry_after(response),
                unsent=status in (429, 503),  # "not handled": the service did nothing
            )
        if status >= 400:
            raise _permanent_error(response, context)
        if status >= 300:  # redirects are not followed: a moved API is a configuration error
            where = response.headers.get("Location", "nowhere")
            detail = f"{status} {response.reason_phrase} to {where}"
            raise PermanentError(detail, status_code=status, **context)
        return _json_object(response, context)


def _permanent_error(response: httpx.Response, context: dict[str, Any]) -> ConnectorError:
    status = response.status_code
    errors = _errors(_json_or_none(response))
    context = {**context, "status_code": status}
    if status == 422 and isinstance(errors, dict):
        field_errors = {
            str(name): [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
            for name, msgs in errors.items()
        }
        return Unprocessable(
            describe_field_errors(field_errors), field_errors=field_errors, **context
        )
    detail = _error_text(errors) or f"HTTP {status} {response.reason_phrase}"
    if status == 404:
        return NotFound(detail, **context)
    if status in (401, 403):
        return Unauthorized(detail, **context)
    if status == 422:
        return Unprocessable(detail, **context)
    return BadRequest(detail, **context)


def _errors(body: Any) -> Any:
    """What an error body says went wrong: Shopify's ``errors``, OpenAI's ``error`` or
    Voyage's (and FastAPI's) ``detail``."""
    if not isinstance(body, dict):
        return None
    return next((body[key] for key in ("errors", "error", "detail") if key in body), None)


def _error_text(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, dict) and isinstance(message := errors.get("message"), str):
        return message
    if isinstance(errors, dict):
        return describe_field_errors(
            {str(k): v if isinstance(v, list) else [str(v)] for k, v in errors.items()}
        )
    if isinstance(errors, list):
        return "; ".join(str(e) for e in errors)
    return ""


def _error_suffix(response: httpx.Response) -> str:
    text = _error_text(_errors(_json_or_none(response)))
    return f": {text}" if text and text != response.reason_phrase else ""


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _json_object(response: httpx.Response, context: dict[str, Any]) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        body = jsonlib.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PermanentError(
            f"expected a JSON object, got {response.headers.get('content-type', 'no type')}",
            status_code=response.status_code,
            unprocessed=False,  # a 2xx: the service acted, we just cannot read its answer
            **context,
        )
    return body


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP-date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        until = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    # Measure against the response's own Date so client clock skew cancels out.
    try:
        now = parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        now = datetime.now(UTC)
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (until - now).total_seconds())


def _refusal(refused: CircuitRefused) -> str:
    if refused.state is CircuitState.HALF_OPEN:
        return "circuit half-open and its one trial request in flight; nothing sent"
    return (
        f"circuit open after {refused.fail_max} failures in a row; "
        f"nothing sent (retry in {max(1, math.ceil(refused.retry_in))}s)"
    )


def _log_retry(state: tenacity.RetryCallState, context: dict[str, Any], attempts: int) -> None:
    failure = state.outcome.exception() if state.outcome else None
    delay = state.next_action.sleep if state.next_action else 0.0
    logger.warning(
        "%s: %s %s %s attempt %d/%d failed (%s); retrying in %.2fs%s",
        context["connector"],
        context["operation"],
        context["method"],
        context["url"],
        state.attempt_number,
        attempts,
        failure,
        delay,
        f" with Idempotency-Key {context['idempotency_key']}" if context["idempotency_key"] else "",
    )
