"""Memory written from the event log and recalled by the assistant: finished runs become
outcomes and profiles, conversations are kept and folded, and the model is shown what is
relevant within the policy's allowance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from graph import RunStatus, Runtime, parse_policy
from graph.remembering import CURSOR, MemoryKeeper, customer_subject, recall_block
from memory import HashingEmbedder, MemoryStore
from tests.fakes import Answer, MessagesAPI, ToolUse

from ..support import POLICY, claude, orders
from .test_assistant import offline

MEMORY_POLICY = (
    POLICY
    + """
[memory]
recall_tokens = 300
fold_after = 6
"""
)


@pytest.fixture
def rt(home, services, clock) -> Iterator[Runtime]:
    runtime = Runtime.open(home, services=services, policy=parse_policy(MEMORY_POLICY), clock=clock)
    runtime.memory = MemoryStore(home / "memory.db", HashingEmbedder(), clock=clock.now)
    yield runtime
    runtime.memory.close()
    runtime.close()


def keeper(rt: Runtime) -> MemoryKeeper:
    assert rt.memory is not None
    return MemoryKeeper(rt.store, rt.memory, fold_after=rt.policy.memory.fold_after)


@pytest.fixture
def order(services) -> int:
    """An order small enough to refund without an approval."""
    return orders(services.shop, under="100.00")[0].id


def refund(rt: Runtime, order_id: int, reason: str) -> str:
    run = rt.start("refund", {"order_id": order_id, "reason": reason}, requested_by="sam")
    assert rt.get(run.id).run.status == RunStatus.SUCCEEDED
    return run.id


def test_subjects_name_a_customer_by_email_when_there_is_one():
    assert customer_subject("Ada Lovelace <Ada@Example.com>") == "customer:ada@example.com"
    assert customer_subject("bob@shop.test") == "customer:bob@shop.test"
    assert customer_subject("  Zoë  Ní Bhriain ") == "customer:zoë ní bhriain"


def test_a_finished_refund_becomes_an_outcome_and_a_profile_once(rt, order):
    run_id = refund(rt, order, "arrived broken, very disappointed")
    customer = rt.get(run_id).run.input["customer"]
    subject = customer_subject(customer)
    first = keeper(rt).sync()
    assert first.remembered >= 1 and first.profiles == 1
    [outcome] = rt.memory.about(subject, ["outcome"])
    assert outcome.source == f"run:{run_id}"
    assert "Refund of" in outcome.text and f"order {order}" in outcome.text
    assert "succeeded" in outcome.text and "arrived broken" in outcome.text
    profile = json.loads(rt.memory.profile(subject, "customer"))
    assert profile["refunds"] == 1 and profile["orders"] == [order]
    assert profile["refund_statuses"] == {"succeeded": 1}
    assert profile["sentiment_label"] == "negative"
    again = keeper(rt).sync()  # nothing new in the log: nothing stored twice
    assert again.events == 0 and len(rt.memory.about(subject)) == 1
    # the cursor lives in the memory file; a new keeper (after a restart) goes on from it
    rt.memory.set_meta(CURSOR, "0")
    replay = keeper(rt).sync()
    assert replay.events > 0 and len(rt.memory.about(subject, ["outcome"])) == 1


def test_the_profile_follows_the_customer_across_runs(rt, order):
    first = refund(rt, order, "arrived broken")
    keeper(rt).sync()
    customer = rt.get(first).run.input["customer"]
    subject = customer_subject(customer)
    rt.memory.remember(subject, "ticket", "Thanks, the replacement was perfect and quick!")
    keeper(rt).refresh_profile(customer)
    profile = json.loads(rt.memory.profile(subject, "customer"))
    assert profile["tickets"] == 1
    assert profile["sentiment_label"] in ("neutral", "positive")  # the thanks outweighs


def test_conversations_are_remembered_and_folded_with_the_transcript_kept(rt, order):
    assistant = offline(rt)
    said = [f"note {n}: our shop sells teapots in colour {n}" for n in range(8)]
    for text in said:
        assistant.turn("conv_long", "maria", text)
    report = keeper(rt).sync()
    assert report.folded > 0
    subject = "conversation:conv_long"
    [summary] = rt.memory.about(subject, ["summary"])
    assert "extractive summary, offline" in summary.text
    transcript = rt.memory.transcript(summary.id)
    assert len(transcript) == report.folded
    assert transcript[0].text == f"maria: {said[0]}"
    assert len(rt.memory.about(subject, ["conversation"])) == 3  # fold_after // 2 kept
    replies = [item.text for item in transcript if item.text.startswith("Keel (offline model):")]
    assert replies and not any("[offline model]" in text for text in replies)  # labelled once


def remembering_model(body: dict[str, Any]) -> Answer:
    content = body["messages"][-1]["content"]
    results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
    if results:
        return Answer(text="Found: " + str(results[0]["content"])[:500])
    text = " ".join(b["text"] for b in content if b.get("type") == "text")
    if text.startswith("search"):
        return Answer(tool_uses=(ToolUse("search_memory", {"query": text[7:]}),))
    return Answer(text="Noted.")


@pytest.fixture
def fake() -> Iterator[MessagesAPI]:
    with MessagesAPI(responder=remembering_model) as api:
        yield api


def test_the_assistant_is_shown_relevant_memory_within_its_allowance(rt, order, fake):
    run_id = refund(rt, order, "the teapot lid arrived cracked")
    keeper(rt).sync()
    for n in range(30):  # plenty of other memories competing for the allowance
        rt.memory.remember(
            f"customer:other{n}",
            "outcome",
            f"Refund for a teapot lid on order {2000 + n} approved.",
        )
    assistant = claude(rt, fake)
    assistant.turn("conv_new", "maria", f"was order {order} (the cracked teapot lid) refunded?")
    system = "".join(block["text"] for block in fake.calls()[-1].body["system"])
    assert "Long-term memory recalled" in system and run_id in system
    block = system[system.index("Long-term memory recalled") :]
    assert len(block) <= 300 * 4 + 200  # the allowance, plus the block's own heading
    [recalled] = [e for e in rt.events("conv_new") if e.kind == "memory.recalled"]
    assert recalled.data["items"] and recalled.data["chars"] == len(block) + 1  # its newline


def test_no_allowance_means_no_memory_in_the_prompt(rt, order, fake):
    refund(rt, order, "the teapot lid arrived cracked")
    keeper(rt).sync()
    block, hits = recall_block(rt.memory, "cracked teapot lid", "conv_x", tokens=0, k=5)
    assert (block, hits) == ("", [])
    block, hits = recall_block(rt.memory, "cracked teapot lid", "conv_x", tokens=300, k=5)
    assert hits and "cracked" in block


def test_the_assistant_searches_memory_with_its_tool(rt, order, fake):
    run_id = refund(rt, order, "the teapot lid arrived cracked")
    keeper(rt).sync()
    reply = claude(rt, fake).turn("conv_s", "maria", f"search order {order}")
    assert reply.text.startswith("Found:") and run_id in reply.text
    [called] = [e for e in rt.events("conv_s") if e.kind == "tool.called"]
    assert called.data["tool"] == "search_memory" and not called.data["error"]


def test_without_memory_the_tool_says_so(home, services, clock, fake):
    runtime = Runtime.open(home, services=services, policy=parse_policy(MEMORY_POLICY), clock=clock)
    try:
        reply = claude(runtime, fake).turn("conv_n", "maria", "search anything")
        assert "not configured" in reply.text
        assert [e.kind for e in runtime.events("conv_n")].count("memory.recalled") == 0
    finally:
        runtime.close()


def test_a_customers_long_history_is_folded_and_the_profile_shown_with_recall(rt, order):
    run_id = refund(rt, order, "the teapot lid arrived cracked")
    keeper(rt).sync()
    customer = rt.get(run_id).run.input["customer"]
    subject = customer_subject(customer)
    for n in range(8):
        rt.memory.remember(subject, "ticket", f"Ticket {n}: asked about teapot care, day {n}.")
    rt.memory.remember(
        subject, "ticket", "Ticket 8: thanks for the quick refund!", source="ticket:8"
    )
    keeper(rt)._fold(subject, ["outcome", "ticket"])
    [summary] = rt.memory.about(subject, ["summary"])
    assert summary.text.startswith("Earlier in this customer's history")
    assert len(rt.memory.transcript(summary.id)) == 10 - 3  # all but fold_after // 2
    block, hits = recall_block(rt.memory, "teapot care", "conv_p", tokens=400, k=4)
    assert f"[profile, {subject}]" in block and "1 refund(s)" in block
    assert block.splitlines()[2].startswith(f"- [profile, {subject}]")  # who, before what
    assert hits and all(h.item.subject == subject for h in hits)


def test_a_published_piece_becomes_the_creators_article_and_style(rt):
    store = rt.store
    store.create_run(
        "run_content_1", "content", 1, {"creator": "Ines Duarte"}, "scheduler", "schedule"
    )
    store.finish_run(
        "run_content_1",
        RunStatus.SUCCEEDED,
        {"published": "Oolong rewards patience. Do you rinse the leaves? You should!"},
    )
    keeper(rt).sync()
    [article] = rt.memory.about("creator:ines duarte", ["article"])
    assert article.source == "run:run_content_1"
    style = json.loads(rt.memory.profile("creator:ines duarte", "style"))
    assert style["pieces"] == 1 and "oolong" in style["signature_terms"]
    assert style["questions_per_100_sentences"] > 0


def test_asked_about_an_order_the_tool_answers_with_that_order_s_memories(rt):
    from graph.tools import SearchMemory, Tools

    for order, amount in ((1007, "14.00"), (1023, "27.00"), (1040, "60.00")):
        rt.memory.remember(
            f"customer:c{order}@example.com",
            "outcome",
            f"Refund of {amount} USD on order {order} succeeded (reason: arrived broken).",
        )
    tools = Tools(rt, "maria", "chat", "what do you remember about order 1007?")

    about = tools.search_memory(SearchMemory(query="order 1007"))
    assert [h["subject"] for h in about["hits"]] == ["customer:c1007@example.com"]
    assert about["not_shown"].startswith("2 other memories")

    broad = tools.search_memory(SearchMemory(query="refunds that arrived broken"))
    assert len(broad["hits"]) == 3 and "not_shown" not in broad
    said = offline(rt).turn("conv_o", "maria", "what do you remember about order 1007?").text
    assert "order 1007" in said and "order 1023" not in said
    assert "2 other memories found by meaning do not name what was asked about" in said
