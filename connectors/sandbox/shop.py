"""The shop the sandbox plays: orders, refunds and inventory, inside the caller's transaction."""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypedDict

from .db import EffectKind, record_effect
from .wire import ApiError

CENT = Decimal("0.01")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    VOIDED = "voided"


class FinancialStatus(StrEnum):
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class Refund(TypedDict):
    id: int
    order_id: int
    amount: str
    currency: str
    note: str
    status: str
    created_at: str
    idempotency_key: str | None


class InventoryLevel(TypedDict):
    inventory_item_id: int
    sku: str
    available: int
    updated_at: str


class Change(TypedDict):
    inventory_item_id: int
    delta: int


def money(amount: Decimal) -> str:
    """Money on the wire: a decimal string with two places."""
    return str(amount.quantize(CENT))


def parse_amount(value: object) -> Decimal:
    """A positive amount of money with at most two decimal places, or a 422 naming the fault."""
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise ApiError.invalid("amount", 'must be a decimal string such as "10.00"')
    amount = Decimal(value)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ApiError.invalid("amount", "must have at most 2 decimal places")
    if amount <= 0:
        raise ApiError.invalid("amount", "must be greater than 0")
    return amount


def order(conn: sqlite3.Connection, order_id: int) -> dict[str, Any] | None:
    """One order as the store API shows it, or None."""
    found = orders(conn, since_id=order_id - 1, limit=1)
    return found[0] if found and found[0]["id"] == order_id else None


def orders(conn: sqlite3.Connection, *, since_id: int, limit: int) -> list[dict[str, Any]]:
    """Orders with ids above since_id, in id order."""
    rows = conn.execute(
        "SELECT o.id, o.name, o.email, o.created_at, o.currency, o.total_price,"
        " c.id AS customer_id, c.first_name, c.last_name, c.email AS customer_email"
        " FROM orders o JOIN customers c ON c.id = o.customer_id"
        " WHERE o.id > ? ORDER BY o.id LIMIT ?",
        (since_id, limit),
    ).fetchall()
    return [_order(conn, row) for row in rows]


def refunds(conn: sqlite3.Connection, order_id: int) -> list[Refund]:
    rows = conn.execute(
        "SELECT id, order_id, amount, currency, note, status, created_at, idempotency_key"
        " FROM refunds WHERE order_id = ? ORDER BY id",
        (order_id,),
    )
    return [_refund_from(row) for row in rows]


def create_refund(
    conn: sqlite3.Connection,
    order_id: int,
    *,
    amount: object,
    currency: object,
    note: object,
    idempotency_key: str | None,
    now: str,
) -> Refund:
    """Refund part or all of an order's refundable amount, recording the effect."""
    found = order(conn, order_id)
    if found is None:
        raise ApiError.not_found()
    value = parse_amount(amount)
    if currency is not None and currency != found["currency"]:
        raise ApiError.invalid("currency", f"must be {found['currency']}, the order's currency")
    if note is not None and not isinstance(note, str):
        raise ApiError.invalid("note", "must be a string")
    refundable = Decimal(found["total_price"]) - Decimal(found["total_refunded"])
    if value > refundable:
        raise ApiError.invalid("amount", f"exceeds the refundable amount {money(refundable)}")
    cursor = conn.execute(
        "INSERT INTO refunds (order_id, amount, currency, note, status, created_at,"
        " idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            order_id,
            money(value),
            found["currency"],
            note or "",
            RefundStatus.SUCCEEDED.value,
            now,
            idempotency_key,
        ),
    )
    refund_id = int(cursor.lastrowid or 0)
    record_effect(
        conn,
        EffectKind.REFUND,
        at=now,
        order_id=order_id,
        amount=money(value),
        idempotency_key=idempotency_key,
        detail={"refund_id": refund_id, "currency": found["currency"], "note": note or ""},
    )
    return _refund(conn, order_id, refund_id)


def void_refund(
    conn: sqlite3.Connection,
    order_id: int,
    refund_id: int,
    *,
    idempotency_key: str | None,
    now: str,
) -> Refund:
    """Reverse an unsettled refund, recording the effect."""
    refund = _refund(conn, order_id, refund_id)
    if refund["status"] == RefundStatus.VOIDED:
        raise ApiError.invalid("refund", f"refund {refund_id} is already voided")
    conn.execute(
        "UPDATE refunds SET status = ? WHERE id = ?", (RefundStatus.VOIDED.value, refund_id)
    )
    record_effect(
        conn,
        EffectKind.REFUND_VOID,
        at=now,
        order_id=order_id,
        amount=refund["amount"],
        idempotency_key=idempotency_key,
        detail={"refund_id": refund_id},
    )
    return _refund(conn, order_id, refund_id)


