"""A loopback fake of an embeddings API (Voyage AI's ``POST /v1/embeddings``, which
OpenAI's shares but for the dimension's name), so tests drive the hosted embedder over
real HTTP.

By default it answers every request with deterministic vectors: the hashing embedder's
at the requested dimension, scaled (so the client must normalise) and listed in reverse
order (so the client must sort by ``index``). A test may queue replies that go first:
`Reply` for any status, headers and JSON body (an error, a malformed answer). Every
request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from memory import HashingEmbedder
from remote.httpserver import BackgroundHTTPServer, Served
from remote.httpserver import Reply as Wire

__all__ = ["EmbeddingsAPI", "Recorded", "Reply", "overloaded", "rate_limited"]

Json = dict[str, Any]
SCALE = 3.0
"""Vectors come back this long, not unit length."""


@dataclass(frozen=True)
class Reply:
    """One scripted answer; `body` may be a function of the request body."""

    status: int = 200
    body: Json | Callable[[Json], Json] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def rate_limited(retry_after: str = "0") -> Reply:
    return Reply(
        429, {"detail": "You have exceeded your rate limit."}, {"retry-after": retry_after}
    )


def overloaded() -> Reply:
    return Reply(503, {"detail": "The service is temporarily overloaded."})


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: Json


class EmbeddingsAPI(Served):
    """``POST /v1/embeddings`` on 127.0.0.1 in a thread; `endpoint` is its full URL.

    With `api_key` set, any other Bearer token gets Voyage's 401.
    """

    def __init__(self, *script: Reply, api_key: str | None = None) -> None:
        self.script: deque[Reply] = deque(script)
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._http = BackgroundHTTPServer(self._respond, name="fake-embeddings", poll=0.01)

    @property
    def endpoint(self) -> str:
        return f"{self.root}/v1/embeddings"

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    @property
    def texts(self) -> list[list[str]]:
        """The `input` of each request, in order."""
        return [list(r.body.get("input", [])) for r in self.requests]

    def _respond(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Wire:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with self._lock:
            self.requests.append(Recorded(path, headers, body))
            scripted = self.script.popleft() if self.script else None
        if scripted is None:
            scripted = self._answer(method, path, headers, body)
        answer = scripted.body(body) if callable(scripted.body) else scripted.body
        return (
            scripted.status,
            {"content-type": "application/json", **scripted.headers},
            json.dumps(answer).encode(),
        )

    def _answer(self, method: str, path: str, headers: dict[str, str], body: Json) -> Reply:
        if (method, path) != ("POST", "/v1/embeddings"):
            return Reply(404, {"detail": "Not Found"})
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"detail": "Provided API key is invalid."})
        texts, model = body.get("input"), body.get("model")
        dim = body.get("output_dimension", body.get("dimensions"))
        if (
            not isinstance(texts, list)
            or not texts
            or not isinstance(model, str)
            or not all(isinstance(t, str) and t.strip() for t in texts)
        ):
            return Reply(400, {"detail": "input must be a non-empty list of non-empty strings"})
        embedder = HashingEmbedder(int(dim) if isinstance(dim, int) else 1024)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": [SCALE * x for x in embedder.embed(text)],
            }
            for i, text in enumerate(texts)
        ]
        return Reply(
            200,
            {
                "object": "list",
                "data": data[::-1],
                "model": model,
                "usage": {"total_tokens": sum(len(t.split()) for t in texts)},
            },
        )
