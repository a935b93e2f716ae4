"""How fast a Slack approval lands: from an Approve click, POSTed signed over real HTTP to the
Bolt app, to the run resumed and finished and the approval's message showing the decision in
the loopback Web API fake; where that time goes, Keel's part against Bolt's; side by side with
a bare Bolt app that only acks and updates the clicked message, the floor any Slack bot pays."""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_sdk import WebClient

import bot.app as bot_app
from bot import blocks as b
from bot.app import SlackBot, web_client
from bot.http import SlackHTTPServer
from bot.ledger import Ledger
from connectors.offline import OfflineModel
from graph import REGISTRY, ApprovalStatus, Policy, RunStatus, Runtime, parse_policy
from graph.assistant import Assistant
from graph.router import Router
from graph.store import Store
from memory import HashingEmbedder
from tests.fakes import SIGNING_SECRET, SlackAPI, slack_requests
from tests.support import SAM, SLACK_CHANNEL, SLACK_POLICY

from .refunds import RefundBench
from .sections import run_sections
from .timing import Table, stopwatch, times

SECTIONS = ("approvals",)

CHANNEL, APPROVER, REQUESTER = SLACK_CHANNEL, SAM, "cleo"
AMOUNT = Decimal("2.00")
"""Over the threshold below, and small enough that every seeded order takes a few refunds."""
# A low threshold so every refund waits for a person: the seed holds only 48 orders, 19 of
# them over 100.00, too few for hundreds of full refunds over the tests' threshold.
POLICY: Policy = parse_policy(
    SLACK_POLICY.replace('approval_threshold = "100.00"', 'approval_threshold = "1.00"')
)
WAIT = 30.0
"""Seconds a click may take before the bench gives up on it."""
# Hundreds of refunds wait at once over 48 orders, a few per order: the bench lifts the
# one-open-refund-per-order rule, which plays no part in what a click costs.
REFUND = dataclasses.replace(REGISTRY["refund"], exclusive_on=None)


@dataclass(frozen=True)
class Sizes:
    approvals: int
    warmup: int
    """Clicks of each app before the measured ones, not counted."""


DEFAULT = Sizes(approvals=200, warmup=5)
QUICK = Sizes(approvals=40, warmup=3)


def run(*, quick: bool, tmp: Path, sections: set[str]) -> tuple[dict[str, Any], bool]:
    """Run the chosen sections, print their tables, and return (results, every section clean)."""
    sizes = QUICK if quick else DEFAULT
    results: dict[str, Any] = {"sizes": sizes.__dict__}
    clean = run_sections(
        {"approvals": lambda scratch: _approvals(sizes, scratch)}, sections, tmp, results
    )
    results["ratios"] = _ratios(results)
    _print_ratios(results["ratios"])
    return results, clean


# --- timing a click as it travels -----------------------------------------------------------


@dataclass
class Click:
    """One click's moments (perf_counter seconds), stamped by the hooks as it travels."""

    ts: str
    """The clicked message's ts, which the update must name."""
    sent: float = 0.0
    responded: float = 0.0
    handled: float = 0.0
    """The app's `handle` entered: the HTTP server has read the request."""
    checked: float = 0.0
    """Seconds inside Keel's payload check (not a moment)."""
    dispatched: float = 0.0
    submitted: float = 0.0
    """Bolt handed the listener to its pool."""
    started: float = 0.0
    listener_out: float = 0.0
    decide_in: float = 0.0
    kicked: float = 0.0
    decide_out: float = 0.0
    sync_in: float = 0.0
    sync_out: float = 0.0
    calls: list[tuple[str, float, float]] = field(default_factory=list)
    """Web API calls the listener made: (method, start, end)."""
    updated: float = 0.0
    """The fake received the chat.update that shows the decision."""
    drive_in: float = 0.0
    drive_out: float = 0.0
    listener_thread: int = 0
    spent: dict[str, float] = field(default_factory=dict)
    """Seconds in durable writes and reads, by "listener: what" or "run: what"."""
    counts: dict[str, int] = field(default_factory=dict)
    was_updated: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    listened: threading.Event = field(default_factory=threading.Event)


