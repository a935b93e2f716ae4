"""The event log's hash chain: how a link is computed, and how the chain is checked."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(data: Any) -> str:
    """The one JSON text of a value: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """sha256 over the previous link and every stored field of the event.

    The fields are hashed as one JSON array, so NULL and empty text differ.
    """
    fields = [
        prev_hash,
        row["run_id"],
        row["seq"],
        row["at"],
        row["kind"],
        row["step"],
        row["actor"],
        row["data"],
        float(row["cost_usd"]),
        None if row["duration_ms"] is None else float(row["duration_ms"]),
    ]
    return hashlib.sha256(canonical(fields).encode()).hexdigest()


@dataclass(frozen=True)
class AuditReport:
    checked: int
    broken_at: int | None = None
    run_id: str | None = None
    seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(conn: sqlite3.Connection) -> AuditReport:
    """Walk the log in order; name the first event whose link does not hold."""
    prev = GENESIS
    checked = 0
    cursor = conn.execute(
        "SELECT id, run_id, seq, at, kind, step, actor, data, cost_usd, duration_ms, prev_hash,"
        " hash FROM events ORDER BY id"
    )
    cursor.row_factory = sqlite3.Row
    for row in cursor:
        problem = None
        if row["prev_hash"] != prev:
            problem = "its prev_hash does not match the hash of the event before it"
        elif link_hash(prev, dict(row)) != row["hash"]:
            problem = "its contents do not match its hash (the row was altered)"
        if problem:
            return AuditReport(checked, row["id"], row["run_id"], row["seq"], problem)
        prev = row["hash"]
        checked += 1
    return AuditReport(checked)
