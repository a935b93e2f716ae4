"""The conversational assistant: one checkpointed LangGraph thread per conversation.

A turn: the asker's message → the model (chosen by the Router within the conversation's
budget) → tools over the Runtime, as often as the model asks (bounded) → a reply. Older
messages are compressed into a summary kept in state, so the prompt stays bounded however
long the conversation runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime as GraphRuntime

from connectors.llm import Message, TextBlock, TextSink, ToolResultBlock

from .prompts import (
    SYSTEM,
    budget_stop,
    empty_message,
    interrupted,
    summary_block,
    too_many_rounds,
    truncated,
)
from .remembering import recall_block
from .router import BudgetExceeded, Router
from .runtime import Runtime
from .tools import SPECS, Tools

MAX_MESSAGE_CHARS = 20_000
MAX_TOOL_ROUNDS = 4
MAX_FACTS = 40
EFFECTFUL = frozenset({"start_workflow", "decide"})
"""Tools that change something: recorded before they run, never run twice for one call."""
MAX_RECORDED = 20_000
"""Characters of a tool's result kept in its event (and given back if the call recurs)."""
_FACT = re.compile(
    r"(my name is|i am|i'm|call me|remember|our shop|we sell|order\s*#?\d+|run_[0-9a-z]{26}"
    r"|apv_[0-9a-z]{26})",
    re.IGNORECASE,
)


class ChatState(TypedDict, total=False):
    messages: list[dict[str, Any]]
    summary: list[str]
    compressed: int
    rounds: int
    reply: str | None
    """None from the start of a turn until its reply is written."""
    offline: bool


@dataclass(frozen=True)
class ChatContext:
    runtime: Runtime
    router: Router
    asker: str
    origin: str
    conversation: str
    said: str
    execute: bool = True
    recalled: str = ""
    """Long-term memory recalled for this turn, as a prompt block (empty: none)."""
    on_text: TextSink | None = None
    """Hears the reply being written (a surface showing it as it arrives)."""


@dataclass(frozen=True)
class TurnResult:
    conversation: str
    text: str
    offline: bool
    tools_called: list[str]


def _messages(state: ChatState) -> list[Message]:
    return [Message.model_validate(m) for m in state.get("messages", [])]


def clean(text: str | bytes) -> str:
    """The asker's text as we keep it: valid UTF-8, trimmed, at most MAX_MESSAGE_CHARS."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.encode("utf-8", errors="replace").decode("utf-8").strip()
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + truncated(len(text) - MAX_MESSAGE_CHARS)
    return text


def think(state: ChatState, runtime: GraphRuntime[ChatContext]) -> ChatState:
    ctx = runtime.context
    messages = _messages(state)
    system = (
        SYSTEM + summary_block(state.get("summary", []), state.get("compressed", 0)) + ctx.recalled
    )
    budget = ctx.runtime.policy.assistant.budget
    try:
        reply = ctx.router.complete(
            ctx.conversation,
            budget,
            system=system,
            messages=messages,
            tools=SPECS,
            on_text=ctx.on_text,
        )
    except BudgetExceeded as exc:
        return {"reply": budget_stop(str(exc)), "offline": False}
    messages.append(reply.as_message())
    update: ChatState = {"messages": [m.model_dump() for m in messages], "offline": reply.offline}
    if not reply.tool_calls:
        update["reply"] = reply.text
    return update


def act(state: ChatState, runtime: GraphRuntime[ChatContext]) -> ChatState:
    ctx = runtime.context
    messages = _messages(state)
    tools = Tools(ctx.runtime, ctx.asker, ctx.origin, ctx.said, execute=ctx.execute)
    results = _results(ctx.runtime, ctx.conversation, ctx.asker, messages[-1], tools)
    messages.append(Message(role="user", content=[*results]))
    return {"messages": [m.model_dump() for m in messages], "rounds": state.get("rounds", 0) + 1}


def _results(
    runtime: Runtime, conversation: str, asker: str, asked: Message, tools: Tools | None
) -> list[ToolResultBlock]:
    """A result for every tool call in `asked`, each call acted on at most once.

    A call already on the record (this node re-run, or a turn cut short) gets its recorded
    result back. A call with effects is recorded as `tool.calling` before it runs; found
    so without a result, it was cut short and may or may not have taken effect, so it is
    not repeated: its result says so. With `tools` None (a later turn mending a cut one)
    nothing runs at all."""
    uses = [block for block in asked.content if block.type == "tool_use"]
    store = runtime.store
    records = {
        e.data["tool_use_id"]: e
        for e in store.events_with(
            conversation,
            kinds=["tool.calling", "tool.called", "tool.interrupted"],
            field="tool_use_id",
            values=[u.id for u in uses],
        )
    }
    results = []
    for use in uses:
        data = {"tool": use.name, "tool_use_id": use.id, "arguments": use.input}
        record = records.get(use.id)
        if record is not None and record.kind == "tool.called":
            content, is_error = str(record.data["result"]), bool(record.data["error"])
        elif record is not None or tools is None:
            content, is_error = interrupted(use.name), True
            if record is None or record.kind != "tool.interrupted":
                store.append_event(conversation, "tool.interrupted", actor=asker, data=data)
        else:
            if use.name in EFFECTFUL:
                store.append_event(conversation, "tool.calling", actor=asker, data=data)
            content, is_error = tools.call(use.name, use.input)
            store.append_event(
                conversation,
                "tool.called",
                actor=asker,
                data={**data, "error": is_error, "result": content[:MAX_RECORDED]},
            )
        results.append(ToolResultBlock(tool_use_id=use.id, content=content, is_error=is_error))
    return results


def after_think(state: ChatState) -> str:
    if state.get("reply") is not None:
        return "compress"
    return "act" if state.get("rounds", 0) < MAX_TOOL_ROUNDS else "give_up"


def give_up(state: ChatState) -> ChatState:
    return {"reply": too_many_rounds()}


def compress(state: ChatState, runtime: GraphRuntime[ChatContext]) -> ChatState:
    """Keep the recent messages verbatim; fold older ones into the summary's facts."""
    keep = runtime.context.runtime.policy.assistant.recent_turns
    messages = _messages(state)
    if len(messages) <= keep:
        return {}
    cut = len(messages) - keep
    while cut < len(messages) and not _starts_turn(messages[cut]):
        cut += 1  # never split a tool call from its result
    older, recent = messages[:cut], messages[cut:]
    facts = list(state.get("summary", []))
    for message in older:
        if message.role == "user":
            for sentence in re.split(r"(?<=[.!?])\s+|\n", message.text):
                if _FACT.search(sentence) and sentence.strip() not in facts:
                    facts.append(sentence.strip()[:200])
    return {
        "messages": [m.model_dump() for m in recent],
        "summary": facts[-MAX_FACTS:],
        "compressed": state.get("compressed", 0) + len(older),
    }


