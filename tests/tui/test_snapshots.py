"""The main screens as pictures, over the seeded shop (fixed ids, fixed clock).

Update after a deliberate change: `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from graph import Runtime

from .conftest import MakeDesk, app_for, settle

SIZE = (120, 36)


def keys(*pressed: str) -> Callable[[Pilot], Awaitable[None]]:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False

    return run_before


@pytest.fixture
def snap(snap_compare, seeded: Runtime, make_desk: MakeDesk):  # type: ignore[no-untyped-def]
    def take(*pressed: str) -> bool:
        return snap_compare(
            app_for(make_desk("maria")), terminal_size=SIZE, run_before=keys(*pressed)
        )

    return take


def test_dashboard(snap) -> None:  # type: ignore[no-untyped-def]
    assert snap()


def test_dashboard_in_the_light_theme(snap) -> None:  # type: ignore[no-untyped-def]
    assert snap("t")


def test_run_detail_waiting_on_an_escalated_approval(snap) -> None:  # type: ignore[no-untyped-def]
    assert snap("down", "down", "enter")


def test_run_detail_provenance(snap) -> None:  # type: ignore[no-untyped-def]
    assert snap(
        "down",
        "down",
        "down",
        "enter",
        "right_square_bracket",
        "right_square_bracket",
        "right_square_bracket",
    )


def test_approvals(snap) -> None:  # type: ignore[no-untyped-def]
    assert snap("2")


def test_chat(snap) -> None:  # type: ignore[no-untyped-def]
    assert snap("3")
