"""What the assistant sends and how well the offline model understands: prompt tokens per turn
as a conversation grows, compressed against resending the whole history, and the offline
model's intent accuracy and speed on the held-out labelled set."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

from connectors import MailConnector, ShopConnector
from connectors.anthropic import AnthropicModel
from connectors.offline import Intent, OfflineModel
from connectors.sandbox import Sandbox
from graph import Policy, Runtime, Services, load_policy
from graph.assistant import MAX_FACTS, Assistant
from graph.router import Router
from memory import HashingEmbedder
from tests.fakes import Answer, MessagesAPI, tokens

from .sections import run_sections
from .timing import Table, rate, stopwatch, times

SECTIONS = ("prompt", "intents")

ROOT = Path(__file__).resolve().parents[1]
POLICY_FILE = ROOT / "policy.toml"
INTENTS = ROOT / "tests" / "data" / "intents.jsonl"
CONVERSATION, ASKER = "conv_bench", "demo"
REPLY = "Noted. Anything else?"
PROMPT = ("system", "messages", "tools")
"""The parts of a request body that are the prompt."""
# Lifted for the bench so both conversations run every turn on the strong model.
UNLIMITED = {"max_tokens": 10**12, "max_cost_usd": Decimal("1000000.00"), "soft_limit": 1.0}
CHATTER = (
    "Remember that order #{order} went out late, the courier apologised.",
    "How are sales looking this afternoon? Just curious, message {n}.",
    "The shelves by the window need tidying before the weekend ({n}).",
    "Any idea why the courier is slow today? Asking again, take {n}.",
)


@dataclass(frozen=True)
class Sizes:
    turns: int
    marks: tuple[int, ...]
    """The turns reported in the table."""
    intent_passes: int
    """Passes over the labelled set when timing classification."""


DEFAULT = Sizes(turns=200, marks=(1, 10, 25, 50, 100, 200), intent_passes=20)
QUICK = Sizes(turns=50, marks=(1, 10, 25, 50), intent_passes=5)

Section = Callable[[Sizes, Path], dict[str, Any]]


def run(*, quick: bool, tmp: Path, sections: set[str]) -> tuple[dict[str, Any], bool]:
    """Run the chosen sections, print their tables, and return (results, every section clean)."""
    sizes = QUICK if quick else DEFAULT
    results: dict[str, Any] = {"sizes": sizes.__dict__}
    chosen: dict[str, Section] = {"prompt": _prompt, "intents": _intents}
    clean = run_sections(
        {name: (lambda scratch, s=section: s(sizes, scratch)) for name, section in chosen.items()},
        sections,
        tmp,
        results,
    )
    results["ratios"] = _ratios(results)
    _print_ratios(results["ratios"])
    return results, clean


# --- 1. prompt tokens per turn ------------------------------------------------------------------


def said(turn: int) -> str:
    """The asker's message at a turn (from 1): who they are, then chatter in which every fourth
    message names an order, a fact the summary keeps."""
    if turn == 1:
        return "Hi! My name is Priya and I run the Brighton shop."
    return CHATTER[turn % len(CHATTER)].format(n=turn, order=1000 + turn)


@dataclass(frozen=True)
class Conversation:
    """What one Assistant sent over a conversation, and its summary at the marked turns."""

    bodies: list[dict[str, Any]]
    """Each turn's request body, as the real SDK sent it to the loopback API."""
    facts: dict[int, int]
    compressed: dict[int, int]
    """Messages folded into the summary by each marked turn."""
    ms_per_turn: float


