"""Pure functions from graph records to Slack Block Kit JSON; no I/O happens here."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from graph import Approval, Event, Run, RunDetail, RunStatus
from graph.policy import Delegation

from . import messages as m

Block = dict[str, Any]
Mention = Callable[[str], str]
"""Shows a person (a Keel user name) in Slack, e.g. as `<@U123>`; default: the plain name."""

APPROVE = "approve"
REJECT = "reject"
REJECT_REASON = "reject_reason"
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
REASON = "reason"

SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000
HEADER_TEXT_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
VALUE_LIMIT = 2000
BLOCK_ID_LIMIT = 255
MESSAGE_BLOCK_LIMIT = 50
HOME_BLOCK_LIMIT = 100
REASON_SHOWN_LIMIT = 500
"""A rejection reason is clipped to this in messages; the full text stays in the run store."""


def plain_name(person: str) -> str:
    return person


def clip(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - len(m.TRUNCATED)] + m.TRUNCATED


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str, limit: int = SECTION_TEXT_LIMIT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": _mrkdwn(text), **extra}


def _fields(pairs: Iterable[tuple[str, str]]) -> Block:
    # A section holds at most 10 fields.
    return {
        "type": "section",
        "fields": [_mrkdwn(f"*{k}*\n{v}", FIELD_TEXT_LIMIT) for k, v in pairs][:10],
    }


def _context(text: str, **extra: Any) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)], **extra}


def _cap(blocks: list[Block], limit: int = MESSAGE_BLOCK_LIMIT) -> list[Block]:
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], _context(m.TRUNCATED)]


def run_root(
    detail: RunDetail, permalink_hint: str | None = None, mention: Mention = plain_name
) -> list[Block]:
    """The thread's root message for a run; re-rendered and replaced as the run moves."""
    run = detail.run
    pending = detail.pending
    amount = run.input.get("amount")
    currency = pending.request.currency if pending else "USD"
    if amount is None and pending and pending.request.amount is not None:
        amount = pending.request.amount
    pairs = [("Status", m.run_status(run.status)), ("Amount", m.money(amount, currency))]
    customer = run.input.get("customer") or run.outcome.get("customer")
    if customer:
        pairs.append(("Customer", escape(str(customer))))
    if "order_id" in run.input:
        pairs.append(("Order", escape(str(run.input["order_id"]))))
    pairs += [
        ("Step", escape(run.step) if run.step and not run.status.terminal else "-"),
        ("Cost so far", m.cost(run.cost_usd)),
        ("Requested by", mention(run.requested_by)),
    ]
    blocks: list[Block] = [
        {
            "type": "header",
            "block_id": f"run-{run.id}-header",
            "text": _plain(m.run_heading(run.workflow, run.id), HEADER_TEXT_LIMIT),
        },
        {**_fields(pairs), "block_id": f"run-{run.id}-fields"},
    ]
    if reason := run.input.get("reason"):
        blocks.append(
            _section(
                f"*Reason*\n{clip(escape(str(reason)), REASON_SHOWN_LIMIT)}",
                block_id=f"run-{run.id}-reason",
            )
        )
    if run.error:
        blocks.append(_section(f"*Error*\n{escape(run.error)}", block_id=f"run-{run.id}-error"))
    if permalink_hint:
        blocks.append(_context(permalink_hint, block_id=f"run-{run.id}-hint"))
    return _cap(blocks)


def run_fallback(run: Run) -> str:
    """The notification text that goes with `run_root`."""
    return m.run_fallback(run.workflow, run.id, run.status)


def step_reply(event: Event, mention: Mention = plain_name) -> list[Block]:
    """One context line for a meaningful step event; [] for events people needn't see."""
    text = step_line(event, mention)
    return [_context(text, block_id=f"event-{event.id}")] if text else []


