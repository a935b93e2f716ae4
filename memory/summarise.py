"""Compressing old history into a summary: by a model when one is given, extractively
otherwise (the offline default), and always labelled with which it was."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from memory.embedder import normalise

__all__ = ["Summariser", "Summary", "extractive"]

log = logging.getLogger("keel.memory")

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")
_KEY = re.compile(r"\w*\d\w*")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)

Model = Callable[[str], tuple[str, str]]
"""Given a transcript, (its summary, the name of the model that wrote it); raising means
"no summary from me"."""


@dataclass(frozen=True)
class Summary:
    text: str
    by: str
    """"extractive" or the model's name."""


def _sentences(texts: Sequence[str]) -> list[str]:
    out = []
    for text in texts:
        out += [s.strip() for s in _SENTENCE.split(text) if len(_WORD.findall(s)) >= 2]
    return out


def extractive(texts: Sequence[str], max_chars: int = 1200) -> str:
    """The sentences that carry most of the history, in their original order, within
    `max_chars`. A sentence scores by the rarity-weighted words it shares with the rest
    (its centrality), with a bonus for identifiers (order ids, amounts, SKUs), so the
    facts a later reader needs survive; repeats are dropped."""
    sentences = list(dict.fromkeys(_sentences(texts)))
    if not sentences:
        return ""
    words = [[w for w in _WORD.findall(normalise(s)) if w not in STOP_WORDS] for s in sentences]
    seen_in = Counter(w for ws in words for w in set(ws))
    total = len(sentences)
    weight = {w: math.log(1 + total / n) for w, n in seen_in.items()}
    frequency = Counter(w for ws in words for w in ws)

    def score(index: int) -> float:
        ws = words[index]
        if not ws:
            return 0.0
        central = sum(weight[w] * frequency[w] for w in set(ws)) / math.sqrt(len(ws))
        return central + 2.0 * len(_KEY.findall(sentences[index]))

    chosen: list[int] = []
    used = 0
    for index in sorted(range(total), key=lambda i: (-score(i), i)):
        cost = len(sentences[index]) + 1
        if used + cost <= max_chars:
            chosen.append(index)
            used += cost
    if not chosen:  # one sentence longer than the allowance: keep its start
        return sentences[0][:max_chars]
    return " ".join(sentences[i] for i in sorted(chosen))


class Summariser:
    """Summaries by `model` when one is given and it answers, extractive otherwise."""

    def __init__(self, model: Model | None = None, *, max_chars: int = 1200) -> None:
        self.model = model
        self.max_chars = max_chars

    def summarise(self, texts: Sequence[str]) -> Summary:
        if self.model is not None:
            try:
                text, by = self.model("\n".join(texts))
            except Exception as exc:  # noqa: BLE001 - any model failure falls back, as documented
                log.warning("no model summary (%s); summarising extractively", exc)
                text, by = "", ""
            if text.strip():
                return Summary(text.strip()[: self.max_chars * 2], by)
        return Summary(extractive(texts, self.max_chars), "extractive")