def adjust_inventory(
    conn: sqlite3.Connection,
    changes: list[Change],
    *,
    reason: str,
    reference: str,
    order_id: int | None,
    idempotency_key: str | None,
    now: str,
) -> dict[str, Any]:
    """Apply every change or none: unknown items are a 404, a level below zero a 422."""
    levels: dict[int, InventoryLevel] = {}
    for change in changes:
        item_id = change["inventory_item_id"]
        level = levels.get(item_id) or _level(conn, item_id)
        if level is None:
            raise ApiError.not_found()
        available = level["available"] + change["delta"]
        if available < 0:
            raise ApiError.invalid(
                "changes",
                f"inventory item {item_id} ({level['sku']}) would go below zero:"
                f" {level['available']} available, delta {change['delta']}",
            )
        levels[item_id] = InventoryLevel(
            inventory_item_id=item_id, sku=level["sku"], available=available, updated_at=now
        )
    for level in levels.values():
        conn.execute(
            "UPDATE variants SET available = ?, updated_at = ? WHERE inventory_item_id = ?",
            (level["available"], now, level["inventory_item_id"]),
        )
    adjustment_id = int(
        conn.execute(
            "INSERT INTO adjustments (reason, reference, order_id, idempotency_key, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (reason, reference, order_id, idempotency_key, now),
        ).lastrowid
        or 0
    )
    record_effect(
        conn,
        EffectKind.RESTOCK,
        at=now,
        order_id=order_id,
        idempotency_key=idempotency_key,
        detail={
            "adjustment_id": adjustment_id,
            "reason": reason,
            "reference": reference,
            "changes": [dict(change) for change in changes],
            "levels": {str(item): level["available"] for item, level in levels.items()},
        },
    )
    return {"adjustment_id": adjustment_id, "inventory_levels": list(levels.values())}


def inventory_levels(
    conn: sqlite3.Connection, item_ids: list[int] | None = None
) -> list[InventoryLevel]:
    """Levels for these inventory items (all when None), in item id order."""
    rows = conn.execute(
        "SELECT inventory_item_id, sku, available, updated_at FROM variants"
        " ORDER BY inventory_item_id"
    )
    wanted = None if item_ids is None else set(item_ids)
    return [
        _level_from(row) for row in rows if wanted is None or row["inventory_item_id"] in wanted
    ]


def products(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT p.id AS product_id, p.title, v.id, v.sku, v.price, v.inventory_item_id,"
        " v.available FROM products p JOIN variants v ON v.product_id = p.id"
        " ORDER BY p.id, v.id"
    )
    catalogue: dict[int, dict[str, Any]] = {}
    for row in rows:
        product = catalogue.setdefault(
            row["product_id"], {"id": row["product_id"], "title": row["title"], "variants": []}
        )
        product["variants"].append(
            {
                "id": row["id"],
                "sku": row["sku"],
                "price": row["price"],
                "inventory_item_id": row["inventory_item_id"],
                "inventory_quantity": row["available"],
            }
        )
    return list(catalogue.values())


def _order(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    order_refunds = refunds(conn, row["id"])
    total = Decimal(row["total_price"])
    refunded = sum(
        (Decimal(r["amount"]) for r in order_refunds if r["status"] == RefundStatus.SUCCEEDED),
        Decimal(0),
    )
    line_items = conn.execute(
        "SELECT id, product_id, variant_id, inventory_item_id, sku, title, quantity, price"
        " FROM line_items WHERE order_id = ? ORDER BY id",
        (row["id"],),
    )
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "created_at": row["created_at"],
        "currency": row["currency"],
        "total_price": money(total),
        "total_refunded": money(refunded),
        "financial_status": _financial_status(total, refunded),
        "customer": {
            "id": row["customer_id"],
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "email": row["customer_email"],
        },
        "line_items": [dict(item) for item in line_items],
        "refunds": order_refunds,
    }


def _financial_status(total: Decimal, refunded: Decimal) -> FinancialStatus:
    if refunded <= 0:
        return FinancialStatus.PAID
    if refunded >= total:
        return FinancialStatus.REFUNDED
    return FinancialStatus.PARTIALLY_REFUNDED


def _refund(conn: sqlite3.Connection, order_id: int, refund_id: int) -> Refund:
    for refund in refunds(conn, order_id):
        if refund["id"] == refund_id:
            return refund
    raise ApiError.not_found()


def _level(conn: sqlite3.Connection, item_id: int) -> InventoryLevel | None:
    row = conn.execute(
        "SELECT inventory_item_id, sku, available, updated_at FROM variants"
        " WHERE inventory_item_id = ?",
        (item_id,),
    ).fetchone()
    return None if row is None else _level_from(row)


def _level_from(row: sqlite3.Row) -> InventoryLevel:
    return InventoryLevel(
        inventory_item_id=row["inventory_item_id"],
        sku=row["sku"],
        available=row["available"],
        updated_at=row["updated_at"],
    )


def _refund_from(row: sqlite3.Row) -> Refund:
    return Refund(
        id=row["id"],
        order_id=row["order_id"],
        amount=row["amount"],
        currency=row["currency"],
        note=row["note"],
        status=row["status"],
        created_at=row["created_at"],
        idempotency_key=row["idempotency_key"],
    )
