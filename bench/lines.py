"""The same straight line of N steps, each one in-process call, as a Keel workflow, a bare
LangGraph graph and a DBOS workflow, so their per-step costs can be compared."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict

from graph import Policy, RunStatus, Runtime, Services, Store, parse_policy
from graph.steps import State, StepScope, step
from graph.workflow import Workflow

from .probes import TimedSaver, TimedStore

POLICY: Policy = parse_policy('[escalation]\non_call = "bench"\n[people]\nbench = []\n')


class Api:
    """The in-process "API" every step calls: no I/O, just counts calls so none go missing."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, key: str) -> dict[str, Any]:
        self.calls += 1
        return {"n": 1, "key": key}


class LineInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineState(TypedDict, total=False):
    input: dict[str, Any]
    acc: int
    failure: dict[str, Any]
    outcome: str


def _names(steps: int) -> list[str]:
    return [f"s{i}" for i in range(steps)]


def keel_workflow(steps: int, api: Api) -> Workflow:
    """`steps` Keel steps in a line, each one `scope.effect(...)` of `api`."""

    def node(name: str, last: bool) -> Any:
        @step(name)
        def effect_step(state: State, scope: StepScope) -> State:
            result = scope.effect("touch", api, request={})
            update: State = {"acc": state.get("acc", 0) + result["n"]}
            if last:
                update["outcome"] = "succeeded"
            return update

        return effect_step

    def build() -> StateGraph:
        graph = StateGraph(LineState)
        names = _names(steps)
        for i, name in enumerate(names):
            graph.add_node(name, node(name, i == steps - 1))
        for a, b in zip([START, *names], [*names, END], strict=True):
            graph.add_edge(a, b)
        return graph

    return Workflow(
        name=f"line{steps}",
        version=1,
        input_model=LineInput,
        build=build,
        prepare=lambda _services, _policy, data: data,
    )


def open_keel(
    home: Path,
    workflows: dict[str, Workflow],
    *,
    store: Store | None = None,
    saver: SqliteSaver | None = None,
) -> Runtime:
    """A runtime with no connectors; `store` and `saver` replace the embedded default's."""
    services = Services(shop=None, mail=None)  # type: ignore[arg-type]  # the line calls none
    if store is None and saver is None:
        return Runtime.open(home, services=services, policy=POLICY, workflows=workflows)
    assert store is not None and saver is not None
    saver.setup()
    return Runtime(
        store=store, checkpointer=saver, services=services, policy=POLICY, workflows=workflows
    )


def checkpoint_connection(path: Path) -> sqlite3.Connection:
    """The checkpointer's connection, opened as `Runtime.open` opens it."""
    return sqlite3.connect(str(path), check_same_thread=False, timeout=30)


def bare_graph(steps: int, api: Api, saver: SqliteSaver) -> Any:
    """The same line as plain LangGraph nodes: the same call, no run store, no events."""

    def node(last: bool) -> Any:
        def plain(state: LineState) -> LineState:
            result = api("bare")
            update: LineState = {"acc": state.get("acc", 0) + result["n"]}
            if last:
                update["outcome"] = "succeeded"
            return update

        return plain

    graph = StateGraph(LineState)
    names = _names(steps)
    for i, name in enumerate(names):
        graph.add_node(name, node(i == steps - 1))
    for a, b in zip([START, *names], [*names, END], strict=True):
        graph.add_edge(a, b)
    saver.setup()
    return graph.compile(checkpointer=saver)


def dbos_line(api: Api) -> Any:
    """A DBOS workflow running `steps` steps, each a `@DBOS.step()` calling `api`.

    Registered when called, so importing this module never needs DBOS installed.
    """
    from dbos import DBOS

    @DBOS.step()
    def touch(i: int) -> dict[str, Any]:
        return api("dbos")

    @DBOS.workflow()
    def line(steps: int) -> int:
        acc = 0
        for i in range(steps):
            acc += touch(i)["n"]
        return acc

    return line


# --- the three systems, each able to run the line with a few lengths ------------------------


class KeelLine:
    name = "keel"

    def __init__(self, home: Path, lengths: tuple[int, ...], *, timed: bool = False) -> None:
        self.api = Api()
        workflows = {f"line{n}": keel_workflow(n, self.api) for n in lengths}
        self.store: Store | None = None
        self.saver: SqliteSaver | None = None
        if timed:
            home.mkdir(parents=True, exist_ok=True)
            self.store = TimedStore(
                sqlite3.connect(str(home / "keel.db"), check_same_thread=False, timeout=30)
            )
            self.saver = TimedSaver(checkpoint_connection(home / "checkpoints.db"))
        self.runtime = open_keel(home, workflows, store=self.store, saver=self.saver)

    def run(self, steps: int) -> None:
        run = self.runtime.start(f"line{steps}", {}, requested_by="bench")
        if run.status is not RunStatus.SUCCEEDED:
            raise RuntimeError(f"keel line{steps} ended {run.status}: {run.error}")

    def close(self) -> None:
        self.runtime.close()


class BareLine:
    name = "bare langgraph"

    def __init__(self, home: Path, lengths: tuple[int, ...], *, timed: bool = False) -> None:
        self.api = Api()
        home.mkdir(parents=True, exist_ok=True)
        conn = checkpoint_connection(home / "checkpoints.db")
        if timed:
            self.saver: SqliteSaver = TimedSaver(conn)
        else:
            self.saver = SqliteSaver(conn)
        self.graphs = {n: bare_graph(n, self.api, self.saver) for n in lengths}

    def run(self, steps: int) -> None:
        config = {"configurable": {"thread_id": uuid.uuid4().hex}}
        values = self.graphs[steps].invoke({"input": {}}, config, durability="sync")
        if values.get("outcome") != "succeeded" or values.get("acc") != steps:
            raise RuntimeError(f"bare line{steps} ended with {values}")

    def close(self) -> None:
        self.saver.conn.close()


class DbosLine:
    """DBOS on a SQLite system database; DBOS is a process-wide singleton, so one at a time."""

    def __init__(self, path: Path, line: Any, api: Api, *, wal: bool) -> None:
        from dbos import DBOS

        self.name = "dbos (sqlite, wal)" if wal else "dbos (sqlite, default journal)"
        self.api = api
        self._line = line
        if wal:  # journal_mode=WAL is stored in the file, so DBOS's connections find it
            conn = sqlite3.connect(str(path))
            conn.execute("PRAGMA journal_mode=WAL")
            conn.close()
        DBOS(
            config={
                "name": "keel-bench",
                "system_database_url": f"sqlite:///{path}",
                "log_level": "WARNING",
            }
        )
        try:
            DBOS.launch()
        except BaseException:
            DBOS.destroy()
            raise
        self.journal = _pragma(path, "journal_mode")

    def run(self, steps: int) -> None:
        if (acc := self._line(steps)) != steps:
            raise RuntimeError(f"dbos line({steps}) returned {acc}")

    def close(self) -> None:
        from dbos import DBOS

        DBOS.destroy()


def _pragma(path: Path, name: str) -> str:
    conn = sqlite3.connect(str(path))
    try:
        return str(conn.execute(f"PRAGMA {name}").fetchone()[0])
    finally:
        conn.close()
