"""Fault injection for the sandbox's store API: errors, rate limits, latency, dropped links."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class FaultSettings(BaseModel):
    """What the sandbox does wrong, and how often; rates are fractions of eligible requests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(0.0, ge=0, le=1)
    """Answer 503 before doing anything."""
    error_after_rate: float = Field(0.0, ge=0, le=1)
    """Do the work, then answer 502: the client never learns it succeeded."""
    rate_limit_rate: float = Field(0.0, ge=0, le=1)
    """Answer 429 with Retry-After before doing anything."""
    retry_after: int = Field(1, ge=0)
    """Seconds sent in Retry-After."""
    latency_ms: int = Field(0, ge=0, le=60_000)
    """Sleep this long before handling a request."""
    drop_rate: float = Field(0.0, ge=0, le=1)
    """Close the connection with no response before doing anything."""
    drop_after_rate: float = Field(0.0, ge=0, le=1)
    """Do the work, then close the connection with no response."""
    seed: int | None = None
    """Seed for the dice, so a sequence of faults can be replayed."""
    paths: tuple[str, ...] = ()
    """When non-empty, faults apply only to paths containing one of these substrings."""


class Fault(Enum):
    """A fault chosen for one request."""

    DROP = "drop"
    ERROR = "error"
    RATE_LIMIT = "rate_limit"
    DROP_AFTER = "drop_after"
    ERROR_AFTER = "error_after"


class Faults:
    """The current fault settings and the dice that apply them; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._dice = random.Random()

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    def update(self, changes: Mapping[str, object]) -> FaultSettings:
        """Change the named settings, keep the rest; raises pydantic's ValidationError."""
        with self._lock:
            merged = FaultSettings.model_validate({**self._settings.model_dump(), **changes})
            self._settings = merged
            if "seed" in changes:
                self._dice = random.Random(merged.seed)
            return merged

    def clear(self) -> FaultSettings:
        with self._lock:
            self._settings = FaultSettings()
            self._dice = random.Random()
            return self._settings

    def latency(self, path: str) -> float:
        """Seconds to wait before handling a request to this path."""
        with self._lock:
            if not self._applies(path):
                return 0.0
            return self._settings.latency_ms / 1000

    def before(self, path: str) -> Fault | None:
        """The fault, if any, to answer with before doing anything."""
        with self._lock:
            if not self._applies(path):
                return None
            settings = self._settings
            return self._roll(
                (Fault.DROP, settings.drop_rate),
                (Fault.ERROR, settings.error_rate),
                (Fault.RATE_LIMIT, settings.rate_limit_rate),
            )

    def after(self, path: str) -> Fault | None:
        """The fault, if any, to answer with after the work is done."""
        with self._lock:
            if not self._applies(path):
                return None
            settings = self._settings
            return self._roll(
                (Fault.DROP_AFTER, settings.drop_after_rate),
                (Fault.ERROR_AFTER, settings.error_after_rate),
            )

    def _applies(self, path: str) -> bool:
        paths = self._settings.paths
        return not paths or any(part in path for part in paths)

    def _roll(self, *chances: tuple[Fault, float]) -> Fault | None:
        for fault, rate in chances:
            # Roll only for faults that are on, so a seeded sequence depends on those alone.
            if rate > 0 and self._dice.random() < rate:
                return fault
        return None
