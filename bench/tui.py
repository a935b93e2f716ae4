"""How the terminal app's dashboard holds up as the run store grows: the time to first paint,
to refresh and to scroll, at 100, 1,000 and 10,000 runs, headless (Textual's `run_test`),
side by side in one run with the obvious way to build it: a plain `DataTable` holding every
run, loaded on the event loop when mounted and cleared and filled again on each refresh
(same store, same query, same columns and cells).

Keel's dashboard shows one page of runs (the store pages, sorts and counts in SQL), loads it
in a worker thread with the header's metrics, and updates its table's rows in place. So its
paint and refresh should stay flat as the store grows, where the naive table's grow with
every run; the price is a heavier screen (metrics, plots, filter, footer) and a thread hop.

What a number means: the wall time from the action (constructing the app; the app's
`refresh` action, which its timer calls; a key event) to the first frame composed with the
result on screen and the app done with it (its load shown, no worker running, and the
table's measuring, which `DataTable` defers to idle time, finished), or to the moment it is
done when that comes after its last frame. Headless, Textual still composes every frame
(renders each changed line of the screen); it only skips writing the escape codes to a
terminal. Frames are stamped by the app's `post_display_hook`.

Keys are posted to the app as the terminal driver does, not with `pilot.press`, which waits
for the whole process to go idle twice per key (at least 40 ms of sleeping, more than the
work measured here). Page-down goes into rows not drawn yet where there are any: the table
caches drawn rows, and going over them again is much cheaper. Between refreshes a few of
the newest runs change step and status, each with an event, so no refresh is a no-op (and
the header's metrics are recomputed at most every two seconds, as in use).

Runs are written straight into a fresh run store: succeeded, failed, waiting with an open
approval, a few running, a minute apart. Each size starts with a launch of each app not
counted, and with what the process held before the apps frozen out of the garbage
collector's way (`gc.freeze`), so its full collections, a hundred milliseconds each over
LangGraph and the rest, do not land at random on one app's numbers.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, ClassVar, cast

from textual import events
from textual.app import App, ComposeResult, ScreenStackError
from textual.css.query import NoMatches
from textual.widgets import DataTable

from connectors import MailConnector, ShopConnector
from connectors.offline import OfflineModel
from graph import ManualClock, RunStatus, Runtime, Services, load_policy
from graph.assistant import Assistant
from graph.router import Router
from memory import HashingEmbedder
from tui import Desk, KeelApp
from tui.dashboard import COLUMNS, PAGE, DashboardScreen
from tui.pane import Pane

from .sections import run_sections
from .seeding import refund_run, wait_for_a_manager
from .timing import Table, stopwatch, times

SECTIONS = ("100", "1k", "10k")
SIZES = {"100": 100, "1k": 1_000, "10k": 10_000}
ROOT = Path(__file__).resolve().parents[1]
SCREEN = (160, 48)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANGED = 5
"""Runs whose step and status move before each refresh."""
STEP = next(i for i, col in enumerate(COLUMNS) if col.key == "step")
POLL = 0.001
"""Seconds between looks at the app while an action is under way."""
TAIL = 0.04
"""Seconds to watch for frames after the app is done (Textual paints at most every 1/60 s)."""
WAIT = 120.0
"""Seconds an action may take before the bench gives up on it."""


@dataclass(frozen=True)
class Reps:
    launches: int
    """Launches of each app per size, each timed to its first paint, after one not timed."""
    refreshes: int
    keys: int
    """Page-down keys, and for Keel as many next-page keys."""


DEFAULT = Reps(launches=3, refreshes=15, keys=20)
QUICK = Reps(launches=3, refreshes=6, keys=8)


def run(*, quick: bool, tmp: Path, sections: set[str]) -> tuple[dict[str, Any], bool]:
    """Run the chosen sections, print their tables, and return (results, every section clean)."""
    reps = QUICK if quick else DEFAULT
    results: dict[str, Any] = {"reps": reps.__dict__, "screen": SCREEN, "page": PAGE}
    clean = run_sections(
        {name: (lambda scratch, n=n: _size(n, reps, scratch)) for name, n in SIZES.items()},
        sections,
        tmp,
        results,
    )
    results["ratios"] = _ratios(results)
    _print(results)
    return results, clean


# --- the store ---------------------------------------------------------------------------------


def _runtime(home: Path, clock: ManualClock) -> Runtime:
    """A runtime over a fresh store. Its connectors point nowhere: the dashboard never
    calls them."""
    services = Services(
        shop=ShopConnector.connect("http://127.0.0.1:9", "unused"),
        mail=MailConnector("127.0.0.1", 9, "Keel <keel@example.com>"),
    )
    runtime = Runtime.open(
        home, services=services, policy=load_policy(ROOT / "policy.toml"), clock=clock
    )
    runtime.router = Router(
        store=runtime.store,
        clock=clock,
        models=runtime.policy.models,
        offline=OfflineModel(HashingEmbedder()),
    )
    return runtime


def _seed(runtime: Runtime, clock: ManualClock, n: int) -> list[str]:
    """`n` refund runs a minute apart (real ids: the header's time window reads their time
    prefix), written in one transaction; their ids, oldest first. One in twenty waits for
    approval, one in fifty failed, the newest three are running, the rest succeeded."""
    store, ids = runtime.store, []
    with store.tx():
        for i in range(n):
            run_id, amount = refund_run(store, clock, i)
            store.append_event(
                run_id,
                "model.called",
                step="lookup",
                cost_usd=0.0031,
                data={"model": "claude-haiku-5-5"},
                duration_ms=950,
            )
            store.append_event(run_id, "step.finished", step="lookup", duration_ms=40)
            if i % 20 == 7:
                store.set_run(run_id, status=RunStatus.WAITING, step="approval")
                wait_for_a_manager(
                    store, run_id, amount, clock.now() + timedelta(hours=4), risk="high"
                )
            elif i >= n - 3:
                store.set_run(run_id, status=RunStatus.RUNNING, step="refund")
            elif i % 50 == 13:
                store.finish_run(run_id, RunStatus.FAILED, {}, error="the store answered 503")
            else:
                store.finish_run(run_id, RunStatus.SUCCEEDED, {"refund": {"ok": True}})
            ids.append(run_id)
    return ids


def _churn(runtime: Runtime, ids: list[str], round_: int) -> tuple[int, str]:
    """Move a few of the newest runs on a step, as a worker would; (the last one's row in a
    table of the newest first, the step it now shows)."""
    step = f"step {round_}"
    row = 0
    for j in range(CHANGED):
        row = (round_ * CHANGED + j) % min(len(ids), 50)
        run_id = ids[-1 - row]
        runtime.store.set_run(
            run_id, step=step, status=RunStatus.RUNNING if round_ % 2 else RunStatus.QUEUED
        )
        runtime.store.append_event(run_id, "step.started", step=step)
    return row, step


# --- the baseline ------------------------------------------------------------------------------


class _Cells:
    """Borrows the dashboard's own cell formatting for the baseline: it reads only the
    app's `tone`, so both tables hold the very same cells."""

    def __init__(self, app: App[Any]) -> None:
        self.keel = app


