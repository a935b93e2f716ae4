"""The free-text slot: why something should be done, told apart from filler and politeness."""

from __future__ import annotations

import re

from .text import MONEY, WORDS

MAX_REASON = 500

_MARKER = re.compile(
    r"\b(?:because(?:\s+of)?|since|due\s+to|reason(?:\s+is|\s+was|\s*[:=])"
    r"|as\s+(?=(?:it|they|the|we|he|she)\b))\s*(.+)",
    re.IGNORECASE | re.DOTALL,
)
_CLAUSE_BREAK = re.compile(r"[,;:?!\n—–]+|\.\s+|\s-\s")
_FILLER = frozenset(
    {
        "please",
        "pls",
        "plz",
        "kindly",
        "thanks",
        "thank",
        "thx",
        "you",
        "can",
        "could",
        "would",
        "will",
        "i",
        "we",
        "need",
        "needs",
        "want",
        "wants",
        "like",
        "d",
        "to",
        "a",
        "an",
        "the",
        "full",
        "partial",
        "refund",
        "refunds",
        "refunded",
        "refunding",
        "issue",
        "process",
        "start",
        "give",
        "do",
        "make",
        "money",
        "back",
        "for",
        "of",
        "on",
        "it",
        "this",
        "that",
        "them",
        "him",
        "her",
        "me",
        "order",
        "hi",
        "hey",
        "hello",
        "asap",
        "now",
        "today",
        "usd",
        "eur",
        "gbp",
        "dollars",
        "in",
        "amount",
        "yes",
        "no",
        "ok",
        "okay",
        "approve",
        "reject",
        "deny",
        "decline",
        "so",
        "and",
        "just",
        "yet",
        "again",
        "too",
        "also",
        "right",
        "away",
        "one",
        "these",
        "those",
        "my",
        "our",
        "their",
        "his",
        "customer",
        "client",
        "request",
        "requests",
    }
)
"""Words that say nothing about why: a clause made only of these is not a reason."""


def _near(word: str, target: str) -> bool:
    """Within one edit (insert, delete, substitute or swap) of `target`: tolerates typos."""
    if abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(diff) <= 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == target[diff[1]]
            and word[diff[1]] == target[diff[0]]
        )
    short, long = sorted((word, target), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _is_filler(clause: str) -> bool:
    return all(
        w in _FILLER or w.isdigit() or _near(w, "approve") or _near(w, "reject")
        for w in WORDS.findall(MONEY.sub(" ", clause).lower())
    )


def tidy_reason(text: str, *, subject: bool = False) -> str | None:
    """Trimmed of punctuation and politeness, and of a leading "it" unless `subject`;
    None when nothing but filler is left."""
    text = text.strip()
    if not subject:  # "order 1042, it arrived broken": the order is the "it"
        text = re.sub(r"^(?:it|it's|its|they)\s(?=\w)", "", text, flags=re.IGNORECASE)
    text = text.rstrip(" \n.!?,;")
    for polite in (" please", " pls", " thanks", " thank you", " thx"):
        if text.lower().endswith(polite):
            text = text[: -len(polite)].rstrip(" \n,;")
    if not text or _is_filler(text):
        return None
    return text[:MAX_REASON]


def reason_of(text: str, anchor: re.Match[str] | None) -> str | None:
    """Why: after "because"/"since"/"reason:", else a clause after (or before) the order or
    approval the text names."""
    start = anchor.end() if anchor else 0
    if marked := _MARKER.search(text, start) or _MARKER.search(text):
        return tidy_reason(marked.group(1), subject=True)
    if anchor is None:
        return None
    after = _CLAUSE_BREAK.split(text[start:])
    before = _CLAUSE_BREAK.split(text[: anchor.start()])[:-1]  # not the clause naming the anchor
    for clauses in (after, before):
        kept = [c.strip() for c in clauses if c.strip() and not _is_filler(c)]
        if kept and (reason := tidy_reason(", ".join(kept))):
            return reason
    return None
