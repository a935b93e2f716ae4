"""The `Model` protocol over Anthropic's Messages API, with the stable prefix cached.

The system prompt and the tool list change rarely, so both carry ``cache_control``: later
calls read them from the cache at a tenth of the input price. Retries are the SDK's own
(bounded by ``max_retries``, honouring ``retry-after`` and ``x-should-retry``); what is left
after them surfaces as a `ModelError`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self, get_args

import anthropic

from connectors.llm import (
    Message,
    ModelBadRequest,
    ModelError,
    ModelOverloaded,
    ModelUnavailable,
    Price,
    Reply,
    StopReason,
    TextBlock,
    TextSink,
    ToolCall,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
    cost_of,
)

__all__ = ["AnthropicModel"]

CONNECTOR = "anthropic"
_CACHED = {"type": "ephemeral"}
_STOP_REASONS: frozenset[str] = frozenset(get_args(StopReason))


class AnthropicModel:
    """One Anthropic model behind `Model`: ``complete()`` and ``count_tokens()``.

    ``api_key`` and ``base_url`` left as None follow the SDK's own precedence
    (``ANTHROPIC_API_KEY`` / ``ANTHROPIC_BASE_URL``, then its profile, then the default).
    A ``client`` passed in is used as is, and not closed here.
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        base_url: str | None = None,
        max_retries: int = 2,
        timeout: float = 60.0,
        prices: Price | None = None,
        client: anthropic.Anthropic | None = None,
    ) -> None:
        self.name = model
        self.prices = prices
        self._owns_client = client is None
        self._unusable = "no API key: pass api_key or set ANTHROPIC_API_KEY"
        """Why calls cannot be made when there is no client; each call raises it, typed."""
        self._client = (
            client
            if client is not None
            else self._connect(
                api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout
            )
        )

    def _connect(self, **options: Any) -> anthropic.Anthropic | None:
        try:
            client = anthropic.Anthropic(**options)
        except anthropic.CredentialsError as exc:  # e.g. a named profile that is missing
            self._unusable = f"no usable credentials: {exc}"
            return None
        if client.api_key or client.auth_token or client.credentials:
            return client
        # Without credentials the SDK would raise a bare TypeError as it builds each request.
        client.close()
        return None

    def complete(
        self,
        *,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Reply:
        """One model call; raises `ModelOverloaded`, `ModelUnavailable` or `ModelBadRequest`.
        With `on_text` the reply streams, and `on_text` hears its text so far as it grows."""
        operation = "messages.stream" if on_text is not None else "messages.create"
        client = self._ready(operation)
        options = {"model": self.name, "max_tokens": max_tokens, **request(system, messages, tools)}
        try:
            if on_text is None:
                return reply_from(client.messages.create(**options))
            written = ""
            with client.messages.stream(**options) as stream:
                for delta in stream.text_stream:
                    written += delta
                    on_text(written)
                return reply_from(stream.get_final_message())
        except anthropic.AnthropicError as exc:
            raise model_error(exc, operation=operation, target=self.name) from exc

    def count_tokens(self, system: str, messages: list[Message], tools: list[ToolSpec]) -> int:
        """The prompt's size in tokens as the API counts it, without running the model."""
        operation = "messages.count_tokens"
        client = self._ready(operation)
        try:
            counted = client.messages.count_tokens(
                model=self.name,
                **request(system, messages, tools),
            )
        except anthropic.AnthropicError as exc:
            raise model_error(exc, operation=operation, target=self.name) from exc
        return counted.input_tokens

    def cost(self, usage: Usage) -> Decimal | None:
        """What the usage cost at this model's prices, or None when they are not known."""
        return cost_of(usage, self.prices) if self.prices is not None else None

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ready(self, operation: str) -> anthropic.Anthropic:
        if self._client is None:
            raise ModelBadRequest(
                self._unusable, connector=CONNECTOR, operation=operation, target=self.name
            )
        return self._client


def request(system: str, messages: list[Message], tools: list[ToolSpec]) -> dict[str, Any]:
    """The request body's system, tools and messages, with the stable prefix marked cached."""
    body: dict[str, Any] = {"messages": [_message(m) for m in messages]}
    if system:
        body["system"] = [{"type": "text", "text": system, "cache_control": _CACHED}]
    if tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema}
            for t in tools
        ]
        body["tools"][-1]["cache_control"] = _CACHED
    return body


def _message(message: Message) -> dict[str, Any]:
    # The API refuses empty text blocks, and wants tool results first in a user turn.
    blocks = [b for b in message.content if not (isinstance(b, TextBlock) and not b.text)]
    blocks.sort(key=lambda b: not isinstance(b, ToolResultBlock))
    return {"role": message.role, "content": [_block(b) for b in blocks or message.content]}


def _block(block: TextBlock | ToolUseBlock | ToolResultBlock) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    return {
        "type": "tool_result",
        "tool_use_id": block.tool_use_id,
        "content": block.content,
        "is_error": block.is_error,
    }


def reply_from(response: anthropic.types.Message) -> Reply:
    """Our `Reply` from the SDK's message: text joined, tool calls, stop reason, usage."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in response.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append(ToolCall(id=block.id, name=block.name, arguments=dict(block.input)))
        # Thinking and server-tool blocks are the model's working, not its answer.
    stop = response.stop_reason
    if stop not in _STOP_REASONS:
        stop = "tool_use" if calls else "end_turn"
    usage = response.usage
    return Reply(
        model=response.model,
        text="".join(texts),
        tool_calls=calls,
        stop_reason=stop,
        usage=Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
            cache_write_tokens=usage.cache_creation_input_tokens or 0,
        ),
    )


def model_error(exc: anthropic.AnthropicError, *, operation: str, target: str) -> ModelError:
    """The SDK's exception as one of ours, with status, the API's message and the attempts."""
    context: dict[str, Any] = {"connector": CONNECTOR, "operation": operation, "target": target}
    if isinstance(exc, anthropic.APIError):
        retries = exc.request.headers.get("x-stainless-retry-count")
        context |= {
            "method": exc.request.method,
            "url": str(exc.request.url),
            "attempts": int(retries) + 1 if retries and retries.isdigit() else None,
        }
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        said = exc.api_message or exc.message
        detail = f"{status} {exc.type}: {said}" if exc.type else f"{status}: {said}"
        if exc.request_id:
            detail += f" (request {exc.request_id})"
        context["status_code"] = status
        if isinstance(exc, anthropic.RateLimitError) or status == 529:
            return ModelOverloaded(detail, **context)
        if status >= 500 or status == 408:
            return ModelUnavailable(detail, **context)
        return ModelBadRequest(detail, **context)
    if isinstance(exc, anthropic.APITimeoutError):
        return ModelUnavailable("timed out", **context)
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return ModelUnavailable(f"could not connect: {cause or exc.message}", **context)
    if isinstance(exc, anthropic.APIError):  # e.g. a response that fails validation
        return ModelUnavailable(f"bad response: {exc.message}", **context)
    return ModelBadRequest(f"{type(exc).__name__}: {exc}", **context)  # credentials, config