class NaiveDashboard(App[None]):
    """The obvious runs table: every run in one DataTable, read on the event loop when
    mounted and on refresh, cleared and filled again with `add_rows`."""

    CSS: ClassVar[str] = "DataTable { height: 1fr; }"

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self._cells = _Cells(self)

    def tone(self, name: str) -> str:
        return KeelApp.tone(cast(KeelApp, self), name)

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for col in COLUMNS:
            table.add_column(col.label, width=col.width, key=col.key)
        self.action_refresh()
        table.focus()

    def action_refresh(self) -> None:
        page = self.desk.runs(limit=1_000_000)  # the same query as Keel's, for every run
        now = self.desk.now()
        cells = cast(DashboardScreen, self._cells)
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows([DashboardScreen.cells(cells, row, now) for row in page.rows])


# --- watching an app ---------------------------------------------------------------------------


def _table(app: App[Any]) -> DataTable[Any] | None:
    """The runs table of the screen shown (Keel's dashboard, or the baseline's one)."""
    try:
        return app.screen.query(DataTable).first()
    except (NoMatches, ScreenStackError):  # not mounted yet
        return None


def _settled(table: DataTable[Any]) -> bool:
    """The table has done the measuring it defers to idle time (new rows, changed cells'
    widths). Textual has no public flag for it."""
    return not table._require_update_dimensions and not table._updated_cells


