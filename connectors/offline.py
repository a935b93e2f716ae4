"""The deterministic offline model: intent by nearest labelled example, slots by
patterns, replies from templates. It lets every flow run end to end with no API key,
and everything it writes is labelled as templated."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from hashlib import blake2b
from typing import Any, Literal, TypedDict

from memory import HashingEmbedder, cosine

from .llm import Message, Reply, TextBlock, ToolCall, ToolResultBlock, ToolSpec, ToolUseBlock, Usage

__all__ = ["EXAMPLES", "PREFIX", "Intent", "OfflineModel", "Slots"]

Intent = Literal["start_refund", "pending", "show_run", "approve", "reject", "metrics", "help",
                 "greeting", "unknown"]

# --- Everything the offline model says, in one place. ------------------------------------

PREFIX = "[offline model] "
CAPABILITIES = (
    "I can:\n"
    "- start a refund: \"refund order 1042, it arrived broken\"\n"
    "- list what waits on you: \"what is waiting on me?\"\n"
    "- show a run: \"status of run run_…\"\n"
    "- decide an approval: \"approve apv_…\" or \"reject apv_… because …\"\n"
    "- summarise metrics: \"how did last week's refunds go?\""
)
HELP = "I am the offline assistant: I match requests to examples and answer from templates.\n"
GREETING = "Hello! "
UNKNOWN = "I didn't understand that. "
EMPTY = "Your message was empty. "
NOTHING_TO_ADD = "I have nothing to add."

ASK_ORDER = "Which order should I refund? Give me its number, e.g. \"refund order 1042\"."
ASK_REASON = ("Why should order {order_id} be refunded? A short reason is enough, "
              "e.g. \"it arrived broken\".")
ASK_RUN = "Which run do you mean? Give me its id (it starts with run_)."
ASK_APPROVAL = ("Which approval do you mean? Say it in one message with its id, e.g. "
                "\"approve apv_…\" or \"reject apv_… because …\".")
ASK_DECISION = ("Do you want to approve or reject {approval_id}? Say \"approve {approval_id}\" "
                "or \"reject {approval_id} because …\".")
ASK_REJECT_REASON = ("Why reject {approval_id}? Say \"reject {approval_id} because …\"; "
                     "the requester will see the reason.")

UNDERSTOOD = {
    "start_refund": "refund order {order_id}{amount_part} because {reason}",
    "pending": "you want to see what waits on you",
    "show_run": "you want to see run {run_id}",
    "approve": "approve {approval_id}",
    "reject": "reject {approval_id} because {reason}",
    "metrics": "you want the metrics for {period}",
}
NO_TOOL = "I understood: {understood}. I can't do that here, though: no {tool} tool is available."

STARTED = "Started the {workflow} run {run_id}; it is {status}."
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
METRICS = "Metrics for {period}:"
METRIC_LINE = "- {key}: {value}"
TOOL_REPLIED = "The {tool} tool replied: {text}"
TOOL_SILENT = "The {tool} tool returned nothing."
FAILED = "That didn't work: {error}"
FAILED_NO_DETAIL = "the tool reported an error without details"
# Words that stand in for what a tool result left out.
UNNAMED_TOOL, NO_ID, SOME_WORKFLOW, NEW_WORKFLOW, JUST_STARTED, SOME_PERIOD = (
    "called", "?", "workflow", "new", "started", "the period")

# --- Labelled examples (a held-out set lives in tests/data/intents.jsonl). ---------------

_R = "run_01hzyq8w3k5m7n9p1r3t5v7x9z"
_A = "apv_01hzyq8w3k5m7n9p1r3t5v7x9z"
EXAMPLES: tuple[tuple[str, Intent], ...] = (
    ("refund order 1042, it arrived broken", "start_refund"),
    ("please refund #1042 because the item is damaged", "start_refund"),
    ("the customer wants a refund for order 1042", "start_refund"),
    ("issue a refund of $20 on order 1042", "start_refund"),
    ("refund 15.00 on order 1042, wrong item sent", "start_refund"),
    ("give the customer their money back for order 1042", "start_refund"),
    ("can you process a refund for order 1042", "start_refund"),
    ("order 1042 should be refunded, never delivered", "start_refund"),
    ("I'd like to refund an order", "start_refund"),
    ("start a refund", "start_refund"),
    ("what is waiting on me?", "pending"),
    ("what's pending for me", "pending"),
    ("which approvals are waiting for me", "pending"),
    ("show my approval queue", "pending"),
    ("anything I need to approve", "pending"),
    ("do I have pending requests", "pending"),
    ("what needs my review", "pending"),
    ("list everything awaiting my decision", "pending"),
    (f"what happened with run {_R}", "show_run"),
    (f"status of run {_R}", "show_run"),
    (f"show run {_R}", "show_run"),
    (f"how is run {_R} going", "show_run"),
    (f"is run {_R} finished", "show_run"),
    (f"what's the state of {_R}", "show_run"),
    ("why did that run fail", "show_run"),
    ("show me the run details", "show_run"),
    (f"approve {_A}", "approve"),
    (f"yes approve {_A}", "approve"),
    (f"approve it {_A}", "approve"),
    (f"I approve this request {_A}", "approve"),
    (f"ok, approved {_A}", "approve"),
    (f"accept {_A}", "approve"),
    ("approve the refund", "approve"),
    (f"lgtm {_A} go ahead", "approve"),
    (f"reject {_A} because the item was damaged by the customer", "reject"),
    (f"reject {_A}", "reject"),
    (f"deny {_A}, it's a duplicate", "reject"),
    (f"decline {_A} since it's outside the return window", "reject"),
    (f"I reject this request {_A}", "reject"),
    (f"no, don't approve {_A}", "reject"),
    ("reject the refund, too expensive", "reject"),
    (f"refuse {_A} because of fraud", "reject"),
    ("how did last week's refunds go?", "metrics"),
    ("show me the metrics for last week", "metrics"),
    ("refund numbers for yesterday", "metrics"),
    ("how many refunds this month", "metrics"),
    ("what did we spend last week", "metrics"),
    ("give me a report for last month", "metrics"),
    ("summary of performance between 2026-01-01 and 2026-01-31", "metrics"),
    ("what is the success rate", "metrics"),
    ("how long do approvals take on average", "metrics"),
    ("stats for today", "metrics"),
    ("help me", "help"),
    ("what can you help with", "help"),
    ("how do I use you", "help"),
    ("what commands are there", "help"),
    ("I'm lost", "help"),
    ("what are my options", "help"),
    ("how does keel work", "help"),
    ("show me the help", "help"),
    ("hey", "greeting"),
    ("good day", "greeting"),
    ("hello there", "greeting"),
    ("hi keel", "greeting"),
    ("howdy", "greeting"),
    ("good evening", "greeting"),
    ("hey how's it going", "greeting"),
    ("hi all", "greeting"),
    ("what's the weather like", "unknown"),
    ("tell me a story", "unknown"),
    ("who is the president", "unknown"),
    ("play a song", "unknown"),
    ("what's the time", "unknown"),
    ("book a flight to Rome", "unknown"),
    ("write an essay about history", "unknown"),
    ("what's two plus two", "unknown"),
)

FLOOR = 0.30
"""Below this similarity to every example, the intent is "unknown"."""
MAX_READ = 4000
"""Characters of a message the model reads; the rest is ignored (bounded work)."""
MAX_REASON = 500

TOOLS: dict[str, str] = {"start_refund": "start_workflow", "pending": "list_pending",
                         "show_run": "show_run", "approve": "decide", "reject": "decide",
                         "metrics": "summarise_metrics"}

# --- Slots by patterns. -------------------------------------------------------------------


class Slots(TypedDict, total=False):
    order_id: int
    amount: str
    currency: str
    reason: str
    run_id: str
    approval_id: str
    decision: Literal["approve", "reject"]
    period: str
    name: str


_RUN_ID = re.compile(r"\brun_[0-9a-z]{26}\b", re.IGNORECASE)
_APPROVAL_ID = re.compile(r"\bapv_[0-9a-z]{26}\b", re.IGNORECASE)
_ORDER = re.compile(r"\b(?:order|ordr|oder|ordre)\s*(?:no\.?|num(?:ber)?|id)?\s*[:#]?\s*"
                    r"(\d{1,12})\b"
                    r"|#\s?(\d{1,12})\b", re.IGNORECASE)
_NUM = r"(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,9}(?:[.,]\d{1,2})?)"
_CURRENCY_WORD = r"usd|eur|gbp|dollars?|bucks|euros?|pounds?"
_CURRENCIES = {"$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
               "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
               "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP"}
_MONEY = re.compile(rf"([$€£])\s?{_NUM}(?!\d)|\b{_NUM}\s?(?:([$€£])|({_CURRENCY_WORD})\b)",
                    re.IGNORECASE)
_REFUND_NUMBER = re.compile(rf"\brefund(?:\s+of)?\s+{_NUM}(?![\d%])(?!\s*(?:days?|items?)\b)",
                            re.IGNORECASE)
_ISO_RANGE = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})\s*(?:to|until|through|and|-|–|\.\.)\s*(\d{4}-\d{2}-\d{2})\b")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_LAST_DAYS = re.compile(r"\b(?:last|past)\s+(\d{1,3})\s+days?\b", re.IGNORECASE)
_PERIODS = (("today", "today"), ("yesterday", "yesterday"), ("this week", "this week"),
            ("last week", "last week"), ("past week", "last 7 days"), ("this month", "this month"),
            ("last month", "last month"), ("past month", "last 30 days"))
DEFAULT_PERIOD = "last week"
_NEAREST_PERIODS = {"this week": ("last week",), "last 7 days": ("last week",),
                    "this month": ("last 30 days",), "last month": ("last 30 days",)}
"""What to ask for instead when a tool's schema does not offer the period said."""
_MARKER = re.compile(r"\b(?:because(?:\s+of)?|since|due\s+to|reason(?:\s+is|\s+was|\s*[:=])"
                     r"|as\s+(?=(?:it|they|the|we|he|she)\b))\s*(.+)", re.IGNORECASE | re.DOTALL)
