"""Intent by nearest labelled example: messages masked to their shape, then compared."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from .examples import Intent
from .text import APPROVAL_ID, EMAIL, ISO_DATE, MONEY, RUN_ID

FLOOR = 0.30
"""Below this similarity to every example, the intent is "unknown"."""

_MASKS = (
    (APPROVAL_ID, " xapproval "),
    (RUN_ID, " xrun "),
    (EMAIL, " xemail "),
    (ISO_DATE, " xdate "),
    (MONEY, " xmoney "),
    (re.compile(r"#\s?\d+\b"), " order xnum "),
    (re.compile(r"\b\d+\b"), " xnum "),
    (
        re.compile(r"\b(?:please|pls|plz|kindly|thanks|thank\s+you|thx|cheers)\b", re.IGNORECASE),
        " ",
    ),
)


def masked(text: str) -> str:
    """Ids, emails, dates, money and numbers as placeholder words (their shape matters, not their
    value); politeness dropped, as it says nothing about what is asked."""
    for pattern, token in _MASKS:
        text = pattern.sub(token, text)
    return text


class Embeds(Protocol):
    """What the offline model needs of an embedder (memory's hashing embedder, given by the
    composition root): unit-length vectors, or zero for a text with no words."""

    def embed(self, text: str) -> list[float]: ...


def nearest(
    vector: Sequence[float], examples: Iterable[tuple[Intent, Sequence[float]]], floor: float
) -> tuple[Intent, float]:
    """The intent of the example nearest `vector` and its cosine similarity, "unknown" when
    that is below `floor`. The vectors are unit length (or zero), so cosine is their dot
    product."""
    best: tuple[Intent, float] = ("unknown", 0.0)
    for intent, example in examples:
        if (score := sum(x * y for x, y in zip(vector, example, strict=True))) > best[1]:
            best = (intent, score)
    return best if best[1] >= floor else ("unknown", best[1])
