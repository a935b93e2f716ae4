"""Sortable, time-ordered identifiers for runs, approvals and reconciliation items."""

from __future__ import annotations

from datetime import datetime

from ulid import ULID


def new_id(prefix: str, at: datetime | None = None) -> str:
    """`prefix_` + a ULID: sorts by creation time as text, unique without coordination."""
    ulid = ULID.from_datetime(at) if at is not None else ULID()
    return f"{prefix}_{str(ulid).lower()}"