_CLAUSE_BREAK = re.compile(r"[,;:?!\n—–]+|\.\s+|\s-\s")
_FILLER = frozenset({
    "please", "pls", "plz", "kindly", "thanks", "thank", "thx", "you", "can", "could", "would",
    "will", "i", "we", "need", "needs", "want", "wants", "like", "d", "to", "a", "an", "the",
    "full", "partial", "refund", "refunds", "refunded", "refunding", "issue", "process", "start",
    "give", "do", "make", "money", "back", "for", "of", "on", "it", "this", "that", "them", "him",
    "her", "me", "order", "hi", "hey", "hello", "asap", "now", "today", "usd", "eur", "gbp",
    "dollars", "in", "amount", "yes", "no", "ok", "okay", "approve", "reject", "deny", "decline",
    "so", "and", "just", "yet", "again", "too", "also", "right", "away", "one", "these",
    "those", "my", "our", "their", "his", "customer", "client", "request", "requests",
})
"""Words that say nothing about why: a clause made only of these is not a reason."""
_WORDS = re.compile(r"[^\W_]+")
_NAME_TOKEN = re.compile(r"[^\W\d_][\w'’-]*")
_NAME_CUES = frozenset({"customer", "client", "for", "from", "named", "give", "to"})
_NOT_NAMES = frozenset({"order", "refund", "please", "customer", "client", "the", "i", "approve",
                        "reject", "run", "keel"})