def _idle(app: App[Any]) -> bool:
    """No worker running and, on a Keel screen, no load under way or asked for."""
    screen = app.screen
    return not any(w.is_running for w in app.workers) and (
        not isinstance(screen, Pane) or screen.idle
    )


def _done(app: App[Any], shows: Callable[[DataTable[Any]], bool]) -> Callable[[], bool]:
    """True once the runs table shows what is wanted and the app has finished with it."""

    def done() -> bool:
        table = _table(app)
        return (
            table is not None
            and table.row_count > 0
            and shows(table)
            and _settled(table)
            and _idle(app)
        )

    return done


@dataclass(frozen=True)
class Sample:
    ms: float
    frames: int
    """Frames composed meanwhile."""
    sql_ms: float
    """Of which the Desk's reads (the runs query and the metrics), on whichever thread."""


class Watch:
    """One app's frames and Desk reads, and the timing of one action at a time: from the
    action to the first frame composed once `done()` holds (Textual composes a frame in one
    go, so that frame shows it all), or, when the app finishes with it after its last frame
    (a table measuring rows that change nothing on screen), to the moment it is done."""

    def __init__(self, app: App[Any], desk: Desk) -> None:
        self.elapsed = stopwatch()
        self.frames = 0
        self.first = 0.0
        """When the first frame was composed."""
        self.last = 0.0
        self.shown: float | None = None
        self.sql = 0.0
        self._done: Callable[[], bool] = lambda: False
        app.post_display_hook = self._frame  # type: ignore[method-assign]
        for name in ("runs", "metrics"):
            self._time(desk, name)

    def _frame(self) -> None:
        self.frames += 1
        self.last = self.elapsed()
        self.first = self.first or self.last
        if self.shown is None and self._done():
            self.shown = self.last

    def _time(self, desk: Desk, name: str) -> None:
        original = getattr(desk, name)

        @wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = stopwatch()
            try:
                return original(*args, **kwargs)
            finally:
                self.sql += started()

        setattr(desk, name, timed)

    def expect(self, done: Callable[[], bool], since: Callable[[], float] | None = None) -> None:
        """Start timing now (or keep `since`), towards `done`."""
        self.elapsed = since or stopwatch()
        self.frames, self.first, self.last, self.shown, self.sql = 0, 0.0, 0.0, None, 0.0
        self._done = done

    async def finish(self) -> Sample:
        """Wait for what was expected, and time it."""
        while not self._done():
            if self.elapsed() > WAIT:
                raise TimeoutError(f"the app was not done after {WAIT:.0f} s")
            await asyncio.sleep(POLL)
        done = self.elapsed()
        waited = stopwatch()
        while self.shown is None and waited() < TAIL:  # the frame that shows it, if any
            await asyncio.sleep(POLL)
        end = self.shown if self.shown is not None else max(done, self.last)
        return Sample(1000 * end, self.frames, 1000 * self.sql)

    async def timed(self, act: Callable[[], Awaitable[Any]], done: Callable[[], bool]) -> Sample:
        self.expect(done)
        await act()
        return await self.finish()


# --- measuring one app -------------------------------------------------------------------------


Make = Callable[[Desk], App[Any]]


@dataclass
class Rig:
    """One size's store, and the two apps to measure over it."""

    runtime: Runtime
    ids: list[str]
    reps: Reps
    rounds: int = 0
    """Refreshes so far, of both apps: each one's churn is new."""

    def desk(self) -> Desk:
        assert self.runtime.router is not None
        return Desk(
            self.runtime, user="maria", assistant=Assistant(self.runtime, self.runtime.router)
        )


async def _launch(rig: Rig, make: Make, out: dict[str, list[Sample]], steps: bool) -> int:
    """Launch an app to its first paint; with `steps`, then refresh it, page down and (Keel)
    move through pages. How many rows its table shows at once."""
    desk = rig.desk()
    gc.collect()  # the last launch's garbage is not this one's to collect
    try:
        elapsed = stopwatch()
        app = make(desk)
        watch = Watch(app, desk)
        watch.expect(_done(app, lambda _: True), since=elapsed)
        async with app.run_test(size=SCREEN) as pilot:
            out["first_paint"].append(await watch.finish())
            out["first_frame"].append(Sample(1000 * watch.first, 0, 0.0))
            table = _table(app)
            assert table is not None
            rows = table.scrollable_content_region.height - table.header_height
            if not steps:
                return rows
            for _ in range(rig.reps.refreshes):
                await pilot.pause()  # whatever the last step left, out of the way
                out["refresh"].append(await _refresh(rig, app, watch))
            out["page_down"] += await _page_downs(rig, app, watch, table)
            if isinstance(app, KeelApp) and _pages(rig) > 1:
                out["next_page"] += await _next_pages(rig, app, watch, table)
            return rows
    finally:
        desk.close()


