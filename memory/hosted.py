"""A hosted embedder: text to vectors by an embeddings API over HTTP.

It speaks the request both Voyage AI and OpenAI accept — ``POST`` a JSON body with
``input`` (a list of texts) and ``model``, and read ``data[].embedding`` back, each with
its ``index`` — and asks for the configured dimension (``output_dimension`` for Voyage,
``dimensions`` for OpenAI). The call goes through the connectors' `HttpConnector`, so it
has the same timeouts, retries (429 after its Retry-After, 5xx and transport errors; an
embedding changes nothing, so a POST is retried), circuit breaker and rate limit as every
other external call.

What comes back is checked before anything is stored: one vector per text, each of the
configured dimension, every number finite and the vector not all zeros. A failure raises
`EmbeddingFailed` saying what went wrong; the API key is never part of it. Vectors are
L2-normalised, so cosine similarity is a dot product as with the hashing embedder. Text
with no words embeds to the zero vector without a request, as the hashing embedder does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, Literal

import httpx

from memory.errors import EmbeddingFailed
from remote.base import HttpConnector, RetryPolicy
from remote.errors import ConnectorError
from remote.ratelimit import RateLimit

__all__ = ["API_FLAVOURS", "HostedEmbedder"]

API_FLAVOURS = ("voyage", "openai")
"""How each names the dimension it is asked for."""
_DIMENSION_FIELD = {"voyage": "output_dimension", "openai": "dimensions"}
BATCH = 128
"""Texts per request (Voyage takes up to 1,000, OpenAI 2,048; smaller batches fail less)."""
_WORD = re.compile(r"\w")


class HostedEmbedder:
    """Vectors from an embeddings API; see the module docstring.

    `name` is ``hosted:<model>:<dim>``, so a memory file indexed with one model or
    dimension refuses another until it is re-indexed.
    """

    def __init__(
        self,
        url: str,
        *,
        model: str,
        dim: int,
        api_key: str | None = None,
        flavour: Literal["voyage", "openai"] = "voyage",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        if flavour not in _DIMENSION_FIELD:
            raise ValueError(f"flavour must be one of {', '.join(API_FLAVOURS)}, got {flavour!r}")
        self.url = url
        self.model = model
        self.dim = dim
        self.flavour = flavour
        self.name = f"hosted:{model}:{dim}"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        client = httpx.Client(headers=headers, transport=transport, follow_redirects=False)
        self.connector = HttpConnector(
            client,
            name="embeddings",
            retry=retry or RetryPolicy(),
            rate_limit=rate_limit or RateLimit(per_second=5.0, burst=10),
            timeout=timeout,
            owns_client=True,
        )

    def embed(self, text: str) -> list[float]:
        return self.embed_many([text])[0]

    def embed_many(self, texts: Iterable[str]) -> list[list[float]]:
        texts = list(texts)
        out: list[list[float]] = [[0.0] * self.dim for _ in texts]
        wanted = [i for i, text in enumerate(texts) if _WORD.search(text)]
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            for i, vector in zip(batch, self._request([texts[i] for i in batch]), strict=True):
                out[i] = vector
        return out

    def _request(self, texts: list[str]) -> list[list[float]]:
        body = {"input": texts, "model": self.model, _DIMENSION_FIELD[self.flavour]: self.dim}
        try:
            answer = self.connector.request(
                "POST",
                self.url,
                operation="embed",
                json=body,
                target=f"{len(texts)} texts",
                changes_nothing=True,
            )
        except ConnectorError as exc:
            raise EmbeddingFailed(f"{self.name}: {exc}") from exc
        return self._vectors(answer, len(texts))

    def _vectors(self, answer: dict[str, Any], count: int) -> list[list[float]]:
        data = answer.get("data")
        if not isinstance(data, list):
            raise EmbeddingFailed(f"{self.name}: the answer has no 'data' list")
        if len(data) != count:
            raise EmbeddingFailed(f"{self.name}: {count} texts sent, {len(data)} vectors back")
        try:
            rows = sorted(data, key=lambda row: int(row["index"]))
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbeddingFailed(
                f"{self.name}: an unreadable vector in the answer ({exc})"
            ) from None
        if [int(row["index"]) for row in rows] != list(range(count)):
            raise EmbeddingFailed(f"{self.name}: the answer's indexes are not 0 to {count - 1}")
        return [self._unit(vector, i) for i, vector in enumerate(vectors)]

    def _unit(self, vector: list[float], index: int) -> list[float]:
        if len(vector) != self.dim:
            raise EmbeddingFailed(
                f"{self.name}: vector {index} has {len(vector)} dimensions,"
                f" {self.dim} were asked for"
            )
        if not all(math.isfinite(x) for x in vector):
            raise EmbeddingFailed(f"{self.name}: vector {index} holds a NaN or infinity")
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:
            raise EmbeddingFailed(f"{self.name}: vector {index} is all zeros")
        return [x / norm for x in vector]

    def close(self) -> None:
        self.connector.close()

    def __repr__(self) -> str:
        return f"HostedEmbedder({self.url!r}, model={self.model!r}, dim={self.dim})"