_APPROVE_WORDS = frozenset({"approve", "approved", "approving"})
_REJECT_WORDS = frozenset({"reject", "rejected", "rejecting", "deny", "denied", "decline",
                           "declined"})
_NEGATED_APPROVE = re.compile(r"\b(?:don'?t|do\s+not|not|never|won'?t)\s+(?:\w+\s+)?approve\b",
                              re.IGNORECASE)
_ASKS_ABOUT = re.compile(
    r"^\W*(?:did|has|have|was|were|who|why|when|whether|is|are)\b"
    r"|\b(?:has|have|was|were|been|is|got)\s(?:\w+\s)?(?:approved|rejected|denied|declined)\b",
    re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    """At most MAX_READ characters, lone surrogates replaced, control characters dropped,
    each run of white space one character (so no pattern below ever backtracks far)."""
    text = _SURROGATE.sub("\ufffd", text[:MAX_READ])
    text = "".join(c for c in text if c.isprintable() or c.isspace())
    return _SPACES.sub(lambda run: "\n" if "\n" in run.group() else " ", text)


def _amount(text: str) -> Decimal | None:
    try:
        thousands = re.search(r",\d{3}", text)  # "1,200.00"; otherwise "12,50" is 12.50
        value = Decimal(text.replace(",", "") if thousands else text.replace(",", "."))
    except InvalidOperation:
        return None
    return value.quantize(Decimal("0.01")) if value > 0 else None


def _near(word: str, target: str) -> bool:
    """Within one edit (insert, delete, substitute or swap) of `target`: tolerates typos."""
    if abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(diff) <= 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and word[diff[0]] == target[diff[1]]
                                  and word[diff[1]] == target[diff[0]])
    short, long = sorted((word, target), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _decision_of(text: str) -> Literal["approve", "reject"] | None:
    """The decision the text states in so many words ("approve", "reject", "deny",
    "decline"), or None when it states none or both, negates it ("don't approve") or only
    asks about it ("was apv_… approved?"). No synonyms, no typos: a decision is never
    guessed."""
    if _ASKS_ABOUT.search(text):
        return None
    words = _WORDS.findall(_NEGATED_APPROVE.sub(" ", text).lower())
    approve = any(word in _APPROVE_WORDS for word in words)
    reject = any(word in _REJECT_WORDS for word in words)
    if approve == reject:
        return None
    return "approve" if approve else "reject"


def _period(text: str) -> str | None:
    if found := _ISO_RANGE.search(text):
        first, last = found.groups()
        if _is_date(first) and _is_date(last):
            return f"{first} to {last}"
    for found in _ISO_DATE.finditer(text):
        if _is_date(found.group()):
            return found.group()
    if found := _LAST_DAYS.search(text):
        return f"last {int(found.group(1))} days"
    lowered = text.lower()
    return next((period for phrase, period in _PERIODS if phrase in lowered), None)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_filler(clause: str) -> bool:
    return all(w in _FILLER or w.isdigit() or _near(w, "approve") or _near(w, "reject")
               for w in _WORDS.findall(_MONEY.sub(" ", clause).lower()))


def _tidy_reason(text: str, *, subject: bool = False) -> str | None:
    """Trimmed of punctuation and politeness, and of a leading "it" unless `subject`;
    None when nothing but filler is left."""
    text = text.strip()
    if not subject:  # "order 1042, it arrived broken": the order is the "it"
        text = re.sub(r"^(?:it|it's|its|they)\s(?=\w)", "", text, flags=re.IGNORECASE)
    text = text.rstrip(" \n.!?,;")
    for polite in (" please", " pls", " thanks", " thank you", " thx"):
        if text.lower().endswith(polite):
            text = text[:-len(polite)].rstrip(" \n,;")
    if not text or _is_filler(text):
        return None
    return text[:MAX_REASON]


def _reason(text: str, anchor: re.Match[str] | None) -> str | None:
    """Why: after "because"/"since"/"reason:", else a clause after (or before) the order or
    approval the text names."""
    start = anchor.end() if anchor else 0
    if marked := _MARKER.search(text, start) or _MARKER.search(text):
        return _tidy_reason(marked.group(1), subject=True)
    if anchor is None:
        return None
    after = _CLAUSE_BREAK.split(text[start:])
    before = _CLAUSE_BREAK.split(text[:anchor.start()])[:-1]  # not the clause naming the anchor
    for clauses in (after, before):
        kept = [c.strip() for c in clauses if c.strip() and not _is_filler(c)]
        if kept and (reason := _tidy_reason(", ".join(kept))):
            return reason
    return None


def _name(text: str) -> str | None:
    """Up to three capitalised words after "customer", "for", "give"…, or before "'s"."""
    tokens = _NAME_TOKEN.findall(text)
    for at, token in enumerate(tokens):
        if token.lower() in _NAME_CUES:
            words = _capitalised(tokens[at + 1:at + 4])
        elif token.endswith(("'s", "’s")) and len(token) > 2:
            words = _capitalised([token[:-2], *reversed(tokens[max(0, at - 2):at])])[::-1]
        else:
            continue
        if words:
            return " ".join(words)
    return None


def _capitalised(tokens: list[str]) -> list[str]:
    words = []
    for token in tokens:
        if not token[0].isupper() or token.lower() in _NOT_NAMES:
            break
        words.append(token)
    return words


def _extract_slots(text: str) -> Slots:
    """Order, amount, reason, run and approval ids, decision, period and name, where present."""
    text = _clean(text)
    slots: Slots = {}
    order = _ORDER.search(text)
    refund_number = _REFUND_NUMBER.search(text)
    if order and int(order.group(1) or order.group(2)) > 0:
        slots["order_id"] = int(order.group(1) or order.group(2))
    elif refund_number and refund_number.group(1).isdigit() and int(refund_number.group(1)) > 0:
        # "refund 1042" with no order named elsewhere: 1042 is the order.
        slots["order_id"] = int(refund_number.group(1))
        order, refund_number = refund_number, None
    if money := _MONEY.search(text):
        symbol, number, number2, symbol2, word = money.groups()
        if (value := _amount(number or number2)) is not None:
            slots["amount"] = str(value)
        if code := _CURRENCIES.get((symbol or symbol2 or word or "").lower()):
            slots["currency"] = code
    elif refund_number and (value := _amount(refund_number.group(1))) is not None:
        slots["amount"] = str(value)
    if run := _RUN_ID.search(text):
        slots["run_id"] = run.group().lower()
    approval = _APPROVAL_ID.search(text)
    if approval:
        slots["approval_id"] = approval.group().lower()
    if decision := _decision_of(text):
        slots["decision"] = decision
    if period := _period(text):
        slots["period"] = period
    if reason := _reason(text, order or approval):
        slots["reason"] = reason
    if name := _name(text):
        slots["name"] = name
    return slots


# --- Intent by nearest labelled example. ----------------------------------------------------

_MASKS = ((_APPROVAL_ID, " xapproval "), (_RUN_ID, " xrun "), (_ISO_DATE, " xdate "),
          (_MONEY, " xmoney "), (re.compile(r"#\s?\d+\b"), " order xnum "),
          (re.compile(r"\b\d+\b"), " xnum "),
          (re.compile(r"\b(?:please|pls|plz|kindly|thanks|thank\s+you|thx|cheers)\b",
                      re.IGNORECASE), " "))


def _masked(text: str) -> str:
    """Ids, dates, money and numbers as placeholder words (their shape matters, not their
    value); politeness dropped, as it says nothing about what is asked."""
    for pattern, token in _MASKS:
        text = pattern.sub(token, text)
    return text


# --- Questions asked for a missing slot, so the next message can answer them. ------------

_QUESTIONS: tuple[tuple[str, Intent, str], ...] = (
    (ASK_ORDER, "start_refund", "order_id"), (ASK_REASON, "start_refund", "reason"),
    (ASK_RUN, "show_run", "run_id"),
)
"""Not the approval questions: a decision is taken only from one message that says it."""
_SUBJECTS: tuple[Literal["order_id", "run_id", "approval_id"], ...] = (
    "order_id", "run_id", "approval_id")
_NOT_A_REASON = frozenset({"pending", "show_run", "metrics", "help"})
_BARE_ORDER = re.compile(r"(?:it'?s |order )?#? ?(\d{1,12})[.!]?", re.IGNORECASE)


class OfflineModel:
    """A deterministic stand-in for a tool-using model; see the module docstring.

    For the last user message it finds the intent (nearest labelled example, "unknown"
    below `floor`) and the slots (patterns). With every slot an actionable intent needs,
    and its tool offered, it calls the tool; with a slot missing it asks for it; after a
    tool result it summarises the result. Approvals are decided only when the person's
    own message says approve or reject and names the approval.
    """

    name = "offline"

    def __init__(self, embedder: HashingEmbedder | None = None, *, floor: float = FLOOR,
                 examples: Sequence[tuple[str, Intent]] = EXAMPLES) -> None:
        self.embedder = embedder or HashingEmbedder()
        self.floor = floor
        self._examples = [(intent, self.embedder.embed(_masked(_clean(text))))
                          for text, intent in examples]

    def classify(self, text: str) -> tuple[Intent, float]:
        """The intent of the nearest example and its cosine similarity to `text`."""
        vector = self.embedder.embed(_masked(_clean(text)))
        best: tuple[Intent, float] = ("unknown", 0.0)
        for intent, example in self._examples:
            if (score := cosine(vector, example)) > best[1]:
                best = (intent, score)
        return best if best[1] >= self.floor else ("unknown", best[1])

    def slots(self, text: str) -> Slots:
        """What the text names: order, amount, reason, run and approval ids, an explicit
        decision, a period and a person's name, each only where present."""
        return _extract_slots(text)

    def complete(self, *, system: str, messages: list[Message], tools: list[ToolSpec],
                 max_tokens: int = 1024) -> Reply:
        usage_in = _tokens(len(system) + sum(map(_chars, messages))
                           + sum(len(t.model_dump_json()) for t in tools))
        last = messages[-1] if messages else None
        if last is None or last.role != "user":
            return _text_reply(NOTHING_TO_ADD if last else GREETING + CAPABILITIES, usage_in,
                               max_tokens)
        if any(isinstance(b, ToolResultBlock) for b in last.content):
            return _text_reply(_summarise(messages), usage_in, max_tokens)
        intent, slots = self._understand(messages)
        answer = _respond(intent, slots)
        if isinstance(answer, str):
            return _text_reply(answer, usage_in, max_tokens)
        intent, arguments = answer
        tool = TOOLS[intent]
        spec = next((t for t in tools if t.name == tool), None)
        if spec is None:
            understood = UNDERSTOOD[intent].format(**_described(slots))
            return _text_reply(NO_TOOL.format(understood=understood, tool=tool), usage_in,
                               max_tokens)
        arguments = _fitted(arguments, spec)
        key = json.dumps([len(messages), tool, arguments], sort_keys=True)
        call = ToolCall(id="toolu_offline_" + blake2b(key.encode(), digest_size=12).hexdigest(),
                        name=tool, arguments=arguments)
        return Reply(model=self.name, tool_calls=[call], stop_reason="tool_use", offline=True,
                     usage=Usage(input_tokens=usage_in, output_tokens=_tokens(len(key))))

    def _understand(self, messages: list[Message]) -> tuple[Intent | Literal["empty"], Slots]:
        text = _clean(messages[-1].text)
        if not _WORDS.search(text):
            return "empty", {}
        intent, _ = self.classify(text)
        slots = _extract_slots(text)
        if asked := _asked(messages):
            family, need, before = asked
            if need == "order_id" and (bare := _BARE_ORDER.fullmatch(text.strip())):
                text, slots = f"order {bare.group(1)}", {"order_id": int(bare.group(1))}
            earlier = _extract_slots(before)
            if need == "reason":
                answers = intent not in _NOT_A_REASON and _tidy_reason(text) is not None
            else:
                answers = need in slots
            conflict = any(slots.get(k) not in (None, earlier.get(k)) and k in earlier
                           for k in _SUBJECTS)
            if answers and not conflict:
                said_here = slots
                intent, slots = family, _extract_slots(before + "\n" + text)
                if not ("approval_id" in said_here and "decision" in said_here):
                    slots.pop("decision", None)  # never a decision pieced together from turns
        if "approval_id" in slots and "decision" in slots:
            intent = slots["decision"]  # an id and a decision in so many words: a decision
        return intent, slots


def _asked(messages: list[Message]) -> tuple[Intent, str, str] | None:
    """The question the model asked last turn, if any, and the message it asked about."""
    if len(messages) < 3 or messages[-2].role != "assistant" or messages[-3].role != "user":
        return None
    said, before = messages[-2].text, _clean(messages[-3].text)
    for question, family, need in _QUESTIONS:
        if before and said.startswith(PREFIX + question.split("{")[0]):
            return family, need, before
    return None


def _respond(intent: str, slots: Slots) -> str | tuple[str, dict[str, Any]]:
    """A text to say, or the intent to act on and its tool's arguments."""
    if intent == "start_refund":
        if "order_id" not in slots:
            return ASK_ORDER
        if "reason" not in slots:
            return ASK_REASON.format(order_id=slots["order_id"])
        refund: dict[str, Any] = {"order_id": slots["order_id"], "reason": slots["reason"]}
        if "amount" in slots:
            refund["amount"] = slots["amount"]
        return intent, {"workflow": "refund", "input": refund}
    if intent in ("approve", "reject"):
        if "approval_id" not in slots:
            return ASK_APPROVAL
        approval_id = slots["approval_id"]
        decision = slots.get("decision")
        if decision is None:
            return ASK_DECISION.format(approval_id=approval_id)
        if decision == "approve":
            return decision, {"approval_id": approval_id, "decision": decision}
        if "reason" not in slots:
            return ASK_REJECT_REASON.format(approval_id=approval_id)
        return decision, {"approval_id": approval_id, "decision": decision,
                          "reason": slots["reason"]}
    if intent == "pending":
        return intent, {}
    if intent == "show_run":
        return (intent, {"run_id": slots["run_id"]}) if "run_id" in slots else ASK_RUN
    if intent == "metrics":
        return intent, {"period": slots.get("period", DEFAULT_PERIOD)}
    opening = {"help": HELP, "greeting": GREETING, "empty": EMPTY}.get(intent, UNKNOWN)
    return opening + CAPABILITIES


def _described(slots: Slots) -> dict[str, Any]:
    amount = " ".join(v for v in (slots.get("amount"), slots.get("currency")) if v)
    return {**slots, "amount_part": f" ({amount})" if amount else "",
            "period": slots.get("period", DEFAULT_PERIOD)}


def _fitted(arguments: dict[str, Any], spec: ToolSpec) -> dict[str, Any]:
    """Arguments the tool's schema accepts: a period it does not offer becomes the nearest
    one it does, or is left to the tool's default."""
    properties = spec.input_schema.get("properties", {})
    required = spec.input_schema.get("required", [])
    fitted = dict(arguments)
    for key, value in arguments.items():
        allowed = properties.get(key, {}).get("enum") if isinstance(properties, dict) else None
        if not isinstance(allowed, list) or value in allowed:
            continue
        nearest = _NEAREST_PERIODS.get(str(value), ())
        if days := re.fullmatch(r"last (\d+) days", str(value)):
            count = int(days.group(1))
            nearest = ("last week",) if count <= 7 else ("last 30 days",) if count <= 30 else ("all",)
        if choice := next((p for p in nearest if p in allowed), None):
            fitted[key] = choice
        elif key in required:
            fitted[key] = allowed[0]
        else:
            del fitted[key]
    return fitted


# --- Summaries of tool results. -------------------------------------------------------------

MAX_RESULT = 200_000
MAX_SHOWN = 300
MAX_LINES = 10


def _summarise(messages: list[Message]) -> str:
    called = {b.id: b.name for m in messages if m.role == "assistant"
              for b in m.content if isinstance(b, ToolUseBlock)}
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
        parts.append(summary or (TOOL_REPLIED if shown else TOOL_SILENT).format(
            tool=tool or UNNAMED_TOOL, text=shown))
    return "\n".join(parts)


def _load(content: str) -> Any:
    try:
        return json.loads(content[:MAX_RESULT])
    except ValueError:
        return None


def _clip(value: Any, limit: int = MAX_SHOWN) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(_clean(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


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
    text = STARTED.format(workflow=_field(data, "workflow", "kind") or NEW_WORKFLOW,
                          run_id=run_id, status=_field(data, "status") or JUST_STARTED)
    return text + _run_details(data)


def _run_details(data: dict[str, Any]) -> str:
    """Where a run is: its step, its error, the approval it waits for."""
    text = ""
    if step := _field(data, "step"):
        text += AT_STEP.format(step=step)
    if error := _field(data, "error"):
        text += RUN_ERROR.format(error=error)
    waiting = next((data[k] for k in ("waiting_for_approval", "pending", "approval")
                    if isinstance(data.get(k), dict)), None)
    if approval := _field(data, "approval_id") or _field(waiting, "approval_id", "id"):
        text += WAITING_FOR.format(approval_id=approval)
    return text


def _pending(data: Any) -> str | None:
    items = data if isinstance(data, list) else next(
        (data[k] for k in ("approvals", "pending", "items") if isinstance(data, dict)
         and isinstance(data.get(k), list)), None)
    if items is None:
        return None
    if not items:
        return PENDING_NONE
    lines = [PENDING_ONE if len(items) == 1 else PENDING_SOME.format(count=len(items))]
    for item in items[:MAX_LINES]:
        lines.append(PENDING_ITEM.format(
            id=_field(item, "approval_id", "id") or NO_ID,
            what=_field(item, "what", "summary", "title", "workflow") or _clip(item, 120)))
    if len(items) > MAX_LINES:
        lines.append(MORE.format(count=len(items) - MAX_LINES))
    return "\n".join(lines)


def _run(data: Any) -> str | None:
    if not (run_id := _field(data, "run_id", "id")) or not (status := _field(data, "status")):
        return None
    text = RUN.format(run_id=run_id, workflow=_field(data, "workflow", "kind") or SOME_WORKFLOW,
                      status=status)
    if outcome := _field(data, "outcome"):
        text += RUN_OUTCOME.format(outcome=outcome)
    text += _run_details(data)
    steps = data.get("steps") or data.get("events")
    if isinstance(steps, list) and steps:
        names = [s if isinstance(s, str) else _field(s, "step", "kind", "name") or NO_ID
                 for s in steps[-3:]]
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
    values = data.get("metrics") if isinstance(data.get("metrics"), dict) else data
    flat: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            flat += [(f"{key}.{k}", v) for k, v in value.items()
                     if v is not None and not isinstance(v, dict | list)]
        elif value is not None and not isinstance(value, list) and key != "period":
            flat.append((key, value))
    period = _field(data, "period")
    lines = [METRICS.format(period=period or SOME_PERIOD)]
    lines += [METRIC_LINE.format(key=_clip(k, 60), value=_clip(v, 60)) for k, v in flat[:15]]
    return "\n".join(lines)


_SUMMARIES: dict[str, Callable[[Any], str | None]] = {
    "start_workflow": _started, "list_pending": _pending, "show_run": _run, "decide": _decided,
    "summarise_metrics": _metrics,
}


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
    return Reply(model=OfflineModel.name, text=text, stop_reason=stop, offline=True,
                 usage=Usage(input_tokens=usage_in, output_tokens=_tokens(len(text))))
