"""How Keel calls outside services, below every package that does: one typed error tree,
retries with backoff, a circuit breaker, a rate limit, the HTTP client base every
connector and the hosted embedder build on, and the loopback HTTP server that the Slack
HTTP mode and the test fakes serve from."""

from remote.base import BreakerPolicy, HttpConnector, RetryPolicy
from remote.errors import (
    BadRequest,
    CircuitOpen,
    ConnectorError,
    NotFound,
    PermanentError,
    TransientError,
    Unauthorized,
    Unprocessable,
)
from remote.httpserver import BackgroundHTTPServer, Reply, Served
from remote.ratelimit import RateLimit

__all__ = [
    "BackgroundHTTPServer",
    "BadRequest",
    "BreakerPolicy",
    "CircuitOpen",
    "ConnectorError",
    "HttpConnector",
    "NotFound",
    "PermanentError",
    "RateLimit",
    "Reply",
    "RetryPolicy",
    "Served",
    "TransientError",
    "Unauthorized",
    "Unprocessable",
]
