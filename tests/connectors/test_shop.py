"""ShopConnector against the real sandbox store over loopback."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal

import httpx
import pytest

from connectors import (
    InventoryLevel,
    NotFound,
    Order,
    RateLimit,
    RetryPolicy,
    ShopConnector,
    TransientError,
    Unauthorized,
    Unprocessable,
)
from connectors.shop import money

ORDER = 1042  # two mugs and a print, 84.00, in every seeded sandbox
FAST_RETRY = RetryPolicy(attempts=4, initial_backoff=0.1, max_backoff=1, jitter=0)


def new_key(purpose: str) -> str:
    return f"test-{purpose}-{uuid.uuid4()}"


class Sleeps(list[float]):
    """The injected sleep: records each backoff instead of waiting, then runs ``then``."""

    def __init__(self) -> None:
        super().__init__()
        self.then: Callable[[], object] | None = None

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.then is not None:
            self.then()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def shop(sandbox, sleeps: Sleeps) -> Iterator[ShopConnector]:
    connector = ShopConnector.connect(
        sandbox.url,
        sandbox.token,
        timeout=5.0,
        retry=FAST_RETRY,
        rate_limit=RateLimit(per_second=50, burst=50),
        sleep=sleeps,
    )
    yield connector
    connector.close()


def an_order_with_refundable_money(shop: ShopConnector) -> Order:
    """An order other tests have not refunded in full (the sandbox may be shared)."""
    for order in shop.list_orders(limit=50):
        if order.id != ORDER and order.refundable >= Decimal("5.00"):
            return order
    pytest.fail("no seeded order has money left to refund")


def test_get_order_reads_the_whole_order(shop: ShopConnector) -> None:
    order = shop.get_order(ORDER)

    assert order.id == ORDER
    assert order.name == "#1042"
    assert order.currency == "USD"
    assert order.total_price == Decimal("84.00")
    assert order.refundable == order.total_price - order.total_refunded
    assert [(item.sku, item.quantity, item.price) for item in order.line_items] == [
        ("MUG-ENAMEL", 2, Decimal("18.00")),
        ("PRINT-TIDE-A3", 1, Decimal("48.00")),
    ]
    assert order.customer is not None and order.customer.email == order.email


def test_list_orders_pages_with_since_id(shop: ShopConnector) -> None:
    first = shop.list_orders(limit=3)
    after = shop.list_orders(limit=3, since_id=first[-1].id)

    assert len(first) == 3
    assert all(order.id > first[-1].id for order in after)


def test_a_missing_order_is_not_found(shop: ShopConnector, sleeps: Sleeps) -> None:
    with pytest.raises(NotFound) as raised:
        shop.get_order(999_999)

    assert str(raised.value) == "store: get_order on order 999999 failed: Not Found"
    assert raised.value.status_code == 404
    assert sleeps == []


def test_a_wrong_token_is_unauthorized_and_not_retried(sandbox, sleeps: Sleeps) -> None:
    with (
        ShopConnector.connect(sandbox.url, "wrong-token", sleep=sleeps) as shop,
        pytest.raises(Unauthorized) as raised,
    ):
        shop.get_order(ORDER)

    assert raised.value.status_code == 401
    assert sleeps == []


def test_create_refund_then_find_it_by_its_key(shop: ShopConnector, sandbox) -> None:
    order = an_order_with_refundable_money(shop)
    key = new_key("refund")

    refund = shop.create_refund(
        order.id, Decimal("2.50"), order.currency, "chipped mug", idempotency_key=key
    )

    assert (refund.order_id, refund.amount, refund.status) == (
        order.id,
        Decimal("2.50"),
        "succeeded",
    )
    assert refund.idempotency_key == key
    assert shop.find_refund(order.id, key) == refund
    assert shop.find_refund(order.id, new_key("unused")) is None
    assert shop.get_order(order.id).total_refunded == order.total_refunded + Decimal("2.50")
    assert [
        e["amount"]
        for e in sandbox.ledger(kind="refund", order_id=order.id)
        if e["idempotency_key"] == key
    ] == ["2.50"]


def test_repeating_a_refund_with_its_key_replays_it(shop: ShopConnector, sandbox) -> None:
    order = an_order_with_refundable_money(shop)
    key = new_key("refund")

    first = shop.create_refund(order.id, Decimal("1.00"), order.currency, "x", idempotency_key=key)
    again = shop.create_refund(order.id, Decimal("1.00"), order.currency, "x", idempotency_key=key)

    assert again == first
    assert len([e for e in sandbox.ledger(kind="refund") if e["idempotency_key"] == key]) == 1


def test_refunding_more_than_refundable_is_unprocessable_and_moves_nothing(
    shop: ShopConnector, sandbox, sleeps: Sleeps
) -> None:
    order = shop.get_order(ORDER)
    before = sandbox.ledger(order_id=ORDER)
    too_much = order.refundable + Decimal("0.01")

    with pytest.raises(Unprocessable) as raised:
        shop.create_refund(
            ORDER, too_much, order.currency, "too much", idempotency_key=new_key("over")
        )

    assert set(raised.value.field_errors) == {"amount"}
    assert str(raised.value).startswith("store: create_refund on order 1042 failed: amount ")
    assert money(order.refundable) in str(raised.value)
    assert sandbox.ledger(order_id=ORDER) == before
    assert sleeps == []


def test_a_refund_whose_answer_was_lost_is_retried_with_its_key_and_made_once(
    shop: ShopConnector, sandbox, sleeps: Sleeps
) -> None:
    order = an_order_with_refundable_money(shop)
    key = new_key("lost-answer")
    sandbox.set_faults(error_after_rate=1.0, paths=["refunds"])
    # The first attempt refunds and then answers 502; the fault clears before the retry.
    sleeps.then = lambda: sandbox.set_faults(error_after_rate=0)

    refund = shop.create_refund(order.id, Decimal("3.00"), order.currency, "x", idempotency_key=key)

    assert sleeps == [0.1]
    assert refund.amount == Decimal("3.00")
    assert [e["idempotency_key"] for e in sandbox.ledger(kind="refund", order_id=order.id)].count(
        key
    ) == 1


def test_a_dropped_connection_after_the_refund_is_retried_and_made_once(
    shop: ShopConnector, sandbox, sleeps: Sleeps
) -> None:
    order = an_order_with_refundable_money(shop)
    key = new_key("dropped")
    sandbox.set_faults(drop_after_rate=1.0, paths=["refunds"])
    sleeps.then = lambda: sandbox.set_faults(drop_after_rate=0)

    shop.create_refund(order.id, Decimal("1.25"), order.currency, "x", idempotency_key=key)

    assert len(sleeps) == 1
    assert [e["idempotency_key"] for e in sandbox.ledger(kind="refund")].count(key) == 1


def test_a_429_waits_the_sandbox_retry_after(shop: ShopConnector, sandbox, sleeps: Sleeps) -> None:
    sandbox.set_faults(rate_limit_rate=1.0, retry_after=2, paths=["orders/1042"])
    sleeps.then = lambda: sandbox.set_faults(rate_limit_rate=0)

    assert shop.get_order(ORDER).id == ORDER
    assert sleeps == [2.0]


def test_a_service_that_stays_down_is_a_transient_error(
    shop: ShopConnector, sandbox, sleeps: Sleeps
) -> None:
    sandbox.set_faults(error_rate=1.0, paths=["orders/1042"])

    with pytest.raises(TransientError) as raised:
        shop.get_order(ORDER)

    assert raised.value.status_code == 503
    assert raised.value.attempts == 4
    assert sleeps == [0.1, 0.2, 0.4]


def test_void_refund_voids_once(shop: ShopConnector) -> None:
    order = an_order_with_refundable_money(shop)
    refund = shop.create_refund(
        order.id, Decimal("1.00"), order.currency, "x", idempotency_key=new_key("to-void")
    )

    voided = shop.void_refund(order.id, refund.id, idempotency_key=new_key("void"))

    assert (voided.id, voided.status) == (refund.id, "voided")
    with pytest.raises(Unprocessable):
        shop.void_refund(order.id, refund.id, idempotency_key=new_key("void-again"))


def test_adjust_inventory_moves_stock_once(shop: ShopConnector, sandbox) -> None:
    products = shop.list_products()
    mug, tee = products[0].variants[0], products[6].variants[0]
    items = [mug.inventory_item_id, tee.inventory_item_id]
    before = {level.inventory_item_id: level.available for level in shop.inventory_levels(items)}
    key = new_key("restock")
    changes = [(mug.inventory_item_id, 2), (tee.inventory_item_id, -1)]

    def adjust() -> list[InventoryLevel]:
        return shop.adjust_inventory(
            changes, reason="restock", reference="return R-1", order_id=ORDER, idempotency_key=key
        )

    levels = adjust()
    effects = [e for e in sandbox.ledger(kind="restock") if e["idempotency_key"] == key]
    assert adjust() == levels
    assert [e for e in sandbox.ledger(kind="restock") if e["idempotency_key"] == key] == effects
    assert effects
    assert {level.inventory_item_id: level.available for level in levels} == {
        mug.inventory_item_id: before[mug.inventory_item_id] + 2,
        tee.inventory_item_id: before[tee.inventory_item_id] - 1,
    }
    assert shop.inventory_levels(items) == levels


def test_adjusting_an_unknown_item_is_refused(shop: ShopConnector) -> None:
    with pytest.raises((NotFound, Unprocessable)):
        shop.adjust_inventory(
            [(1, 1)], reason="restock", reference="r", idempotency_key=new_key("unknown")
        )


def test_list_products_reads_variants_with_money(shop: ShopConnector) -> None:
    products = shop.list_products()

    mug = next(p for p in products if p.title == "Enamel Camp Mug")
    assert [(v.sku, v.price) for v in mug.variants] == [("MUG-ENAMEL", Decimal("18.00"))]


def test_connect_takes_a_transport_for_tests() -> None:
    seen: list[httpx.Request] = []

    def store(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"products": []})

    with ShopConnector.connect(
        "https://shop.test", "tok", transport=httpx.MockTransport(store)
    ) as shop:
        assert shop.list_products() == []

    assert str(seen[0].url) == "https://shop.test/admin/api/2024-10/products.json"
    assert seen[0].headers["X-Shopify-Access-Token"] == "tok"


@pytest.mark.parametrize(
    ("amount", "wire"), [(Decimal(84), "84.00"), (Decimal("12.5"), "12.50"), ("0.99", "0.99")]
)
def test_money_is_sent_as_a_two_decimal_string(amount: Decimal | str, wire: str) -> None:
    assert money(amount) == wire


@pytest.mark.parametrize("amount", [Decimal("1.005"), 1.5, "ten"])
def test_money_refuses_floats_and_fractions_of_a_cent(amount: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        money(amount)  # type: ignore[arg-type]
