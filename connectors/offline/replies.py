"""Everything the offline model says, in one place: the templates, and the functions that
fill them from slots and summarise tool results."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from connectors.llm import Message, ToolResultBlock, ToolUseBlock

from .slots import DEFAULT_PERIOD, Slots
from .text import clean

PREFIX = "[offline model] "
CAPABILITIES = (
    "I can:\n"
    '- start a refund: "refund order 1042, it arrived broken"\n'
    '- list what waits on you: "what is waiting on me?"\n'
    '- show a run: "status of run run_…"\n'
    '- decide an approval: "approve apv_…" or "reject apv_… because …"\n'
    '- summarise metrics: "how did last week\'s refunds go?"\n'
    '- search memory: "what do you remember about ada@example.com?"'
)
HELP = "I am the offline assistant: I match requests to examples and answer from templates.\n"
GREETING = "Hello! "
UNKNOWN = "I didn't understand that. "
EMPTY = "Your message was empty. "
NOTHING_TO_ADD = "I have nothing to add."

ASK_ORDER = 'Which order should I refund? Give me its number, e.g. "refund order 1042".'
ASK_REASON = (
    'Why should order {order_id} be refunded? A short reason is enough, e.g. "it arrived broken".'
)
ASK_RUN = "Which run do you mean? Give me its id (it starts with run_)."
ASK_APPROVAL = (
    "Which approval do you mean? Say it in one message with its id, e.g. "
    '"approve apv_…" or "reject apv_… because …".'
)
ASK_DECISION = (
    'Do you want to approve or reject {approval_id}? Say "approve {approval_id}" '
    'or "reject {approval_id} because …".'
)
ASK_QUERY = (
    "What should I look for in memory? Name a customer's email, an order or a topic, "
    'e.g. "what do you remember about order 1042".'
)
ASK_REJECT_REASON = (
    'Why reject {approval_id}? Say "reject {approval_id} because …"; '
    "the requester will see the reason."
)

UNDERSTOOD = {
    "start_refund": "refund order {order_id}{amount_part} because {reason}",
    "pending": "you want to see what waits on you",
    "show_run": "you want to see run {run_id}",
    "approve": "approve {approval_id}",
    "reject": "reject {approval_id} because {reason}",
    "metrics": "you want the metrics for {period}",
    "recall": 'you want me to search memory for "{query}"{subject_part}',
}
NO_TOOL = "I understood: {understood}. I can't do that here, though: no {tool} tool is available."

STARTED = "Started the {workflow} run {run_id}; status: {status}."
WAITING_FOR = " It waits for approval {approval_id}."
AT_STEP = " Now at: {step}."
RUN_ERROR = " Error: {error}."
RUN_NOW = " Run {run_id} is now {status}."
PENDING_NONE = "Nothing is waiting on you."
PENDING_ONE = "1 approval waiting on you:"
PENDING_SOME = "{count} approvals waiting on you:"
PENDING_ITEM = "- {id}: {what}"
MORE = "…and {count} more."
RUN = "Run {run_id} ({workflow}) is {status}."
RUN_OUTCOME = " Outcome: {outcome}."
RUN_STEPS = " Last steps: {steps}."
DECIDED = "Approval {approval_id}: {status}."
MEMORY_ONE = "1 memory found for {query}:"
MEMORY_SOME = "{count} memories found for {query}:"
MEMORY_NONE = "Nothing in memory matches {query}."
MEMORY_ITEM = "- [{about}] {text}"
MEMORY_ITEM_BARE = "- {text}"
MEMORY_QUERY = '"{query}"'
METRICS = "Metrics for {period}:"
METRIC_LINE = "- {key}: {value}"
TOOL_REPLIED = "The {tool} tool replied: {text}"
TOOL_SILENT = "The {tool} tool returned nothing."
FAILED = "That didn't work: {error}"
FAILED_NO_DETAIL = "the tool reported an error without details"
# Words that stand in for what a tool result left out.
UNNAMED_TOOL, NO_ID, SOME_WORKFLOW, NEW_WORKFLOW, JUST_STARTED, SOME_PERIOD = (
    "called",
    "?",
    "workflow",
    "new",
    "started",
    "the period",
)
SOME_QUERY, NO_TEXT = "that search", "(no text)"


def no_tool(intent: str, tool: str, slots: Slots) -> str:
    """What the model understood it should do, and that the tool to do it is not offered."""
    understood = UNDERSTOOD[intent].format(**_described(slots))
    return NO_TOOL.format(understood=understood, tool=tool)


def _described(slots: Slots) -> dict[str, Any]:
    amount = " ".join(v for v in (slots.get("amount"), slots.get("currency")) if v)
    email = slots.get("email")
    return {
        **slots,
        "amount_part": f" ({amount})" if amount else "",
        "period": slots.get("period", DEFAULT_PERIOD),
        "subject_part": f" about customer:{email}" if email else "",
    }


# --- Summaries of tool results. -------------------------------------------------------------

MAX_RESULT = 200_000
MAX_SHOWN = 300
MAX_LINES = 10
MAX_MEMORIES = 5
MAX_MEMORY_TEXT = 160
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?:$|[T ])")


def summarise(messages: list[Message]) -> str:
    called = {
        b.id: b.name
        for m in messages
        if m.role == "assistant"
        for b in m.content
        if isinstance(b, ToolUseBlock)
    }
    parts = []
    for block in messages[-1].content:
        if not isinstance(block, ToolResultBlock):
            continue
        data = _load(block.content)
        tool = called.get(block.tool_use_id)
        if block.is_error:
            detail = _field(data, "error", "message", "detail") or _clip(block.content)
            parts.append(FAILED.format(error=_clip(detail) or FAILED_NO_DETAIL))
            continue
        summary = _SUMMARIES.get(tool or "", _nothing)(data)
        shown = _clip(block.content)
        parts.append(
            summary
            or (TOOL_REPLIED if shown else TOOL_SILENT).format(
                tool=tool or UNNAMED_TOOL, text=shown
            )
        )
    return "\n".join(parts)


def _load(content: str) -> Any:
    try:
        return json.loads(content[:MAX_RESULT])
    except ValueError:
        return None


def _clip(value: Any, limit: int = MAX_SHOWN) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(data: Any, *keys: str) -> str | None:
    if isinstance(data, dict):
        for key in keys:
            if data.get(key) not in (None, "", [], {}):
                return _clip(data[key], 120)
    return None


def _nothing(data: Any) -> str | None:
    return None


def _started(data: Any) -> str | None:
    if not (run_id := _field(data, "run_id", "id")):
        return None
    text = STARTED.format(
        workflow=_field(data, "workflow", "kind") or NEW_WORKFLOW,
        run_id=run_id,
        status=_field(data, "status") or JUST_STARTED,
    )
    return text + _run_details(data)


def _run_details(data: dict[str, Any]) -> str:
    """Where a run is: its step, its error, the approval it waits for."""
    text = ""
    if step := _field(data, "step"):
        text += AT_STEP.format(step=step)
    if error := _field(data, "error"):
        text += RUN_ERROR.format(error=error)
    waiting = next(
        (
            data[k]
            for k in ("waiting_for_approval", "pending", "approval")
            if isinstance(data.get(k), dict)
        ),
        None,
    )
    if approval := _field(data, "approval_id") or _field(waiting, "approval_id", "id"):
        text += WAITING_FOR.format(approval_id=approval)
    return text


def _pending(data: Any) -> str | None:
    items = (
        data
        if isinstance(data, list)
        else next(
            (
                data[k]
                for k in ("approvals", "pending", "items")
                if isinstance(data, dict) and isinstance(data.get(k), list)
            ),
            None,
        )
    )
    if items is None:
        return None
    if not items:
        return PENDING_NONE
    lines = [PENDING_ONE if len(items) == 1 else PENDING_SOME.format(count=len(items))]
    for item in items[:MAX_LINES]:
        lines.append(
            PENDING_ITEM.format(
                id=_field(item, "approval_id", "id") or NO_ID,
                what=_field(item, "what", "summary", "title", "workflow") or _clip(item, 120),
            )
        )
    if len(items) > MAX_LINES:
        lines.append(MORE.format(count=len(items) - MAX_LINES))
    return "\n".join(lines)


def _run(data: Any) -> str | None:
    if not (run_id := _field(data, "run_id", "id")) or not (status := _field(data, "status")):
        return None
    text = RUN.format(
        run_id=run_id, workflow=_field(data, "workflow", "kind") or SOME_WORKFLOW, status=status
    )
    if outcome := _field(data, "outcome"):
        text += RUN_OUTCOME.format(outcome=outcome)
    text += _run_details(data)
    steps = data.get("steps") or data.get("events")
    if isinstance(steps, list) and steps:
        names = [
            s if isinstance(s, str) else _field(s, "step", "kind", "name") or NO_ID
            for s in steps[-3:]
        ]
        text += RUN_STEPS.format(steps=", ".join(_clip(n, 60) for n in names))
    return text


def _decided(data: Any) -> str | None:
    settled = data.get("approval") if isinstance(data, dict) and "approval" in data else data
    approval = _field(settled, "approval_id", "id")
    status = _field(settled, "status", "decision", "outcome")
    if not (approval and status):
        return None
    text = DECIDED.format(approval_id=approval, status=status)
    run = data.get("run")
    if (run_id := _field(run, "run_id", "id")) and (run_status := _field(run, "status")):
        text += RUN_NOW.format(run_id=run_id, status=run_status)
    return text


def _metrics(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    nested = data.get("metrics")
    values: dict[Any, Any] = nested if isinstance(nested, dict) else data
    flat: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            flat += [
                (f"{key}.{k}", v)
                for k, v in value.items()
                if v is not None and not isinstance(v, dict | list)
            ]
        elif value is not None and not isinstance(value, list) and key != "period":
            flat.append((key, value))
    period = _field(data, "period")
    lines = [METRICS.format(period=period or SOME_PERIOD)]
    lines += [METRIC_LINE.format(key=_clip(k, 60), value=_clip(v, 60)) for k, v in flat[:15]]
    return "\n".join(lines)


def _memories(data: Any) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
        return None
    hits = data["hits"]
    query = _field(data, "query")
    quoted = MEMORY_QUERY.format(query=query) if query else SOME_QUERY
    if not hits:
        return MEMORY_NONE.format(query=quoted)
    lines = [
        MEMORY_ONE.format(query=quoted)
        if len(hits) == 1
        else MEMORY_SOME.format(count=len(hits), query=quoted)
    ]
    for hit in hits[:MAX_MEMORIES]:
        said = hit.get("text") if isinstance(hit, dict) else hit
        text = _clip(said, MAX_MEMORY_TEXT) if said not in (None, "") else NO_TEXT
        at = _field(hit, "at")
        about = [
            part
            for part in (
                _field(hit, "kind"),
                _field(hit, "subject"),
                at[:10] if at and ISO_DAY.match(at) else at,
            )
            if part
        ]
        lines.append(
            MEMORY_ITEM.format(about=", ".join(about), text=text)
            if about
            else MEMORY_ITEM_BARE.format(text=text)
        )
    if len(hits) > MAX_MEMORIES:
        lines.append(MORE.format(count=len(hits) - MAX_MEMORIES))
    if note := _field(data, "not_shown"):
        lines.append(f"({note}.)")
    return "\n".join(lines)


_SUMMARIES: dict[str, Callable[[Any], str | None]] = {
    "start_workflow": _started,
    "list_pending": _pending,
    "show_run": _run,
    "decide": _decided,
    "summarise_metrics": _metrics,
    "search_memory": _memories,
}
