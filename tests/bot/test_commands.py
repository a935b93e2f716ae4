"""`/keel` words into commands: what a person types, and the usage shown when it says nothing."""

from __future__ import annotations

import pytest

from bot.commands import Usage, parse


@pytest.mark.parametrize(
    ("text", "workflow", "data"),
    [
        ("start refund 1001 lid missing", "refund", {"order_id": 1001, "reason": "lid missing"}),
        (
            "start refund #1001 $25.50 late",
            "refund",
            {"order_id": 1001, "amount": "25.50", "reason": "late"},
        ),
        (
            'start Refund 7 "arrived, broken"',
            "refund",
            {"order_id": 7, "reason": "arrived, broken"},
        ),
        ("start refund order_id=5 reason=late", "refund", {"order_id": "5", "reason": "late"}),
    ],
)
def test_start_reads_a_refund_in_plain_words_or_key_values(text, workflow, data) -> None:
    command = parse(text)
    assert (command.verb, command.workflow, command.data) == ("start", workflow, data)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("start", "Usage"),
        ("start refund", "order number"),
        ("start refund abc late", "order number"),
        ("start refund 1001", "reason"),
        ("start refund 1001 20.00", "reason"),
        ("start payroll everyone", "Usage"),
        ("status", "/keel status RUN"),
        ("status a b", "/keel status RUN"),
        ('start refund 1 "unclosed', "could not read"),
    ],
)
def test_what_cannot_be_read_says_how_to_say_it(text: str, says: str) -> None:
    with pytest.raises(Usage, match=says):
        parse(text)


def test_empty_is_help_and_other_verbs_pass_through() -> None:
    assert parse("").verb == "help" and parse("  ").verb == "help"
    assert parse("status run_01").run_id == "run_01"
    assert parse("PENDING").verb == "pending"
    assert parse("dance").verb == "dance"
