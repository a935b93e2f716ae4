"""Instruments for the breakdown pass: a run store and a checkpointer that time their own calls,
and a counter of SQLite commits. Handed to `Runtime(...)` through its constructor, never patched in.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from graph import Store

# The store's calls that touch the database; a call made inside another counts towards the outer.
_STORE_CALLS = (
    "append_event",
    "events",
    "create_run",
    "run",
    "runs",
    "set_run",
    "transition",
    "finish_run",
    "ensure_approval",
    "approval",
    "latest_approval",
    "approvals",
    "settle_approval",
    "effect",
    "effects",
    "start_effect",
    "retry_effect",
    "settle_effect",
    "reconciliations",
    "open_reconciliation",
)


class Ledger:
    """Seconds and calls per label, summed over every thread."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, label: str, seconds: float) -> None:
        with self._lock:
            self.seconds[label] += seconds
            self.calls[label] += 1

    def clear(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()


class TimedStore(Store):
    """The run store, timing each outermost call; a bare `tx()` is labelled by what ran inside."""

    def __init__(self, conn: sqlite3.Connection, clock: Any = None) -> None:
        self.timings = Ledger()
        self._frames = threading.local()
        super().__init__(conn, clock)

    def _stack(self) -> list[list[str]]:
        stack = getattr(self._frames, "stack", None)
        if stack is None:
            stack = self._frames.stack = []
        return stack

    def _timed(self, label: str, call: Callable[[], Any]) -> Any:
        stack = self._stack()
        if stack:
            if label not in stack[0]:
                stack[0].append(label)
            return call()
        stack.append([])
        started = time.perf_counter()
        try:
            return call()
        finally:
            self.timings.add(label, time.perf_counter() - started)
            stack.pop()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        stack = self._stack()
        if stack:
            with super().tx() as conn:
                yield conn
            return
        inner: list[str] = []
        stack.append(inner)
        started = time.perf_counter()
        try:
            with super().tx() as conn:
                yield conn
        finally:
            self.timings.add(f"tx{{{'+'.join(inner)}}}", time.perf_counter() - started)
            stack.pop()


def _timed_method(name: str) -> Callable[..., Any]:
    original = getattr(Store, name)

    def method(self: TimedStore, *args: Any, **kwargs: Any) -> Any:
        return self._timed(name, lambda: original(self, *args, **kwargs))

    method.__name__ = name
    return method


for _name in _STORE_CALLS:
    setattr(TimedStore, _name, _timed_method(_name))


class TimedSaver(SqliteSaver):
    """LangGraph's SQLite checkpointer, timing its reads and writes."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        self.timings = Ledger()

    def _time(self, label: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return call()
        finally:
            self.timings.add(label, time.perf_counter() - started)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        return self._time("checkpoint.put", lambda: super(TimedSaver, self).put(*args, **kwargs))

    def put_writes(self, *args: Any, **kwargs: Any) -> Any:
        return self._time(
            "checkpoint.put_writes", lambda: super(TimedSaver, self).put_writes(*args, **kwargs)
        )

    def get_tuple(self, *args: Any, **kwargs: Any) -> Any:
        return self._time(
            "checkpoint.get_tuple", lambda: super(TimedSaver, self).get_tuple(*args, **kwargs)
        )


class Commits:
    """Counts COMMIT statements on the sqlite3 connections it watches, by connection name."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def watch(self, name: str, conn: sqlite3.Connection) -> None:
        def seen(sql: str) -> None:
            if sql.lstrip()[:6].upper() == "COMMIT":
                self.counts[name] += 1

        conn.set_trace_callback(seen)

    def clear(self) -> None:
        self.counts.clear()
