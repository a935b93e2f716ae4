"""The terminal app driven by Textual's pilot over a real runtime and the sandbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from graph import ApprovalStatus, RunStatus, Runtime, Services, Worker
from tui import KeelApp
from tui.dialogs import ReasonDialog, RefundDialog
from tui.widgets import KeyedTable

from ..support import claude, orders
from .conftest import MakeDesk, app_for, settle

pytestmark = pytest.mark.anyio


class Notes:
    """Every notification the app shows, as (text, severity)."""

    def __init__(self, app: KeelApp) -> None:
        self.seen: list[tuple[str, str]] = []
        shown = app.notify

        def notify(message: str, *args: Any, severity: str = "information", **kw: Any) -> None:
            self.seen.append((str(message), severity))
            shown(message, *args, severity=severity, **kw)  # type: ignore[arg-type]

        app.notify = notify  # type: ignore[method-assign]

    @property
    def errors(self) -> list[str]:
        return [text for text, severity in self.seen if severity == "error"]


def status_of(app: KeelApp, run_id: str) -> str:
    table = app.screen.query_one("#runs", KeyedTable)
    return table.get_row(run_id)[2].plain


def refund(
    runtime: Runtime,
    services: Services,
    *,
    over: str | None = None,
    under: str | None = None,
    by: str = "sam",
) -> str:
    order = orders(services.shop, over=over, under=under)[0]
    return runtime.start("refund", {"order_id": order.id, "reason": "arrived broken"}, by).id


@pytest.fixture
def big(tui_runtime: Runtime, services: Services) -> str:
    """A refund over the threshold, waiting for approval."""
    run_id = refund(tui_runtime, services, over="100", under="250")
    assert tui_runtime.get(run_id).run.status is RunStatus.WAITING
    return run_id


async def test_the_dashboard_shows_runs_started_through_the_runtime(
    tui_runtime: Runtime,
    services: Services,
    make_desk: MakeDesk,
    big: str,
) -> None:
    small = refund(tui_runtime, services, under="100")
    app = app_for(make_desk("maria"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#runs", KeyedTable)
        assert table.keys == [small, big]  # newest first
        assert status_of(app, small) == "✓ succeeded"
        assert status_of(app, big) == "⏸ waiting"
        assert table.get_row(big)[7].plain == "you · support +2"  # maria may decide it


async def test_approving_from_the_queue_resumes_the_run(
    tui_runtime: Runtime,
    make_desk: MakeDesk,
    big: str,
) -> None:
    app = app_for(make_desk("maria"))
    notes = Notes(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        queue = app.screen.query_one("#queue", KeyedTable)
        [approval_id] = queue.keys
        await pilot.press("a")
        await settle(pilot)
        assert queue.keys == []
        assert notes.seen[-1] == (f"Approved {approval_id}; the run is succeeded", "information")
        await pilot.press("1")
        await settle(pilot)
        assert status_of(app, big) == "✓ succeeded"
    assert tui_runtime.get(big).run.status is RunStatus.SUCCEEDED


async def test_a_rejection_needs_a_reason(
    tui_runtime: Runtime,
    make_desk: MakeDesk,
    big: str,
) -> None:
    app = app_for(make_desk("maria"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReasonDialog)
        await pilot.press("enter")  # no reason
        await settle(pilot)
        assert isinstance(app.screen, ReasonDialog), "an empty reason is refused"
        assert "at least 3 characters" in str(app.screen.query_one("#reason-error").render())
        await pilot.press(*"no", "enter")  # too short
        await settle(pilot)
        assert isinstance(app.screen, ReasonDialog)
        await pilot.press(*" receipt", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, ReasonDialog)
    detail = tui_runtime.get(big)
    assert detail.run.status is RunStatus.REJECTED
    assert (detail.approvals[0].decided_by, detail.approvals[0].reason) == ("maria", "no receipt")


async def test_chat_starts_a_refund_with_the_offline_model(
    tui_runtime: Runtime,
    services: Services,
    make_desk: MakeDesk,
) -> None:
    order = orders(services.shop, under="100")[0]
    app = app_for(make_desk("sam"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        assert app.screen.query_one("#chat-offline").display, "offline is said up front"
        app.screen.query_one(
            "#chat-input", Input
        ).value = f"refund order {order.id} because it arrived broken"
        await pilot.press("enter")
        await settle(pilot)
        said = [str(m.render()) for m in app.screen.query(".message")]
        assert said[0].endswith(f"refund order {order.id} because it arrived broken")
        assert "[offline model] Started the refund run run_" in said[1]
        [run] = tui_runtime.runs()
        assert (run.requested_by, run.status, run.input["order_id"]) == (
            "sam",
            RunStatus.SUCCEEDED,
            order.id,
        )
        await pilot.press("escape", "1")
        await settle(pilot)
        assert status_of(app, run.id) == "✓ succeeded"
    # The conversation is kept: a new app over a new desk shows it again.
    again = app_for(make_desk("sam"))
    async with again.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        await settle(pilot)
        assert len(again.screen.query(".message")) == 2


async def test_a_claude_reply_is_shown_as_it_is_written_then_whole(
    tui_runtime: Runtime,
    make_desk: MakeDesk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fakes import Answer, MessagesAPI
    from tui.chat import ChatScreen

    said = "Two refunds wait on you: order 1009 for 244.00 and order 1043 for 131.00."
    drafts: list[str] = []
    writing = ChatScreen._writing

    def watched(screen: ChatScreen, so_far: str) -> None:
        writing(screen, so_far)  # the real thing, then what it put on the screen
        drafts.append(str(screen.query_one("#chat-draft").render()))

    monkeypatch.setattr(ChatScreen, "_writing", watched)
    with MessagesAPI(Answer(text=said)) as fake:
        tui_runtime.router = claude(tui_runtime, fake).router  # the desk's assistant uses it
        app = app_for(make_desk("maria"))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("3")
            await settle(pilot)
            app.screen.query_one("#chat-input", Input).value = "what waits on me?"
            await pilot.press("enter")
            await settle(pilot)
            shown = [str(m.render()) for m in app.screen.query(".message")]
            assert not app.screen.query("#chat-draft")  # the answer replaced the draft
    assert len(drafts) >= 3 and all(d.endswith("▍") for d in drafts)
    parts = [d.split("\n", 1)[1].removesuffix(" ▍") for d in drafts]
    assert all(said.startswith(part) for part in parts) and parts == sorted(parts, key=len)
    assert shown[-1].endswith(said) and "[offline model]" not in shown[-1]


async def test_someone_without_a_role_is_told_why_and_nothing_changes(
    tui_runtime: Runtime,
    make_desk: MakeDesk,
    big: str,
) -> None:
    app = app_for(make_desk("cleo"))
    notes = Notes(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        queue = app.screen.query_one("#queue", KeyedTable)
        assert queue.keys == [], "nothing waits on cleo"
        await pilot.press("m")  # every pending approval
        await settle(pilot)
        [approval_id] = queue.keys
        await pilot.press("a")
        await settle(pilot)
        assert notes.errors == [
            "Not authorised: cleo has no role in policy that may approve anything"
        ]
    approval = tui_runtime.store.approval(approval_id)
    assert approval is not None and approval.status is ApprovalStatus.PENDING
    refused = tui_runtime.store.events(big, kinds=["approval.refused"])
    assert [(e.actor, e.data["approval_id"]) for e in refused] == [("cleo", approval_id)]


async def test_a_decision_someone_made_first_says_who_and_when(
    tui_runtime: Runtime,
    make_desk: MakeDesk,
    big: str,
) -> None:
    app = app_for(make_desk("olivia"))
    notes = Notes(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the run, with its pending approval
        await settle(pilot)
        approval_id = tui_runtime.get(big).pending.id  # type: ignore[union-attr]
        tui_runtime.decide(approval_id, "approve", "maria")  # in Slack, say, meanwhile
        await pilot.press("a")
        await settle(pilot)
        assert notes.errors == ["Already approved by maria at 2026-01-05 09:00 UTC"]


async def test_an_attached_desk_decides_through_the_servers_inbox(
    tui_runtime: Runtime,
    make_desk: MakeDesk,
    big: str,
) -> None:
    stop = threading.Event()
    server = threading.Thread(
        target=Worker(tui_runtime, poll=0.02, tick_every=None).serve, args=(stop,), daemon=True
    )
    server.start()
    app = app_for(make_desk("maria", attached=True))
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            assert (
                str(app.screen.query_one("#runs-mode").render()) == "attached to a running server"
            )
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
    finally:
        stop.set()
        server.join(timeout=10)
    item = tui_runtime.store.inbox_item(1)
    assert item is not None
    assert (item.kind, item.actor, item.status) == ("decide", "maria", "done")
    assert tui_runtime.get(big).run.status is RunStatus.SUCCEEDED


async def test_starting_a_refund_from_the_dialog(
    tui_runtime: Runtime,
    services: Services,
    make_desk: MakeDesk,
) -> None:
    order = orders(services.shop, under="100")[0]
    app = app_for(make_desk("sam"))
    notes = Notes(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, RefundDialog)
        await pilot.press(*str(order.id), "tab", *"torn box", "enter")
        await settle(pilot)
        [run] = tui_runtime.runs()
        assert (run.origin, run.status, run.input["reason"]) == (
            "tui",
            RunStatus.SUCCEEDED,
            "torn box",
        )
        assert notes.seen[-1] == (f"Started {run.id}: succeeded", "information")
        assert status_of(app, run.id) == "✓ succeeded"


async def test_the_palette_offers_keel_actions_and_the_theme_switches(
    make_desk: MakeDesk,
) -> None:
    app = app_for(make_desk("maria"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.theme == "keel-dark"
        await pilot.press("t")
        assert app.theme == "keel-light"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"start a refund")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RefundDialog)
        await pilot.press("escape")
        await pilot.press("question_mark")
        await settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen"


async def test_a_failing_desk_is_one_notification_and_the_app_goes_on(
    make_desk: MakeDesk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desk = make_desk("maria")

    def broken(**_: Any) -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(desk, "runs", broken)
    app = app_for(desk)
    notes = Notes(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.action_refresh()  # the same failure again is not told twice
        await settle(pilot)
        assert notes.errors == ["Loading runs failed: OSError: disk I/O error"]
        await pilot.press("2")
        await settle(pilot)
        assert app.is_running and type(app.screen).__name__ == "ApprovalsScreen"


class FakeSchedules:
    def __init__(self) -> None:
        from tui import JobInfo

        from .conftest import START

        self.ran: list[str] = []
        self.infos = [
            JobInfo(
                "escalations",
                "Escalations, reminders and expiry",
                "interval[0:00:15]",
                START,
                START,
                "nothing due",
            )
        ]

    def jobs(self) -> list[Any]:
        return self.infos

    def run_now(self, job_id: str) -> None:
        self.ran.append(job_id)


@pytest.fixture
def schedules() -> Iterator[FakeSchedules]:
    yield FakeSchedules()


async def test_schedules_list_jobs_and_run_one_now(
    make_desk: MakeDesk,
    schedules: FakeSchedules,
) -> None:
    app = app_for(make_desk("maria", schedules=schedules))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.query_one("#jobs", KeyedTable)
        assert [c.plain for c in table.get_row("escalations")] == [
            "Escalations, reminders and expiry",
            "interval[0:00:15]",
            "2026-01-05 09:00",
            "2026-01-05 09:00",
            "nothing due",
        ]
        await pilot.press("n")
        await settle(pilot)
    assert schedules.ran == ["escalations"]


async def test_memory_says_it_is_not_configured(make_desk: MakeDesk) -> None:
    app = app_for(make_desk("maria"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        assert "Memory is not configured" in str(app.screen.query_one("#memory-note").render())
        assert app.screen.query_one("#memory-query", Input).disabled


async def test_memory_search_shows_what_was_found_and_how(
    make_desk: MakeDesk,
    tmp_path: Path,
) -> None:
    from app.terminal import MemorySearch
    from memory import HashingEmbedder, MemoryStore

    with MemoryStore(tmp_path / "memory.db", HashingEmbedder()) as memory:
        memory.remember(
            "customer:ada@example.com",
            "outcome",
            "Refund of 84.00 USD on order 1042 succeeded (reason: lid cracked).",
        )
        memory.remember("customer:bob@example.com", "ticket", "Asked about teapot sizes.")
        app = app_for(make_desk("maria", memory=MemorySearch(memory)))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("5")
            await settle(pilot)
            query = app.screen.query_one("#memory-query", Input)
            assert not query.disabled and query.has_focus
            await pilot.press(*"order 1042", "enter")
            await settle(pilot)
            note = str(app.screen.query_one("#memory-note").render())
            hits = [str(w.render()) for w in app.screen.query(".memory-hit")]
            assert note == "1 found for “order 1042”, best first"
            assert hits[0].startswith("[outcome · customer:ada@example.com · ")
            assert "words" in hits[0] and "order 1042 succeeded" in hits[0]
            query.value = ""
            await pilot.press(*"zzqx", "enter")
            await settle(pilot)
            assert "Nothing found" in str(app.screen.query_one("#memory-note").render())


async def test_the_table_filters_sorts_and_updates_in_place(
    seeded: Runtime,
    make_desk: MakeDesk,
) -> None:
    app = app_for(make_desk("maria"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#runs", KeyedTable)
        newest_first = table.keys
        await pilot.press("down")
        watched = table.selected_key
        # A run moves on elsewhere: its cells change, the cursor stays on the same run.
        queued = newest_first[0]
        seeded.store.finish_run(queued, RunStatus.SUCCEEDED, {})
        app.action_refresh()
        await settle(pilot)
        assert table.keys == newest_first and table.selected_key == watched
        assert status_of(app, queued) == "✓ succeeded"

        waiting = [k for k in newest_first if status_of(app, k) == "⏸ waiting"]
        await pilot.press("slash", *"status:waiting", "enter")
        await settle(pilot)
        assert table.keys == waiting and len(waiting) == 2
        app.screen.query_one("#filter", Input).value = ""
        await pilot.press("slash", "enter")
        await settle(pilot)
        assert table.keys == newest_first
        await pilot.press("o")  # by id, oldest first
        await settle(pilot)
        assert table.keys == sorted(newest_first)
        await pilot.press("O")  # reversed
        await settle(pilot)
        assert table.keys == sorted(newest_first, reverse=True)
        assert "sorted by id ↓" in str(app.screen.query_one("#runs-page").render())


async def test_pages_of_runs(tui_runtime: Runtime, make_desk: MakeDesk) -> None:
    for n in range(130):
        tui_runtime.store.create_run(f"run_{n:026d}", "refund", 1, {"order_id": n}, "sam", "cli")
    app = app_for(make_desk("maria"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        page = app.screen.query_one("#runs-page")
        assert str(page.render()).startswith("runs 1–100 of 130")
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert str(page.render()).startswith("runs 101–130 of 130")
        assert len(app.screen.query_one("#runs", KeyedTable).keys) == 30
        await pilot.press("right_square_bracket")  # no page after the last
        await settle(pilot)
        assert str(page.render()).startswith("runs 101–130 of 130")
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert str(page.render()).startswith("runs 1–100 of 130")


async def test_live_refresh_keeps_up_with_runs_started_elsewhere(
    tui_runtime: Runtime,
    services: Services,
    make_desk: MakeDesk,
) -> None:
    """The refresh timer on, runs starting in another thread: no error, every run shown."""
    started: list[str] = []
    small = orders(services.shop, under="100")[:6]

    def shop() -> None:
        for order in small:
            started.append(
                tui_runtime.start(
                    "refund", {"order_id": order.id, "reason": "arrived broken"}, "sam"
                ).id
            )

    app = KeelApp(make_desk("maria"), refresh_every=0.05)
    notes = Notes(app)
    async with app.run_test(size=(120, 36)) as pilot:
        worker = threading.Thread(target=shop)
        worker.start()
        while worker.is_alive():
            await pilot.pause(0.05)
        worker.join()
        table = app.screen.query_one("#runs", KeyedTable)
        for _ in range(600):  # the timer shows them within a few ticks (more on a busy box)
            if table.keys == started[::-1] and {status_of(app, r) for r in started} == {
                "✓ succeeded"
            }:
                break
            await pilot.pause(0.05)
        assert table.keys == started[::-1]
        assert {status_of(app, run_id) for run_id in started} == {"✓ succeeded"}
    assert notes.errors == []
