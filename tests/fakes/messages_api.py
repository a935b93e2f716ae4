"""A loopback fake of Anthropic's Messages API, so tests drive the real SDK over real HTTP.

Each test scripts what the API answers, in order: an `Answer` (text and tool calls) or a
`Failure` (an HTTP error with the API's error body). A `responder` may answer instead,
after the script runs out, from the request itself. Every request is recorded.

Token counts are deterministic: about one token per four characters of compact JSON.
The stable prefix (tools, then system) is the cached part: the first request with a given
prefix reports it as ``cache_creation_input_tokens``, later ones as
``cache_read_input_tokens`` (the real API also has a minimum cacheable length; this fake
does not), and only when the request marks it with ``cache_control``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from remote.httpserver import BackgroundHTTPServer, Reply, Served

__all__ = [
    "Answer",
    "Failure",
    "MessagesAPI",
    "RecordedRequest",
    "ToolUse",
    "bad_request",
    "overloaded",
    "rate_limited",
    "server_error",
    "tokens",
]

Json = dict[str, Any]


@dataclass(frozen=True)
class ToolUse:
    """A tool call the fake model makes; ``id`` defaults to a numbered ``toolu_fake_…``."""

    name: str
    input: Json = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Answer:
    """A 200 reply. ``stop_reason`` defaults to ``tool_use`` when there are tool calls.

    ``usage`` overrides the computed numbers; give any of ``input_tokens``,
    ``output_tokens``, ``cache_creation_input_tokens``, ``cache_read_input_tokens``.
    """

    text: str = ""
    tool_uses: tuple[ToolUse, ...] = ()
    stop_reason: (
        Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "refusal"] | None
    ) = None
    usage: Json | None = None


@dataclass(frozen=True)
class Failure:
    """An error reply: status, the API's error type and message, and extra headers."""

    status: int
    type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def rate_limited(*, retry_after_ms: int = 1) -> Failure:
    return Failure(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your rate limit",
        {"retry-after": str(max(1, retry_after_ms // 1000)), "retry-after-ms": str(retry_after_ms)},
    )


def overloaded() -> Failure:
    return Failure(529, "overloaded_error", "Overloaded")


def server_error() -> Failure:
    return Failure(500, "api_error", "Internal server error")


def bad_request(message: str) -> Failure:
    return Failure(400, "invalid_request_error", message)


Responder = Callable[[Json], Answer | Failure]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: Json


def tokens(value: Any) -> int:
    """The fake's token count of any JSON value: compact JSON length over four, at least 1."""
    return max(1, len(json.dumps(value, separators=(",", ":"), sort_keys=True)) // 4)


def _uncached(value: Any) -> Any:
    """The value without ``cache_control`` markers, which change neither meaning nor size."""
    if isinstance(value, dict):
        return {k: _uncached(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_uncached(v) for v in value]
    return value


def _marks_cache(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(_marks_cache(v) for v in value.values())
    if isinstance(value, list):
        return any(_marks_cache(v) for v in value)
    return False


def _pieces(text: str, size: int = 12) -> list[str]:
    """Text in the small pieces a streamed reply arrives in."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _events(message: Json) -> str:
    """The message as the API streams it: message_start, each block's start, deltas and
    stop, message_delta (stop reason, output tokens), message_stop."""
    usage = message["usage"]
    events: list[tuple[str, Json]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    **message,
                    "content": [],
                    "stop_reason": None,
                    "usage": {**usage, "output_tokens": 1},
                },
            },
        )
    ]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            start, deltas = (
                {"type": "text", "text": ""},
                [{"type": "text_delta", "text": piece} for piece in _pieces(block["text"])],
            )
        else:
            start = {**block, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in _pieces(json.dumps(block["input"]), 20)
            ]
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            )
        )
        events += [
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            for delta in deltas
        ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def _blocks_of(message: Any) -> list[Json]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _unpaired_tool_use(messages: list[Any]) -> str | None:
    """The API's 400 for a tool call without its result right after, or a result for no
    call, as the real API words it; None when every call is answered."""
    for i, message in enumerate(messages):
        asked = [b.get("id") for b in _blocks_of(message) if b.get("type") == "tool_use"]
        answered = (
            [
                b.get("tool_use_id")
                for b in _blocks_of(messages[i + 1])
                if b.get("type") == "tool_result"
            ]
            if i + 1 < len(messages)
            else []
        )
        if asked and (missing := [t for t in asked if t not in answered]):
            return (
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks"
                f" immediately after: {', '.join(map(str, missing))}. Each `tool_use`"
                " block must have a corresponding `tool_result` block in the next message."
            )
        results = [
            b.get("tool_use_id") for b in _blocks_of(message) if b.get("type") == "tool_result"
        ]
        before = (
            [b.get("id") for b in _blocks_of(messages[i - 1]) if b.get("type") == "tool_use"]
            if i
            else []
        )
        if stray := [t for t in results if t not in before]:
            return (
                f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result`"
                f" blocks: {', '.join(map(str, stray))}. Each `tool_result` block must have"
                " a corresponding `tool_use` block in the previous message."
            )
    return None


class MessagesAPI(Served):
    """``POST /v1/messages`` and ``/v1/messages/count_tokens`` on 127.0.0.1, in a thread.

    Use as a context manager (or `start` / `stop`); point the SDK at `url`.
    """

    def __init__(
        self,
        *script: Answer | Failure,
        responder: Responder | None = None,
        api_key: str | None = None,
    ) -> None:
        self.script: deque[Answer | Failure] = deque(script)
        self.responder = responder
        self.api_key = api_key
        """When set, any other key is refused with 401; when None, any key will do."""
        self.requests: list[RecordedRequest] = []
        self._cached_prefixes: set[str] = set()
        self._ids = 0
        self._lock = threading.Lock()
        self._http = BackgroundHTTPServer(self._respond, name="fake-messages-api", poll=0.01)

    # -- answering ---------------------------------------------------------------------

    def _respond(self, _method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        status, body, extra = self._handle(path, headers, raw)
        if isinstance(body, str):  # a streamed reply: server-sent events
            kind, payload = "text/event-stream; charset=utf-8", body.encode()
        else:
            kind, payload = "application/json", json.dumps(body).encode()
        return (
            status,
            {"content-type": kind, "request-id": f"req_fake_{self._next_id():04d}", **extra},
            payload,
        )

    @property
    def url(self) -> str:
        return self.root

    # -- scripting and assertions ------------------------------------------------------

    def add(self, *replies: Answer | Failure) -> None:
        """Queue more replies behind the ones already scripted."""
        with self._lock:
            self.script.extend(replies)

    def calls(self, path: str = "/v1/messages") -> list[RecordedRequest]:
        """The recorded requests to one path, in order."""
        return [r for r in self.requests if r.path == path]

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]

    # -- serving -----------------------------------------------------------------------

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def _handle(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Json | str, dict[str, str]]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with self._lock:
            self.requests.append(RecordedRequest(path=path, headers=headers, body=body))
        refusal = self._authenticate(headers)
        if refusal is not None:
            return self._error(refusal)
        if path == "/v1/messages/count_tokens":
            prefix, rest = self._split(body)
            return 200, {"input_tokens": prefix + rest}, {}
        if path != "/v1/messages":
            return self._error(Failure(404, "not_found_error", f"no route for POST {path}"))
        if not isinstance(body.get("messages"), list) or not body.get("model"):
            return self._error(bad_request("messages and model are required"))
        if (unpaired := _unpaired_tool_use(body["messages"])) is not None:
            return self._error(bad_request(unpaired))
        with self._lock:
            reply = self.script.popleft() if self.script else None
        if reply is None and self.responder is not None:
            reply = self.responder(body)
        if reply is None:
            return self._error(
                Failure(
                    500,
                    "api_error",
                    "fake Messages API: nothing scripted",
                    {"x-should-retry": "false"},
                )
            )
        if isinstance(reply, Failure):
            return self._error(reply)
        message = self._message(body, reply)
        return 200, (_events(message) if body.get("stream") else message), {}

    def _authenticate(self, headers: dict[str, str]) -> Failure | None:
        # The SDK (2.12) sends its API key as ``Authorization: Bearer``; the API also
        # accepts ``x-api-key``, so either will do here.
        bearer = headers.get("authorization", "")
        key = headers.get("x-api-key") or (
            bearer[7:] if bearer.lower().startswith("bearer ") else ""
        )
        if not key:
            return Failure(401, "authentication_error", "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            return Failure(401, "authentication_error", "invalid x-api-key")
        return None

    @staticmethod
    def _error(failure: Failure) -> tuple[int, Json, dict[str, str]]:
        body = {"type": "error", "error": {"type": failure.type, "message": failure.message}}
        return failure.status, body, dict(failure.headers)

    @staticmethod
    def _split(body: Json) -> tuple[int, int]:
        """Tokens in the stable prefix (tools, system) and in the messages."""
        prefix = [_uncached(body.get("tools", [])), _uncached(body.get("system", ""))]
        return tokens(prefix), tokens(_uncached(body.get("messages", [])))

    def _message(self, request: Json, answer: Answer) -> Json:
        content: list[Json] = [{"type": "text", "text": answer.text}] if answer.text else []
        for use in answer.tool_uses:
            content.append(
                {
                    "type": "tool_use",
                    "id": use.id or f"toolu_fake_{self._next_id():04d}",
                    "name": use.name,
                    "input": use.input,
                }
            )
        stop_reason = answer.stop_reason or ("tool_use" if answer.tool_uses else "end_turn")
        return {
            "id": f"msg_fake_{self._next_id():04d}",
            "type": "message",
            "role": "assistant",
            "model": request["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {**self._usage(request, content), **(answer.usage or {})},
        }

    def _usage(self, request: Json, content: list[Json]) -> Json:
        prefix, rest = self._split(request)
        written = read = 0
        if _marks_cache([request.get("tools", []), request.get("system", "")]):
            key = json.dumps(
                [
                    _uncached(request.get("tools", [])),
                    _uncached(request.get("system", "")),
                    request["model"],
                ],
                sort_keys=True,
            )
            with self._lock:
                seen = key in self._cached_prefixes
                self._cached_prefixes.add(key)
            read, written = (prefix, 0) if seen else (0, prefix)
        else:
            rest += prefix
        return {
            "input_tokens": rest,
            "output_tokens": tokens(content) if content else 1,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
        }
