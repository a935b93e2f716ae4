"""Sortable, time-ordered identifiers for runs, approvals and reconciliation items."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime

from ulid import ULID

_lock = threading.Lock()
_last = 0


def new_id(prefix: str, at: datetime | None = None) -> str:
    """`prefix_` + a ULID: sorts by creation time as text, unique without coordination.

    Within one process ids are strictly increasing, even inside one millisecond (the
    random part of a repeat millisecond is the previous one plus one).
    """
    global _last
    moment = at or datetime.now().astimezone()
    candidate = int(moment.timestamp() * 1000) << 80 | secrets.randbits(80)
    with _lock:
        if candidate <= _last:
            candidate = _last + 1
        _last = candidate
    return f"{prefix}_{str(ULID.from_int(candidate)).lower()}"