def converse(policy: Policy, home: Path, services: Services, sizes: Sizes) -> Conversation:
    facts: dict[int, int] = {}
    compressed: dict[int, int] = {}
    with MessagesAPI(responder=lambda _body: Answer(text=REPLY)) as api:
        runtime = Runtime.open(home, services=services, policy=policy)
        strong, cheap = (
            AnthropicModel(name, api_key="sk-bench", base_url=api.url, max_retries=0)
            for name in (policy.models.strong, policy.models.cheap)
        )
        try:
            router = Router(
                store=runtime.store,
                clock=runtime.clock,
                models=policy.models,
                offline=OfflineModel(HashingEmbedder()),
                strong=strong,
                cheap=cheap,
            )
            assistant = Assistant(runtime, router)
            config: dict[str, Any] = {"configurable": {"thread_id": CONVERSATION}}
            seconds = 0.0
            for turn in range(1, sizes.turns + 1):
                elapsed = stopwatch()
                reply = assistant.turn(CONVERSATION, ASKER, said(turn))
                seconds += elapsed()
                if reply.text != REPLY or len(api.calls()) != turn:
                    raise RuntimeError(
                        f"turn {turn}: expected one call answered {REPLY!r}, got"
                        f" {len(api.calls())} calls and {reply.text[:80]!r}"
                    )
                if turn in sizes.marks:
                    state = assistant.graph.get_state(config).values
                    facts[turn] = len(state.get("summary", []))
                    compressed[turn] = state.get("compressed", 0)
        finally:
            strong.close()
            cheap.close()
            runtime.close()
        bodies = [r.body for r in api.calls()]
    return Conversation(bodies, facts, compressed, 1000 * seconds / sizes.turns)


