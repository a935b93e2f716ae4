"""How the terminal app's dashboard holds up as the run store grows: time to first paint,
to refresh, and to scroll, at 100, 1,000 and 10,000 runs, headless (Textual's `run_test`),
side by side in one run with the obvious alternative: a plain `DataTable` that loads every
run on mount and clears and re-adds them all on each refresh.

Keel's dashboard shows one page of runs (the store pages, sorts and counts in SQL) and
loads it in a worker thread; its table updates rows in place. So its first paint and
refresh should not grow with the store, while the plain table's grow with every run.
Scrolling is measured as a page-down key within the table for both, and, for Keel, as a
move to the next page (a load from the store).

Runs are written straight into a fresh run store (succeeded, failed, waiting with an open
approval, running), a few changing status before every refresh so no refresh is a no-op.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable

from connectors import MailConnector, ShopConnector
from connectors.offline import OfflineModel
from graph import ApprovalRequest, ManualClock, RunStatus, Runtime, Services, load_policy
from graph.assistant import Assistant
from graph.router import Router
from tui import Desk, KeelApp
from tui.dashboard import PAGE, DashboardScreen
from tui.pane import Pane
from tui.widgets import KeyedTable

from .sections import run_sections
from .timing import Table, stopwatch, times

SECTIONS = ("100", "1k", "10k")
SIZES = {"100": 100, "1k": 1_000, "10k": 10_000}
ROOT = Path(__file__).resolve().parents[1]
SCREEN = (160, 48)
COLUMNS = ("id", "workflow", "status", "step", "summary", "age", "cost", "requested by")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANGED = 5
"""Runs whose status moves before each refresh."""


@dataclass(frozen=True)
class Reps:
    launches: int
    refreshes: int
    scrolls: int


DEFAULT = Reps(launches=3, refreshes=15, scrolls=20)
QUICK = Reps(launches=2, refreshes=5, scrolls=8)


def run(*, quick: bool, tmp: Path, sections: set[str]) -> tuple[dict[str, Any], bool]:
    """Run the chosen sections, print their tables, and return (results, every section clean)."""
    reps = QUICK if quick else DEFAULT
    results: dict[str, Any] = {"reps": reps.__dict__, "screen": SCREEN, "page": PAGE}
    clean = run_sections({name: (lambda scratch, n=n: _size(n, reps, scratch))
                          for name, n in SIZES.items()}, sections, tmp, results)
    results["ratios"] = _ratios(results)
    _print(results)
    return results, clean


# --- the store ---------------------------------------------------------------------------------


def _runtime(home: Path, clock: ManualClock) -> Runtime:
    """A runtime over a fresh store. Its connectors point nowhere: the dashboard never
    calls them."""
    services = Services(shop=ShopConnector.connect("http://127.0.0.1:9", "unused"),
                        mail=MailConnector("127.0.0.1", 9, "Keel <keel@example.com>"))
    runtime = Runtime.open(home, services=services, policy=load_policy(ROOT / "policy.toml"),
                           clock=clock)
    runtime.router = Router(store=runtime.store, clock=clock, models=runtime.policy.models,
                            offline=OfflineModel())
    return runtime


def _seed(runtime: Runtime, clock: ManualClock, n: int) -> list[str]:
    """`n` refund runs a minute apart, in one transaction; their ids, oldest first. One in
    twenty waits for approval, one in fifty failed, the newest few are running."""
    store, ids = runtime.store, []
    with store.tx():
        for i in range(n):
            clock.advance(timedelta(minutes=1))
            run_id = f"run_{i:026d}"
            amount = Decimal(20 + (i * 37) % 400)
            store.create_run(run_id, "refund", 1, {
                "order_id": 1001 + i % 48, "amount": str(amount), "reason": f"bench {i}",
                "customer": f"customer{i % 300}@example.com"}, "sam", "cli")
            store.append_event(run_id, "step.finished", step="lookup", duration_ms=40)
            if i % 20 == 7:
                store.set_run(run_id, status=RunStatus.WAITING, step="approval")
                request = ApprovalRequest(
                    workflow="refund", what=f"Refund {amount} USD", why="bench",
                    amount=amount, risk="high", approver_roles=["manager"], requested_by="sam")
                store.ensure_approval(run_id, "approval:bench", 1, request,
                                      clock.now() + timedelta(hours=4))
            elif i >= n - 3:
                store.set_run(run_id, status=RunStatus.RUNNING, step="refund")
            elif i % 50 == 13:
                store.finish_run(run_id, RunStatus.FAILED, {}, error="the store answered 503")
            else:
                store.finish_run(run_id, RunStatus.SUCCEEDED, {"refund": {"ok": True}})
            ids.append(run_id)
    return ids


def _churn(runtime: Runtime, ids: list[str], round_: int) -> None:
    """Move a few of the newest runs' status, so a refresh has something to show."""
    for j in range(CHANGED):
        run_id = ids[-1 - (round_ * CHANGED + j) % min(len(ids), 50)]
        step = f"step {round_}"
        runtime.store.set_run(run_id, step=step, status=RunStatus.RUNNING if round_ % 2
                              else RunStatus.QUEUED)


