"""Deterministic demo data for the sandbox: a small harbour-town gift shop and its orders."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .db import Store, wipe
from .shop import money

FIRST_ORDER_ID = 1001
ORDER_COUNT = 48
CURRENCY = "USD"
_OPENED = datetime(2024, 10, 1, 8, 0, tzinfo=UTC)
_DICE_SEED = 1042  # fixed, so every seeded store holds the same shop

# (title, sku, price); product n gets id 7000+n, variant 8000+n, inventory item 9000+n.
CATALOGUE: tuple[tuple[str, str, str], ...] = (
    ("Enamel Camp Mug", "MUG-ENAMEL", "18.00"),
    ("Stoneware Mug, Fog", "MUG-FOG", "22.00"),
    ("Stoneware Mug, Moss", "MUG-MOSS", "22.00"),
    ("Espresso Cup Pair", "CUP-ESPRESSO", "26.00"),
    ("Steel Travel Tumbler", "TUMBLER-STEEL", "32.00"),
    ("Latte Bowl", "BOWL-LATTE", "19.50"),
    ("Harbour Tee, Navy", "TEE-HARBOUR-NAVY", "28.00"),
    ("Harbour Tee, Sand", "TEE-HARBOUR-SAND", "28.00"),
    ("Lighthouse Tee", "TEE-LIGHTHOUSE", "30.00"),
    ("Kids' Anchor Tee", "TEE-KIDS-ANCHOR", "20.00"),
    ("Crewneck Sweatshirt", "SWEAT-CREW", "54.00"),
    ("Canvas Cap", "CAP-CANVAS", "24.00"),
    ("Dot Grid Notebook A5", "NB-A5-DOT", "14.00"),
    ("Lined Notebook A5", "NB-A5-LINED", "14.00"),
    ("Pocket Notebook 3-Pack", "NB-POCKET-3", "12.00"),
    ("Linen Sketchbook", "NB-SKETCH", "26.00"),
    ("Weekly Planner 2025", "PLANNER-2025", "21.00"),
    ("Brass Pen", "PEN-BRASS", "38.00"),
    ("Tide Chart Print A3", "PRINT-TIDE-A3", "48.00"),
    ("Coastline Print A4", "PRINT-COAST-A4", "32.00"),
    ("Botanical Print Set", "PRINT-BOTANICAL", "65.00"),
    ("Framed Harbour Print", "PRINT-HARBOUR-FRAMED", "120.00"),
    ("Greeting Card 5-Pack", "CARD-5", "16.00"),
    ("Canvas Tote", "TOTE-CANVAS", "22.00"),
)

CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("Maya", "Okafor"),
    ("Liam", "Chen"),
    ("Sofia", "Rossi"),
    ("Noah", "Lindqvist"),
    ("Amara", "Mensah"),
    ("Ethan", "Brooks"),
    ("Priya", "Raman"),
    ("Lucas", "Moreau"),
    ("Hana", "Sato"),
    ("Oliver", "Grant"),
    ("Zara", "Haddad"),
    ("Mateo", "Silva"),
    ("Ingrid", "Berg"),
    ("Samuel", "Adeyemi"),
    ("Chloe", "Dubois"),
    ("Arjun", "Mehta"),
    ("Elena", "Petrova"),
    ("Jonah", "Whitfield"),
    ("Leila", "Farouk"),
    ("Tomas", "Novak"),
    ("Grace", "Kim"),
    ("Felix", "Wagner"),
    ("Nia", "Thompson"),
    ("Rafael", "Ortega"),
)

# Order 1042 is the one the docs and the client's examples use: two mugs and a print, 84.00.
_ORDER_1042 = ((0, 2), (18, 1))


def seed_if_empty(store: Store) -> bool:
    """Seed the shop unless it already has orders; say whether it did."""
    with store.transaction() as conn:
        if conn.execute("SELECT count(*) FROM orders").fetchone()[0]:
            return False
        populate(conn)
        return True


def reset(store: Store) -> None:
    """Wipe everything (orders, refunds, ledger, keys, mail) and seed afresh."""
    with store.transaction() as conn:
        wipe(conn)
        populate(conn)


def populate(conn: sqlite3.Connection) -> None:
    """Insert the demo shop into an empty store, inside the caller's transaction."""
    dice = random.Random(_DICE_SEED)
    opened = _OPENED.isoformat(timespec="seconds")
    for n, (title, sku, price) in enumerate(CATALOGUE, start=1):
        conn.execute("INSERT INTO products (id, title) VALUES (?, ?)", (7000 + n, title))
        conn.execute(
            "INSERT INTO variants (id, product_id, sku, price, inventory_item_id, available,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (8000 + n, 7000 + n, sku, price, 9000 + n, dice.randint(5, 60), opened),
        )
    for n, (first, last) in enumerate(CUSTOMERS, start=1):
        conn.execute(
            "INSERT INTO customers (id, first_name, last_name, email) VALUES (?, ?, ?, ?)",
            (3000 + n, first, last, _email(first, last)),
        )
    line_item_id = 50000
    for order_id in range(FIRST_ORDER_ID, FIRST_ORDER_ID + ORDER_COUNT):
        basket: tuple[tuple[int, int], ...]
        if order_id == 1042:
            basket = _ORDER_1042
        else:
            picks = dice.sample(range(len(CATALOGUE)), dice.randint(1, 3))
            basket = tuple((pick, dice.choice((1, 1, 2, 2, 3))) for pick in picks)
        customer = dice.randrange(len(CUSTOMERS))
        placed = _OPENED + timedelta(
            hours=5 * (order_id - FIRST_ORDER_ID), minutes=dice.randint(0, 240)
        )
        total = sum((Decimal(CATALOGUE[pick][2]) * qty for pick, qty in basket), Decimal(0))
        conn.execute(
            "INSERT INTO orders (id, name, customer_id, email, created_at, currency, total_price)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                order_id,
                f"#{order_id}",
                3001 + customer,
                _email(*CUSTOMERS[customer]),
                placed.isoformat(timespec="seconds"),
                CURRENCY,
                money(total),
            ),
        )
        for pick, quantity in basket:
            title, sku, price = CATALOGUE[pick]
            line_item_id += 1
            conn.execute(
                "INSERT INTO line_items (id, order_id, product_id, variant_id, inventory_item_id,"
                " sku, title, quantity, price) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    line_item_id,
                    order_id,
                    7001 + pick,
                    8001 + pick,
                    9001 + pick,
                    sku,
                    title,
                    quantity,
                    price,
                ),
            )


def _email(first: str, last: str) -> str:
    return f"{first.lower()}.{last.lower()}@example.com"
