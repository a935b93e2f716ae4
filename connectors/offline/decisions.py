"""The offline model's decisions: from an intent and its slots to a question to ask, or to
the tool to call and arguments its schema accepts."""

from __future__ import annotations

import re
from typing import Any

from connectors.llm import ToolSpec

from .replies import (
    ASK_APPROVAL,
    ASK_DECISION,
    ASK_ORDER,
    ASK_QUERY,
    ASK_REASON,
    ASK_REJECT_REASON,
    ASK_RUN,
    CAPABILITIES,
    EMPTY,
    GREETING,
    HELP,
    UNKNOWN,
)
from .slots import DEFAULT_PERIOD, Slots

TOOLS: dict[str, str] = {
    "start_refund": "start_workflow",
    "pending": "list_pending",
    "show_run": "show_run",
    "approve": "decide",
    "reject": "decide",
    "metrics": "summarise_metrics",
    "recall": "search_memory",
}
_NEAREST_PERIODS = {
    "this week": ("last week",),
    "last 7 days": ("last week",),
    "this month": ("last 30 days",),
    "last month": ("last 30 days",),
}
"""What to ask for instead when a tool's schema does not offer the period said."""


def respond(intent: str, slots: Slots) -> str | tuple[str, dict[str, Any]]:
    """A text to say, or the intent to act on and its tool's arguments."""
    if intent == "start_refund":
        if "order_id" not in slots:
            return ASK_ORDER
        if "reason" not in slots:
            return ASK_REASON.format(order_id=slots["order_id"])
        refund: dict[str, Any] = {"order_id": slots["order_id"], "reason": slots["reason"]}
        if "amount" in slots:
            refund["amount"] = slots["amount"]
        return intent, {"workflow": "refund", "input": refund}
    if intent in ("approve", "reject"):
        if "approval_id" not in slots:
            return ASK_APPROVAL
        approval_id = slots["approval_id"]
        decision = slots.get("decision")
        if decision is None:
            return ASK_DECISION.format(approval_id=approval_id)
        if decision == "approve":
            return decision, {"approval_id": approval_id, "decision": decision}
        if "reason" not in slots:
            return ASK_REJECT_REASON.format(approval_id=approval_id)
        return decision, {
            "approval_id": approval_id,
            "decision": decision,
            "reason": slots["reason"],
        }
    if intent == "pending":
        return intent, {}
    if intent == "show_run":
        return (intent, {"run_id": slots["run_id"]}) if "run_id" in slots else ASK_RUN
    if intent == "metrics":
        return intent, {"period": slots.get("period", DEFAULT_PERIOD)}
    if intent == "recall":
        if "query" not in slots:
            return ASK_QUERY
        search: dict[str, Any] = {"query": slots["query"]}
        if "email" in slots:  # what memory knows of a customer is filed under their email
            search["subject"] = "customer:" + slots["email"]
        return intent, search
    opening = {"help": HELP, "greeting": GREETING, "empty": EMPTY}.get(intent, UNKNOWN)
    return opening + CAPABILITIES


def fitted_arguments(arguments: dict[str, Any], spec: ToolSpec) -> dict[str, Any]:
    """Arguments the tool's schema accepts: a period it does not offer becomes the nearest
    one it does, or is left to the tool's default."""
    properties = spec.input_schema.get("properties", {})
    required = spec.input_schema.get("required", [])
    fitted = dict(arguments)
    for key, value in arguments.items():
        allowed = properties.get(key, {}).get("enum") if isinstance(properties, dict) else None
        if not isinstance(allowed, list) or value in allowed:
            continue
        nearest = _NEAREST_PERIODS.get(str(value), ())
        if days := re.fullmatch(r"last (\d+) days", str(value)):
            count = int(days.group(1))
            nearest = (
                ("last week",) if count <= 7 else ("last 30 days",) if count <= 30 else ("all",)
            )
        if choice := next((p for p in nearest if p in allowed), None):
            fitted[key] = choice
        elif key in required:
            fitted[key] = allowed[0]
        else:
            del fitted[key]
    return fitted