def step_line(event: Event, mention: Mention = plain_name) -> str | None:
    d = event.data
    step = escape(event.step or "")
    match event.kind:
        case "step.finished":
            took = "" if event.duration_ms is None else f" in {m.duration(event.duration_ms)}"
            return m.STEP_FINISHED.format(step=step, took=took)
        case "step.failed":
            return m.STEP_FAILED.format(step=step, error=escape(str(d.get("error", "?"))))
        case "effect.performed":
            return m.EFFECT_PERFORMED.format(
                kind=escape(str(d.get("kind", "?"))), step=f" ({step})" if step else ""
            )
        case "effect.failed":
            return m.EFFECT_FAILED.format(
                kind=escape(str(d.get("kind", "?"))), error=escape(str(d.get("error", "?")))
            )
        case "compensation.performed":
            name = f" ({escape(str(d['name']))})" if d.get("name") else ""
            return m.COMPENSATION_PERFORMED.format(
                effect=escape(str(d.get("effect", "?"))), name=name
            )
        case "compensation.failed":
            return m.COMPENSATION_FAILED.format(
                effect=escape(str(d.get("effect", "?"))), error=escape(str(d.get("error", "?")))
            )
        case "escalation.raised":
            to = mention(str(d["to"])) if d.get("to") else "on-call"
            reason = clip(escape(str(d.get("reason", ""))), REASON_SHOWN_LIMIT)
            return m.ESCALATION_RAISED.format(to=to, reason=reason)
        case "approval.decided" | "approval.expired":
            status = str(d.get("decision") or d.get("outcome") or "?")
            by = mention(event.actor) if event.actor not in (None, "policy") else "policy"
            why = d.get("reason") or (
                m.EXPIRED_REASON if event.kind == "approval.expired" else None
            )
            shown = clip(escape(str(why)), REASON_SHOWN_LIMIT) if why else None
            return m.decided_line(status, by, event.at, shown)
        case "approval.voted":
            return m.VOTED.format(
                by=mention(event.actor or "?"),
                votes=d.get("votes", "?"),
                quorum=d.get("quorum", "?"),
            )
        case "approval.escalated":
            return m.ESCALATED.format(
                role=escape(str(d.get("role", "?"))),
                level=d.get("level", "?"),
                who=m.people([mention(p) for p in d.get("notify") or []]),
            )
        case "approval.reminded":
            return m.REMINDED.format(
                who=m.people([mention(p) for p in d.get("notify") or []]),
                deadline=escape(str(d.get("deadline") or "-")),
            )
        case "run.finished":
            status = str(d.get("status", "?"))
            try:
                word = m.run_status(RunStatus(status))
            except ValueError:
                word = escape(status)
            return m.RUN_FINISHED.format(status=word)
    return None


def approval_key(approval: Approval) -> str:
    """A block_id stem unique to this approval's current state, so re-renders never collide."""
    return clip(
        f"approval-{approval.id}-{approval.status}-{approval.escalation_level}"
        f"-{len(approval.votes)}",
        BLOCK_ID_LIMIT - 16,
    )


def _approval_body(
    approval: Approval, heading: str, mention: Mention, standins: Sequence[Delegation] = ()
) -> list[Block]:
    req = approval.request
    key = approval_key(approval)
    roles = m.may_approve([mention(r) for r in req.approver_roles])
    pairs = [
        ("Amount", m.money(req.amount, req.currency)),
        ("Risk", m.risk(req.risk)),
        ("Deadline", m.when(approval.deadline)),
        ("Who may approve", roles),
        ("Requested by", mention(req.requested_by)),
        ("Run", escape(approval.run_id)),
    ]
    if approval.quorum > 1:
        pairs.append(
            (
                "Approvals",
                m.votes(
                    len(approval.votes), approval.quorum, [mention(v.by) for v in approval.votes]
                ),
            )
        )
    blocks = [
        _section(f"*{clip(escape(heading), 500)}*\n{escape(req.why)}", block_id=f"{key}-what"),
        {**_fields(pairs), "block_id": f"{key}-fields"},
    ]
    if standins:
        lines = [m.standing_in(mention(d.from_), mention(d.to), d.ends) for d in standins]
        blocks.append(_context("\n".join(lines), block_id=f"{key}-standins"))
    return blocks


