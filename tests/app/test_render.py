"""The live event log tells a newcomer what to do when a run waits for them."""

from __future__ import annotations

from datetime import UTC, datetime

from app.render import event_line
from graph import Event


def event(kind: str, **data: object) -> Event:
    return Event(
        id=1,
        run_id="run_x",
        seq=1,
        at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        kind=kind,
        step="approval",
        actor="demo",
        data=data,
        cost_usd=0.0,
        duration_ms=None,
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def test_a_waiting_approval_shows_the_command_that_decides_it():
    line = event_line(
        event("approval.requested", approval_id="apv_1", what="Refund 118.00 USD on order #1001")
    )
    assert "Refund 118.00 USD on order #1001 waits for a person" in line
    assert "keel approve apv_1 --as USER" in line


def test_other_events_show_their_key_fact():
    assert event_line(event("approval.decided", decision="approved")).endswith("decision=approved")
