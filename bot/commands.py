"""The `/keel` slash command's words, parsed: start, status, pending, help."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

START_USAGE = (
    "Usage: `/keel start refund ORDER [AMOUNT] REASON…` "
    "(e.g. `/keel start refund 1001 25.00 arrived damaged`), "
    "or `/keel start WORKFLOW key=value …`"
)
STATUS_USAGE = "Usage: `/keel status RUN` (e.g. `/keel status run_01J…`)"

_ORDER = re.compile(r"^#?(\d{1,12})$")


class Usage(ValueError):
    """The command's words do not say what to do; the message shows how to say it."""


@dataclass(frozen=True)
class Command:
    verb: str
    """start, status, pending or help; anything else is unknown."""
    run_id: str | None = None
    workflow: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def parse(text: str) -> Command:
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise Usage(f"I could not read that: {exc}.") from None
    if not words:
        return Command("help")
    verb, rest = words[0].lower(), words[1:]
    match verb:
        case "status":
            if len(rest) != 1:
                raise Usage(STATUS_USAGE)
            return Command("status", run_id=rest[0])
        case "start":
            workflow, data = _start(rest)
            return Command("start", workflow=workflow, data=data)
        case "pending" | "help":
            return Command(verb)
    return Command(verb)


def _start(words: list[str]) -> tuple[str, dict[str, Any]]:
    if not words:
        raise Usage(START_USAGE)
    workflow, rest = words[0].lower(), words[1:]
    if all("=" in w for w in rest) and rest:
        return workflow, dict(w.split("=", 1) for w in rest)
    if workflow != "refund":
        raise Usage(START_USAGE)
    if not rest or not (order := _ORDER.match(rest[0])):
        raise Usage(f"A refund needs an order number first. {START_USAGE}")
    data: dict[str, Any] = {"order_id": int(order[1])}
    rest = rest[1:]
    if rest:
        try:
            data["amount"] = str(Decimal(rest[0].removeprefix("$")))
            rest = rest[1:]
        except InvalidOperation:
            pass
    if not rest:
        raise Usage(f"A refund needs a reason. {START_USAGE}")
    data["reason"] = " ".join(rest)
    return workflow, data