def _starts_turn(message: Message) -> bool:
    return message.role == "user" and any(isinstance(b, TextBlock) for b in message.content)


def build() -> StateGraph[ChatState, ChatContext, ChatState, ChatState]:
    graph = StateGraph(ChatState, context_schema=ChatContext)
    graph.add_node("think", think)
    graph.add_node("act", act)
    graph.add_node("give_up", give_up)
    graph.add_node("compress", compress)
    graph.add_edge(START, "think")
    graph.add_conditional_edges("think", after_think)
    graph.add_edge("act", "think")
    graph.add_edge("give_up", "compress")
    graph.add_edge("compress", END)
    return graph


class Assistant:
    """One door for every surface: `turn(conversation, asker, text)`."""

    def __init__(self, runtime: Runtime, router: Router, *, execute: bool = True) -> None:
        self.runtime = runtime
        self.router = router
        self.execute = execute
        """Drive the runs it starts or resumes here; False leaves them queued for a server."""
        self.graph = build().compile(checkpointer=runtime.checkpointer)

    def turn(
        self,
        conversation: str,
        asker: str,
        text: str | bytes,
        origin: str = "chat",
        *,
        on_text: TextSink | None = None,
    ) -> TurnResult:
        """Answer one message. `on_text` hears the reply so far while a hosted model writes
        it (each model call starts it afresh); the result holds the whole reply."""
        said = clean(text)
        if not said:
            return TurnResult(conversation, empty_message(), offline=False, tools_called=[])
        config: RunnableConfig = {"configurable": {"thread_id": conversation}}
        # StateSnapshot.values is typed loosely; this graph's snapshots hold a ChatState.
        state = cast(ChatState, self.graph.get_state(config).values or {})
        messages = [
            *state.get("messages", []),
            self._next_message(state, conversation, asker, said).model_dump(),
        ]
        before = self.runtime.store.last_event_id()
        self.runtime.store.append_event(
            conversation, "chat.message", actor=asker, data={"text": said[:2000], "origin": origin}
        )
        context = ChatContext(
            self.runtime,
            self.router,
            asker,
            origin,
            conversation,
            said,
            self.execute,
            self._recall(conversation, said),
            on_text,
        )
        result = self.graph.invoke(
            {"messages": messages, "rounds": 0, "reply": None},
            config,
            context=context,
            durability="sync",
        )
        tools = [
            e.data["tool"]
            for e in self.runtime.store.events(conversation, since=before, kinds=["tool.called"])
        ]
        reply = result.get("reply") or ""
        self.runtime.store.append_event(
            conversation,
            "chat.reply",
            data={"text": reply[:2000], "offline": bool(result.get("offline"))},
        )
        return TurnResult(conversation, reply, bool(result.get("offline")), tools)

    def _next_message(self, state: ChatState, conversation: str, asker: str, said: str) -> Message:
        """The asker's message; after a turn cut short between a tool call and its result
        (the process died), it first carries that call's result, so the history stays one
        the model accepts and nothing the call did is done again."""
        history = _messages(state)
        if (
            not history
            or history[-1].role != "assistant"
            or not any(block.type == "tool_use" for block in history[-1].content)
        ):
            return Message.user(said)
        mended = _results(self.runtime, conversation, asker, history[-1], None)
        return Message(role="user", content=[*mended, TextBlock(text=said)])

    def _recall(self, conversation: str, said: str) -> str:
        """Memories relevant to this message within the policy's allowance; the recall is
        an event of the conversation, so what the model was shown is on the record."""
        memory, limits = self.runtime.memory, self.runtime.policy.memory
        if memory is None:
            return ""
        block, hits = recall_block(
            memory, said, conversation, tokens=limits.recall_tokens, k=limits.recall_k
        )
        if hits:
            self.runtime.store.append_event(
                conversation,
                "memory.recalled",
                data={"items": [hit.item.id for hit in hits], "chars": len(block)},
            )
        return block
