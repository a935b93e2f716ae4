"""Slots by patterns: what a message names, each only where present."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal, TypedDict

from .reasons import reason_of
from .text import (
    APPROVAL_ID,
    CURRENCIES,
    EMAIL,
    ISO_DATE,
    ISO_RANGE,
    LAST_DAYS,
    MONEY,
    ORDER,
    PERIODS,
    REFUND_NUMBER,
    RUN_ID,
    WORDS,
    clean,
)


class Slots(TypedDict, total=False):
    order_id: int
    amount: str
    currency: str
    reason: str
    run_id: str
    approval_id: str
    decision: Literal["approve", "reject"]
    period: str
    name: str
    email: str
    query: str
    """What to search memory for; only for a memory search (see `queries.memory_query`)."""


DEFAULT_PERIOD = "last week"
_NAME_TOKEN = re.compile(r"[^\W\d_][\w'’-]*")
_NAME_CUES = frozenset({"customer", "client", "for", "from", "named", "give", "to"})
_NOT_NAMES = frozenset(
    {
        "order",
        "refund",
        "please",
        "customer",
        "client",
        "the",
        "i",
        "approve",
        "reject",
        "run",
        "keel",
    }
)
_APPROVE_WORDS = frozenset({"approve", "approved", "approving"})
_REJECT_WORDS = frozenset(
    {"reject", "rejected", "rejecting", "deny", "denied", "decline", "declined"}
)
_NEGATED_APPROVE = re.compile(
    r"\b(?:don'?t|do\s+not|not|never|won'?t)\s+(?:\w+\s+)?approve\b", re.IGNORECASE
)
_ASKS_ABOUT = re.compile(
    r"^\W*(?:did|has|have|was|were|who|why|when|whether|is|are)\b"
    r"|\b(?:has|have|was|were|been|is|got)\s(?:\w+\s)?(?:approved|rejected|denied|declined)\b",
    re.IGNORECASE,
)


def _amount(text: str) -> Decimal | None:
    try:
        thousands = re.search(r",\d{3}", text)  # "1,200.00"; otherwise "12,50" is 12.50
        value = Decimal(text.replace(",", "") if thousands else text.replace(",", "."))
    except InvalidOperation:
        return None
    return value.quantize(Decimal("0.01")) if value > 0 else None


def _decision_of(text: str) -> Literal["approve", "reject"] | None:
    """The decision the text states in so many words ("approve", "reject", "deny",
    "decline"), or None when it states none or both, negates it ("don't approve") or only
    asks about it ("was apv_… approved?"). No synonyms, no typos: a decision is never
    guessed."""
    if _ASKS_ABOUT.search(text):
        return None
    words = WORDS.findall(_NEGATED_APPROVE.sub(" ", text).lower())
    approve = any(word in _APPROVE_WORDS for word in words)
    reject = any(word in _REJECT_WORDS for word in words)
    if approve == reject:
        return None
    return "approve" if approve else "reject"


def _period(text: str) -> str | None:
    if found := ISO_RANGE.search(text):
        first, last = found.groups()
        if _is_date(first) and _is_date(last):
            return f"{first} to {last}"
    for found in ISO_DATE.finditer(text):
        if _is_date(found.group()):
            return found.group()
    if found := LAST_DAYS.search(text):
        return f"last {int(found.group(1))} days"
    lowered = text.lower()
    return next((period for phrase, period in PERIODS if phrase in lowered), None)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _name(text: str) -> str | None:
    """Up to three capitalised words after "customer", "for", "give"…, or before "'s"."""
    tokens = _NAME_TOKEN.findall(text)
    for at, token in enumerate(tokens):
        if token.lower() in _NAME_CUES:
            words = _capitalised(tokens[at + 1 : at + 4])
        elif token.endswith(("'s", "’s")) and len(token) > 2:
            words = _capitalised([token[:-2], *reversed(tokens[max(0, at - 2) : at])])[::-1]
        else:
            continue
        if words:
            return " ".join(words)
    return None


def _capitalised(tokens: list[str]) -> list[str]:
    words = []
    for token in tokens:
        if not token[0].isupper() or token.lower() in _NOT_NAMES:
            break
        words.append(token)
    return words


def extract_slots(text: str) -> Slots:
    """Order, amount, reason, run and approval ids, decision, period, name and email, where
    present."""
    text = clean(text)
    slots: Slots = {}
    order = ORDER.search(text)
    refund_number = REFUND_NUMBER.search(text)
    if order and int(order.group(1) or order.group(2)) > 0:
        slots["order_id"] = int(order.group(1) or order.group(2))
    elif refund_number and refund_number.group(1).isdigit() and int(refund_number.group(1)) > 0:
        # "refund 1042" with no order named elsewhere: 1042 is the order.
        slots["order_id"] = int(refund_number.group(1))
        order, refund_number = refund_number, None
    if money := MONEY.search(text):
        symbol, number, number2, symbol2, word = money.groups()
        if (value := _amount(number or number2)) is not None:
            slots["amount"] = str(value)
        if code := CURRENCIES.get((symbol or symbol2 or word or "").lower()):
            slots["currency"] = code
    elif refund_number and (value := _amount(refund_number.group(1))) is not None:
        slots["amount"] = str(value)
    if run := RUN_ID.search(text):
        slots["run_id"] = run.group().lower()
    approval = APPROVAL_ID.search(text)
    if approval:
        slots["approval_id"] = approval.group().lower()
    if decision := _decision_of(text):
        slots["decision"] = decision
    if period := _period(text):
        slots["period"] = period
    if reason := reason_of(text, order or approval):
        slots["reason"] = reason
    if name := _name(text):
        slots["name"] = name
    if email := EMAIL.search(text):
        slots["email"] = email.group().casefold()
    return slots
