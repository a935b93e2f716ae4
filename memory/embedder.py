"""A deterministic, offline text embedder: signed feature hashing of words, word pairs
and character n-grams, the same vector for the same text on every machine and run."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from hashlib import blake2b
from itertools import pairwise
from typing import Protocol, runtime_checkable

from memory.errors import EmbeddingFailed

__all__ = ["Embedder", "EmbeddingFailed", "HashingEmbedder", "cosine"]

_WORD = re.compile(r"\w+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CHAR_NGRAMS = (3, 4, 5)

# Relative weight of each kind of feature: whole words carry the meaning, word pairs
# the phrasing, character n-grams the tolerance for typos and inflections.
_WORD_WEIGHT = 1.0
_BIGRAM_WEIGHT = 0.6
_CHAR_WEIGHT = 0.25


@runtime_checkable
class Embedder(Protocol):
    """Text to fixed-length vectors. `name` identifies the vectors it makes (model and
    dimension): a memory store refuses vectors from an embedder of another name."""

    name: str
    dim: int

    def embed(self, text: str) -> list[float]: ...

    def embed_many(self, texts: Iterable[str]) -> list[list[float]]: ...


def normalise(text: str) -> str:
    """Unicode NFKC, case-folded; lone surrogates (undecodable bytes) become U+FFFD."""
    return unicodedata.normalize("NFKC", _SURROGATE.sub("\ufffd", text)).casefold()


@lru_cache(maxsize=65536)
def _slot(feature: str, dim: int) -> tuple[int, float]:
    """The (index, sign) a feature hashes to; blake2b, so stable across processes."""
    digest = int.from_bytes(blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")
    return digest % dim, (1.0 if digest >> 63 else -1.0)


def _features(words: Sequence[str]) -> Counter[tuple[str, float]]:
    counts: Counter[tuple[str, float]] = Counter()
    for word in words:
        counts[("w:" + word, _WORD_WEIGHT)] += 1
        padded = f"<{word}>"
        for n in _CHAR_NGRAMS:
            for start in range(len(padded) - n + 1):
                counts[("c:" + padded[start : start + n], _CHAR_WEIGHT)] += 1
    for first, second in pairwise(words):
        counts[(f"b:{first} {second}", _BIGRAM_WEIGHT)] += 1
    return counts


class HashingEmbedder:
    """Text to a unit vector of `dim` floats, with no model, network or randomness.

    Features are the words, adjacent word pairs and the 3-5 character n-grams of each
    word (padded with `<` and `>` so prefixes and suffixes count), each hashed with
    blake2b to an index and a sign. With `sublinear`, a feature seen n times weighs
    1 + ln(n) instead of n, so a repeated word does not drown the rest. The result is
    L2-normalised. Text with no words (empty, blank, punctuation only) embeds to the
    zero vector, whose cosine with anything is 0.

    `name` ("hashing-v1-384") changes whenever the vectors would, so a store can tell
    that its vectors came from another embedder.
    """

    def __init__(self, dim: int = 384, *, sublinear: bool = True) -> None:
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = dim
        self.sublinear = sublinear
        self.name = f"hashing-v1-{dim}" + ("" if sublinear else "-raw")

    def embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        words = _WORD.findall(normalise(text))
        for (feature, weight), count in _features(words).items():
            index, sign = _slot(feature, self.dim)
            tf = 1.0 + math.log(count) if self.sublinear else float(count)
            vector[index] += sign * weight * tf
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:
            return vector
        return [x / norm for x in vector]

    def embed_many(self, texts: Iterable[str]) -> list[list[float]]:
        return [self.embed(text) for text in texts]

    def __repr__(self) -> str:
        return f"HashingEmbedder(dim={self.dim}, sublinear={self.sublinear})"


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity in [-1, 1]; 0.0 when either vector is all zeros."""
    if len(a) != len(b):
        raise ValueError(f"vectors differ in length: {len(a)} and {len(b)}")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
