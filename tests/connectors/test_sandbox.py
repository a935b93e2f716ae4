"""The sandbox store API, SMTP sink and control plane, driven over real loopback HTTP and SMTP."""

from __future__ import annotations

import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.sandbox import Sandbox

API = "/admin/api/2024-10"
REFUNDS_1042 = f"{API}/orders/1042/refunds.json"
ADJUST = f"{API}/inventory_levels/adjust.json"
MUG = 9001  # inventory item of the seeded Enamel Camp Mug
PRINT = 9019  # inventory item of the seeded Tide Chart Print


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.url, headers={"X-Shopify-Access-Token": sandbox.token}, timeout=5
    ) as client:
        yield client


def refund(api: httpx.Client, amount: str, key: str | None = None, **extra: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    body = {"refund": {"amount": amount, "currency": "USD", "note": "damaged", **extra}}
    return api.post(REFUNDS_1042, json=body, headers=headers)


def order_1042(api: httpx.Client) -> dict[str, Any]:
    response = api.get(f"{API}/orders/1042.json")
    assert response.status_code == 200
    return response.json()["order"]


def level(api: httpx.Client, item: int) -> int:
    levels = api.get(f"{API}/inventory_levels.json", params={"inventory_item_ids": str(item)})
    [found] = levels.json()["inventory_levels"]
    return found["available"]


def send_mail(sandbox: Sandbox, message_id: str | None, subject: str = "Your refund") -> None:
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = "amara.mensah@example.com"
    message["Subject"] = subject
    message["X-Keel-Order"] = "#1042"
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content("We have refunded 10.00 USD.")
    with smtplib.SMTP(sandbox.smtp_host, sandbox.smtp_port, timeout=5) as smtp:
        smtp.send_message(message)


# Reading orders


def test_get_order_returns_the_seeded_order(api: httpx.Client) -> None:
    response = api.get(f"{API}/orders/1042.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    order = response.json()["order"]
    assert {k: order[k] for k in ("id", "name", "currency", "total_price", "total_refunded")} == {
        "id": 1042,
        "name": "#1042",
        "currency": "USD",
        "total_price": "84.00",
        "total_refunded": "0.00",
    }
    assert order["financial_status"] == "paid"
    assert order["refunds"] == []
    assert order["email"] == order["customer"]["email"]
    assert order["customer"]["email"].endswith("@example.com")
    assert set(order["customer"]) == {"id", "first_name", "last_name", "email"}
    assert [(i["sku"], i["quantity"], i["price"]) for i in order["line_items"]] == [
        ("MUG-ENAMEL", 2, "18.00"),
        ("PRINT-TIDE-A3", 1, "48.00"),
    ]
    assert order["line_items"][0]["inventory_item_id"] == MUG


@pytest.mark.parametrize("order_id", ["9999", "abc", "1042abc", "-1"])
def test_unknown_or_non_integer_order_is_404(api: httpx.Client, order_id: str) -> None:
    response = api.get(f"{API}/orders/{order_id}.json")

    assert (response.status_code, response.json()) == (404, {"errors": "Not Found"})


@pytest.mark.parametrize("headers", [{}, {"X-Shopify-Access-Token": "wrong"}])
def test_missing_or_wrong_token_is_401(sandbox: Sandbox, headers: dict[str, str]) -> None:
    response = httpx.get(f"{sandbox.url}{API}/orders/1042.json", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"errors": "[API] Invalid API key or access token"}


def test_unknown_path_is_404_and_wrong_method_is_405(api: httpx.Client) -> None:
    assert api.get(f"{API}/customers.json").status_code == 404
    assert api.get("/nowhere").status_code == 404

    response = api.delete(f"{API}/orders/1042.json")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert api.get(ADJUST).status_code == 405


def test_orders_page_by_since_id_in_id_order(api: httpx.Client) -> None:
    first = api.get(f"{API}/orders.json", params={"limit": 5}).json()["orders"]
    after = api.get(f"{API}/orders.json", params={"limit": 50, "since_id": 1040}).json()["orders"]

    assert [o["id"] for o in first] == [1001, 1002, 1003, 1004, 1005]
    assert [o["id"] for o in after] == list(range(1041, 1049))
    assert api.get(f"{API}/orders.json", params={"limit": "many"}).status_code == 400


def test_seed_is_a_deterministic_mixed_shop(
    sandbox: Sandbox, api: httpx.Client, tmp_path: Path
) -> None:
    orders = api.get(f"{API}/orders.json", params={"limit": 250}).json()["orders"]
    products = api.get(f"{API}/products.json").json()["products"]

    assert [o["id"] for o in orders] == list(range(1001, 1049))
    totals = [Decimal(o["total_price"]) for o in orders]
    assert sum(t < 100 for t in totals) >= 10
    assert sum(t > 100 for t in totals) >= 10
    assert {o["financial_status"] for o in orders} == {"paid"}
    assert all(1 <= len(o["line_items"]) <= 3 for o in orders)
    assert len(products) == 24
    variants = [p["variants"] for p in products]
    assert all(len(v) == 1 and 5 <= v[0]["inventory_quantity"] <= 60 for v in variants)
    assert len({v[0]["sku"] for v in variants}) == 24
    with Sandbox(tmp_path / "twin.db") as twin:
        twin_orders = httpx.get(
            f"{twin.url}{API}/orders.json",
            params={"limit": 250},
            headers={"X-Shopify-Access-Token": twin.token},
        ).json()["orders"]
    assert twin_orders == orders


def test_inventory_levels_and_products_agree(api: httpx.Client) -> None:
    levels = api.get(f"{API}/inventory_levels.json", params={"inventory_item_ids": "9001,9019"})
    products = api.get(f"{API}/products.json").json()["products"]

    by_item = {v["inventory_item_id"]: v for p in products for v in p["variants"]}
    assert [(x["inventory_item_id"], x["sku"]) for x in levels.json()["inventory_levels"]] == [
        (MUG, "MUG-ENAMEL"),
        (PRINT, "PRINT-TIDE-A3"),
    ]
    for found in levels.json()["inventory_levels"]:
        assert found["available"] == by_item[found["inventory_item_id"]]["inventory_quantity"]


# Refunds


def test_refunds_move_total_refunded_and_financial_status(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    first = refund(api, "10.00")

    assert first.status_code == 201
    created = first.json()["refund"]
    assert {k: created[k] for k in ("order_id", "amount", "currency", "note", "status")} == {
        "order_id": 1042,
        "amount": "10.00",
        "currency": "USD",
        "note": "damaged",
        "status": "succeeded",
    }
    assert created["idempotency_key"] is None
    order = order_1042(api)
    assert (order["total_refunded"], order["financial_status"]) == ("10.00", "partially_refunded")
    assert order["refunds"] == [created]

    assert refund(api, "74.00").status_code == 201
    order = order_1042(api)
    assert (order["total_refunded"], order["financial_status"]) == ("84.00", "refunded")
    assert [(e["kind"], e["order_id"], e["amount"]) for e in sandbox.ledger()] == [
        ("refund", 1042, "10.00"),
        ("refund", 1042, "74.00"),
    ]


@pytest.mark.parametrize(
    "amount", ["84.01", "0", "0.00", "-5.00", "abc", "10.001", "1e2", "", " 10.00", 10]
)
def test_bad_amounts_are_422_and_perform_nothing(
    sandbox: Sandbox, api: httpx.Client, amount: Any
) -> None:
    response = refund(api, amount)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["amount"]
    assert sandbox.ledger() == []
    assert order_1042(api)["refunds"] == []


def test_over_refund_message_names_the_refundable_amount(api: httpx.Client) -> None:
    refund(api, "30.00")

    response = refund(api, "60.00")

    assert response.status_code == 422
    assert "54.00" in response.json()["errors"]["amount"][0]


@pytest.mark.parametrize(
    "body",
    [b'{"refund": {"amount": "1', b"not json", b"[]", b'{"amount": "1.00"}', b""],
)
def test_malformed_refund_requests_are_400(
    sandbox: Sandbox, api: httpx.Client, body: bytes
) -> None:
    response = api.post(REFUNDS_1042, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert isinstance(response.json()["errors"], str)
    assert sandbox.ledger() == []


def test_refund_on_unknown_order_is_404(sandbox: Sandbox, api: httpx.Client) -> None:
    response = api.post(f"{API}/orders/9999/refunds.json", json={"refund": {"amount": "1.00"}})

    assert response.status_code == 404
    assert sandbox.ledger() == []


def test_idempotent_retry_replays_without_refunding_again(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    first = refund(api, "10.00", key="refund-1042-a")
    again = refund(api, "10.00", key="refund-1042-a")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.json()["refund"]["idempotency_key"] == "refund-1042-a"
    assert order_1042(api)["total_refunded"] == "10.00"
    [effect] = sandbox.ledger()
    assert (effect["kind"], effect["idempotency_key"]) == ("refund", "refund-1042-a")
    listed = api.get(REFUNDS_1042).json()["refunds"]
    assert [r["idempotency_key"] for r in listed] == ["refund-1042-a"]


def test_reusing_a_key_with_other_parameters_is_422(sandbox: Sandbox, api: httpx.Client) -> None:
    refund(api, "10.00", key="k")

    other_body = refund(api, "11.00", key="k")
    other_path = api.post(
        f"{API}/orders/1041/refunds.json",
        json={"refund": {"amount": "10.00", "currency": "USD", "note": "damaged"}},
        headers={"Idempotency-Key": "k"},
    )

    expected = {"errors": {"idempotency_key": ["was used with different parameters"]}}
    assert (other_body.status_code, other_body.json()) == (422, expected)
    assert (other_path.status_code, other_path.json()) == (422, expected)
    assert len(sandbox.ledger()) == 1


def test_a_rejected_request_leaves_its_key_free(sandbox: Sandbox, api: httpx.Client) -> None:
    assert refund(api, "500.00", key="k").status_code == 422

    assert refund(api, "5.00", key="k").status_code == 201
    assert [e["amount"] for e in sandbox.ledger()] == ["5.00"]


def test_void_reverses_a_refund_once(sandbox: Sandbox, api: httpx.Client) -> None:
    created = refund(api, "20.00", key="r").json()["refund"]
    void_path = f"{API}/orders/1042/refunds/{created['id']}/void.json"

    voided = api.post(void_path, headers={"Idempotency-Key": "v"})
    replayed = api.post(void_path, headers={"Idempotency-Key": "v"})
    again = api.post(void_path, headers={"Idempotency-Key": "v2"})

    assert voided.status_code == 200
    assert voided.json()["refund"] == {**created, "status": "voided"}
    assert (replayed.status_code, replayed.json()) == (200, voided.json())
    assert again.status_code == 422
    order = order_1042(api)
    assert (order["total_refunded"], order["financial_status"]) == ("0.00", "paid")
    assert [(e["kind"], e["amount"], e["idempotency_key"]) for e in sandbox.ledger()] == [
        ("refund", "20.00", "r"),
        ("refund_void", "20.00", "v"),
    ]
    assert api.post(f"{API}/orders/1042/refunds/999/void.json").status_code == 404
    assert api.post(f"{API}/orders/1041/refunds/{created['id']}/void.json").status_code == 404


# Inventory


def test_inventory_adjust_applies_every_change_as_one_effect(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    mug, print_ = level(api, MUG), level(api, PRINT)

    response = api.post(
        ADJUST,
        json={
            "reason": "restock",
            "reference": "order #1042",
            "order_id": 1042,
            "changes": [
                {"inventory_item_id": MUG, "delta": 2},
                {"inventory_item_id": PRINT, "delta": -1},
            ],
        },
        headers={"Idempotency-Key": "restock-1042"},
    )

    assert response.status_code == 200
    body = response.json()
    assert [(x["inventory_item_id"], x["available"]) for x in body["inventory_levels"]] == [
        (MUG, mug + 2),
        (PRINT, print_ - 1),
    ]
    assert (level(api, MUG), level(api, PRINT)) == (mug + 2, print_ - 1)
    [effect] = sandbox.ledger(kind="restock")
    assert (effect["order_id"], effect["idempotency_key"]) == (1042, "restock-1042")
    assert effect["detail"]["reference"] == "order #1042"
    assert effect["detail"]["adjustment_id"] == body["adjustment_id"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"inventory_item_id": 424242, "delta": 1}, 404),
        ({"inventory_item_id": PRINT, "delta": -1000}, 422),
        ({"inventory_item_id": PRINT, "delta": 1.5}, 422),
        ({"inventory_item_id": PRINT, "delta": "2"}, 422),
    ],
)
def test_inventory_adjust_is_all_or_nothing(
    sandbox: Sandbox, api: httpx.Client, change: dict[str, Any], status: int
) -> None:
    before = level(api, MUG)

    response = api.post(ADJUST, json={"changes": [{"inventory_item_id": MUG, "delta": 3}, change]})

    assert response.status_code == status
    assert level(api, MUG) == before
    assert sandbox.ledger() == []


def test_inventory_adjust_rejects_empty_changes_and_bad_json(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    assert api.post(ADJUST, json={"changes": []}).status_code == 422
    assert (
        api.post(
            ADJUST, content=b'{"changes": [', headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert sandbox.ledger() == []


# Faults


def test_error_rate_answers_503_before_doing_anything(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.set_faults(error_rate=1)

    response = refund(api, "10.00", key="k")

    assert response.status_code == 503
    assert httpx.get(f"{sandbox.url}/_sandbox/health").json() == {"ok": True}
    sandbox.clear_faults()
    assert sandbox.ledger() == []
    assert refund(api, "10.00", key="k").headers.get("idempotent-replayed") is None


def test_error_after_rate_performs_then_answers_502_and_the_retry_replays(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    httpx.put(f"{sandbox.url}/_sandbox/faults", json={"error_after_rate": 1}).raise_for_status()

    lost = refund(api, "10.00", key="k")

    assert lost.status_code == 502
    assert [e["idempotency_key"] for e in sandbox.ledger()] == ["k"]
    httpx.delete(f"{sandbox.url}/_sandbox/faults").raise_for_status()
    retry = refund(api, "10.00", key="k")
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["refund"]["amount"] == "10.00"
    assert len(sandbox.ledger()) == 1


def test_rate_limit_answers_429_with_retry_after(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.set_faults(rate_limit_rate=1, retry_after=7)

    response = refund(api, "10.00")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert sandbox.ledger() == []


def test_drop_closes_the_connection_before_doing_anything(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    sandbox.set_faults(drop_rate=1)

    with pytest.raises(httpx.TransportError):
        refund(api, "10.00")

    assert sandbox.ledger() == []


def test_drop_after_performs_then_closes_the_connection(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    sandbox.set_faults(drop_after_rate=1)

    with pytest.raises(httpx.TransportError):
        refund(api, "10.00", key="k")

    assert [e["idempotency_key"] for e in sandbox.ledger()] == ["k"]


def test_faults_apply_only_to_the_paths_named(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.set_faults(error_rate=1, paths=["/refunds"])

    assert api.get(f"{API}/orders/1042.json").status_code == 200
    assert refund(api, "10.00").status_code == 503


def test_latency_delays_admin_requests_only(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.set_faults(latency_ms=150)

    started = time.monotonic()
    api.get(f"{API}/orders/1042.json")
    slow = time.monotonic() - started
    started = time.monotonic()
    httpx.get(f"{sandbox.url}/_sandbox/health")
    fast = time.monotonic() - started

    assert slow >= 0.15
    assert fast < 0.15


def test_seeded_faults_repeat_the_same_sequence(sandbox: Sandbox, api: httpx.Client) -> None:
    def statuses() -> list[int]:
        return [api.get(f"{API}/orders/1042.json").status_code for _ in range(16)]

    sandbox.set_faults(error_rate=0.5, seed=7)
    first = statuses()
    sandbox.set_faults(seed=7)
    second = statuses()

    assert first == second
    assert set(first) == {200, 503}


def test_fault_settings_are_validated_and_merged(sandbox: Sandbox) -> None:
    faults = f"{sandbox.url}/_sandbox/faults"

    for bad in ({"error_rate": 1.5}, {"drop_rate": -0.1}, {"retry_after": "soon"}, {"typo": 1}):
        response = httpx.put(faults, json=bad)
        assert response.status_code == 400, bad
    assert httpx.put(faults, json={"error_rate": 0.25}).json()["error_rate"] == 0.25
    merged = httpx.put(faults, json={}).json()
    assert (merged["error_rate"], merged["retry_after"], merged["paths"]) == (0.25, 1, [])
    assert httpx.delete(faults).json()["error_rate"] == 0
    assert httpx.get(faults).json() == sandbox.faults.model_dump(mode="json")
    with pytest.raises(ValueError):
        sandbox.set_faults(rate_limit_rate=2)


# Concurrency, persistence, reset


def test_concurrent_retries_with_one_key_refund_once(sandbox: Sandbox, api: httpx.Client) -> None:
    start = threading.Barrier(8)
    responses: list[httpx.Response] = []

    def post() -> None:
        start.wait()
        responses.append(refund(api, "10.00", key="burst"))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7
    assert len(sandbox.ledger()) == 1
    assert order_1042(api)["total_refunded"] == "10.00"


def test_data_and_keys_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    headers = {"X-Shopify-Access-Token": "sandbox"}
    body = {"refund": {"amount": "12.50"}}
    with Sandbox(path) as first:
        created = httpx.post(
            f"{first.url}{REFUNDS_1042}", json=body, headers={**headers, "Idempotency-Key": "k"}
        )
        assert created.status_code == 201

    with Sandbox(path) as second:
        order = httpx.get(f"{second.url}{API}/orders/1042.json", headers=headers).json()["order"]
        retry = httpx.post(
            f"{second.url}{REFUNDS_1042}", json=body, headers={**headers, "Idempotency-Key": "k"}
        )
        assert order["total_refunded"] == "12.50"
        assert (retry.status_code, retry.json()) == (201, created.json())
        assert len(second.ledger(kind="refund")) == 1


def test_reset_wipes_and_reseeds(sandbox: Sandbox, api: httpx.Client) -> None:
    refund(api, "10.00", key="k")
    send_mail(sandbox, "<m@keel>")

    assert httpx.post(f"{sandbox.url}/_sandbox/reset").json() == {"ok": True}

    assert order_1042(api)["total_refunded"] == "0.00"
    assert sandbox.ledger() == []
    assert sandbox.messages() == []
    assert refund(api, "10.00", key="k").headers.get("idempotent-replayed") is None


# Mail and the control plane


def test_smtp_stores_each_message_id_once(sandbox: Sandbox) -> None:
    send_mail(sandbox, "<refund-1042@keel>")
    send_mail(sandbox, "<refund-1042@keel>", subject="A second try")

    [message] = sandbox.messages()
    assert {k: message[k] for k in ("message_id", "from", "to", "subject")} == {
        "message_id": "refund-1042@keel",
        "from": "shop@example.com",
        "to": "amara.mensah@example.com",
        "subject": "Your refund",
    }
    assert message["body"] == "We have refunded 10.00 USD.\n"
    [effect] = sandbox.ledger(kind="email")
    assert (effect["idempotency_key"], effect["order_id"]) == ("refund-1042@keel", 1042)
    assert effect["detail"] == {"to": "amara.mensah@example.com", "subject": "Your refund"}
    mail = httpx.get(f"{sandbox.url}/_sandbox/mail", params={"message_id": "<refund-1042@keel>"})
    assert mail.json() == {"messages": [message]}


def test_smtp_keys_a_message_without_message_id(sandbox: Sandbox) -> None:
    send_mail(sandbox, None)
    send_mail(sandbox, None)

    keys = [m["message_id"] for m in sandbox.messages()]
    assert len(set(keys)) == 2
    assert [e["idempotency_key"] for e in sandbox.ledger(kind="email")] == keys


def test_control_plane_ledger_filters_and_needs_no_token(
    sandbox: Sandbox, api: httpx.Client
) -> None:
    refund(api, "1.00")
    api.post(f"{API}/orders/1041/refunds.json", json={"refund": {"amount": "1.00"}})
    send_mail(sandbox, "<m@keel>")

    ledger = f"{sandbox.url}/_sandbox/ledger"
    effects = httpx.get(ledger, params={"kind": "refund", "order_id": 1042}).json()["effects"]
    everything = httpx.get(ledger).json()["effects"]

    assert [(e["kind"], e["order_id"]) for e in effects] == [("refund", 1042)]
    assert [e["seq"] for e in everything] == sorted(e["seq"] for e in everything)
    assert [e["kind"] for e in everything] == ["refund", "refund", "email"]
    assert everything == sandbox.ledger()
    assert httpx.get(ledger, params={"kind": "bogus"}).status_code == 400


def test_serve_runs_until_sigterm(tmp_path: Path) -> None:
    code = f"from connectors.sandbox import serve; serve({str(tmp_path / 's.db')!r})"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", line)
        assert url is not None, line
        assert httpx.get(f"{url.group()}/_sandbox/health").json() == {"ok": True}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
