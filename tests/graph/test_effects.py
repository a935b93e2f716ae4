"""The effect helper's promises, shown on small workflows with a crash injected in-process.

A `Crash` is a BaseException: like `kill -9` it unwinds past every `except Exception`,
leaving the store and the checkpoints exactly as a dead process would.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from graph import ManualClock, RunStatus, Runtime, Services, parse_policy
from graph.steps import State, StepScope, recover, step
from graph.workflow import Workflow


class Crash(BaseException):
    pass


class Input(BaseModel):
    passes: int = 1


class PokeState(TypedDict, total=False):
    input: dict[str, Any]
    passes: int
    results: list[dict[str, Any]]
    failure: dict[str, Any]
    outcome: str


class Api:
    """Stands in for a remote API: records each call's key; can die before or after acting."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.crash_after: set[int] = set()
        self.crash_after_effect_returns = False
        self.known: dict[str, dict[str, Any]] = {}

    def call(self, key: str) -> dict[str, Any]:
        self.keys.append(key)
        self.known[key] = {"n": len(self.keys)}
        if len(self.keys) in self.crash_after:
            raise Crash
        return self.known[key]


def poke_workflow(api: Api, *, keyed: bool, lookup: bool = False) -> Workflow:
    @step("poke")
    def poke(state: State, scope: StepScope) -> State:
        result = scope.effect(
            "poke", api.call, request={}, keyed=keyed, lookup=api.known.get if lookup else None
        )
        if api.crash_after_effect_returns:
            api.crash_after_effect_returns = False
            raise Crash
        return {
            "passes": state.get("passes", 0) + 1,
            "results": [*state.get("results", []), result],
        }

    @step("done")
    def done(state: State, scope: StepScope) -> State:
        return {"outcome": "succeeded"}

    def build() -> StateGraph:
        g = StateGraph(PokeState)
        g.add_node("poke", poke)
        g.add_node("done", done)
        g.add_node("recover", recover)
        g.add_edge(START, "poke")
        g.add_conditional_edges(
            "poke",
            lambda s: (
                "recover"
                if s.get("failure")
                else ("done" if s["passes"] >= s["input"]["passes"] else "poke")
            ),
        )
        g.add_edge("done", END)
        g.add_edge("recover", END)
        return g

    return Workflow(
        name="poke",
        version=1,
        input_model=Input,
        build=build,
        prepare=lambda _services, _policy, data: data,
    )


POLICY = parse_policy('[escalation]\non_call = "maria"\n[people]\nmaria = []\n')


def _open(home, workflow) -> Runtime:
    return Runtime.open(
        home,
        services=Services(shop=None, mail=None),  # type: ignore[arg-type]
        policy=POLICY,
        clock=ManualClock(),
        workflows={"poke": workflow},
    )


def test_each_pass_of_a_loop_gets_its_own_key(tmp_path):
    api = Api()
    rt = _open(tmp_path, poke_workflow(api, keyed=True))
    run = rt.start("poke", {"passes": 3}, requested_by="cleo")
    assert run.status is RunStatus.SUCCEEDED
    assert len(api.keys) == 3 and len(set(api.keys)) == 3
    assert [e.kind for e in rt.events(run.id)].count("effect.performed") == 3


def test_a_crash_mid_call_is_retried_with_the_same_key_where_the_api_honours_keys(tmp_path):
    api = Api()
    api.crash_after = {1}
    rt = _open(tmp_path, poke_workflow(api, keyed=True))
    with pytest.raises(Crash):
        rt.start("poke", {}, requested_by="cleo")
    [run] = rt.runs()
    assert run.status is RunStatus.RUNNING

    restarted = _open(tmp_path, poke_workflow(api, keyed=True))
    assert restarted.recover() == [run.id]

    assert restarted.get(run.id).run.status is RunStatus.SUCCEEDED
    assert api.keys[0] == api.keys[1]  # the same key, so the API replays, never repeats
    kinds = [e.kind for e in restarted.events(run.id)]
    assert "run.recovered" in kinds and "effect.retried" in kinds


def test_an_unkeyed_call_with_unknown_outcome_is_escalated_never_repeated(tmp_path):
    api = Api()
    api.crash_after = {1}
    rt = _open(tmp_path, poke_workflow(api, keyed=False))
    with pytest.raises(Crash):
        rt.start("poke", {}, requested_by="cleo")

    restarted = _open(tmp_path, poke_workflow(api, keyed=False))
    [run_id] = restarted.recover()

    detail = restarted.get(run_id)
    assert len(api.keys) == 1
    assert detail.run.status is RunStatus.FAILED
    [item] = detail.reconciliations
    assert item.kind == "effect_outcome_unknown" and item.status == "open"
    assert [e.status for e in detail.effects] == ["unknown"]
    assert "escalation.raised" in [e.kind for e in restarted.events(run_id)]


def test_an_unkeyed_call_is_looked_up_after_a_crash(tmp_path):
    api = Api()
    api.crash_after = {1}
    rt = _open(tmp_path, poke_workflow(api, keyed=False, lookup=True))
    with pytest.raises(Crash):
        rt.start("poke", {}, requested_by="cleo")

    restarted = _open(tmp_path, poke_workflow(api, keyed=False, lookup=True))
    [run_id] = restarted.recover()

    assert restarted.get(run_id).run.status is RunStatus.SUCCEEDED
    assert len(api.keys) == 1
    performed = [e for e in restarted.events(run_id) if e.kind == "effect.performed"]
    assert performed[-1].data["recovered"] is True


def test_a_node_rerun_after_its_effect_finished_replays_the_stored_result(tmp_path):
    api = Api()
    api.crash_after_effect_returns = True
    rt = _open(tmp_path, poke_workflow(api, keyed=True))
    with pytest.raises(Crash):
        rt.start("poke", {}, requested_by="cleo")

    restarted = _open(tmp_path, poke_workflow(api, keyed=True))
    [run_id] = restarted.recover()

    assert restarted.get(run_id).run.status is RunStatus.SUCCEEDED
    assert len(api.keys) == 1
    assert "effect.replayed" in [e.kind for e in restarted.events(run_id)]
