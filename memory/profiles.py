"""Canonical profiles, materialised from what happened rather than written by hand: a
customer's orders, refunds, tickets and sentiment; a creator's style. They are pure
functions of their inputs, so rebuilding one from the same history gives the same
profile, and a prompt can carry a profile's short `line` instead of the history."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from memory.embedder import normalise
from memory.summarise import STOP_WORDS

__all__ = [
    "CreatorStyle",
    "CustomerProfile",
    "RefundFact",
    "creator_style",
    "customer_profile",
    "sentiment",
]

_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_POSITIVE = frozenset(
    [
        "thanks",
        "thank",
        "great",
        "love",
        "lovely",
        "happy",
        "perfect",
        "excellent",
        "quick",
        "helpful",
        "appreciate",
        "pleased",
        "wonderful",
        "good",
        "fantastic",
        "kind",
    ]
)
_NEGATIVE = frozenset(
    [
        "broken",
        "damaged",
        "late",
        "never",
        "angry",
        "terrible",
        "awful",
        "wrong",
        "missing",
        "cracked",
        "complaint",
        "disappointed",
        "worst",
        "useless",
        "rude",
        "faulty",
        "leaking",
        "dented",
        "unacceptable",
        "poor",
    ]
)
_NEGATORS = frozenset({"not", "no", "never", "n't", "hardly"})


def sentiment(text: str) -> float:
    """A lexicon score in [-1, 1]: positive words minus negative ones (a negator just
    before a word flips it), over the words that carry any sentiment."""
    words = _WORD.findall(normalise(text).replace("n't", " not"))
    score = hits = 0
    for index, word in enumerate(words):
        polarity = (word in _POSITIVE) - (word in _NEGATIVE)
        if polarity:
            if index and words[index - 1] in _NEGATORS:
                polarity = -polarity
            score += polarity
            hits += 1
    return 0.0 if hits == 0 else max(-1.0, min(1.0, score / hits))


def _label(score: float) -> str:
    return "negative" if score <= -0.25 else "positive" if score >= 0.25 else "neutral"


@dataclass(frozen=True)
class RefundFact:
    """One refund run as a profile needs it."""

    order_id: int
    status: str
    amount: Decimal | None
    reason: str
    at: str


@dataclass(frozen=True)
class CustomerProfile:
    customer: str
    orders: list[int]
    refunds: int
    refunded: str
    """Total amount of refunds that went through."""
    refund_statuses: dict[str, int]
    tickets: int
    sentiment: float
    sentiment_label: str
    last_seen: str | None
    recent_reasons: list[str] = field(default_factory=list)

    def line(self, currency: str = "USD") -> str:
        """The profile in one sentence for a prompt or a screen."""
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.refund_statuses.items()))
        return (
            f"{self.customer}: {len(self.orders)} order(s) with refunds or tickets,"
            f" {self.refunds} refund(s) ({statuses or 'none'}), {self.refunded} {currency}"
            f" refunded, {self.tickets} ticket(s), sentiment {self.sentiment_label}"
            f" ({self.sentiment:+.2f}), last seen {self.last_seen or 'never'}."
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def customer_profile(
    customer: str, refunds: Iterable[RefundFact], tickets: Sequence[str] = ()
) -> CustomerProfile:
    """A customer's profile from their refund runs and ticket texts."""
    facts = sorted(refunds, key=lambda f: f.at)
    statuses = Counter(f.status for f in facts)
    refunded = sum((f.amount or Decimal(0) for f in facts if f.status == "succeeded"), Decimal(0))
    voices = [f.reason for f in facts] + list(tickets)
    score = sum(map(sentiment, voices)) / len(voices) if voices else 0.0
    return CustomerProfile(
        customer=customer,
        orders=sorted({f.order_id for f in facts}),
        refunds=len(facts),
        refunded=f"{refunded:.2f}",
        refund_statuses=dict(statuses),
        tickets=len(tickets),
        sentiment=round(score, 3),
        sentiment_label=_label(score),
        last_seen=facts[-1].at if facts else None,
        recent_reasons=[f.reason[:200] for f in facts[-3:]],
    )


@dataclass(frozen=True)
class CreatorStyle:
    creator: str
    pieces: int
    words_per_piece: float
    words_per_sentence: float
    questions_per_100_sentences: float
    exclamations_per_100_sentences: float
    second_person_rate: float
    """Share of words that are you/your: how directly the creator addresses readers."""
    signature_terms: list[str]
    """Words this creator uses far more than common English stop words, most used first."""
    tags: list[str]

    def line(self) -> str:
        return (
            f"{self.creator} writes ~{self.words_per_piece:.0f}-word pieces in"
            f" ~{self.words_per_sentence:.0f}-word sentences,"
            f" {'often' if self.second_person_rate > 0.02 else 'rarely'} addressing the"
            f" reader; favourite terms: {', '.join(self.signature_terms[:8]) or 'none yet'}."
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def creator_style(
    creator: str, pieces: Sequence[str], tags: Iterable[str] = (), terms: int = 12
) -> CreatorStyle:
    """A creator's style from their published pieces: length, rhythm, tone, vocabulary."""
    sentences = [s for piece in pieces for s in _SENTENCE.split(piece.strip()) if s]
    words = [w for piece in pieces for w in _WORD.findall(normalise(piece))]
    count = Counter(w for w in words if w not in STOP_WORDS and len(w) > 3)
    spread = Counter(w for piece in pieces for w in set(_WORD.findall(normalise(piece))))
    ranked = sorted(count, key=lambda w: (-count[w] * math.log(1 + spread[w]), w))
    per_sentence = len(words) / len(sentences) if sentences else 0.0
    share = 100.0 / len(sentences) if sentences else 0.0
    return CreatorStyle(
        creator=creator,
        pieces=len(pieces),
        words_per_piece=round(len(words) / len(pieces), 1) if pieces else 0.0,
        words_per_sentence=round(per_sentence, 1),
        questions_per_100_sentences=round(
            sum(s.rstrip().endswith("?") for s in sentences) * share, 1
        ),
        exclamations_per_100_sentences=round(
            sum(s.rstrip().endswith("!") for s in sentences) * share, 1
        ),
        second_person_rate=round(sum(w in ("you", "your") for w in words) / len(words), 4)
        if words
        else 0.0,
        signature_terms=ranked[:terms],
        tags=[t for t, _ in Counter(tags).most_common()],
    )
