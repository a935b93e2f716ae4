"""The Shopify-Admin-style endpoints: parse each request, call the shop, shape the response."""

from __future__ import annotations

from typing import Any

from . import shop
from .wire import ApiError, Call, Request, Response

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


def get_order(call: Call) -> Response:
    found = shop.order(call.conn, call.request.int_param("order_id"))
    if found is None:
        raise ApiError.not_found()
    return Response(200, {"order": found})


def list_orders(call: Call) -> Response:
    limit = _int_query(call.request, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    since_id = _int_query(call.request, "since_id", 0, low=0)
    return Response(200, {"orders": shop.orders(call.conn, since_id=since_id, limit=limit)})


def list_refunds(call: Call) -> Response:
    order_id = call.request.int_param("order_id")
    if shop.order(call.conn, order_id) is None:
        raise ApiError.not_found()
    return Response(200, {"refunds": shop.refunds(call.conn, order_id)})


def create_refund(call: Call) -> Response:
    body = call.request.json_object()
    refund = body.get("refund")
    if not isinstance(refund, dict):
        raise ApiError.bad_request('body must carry a "refund" object')
    if "amount" not in refund:
        raise ApiError.invalid("amount", "is required")
    created = shop.create_refund(
        call.conn,
        call.request.int_param("order_id"),
        amount=refund["amount"],
        currency=refund.get("currency"),
        note=refund.get("note"),
        idempotency_key=call.idempotency_key,
        now=call.now,
    )
    return Response(201, {"refund": created})


def void_refund(call: Call) -> Response:
    call.request.json_object(empty_means={})
    voided = shop.void_refund(
        call.conn,
        call.request.int_param("order_id"),
        call.request.int_param("refund_id"),
        idempotency_key=call.idempotency_key,
        now=call.now,
    )
    return Response(200, {"refund": voided})


def adjust_inventory(call: Call) -> Response:
    body = call.request.json_object()
    adjustment = shop.adjust_inventory(
        call.conn,
        _changes(body.get("changes")),
        reason=_optional_text(body, "reason", default="restock"),
        reference=_optional_text(body, "reference", default=""),
        order_id=_optional_int(body, "order_id"),
        idempotency_key=call.idempotency_key,
        now=call.now,
    )
    return Response(200, adjustment)


def inventory_levels(call: Call) -> Response:
    raw = call.request.query_value("inventory_item_ids")
    item_ids: list[int] | None = None
    if raw is not None:
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if not all(part.isdigit() for part in parts):
            raise ApiError.bad_request("inventory_item_ids must be comma-separated integers")
        item_ids = [int(part) for part in parts]
    return Response(200, {"inventory_levels": shop.inventory_levels(call.conn, item_ids)})


def list_products(call: Call) -> Response:
    return Response(200, {"products": shop.products(call.conn)})


def _changes(value: object) -> list[shop.Change]:
    if not isinstance(value, list) or not value:
        raise ApiError.invalid("changes", "must be a non-empty list")
    changes: list[shop.Change] = []
    for index, change in enumerate(value):
        if not isinstance(change, dict):
            raise ApiError.invalid("changes", f"changes[{index}] must be an object")
        for name in ("inventory_item_id", "delta"):
            if not _is_int(change.get(name)):
                raise ApiError.invalid("changes", f"changes[{index}].{name} must be an integer")
        changes.append(
            shop.Change(inventory_item_id=change["inventory_item_id"], delta=change["delta"])
        )
    return changes


def _optional_text(body: dict[str, Any], name: str, *, default: str) -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ApiError.invalid(name, "must be a string")
    return value


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is not None and not _is_int(value):
        raise ApiError.invalid(name, "must be an integer")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_query(
    request: Request, name: str, default: int, *, low: int, high: int | None = None
) -> int:
    raw = request.query_value(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError.bad_request(f"{name} must be an integer {bounds}")
    return int(raw)
