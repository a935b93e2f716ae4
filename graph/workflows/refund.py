"""The refund process: look up the order, check policy, ask a person when the amount
calls for it, then refund, restock and tell the customer, each exactly once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors import NotFound as OrderNotFound
from connectors import Order

from ..errors import InvalidInput
from ..messages import refund_email
from ..policy import Policy
from ..records import ApprovalRequest, Risk
from ..services import Services
from ..steps import RunContext, State, StepScope, after, recover, step
from ..workflow import Workflow

NAME = "refund"
VERSION = 1


class RefundInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: int = Field(gt=0)
    amount: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    """What to refund; absent means all that is still refundable."""
    reason: str = Field(min_length=1, max_length=2000)
    restock: bool | None = None
    """Put the items back in stock; absent means yes for a full refund, no for a partial one."""
    customer: str | None = Field(default=None, max_length=300)
    """Who the order belongs to, as surfaces show it; filled in from the order at start."""

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reason is required")
        return value.strip()


class RefundState(TypedDict, total=False):
    input: dict[str, Any]
    order: dict[str, Any]
    needs_approval: bool
    decision: dict[str, Any]
    refund: dict[str, Any]
    restock: dict[str, Any]
    email: dict[str, Any]
    failure: dict[str, Any]
    outcome: str


def prepare(services: Services, policy: Policy, data: RefundInput) -> RefundInput:
    """Refuse what cannot succeed before a run exists; fill in the default amount."""
    try:
        order = services.shop.get_order(data.order_id)
    except OrderNotFound:
        raise InvalidInput(f"order {data.order_id} not found", field="order_id") from None
    refundable = order.refundable
    if refundable <= 0:
        raise InvalidInput(f"order {order.name} is already fully refunded", field="order_id")
    if data.amount is not None and data.amount > refundable:
        raise InvalidInput(
            f"amount {data.amount:.2f} is more than what is still refundable on order "
            f"{order.name} ({refundable:.2f} {order.currency})",
            field="amount",
        )
    return data.model_copy(
        update={"amount": data.amount or refundable, "customer": _customer(order) or data.customer}
    )


def _customer(order: Order) -> str | None:
    person = order.customer
    name = " ".join(p for p in (person.first_name, person.last_name) if p) if person else ""
    email = order.email or (person.email if person else None)
    if name and email:
        return f"{name} <{email}>"
    return name or email or None


def _input(state: RefundState) -> RefundInput:
    return RefundInput.model_validate(state["input"])


@step("lookup")
def lookup(state: RefundState, scope: StepScope) -> State:
    inp = _input(state)
    order = scope.read("get_order", lambda: scope.services.shop.get_order(inp.order_id))
    amount = inp.amount or order.refundable
    if amount > order.refundable:
        scope.fail(f"order {order.name} has only {order.refundable:.2f} left to refund")
    return {
        "input": {**state["input"], "amount": str(amount)},
        "order": {
            "id": order.id,
            "name": order.name,
            "email": order.email,
            "currency": order.currency,
            "first_name": order.customer.first_name if order.customer else "",
            "refundable": str(order.refundable),
            "total": str(order.total_price),
            "refunded": str(order.total_refunded),
            "items": [[li.inventory_item_id, li.quantity, li.sku] for li in order.line_items],
        },
    }


def _weighed(state: RefundState) -> tuple[Decimal, Decimal]:
    """(this refund, what policy weighs it as: it plus what the order already had refunded)."""
    amount = Decimal(state["input"]["amount"])
    return amount, amount + Decimal(state["order"].get("refunded", "0"))


@step("check_policy")
def check_policy(state: RefundState, scope: StepScope) -> State:
    amount, weighed = _weighed(state)
    needs = scope.policy.needs_approval(NAME, weighed)
    roles = scope.policy.approver_roles(NAME, weighed)
    scope.event(
        "policy.checked",
        amount=str(amount),
        weighed=str(weighed),
        needs_approval=needs,
        approver_roles=roles,
        threshold=str(scope.policy.workflow(NAME).approval_threshold),
    )
    if needs and not roles:
        scope.fail(
            f"no role in policy may approve a refund of {amount:.2f}"
            + (
                f" ({weighed:.2f} with what the order already had refunded)"
                if weighed != amount
                else ""
            )
        )
    return {"needs_approval": needs}


@step("approval")
def approval(state: RefundState, scope: StepScope) -> State:
    inp, order = _input(state), state["order"]
    amount, weighed = _weighed(state)
    risk: Risk = "high" if weighed >= Decimal(order["total"]) else "medium"
    before = weighed - amount
    earlier = f" ({before:.2f} already refunded on it)" if before else ""
    request = ApprovalRequest(
        workflow=NAME,
        what=f"Refund {amount:.2f} {order['currency']} on order {order['name']}{earlier}",
        why=inp.reason,
        amount=amount,
        currency=order["currency"],
        risk=risk,
        approver_roles=scope.policy.approver_roles(NAME, weighed),
        requested_by=scope.ctx.requested_by,
        weighed=weighed if before else None,
    )
    now: datetime = scope.ctx.clock.now()
    decision = scope.approval(request, deadline=now + scope.policy.escalation.deadline)
    return {"decision": decision.model_dump(mode="json")}


@step("refund")
def refund(state: RefundState, scope: StepScope) -> State:
    inp, order = _input(state), state["order"]
    amount = Decimal(state["input"]["amount"])
    result = scope.effect(
        "refund",
        lambda key: scope.services.shop.create_refund(
            order["id"],
            amount,
            order["currency"],
            inp.reason,
            idempotency_key=key,
        ).model_dump(mode="json"),
        request={"order_id": order["id"], "amount": str(amount)},
        lookup=lambda key: _found(scope.services.shop.find_refund(order["id"], key)),
        compensation=lambda r: {
            "name": "void_refund",
            "args": {"order_id": order["id"], "refund_id": r["id"]},
        },
    )
    return {"refund": result}


def _found(refund: Any) -> dict[str, Any] | None:
    return None if refund is None else refund.model_dump(mode="json")


def _restocks(state: RefundState) -> bool:
    wanted = _input(state).restock
    full = Decimal(state["input"]["amount"]) == Decimal(state["order"]["refundable"])
    return full if wanted is None else wanted


@step("restock")
def restock(state: RefundState, scope: StepScope) -> State:
    order = state["order"]
    if not _restocks(state):
        scope.event("restock.skipped", reason="partial refund")
        return {"restock": {"skipped": True}}
    changes = [(item_id, qty) for item_id, qty, _sku in order["items"]]
    result = scope.effect(
        "restock",
        lambda key: {
            "levels": [
                lvl.model_dump(mode="json")
                for lvl in scope.services.shop.adjust_inventory(
                    changes,
                    reason="restock",
                    reference=f"refund {order['name']}",
                    order_id=order["id"],
                    idempotency_key=key,
                )
            ]
        },
        request={"order_id": order["id"], "changes": changes},
        compensation=lambda _r: {
            "name": "unstock",
            "args": {"order_id": order["id"], "changes": [[i, -q] for i, q in changes]},
        },
    )
    return {"restock": result}


@step("notify")
def notify(state: RefundState, scope: StepScope) -> State:
    inp, order = _input(state), state["order"]
    subject, body = refund_email(
        first_name=order["first_name"],
        order_name=order["name"],
        amount=Decimal(state["input"]["amount"]),
        currency=order["currency"],
        reason=inp.reason,
        restocked=not (state.get("restock") or {}).get("skipped", True),
    )
    result = scope.effect(
        "email",
        lambda key: scope.services.mail.send(
            order["email"],
            subject,
            body,
            message_id=key,
            order_id=order["id"],
        ).model_dump(mode="json"),
        request={"to": order["email"], "subject": subject},
    )
    return {"email": result}


@step("done")
def done(state: RefundState, scope: StepScope) -> State:
    return {"outcome": "succeeded"}


@step("rejected")
def rejected(state: RefundState, scope: StepScope) -> State:
    decision = state["decision"]
    scope.event("refund.rejected", by=decision["by"], reason=decision.get("reason"))
    return {"outcome": "rejected"}


def build() -> StateGraph[RefundState, RunContext, RefundState, RefundState]:
    graph: StateGraph[RefundState, RunContext, RefundState, RefundState] = StateGraph(RefundState)
    for node in (lookup, check_policy, approval, refund, restock, notify, done, rejected, recover):
        graph.add_node(node.__name__, node)
    graph.add_edge(START, "lookup")
    graph.add_conditional_edges("lookup", after("check_policy"))
    graph.add_conditional_edges(
        "check_policy",
        lambda s: (
            "recover" if s.get("failure") else ("approval" if s["needs_approval"] else "refund")
        ),
    )
    graph.add_conditional_edges(
        "approval",
        lambda s: (
            "recover"
            if s.get("failure")
            else ("refund" if s["decision"]["approved"] else "rejected")
        ),
    )
    graph.add_conditional_edges("refund", after("restock"))
    graph.add_conditional_edges("restock", after("notify"))
    graph.add_conditional_edges("notify", after("done"))
    for last in ("done", "rejected", "recover"):
        graph.add_edge(last, END)
    return graph


def _void_refund(services: Services, args: dict[str, Any], key: str) -> dict[str, Any]:
    return services.shop.void_refund(
        args["order_id"], args["refund_id"], idempotency_key=key
    ).model_dump(mode="json")


def _unstock(services: Services, args: dict[str, Any], key: str) -> dict[str, Any]:
    levels = services.shop.adjust_inventory(
        [(i, d) for i, d in args["changes"]],
        reason="refund reversed",
        reference=f"order {args['order_id']}",
        order_id=args["order_id"],
        idempotency_key=key,
    )
    return {"levels": [lvl.model_dump(mode="json") for lvl in levels]}


def _describe(data: dict[str, Any]) -> str:
    amount = data.get("amount")
    return f"order {data.get('order_id')}" + (f", {amount}" if amount else "")


WORKFLOW = Workflow(
    name=NAME,
    version=VERSION,
    input_model=RefundInput,
    build=build,
    prepare=prepare,
    compensations={"void_refund": _void_refund, "unstock": _unstock},
    describe=_describe,
    exclusive_on="order_id",
)
