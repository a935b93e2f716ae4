"""Commands for a running server: put in its durable inbox, answered by its worker.

A process that does not drive runs itself (the CLI or the terminal app beside `keel serve`)
hands decisions, cancels and "run this job now" to the server this way, and gets back the
result or the same error the direct path would have raised.
"""

from __future__ import annotations

import re
import time
from typing import Any

from . import errors
from .errors import AlreadyDecided, KeelError
from .runtime import Runtime

_ALREADY = re.compile(r"already (?P<status>\w+) by (?P<by>\S+)")


def through_inbox(
    runtime: Runtime, kind: str, payload: dict[str, Any], actor: str, wait: float = 30.0
) -> dict[str, Any]:
    """Hand a command to the running server; wait for its answer (KeelError if refused)."""
    item_id = runtime.store.put_inbox(kind, payload, actor)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        item = runtime.store.inbox_item(item_id)
        if item and item.status in ("done", "failed"):
            result = item.result or {}
            if item.status == "failed":
                raise inbox_error(result)
            return result
        time.sleep(0.1)
    raise KeelError(f"the server has not answered yet; command {item_id} stays queued in the inbox")


def inbox_error(result: dict[str, Any]) -> KeelError:
    """The server's refusal as the error the direct path would have raised (same class, same
    message), read from a failed inbox item's result."""
    name = str(result.get("error"))
    message = str(result.get("message", "refused"))
    cls = getattr(errors, name, KeelError)
    if not (isinstance(cls, type) and issubclass(cls, KeelError)):
        cls = KeelError
    if cls is AlreadyDecided:  # its constructor wants who decided; the message says it
        found = _ALREADY.search(message)
        return AlreadyDecided(
            message,
            decided_by=found["by"] if found else "",
            status=found["status"] if found else "",
        )
    return cls(message)