# --- the two apps ------------------------------------------------------------------------------


class PlainTable(App[None]):
    """The obvious dashboard: every run in one DataTable, loaded on the event loop,
    cleared and re-added on refresh."""

    CSS: ClassVar[str] = "DataTable { height: 1fr; }"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.reload()
        table.focus()

    def reload(self) -> None:
        table = self.query_one(DataTable)
        now = self.runtime.clock.now()
        rows = [(r.id[-8:], r.workflow, str(r.status), r.step or "-",
                 f"order {r.input.get('order_id')} {r.input.get('amount')}",
                 f"{(now - r.created_at).total_seconds() / 60:.0f}m", f"{r.cost_usd:.2f}",
                 r.requested_by)
                for r in self.runtime.store.runs(limit=1_000_000)]
        table.clear()
        table.add_rows(rows)


async def _until(pilot: Pilot[Any], ready: Callable[[], bool], *, limit: float = 120) -> None:
    elapsed = stopwatch()
    while not ready():
        if elapsed() > limit:
            raise TimeoutError("the screen never got there")
        await pilot.pause(0.001)


def _dashboard(app: App[Any]) -> DashboardScreen | None:
    screen = app.screen
    return screen if isinstance(screen, DashboardScreen) else None


def _idle(app: App[Any]) -> bool:
    screen = app.screen
    return (not any(w.is_running for w in app.workers)
            and (not isinstance(screen, Pane) or screen.idle))


Measure = Callable[[Pilot[Any]], Awaitable[None]]


async def _page_key(pilot: Pilot[Any], table: DataTable[Any]) -> None:
    """Page down (page up once at the bottom, until the top) and wait for the cursor."""
    before = table.cursor_row
    going_up = getattr(table, "_bench_up", False)
    if before == 0:
        going_up = False
    elif before >= table.row_count - 1:
        going_up = True
    table._bench_up = going_up  # type: ignore[attr-defined]
    await pilot.press("pageup" if going_up else "pagedown")
    await _until(pilot, lambda: table.cursor_row != before)


async def _timed(make: Callable[[], App[Any]], launches: int, first: Measure,
                 steps: dict[str, tuple[int, Measure]]) -> dict[str, Any]:
    """Milliseconds from launch to `first`, over `launches` launches of a new app (the
    median; the first launch of a process also pays for imports and style parsing), then,
    in the last launch, each step's milliseconds, repeated."""
    out: dict[str, Any] = {}
    paints = []
    for launch in range(launches):
        elapsed = stopwatch()
        async with make().run_test(size=SCREEN) as pilot:
            await first(pilot)
            paints.append(elapsed() * 1000)
            if launch < launches - 1:
                continue
            for name, (count, step) in steps.items():
                taken = []
                for _ in range(count):
                    started = stopwatch()
                    await step(pilot)
                    taken.append(started() * 1000)
                out[name] = _summary(taken)
    out["first_paint_ms"] = _summary(paints)
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50": statistics.median(ordered),
            "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "n": len(ordered)}


