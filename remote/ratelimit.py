"""A token bucket that spaces a connector's requests, on an injected clock and sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RateLimit", "TokenBucket"]


class RateLimit(BaseModel):
    """How fast one connector may call its service."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    per_second: float = Field(2.0, gt=0)
    """Sustained requests per second (Shopify's REST limit is 2/s per store)."""
    burst: int = Field(10, ge=1)
    """Requests that may go out back to back after a quiet spell."""


class TokenBucket:
    """Hands out one token per request; a caller without a token sleeps until its turn.

    A caller reserves its token first (the balance may go negative) and then sleeps off
    the debt outside the lock, so concurrent callers queue fairly and a test's fake
    clock only has to advance when the injected ``sleep`` is called.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(limit.burst)
        self._updated = clock()

    def acquire(self) -> float:
        """Take one token, sleeping if the bucket is empty; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            refill = (now - self._updated) * self.limit.per_second
            self._tokens = min(float(self.limit.burst), self._tokens + refill) - 1.0
            self._updated = now
            wait = -self._tokens / self.limit.per_second if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
