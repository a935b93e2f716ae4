"""Summaries and profiles: extractive summaries keep the facts, a model's summary is used
when it answers and labelled, profiles are pure functions of the history."""

from __future__ import annotations

from decimal import Decimal

from memory.profiles import RefundFact, creator_style, customer_profile, sentiment
from memory.summarise import Summariser, extractive

HISTORY = [
    "maria: Hi, we need to look at order 1042 again.",
    "Keel: Order 1042 was refunded 84.00 USD on Monday.",
    "maria: The customer says the kettle lid is still cracked.",
    "Keel: Noted.",
    "maria: ok",
    "maria: Please also remember that our shop closes on Sundays.",
    "Keel: I will keep that in mind.",
]


def test_an_extractive_summary_keeps_the_facts_within_its_allowance():
    text = extractive(HISTORY, max_chars=160)
    assert len(text) <= 160
    assert "1042" in text  # identifiers carry weight
    assert "ok" not in text.split()  # a one-word message is not a sentence worth keeping
    # with room for everything, every sentence is kept in its original order
    assert extractive(HISTORY, max_chars=10_000) == " ".join(HISTORY)
    assert extractive(HISTORY + HISTORY[:2], max_chars=10_000) == " ".join(HISTORY)  # no repeats


def test_a_model_summary_is_used_and_named_and_a_failing_model_falls_back():
    by_model = Summariser(
        lambda text: ("Order 1042 refunded; lid cracked.", "claude-haiku-5-5")
    ).summarise(HISTORY)
    assert (by_model.text, by_model.by) == ("Order 1042 refunded; lid cracked.", "claude-haiku-5-5")

    def broken(_text: str) -> str:
        raise RuntimeError("overloaded")

    fallback = Summariser(broken).summarise(HISTORY)
    assert fallback.by == "extractive" and "1042" in fallback.text
    assert Summariser().summarise([]).text == ""


def test_sentiment_reads_negation():
    assert sentiment("the kettle arrived broken and the lid cracked") < 0
    assert sentiment("thanks, great service") > 0
    assert sentiment("not happy at all") < 0
    assert sentiment("order 1042") == 0.0


def test_a_customer_profile_is_a_function_of_the_history():
    facts = [
        RefundFact(1042, "succeeded", Decimal("84.00"), "arrived broken", "2026-03-01T10:00:00"),
        RefundFact(1043, "rejected", Decimal("400.00"), "changed my mind", "2026-03-05T10:00:00"),
        RefundFact(1044, "succeeded", Decimal("12.50"), "late delivery", "2026-03-02T10:00:00"),
    ]
    profile = customer_profile("Ada <ada@example.com>", facts, ["thanks for the quick help"])
    assert profile.orders == [1042, 1043, 1044]
    assert profile.refunded == "96.50"  # the rejected one did not go out
    assert profile.refund_statuses == {"succeeded": 2, "rejected": 1}
    assert profile.last_seen == "2026-03-05T10:00:00"
    assert profile.recent_reasons == ["arrived broken", "late delivery", "changed my mind"]
    assert "3 refund(s)" in profile.line() and "96.50 USD" in profile.line()
    assert (
        customer_profile("Ada <ada@example.com>", reversed(facts), ["thanks for the quick help"])
        == profile
    )


def test_a_creator_style_describes_length_rhythm_and_vocabulary():
    pieces = [
        (
            "Brewing tea is a ritual. Do you warm the pot first? You should! Loose leaf oolong"
            " rewards patience."
        ),
        "Oolong again, because you asked. Rinse the leaves. Steep short, steep often.",
    ]
    style = creator_style("creator:ines", pieces, tags=["tea", "oolong", "tea"])
    assert style.pieces == 2 and style.words_per_piece > 10
    assert style.questions_per_100_sentences > 0 and style.exclamations_per_100_sentences > 0
    assert style.signature_terms[0] == "oolong"  # used in both pieces
    assert style.tags == ["tea", "oolong"]
    assert style.second_person_rate > 0.02 and "often addressing" in style.line()