async def _refresh(rig: Rig, app: App[Any], watch: Watch) -> Sample:
    rig.rounds += 1
    row, step = _churn(rig.runtime, rig.ids, rig.rounds)
    return await watch.timed(
        lambda: app.run_action("refresh"),
        _done(
            app, lambda table: row < table.row_count and str(table.get_row_at(row)[STEP]) == step
        ),
    )


async def _page_downs(rig: Rig, app: App[Any], watch: Watch, table: DataTable[Any]) -> list[Sample]:
    """Page-down keys through runs not drawn yet, as far as there are (drawn rows are
    cached, so going over them again is cheaper): Keel, at the foot of its page, first moves
    to the next page and to its top (not timed); at the very end, keys turn back up."""
    taken = []
    down = True
    for _ in range(rig.reps.keys):
        at = table.cursor_row
        if (
            at == table.row_count - 1
            and down
            and isinstance(app, KeelApp)
            and _page(app) < _pages(rig) - 1
        ):
            await _key(app, watch, "right_square_bracket", _first_moved(table))
            await _key(app, watch, "ctrl+home", lambda table: table.cursor_row == 0)
            at = table.cursor_row
        down = at < table.row_count - 1 and (down or at == 0)
        taken.append(
            await _key(
                app,
                watch,
                "pagedown" if down else "pageup",
                lambda table, at=at: table.cursor_row != at,
            )
        )
    return taken


async def _next_pages(rig: Rig, app: KeelApp, watch: Watch, table: DataTable[Any]) -> list[Sample]:
    """Keel's next-page keys (a load each), to the last page and back."""
    taken = []
    down = True
    for _ in range(rig.reps.keys):
        page = _page(app)
        down = page < _pages(rig) - 1 and (down or page == 0)
        taken.append(
            await _key(
                app,
                watch,
                "right_square_bracket" if down else "left_square_bracket",
                _first_moved(table),
            )
        )
    return taken


