"""Recurring jobs: what each did last and when it runs next, run now (here or from another
process through the inbox), failures kept as results, the standard jobs' work."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from app.scheduler import RUN_JOB, AttachedSchedules, Job, JobInfo, Scheduler, standard_jobs
from graph import ManualClock, NotFound, RunStateError, Runtime, Worker

from ..support import orders


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def last_result(scheduler: Scheduler | AttachedSchedules, job_id: str) -> str | None:
    return next(j.last_result for j in scheduler.jobs() if j.id == job_id)


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[tuple[Scheduler, list[int]]]:
    calls: list[int] = []

    def count() -> str:
        calls.append(1)
        return f"counted {len(calls)}"

    def broken() -> str:
        raise RuntimeError("the store is down")

    scheduler = Scheduler(
        [
            Job("count", "Count", IntervalTrigger(hours=1), count),
            Job("broken", "Broken", IntervalTrigger(hours=1), broken),
        ],
        tmp_path / "schedules.json",
    )
    scheduler.start()
    yield scheduler, calls
    scheduler.shutdown()


def test_jobs_show_their_schedule_and_run_now_leaves_it_as_it_was(counted) -> None:
    scheduler, calls = counted
    [before, _] = scheduler.jobs()
    assert before.last_run is None and before.next_run is not None
    assert "interval[1:00:00]" in before.trigger

    scheduler.run_now("count")
    eventually(lambda: last_result(scheduler, "count") == "counted 1")

    [after, _] = scheduler.jobs()
    assert after.next_run == before.next_run and after.last_run is not None
    assert calls == [1]


def test_a_failing_job_keeps_its_failure_as_the_result(counted) -> None:
    scheduler, _ = counted
    scheduler.run_now("broken")
    eventually(lambda: last_result(scheduler, "broken") is not None)
    assert last_result(scheduler, "broken") == "failed: RuntimeError: the store is down"
    assert {j.id for j in scheduler.jobs()} == {"count", "broken"}


def test_an_unknown_job_is_refused(counted) -> None:
    scheduler, _ = counted
    with pytest.raises(NotFound, match=r"no scheduled job 'nope'.*count, broken"):
        scheduler.run_now("nope")


def test_another_process_sees_the_jobs_and_runs_one_through_the_inbox(
    counted, runtime: Runtime, tmp_path: Path
) -> None:
    scheduler, calls = counted
    worker = Worker(runtime, tick_every=None, commands={RUN_JOB: scheduler.command})
    stop = threading.Event()
    serving = threading.Thread(target=worker.serve, args=(stop,))
    serving.start()
    attached = AttachedSchedules(runtime, tmp_path / "schedules.json", "maria")
    try:
        assert [j.id for j in attached.jobs()] == ["count", "broken"]
        assert all(isinstance(j, JobInfo) and j.next_run for j in attached.jobs())

        attached.run_now("count")
        eventually(lambda: last_result(attached, "count") == "counted 1")
        with pytest.raises(NotFound, match="no scheduled job"):
            attached.run_now("nope")
    finally:
        stop.set()
        serving.join()
    assert calls == [1]


def test_the_escalation_sweep_and_the_digest_say_what_they_did(
    runtime: Runtime, clock: ManualClock, services, tmp_path: Path
) -> None:
    jobs = {job.id: job for job in standard_jobs(runtime)}
    assert jobs["escalations"].run() == "nothing due"
    assert jobs["reconciliation-digest"].run() == "no open items"
    order = orders(services.shop, over="100.00", under="250.00")[0]
    runtime.start("refund", {"order_id": order.id, "reason": "late"}, "sam")

    clock.advance(timedelta(hours=4, minutes=1))

    assert jobs["escalations"].run() == "1 escalated"
    assert "demo-shop" not in jobs


def test_a_job_failing_then_recovering_is_two_events_however_many_ticks_fail(
    runtime: Runtime, tmp_path: Path
) -> None:
    outcomes = iter(
        [
            RuntimeError("store down"),
            RuntimeError("store down"),
            RuntimeError("still down"),
            "synced 3",
            "synced 0",
        ]
    )

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def record(kind: str, data: dict[str, object]) -> None:
        runtime.store.append_event(None, kind, actor="scheduler", data=data)

    scheduler = Scheduler(
        [Job("flaky", "Flaky sync", IntervalTrigger(hours=1), flaky)],
        tmp_path / "schedules.json",
        record=record,
    )
    for _ in range(5):  # five ticks, one after another, as APScheduler calls them
        scheduler._run("flaky")
    assert last_result(scheduler, "flaky") == "synced 0"
    failed, recovered = runtime.store.events(kinds=["schedule.failed", "schedule.recovered"])
    assert (failed.kind, failed.actor, failed.data["job"]) == (
        "schedule.failed",
        "scheduler",
        "flaky",
    )
    assert failed.data["error"] == "RuntimeError: store down"
    assert recovered.kind == "schedule.recovered" and recovered.data["result"] == "synced 3"
    assert recovered.data["failing_since"]
    assert runtime.store.verify().ok


def test_a_running_job_is_not_started_twice(tmp_path: Path) -> None:
    inside, release, runs = threading.Event(), threading.Event(), []

    def slow() -> str:
        runs.append(1)
        inside.set()
        assert release.wait(10)
        return "done"

    scheduler = Scheduler(
        [Job("slow", "Slow sync", IntervalTrigger(hours=1), slow)], tmp_path / "schedules.json"
    )
    scheduler.start()
    try:
        scheduler.run_now("slow")
        assert inside.wait(10)
        with pytest.raises(RunStateError, match="“Slow sync” is running now"):
            scheduler.run_now("slow")
        scheduler._run("slow")  # a tick meanwhile is skipped, not run beside it
        release.set()
        eventually(lambda: last_result(scheduler, "slow") == "done")
        scheduler.run_now("slow")  # finished: it may run again
        eventually(lambda: len(runs) == 2)
    finally:
        release.set()
        scheduler.shutdown()