async def _measure_keel(runtime: Runtime, ids: list[str], reps: Reps) -> dict[str, Any]:
    desks: list[Desk] = []
    rounds = iter(range(1, 10**6))

    def make() -> KeelApp:
        desks.append(Desk(runtime, user="maria",
                          assistant=Assistant(runtime, runtime.router)))  # type: ignore[arg-type]
        return KeelApp(desks[-1], refresh_every=0)

    def table(app: App[Any]) -> KeyedTable | None:
        screen = _dashboard(app)
        return screen.query_one("#runs", KeyedTable) if screen is not None else None

    def painted(app: App[Any]) -> bool:
        found = table(app)
        return found is not None and found.row_count > 0 and _idle(app)

    async def first(pilot: Pilot[Any]) -> None:
        await _until(pilot, lambda: painted(pilot.app))

    async def refresh(pilot: Pilot[Any]) -> None:
        _churn(runtime, ids, next(rounds))
        screen = _dashboard(pilot.app)
        assert screen is not None
        screen.reload()
        await _until(pilot, lambda: _idle(pilot.app))

    async def pagedown(pilot: Pilot[Any]) -> None:
        found = table(pilot.app)
        assert found is not None
        await _page_key(pilot, found)

    async def next_page(pilot: Pilot[Any]) -> None:
        screen, found = _dashboard(pilot.app), table(pilot.app)
        assert screen is not None and found is not None
        before = found.keys[:1]
        last = screen.filter.offset + PAGE >= len(ids)
        await pilot.press("left_square_bracket" if last else "right_square_bracket")
        await _until(pilot, lambda: _idle(pilot.app) and found.keys[:1] != before)

    steps: dict[str, tuple[int, Measure]] = {
        "refresh_ms": (reps.refreshes, refresh), "pagedown_ms": (reps.scrolls, pagedown)}
    if len(ids) > PAGE:
        steps["next_page_ms"] = (reps.scrolls, next_page)
    try:
        return await _timed(make, reps.launches, first, steps)
    finally:
        for desk in desks:
            desk.close()


async def _measure_plain(runtime: Runtime, ids: list[str], reps: Reps) -> dict[str, Any]:
    rounds = iter(range(1, 10**6))

    async def first(pilot: Pilot[Any]) -> None:
        await _until(pilot, lambda: pilot.app.query_one(DataTable).row_count == len(ids))
        await pilot.pause()  # the rows drawn

    async def refresh(pilot: Pilot[Any]) -> None:
        _churn(runtime, ids, next(rounds))
        pilot.app.reload()  # type: ignore[attr-defined]
        await pilot.pause()

    async def pagedown(pilot: Pilot[Any]) -> None:
        await _page_key(pilot, pilot.app.query_one(DataTable))

    return await _timed(lambda: PlainTable(runtime), reps.launches, first,
                        {"refresh_ms": (reps.refreshes, refresh),
                         "pagedown_ms": (reps.scrolls, pagedown)})


def _size(n: int, reps: Reps, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    clock = ManualClock(START)
    runtime = _runtime(tmp / "home", clock)
    try:
        seeding = stopwatch()
        ids = _seed(runtime, clock, n)
        seed_s = seeding()
        keel = asyncio.run(_measure_keel(runtime, ids, reps))
        plain = asyncio.run(_measure_plain(runtime, ids, reps))
    finally:
        runtime.close()
        runtime.services.close()
    return {"runs": n, "seed_s": seed_s, "keel": keel, "plain": plain}


# --- reporting ---------------------------------------------------------------------------------


MEASURES = (("first_paint_ms", "first paint"), ("refresh_ms", "refresh"),
            ("pagedown_ms", "page-down key"), ("next_page_ms", "next page (a load)"))


def _p50(side: dict[str, Any], key: str) -> float | None:
    value = side.get(key)
    return value["p50"] if value else None


def _ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per size: the plain table's time over Keel's (above 1, Keel is faster), at p50."""
    out: dict[str, dict[str, float]] = {}
    for name in SIZES:
        size = results.get(name)
        if not isinstance(size, dict) or "keel" not in size:
            continue
        out[name] = {key: plain / keel for key, _ in MEASURES
                     if (keel := _p50(size["keel"], key)) and (plain := _p50(size["plain"], key))}
    return out


def _cell(side: dict[str, Any], key: str) -> str:
    value = side.get(key)
    if value is None:
        return "-"
    return f"{value['p50']:,.1f} / {value['p95']:,.1f}"


def _print(results: dict[str, Any]) -> None:
    table = Table(f"Dashboard, headless at {SCREEN[0]}x{SCREEN[1]}: Keel (one page of {PAGE},"
                  " loaded in a worker, rows updated in place) vs a plain DataTable of every run",
                  ["runs / measure (ms; p50 / p95)", "keel", "plain table", "plain / keel"])
    for name in SIZES:
        size = results.get(name)
        if not isinstance(size, dict) or "keel" not in size:
            continue
        for key, label in MEASURES:
            ratio = results["ratios"].get(name, {}).get(key)
            table.add(f"{size['runs']:,} runs: {label}", _cell(size["keel"], key),
                      _cell(size["plain"], key), times(ratio) if ratio else "-")
    table.notes.append(f"first paint over {results['reps']['launches']} launches; refresh"
                       f" {results['reps']['refreshes']}x"
                       f" with {CHANGED} runs changed before each, keys"
                       f" {results['reps']['scrolls']}x")
    print(table.render() + "\n")