def _pages(rig: Rig) -> int:
    return -(-len(rig.ids) // PAGE)


def _page(app: App[Any]) -> int:
    """The page Keel's dashboard shows (0 for the newest runs)."""
    return cast(DashboardScreen, app.screen).filter.offset // PAGE


def _first_moved(table: DataTable[Any]) -> Callable[[DataTable[Any]], bool]:
    """True once the table's first row is another run (its page moved)."""
    first = str(table.get_row_at(0)[0])
    return lambda table: str(table.get_row_at(0)[0]) != first


async def _key(
    app: App[Any], watch: Watch, key: str, moved: Callable[[DataTable[Any]], bool]
) -> Sample:
    """Post a key as the terminal driver does, and time it until the table has `moved`."""
    char = {"right_square_bracket": "]", "left_square_bracket": "["}.get(key)

    async def press() -> None:
        app.post_message(events.Key(key, char))

    return await watch.timed(press, _done(app, moved))


# --- a size ------------------------------------------------------------------------------------


MEASURES = (
    ("first_paint", "first paint"),
    ("refresh", "refresh"),
    ("page_down", "page-down key"),
    ("next_page", "next page (a load)"),
)


def _keel(desk: Desk) -> App[Any]:
    """Keel's app as `keel up` builds it, without its refresh timer: the bench refreshes."""
    return KeelApp(desk, refresh_every=0)


SIDES: tuple[tuple[str, Make], ...] = (("keel", _keel), ("naive", NaiveDashboard))


async def _measure(rig: Rig) -> tuple[dict[str, dict[str, list[Sample]]], dict[str, int]]:
    """A launch of each app not counted (the first launches in a process are slower: imports,
    caches, the interpreter specialising its hot code), then every launch of one app and the
    other in turns (which goes first alternates); the last launch of each goes on to the
    steps. (Samples by app and measure, rows each app's table shows at once.)"""
    taken = {name: _measures() for name, _ in SIDES}
    rows: dict[str, int] = {}
    for _name, make in SIDES:
        await _launch(rig, make, _measures(), steps=False)
    for launch in range(rig.reps.launches):
        order = SIDES if launch % 2 == 0 else SIDES[::-1]
        for name, make in order:
            rows[name] = await _launch(rig, make, taken[name], launch == rig.reps.launches - 1)
    return taken, rows


def _measures() -> dict[str, list[Sample]]:
    return {key: [] for key in ("first_frame", *(k for k, _ in MEASURES))}


def _summary(samples: list[Sample]) -> dict[str, float] | None:
    if not samples:
        return None
    ms = sorted(s.ms for s in samples)
    return {
        "p50": statistics.median(ms),
        "p95": ms[round(0.95 * (len(ms) - 1))],
        "max": ms[-1],
        "n": len(ms),
        "frames": statistics.mean(s.frames for s in samples),
        "sql_ms": statistics.median(s.sql_ms for s in samples),
    }


def _size(n: int, reps: Reps, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    clock = ManualClock(START)
    runtime = _runtime(tmp / "home", clock)
    try:
        seeding = stopwatch()
        ids = _seed(runtime, clock, n)
        seed_s = seeding()
        gc.collect()
        gc.freeze()  # what was there before the apps (imports, the runtime) is not rescanned
        taken, rows = asyncio.run(_measure(Rig(runtime, ids, reps)))
    finally:
        gc.unfreeze()
        runtime.close()
        runtime.services.close()
    return {
        "runs": n,
        "seed_s": seed_s,
        **{
            side: {
                "rows_shown": rows[side],
                **{f"{key}_ms": _summary(samples) for key, samples in measures.items() if samples},
            }
            for side, measures in taken.items()
        },
    }


# --- reporting ---------------------------------------------------------------------------------


def _ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per size and measure: the naive table's time over Keel's, at p50 and p95 (above 1,
    Keel is faster)."""
    out: dict[str, dict[str, float]] = {}
    for name in SIZES:
        size = results.get(name)
        if not isinstance(size, dict) or "keel" not in size:
            continue
        ratios: dict[str, float] = {}
        for key, _label in MEASURES:
            keel, naive = size["keel"].get(f"{key}_ms"), size["naive"].get(f"{key}_ms")
            if keel and naive:
                ratios[f"{key}_p50"] = naive["p50"] / keel["p50"]
                ratios[f"{key}_p95"] = naive["p95"] / keel["p95"]
        out[name] = ratios
    return out


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def _print(results: dict[str, Any]) -> None:
    sizes = [
        (name, results[name])
        for name in SIZES
        if isinstance(results.get(name), dict) and "keel" in results[name]
    ]
    if not sizes:
        return
    reps = results["reps"]
    table = Table(
        f"The runs dashboard, headless at {SCREEN[0]}x{SCREEN[1]}: Keel (a page of"
        f" {PAGE} in a worker, rows updated in place) vs a naive DataTable of every run"
        " (ms)",
        ["runs: action", "keel p50", "p95", "naive p50", "p95", "naive/keel p50", "p95"],
    )
    for name, size in sizes:
        ratios = results["ratios"].get(name, {})
        for key, label in MEASURES:
            keel, naive = size["keel"].get(f"{key}_ms"), size["naive"].get(f"{key}_ms")
            if keel is None:
                continue
            table.add(
                f"{size['runs']:,}: {label}",
                _ms(keel["p50"]),
                _ms(keel["p95"]),
                *(
                    (
                        _ms(naive["p50"]),
                        _ms(naive["p95"]),
                        times(ratios[f"{key}_p50"]),
                        times(ratios[f"{key}_p95"]),
                    )
                    if naive
                    else ("-",) * 4
                ),
            )
    table.notes += [
        (
            "each: from the action (constructing the app; its refresh action, as its timer"
            " calls it; a key posted to it) to the first frame showing the result with the app"
            " done with it, or to the moment it is done if that comes after its last frame"
        ),
        (
            f"first paint: p50 of {reps['launches']} launches each after one not counted, the"
            f" apps taking turns; refresh: {reps['refreshes']}x, {CHANGED} runs moved before"
            f" each; keys: {reps['keys']}x"
        ),
        (
            "page-down: into rows not drawn yet while there are any (Keel: at the foot of its"
            " page, ] and ctrl+home first, not timed), then back up; next page: ] to the last"
            " page and [ back, a load each"
        ),
        "naive/keel above 1: Keel is faster",
    ]
    print(table.render() + "\n")

    where = Table(
        "Where it goes (p50 ms; SQL: the Desk's reads, Keel's in a worker thread,"
        " the naive table's on the event loop)",
        [
            "runs",
            "keel: first frame",
            "first paint",
            "of which SQL",
            "refresh",
            "of which SQL",
            "naive: first paint",
            "of which SQL",
            "refresh",
            "of which SQL",
        ],
    )
    for _name, size in sizes:
        keel, naive = size["keel"], size["naive"]
        where.add(
            f"{size['runs']:,}",
            _ms(keel["first_frame_ms"]["p50"]),
            *(
                _ms(side[f"{key}_ms"][q])
                for side in (keel, naive)
                for key in ("first_paint", "refresh")
                for q in ("p50", "sql_ms")
            ),
        )
    keel, naive = sizes[-1][1]["keel"], sizes[-1][1]["naive"]
    where.notes += [
        (
            "first frame: Keel's screen drawn before any run is in it (the naive app reads its"
            " runs while mounting, so its first frame has them)"
        ),
        (
            "SQL: wall time in the Desk's reads; Keel's are the runs page (a COUNT, the page, who"
            " each waits on) and the header's metrics, recomputed at most every 2 s while the"
            " event log moves, and share the GIL with the event loop"
        ),
        (
            f"rows on screen at once: Keel {keel['rows_shown']} (header, metrics, filter and"
            f" footer take the rest), naive {naive['rows_shown']}; a page-down into new rows"
            f" draws that many, but Keel's page of {PAGE} is"
            f" {PAGE / keel['rows_shown']:.1f} screens, so its last page-down on a page draws"
            " only part of one anew"
        ),
    ]
    print(where.render() + "\n")
    print("What it shows\n-------------\n" + "\n".join(_findings(results, sizes)) + "\n")


def _findings(results: dict[str, Any], sizes: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The comparison in sentences made from the numbers."""
    lines = []
    slower = [
        f"{size['runs']:,} runs {label} ({times(results['ratios'][name][f'{key}_p50'])})"
        for name, size in sizes
        for key, label in MEASURES
        if results["ratios"].get(name, {}).get(f"{key}_p50", 1.0) < 1.0
    ]
    if slower:
        lines.append("Keel is slower than the naive table (p50) at: " + ", ".join(slower))
    small = sizes[0][1]
    lines.append(
        f"at {small['runs']:,} runs Keel's first frame alone takes"
        f" {_ms(small['keel']['first_frame_ms']['p50'])} ms, and its rows come"
        f" {_ms(small['keel']['first_paint_ms']['p50'] - small['keel']['first_frame_ms']['p50'])}"
        " ms later: its screen is heavier, and it reads its runs only once the screen is up,"
        " in a worker thread that competes for the GIL with that first frame; the naive app"
        f" reads them while mounting and draws them in its first frame"
        f" ({_ms(small['naive']['first_paint_ms']['p50'])} ms)"
    )
    if len(sizes) > 1:
        big = sizes[-1][1]
        k = [size["keel"]["refresh_ms"]["p50"] for _n, size in sizes]
        lines.append(
            f"from {small['runs']:,} to {big['runs']:,} runs Keel's refresh goes"
            f" {_ms(k[0])} → {_ms(k[-1])} ms and its first paint"
            f" {_ms(small['keel']['first_paint_ms']['p50'])} →"
            f" {_ms(big['keel']['first_paint_ms']['p50'])} ms; the naive table's refresh"
            f" {_ms(small['naive']['refresh_ms']['p50'])} →"
            f" {_ms(big['naive']['refresh_ms']['p50'])} ms and first paint"
            f" {_ms(small['naive']['first_paint_ms']['p50'])} →"
            f" {_ms(big['naive']['first_paint_ms']['p50'])} ms, the event loop blocked"
            " throughout (its SQL is a small part: building, adding and measuring every row is"
            " the rest)"
        )
        if big["naive"]["refresh_ms"]["p50"] > 1000:
            lines.append(
                f"at {big['runs']:,} runs one naive refresh outlasts Keel's refresh period (1 s"
                " by default): with such a timer on, that app would do little but refresh,"
                " its keys waiting seconds"
            )
    return lines