def approval_request(
    approval: Approval, mention: Mention = plain_name, standins: Sequence[Delegation] = ()
) -> list[Block]:
    """The message asking for a decision, with Approve and Reject buttons; `standins` are
    the delegations in force for people who may decide it."""
    key = approval_key(approval)
    value = clip(approval.id, VALUE_LIMIT)
    actions = {
        "type": "actions",
        "block_id": f"{key}-actions",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE,
                "style": "primary",
                "value": value,
                "text": _plain(m.APPROVE_BUTTON, BUTTON_TEXT_LIMIT),
            },
            {
                "type": "button",
                "action_id": REJECT,
                "style": "danger",
                "value": value,
                "text": _plain(m.REJECT_BUTTON, BUTTON_TEXT_LIMIT),
            },
        ],
    }
    heading = m.approval_heading(approval.request.what)
    if approval.escalation_level:
        heading = f"{heading} (escalation level {approval.escalation_level})"
    return _cap([*_approval_body(approval, heading, mention, standins), actions])


def approval_fallback(approval: Approval) -> str:
    return m.approval_fallback(approval.request.what)


def approval_decided(approval: Approval, mention: Mention = plain_name) -> list[Block]:
    """The same approval once settled: the buttons give way to who decided, when and why."""
    key = approval_key(approval)
    by = mention(approval.decided_by) if approval.decided_by else "Keel"
    reason = clip(escape(approval.reason), REASON_SHOWN_LIMIT) if approval.reason else None
    line = m.decided_line(approval.status, by, approval.decided_at, reason)
    return _cap(
        [
            *_approval_body(approval, approval.request.what, mention),
            _context(line, block_id=f"{key}-decided"),
        ]
    )


def decided_fallback(approval: Approval, mention: Mention = plain_name) -> str:
    by = mention(approval.decided_by) if approval.decided_by else "Keel"
    return m.decided_fallback(approval.status, approval.request.what, by)


def reject_reason_modal(approval_id: str, channel: str | None = None) -> dict[str, Any]:
    """The `views.open` modal that asks why; the approval id (and the channel the click came
    from, to answer there) ride in private_metadata."""
    return {
        "type": "modal",
        "callback_id": REJECT_REASON,
        "private_metadata": json.dumps({"approval_id": approval_id, "channel": channel}),
        "title": _plain(m.REJECT_MODAL_TITLE, 24),
        "submit": _plain(m.REJECT_MODAL_SUBMIT, 24),
        "close": _plain(m.REJECT_MODAL_CLOSE, 24),
        "blocks": [
            {
                "type": "input",
                "block_id": REASON,
                "label": _plain(m.REJECT_REASON_LABEL, 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON,
                    "multiline": True,
                    "min_length": 3,
                    "max_length": 3000,
                    "placeholder": _plain(m.REJECT_REASON_PLACEHOLDER, 150),
                },
            }
        ],
    }


def approval_id_from(view: dict[str, Any]) -> str:
    """The approval id a submitted reject-reason modal carries in its private_metadata."""
    return str(json.loads(view["private_metadata"])["approval_id"])


def channel_from(view: dict[str, Any]) -> str | None:
    """The channel the Reject click came from, if it came from one."""
    channel = json.loads(view["private_metadata"]).get("channel")
    return str(channel) if channel else None


def reason_from(view: dict[str, Any]) -> str:
    """The reason typed into a submitted reject-reason modal ('' when empty)."""
    value = view["state"]["values"][REASON][REASON].get("value")
    return (value or "").strip()


