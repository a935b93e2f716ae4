"""The circuit breaker on its own: states, the one half-open trial, verdicts, logging, locking."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors import BreakerPolicy
from remote.breaker import CircuitBreaker, CircuitRefused, CircuitState


class Outage(Exception):
    """A failure that counts against the circuit."""


class Refusal(Exception):
    """The service answered "no": it is up, so this does not count."""


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def fail() -> None:
    raise Outage("503")


def succeed() -> str:
    return "done"


def refuse() -> None:
    raise Refusal("404")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(
        "store",
        BreakerPolicy(fail_max=3, reset_timeout=30),
        clock=clock,
        is_failure=lambda exc: isinstance(exc, Outage),
    )


def trip(breaker: CircuitBreaker, operation: str, times: int = 3) -> None:
    for _ in range(times):
        with pytest.raises(Outage):
            breaker.circuit(operation).call(fail)


def test_a_circuit_opens_after_fail_max_failures_in_a_row(breaker: CircuitBreaker) -> None:
    trip(breaker, "create_refund", times=2)
    assert breaker.state("create_refund") == CircuitState.CLOSED

    trip(breaker, "create_refund", times=1)

    assert breaker.state("create_refund") == CircuitState.OPEN
    with pytest.raises(CircuitRefused) as refused:
        breaker.circuit("create_refund").call(succeed)
    assert (refused.value.state, refused.value.fail_max, refused.value.retry_in) == (
        CircuitState.OPEN,
        3,
        30.0,
    )


@pytest.mark.parametrize("answer", [succeed, refuse])
def test_a_success_or_a_refusal_resets_the_count(
    breaker: CircuitBreaker, answer: Callable[[], object]
) -> None:
    circuit = breaker.circuit("get_order")
    trip(breaker, "get_order", times=2)
    with contextlib.suppress(Refusal):
        circuit.call(answer)

    trip(breaker, "get_order", times=2)

    assert circuit.state == CircuitState.CLOSED


def test_circuits_are_per_operation_and_made_on_first_use(breaker: CircuitBreaker) -> None:
    assert breaker.states() == {}

    trip(breaker, "adjust_inventory")
    assert breaker.circuit("void_refund").call(succeed) == "done"

    assert breaker.states() == {"adjust_inventory": "open", "void_refund": "closed"}
    assert breaker.state("get_order") == CircuitState.CLOSED
    assert "get_order" not in breaker.states()
    assert breaker.circuit("adjust_inventory") is breaker.circuit("adjust_inventory")


def test_it_half_opens_at_the_reset_timeout_on_the_clock(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    trip(breaker, "get_order")
    clock.now += 29.5
    with pytest.raises(CircuitRefused) as refused:
        breaker.circuit("get_order").call(succeed)
    assert refused.value.retry_in == 0.5

    clock.now += 0.5

    assert breaker.state("get_order") == CircuitState.HALF_OPEN
    assert breaker.circuit("get_order").call(succeed) == "done"
    assert breaker.state("get_order") == CircuitState.CLOSED


def test_a_failed_trial_reopens_for_a_fresh_timeout(breaker: CircuitBreaker, clock: Clock) -> None:
    trip(breaker, "get_order")
    clock.now += 30

    trip(breaker, "get_order", times=1)

    assert breaker.state("get_order") == CircuitState.OPEN
    clock.now += 29
    assert breaker.state("get_order") == CircuitState.OPEN
    clock.now += 1
    assert breaker.state("get_order") == CircuitState.HALF_OPEN


def test_only_one_trial_is_let_through_while_half_open(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    trip(breaker, "get_order")
    clock.now += 30
    circuit = breaker.circuit("get_order")
    refusals: list[CircuitRefused] = []

    def trial() -> str:
        for _ in range(2):
            with pytest.raises(CircuitRefused) as refused:
                circuit.call(succeed)
            refusals.append(refused.value)
        return "trial done"

    assert circuit.call(trial) == "trial done"
    assert [(r.state, r.retry_in) for r in refusals] == [(CircuitState.HALF_OPEN, 0.0)] * 2
    assert circuit.state == CircuitState.CLOSED


def test_an_interrupted_trial_leaves_room_for_another(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    trip(breaker, "get_order")
    clock.now += 30
    circuit = breaker.circuit("get_order")

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        circuit.call(interrupted)

    assert circuit.state == CircuitState.HALF_OPEN
    assert circuit.call(succeed) == "done"
    assert circuit.state == CircuitState.CLOSED


def test_a_call_admitted_before_the_circuit_opened_does_not_close_it(
    breaker: CircuitBreaker,
) -> None:
    circuit = breaker.circuit("get_order")

    def slow_call_during_an_outage() -> str:
        trip(breaker, "get_order")
        return "done late"

    assert circuit.call(slow_call_during_an_outage) == "done late"
    assert circuit.state == CircuitState.OPEN


def test_no_lock_is_held_while_a_call_is_in_flight(breaker: CircuitBreaker) -> None:
    circuit = breaker.circuit("get_order")
    in_flight = threading.Barrier(2, timeout=5)

    def meet() -> str:
        in_flight.wait()  # breaks (and raises) if the other call cannot start meanwhile
        return "met"

    with ThreadPoolExecutor(max_workers=2) as pool:
        calls = [pool.submit(circuit.call, meet) for _ in range(2)]
        assert [call.result(timeout=10) for call in calls] == ["met", "met"]


def test_each_change_is_logged_once_naming_connector_and_operation(
    breaker: CircuitBreaker, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="remote.breaker"):
        trip(breaker, "create_refund")
        clock.now += 30
        trip(breaker, "create_refund", times=1)
        clock.now += 30
        breaker.circuit("create_refund").call(succeed)
        breaker.circuit("create_refund").call(succeed)

    assert [(r.levelname, r.message) for r in caplog.records] == [
        ("WARNING", "store: create_refund circuit closed -> open"),
        ("INFO", "store: create_refund circuit open -> half-open"),
        ("WARNING", "store: create_refund circuit half-open -> open"),
        ("INFO", "store: create_refund circuit open -> half-open"),
        ("INFO", "store: create_refund circuit half-open -> closed"),
    ]
