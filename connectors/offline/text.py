"""How the offline model reads a message: bounded and normalised by `clean`, then matched
against the patterns for what a message can name (ids, orders, money, dates, periods,
emails)."""

from __future__ import annotations

import re

MAX_READ = 4000
"""Characters of a message the model reads; the rest is ignored (bounded work)."""

EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@[^\W_](?:[\w-]{0,62}[^\W_])?"
    r"(?:\.[^\W_](?:[\w-]{0,62}[^\W_])?){1,8}(?![\w-])"
)
"""An email address (bounded parts, so matching never backtracks far)."""
RUN_ID = re.compile(r"\brun_[0-9a-z]{26}\b", re.IGNORECASE)
APPROVAL_ID = re.compile(r"\bapv_[0-9a-z]{26}\b", re.IGNORECASE)
ORDER = re.compile(
    r"\b(?:order|ordr|oder|ordre)\s*(?:no\.?|num(?:ber)?|id)?\s*[:#]?\s*"
    r"(\d{1,12})\b"
    r"|#\s?(\d{1,12})\b",
    re.IGNORECASE,
)
NUM = r"(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,9}(?:[.,]\d{1,2})?)"
CURRENCY_WORD = r"usd|eur|gbp|dollars?|bucks|euros?|pounds?"
CURRENCIES = {
    "$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
}
MONEY = re.compile(
    rf"([$€£])\s?{NUM}(?!\d)|\b{NUM}\s?(?:([$€£])|({CURRENCY_WORD})\b)", re.IGNORECASE
)
REFUND_NUMBER = re.compile(
    rf"\brefund(?:\s+of)?\s+{NUM}(?![\d%])(?!\s*(?:days?|items?)\b)", re.IGNORECASE
)
ISO_RANGE = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})\s*(?:to|until|through|and|-|–|\.\.)\s*(\d{4}-\d{2}-\d{2})\b"
)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
LAST_DAYS = re.compile(r"\b(?:last|past)\s+(\d{1,3})\s+days?\b", re.IGNORECASE)
PERIODS = (
    ("today", "today"),
    ("yesterday", "yesterday"),
    ("this week", "this week"),
    ("last week", "last week"),
    ("past week", "last 7 days"),
    ("this month", "this month"),
    ("last month", "last month"),
    ("past month", "last 30 days"),
)
WORDS = re.compile(r"[^\W_]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """At most MAX_READ characters, lone surrogates replaced, control characters dropped,
    each run of white space one character (so no pattern here ever backtracks far)."""
    text = _SURROGATE.sub("\ufffd", text[:MAX_READ])
    text = "".join(c for c in text if c.isprintable() or c.isspace())
    return _SPACES.sub(lambda run: "\n" if "\n" in run.group() else " ", text)
