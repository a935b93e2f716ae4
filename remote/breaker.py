"""A connector's circuit breaker: one circuit per operation, on an injected clock.

Each operation (``store:create_refund``, ``store:adjust_inventory``) has its own circuit,
made on its first call, so one failing endpoint cannot stop calls to the healthy ones.

    closed ── fail_max failures in a row ──▶ open ── reset_timeout ──▶ half-open
       ▲                                      ▲                            │
       │                                      └──── the trial fails ───────┤
       └───────────────── the trial succeeds ──────────────────────────────┘

While half-open, exactly one trial call is let through; every other call is refused
until its verdict is in. A circuit's lock guards only its state: it is never held
while a call is in flight, so calls through one circuit run in parallel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BreakerPolicy", "Circuit", "CircuitBreaker", "CircuitRefused", "CircuitState"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class BreakerPolicy(BaseModel):
    """When one operation's circuit opens and how long it stays open."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    fail_max: int = Field(5, ge=1)
    """Consecutive retryable failures (attempts, not calls) that open the circuit."""
    reset_timeout: float = Field(30.0, gt=0)
    """Seconds the circuit stays open before one trial request is let through."""


class CircuitState(StrEnum):
    """Where a circuit stands; each compares equal to its string value."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitRefused(Exception):
    """The circuit refused a call: it is open, or its one trial call is in flight."""

    def __init__(self, state: CircuitState, *, fail_max: int, retry_in: float) -> None:
        self.state = state
        self.fail_max = fail_max
        self.retry_in = retry_in
        """Seconds until the circuit half-opens; 0 while half-open."""
        super().__init__(f"circuit {state}")


class Circuit:
    """One operation's breaker state; ``call`` guards a call with it."""

    def __init__(
        self,
        connector: str,
        operation: str,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float],
        is_failure: Callable[[BaseException], bool],
    ) -> None:
        self.connector = connector
        self.operation = operation
        self.policy = policy
        self._clock = clock
        self._is_failure = is_failure
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        # Bumped on every transition, so a call admitted before one cannot sway the next state.
        self._generation = 0

    @property
    def state(self) -> CircuitState:
        """The state now; an open circuit whose reset timeout has passed reads half-open."""
        with self._lock:
            self._half_open_if_due()
            return self._state

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` if the circuit admits it, else raise ``CircuitRefused``.

        An exception ``is_failure`` accepts counts against the circuit; any other
        ``Exception`` means the service answered and counts as a success. A
        ``BaseException`` such as ``KeyboardInterrupt`` says nothing about the service.
        """
        generation = self._admit()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            failed = self._is_failure(exc) if isinstance(exc, Exception) else None
            self._settle(generation, failed)
            raise
        self._settle(generation, failed=False)
        return result

    def _admit(self) -> int:
        with self._lock:
            self._half_open_if_due()
            if self._state is CircuitState.OPEN:
                retry_in = self._opened_at + self.policy.reset_timeout - self._clock()
                raise CircuitRefused(self._state, fail_max=self.policy.fail_max, retry_in=retry_in)
            if self._state is CircuitState.HALF_OPEN:
                if self._trial_in_flight:
                    raise CircuitRefused(self._state, fail_max=self.policy.fail_max, retry_in=0.0)
                self._trial_in_flight = True
            return self._generation

    def _settle(self, generation: int, failed: bool | None) -> None:
        """Record a call's verdict: True failed, False succeeded, None no verdict."""
        with self._lock:
            if generation != self._generation:
                return
            if self._state is CircuitState.HALF_OPEN:  # only the trial is admitted half-open
                self._trial_in_flight = False
                if failed:
                    self._open()
                elif failed is False:
                    self._move(CircuitState.CLOSED)
            elif failed:
                self._failures += 1
                if self._failures >= self.policy.fail_max:
                    self._open()
            elif failed is False:
                self._failures = 0

    def _half_open_if_due(self) -> None:
        if self._state is not CircuitState.OPEN:
            return
        if self._clock() >= self._opened_at + self.policy.reset_timeout:
            self._move(CircuitState.HALF_OPEN)

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(CircuitState.OPEN)

    def _move(self, state: CircuitState) -> None:
        level = logging.WARNING if state is CircuitState.OPEN else logging.INFO
        logger.log(
            level, "%s: %s circuit %s -> %s", self.connector, self.operation, self._state, state
        )
        self._state = state
        self._failures = 0
        self._generation += 1


class CircuitBreaker:
    """A connector's circuits, one per operation, each made on the operation's first call."""

    def __init__(
        self,
        connector: str,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        is_failure: Callable[[BaseException], bool] = lambda exc: True,
    ) -> None:
        self.connector = connector
        self.policy = policy
        self._clock = clock
        self._is_failure = is_failure
        self._lock = threading.Lock()
        self._circuits: dict[str, Circuit] = {}

    def circuit(self, operation: str) -> Circuit:
        """The operation's circuit, made closed on first use."""
        with self._lock:
            circuit = self._circuits.get(operation)
            if circuit is None:
                circuit = self._circuits[operation] = Circuit(
                    self.connector,
                    operation,
                    self.policy,
                    clock=self._clock,
                    is_failure=self._is_failure,
                )
            return circuit

    def state(self, operation: str) -> CircuitState:
        """The operation's circuit state; closed for an operation never called."""
        with self._lock:
            circuit = self._circuits.get(operation)
        return circuit.state if circuit else CircuitState.CLOSED

    def states(self) -> dict[str, CircuitState]:
        """Every called operation's circuit state, by operation."""
        with self._lock:
            circuits = sorted(self._circuits.items())
        return {operation: circuit.state for operation, circuit in circuits}
