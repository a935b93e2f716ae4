"""The sandbox's SQLite storage: migrations, transactions, ledger, idempotency keys and mail."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypedDict

# Append-only: each entry is one schema version; never edit an entry once released.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE products (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL
        )""",
        """CREATE TABLE variants (
            id INTEGER PRIMARY KEY,
            product_id INTEGER NOT NULL REFERENCES products(id),
            sku TEXT NOT NULL UNIQUE,
            price TEXT NOT NULL,
            inventory_item_id INTEGER NOT NULL UNIQUE,
            available INTEGER NOT NULL CHECK (available >= 0),
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            email TEXT NOT NULL
        )""",
        """CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            email TEXT NOT NULL,
            created_at TEXT NOT NULL,
            currency TEXT NOT NULL,
            total_price TEXT NOT NULL
        )""",
        """CREATE TABLE line_items (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id),
            product_id INTEGER NOT NULL,
            variant_id INTEGER NOT NULL,
            inventory_item_id INTEGER NOT NULL,
            sku TEXT NOT NULL,
            title TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            price TEXT NOT NULL
        )""",
        """CREATE TABLE refunds (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            order_id INTEGER NOT NULL REFERENCES orders(id),
            amount TEXT NOT NULL,
            currency TEXT NOT NULL,
            note TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            idempotency_key TEXT
        )""",
        "CREATE INDEX refunds_by_order ON refunds (order_id)",
        """CREATE TABLE adjustments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            reason TEXT NOT NULL,
            reference TEXT NOT NULL,
            order_id INTEGER,
            idempotency_key TEXT,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE ledger (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            order_id INTEGER,
            amount TEXT,
            idempotency_key TEXT,
            at TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        """CREATE TABLE idempotency_keys (
            key TEXT PRIMARY KEY,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE messages (
            message_id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            recipients TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL
        )""",
    ),
)

# Every table `wipe` empties, children first.
_DATA_TABLES = (
    "ledger",
    "idempotency_keys",
    "messages",
    "adjustments",
    "refunds",
    "line_items",
    "orders",
    "customers",
    "variants",
    "products",
)


class EffectKind(StrEnum):
    """What an effect the sandbox performed was."""

    REFUND = "refund"
    REFUND_VOID = "refund_void"
    RESTOCK = "restock"
    EMAIL = "email"


class Effect(TypedDict):
    """One ledger row: an effect the sandbox actually performed."""

    seq: int
    kind: str
    order_id: int | None
    amount: str | None
    idempotency_key: str | None
    at: str
    detail: dict[str, Any]


# Functional form because the wire name "from" is a keyword.
Message = TypedDict(
    "Message",
    {
        "message_id": str,
        "from": str,
        "to": str,
        "subject": str,
        "body": str,
        "received_at": str,
    },
)
"""One message the SMTP sink stored."""


@dataclass(frozen=True)
class StoredResponse:
    """The response first given to a request carrying an idempotency key."""

    fingerprint: str
    status: int
    body: str


class Store:
    """One SQLite connection shared by the sandbox's threads; every use is serialised."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._ready = False

    @classmethod
    def open(cls, path: str | Path) -> Store:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        return cls(conn)

    def setup(self) -> None:
        """Migrate the schema to the newest version, once."""
        with self._lock:
            if self._ready:
                return
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            with self._immediate() as conn:
                row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
                current = int(row.fetchone()[0])
                for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            self._ready = True

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction under the lock: BEGIN IMMEDIATE, then COMMIT or ROLLBACK."""
        with self._lock:
            self.setup()
            with self._immediate() as conn:
                yield conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads, under the lock."""
        with self._lock:
            self.setup()
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so another process cannot interleave.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")


def record_effect(
    conn: sqlite3.Connection,
    kind: EffectKind,
    *,
    at: str,
    order_id: int | None = None,
    amount: str | None = None,
    idempotency_key: str | None = None,
    detail: dict[str, Any],
) -> int:
    """Append one effect to the ledger and return its seq."""
    cursor = conn.execute(
        "INSERT INTO ledger (kind, order_id, amount, idempotency_key, at, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (kind.value, order_id, amount, idempotency_key, at, json.dumps(detail)),
    )
    return int(cursor.lastrowid or 0)


def effects(
    conn: sqlite3.Connection, kind: str | None = None, order_id: int | None = None
) -> list[Effect]:
    """The ledger in seq order, optionally only one kind and/or one order."""
    clauses: list[str] = []
    params: list[object] = []
    if kind is not None:
        clauses.append("kind = ?")
        params.append(kind)
    if order_id is not None:
        clauses.append("order_id = ?")
        params.append(order_id)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        "SELECT seq, kind, order_id, amount, idempotency_key, at, detail FROM ledger"
        f"{where} ORDER BY seq",
        params,
    )
    return [
        Effect(
            seq=row["seq"],
            kind=row["kind"],
            order_id=row["order_id"],
            amount=row["amount"],
            idempotency_key=row["idempotency_key"],
            at=row["at"],
            detail=json.loads(row["detail"]),
        )
        for row in rows
    ]


def stored_response(conn: sqlite3.Connection, key: str) -> StoredResponse | None:
    row = conn.execute(
        "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    return StoredResponse(row["fingerprint"], row["status"], row["body"])


def store_response(
    conn: sqlite3.Connection,
    key: str,
    *,
    method: str,
    path: str,
    fingerprint: str,
    status: int,
    body: str,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO idempotency_keys (key, method, path, fingerprint, status, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (key, method, path, fingerprint, status, body, at),
    )


def add_message(
    conn: sqlite3.Connection,
    *,
    message_id: str,
    sender: str,
    to: str,
    subject: str,
    body: str,
    received_at: str,
) -> bool:
    """Store a message unless its Message-ID was already received; say whether it was stored."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO messages (message_id, sender, recipients, subject, body,"
        " received_at) VALUES (?, ?, ?, ?, ?, ?)",
        (message_id, sender, to, subject, body, received_at),
    )
    return cursor.rowcount == 1


def messages(conn: sqlite3.Connection, message_id: str | None = None) -> list[Message]:
    """Stored messages in the order they arrived, or the one with this Message-ID."""
    sql = "SELECT message_id, sender, recipients, subject, body, received_at FROM messages"
    params: tuple[str, ...] = ()
    if message_id is not None:
        sql += " WHERE message_id = ?"
        params = (message_id,)
    rows = conn.execute(sql + " ORDER BY rowid", params)
    return [
        Message(
            {
                "message_id": row["message_id"],
                "from": row["sender"],
                "to": row["recipients"],
                "subject": row["subject"],
                "body": row["body"],
                "received_at": row["received_at"],
            }
        )
        for row in rows
    ]


def wipe(conn: sqlite3.Connection) -> None:
    """Delete every row and restart every id sequence."""
    for table in _DATA_TABLES:
        conn.execute(f"DELETE FROM {table}")  # names come from the constant above
    conn.execute("DELETE FROM sqlite_sequence")
