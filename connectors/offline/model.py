"""The offline model itself: it understands the last message, then asks for what is missing,
calls a tool, or summarises a tool's result."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from hashlib import blake2b
from typing import Literal

from connectors.llm import (
    Message,
    Reply,
    TextBlock,
    TextSink,
    ToolCall,
    ToolResultBlock,
    ToolSpec,
    Usage,
)

from .decisions import TOOLS, fitted_arguments, respond
from .examples import EXAMPLES, Intent
from .intents import FLOOR, Embeds, masked, nearest
from .queries import memory_query
from .reasons import tidy_reason
from .replies import (
    ASK_ORDER,
    ASK_QUERY,
    ASK_REASON,
    ASK_RUN,
    CAPABILITIES,
    GREETING,
    NOTHING_TO_ADD,
    PREFIX,
    no_tool,
    summarise,
)
from .slots import Slots, extract_slots
from .text import WORDS, clean

# --- Questions asked for a missing slot, so the next message can answer them. ------------

_QUESTIONS: tuple[tuple[str, Intent, str], ...] = (
    (ASK_ORDER, "start_refund", "order_id"),
    (ASK_REASON, "start_refund", "reason"),
    (ASK_RUN, "show_run", "run_id"),
    (ASK_QUERY, "recall", "query"),
)
"""Not the approval questions: a decision is taken only from one message that says it."""
_SUBJECTS: tuple[Literal["order_id", "run_id", "approval_id"], ...] = (
    "order_id",
    "run_id",
    "approval_id",
)
_NOT_A_REASON = frozenset({"pending", "show_run", "metrics", "recall", "help"})
_NOT_A_QUERY = frozenset(
    {"pending", "show_run", "approve", "reject", "metrics", "help", "greeting"}
)
_BARE_ORDER = re.compile(r"(?:it'?s |order )?#? ?(\d{1,12})[.!]?", re.IGNORECASE)


class OfflineModel:
    """A deterministic stand-in for a tool-using model; see the package docstring.

    For the last user message it finds the intent (nearest labelled example, "unknown"
    below `floor`) and the slots (patterns). With every slot an actionable intent needs,
    and its tool offered, it calls the tool; with a slot missing it asks for it; after a
    tool result it summarises the result. Approvals are decided only when the person's
    own message says approve or reject and names the approval.
    """

    name = "offline"

    def __init__(
        self,
        embedder: Embeds,
        *,
        floor: float = FLOOR,
        examples: Sequence[tuple[str, Intent]] = EXAMPLES,
    ) -> None:
        self.embedder = embedder
        self.floor = floor
        self._examples = [
            (intent, self.embedder.embed(masked(clean(text)))) for text, intent in examples
        ]

    def classify(self, text: str) -> tuple[Intent, float]:
        """The intent of the nearest example and its cosine similarity to `text`."""
        return nearest(self.embedder.embed(masked(clean(text))), self._examples, self.floor)

    def slots(self, text: str) -> Slots:
        """What the text names: order, amount, reason, run and approval ids, an explicit
        decision, a period, a person's name and an email, each only where present."""
        return extract_slots(text)

    def complete(
        self,
        *,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        max_tokens: int = 1024,
        on_text: TextSink | None = None,
    ) -> Reply:
        """The deterministic reply (written at once: `on_text` is not called)."""
        usage_in = _tokens(
            len(system) + sum(map(_chars, messages)) + sum(len(t.model_dump_json()) for t in tools)
        )
        last = messages[-1] if messages else None
        if last is None or last.role != "user":
            return _text_reply(
                NOTHING_TO_ADD if last else GREETING + CAPABILITIES, usage_in, max_tokens
            )
        if any(isinstance(b, ToolResultBlock) for b in last.content):
            return _text_reply(summarise(messages), usage_in, max_tokens)
        intent, slots = self._understand(messages)
        answer = respond(intent, slots)
        if isinstance(answer, str):
            return _text_reply(answer, usage_in, max_tokens)
        acting_on, arguments = answer  # the intent to act on (a recall may act as a search)
        tool = TOOLS[acting_on]
        spec = next((t for t in tools if t.name == tool), None)
        if spec is None:
            return _text_reply(no_tool(acting_on, tool, slots), usage_in, max_tokens)
        arguments = fitted_arguments(arguments, spec)
        key = json.dumps([len(messages), tool, arguments], sort_keys=True)
        call = ToolCall(
            id="toolu_offline_" + blake2b(key.encode(), digest_size=12).hexdigest(),
            name=tool,
            arguments=arguments,
        )
        return Reply(
            model=self.name,
            tool_calls=[call],
            stop_reason="tool_use",
            offline=True,
            usage=Usage(input_tokens=usage_in, output_tokens=_tokens(len(key))),
        )

    def _understand(self, messages: list[Message]) -> tuple[Intent | Literal["empty"], Slots]:
        text = clean(messages[-1].text)
        if not WORDS.search(text):
            return "empty", {}
        intent, _ = self.classify(text)
        slots = extract_slots(text)
        if asked := _asked(messages):
            family, need, before = asked
            if need == "order_id" and (bare := _BARE_ORDER.fullmatch(text.strip())):
                text, slots = f"order {bare.group(1)}", {"order_id": int(bare.group(1))}
            earlier = extract_slots(before)
            if need == "reason":
                answers = intent not in _NOT_A_REASON and tidy_reason(text) is not None
            elif need == "query":  # "order 1042" answers it; "refund order 1042, broken" is new
                answers = (
                    intent not in _NOT_A_QUERY
                    and memory_query(text) is not None
                    and not (intent == "start_refund" and "reason" in slots)
                )
            else:
                answers = need in slots
            conflict = any(
                slots.get(k) not in (None, earlier.get(k)) and k in earlier for k in _SUBJECTS
            )
            if answers and not conflict:
                said_here = slots
                intent, slots = family, extract_slots(before + "\n" + text)
                if not ("approval_id" in said_here and "decision" in said_here):
                    slots.pop("decision", None)  # never a decision pieced together from turns
        if "approval_id" in slots and "decision" in slots:
            intent = slots["decision"]  # an id and a decision in so many words: a decision
        if intent == "recall" and (query := memory_query(text)):
            slots["query"] = query  # this message alone: a question it answers named none
        return intent, slots


