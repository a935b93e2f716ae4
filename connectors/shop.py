"""ShopConnector: the store's orders, refunds and inventory (a Shopify Admin REST subset)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Self, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from remote.base import DEFAULT_RETRY, HttpConnector, RetryPolicy
from remote.errors import PermanentError

__all__ = [
    "API_PREFIX",
    "Customer",
    "InventoryLevel",
    "LineItem",
    "Order",
    "Product",
    "Refund",
    "ShopConnector",
    "Variant",
    "money",
]

API_PREFIX = "/admin/api/2024-10"
CENT = Decimal("0.01")

FinancialStatus = Literal[
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
]
RefundStatus = Literal["succeeded", "voided"]


class _Resource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


_R = TypeVar("_R", bound=_Resource)
_T = TypeVar("_T")


class Customer(_Resource):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class LineItem(_Resource):
    id: int
    product_id: int | None = None
    variant_id: int | None = None
    inventory_item_id: int | None = None
    sku: str | None = None
    title: str
    quantity: int
    price: Decimal


class Refund(_Resource):
    id: int
    order_id: int
    amount: Decimal
    currency: str
    note: str | None = None
    status: RefundStatus
    created_at: datetime
    idempotency_key: str | None = None


class Order(_Resource):
    id: int
    name: str
    email: str | None = None
    created_at: datetime
    currency: str
    total_price: Decimal
    total_refunded: Decimal = Decimal("0.00")
    financial_status: FinancialStatus
    customer: Customer | None = None
    line_items: list[LineItem] = []
    refunds: list[Refund] = []

    @property
    def refundable(self) -> Decimal:
        """What may still be refunded: total price less what was already refunded."""
        return self.total_price - self.total_refunded


class InventoryLevel(_Resource):
    inventory_item_id: int
    sku: str | None = None
    available: int
    updated_at: datetime


class Variant(_Resource):
    id: int
    sku: str | None = None
    price: Decimal
    inventory_item_id: int
    inventory_quantity: int


class Product(_Resource):
    id: int
    title: str
    variants: list[Variant] = []


def money(amount: Decimal | int | str) -> str:
    """An amount as the API's two-decimal string; refuses floats and sub-cent amounts."""
    if isinstance(amount, (float, bool)):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    try:
        value = Decimal(amount)
        exact = value.quantize(CENT)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {amount!r}") from exc
    if exact != value:
        raise ValueError(f"money has at most two decimals, got {amount}")
    return str(exact)


class ShopConnector(HttpConnector):
    """The store's Admin API; every write takes the caller's idempotency key."""

    @classmethod
    def connect(
        cls,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        **kwargs: Any,
    ) -> Self:
        """Build the connector and the ``httpx.Client`` it owns (``close()`` closes it).

        ``kwargs`` go to ``HttpConnector`` (``breaker``, ``rate_limit``, ``sleep``,
        ``clock``, ``name``).
        """
        client = httpx.Client(
            base_url=base_url,
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )
        kwargs.setdefault("name", "store")
        return cls(client, retry=retry, timeout=timeout, owns_client=True, **kwargs)

    def get_order(self, order_id: int) -> Order:
        return self._one(
            Order,
            "order",
            "GET",
            f"/orders/{order_id}.json",
            operation="get_order",
            target=f"order {order_id}",
        )

    def list_orders(self, limit: int = 50, since_id: int | None = None) -> list[Order]:
        return self._many(
            Order,
            "orders",
            "GET",
            "/orders.json",
            operation="list_orders",
            params={"limit": limit, "since_id": since_id},
        )

    def create_refund(
        self,
        order_id: int,
        amount: Decimal,
        currency: str,
        note: str,
        *,
        idempotency_key: str,
    ) -> Refund:
        return self._one(
            Refund,
            "refund",
            "POST",
            f"/orders/{order_id}/refunds.json",
            operation="create_refund",
            target=f"order {order_id}",
            json={"refund": {"amount": money(amount), "currency": currency, "note": note}},
            idempotency_key=idempotency_key,
        )

    def void_refund(self, order_id: int, refund_id: int, *, idempotency_key: str) -> Refund:
        return self._one(
            Refund,
            "refund",
            "POST",
            f"/orders/{order_id}/refunds/{refund_id}/void.json",
            operation="void_refund",
            target=f"refund {refund_id} of order {order_id}",
            idempotency_key=idempotency_key,
        )

    def list_refunds(self, order_id: int) -> list[Refund]:
        return self._many(
            Refund,
            "refunds",
            "GET",
            f"/orders/{order_id}/refunds.json",
            operation="list_refunds",
            target=f"order {order_id}",
        )

    def find_refund(self, order_id: int, idempotency_key: str) -> Refund | None:
        """The order's refund made with this key, if any (to settle an unknown outcome)."""
        for refund in self.list_refunds(order_id):
            if refund.idempotency_key == idempotency_key:
                return refund
        return None

    def adjust_inventory(
        self,
        changes: list[tuple[int, int]],
        *,
        reason: str,
        reference: str,
        order_id: int | None = None,
        idempotency_key: str,
    ) -> list[InventoryLevel]:
        """Apply ``(inventory_item_id, delta)`` changes at once; returns the new levels."""
        payload: dict[str, Any] = {
            "reason": reason,
            "reference": reference,
            "changes": [{"inventory_item_id": item, "delta": delta} for item, delta in changes],
        }
        if order_id is not None:
            payload["order_id"] = order_id
        return self._many(
            InventoryLevel,
            "inventory_levels",
            "POST",
            "/inventory_levels/adjust.json",
            operation="adjust_inventory",
            target=f"{reference} (order {order_id})" if order_id is not None else reference,
            json=payload,
            idempotency_key=idempotency_key,
        )

    def inventory_levels(self, ids: Iterable[int]) -> list[InventoryLevel]:
        return self._many(
            InventoryLevel,
            "inventory_levels",
            "GET",
            "/inventory_levels.json",
            operation="inventory_levels",
            params={"inventory_item_ids": ",".join(str(i) for i in ids)},
        )

    def list_products(self) -> list[Product]:
        return self._many(Product, "products", "GET", "/products.json", operation="list_products")

    def _one(self, model: type[_R], key: str, method: str, path: str, **call: Any) -> _R:
        body = self.request(method, API_PREFIX + path, **call)
        return self._parse(lambda: model.model_validate(body[key]), key, call)

    def _many(self, model: type[_R], key: str, method: str, path: str, **call: Any) -> list[_R]:
        body = self.request(method, API_PREFIX + path, **call)
        return self._parse(lambda: [model.model_validate(item) for item in body[key]], key, call)

    def _parse(self, build: Callable[[], _T], key: str, call: dict[str, Any]) -> _T:
        try:
            return build()
        except (KeyError, TypeError, ValidationError) as exc:
            raise PermanentError(
                f"unexpected response: {key!r} missing or malformed ({exc})",
                connector=self.name,
                operation=call["operation"],
                target=call.get("target"),
                idempotency_key=call.get("idempotency_key"),
                unprocessed=False,  # the service answered 2xx: it may well have acted
            ) from exc
