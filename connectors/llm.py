"""Models behind one small protocol: messages and tool schemas in; text, tool calls,
stop reason and usage out. Implementations: `AnthropicModel` (connectors/anthropic.py)
and `OfflineModel` (connectors/offline/); prices turn usage into cost."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from remote.errors import ConnectorError, PermanentError, TransientError

__all__ = [
    "Message",
    "Model",
    "ModelBadRequest",
    "ModelError",
    "ModelOverloaded",
    "ModelUnavailable",
    "Price",
    "Reply",
    "TextBlock",
    "TextSink",
    "ToolCall",
    "ToolResultBlock",
    "ToolSpec",
    "ToolUseBlock",
    "Usage",
    "cost_of",
    "tool_spec",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class TextBlock(_Frozen):
    type: Literal["text"] = "text"
    text: str


class ToolUseBlock(_Frozen):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Frozen):
    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str
    is_error: bool = False


Block = Annotated[TextBlock | ToolUseBlock | ToolResultBlock, Field(discriminator="type")]


class Message(_Frozen):
    role: Literal["user", "assistant"]
    content: list[Block]

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", content=[TextBlock(text=text)])

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.content if isinstance(b, TextBlock))


class ToolSpec(_Frozen):
    """A tool the model may call; `input_schema` is the JSON schema of its arguments."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str
    input_schema: dict[str, Any]


def tool_spec(name: str, description: str, arguments: type[BaseModel]) -> ToolSpec:
    """A tool whose arguments are a pydantic model (the model validates what comes back)."""
    return ToolSpec(name=name, description=description, input_schema=arguments.model_json_schema())


class ToolCall(_Frozen):
    id: str
    name: str
    arguments: dict[str, Any]


class Usage(_Frozen):
    input_tokens: int = 0
    """Prompt tokens not read from or written to the cache."""
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


StopReason = Literal[
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]


class Reply(_Frozen):
    model: str
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: StopReason = "end_turn"
    usage: Usage = Usage()
    offline: bool = False
    """True when the deterministic offline model wrote this (surfaces must say so)."""

    def as_message(self) -> Message:
        blocks: list[Block] = [TextBlock(text=self.text)] if self.text else []
        blocks += [ToolUseBlock(id=c.id, name=c.name, input=c.arguments) for c in self.tool_calls]
        return Message(role="assistant", content=blocks or [TextBlock(text="")])


TextSink = Callable[[str], None]
"""Told a reply's text so far, each time more of it arrives (the whole text, not a delta)."""


@runtime_checkable
class Model(Protocol):
    name: str

    def complete(
        self,
        *,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Reply:
        """One model call; raises ModelError subclasses. With `on_text`, a model that can
        stream tells it the text as it is written; one that cannot just returns."""


class Price(_Frozen):
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal


def cost_of(usage: Usage, price: Price) -> Decimal:
    """Tokens × prices, each kind of token at its own price."""
    million = Decimal(1_000_000)
    return (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_write_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
    ) / million


class ModelError(ConnectorError):
    """A model call failed."""


class ModelOverloaded(ModelError, TransientError):
    """Overloaded (529) or rate limited past the SDK's bounded retries."""


class ModelUnavailable(ModelError, TransientError):
    """Could not reach the model, or it failed (5xx) past retries."""


class ModelBadRequest(ModelError, PermanentError):
    """The request was refused (4xx other than 429): repeating will not help."""