def _asked(messages: list[Message]) -> tuple[Intent, str, str] | None:
    """The question the model asked last turn, if any, and the message it asked about."""
    if len(messages) < 3 or messages[-2].role != "assistant" or messages[-3].role != "user":
        return None
    said, before = messages[-2].text, clean(messages[-3].text)
    for question, family, need in _QUESTIONS:
        if before and said.startswith(PREFIX + question.split("{")[0]):
            return family, need, before
    return None


# --- Replies and usage. ------------------------------------------------------------------------


def _tokens(chars: int) -> int:
    return (chars + 3) // 4


def _chars(message: Message) -> int:
    total = 0
    for block in message.content:
        if isinstance(block, TextBlock):
            total += len(block.text)
        elif isinstance(block, ToolResultBlock):
            total += len(block.content)
        else:
            total += len(json.dumps(block.input, default=str))
    return total


def _text_reply(body: str, usage_in: int, max_tokens: int) -> Reply:
    """`PREFIX + body`, cut to `max_tokens` (about four characters each) when longer."""
    room = max(0, max_tokens * 4 - len(PREFIX))
    stop: Literal["end_turn", "max_tokens"] = "end_turn" if len(body) <= room else "max_tokens"
    text = PREFIX + body[:room]
    return Reply(
        model=OfflineModel.name,
        text=text,
        stop_reason=stop,
        offline=True,
        usage=Usage(input_tokens=usage_in, output_tokens=_tokens(len(text))),
    )
