"""A run's model calls stay within its workflow's budget: cheap past the soft limit,
stopped and escalated past the limit. The real SDK talks to the loopback Messages API."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from connectors.anthropic import AnthropicModel
from connectors.llm import Message
from connectors.offline import OfflineModel
from graph import RunStatus, Runtime, Services, parse_policy
from graph.router import Router
from graph.steps import State, StepScope, after, recover, step
from graph.workflow import Workflow
from memory import HashingEmbedder
from tests.fakes import Answer, MessagesAPI

POLICY = """
[workflows.draft.budget]
max_tokens = 3000
max_cost_usd = "1.00"
soft_limit = 0.5
[people]
maria = []
[escalation]
on_call = "maria"
"""


class Input(BaseModel):
    drafts: int


class DraftState(TypedDict, total=False):
    input: dict[str, Any]
    done: int
    failure: dict[str, Any]
    outcome: str


@step("draft")
def draft(state: State, scope: StepScope) -> State:
    scope.model(system="Write a product blurb.", messages=[Message.user("a blue mug")])
    return {"done": state.get("done", 0) + 1}


@step("finish")
def finish(state: State, scope: StepScope) -> State:
    return {"outcome": "succeeded"}


def build() -> StateGraph:
    g = StateGraph(DraftState)
    for node in (draft, finish, recover):
        g.add_node(node.__name__, node)
    g.add_edge(START, "draft")
    g.add_conditional_edges(
        "draft",
        lambda s: (
            "recover"
            if s.get("failure")
            else ("finish" if s["done"] >= s["input"]["drafts"] else "draft")
        ),
    )
    g.add_conditional_edges("finish", after(END))
    g.add_edge("recover", END)
    return g


DRAFT = Workflow(
    name="draft",
    version=1,
    input_model=Input,
    build=build,
    prepare=lambda _services, _policy, data: data,
)


def run_drafts(tmp_path, drafts: int) -> tuple[Runtime, str]:
    policy = parse_policy(POLICY)
    fake = MessagesAPI(
        responder=lambda _body: Answer(
            text="A mug.", usage={"input_tokens": 600, "output_tokens": 200}
        )
    )
    fake.start()
    runtime = Runtime.open(
        tmp_path,
        services=Services(shop=None, mail=None),  # type: ignore[arg-type]
        policy=policy,
        workflows={"draft": DRAFT},
    )
    strong, cheap = (
        AnthropicModel(name, api_key="sk-test", base_url=fake.url, max_retries=0)
        for name in (policy.models.strong, policy.models.cheap)
    )
    runtime.router = Router(
        store=runtime.store,
        clock=runtime.clock,
        models=policy.models,
        offline=OfflineModel(HashingEmbedder()),
        strong=strong,
        cheap=cheap,
    )
    run = runtime.start("draft", {"drafts": drafts}, requested_by="cleo")
    fake.stop()
    return runtime, run.id


def test_a_run_past_its_soft_limit_uses_the_cheap_model(tmp_path):
    runtime, run_id = run_drafts(tmp_path, drafts=3)
    assert runtime.get(run_id).run.status is RunStatus.SUCCEEDED
    calls = [e.data for e in runtime.events(run_id) if e.kind == "model.called"]
    policy = runtime.policy.models
    assert [c["model"] for c in calls] == [policy.strong, policy.strong, policy.cheap]
    assert calls[2]["route"].startswith("soft limit crossed")
    assert runtime.get(run_id).run.cost_usd > 0  # the run's cost is the sum of its calls
    runtime.close()


def test_a_run_past_its_budget_stops_and_escalates(tmp_path):
    runtime, run_id = run_drafts(tmp_path, drafts=10)
    detail = runtime.get(run_id)
    assert detail.run.status is RunStatus.FAILED
    assert "stopped by its model budget" in (detail.run.error or "")
    kinds = [e.kind for e in runtime.events(run_id)]
    assert kinds.count("model.called") == 4  # 4 x 800 tokens crosses 3,000; the 5th is refused
    assert "model.stopped" in kinds
    escalation = [e for e in runtime.events(run_id) if e.kind == "escalation.raised"]
    assert escalation and escalation[0].data["to"] == "maria"
    assert "budget" in escalation[0].data["reason"]
    runtime.close()
