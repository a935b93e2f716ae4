"""HttpConnector's retries, breaker, rate limit and error mapping, over httpx.MockTransport."""

from __future__ import annotations

import json
import logging
import pickle
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from connectors import (
    BadRequest,
    BreakerPolicy,
    CircuitOpen,
    HttpConnector,
    NotFound,
    PermanentError,
    RateLimit,
    RetryPolicy,
    TransientError,
    Unauthorized,
    Unprocessable,
)
from remote.ratelimit import TokenBucket

NO_JITTER = RetryPolicy(attempts=5, initial_backoff=0.5, max_backoff=30, jitter=0)
LENIENT_BREAKER = BreakerPolicy(fail_max=50, reset_timeout=30)
Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A clock that only moves when someone sleeps on it; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """A MockTransport handler that answers from a script and keeps every request."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def ok(body: dict | None = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {"ok": True})


def connector(
    recorder: Recorder,
    time: FakeTime,
    *,
    retry: RetryPolicy = NO_JITTER,
    breaker: BreakerPolicy = LENIENT_BREAKER,
    rate_limit: RateLimit | None = None,
) -> HttpConnector:
    client = httpx.Client(base_url="https://store.test", transport=httpx.MockTransport(recorder))
    return HttpConnector(
        client,
        name="store",
        retry=retry,
        breaker=breaker,
        rate_limit=rate_limit,
        timeout=httpx.Timeout(3.0, connect=1.0),
        sleep=time.sleep,
        clock=time.clock,
    )


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def test_a_5xx_is_retried_with_exponential_backoff_then_succeeds(time: FakeTime) -> None:
    recorder = Recorder(httpx.Response(503), httpx.Response(502), ok({"order": {"id": 1}}))

    body = connector(recorder, time).request("GET", "/orders/1.json", operation="get_order")

    assert body == {"order": {"id": 1}}
    assert len(recorder.requests) == 3
    assert time.sleeps == [0.5, 1.0]


def test_backoff_has_jitter_within_its_bound_and_a_ceiling(time: FakeTime) -> None:
    policy = RetryPolicy(attempts=6, initial_backoff=1, max_backoff=4, jitter=0.25)
    recorder = Recorder(
        httpx.Response(500),
        httpx.Response(500),
        httpx.Response(500),
        httpx.Response(500),
        httpx.Response(500),
        ok(),
    )

    connector(recorder, time, retry=policy).request("GET", "/x", operation="x")

    bases = [1, 2, 4, 4, 4]
    assert len(time.sleeps) == 5
    for slept, base in zip(time.sleeps, bases, strict=True):
        assert base <= slept <= min(base + 0.25, 4)


def test_a_429_waits_its_retry_after_seconds(time: FakeTime) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": "slow down"})
    recorder = Recorder(limited, ok())

    connector(recorder, time).request("GET", "/orders.json", operation="list_orders")

    assert time.sleeps == [7.0]
    assert len(recorder.requests) == 2


def test_a_429_retry_after_http_date_is_measured_from_the_response_date(time: FakeTime) -> None:
    limited = httpx.Response(
        429,
        headers={
            "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
            "Retry-After": "Wed, 21 Oct 2026 07:28:12 GMT",
        },
    )
    recorder = Recorder(limited, ok())

    connector(recorder, time).request("GET", "/orders.json", operation="list_orders")

    assert time.sleeps == [12.0]


def test_a_retry_after_beyond_the_cap_is_capped(time: FakeTime) -> None:
    policy = NO_JITTER.model_copy(update={"max_retry_after": 20})
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "3600"}), ok())

    connector(recorder, time, retry=policy).request("GET", "/x", operation="x")

    assert time.sleeps == [20]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"errors": "malformed JSON body"}, BadRequest),
        (401, {"errors": "[API] Invalid API key or access token"}, Unauthorized),
        (403, {"errors": "forbidden"}, Unauthorized),
        (404, {"errors": "Not Found"}, NotFound),
        (409, {"errors": "conflict"}, BadRequest),
        (422, {"errors": {"amount": ["exceeds refundable amount 12.00"]}}, Unprocessable),
    ],
)
def test_a_4xx_is_never_retried_and_maps_to_its_error(
    time: FakeTime, status: int, body: dict, error: type[PermanentError]
) -> None:
    recorder = Recorder(httpx.Response(status, json=body))

    with pytest.raises(error) as raised:
        connector(recorder, time).request(
            "POST",
            "/orders/1042/refunds.json",
            operation="create_refund",
            target="order 1042",
            json={"refund": {}},
            idempotency_key="k-1",
        )

    assert len(recorder.requests) == 1
    assert time.sleeps == []
    assert raised.value.status_code == status
    assert raised.value.idempotency_key == "k-1"


def test_a_422_carries_field_errors_and_reads_as_a_sentence(time: FakeTime) -> None:
    errors = {"amount": ["exceeds refundable amount 12.00"], "note": ["is too long"]}
    recorder = Recorder(httpx.Response(422, json={"errors": errors}))

    with pytest.raises(Unprocessable) as raised:
        connector(recorder, time).request(
            "POST",
            "/orders/1042/refunds.json",
            operation="create_refund",
            target="order 1042",
            idempotency_key="k-1",
        )

    assert raised.value.field_errors == errors
    assert str(raised.value) == (
        "store: create_refund on order 1042 failed: "
        "amount exceeds refundable amount 12.00; note is too long"
    )


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("server closed the connection"),
        httpx.ReadTimeout("timed out"),
    ],
)
def test_a_transport_error_is_retried(time: FakeTime, failure: Exception) -> None:
    recorder = Recorder(failure, ok())

    body = connector(recorder, time).request("GET", "/orders/1.json", operation="get_order")

    assert body == {"ok": True}
    assert len(recorder.requests) == 2
    assert time.sleeps == [0.5]


def test_exhausted_retries_raise_a_transient_error_with_context(time: FakeTime) -> None:
    recorder = Recorder(httpx.Response(503, json={"errors": "Service Unavailable"}))

    with pytest.raises(TransientError) as raised:
        connector(recorder, time).request(
            "POST",
            "/orders/1042/refunds.json",
            operation="create_refund",
            target="order 1042",
            json={"refund": {"amount": "10.00"}},
            idempotency_key="k-7",
        )

    error = raised.value
    assert type(error) is TransientError
    assert len(recorder.requests) == 5
    assert time.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert error.context() == {
        "error": "TransientError",
        "message": "store: create_refund on order 1042 failed: "
        "503 Service Unavailable (gave up after 5 attempts)",
        "detail": "503 Service Unavailable (gave up after 5 attempts)",
        "connector": "store",
        "operation": "create_refund",
        "target": "order 1042",
        "status_code": 503,
        "idempotency_key": "k-7",
        "method": "POST",
        "url": "https://store.test/orders/1042/refunds.json",
        "attempts": 5,
        "unprocessed": True,
    }
    assert error.request == "POST https://store.test/orders/1042/refunds.json"


def test_one_ambiguous_attempt_means_the_call_may_have_happened(time: FakeTime) -> None:
    # 503 and 429 say "not handled"; a 502 may come after the service acted.
    recorder = Recorder(
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(429),
        httpx.Response(503),
    )

    with pytest.raises(TransientError) as raised:
        connector(recorder, time).request(
            "POST",
            "/orders/1/refunds.json",
            operation="create_refund",
            json={},
            idempotency_key="k-8",
        )

    assert raised.value.unprocessed is False


def test_a_refusal_proves_nothing_was_done(time: FakeTime) -> None:
    recorder = Recorder(httpx.Response(422, json={"errors": {"amount": ["too much"]}}))
    with pytest.raises(PermanentError) as raised:
        connector(recorder, time).request(
            "POST",
            "/orders/1/refunds.json",
            operation="create_refund",
            json={},
            idempotency_key="k-9",
        )
    assert raised.value.unprocessed is True


def test_exhausted_transport_retries_chain_the_httpx_error(time: FakeTime) -> None:
    recorder = Recorder(httpx.ConnectError("connection refused"))

    with pytest.raises(TransientError) as raised:
        connector(recorder, time).request("GET", "/x", operation="x")

    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert "ConnectError: connection refused (gave up after 5 attempts)" in str(raised.value)


def test_every_attempt_sends_the_same_idempotency_key_and_body(time: FakeTime) -> None:
    recorder = Recorder(httpx.Response(502), httpx.ReadError("reset"), ok({"refund": {}}, 201))

    connector(recorder, time).request(
        "POST",
        "/orders/1/refunds.json",
        operation="create_refund",
        json={"refund": {"amount": "10.00"}},
        idempotency_key="run-1:refund:0",
    )

    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == ["run-1:refund:0"] * 3
    assert {r.content for r in recorder.requests} == {b'{"refund":{"amount":"10.00"}}'}


def test_a_post_without_a_key_is_not_retried_once_it_may_have_been_applied(
    time: FakeTime,
) -> None:
    recorder = Recorder(httpx.Response(502))

    with pytest.raises(TransientError, match="not retried"):
        connector(recorder, time).request("POST", "/x", operation="x", json={})

    assert len(recorder.requests) == 1


def test_a_post_without_a_key_is_retried_when_nothing_was_sent(time: FakeTime) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), httpx.Response(429), ok())

    connector(recorder, time).request("POST", "/x", operation="x", json={})

    assert len(recorder.requests) == 3
    assert "Idempotency-Key" not in recorder.requests[0].headers


def test_requests_carry_the_connector_timeout(time: FakeTime) -> None:
    recorder = Recorder(ok())

    connector(recorder, time).request("GET", "/x", operation="x")

    assert recorder.requests[0].extensions["timeout"] == {
        "connect": 1.0,
        "read": 3.0,
        "write": 3.0,
        "pool": 3.0,
    }


def test_none_params_are_left_out_of_the_query(time: FakeTime) -> None:
    recorder = Recorder(ok())

    connector(recorder, time).request(
        "GET", "/orders.json", operation="list_orders", params={"limit": 5, "since_id": None}
    )

    assert str(recorder.requests[0].url) == "https://store.test/orders.json?limit=5"


def test_a_success_that_is_not_a_json_object_is_a_permanent_error(time: FakeTime) -> None:
    recorder = Recorder(httpx.Response(200, text="<html>maintenance</html>"))

    with pytest.raises(PermanentError, match="expected a JSON object"):
        connector(recorder, time).request("GET", "/x", operation="x")
    assert len(recorder.requests) == 1


def test_an_empty_success_is_an_empty_object(time: FakeTime) -> None:
    assert connector(Recorder(httpx.Response(204)), time).request("GET", "/x", operation="x") == {}


def test_the_breaker_opens_fails_fast_then_half_opens(time: FakeTime) -> None:
    recorder = Recorder(httpx.Response(503))
    store = connector(
        recorder,
        time,
        retry=RetryPolicy(attempts=1, jitter=0),
        breaker=BreakerPolicy(fail_max=3, reset_timeout=30),
    )
    for _ in range(3):
        with pytest.raises(TransientError):
            store.request("GET", "/x", operation="x")
    assert store.circuit("x") == "open"

    with pytest.raises(CircuitOpen) as raised:
        store.request("GET", "/x", operation="x", idempotency_key="k")
    assert len(recorder.requests) == 3
    assert raised.value.idempotency_key == "k"
    assert "circuit open after 3 failures in a row; nothing sent (retry in 30s)" in str(
        raised.value
    )

    time.now += 29
    with pytest.raises(CircuitOpen, match="retry in 1s"):
        store.request("GET", "/x", operation="x")
    assert len(recorder.requests) == 3

    time.now += 1
    assert store.circuit("x") == "half-open"
    recorder.answers = [ok()]
    assert store.request("GET", "/x", operation="x") == {"ok": True}
    assert len(recorder.requests) == 4
    assert store.circuit("x") == "closed"


def test_a_failed_trial_call_reopens_the_breaker(time: FakeTime) -> None:
    recorder = Recorder(httpx.ConnectError("refused"))
    store = connector(
        recorder,
        time,
        retry=RetryPolicy(attempts=1, jitter=0),
        breaker=BreakerPolicy(fail_max=2, reset_timeout=10),
    )
    for _ in range(2):
        with pytest.raises(TransientError):
            store.request("GET", "/x", operation="x")

    time.now += 10
    with pytest.raises(TransientError) as raised:
        store.request("GET", "/x", operation="x")
    assert type(raised.value) is TransientError
    assert len(recorder.requests) == 3
    assert store.circuit("x") == "open"
    with pytest.raises(CircuitOpen):
        store.request("GET", "/x", operation="x")
    assert len(recorder.requests) == 3


def test_the_breaker_stops_a_retry_loop_without_more_requests(time: FakeTime) -> None:
    recorder = Recorder(httpx.Response(500))
    store = connector(recorder, time, breaker=BreakerPolicy(fail_max=2, reset_timeout=30))

    with pytest.raises(CircuitOpen):
        store.request("GET", "/x", operation="x")

    assert len(recorder.requests) == 2


def test_permanent_errors_do_not_count_towards_the_breaker(time: FakeTime) -> None:
    recorder = Recorder(httpx.Response(404, json={"errors": "Not Found"}))
    store = connector(recorder, time, breaker=BreakerPolicy(fail_max=2, reset_timeout=30))

    for _ in range(5):
        with pytest.raises(NotFound):
            store.request("GET", "/orders/9.json", operation="get_order")

    assert store.circuit("get_order") == "closed"
    assert len(recorder.requests) == 5


def test_the_rate_limit_spaces_requests(time: FakeTime) -> None:
    recorder = Recorder(ok())
    store = connector(recorder, time, rate_limit=RateLimit(per_second=2, burst=2))

    for _ in range(5):
        store.request("GET", "/x", operation="x")

    assert time.sleeps == [0.5, 0.5, 0.5]
    assert len(recorder.requests) == 5


def test_the_rate_limit_refills_while_idle(time: FakeTime) -> None:
    bucket = TokenBucket(RateLimit(per_second=4, burst=2), clock=time.clock, sleep=time.sleep)

    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.25]
    time.now += 10
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.25]
    assert time.sleeps == [0.25, 0.25]


def test_retries_are_logged(time: FakeTime, caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(httpx.Response(503), ok())

    with caplog.at_level(logging.WARNING, logger="remote.base"):
        connector(recorder, time).request(
            "POST", "/orders/1/refunds.json", operation="create_refund", idempotency_key="k-9"
        )

    assert caplog.messages == [
        (
            "store: create_refund POST https://store.test/orders/1/refunds.json attempt 1/5 "
            "failed (503 Service Unavailable); retrying in 0.50s with Idempotency-Key k-9"
        )
    ]


def test_errors_survive_pickling() -> None:
    error = Unprocessable(
        "amount exceeds refundable amount 12.00",
        field_errors={"amount": ["exceeds refundable amount 12.00"]},
        connector="store",
        operation="create_refund",
        target="order 1042",
        status_code=422,
    )

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is Unprocessable
    assert str(copy) == str(error)
    assert copy.field_errors == error.field_errors
    assert json.dumps(copy.context())  # plain data, ready for the event log


def test_the_breaker_logs_each_change_naming_the_operation(
    time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(httpx.Response(503))
    store = connector(
        recorder,
        time,
        retry=RetryPolicy(attempts=2, jitter=0),
        breaker=BreakerPolicy(fail_max=2, reset_timeout=30),
    )

    with caplog.at_level(logging.INFO, logger="remote.breaker"):
        with pytest.raises(TransientError):
            store.request("GET", "/x", operation="get_order")
        time.now += 30
        recorder.answers = [ok()]
        store.request("GET", "/x", operation="get_order")

    assert [(r.levelname, r.message) for r in caplog.records if r.name == "remote.breaker"] == [
        ("WARNING", "store: get_order circuit closed -> open"),
        ("INFO", "store: get_order circuit open -> half-open"),
        ("INFO", "store: get_order circuit half-open -> closed"),
    ]


def test_an_open_circuit_does_not_block_another_operation(time: FakeTime) -> None:
    def store_api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/inventory_levels/adjust.json":
            return httpx.Response(503)
        return ok({"refund": {"status": "voided"}})

    recorder = Recorder(store_api)
    store = connector(
        recorder,
        time,
        retry=RetryPolicy(attempts=1, jitter=0),
        breaker=BreakerPolicy(fail_max=2, reset_timeout=30),
    )
    for _ in range(2):
        with pytest.raises(TransientError):
            store.request(
                "POST",
                "/inventory_levels/adjust.json",
                operation="adjust_inventory",
                json={},
                idempotency_key="k-inv",
            )
    with pytest.raises(CircuitOpen):
        store.request(
            "POST",
            "/inventory_levels/adjust.json",
            operation="adjust_inventory",
            json={},
            idempotency_key="k-inv",
        )

    voided = store.request(
        "POST",
        "/orders/1/refunds/7/void.json",
        operation="void_refund",
        json={},
        idempotency_key="k-void",
    )

    assert voided == {"refund": {"status": "voided"}}
    assert [r.url.path for r in recorder.requests] == [
        "/inventory_levels/adjust.json",
        "/inventory_levels/adjust.json",
        "/orders/1/refunds/7/void.json",
    ]
    assert store.circuits == {"adjust_inventory": "open", "void_refund": "closed"}
    assert store.circuit("get_order") == "closed"  # never called


def test_one_connector_sends_concurrent_calls_in_parallel(time: FakeTime) -> None:
    second_arrived = threading.Event()
    arrivals: list[str] = []
    arrivals_lock = threading.Lock()

    def store_api(request: httpx.Request) -> httpx.Response:
        with arrivals_lock:
            arrivals.append(request.url.path)
            first = len(arrivals) == 1
        if not first:
            second_arrived.set()
        elif not second_arrived.wait(timeout=5):
            raise AssertionError("the second request waited for the first to finish")
        return ok({"path": request.url.path})

    store = connector(Recorder(store_api), time, retry=RetryPolicy(attempts=1, jitter=0))
    with ThreadPoolExecutor(max_workers=2) as pool:
        calls = [
            pool.submit(store.request, "GET", f"/orders/{n}.json", operation="get_order")
            for n in (1, 2)
        ]
        bodies = [call.result(timeout=10) for call in calls]

    assert bodies == [{"path": "/orders/1.json"}, {"path": "/orders/2.json"}]
    assert store.circuit("get_order") == "closed"


def test_a_half_open_circuit_lets_exactly_one_trial_through(time: FakeTime) -> None:
    trial_arrived = threading.Event()
    release_trial = threading.Event()

    def store_api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/down.json":
            return httpx.Response(503)
        trial_arrived.set()
        if not release_trial.wait(timeout=5):
            raise AssertionError("the trial request was never released")
        return ok()

    recorder = Recorder(store_api)
    store = connector(
        recorder,
        time,
        retry=RetryPolicy(attempts=1, jitter=0),
        breaker=BreakerPolicy(fail_max=1, reset_timeout=30),
    )
    with pytest.raises(TransientError):
        store.request("GET", "/down.json", operation="get_order")
    time.now += 30

    with ThreadPoolExecutor(max_workers=1) as pool:
        trial = pool.submit(store.request, "GET", "/orders/1.json", operation="get_order")
        assert trial_arrived.wait(timeout=5)
        with pytest.raises(CircuitOpen, match="its one trial request in flight") as raised:
            store.request("GET", "/orders/2.json", operation="get_order")
        release_trial.set()
        assert trial.result(timeout=10) == {"ok": True}

    assert raised.value.unprocessed is True
    assert [r.url.path for r in recorder.requests] == ["/down.json", "/orders/1.json"]
    assert store.circuit("get_order") == "closed"


def test_a_redirect_is_a_permanent_error_not_an_empty_success(time: FakeTime) -> None:
    moved = httpx.Response(301, headers={"Location": "https://elsewhere.test/x"})

    with pytest.raises(
        PermanentError, match=re.escape("301 Moved Permanently to https://elsewhere.test/x")
    ):
        connector(Recorder(moved), time).request("GET", "/x", operation="x")