def home_view(
    pending: list[Approval],
    recent: list[Run],
    metrics: dict[str, Any],
    mention: Mention = plain_name,
    standins: Callable[[Approval], Sequence[Delegation]] = lambda _a: (),
) -> dict[str, Any]:
    """The App Home tab: what waits on the viewer, recent runs, a few metrics."""
    blocks: list[Block] = [
        {
            "type": "header",
            "block_id": "home-pending",
            "text": _plain(m.HOME_PENDING, HEADER_TEXT_LIMIT),
        }
    ]
    if not pending:
        blocks.append(_section(m.HOME_NO_PENDING, block_id="home-pending-none"))
    for approval in pending[:10]:
        blocks += approval_request(approval, mention, standins(approval))
        blocks.append({"type": "divider", "block_id": f"{approval_key(approval)}-divider"})
    blocks.append(
        {
            "type": "header",
            "block_id": "home-recent",
            "text": _plain(m.HOME_RECENT, HEADER_TEXT_LIMIT),
        }
    )
    lines = [
        f"`{escape(r.id)}` {escape(m.workflow_title(r.workflow))} — "
        f"{m.run_status(r.status)} · {mention(r.requested_by)} · {m.when(r.created_at)}"
        for r in recent[:20]
    ]
    blocks.append(
        _section("\n".join(lines) if lines else m.HOME_NO_RECENT, block_id="home-recent-list")
    )
    if metrics:
        blocks.append(
            {
                "type": "header",
                "block_id": "home-metrics",
                "text": _plain(m.HOME_METRICS, HEADER_TEXT_LIMIT),
            }
        )
        blocks.append(_fields((escape(str(k)), escape(str(v))) for k, v in metrics.items()))
        blocks[-1]["block_id"] = "home-metrics-fields"
    return {"type": "home", "blocks": _cap(blocks, HOME_BLOCK_LIMIT)}


def escalation_dm(
    approval: Approval,
    level: int,
    role: str,
    mention: Mention = plain_name,
    standins: Sequence[Delegation] = (),
) -> list[Block]:
    """The direct message to the next person in the escalation chain, buttons included."""
    intro = m.escalation_text(escape(approval.request.what), level, escape(role), approval.deadline)
    escalated = approval.model_copy(update={"escalation_level": level})
    return _cap(
        [
            _section(intro, block_id=f"{approval_key(escalated)}-escalation"),
            *approval_request(escalated, mention, standins),
        ]
    )


def escalation_fallback(approval: Approval, level: int) -> str:
    return m.escalation_fallback(approval.request.what, level)


def reminder_dm(
    approval: Approval, mention: Mention = plain_name, standins: Sequence[Delegation] = ()
) -> list[Block]:
    """The direct message reminding someone that an approval's deadline is near."""
    intro = m.reminder_text(escape(approval.request.what), approval.deadline)
    return _cap(
        [
            _section(intro, block_id=f"{approval_key(approval)}-reminder"),
            *approval_request(approval, mention, standins),
        ]
    )


def failure_dm(
    run: Run, reason: str, thread_channel: str | None, mention: Mention = plain_name
) -> list[Block]:
    """The direct message to the on-call person when a run needs a human to step in."""
    where = f"<#{thread_channel}>" if thread_channel else None
    return [
        _section(
            m.failure_text(
                m.workflow_title(run.workflow),
                escape(run.id),
                clip(escape(reason), REASON_SHOWN_LIMIT),
                where,
            ),
            block_id=f"failure-{run.id}",
        ),
        _context(m.requested_by(mention(run.requested_by)), block_id=f"failure-{run.id}-by"),
    ]


def assistant_reply(text: str, conversation: str, offline: bool) -> list[Block]:
    """The assistant's answer in a thread, with feedback buttons under it."""
    value = clip(conversation, VALUE_LIMIT)
    blocks: list[Block] = [_section(text or m.EMPTY_REPLY, block_id="reply")]
    if offline:
        blocks.append(_context(m.OFFLINE_NOTE, block_id="reply-offline"))
    blocks.append(
        {
            "type": "actions",
            "block_id": "reply-feedback",
            "elements": [
                {
                    "type": "button",
                    "action_id": FEEDBACK_UP,
                    "value": value,
                    "text": _plain(m.FEEDBACK_UP, BUTTON_TEXT_LIMIT),
                },
                {
                    "type": "button",
                    "action_id": FEEDBACK_DOWN,
                    "value": value,
                    "text": _plain(m.FEEDBACK_DOWN, BUTTON_TEXT_LIMIT),
                },
            ],
        }
    )
    return blocks