class Probe:
    """Hooks wrapped around instances (never the source), stamping the click under way."""

    def __init__(self) -> None:
        self.current: Click | None = None
        self.hooks = 0
        """Hook calls while a click was under way, to price the measuring."""

    def mark(self, moment: str) -> None:
        click = self.current
        if click is not None:
            self.hooks += 1
            if not getattr(click, moment):
                setattr(click, moment, time.perf_counter())

    def around(
        self,
        obj: Any,
        name: str,
        before: str | None = None,
        after: str | None = None,
        then: Callable[[Click], None] | None = None,
    ) -> None:
        """Replace `obj.name` with a wrapper stamping `before` and `after` the call."""
        original = getattr(obj, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if before:
                self.mark(before)
            try:
                return original(*args, **kwargs)
            finally:
                if after:
                    self.mark(after)
                if then is not None and (click := self.current) is not None:
                    then(click)

        setattr(obj, name, timed)

    def spend(self, what: str, started: float) -> None:
        """Add the seconds since `started` to `what`, on the listener's side or the run's."""
        click = self.current
        if click is not None:
            self.hooks += 1
            side = "listener" if threading.get_ident() == click.listener_thread else "run"
            key = f"{side}: {what}"
            click.spent[key] = click.spent.get(key, 0.0) + time.perf_counter() - started
            click.counts[key] = click.counts.get(key, 0) + 1

    def timing(self, obj: Any, name: str, what: str) -> None:
        """Replace `obj.name` with a wrapper adding its time to `what`."""
        original = getattr(obj, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.spend(what, started)

        setattr(obj, name, timed)

    def commits(self, store: Store) -> None:
        """Time the run store's COMMITs (each one synced to disk) through its connection."""
        store.conn = cast(sqlite3.Connection, _TimedCommits(store.conn, self))

    def listener_pool(self, executor: ThreadPoolExecutor) -> None:
        """Stamp when Bolt hands a listener to its pool, and when it starts and ends there."""
        submit = executor.submit

        def timed_submit(fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            self.mark("submitted")

            def listener() -> Any:
                if (click := self.current) is not None:
                    click.listener_thread = threading.get_ident()
                self.mark("started")
                try:
                    return fn(*args, **kwargs)
                finally:
                    self.mark("listener_out")
                    if (click := self.current) is not None:
                        click.listened.set()

            return submit(listener)

        executor.submit = timed_submit  # type: ignore[method-assign]

    def web_api(self, client: WebClient) -> None:
        """Time every Web API call the app's client makes while a click is under way."""
        call = client.api_call

        def timed(api_method: str, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(api_method, **kwargs)
            finally:
                if (click := self.current) is not None:
                    self.hooks += 1
                    click.calls.append((api_method, started, time.perf_counter()))

        client.api_call = timed  # type: ignore[method-assign]

    def fake(self, slack: SlackAPI) -> None:
        """Stamp the moment the fake records the update that shows the click's decision."""
        record = slack._record

        def timed(method: str, params: dict[str, Any], *args: Any) -> Any:
            now = time.perf_counter()
            click = self.current
            if (
                click is not None
                and method == "chat.update"
                and params.get("ts") == click.ts
                and _decided(params.get("blocks"))
            ):
                click.updated = click.updated or now
                click.was_updated.set()
            return record(method, params, *args)

        slack._record = timed  # type: ignore[method-assign]

    @contextmanager
    def payload_check(self) -> Iterator[None]:
        """Time Keel's payload check (`bot.app.problem`, a module function) while in effect."""
        original = bot_app.problem

        def timed(body: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(body)
            finally:
                if (click := self.current) is not None:
                    click.checked += time.perf_counter() - started

        bot_app.problem = timed
        try:
            yield
        finally:
            bot_app.problem = original


class _TimedCommits:
    """A connection whose COMMIT statements are timed; everything else passes through."""

    def __init__(self, conn: sqlite3.Connection, probe: Probe) -> None:
        self._conn = conn
        self._probe = probe

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql != "COMMIT":
            return self._conn.execute(sql, *args)
        started = time.perf_counter()
        try:
            return self._conn.execute(sql, *args)
        finally:
            self._probe.spend("run store commits", started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _decided(blocks: Any) -> bool:
    """An update that shows a decision: blocks without buttons."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return bool(blocks) and all(block.get("type") != "actions" for block in blocks)


# --- the baseline: bare Bolt -----------------------------------------------------------------


class BareBolt:
    """The floor of a Slack bot: the same Bolt App construction, signatures verified, whose
    approve listener only acks and updates the clicked message once."""

    def __init__(self, client: WebClient, decided: list[dict[str, Any]], text: str) -> None:
        self.client = client
        self.executor = ThreadPoolExecutor(8, thread_name_prefix="bare-bolt")
        self.app = App(
            client=client,
            signing_secret=SIGNING_SECRET,
            request_verification_enabled=True,
            listener_executor=self.executor,
            ssl_check_enabled=False,
            url_verification_enabled=True,
        )

        def approve(ack: Ack, body: dict[str, Any]) -> None:
            ack()
            where = body["container"]
            self.client.chat_update(
                channel=where["channel_id"], ts=where["message_ts"], text=text, blocks=decided
            )

        self.app.action(b.APPROVE)(approve)

    def handle(self, raw: bytes, headers: dict[str, str]) -> BoltResponse:
        """What any Bolt HTTP adapter does with a request."""
        return self.app.dispatch(BoltRequest(body=raw.decode("utf-8"), headers=dict(headers)))

    def close(self) -> None:
        self.executor.shutdown(wait=True)


# --- the section ---------------------------------------------------------------------------


@dataclass
class Rig:
    """Everything a click goes through, built once."""

    runtime: Runtime
    bot: SlackBot
    bare: BareBolt
    slack: SlackAPI
    keel_url: str
    bare_url: str
    probe: Probe
    run_ids: list[str]
    approval_ids: list[str]
    keel_ts: list[str]
    """The approval messages Keel posted, one per run, in run order."""
    bare_ts: list[str]


def _approvals(sizes: Sizes, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    total = sizes.warmup + sizes.approvals
    with ExitStack() as stack:
        sandbox = RefundBench(tmp, "process")  # the sandbox in a child: its CPU is not Keel's
        stack.callback(sandbox.close)
        slack = stack.enter_context(SlackAPI())
        runtime = Runtime.open(
            tmp / "home",
            services=sandbox.services,
            policy=POLICY,
            workers=2,
            workflows={"refund": REFUND},
        )
        stack.callback(runtime.close)
        runtime.router = Router(
            store=runtime.store,
            clock=runtime.clock,
            models=runtime.policy.models,
            offline=OfflineModel(HashingEmbedder()),
        )
        bot = SlackBot(
            runtime,
            Assistant(runtime, runtime.router),
            web_client(slack.token or "xoxb-test", slack.url),
            Ledger.open(tmp / "home" / "slack.db"),
            signing_secret=SIGNING_SECRET,
        )
        stack.callback(bot.close)
        keel_server = stack.enter_context(SlackHTTPServer(bot, port=0))

        prepared = stopwatch()
        run_ids, approval_ids, keel_ts = _waiting_refunds(runtime, bot, sandbox, total)
        bare_ts, decided, text = _bare_messages(runtime, bot, slack, run_ids)
        bare = BareBolt(web_client(slack.token or "xoxb-test", slack.url), decided, text)
        stack.callback(bare.close)
        bare_server = stack.enter_context(SlackHTTPServer(cast(SlackBot, bare), port=0))
        setup_s = prepared()

        probe = Probe()
        _hook(probe, bot, bare, slack)
        stack.enter_context(probe.payload_check())
        rig = Rig(
            runtime,
            bot,
            bare,
            slack,
            keel_server.url,
            bare_server.url,
            probe,
            run_ids,
            approval_ids,
            keel_ts,
            bare_ts,
        )
        elapsed = stopwatch()
        keel, base = _click_all(rig, sizes)
        clicks_s = elapsed()
        hooks_per_click = probe.hooks / (2 * total)
        verified = _verify(rig, sandbox, total)
        drive = _drive_parts(runtime, run_ids[sizes.warmup :])
    return _report(sizes, keel, base, drive, verified, setup_s, clicks_s, hooks_per_click)


def _waiting_refunds(
    runtime: Runtime, bot: SlackBot, sandbox: RefundBench, count: int
) -> tuple[list[str], list[str], list[str]]:
    """`count` refunds waiting for approval, their threads posted; (run ids, approval ids,
    the approval messages' ts)."""
    orders = [o for o in sandbox.shop.list_orders(limit=250) if o.refundable == o.total_price]
    taken: defaultdict[int, int] = defaultdict(int)
    run_ids = []
    for i in range(count):
        order = orders[i % len(orders)]
        taken[order.id] += 1
        if taken[order.id] * AMOUNT > order.total_price:
            raise RuntimeError(
                f"order {order.id} cannot take {taken[order.id]} refunds of {AMOUNT}"
            )
        run = runtime.start(
            "refund",
            {"order_id": order.id, "amount": str(AMOUNT), "restock": False, "reason": "benchmark"},
            REQUESTER,
        )
        run_ids.append(run.id)
    if not runtime.drain(300):
        raise RuntimeError("the refunds did not reach their approvals within 300 s")
    while bot.keeper.sync():
        pass
    approval_ids, keel_ts = [], []
    for run_id in run_ids:
        detail = runtime.get(run_id)
        if detail.run.status is not RunStatus.WAITING or detail.pending is None:
            raise RuntimeError(f"run {run_id} is {detail.run.status}, not waiting for approval")
        message = bot.ledger.message(f"approval:{detail.pending.id}")
        if message is None:
            raise RuntimeError(f"no approval message was posted for run {run_id}")
        approval_ids.append(detail.pending.id)
        keel_ts.append(message.ts)
    return run_ids, approval_ids, keel_ts


def _bare_messages(
    runtime: Runtime, bot: SlackBot, slack: SlackAPI, run_ids: list[str]
) -> tuple[list[str], list[dict[str, Any]], str]:
    """The baseline's own copies of the approval messages, and what it updates them to."""
    poster = web_client(slack.token or "xoxb-test", slack.url)
    approvals = [runtime.get(run_id).pending for run_id in run_ids]
    bare_ts = []
    for approval in approvals:
        assert approval is not None
        reply = poster.chat_postMessage(
            channel=CHANNEL,
            text=b.approval_fallback(approval),
            blocks=b.approval_request(approval, bot.people.mention),
        )
        bare_ts.append(str(reply["ts"]))
    first = approvals[0]
    assert first is not None
    settled = first.model_copy(
        update={
            "status": ApprovalStatus.APPROVED,
            "decided_by": "sam",
            "decided_at": datetime.now(UTC),
        }
    )
    return (
        bare_ts,
        b.approval_decided(settled, bot.people.mention),
        b.decided_fallback(settled, bot.people.mention),
    )


def _hook(probe: Probe, bot: SlackBot, bare: BareBolt, slack: SlackAPI) -> None:
    probe.fake(slack)
    for app in (bot, bare):
        probe.around(app, "handle", before="handled")
        probe.around(app.app, "dispatch", before="dispatched")
        probe.web_api(app.client)
    probe.listener_pool(bot._executor)
    probe.listener_pool(bare.executor)
    runtime = bot.runtime
    probe.around(runtime, "decide", before="decide_in", after="decide_out")
    probe.around(runtime, "_kick", before="kicked")
    probe.around(
        runtime,
        "_drive",
        before="drive_in",
        after="drive_out",
        then=lambda click: click.finished.set(),
    )
    probe.around(bot.keeper, "sync", before="sync_in", after="sync_out")
    probe.commits(runtime.store)
    saver = runtime.checkpointer
    for name in ("put", "put_writes"):
        probe.timing(saver, name, "checkpoint writes")
    probe.timing(saver, "get_tuple", "checkpoint reads")
    probe.timing(bot.ledger, "_write", "Slack ledger writes")


def _click_all(rig: Rig, sizes: Sizes) -> tuple[list[Click], list[Click]]:
    """Each approval clicked once in Keel and once in the baseline, alternating which goes
    first; one click at a time, each waited out before the next."""
    keel: list[Click] = []
    base: list[Click] = []
    with httpx.Client(timeout=WAIT) as http:
        for i in range(sizes.warmup + sizes.approvals):
            order = (
                (keel, rig.keel_url, rig.keel_ts[i], rig.approval_ids[i]),
                (base, rig.bare_url, rig.bare_ts[i], "bare"),
            )
            for into, url, ts, value in order if i % 2 == 0 else reversed(order):
                click = _click(rig, http, url, ts, value, keel=into is keel)
                if i >= sizes.warmup:
                    into.append(click)
    return keel, base


def _click(rig: Rig, http: httpx.Client, url: str, ts: str, value: str, *, keel: bool) -> Click:
    """One signed Approve click POSTed to `url`, waited out; its moments."""
    request = slack_requests.block_actions(
        b.APPROVE, value, user=APPROVER, channel=CHANNEL, message_ts=ts
    )
    click = Click(ts)
    rig.probe.current = click
    click.sent = time.perf_counter()
    response = http.post(url, content=request.body, headers=request.headers)
    click.responded = time.perf_counter()
    waits = [click.was_updated, click.listened] + ([click.finished] if keel else [])
    ok = response.status_code == 200 and all(event.wait(WAIT) for event in waits)
    rig.probe.current = None
    if not ok:
        raise RuntimeError(
            f"click on {ts}: HTTP {response.status_code}, updated"
            f" {click.was_updated.is_set()}, listener done {click.listened.is_set()},"
            f" run finished {click.finished.is_set()}"
        )
    if keel and not rig.bot.settle(WAIT):  # the run's last thread posts, out of the timings
        raise RuntimeError(f"the bot did not settle after the click on {ts}")
    return click


def _verify(rig: Rig, sandbox: RefundBench, total: int) -> str:
    """Every run succeeded with one refund and one email; every message shows its decision."""
    problems = []
    for run_id in rig.run_ids:
        if (status := rig.runtime.get(run_id).run.status) is not RunStatus.SUCCEEDED:
            problems.append(f"{run_id} ended {status}")
    if (refunds := len(sandbox.sandbox.ledger(kind="refund"))) != total:
        problems.append(f"{refunds} refunds in the sandbox for {total} runs")
    if (mail := len(sandbox.sandbox.messages())) != total:
        problems.append(f"{mail} emails for {total} runs")
    shown = {m.ts: m for m in rig.slack.messages(CHANNEL)}
    for ts in rig.keel_ts + rig.bare_ts:
        if not (shown[ts].edited and _decided(shown[ts].blocks)):
            problems.append(f"message {ts} does not show its decision")
    if problems:
        raise RuntimeError("; ".join(problems[:5]))
    return (
        f"every run succeeded with exactly one refund and one email in the sandbox; all"
        f" {2 * total} clicked messages show their decision"
    )


def _drive_parts(runtime: Runtime, run_ids: list[str]) -> dict[str, float]:
    """Mean ms per resumed run, from its event log: each step after the decision, and the
    shop and mail calls within them."""
    parts: defaultdict[str, float] = defaultdict(float)
    for run_id in run_ids:
        resumed = False
        for event in runtime.events(run_id, limit=10_000):
            if event.kind == "approval.decided":
                resumed = True
            elif not resumed:
                continue
            elif event.kind == "step.finished" and event.step:
                parts[f"step {event.step}"] += event.duration_ms or 0.0
            elif event.kind in ("connector.called", "effect.performed"):
                parts["shop + mail calls"] += event.duration_ms or 0.0
                parts["shop + mail calls n"] += 1
    return {k: v / len(run_ids) for k, v in parts.items()}


# --- what the clicks tell ---------------------------------------------------------------------


Part = str
KEEL, BOLT, WIRE = "Keel", "Bolt", "HTTP/Web API"


def _web_until(click: Click, end: float) -> float:
    """Seconds inside Web API calls that started before `end`, cut at `end`."""
    return sum(min(stop, end) - start for _m, start, stop in click.calls if start < end)


def _updated_stages(click: Click, keel: bool) -> list[tuple[str, Part, float]]:
    """Click → message updated, cut into consecutive stages that add up to the whole (s)."""
    parse = click.dispatched - click.handled - click.checked
    stages = [
        ("HTTP request in (httpx → the stdlib server)", WIRE, click.handled - click.sent),
        ("parse the request (BoltRequest)", BOLT, parse),
        ("check the payload's shape (bot.payloads)", KEEL, click.checked),
        (
            "verify the signature, middleware, match the listener",
            BOLT,
            click.submitted - click.dispatched,
        ),
        ("hand the listener to the pool", BOLT, click.started - click.submitted),
    ]
    if not keel:
        first = click.calls[0][1]
        return [
            *stages,
            ("ack() and the listener's arguments", BOLT, first - click.started),
            ("runtime.decide (policy, settle, queue the run)", KEEL, 0.0),
            ("keeper.sync up to the update, less Web API", KEEL, 0.0),
            ("Web API until the fake has the update", WIRE, click.updated - first),
        ]
    web = _web_until(click, click.updated)
    return [
        *stages,
        ("ack() and the listener's arguments", BOLT, click.decide_in - click.started),
        (
            "runtime.decide (policy, settle, queue the run)",
            KEEL,
            click.decide_out - click.decide_in,
        ),
        (
            "keeper.sync up to the update, less Web API",
            KEEL,
            click.updated - click.decide_out - web,
        ),
        ("Web API until the fake has the update", WIRE, web),
    ]


def _finished_stages(click: Click) -> list[tuple[str, Part, float]]:
    """Click → run finished (Keel), consecutive stages (s)."""
    return [
        (
            "HTTP in, and Bolt up to the listener's first line",
            WIRE + " + " + BOLT,
            click.started - click.sent,
        ),
        ("ack() and the listener's arguments", BOLT, click.decide_in - click.started),
        ("runtime.decide up to queuing the run", KEEL, click.kicked - click.decide_in),
        ("a worker picks the run up", KEEL, click.drive_in - click.kicked),
        ("drive the run to its end (Runtime._drive)", KEEL, click.drive_out - click.drive_in),
    ]


def _work(keel: list[Click], drive: dict[str, float]) -> list[dict[str, Any]]:
    """Keel's work per click on each thread, whole (after the update too), and what it holds:
    (thread, work, calls per click, mean ms, the share of its parent row)."""
    n = len(keel)

    def mean(values: Any) -> float:
        return 1000 * sum(values) / n

    def spent(key: str) -> tuple[float, float]:
        return (
            sum(c.counts.get(key, 0) for c in keel) / n,
            mean(c.spent.get(key, 0.0) for c in keel),
        )

    decide = mean(c.decide_out - c.decide_in for c in keel)
    sync = mean(c.sync_out - c.sync_in for c in keel)
    web = (
        sum(len(c.calls) for c in keel) / n,
        mean(sum(stop - start for _m, start, stop in c.calls) for c in keel),
    )
    ledger, commits = spent("listener: Slack ledger writes"), spent("listener: run store commits")
    run = mean(c.drive_out - c.drive_in for c in keel)
    parts = {
        "run store commits": spent("run: run store commits"),
        "checkpoint writes": spent("run: checkpoint writes"),
        "checkpoint reads": spent("run: checkpoint reads"),
        "shop + mail calls": (
            drive.get("shop + mail calls n", 0.0),
            drive.get("shop + mail calls", 0.0),
        ),
    }
    rows = [
        ("listener", "runtime.decide", 1.0, decide, None),
        ("listener", "  of which run store commits", *commits, decide),
        ("listener", "keeper.sync (whole, after the update too)", 1.0, sync, None),
        ("listener", "  of which Web API calls", *web, sync),
        ("listener", "  of which Slack ledger writes", *ledger, sync),
        (
            "listener",
            "  of which the rest (events, store reads, blocks)",
            0.0,
            sync - web[1] - ledger[1],
            sync,
        ),
        ("run worker", "Runtime._drive", 1.0, run, None),
        *(("run worker", f"  of which {name}", k, ms, run) for name, (k, ms) in parts.items()),
        (
            "run worker",
            "  of which the rest (LangGraph, step code, other SQL)",
            0.0,
            run - sum(ms for _k, ms in parts.values()),
            run,
        ),
    ]
    return [
        {
            "thread": t,
            "work": w,
            "calls": k,
            "ms": ms,
            "share": None if parent is None else ms / parent,
        }
        for t, w, k, ms, parent in rows
    ]


def _summary(values: list[float]) -> dict[str, float]:
    ms = sorted(1000 * v for v in values)
    return {
        "p50": statistics.median(ms),
        "p95": statistics.quantiles(ms, n=20)[-1],
        "mean": statistics.mean(ms),
        "min": ms[0],
        "max": ms[-1],
    }


def _stage_means(per_click: list[list[tuple[str, Part, float]]]) -> list[dict[str, Any]]:
    return [
        {"stage": name, "part": part, "mean_ms": 1000 * statistics.mean(c[i][2] for c in per_click)}
        for i, (name, part, _s) in enumerate(per_click[0])
    ]


def _report(
    sizes: Sizes,
    keel: list[Click],
    base: list[Click],
    drive: dict[str, float],
    verified: str,
    setup_s: float,
    clicks_s: float,
    hooks_per_click: float,
) -> dict[str, Any]:
    latency = {
        "keel": {
            "updated": _summary([c.updated - c.sent for c in keel]),
            "finished": _summary([c.drive_out - c.sent for c in keel]),
            "both": _summary([max(c.updated, c.drive_out) - c.sent for c in keel]),
            "http_200": _summary([c.responded - c.sent for c in keel]),
        },
        "baseline": {
            "updated": _summary([c.updated - c.sent for c in base]),
            "http_200": _summary([c.responded - c.sent for c in base]),
        },
    }
    updated = {
        "keel": _stage_means([_updated_stages(c, True) for c in keel]),
        "baseline": _stage_means([_updated_stages(c, False) for c in base]),
    }
    finished = _stage_means([_finished_stages(c) for c in keel])
    work = _work(keel, drive)
    methods: defaultdict[str, int] = defaultdict(int)
    for c in keel:
        for method, _start, _stop in c.calls:
            methods[method] += 1
    first = sum(1 for c in keel if c.calls and c.calls[0][1] <= c.updated <= c.calls[0][2])
    hook_us = _hook_cost_us()

    k, base_l = latency["keel"], latency["baseline"]
    table = Table(
        f"Approve click → result, {sizes.approvals} approvals each (Bolt over HTTP,"
        " the loopback Web API fake; ms)",
        [
            "click →",
            "keel p50",
            "p95",
            "mean",
            "bare bolt p50",
            "p95",
            "mean",
            "keel/bare p50",
            "p95",
        ],
    )
    for key, label in (("updated", "message updated"), ("http_200", "HTTP 200 (ack)")):
        a, z = k[key], base_l[key]
        table.add(
            label,
            *(f"{a[q]:.2f}" for q in ("p50", "p95", "mean")),
            *(f"{z[q]:.2f}" for q in ("p50", "p95", "mean")),
            times(a["p50"] / z["p50"]),
            times(a["p95"] / z["p95"]),
        )
    table.add(
        "run resumed and finished",
        *(f"{k['finished'][q]:.2f}" for q in ("p50", "p95", "mean")),
        "-",
        "-",
        "-",
        "-",
        "-",
    )
    both, floor = k["both"], base_l["updated"]
    table.add(
        "both done (vs bare: updated)",
        *(f"{both[q]:.2f}" for q in ("p50", "p95", "mean")),
        "-",
        "-",
        "-",
        times(both["p50"] / floor["p50"]),
        times(both["p95"] / floor["p95"]),
    )
    table.notes += [
        (
            "bare bolt: the same App construction (signatures verified, the same kind of Web API"
            " client), its approve listener only ack() + one chat.update of the clicked message"
        ),
        (
            "one click at a time, Keel's and the baseline's alternating which goes first, each"
            f" waited out (and Keel settled) before the next; {sizes.warmup} warm-up clicks each"
        ),
        (
            "both done: the run finished and the message updated, against the baseline's whole"
            " job (its message updated)"
        ),
        (
            "HTTP 200 waits on Bolt, which polls every 10 ms for the listener's ack() (its"
            " ThreadListenerRunner); the listener is already working meanwhile"
        ),
        (
            f"{verified}; the sandbox serves from a child process; setup {setup_s:.1f} s, clicks"
            f" {clicks_s:.1f} s"
        ),
        (
            f"measuring: ~{hooks_per_click:.0f} hooks per click at ~{hook_us:.1f} us each ="
            f" ~{hooks_per_click * hook_us / 1000:.2f} ms per click"
        ),
    ]
    print(table.render() + "\n")

    stages = Table(
        "Where click → message updated goes (mean ms, consecutive stages)",
        ["stage", "part", "keel ms", "share", "bare bolt ms", "share"],
    )
    keel_total = sum(s["mean_ms"] for s in updated["keel"])
    base_total = sum(s["mean_ms"] for s in updated["baseline"])
    for mine, theirs in zip(updated["keel"], updated["baseline"], strict=True):
        zero = theirs["part"] == KEEL
        stages.add(
            mine["stage"],
            mine["part"],
            f"{mine['mean_ms']:.2f}",
            f"{mine['mean_ms'] / keel_total:.0%}",
            "-" if zero else f"{theirs['mean_ms']:.2f}",
            "-" if zero else f"{theirs['mean_ms'] / base_total:.0%}",
        )
    stages.add("total", "", f"{keel_total:.2f}", "100%", f"{base_total:.2f}", "100%")
    shares = {
        name: {
            part: sum(s["mean_ms"] for s in rows if s["part"] == part)
            for part in (KEEL, BOLT, WIRE)
        }
        for name, rows in updated.items()
    }
    for part in (KEEL, BOLT, WIRE):
        stages.add(
            f"  all {part}",
            "",
            f"{shares['keel'][part]:.2f}",
            f"{shares['keel'][part] / keel_total:.0%}",
            f"{shares['baseline'][part]:.2f}" if part != KEEL else "-",
            f"{shares['baseline'][part] / base_total:.0%}" if part != KEEL else "-",
        )
    stages.notes += [
        (
            "Bolt: parsing, signature check, middleware, listener matching, the pool hand-off and"
            " ack(); Keel: its payload check, runtime.decide, the thread keeper's work; HTTP/Web"
            " API: the request's trip in, and the chat.update call (slack_sdk over urllib to the"
            " fake, in this process) until the fake has it"
        ),
        (
            f"the update is the first Web API call of the listener's keeper.sync in {first} of"
            f" {len(keel)} clicks"
        ),
    ]
    print(stages.render() + "\n")

    run_table = Table(
        "Where click → run resumed and finished goes (Keel, mean ms)",
        ["stage", "part", "ms", "share"],
    )
    run_total = sum(s["mean_ms"] for s in finished)
    for s in finished:
        run_table.add(
            s["stage"], s["part"], f"{s['mean_ms']:.2f}", f"{s['mean_ms'] / run_total:.0%}"
        )
    run_table.add("total", "", f"{run_total:.2f}", "100%")
    steps = {n.removeprefix("step "): v for n, v in drive.items() if n.startswith("step ")}
    run_table.notes += [
        "the run's steps after the decision, from its event log: "
        + ", ".join(f"{n} {v:.2f}" for n, v in steps.items() if v >= 0.01),
        (
            "the run is driven on a worker thread while the listener's keeper.sync updates Slack;"
            " both share the GIL on 2 cores"
        ),
    ]
    print(run_table.render() + "\n")

    work_table = Table(
        "Keel's work per click, by thread (mean; both stores and the Slack"
        " ledger sync every commit to disk)",
        ["thread", "work", "calls", "ms", "share"],
    )
    for row in work:
        work_table.add(
            row["thread"],
            row["work"],
            f"{row['calls']:.1f}" if row["calls"] else "",
            f"{row['ms']:.2f}",
            "" if row["share"] is None else f"{row['share']:.0%}",
        )
    work_table.notes += [
        "Web API calls per click: "
        + ", ".join(f"{m} {k / len(keel):.1f}" for m, k in sorted(methods.items())),
        (
            "calls: how many per click; share: of the row it belongs to; the shop + mail calls"
            " are timed by the run itself (its event log), the rest by hooks on the instances"
        ),
        (
            'checkpoint writes run on LangGraph\'s background threads; with durability="sync" the'
            " run waits for each before its next step, so they are on its path (a little overlaps)"
        ),
    ]
    print(work_table.render() + "\n")

    explain = _explain(
        updated["keel"], shares, keel_total, base_total, finished, work, k["http_200"]["p50"]
    )
    print("What dominates\n--------------\n" + "\n".join(explain) + "\n")
    return {
        "approvals": sizes.approvals,
        "latency_ms": latency,
        "updated_stages_ms": updated,
        "updated_parts_ms": shares,
        "finished_stages_ms": finished,
        "keel_work_ms": work,
        "web_api_calls_per_click": {m: n / len(keel) for m, n in methods.items()},
        "drive_from_events_ms": drive,
        "verified": verified,
        "setup_s": setup_s,
        "clicks_s": clicks_s,
        "hooks_per_click": hooks_per_click,
        "hook_us": hook_us,
        "explanation": explain,
        "raw_ms": {
            "keel_updated": [1000 * (c.updated - c.sent) for c in keel],
            "keel_finished": [1000 * (c.drive_out - c.sent) for c in keel],
            "baseline_updated": [1000 * (c.updated - c.sent) for c in base],
        },
    }


def _explain(
    keel_stages: list[dict[str, Any]],
    shares: dict[str, dict[str, float]],
    keel_total: float,
    base_total: float,
    finished: list[dict[str, Any]],
    work: list[dict[str, Any]],
    http_200: float,
) -> list[str]:
    """What dominates, in sentences made from the numbers."""
    mine, floor = shares["keel"], shares["baseline"]
    top = max((s for s in keel_stages if s["part"] == KEEL), key=lambda s: s["mean_ms"])
    rows = {(row["thread"], row["work"].strip()): row for row in work}
    commit = rows[("listener", "of which run store commits")]
    drive = rows[("run worker", "Runtime._drive")]
    durable = [
        rows[("run worker", f"of which {what}")]
        for what in ("run store commits", "checkpoint writes")
    ]
    writes, commits = sum(r["ms"] for r in durable), sum(r["calls"] for r in durable)
    calls = rows[("run worker", "of which shop + mail calls")]
    rest = rows[("run worker", "of which the rest (LangGraph, step code, other SQL)")]
    run_total = sum(s["mean_ms"] for s in finished)
    return [
        (
            f"click → message updated: Keel {mine[KEEL]:.2f} ms ({mine[KEEL] / keel_total:.0%}),"
            f" Bolt {mine[BOLT]:.2f} ms ({mine[BOLT] / keel_total:.0%}), HTTP/Web API"
            f" {mine[WIRE]:.2f} ms ({mine[WIRE] / keel_total:.0%}); Keel's largest stage is"
            f" {top['stage']!r} at {top['mean_ms']:.2f} ms; runtime.decide's commit to disk is"
            f" {commit['ms']:.2f} ms"
        ),
        (
            f"Keel adds {keel_total - base_total:+.2f} ms to the bare Bolt floor of"
            f" {base_total:.2f} ms ({times(keel_total / base_total)} on the mean); Bolt costs both"
            f" about the same ({mine[BOLT]:.2f} vs {floor[BOLT]:.2f} ms), and Keel's chat.update"
            f" is slower ({mine[WIRE] - floor[WIRE]:+.2f} ms of HTTP/Web API): the same client"
            " and fake, but the run is being driven on another thread meanwhile (the GIL)"
        ),
        (
            f"the run finishes {run_total - keel_total:.2f} ms after the message changes; its drive"
            f" ({drive['ms']:.2f} ms, {drive['ms'] / run_total:.0%} of click → finished) is first"
            f" durable writes, {commits:.0f} commits synced to disk (run store and checkpoints):"
            f" {writes:.2f} ms ({writes / drive['ms']:.0%}); then the shop and mail calls"
            f" {calls['ms']:.2f} ms ({calls['share']:.0%}) and LangGraph with the step code"
            f" {rest['ms']:.2f} ms ({rest['share']:.0%})"
        ),
        (
            f"the HTTP 200 (~{http_200:.0f} ms, both apps) is Bolt waiting for ack() in 10 ms"
            " sleeps, not Keel; against real Slack each Web API call is a round trip of tens of"
            " milliseconds, more than all of Keel's part of click → message updated here"
        ),
    ]


def _hook_cost_us(n: int = 20_000) -> float:
    """What one stamping hook adds to a call, in microseconds."""
    probe = Probe()
    probe.current = Click("cost")

    class Target:
        def noop(self) -> None:
            pass

    bare, hooked = Target(), Target()
    probe.around(hooked, "noop", before="started")
    elapsed = stopwatch()
    for _ in range(n):
        bare.noop()
    plain = elapsed()
    elapsed = stopwatch()
    for _ in range(n):
        hooked.noop()
    return max(0.0, (elapsed() - plain) / n * 1e6)


# --- the ratios ----------------------------------------------------------------------------------


def _ratios(results: dict[str, Any]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    if "latency_ms" not in (approvals := results.get("approvals") or {}):
        return ratios
    keel, base = approvals["latency_ms"]["keel"], approvals["latency_ms"]["baseline"]
    for q in ("p50", "p95", "mean"):
        ratios[f"keel_vs_bare_bolt_updated_{q}"] = keel["updated"][q] / base["updated"][q]
        ratios[f"keel_vs_bare_bolt_http_200_{q}"] = keel["http_200"][q] / base["http_200"][q]
    parts = approvals["updated_parts_ms"]["keel"]
    total = sum(parts.values())
    ratios["updated_share"] = {part: ms / total for part, ms in parts.items()}
    ratios["finished_vs_updated_p50"] = keel["finished"]["p50"] / keel["updated"]["p50"]
    for q in ("p50", "p95"):
        ratios[f"keel_both_done_vs_bare_bolt_updated_{q}"] = keel["both"][q] / base["updated"][q]
    return ratios


def _print_ratios(r: dict[str, Any]) -> None:
    if "keel_vs_bare_bolt_updated_p50" not in r:
        return
    lines = [
        (
            "keel / bare bolt, click → message updated: p50"
            f" {times(r['keel_vs_bare_bolt_updated_p50'])}, p95"
            f" {times(r['keel_vs_bare_bolt_updated_p95'])}, mean"
            f" {times(r['keel_vs_bare_bolt_updated_mean'])}"
        ),
        (
            "keel / bare bolt, click → HTTP 200: p50"
            f" {times(r['keel_vs_bare_bolt_http_200_p50'])}, p95"
            f" {times(r['keel_vs_bare_bolt_http_200_p95'])}"
        ),
        "share of keel's click → message updated: "
        + ", ".join(f"{part} {share:.0%}" for part, share in r["updated_share"].items()),
        (
            "keel click → run finished and message updated / bare bolt click → message updated:"
            f" p50 {times(r['keel_both_done_vs_bare_bolt_updated_p50'])}, p95"
            f" {times(r['keel_both_done_vs_bare_bolt_updated_p95'])}"
        ),
        "click → run finished / click → message updated, p50:"
        f" {times(r['finished_vs_updated_p50'])}",
    ]
    print("Ratios\n------\n" + "\n".join(lines) + "\n")