def full_history(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each turn's prompt as if nothing had been compressed: the first request's system prompt
    (no summary yet), the same tools, and every message so far. Checks on the way that
    compression only ever dropped the oldest messages, the rest sent verbatim."""
    transcript: list[dict[str, Any]] = []
    full = []
    for turn, body in enumerate(bodies, 1):
        sent = body["messages"]
        transcript += sent if turn == 1 else sent[-2:]  # the last reply, the new message
        if sent != transcript[-len(sent) :]:
            raise RuntimeError(f"turn {turn}: the messages sent are not the latest of the history")
        full.append(
            {"system": bodies[0]["system"], "tools": body["tools"], "messages": list(transcript)}
        )
    return full


def prompt_of(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in PROMPT if k in body}


def _prompt(sizes: Sizes, tmp: Path) -> dict[str, Any]:
    policy = load_policy(POLICY_FILE)
    keep, budget = policy.assistant.recent_turns, policy.assistant.budget.max_tokens
    tmp.mkdir(parents=True)
    sandbox = Sandbox(tmp / "sandbox.db").start()
    shop = ShopConnector.connect(sandbox.url, sandbox.token, timeout=10, rate_limit=None)
    services = Services(
        shop=shop,
        mail=MailConnector(
            sandbox.smtp_host, sandbox.smtp_port, "Keel Shop <shop@example.com>", timeout=10
        ),
    )
    try:
        ours = converse(
            _assistant_policy(policy, recent_turns=keep), tmp / "compressed", services, sizes
        )
        most = converse(_assistant_policy(policy, recent_turns=200), tmp / "most", services, sizes)
    finally:
        shop.close()
        sandbox.stop()

    full = full_history(ours.bodies)
    sent, rebuilt = [prompt_of(b) for b in most.bodies], [prompt_of(b) for b in full]
    verbatim = [t for t in range(1, sizes.turns + 1) if len(sent[t - 1]["messages"]) == 2 * t - 1]
    if differs := [t for t in verbatim if sent[t - 1] != rebuilt[t - 1]]:
        raise RuntimeError(f"the rebuilt full history differs from what was sent at {differs}")
    per_turn = {
        "compressed": [tokens(prompt_of(b)) for b in ours.bodies],
        "full_history": [tokens(p) for p in rebuilt],
        "recent_turns_200": [tokens(p) for p in sent],
    }
    messages = {
        "compressed": [len(b["messages"]) for b in ours.bodies],
        "full_history": [len(b["messages"]) for b in full],
        "recent_turns_200": [len(p["messages"]) for p in sent],
    }

    table = Table(
        f"Prompt tokens per turn, a {sizes.turns}-turn conversation (system + messages +"
        " tools as the real SDK sent them to the loopback Messages API)",
        [
            "turn",
            "msgs sent",
            "summary facts",
            "compressed",
            "full-history msgs",
            "full history",
            "full/compressed",
            "recent_turns=200",
        ],
    )
    marks: dict[str, dict[str, Any]] = {}
    for t in sizes.marks:
        row = marks[str(t)] = {
            "compressed_tokens": per_turn["compressed"][t - 1],
            "full_history_tokens": per_turn["full_history"][t - 1],
            "recent_turns_200_tokens": per_turn["recent_turns_200"][t - 1],
            "compressed_messages": messages["compressed"][t - 1],
            "full_history_messages": messages["full_history"][t - 1],
            "summary_facts": ours.facts[t],
            "messages_compressed": ours.compressed[t],
        }
        row["full_vs_compressed"] = row["full_history_tokens"] / row["compressed_tokens"]
        table.add(
            t,
            row["compressed_messages"],
            row["summary_facts"],
            f"{row['compressed_tokens']:,}",
            row["full_history_messages"],
            f"{row['full_history_tokens']:,}",
            times(row["full_vs_compressed"]),
            f"{row['recent_turns_200_tokens']:,}",
        )
    totals = {k: sum(v) for k, v in per_turn.items()}
    table.add(
        f"all {sizes.turns}",
        "",
        "",
        f"{totals['compressed']:,}",
        "",
        f"{totals['full_history']:,}",
        times(totals["full_history"] / totals["compressed"]),
        f"{totals['recent_turns_200']:,}",
    )
    reach = {k: _turn_reaching(v, budget) for k, v in per_turn.items()}
    table.notes += [
        (
            f"compressed: the Assistant as it is, policy.toml's recent_turns = {keep}"
            " (messages, not"
            f" turns, kept verbatim); {ours.ms_per_turn:.1f} ms/turn; it still grows with the"
            f" summary, which keeps at most {MAX_FACTS} facts (reached: {max(ours.facts.values())})"
        ),
        (
            f"full history: every message resent; identical key for key to what a recent_turns=200"
            f" Assistant sent on each of turns 1-{verbatim[-1]} (checked)"
            + (
                ", rebuilt beyond from the compressed run's requests plus the messages compression"
                " dropped"
                if verbatim[-1] < sizes.turns
                else ""
            )
        ),
        (
            "recent_turns=200 (the most policy allows) counts messages, not turns"
            + (
                f", so it too compresses from turn {verbatim[-1] + 1}"
                if verbatim[-1] < sizes.turns
                else ""
            )
            + f"; {most.ms_per_turn:.1f} ms/turn"
        ),
        (
            f"policy.toml's conversation budget, {budget:,} tokens (lifted here), is spent on"
            f" prompts alone {_by(reach['full_history'], sizes.turns)} resending the full history,"
            f" {_by(reach['compressed'], sizes.turns)} compressed"
        ),
        (
            f"the asker says who they are, then chatter in which every {len(CHATTER)}th message"
            f" names an order (a fact the summary keeps); each reply is {REPLY!r}"
        ),
    ]
    print(table.render() + "\n")
    return {
        "recent_turns": keep,
        "turns": sizes.turns,
        "marks": marks,
        "totals": totals,
        "per_turn_tokens": per_turn,
        "per_turn_messages": messages,
        "ms_per_turn": {"compressed": ours.ms_per_turn, "recent_turns_200": most.ms_per_turn},
        "recent_turns_200_verbatim_through": verbatim[-1],
        "budget_tokens": budget,
        "budget_spent_at_turn": reach,
        "last_summary_mentions_priya": "Priya" in json.dumps(ours.bodies[-1]["system"]),
    }


def _assistant_policy(policy: Policy, **assistant: Any) -> Policy:
    """The policy with the assistant's settings changed, validated as a file would be."""
    changed = {**policy.assistant.model_dump(), "budget": UNLIMITED, **assistant}
    return Policy.model_validate({**policy.model_dump(), "assistant": changed})


def _turn_reaching(per_turn: list[int], budget: int) -> int | None:
    spent = 0
    for turn, n in enumerate(per_turn, 1):
        spent += n
        if spent >= budget:
            return turn
    return None


def _by(turn: int | None, turns: int) -> str:
    return f"by turn {turn}" if turn is not None else f"not within {turns} turns"


# --- 2. the offline model's intents -----------------------------------------------------------


def _intents(sizes: Sizes, _tmp: Path) -> dict[str, Any]:
    rows = [
        json.loads(line)
        for line in INTENTS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    texts, truth = [r["text"] for r in rows], [r["intent"] for r in rows]
    built = stopwatch()
    model = OfflineModel(HashingEmbedder())
    build_ms = 1000 * built()
    passes, predicted = [], []
    for _ in range(sizes.intent_passes):
        elapsed = stopwatch()
        predicted = [model.classify(text)[0] for text in texts]
        passes.append(elapsed())
    median = statistics.median(passes)
    per_second = len(texts) / median
    right = sum(t == p for t, p in zip(truth, predicted, strict=True))

    table = Table(
        f"The offline model's intents on tests/data/intents.jsonl ({len(rows)} held-out"
        " utterances)",
        ["intent", "labelled", "classified", "precision", "recall"],
    )
    per_intent: dict[str, dict[str, Any]] = {}
    for intent in get_args(Intent):
        hits = sum(t == p == intent for t, p in zip(truth, predicted, strict=True))
        labelled, classified = truth.count(intent), predicted.count(intent)
        row = per_intent[intent] = {
            "labelled": labelled,
            "classified": classified,
            "precision": hits / classified if classified else None,
            "recall": hits / labelled if labelled else None,
        }
        table.add(intent, labelled, classified, _share(row["precision"]), _share(row["recall"]))
    macro = {
        k: statistics.mean(r[k] or 0.0 for r in per_intent.values() if r["labelled"])
        for k in ("precision", "recall")
    }
    table.add(
        "macro average", len(rows), len(rows), _share(macro["precision"]), _share(macro["recall"])
    )
    table.notes += [
        f"accuracy {right / len(rows):.1%}: {right} of {len(rows)} right",
        (
            f"{rate(per_second)} utterances/s ({1e6 / per_second:,.0f} us each; median of"
            f" {sizes.intent_passes} passes, spread {(max(passes) - min(passes)) / median:.0%});"
            f" building the model (embedding its examples) {build_ms:.1f} ms"
        ),
    ]
    print(table.render() + "\n")

    misses = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    confusion = Table(
        "Where it goes wrong (labelled, classified as)",
        ["labelled", "classified as", "count", "for example"],
    )
    pairs = []
    for (labelled, classified), count in misses.most_common():
        example = next(
            x
            for x, t, p in zip(texts, truth, predicted, strict=True)
            if (t, p) == (labelled, classified)
        )
        pairs.append(
            {"labelled": labelled, "classified": classified, "count": count, "example": example}
        )
        confusion.add(labelled, classified, count, _clipped(example))
    print(confusion.render() + "\n")
    return {
        "utterances": len(rows),
        "correct": right,
        "accuracy": right / len(rows),
        "per_intent": per_intent,
        "macro": macro,
        "confusion": pairs,
        "utterances_per_s": per_second,
        "pass_seconds": passes,
        "build_ms": build_ms,
    }


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _clipped(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the ratios ----------------------------------------------------------------------------------


def _ratios(results: dict[str, Any]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    if "marks" in (prompt := results.get("prompt") or {}):
        ratios["full_vs_compressed_by_turn"] = {
            t: row["full_vs_compressed"] for t, row in prompt["marks"].items()
        }
        ratios["full_vs_compressed_whole_conversation"] = (
            prompt["totals"]["full_history"] / prompt["totals"]["compressed"]
        )
        per_turn = prompt["per_turn_tokens"]["compressed"]
        ratios["compressed_last_vs_turn_10"] = per_turn[-1] / per_turn[min(10, len(per_turn)) - 1]
    if "accuracy" in (intents := results.get("intents") or {}):
        ratios["intent_accuracy"] = intents["accuracy"]
    return ratios


def _print_ratios(r: dict[str, Any]) -> None:
    lines = []
    if by_turn := r.get("full_vs_compressed_by_turn"):
        lines.append(
            "full history / compressed, prompt tokens: "
            + ", ".join(f"turn {t} {times(x)}" for t, x in by_turn.items())
        )
        lines.append(
            "full history / compressed, all turns' prompt tokens together:"
            f" {times(r['full_vs_compressed_whole_conversation'])}"
        )
        lines.append(
            f"compressed prompt, last turn / turn 10: {times(r['compressed_last_vs_turn_10'])}"
        )
    if "intent_accuracy" in r:
        lines.append(f"offline model intent accuracy: {r['intent_accuracy']:.1%}")
    if lines:
        print("Ratios\n------\n" + "\n".join(lines) + "\n")
