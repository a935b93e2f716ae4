"""The Slack bot end to end: signed requests over HTTP into the real Bolt app, the real
slack_sdk client against the loopback Web API, the real runtime against the sandbox."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot import messages as m
from bot.app import SlackBot
from graph import Approval, ApprovalStatus, ManualClock, Run, RunStatus, Runtime
from tests.fakes import SlackAPI, slack_requests
from tests.fakes.slack_api import PostedMessage

from ..support import claude, counts, orders
from .conftest import CHANNEL, CLEO, MARIA, SAM, Deliver, buttons, texts


def waiting_refund(
    runtime: Runtime, *, over: str = "100.00", under: str | None = "250.00", by: str = "cleo"
) -> Run:
    order = orders(runtime.services.shop, over=over, under=under)[0]
    run = runtime.start("refund", {"order_id": order.id, "reason": "arrived damaged"}, by)
    assert runtime.drain(10)
    assert runtime.get(run.id).run.status is RunStatus.WAITING
    return run


def waiting_in_slack(
    bot: SlackBot, slack: SlackAPI, **kwargs: Any
) -> tuple[Run, Approval, PostedMessage]:
    """A refund waiting for approval, its thread posted: the run, the approval, its message."""
    run = waiting_refund(bot.runtime, **kwargs)
    bot.keeper.sync()
    [approval] = bot.runtime.get(run.id).approvals
    return run, approval, approval_message(slack, approval.id)


def approval_message(slack: SlackAPI, approval_id: str, channel: str = CHANNEL) -> PostedMessage:
    """The one message in `channel` that shows this approval (its block ids name it)."""
    [message] = [
        msg
        for msg in slack.messages(channel)
        if any(approval_id in block.get("block_id", "") for block in msg.blocks)
    ]
    return message


def thread(slack: SlackAPI, run_id: str) -> tuple[PostedMessage, list[PostedMessage]]:
    [root] = [
        msg
        for msg in slack.messages(CHANNEL)
        if msg.thread_ts is None and run_id in texts(msg.blocks)
    ]
    return root, [msg for msg in slack.messages(CHANNEL) if msg.thread_ts == root.ts]


def click(
    deliver: Deliver, action: str, approval_id: str, user: str, where: PostedMessage, **extra
) -> None:
    response = deliver(
        slack_requests.block_actions(
            action, approval_id, user=user, channel=where.channel, message_ts=where.ts, **extra
        )
    )
    assert response.status_code == 200


def kinds(runtime: Runtime, run_id: str | None = None) -> list[str]:
    return [e.kind for e in runtime.events(run_id, limit=100_000)]


# --- a thread per run ----------------------------------------------------------------------


def test_a_mention_starts_a_run_that_gets_its_own_thread(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    order = orders(bot.runtime.services.shop, over="100.00", under="250.00")[0]
    mention = slack_requests.app_mention(
        f"<@U0000BOT> please refund order {order.id} because the parcel arrived damaged",
        user=CLEO,
        channel=CHANNEL,
        ts="1700000100.000100",
    )

    assert deliver(mention).status_code == 200

    [run] = bot.runtime.runs()
    assert run.origin == f"slack:{CHANNEL}" and run.requested_by == "cleo"
    assert run.status is RunStatus.WAITING
    # The answer replaced the placeholder in the mention's thread, marked as offline.
    [answer] = [msg for msg in slack.messages(CHANNEL) if msg.thread_ts == "1700000100.000100"]
    assert answer.edited and answer.text.startswith("[offline model]") and run.id in answer.text
    assert m.OFFLINE_NOTE in texts(answer.blocks)
    assert [a for a, _ in buttons(answer.blocks)] == ["feedback_up", "feedback_down"]
    # The run has its own thread: the root shows it, the approval waits there with buttons.
    root, replies = thread(slack, run.id)
    assert "waiting for approval" in texts(root.blocks) and "<@U0000CLEO>" in texts(root.blocks)
    [approval] = bot.runtime.get(run.id).approvals
    asking = approval_message(slack, approval.id)
    assert asking.thread_ts == root.ts
    assert buttons(asking.blocks) == [("approve", approval.id), ("reject", approval.id)]
    assert any("lookup" in r.text for r in replies)

    click(deliver, "approve", approval.id, SAM, asking)

    assert bot.runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    root, replies = thread(slack, run.id)
    assert "succeeded" in texts(root.blocks)
    assert "Approved by <@U0000SAM>" in texts(approval_message(slack, approval.id).blocks)
    assert replies[-1].text == "🏁 Run finished: ✅ succeeded"


def test_a_claude_answer_streams_into_the_placeholder_then_lands_whole(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    from tests.fakes import Answer, MessagesAPI

    said = (
        "Nothing is waiting on you right now; the last refund went through this"
        " morning and the shop has no open reconciliation items."
    )
    with MessagesAPI(Answer(text=said)) as fake:
        bot.assistant = claude(bot.runtime, fake)
        bot.stream_every = 0.0  # every piece shown, so the test sees them all
        ts = "1700000200.000100"
        deliver(
            slack_requests.app_mention(
                "<@U0000BOT> anything waiting?", user=CLEO, channel=CHANNEL, ts=ts
            )
        )
        assert fake.calls()[0].body["stream"] is True

    [answer] = [msg for msg in slack.messages(CHANNEL) if msg.thread_ts == ts]
    edits = [c.params for c in slack.calls("chat.update") if c.params.get("ts") == answer.ts]
    partial, final = edits[:-1], edits[-1]
    assert len(partial) >= 3 and all(e["text"].endswith(m.WRITING) for e in partial)
    shown = [e["text"].removesuffix(m.WRITING) for e in partial]
    assert all(said.startswith(t) for t in shown) and shown == sorted(shown, key=len)
    assert final["text"] == said and "blocks" in final  # whole, with the feedback buttons
    assert answer.text == said and m.OFFLINE_NOTE not in texts(answer.blocks)


def test_an_approve_click_resumes_the_run_and_updates_the_thread_for_everyone(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver, sandbox
) -> None:
    run, approval, asking = waiting_in_slack(
        bot, slack
    )  # started from the CLI: it gets a thread all the same

    click(deliver, "approve", approval.id, SAM, asking)

    assert bot.runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    decided = approval_message(slack, approval.id)
    assert decided.edited and buttons(decided.blocks) == []
    assert "Approved by <@U0000SAM>" in texts(decided.blocks)
    root, replies = thread(slack, run.id)
    assert "succeeded" in texts(root.blocks) and root.edited
    assert any("Run finished" in r.text for r in replies)
    assert counts(sandbox, run.input["order_id"]) == {"refund": 1, "restock": 1, "email": 1}
    assert slack.count("chat.postEphemeral") == 0


def test_reject_asks_for_a_reason_in_a_modal_and_the_run_ends_rejected(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver, sandbox
) -> None:
    run, approval, _ = waiting_in_slack(bot, slack)

    click(deliver, "reject", approval.id, SAM, approval_message(slack, approval.id))

    [opened] = slack.calls("views.open")
    view = (
        json.loads(opened.params["view"])
        if isinstance(opened.params["view"], str)
        else opened.params["view"]
    )
    assert view["callback_id"] == "reject_reason"
    assert bot.runtime.get(run.id).run.status is RunStatus.WAITING  # nothing decided yet

    too_short = deliver(
        slack_requests.view_submission(
            "reject_reason",
            view["private_metadata"],
            slack_requests.plain_text_values({"reason": {"reason": "no"}}),
            user=SAM,
        )
    )
    assert too_short.json() == {
        "response_action": "errors",
        "errors": {"reason": m.REASON_TOO_SHORT},
    }

    submitted = deliver(
        slack_requests.view_submission(
            "reject_reason",
            view["private_metadata"],
            slack_requests.plain_text_values({"reason": {"reason": "customer already re-shipped"}}),
            user=SAM,
        )
    )

    assert submitted.status_code == 200 and not submitted.content
    detail = bot.runtime.get(run.id)
    assert detail.run.status is RunStatus.REJECTED
    assert detail.approvals[0].reason == "customer already re-shipped"
    decided = approval_message(slack, approval.id)
    assert buttons(decided.blocks) == []
    assert "Rejected by <@U0000SAM>" in texts(decided.blocks)
    assert "customer already re-shipped" in texts(decided.blocks)
    assert counts(sandbox, run.input["order_id"]) == {}


def test_a_click_by_someone_policy_does_not_allow_is_refused_privately_and_audited(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    run, approval, asking = waiting_in_slack(bot, slack, over="250.00", under="2000.00")

    click(deliver, "approve", approval.id, SAM, asking)  # support may approve up to 250 only
    click(deliver, "reject", approval.id, "U0000STRANGER", asking)  # not in policy at all

    assert bot.runtime.get(run.id).run.status is RunStatus.WAITING
    told = slack.calls("chat.postEphemeral")
    assert [(c.params["user"], c.params["channel"]) for c in told] == [
        (SAM, CHANNEL),
        ("U0000STRANGER", CHANNEL),
    ]
    assert all(c.params["text"].startswith("You may not approve this") for c in told)
    refused = [e for e in bot.runtime.events(run.id) if e.kind == "approval.refused"]
    assert [e.actor for e in refused] == ["sam", "slack:U0000STRANGER"]
    assert slack.count("views.open") == 0
    assert buttons(approval_message(slack, approval.id).blocks)  # still asking


def test_two_simultaneous_clicks_make_one_decision(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver, sandbox
) -> None:
    run, approval, asking = waiting_in_slack(bot, slack)
    requests = [
        slack_requests.block_actions(
            "approve", approval.id, user=user, channel=CHANNEL, message_ts=asking.ts
        )
        for user in (SAM, MARIA)
    ]
    start = threading.Barrier(2)
    statuses: list[int] = []

    def send(request) -> None:
        start.wait()
        statuses.append(deliver(request, settle=False).status_code)

    threads = [threading.Thread(target=send, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bot.settle(30)

    assert statuses == [200, 200]
    assert kinds(bot.runtime, run.id).count("approval.decided") == 1
    assert bot.runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    assert counts(sandbox, run.input["order_id"]) == {"refund": 1, "restock": 1, "email": 1}
    decider = bot.runtime.get(run.id).approvals[0].decided_by
    [told] = slack.calls("chat.postEphemeral")
    assert told.params["text"].startswith(f"Already approved by <@U0000{decider.upper()}>")


def test_a_click_after_the_decision_says_who_already_decided(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    _, approval, asking = waiting_in_slack(bot, slack)
    click(deliver, "approve", approval.id, SAM, asking)

    click(deliver, "reject", approval.id, MARIA, asking)

    [told] = slack.calls("chat.postEphemeral")
    assert told.params["user"] == MARIA
    assert told.params["text"].startswith("Already approved by <@U0000SAM>")
    assert slack.count("views.open") == 0


# --- Slack's deliveries ---------------------------------------------------------------------


def test_a_retried_event_starts_nothing_twice(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    order = orders(bot.runtime.services.shop, under="100.00")[0]
    text = f"<@U0000BOT> refund order {order.id} because it never arrived"
    first = slack_requests.app_mention(text, user=CLEO, event_id="Ev0000RETRY")
    retry = slack_requests.app_mention(text, user=CLEO, event_id="Ev0000RETRY", retry_num=1)

    assert deliver(first).status_code == 200
    assert deliver(retry).status_code == 200

    assert len(bot.runtime.runs()) == 1
    assert [
        msg.text for msg in slack.messages(CHANNEL) if msg.thread_ts == slack_requests.MESSAGE_TS
    ].count(m.THINKING) == 0
    assert (
        len([msg for msg in slack.messages(CHANNEL) if msg.thread_ts == slack_requests.MESSAGE_TS])
        == 1
    )


def test_a_429_from_slack_is_waited_out_and_no_message_is_lost(
    bot: SlackBot, slack: SlackAPI
) -> None:
    run = waiting_refund(bot.runtime)
    slack.rate_limit_next("chat.postMessage", retry_after=0, times=2)

    bot.keeper.sync()

    root, replies = thread(slack, run.id)
    statuses = [c.status for c in slack.calls("chat.postMessage")]
    assert statuses[:3] == [429, 429, 200] and statuses.count(429) == 2
    assert len(replies) == statuses.count(200) - 1  # every post after the root is in the thread
    [approval] = bot.runtime.get(run.id).approvals
    assert approval_message(slack, approval.id).thread_ts == root.ts


def test_slack_being_down_loses_no_update_and_posts_nothing_twice(
    bot: SlackBot, slack: SlackAPI
) -> None:
    run, approval, _ = waiting_in_slack(bot, slack)
    bot.runtime.decide(approval.id, "approve", "sam")
    assert bot.runtime.drain(10)
    slack.fail_next("chat.postMessage", "internal_error")

    with pytest.raises(SlackApiError, match="internal_error"):
        bot.keeper.sync()  # the pass stops at the failed post, its place kept
    bot.keeper.sync()

    root, replies = thread(slack, run.id)
    lines = [r.text for r in replies]
    assert len(lines) == len(set(lines))
    assert sum("Run finished" in line for line in lines) == 1
    assert "succeeded" in texts(root.blocks)
    assert "Approved by <@U0000SAM>" in texts(approval_message(slack, approval.id).blocks)


@pytest.mark.parametrize(
    ("after", "look", "drop"),
    [
        (0, "conversations.history", False),
        (1, "conversations.replies", False),
        (0, "conversations.history", True),
    ],
    ids=["the root", "a thread reply", "the connection dropped"],
)
def test_a_post_whose_answer_was_lost_is_found_in_slack_not_posted_again(
    bot: SlackBot, slack: SlackAPI, after: int, look: str, drop: bool
) -> None:
    run = waiting_refund(bot.runtime)
    slack.lose_reply_next(after=after, drop=drop)  # posted, then no answer comes back

    with pytest.raises(SlackApiError if not drop else OSError):
        bot.keeper.sync()  # the pass stops there, its place kept (the client never retries
        #                    a post blindly: the keeper looks for it first)
    bot.keeper.sync()

    root, replies = thread(slack, run.id)
    assert len([m for m in slack.messages(CHANNEL) if m.thread_ts is None]) == 1
    lines = [r.text for r in replies]
    assert len(lines) == len(set(lines)) and lines  # every line once
    assert slack.count(look) == 1  # looked once, found it
    assert root.metadata is not None and root.metadata["event_type"] == "keel_post"
    assert root.metadata["event_payload"]["key"] == f"root:{run.id}"
    [approval] = bot.runtime.get(run.id).approvals
    assert approval_message(slack, approval.id).thread_ts == root.ts


def test_when_slack_will_not_say_whether_a_lost_post_went_out_it_posts_again(
    bot: SlackBot, slack: SlackAPI, caplog: pytest.LogCaptureFixture
) -> None:
    run = waiting_refund(bot.runtime)
    slack.lose_reply_next()
    slack.fail_next("conversations.history", "missing_scope")

    with pytest.raises(SlackApiError):
        bot.keeper.sync()
    bot.keeper.sync()  # never stuck: a second root rather than no thread

    roots = [m for m in slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(roots) == 2 and bot.keeper.thread_of(run.id).ts == roots[-1].ts
    assert "could not look for an earlier post" in caplog.text and "missing_scope" in caplog.text


def test_a_channel_slack_refuses_is_recorded_once_and_skipped(
    bot: SlackBot, slack: SlackAPI
) -> None:
    run = waiting_refund(bot.runtime)
    slack.fail_next("chat.postMessage", "not_in_channel")

    bot.keeper.sync()
    bot.keeper.sync()

    failed = [e for e in bot.runtime.events(run.id) if e.kind == "slack.failed"]
    assert [e.data["error"] for e in failed] == ["not_in_channel"]
    assert slack.messages(CHANNEL) == []
    assert bot.keeper.thread_of(run.id) is None


# --- security ----------------------------------------------------------------------------


@pytest.mark.parametrize("forge", ["missing", "forged", "stale"])
def test_an_unsigned_forged_or_stale_request_is_refused_and_changes_nothing(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver, forge: str
) -> None:
    run, approval, _ = waiting_in_slack(bot, slack)
    events_before = len(bot.runtime.events(limit=100_000))
    calls_before = len(slack.calls())
    request = slack_requests.block_actions(
        "approve",
        approval.id,
        user=SAM,
        secret="not-the-secret" if forge == "forged" else slack_requests.SIGNING_SECRET,
        timestamp=int(time.time()) - 301 if forge == "stale" else None,
    )
    if forge == "missing":
        request = request._replace(headers={"Content-Type": request.headers["Content-Type"]})

    response = deliver(request)

    assert response.status_code == 401
    assert bot.runtime.get(run.id).approvals[0].status is ApprovalStatus.PENDING
    assert len(bot.runtime.events(limit=100_000)) == events_before
    assert len(slack.calls()) == calls_before


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_men',
        b"payload=%7B%22type%22%3A%22block_actions",
        json.dumps({"type": "block_actions", "user": {"id": SAM}, "actions": []}).encode(),
        json.dumps({"type": "event_callback", "event": {"type": "app_mention"}}).encode(),
        b"\xff\xfe not utf-8",
    ],
    ids=["truncated-json", "truncated-form", "no-actions", "no-event-id", "not-utf8"],
)
def test_a_malformed_signed_payload_gets_400_and_an_audit_event(
    bot: SlackBot, deliver: Deliver, body: bytes
) -> None:
    content_type = (
        "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    )
    signed = slack_requests.SignedRequest(
        body,
        {
            "Content-Type": content_type,
            **slack_requests.sign(slack_requests.SIGNING_SECRET, body, int(time.time())),
        },
    )

    response = deliver(signed)

    assert response.status_code == 400
    [audit] = [e for e in bot.runtime.events(limit=100_000) if e.kind == "slack.rejected"]
    assert audit.run_id is None and audit.data["bytes"] == len(body)
    # The bot is still serving.
    assert deliver(slack_requests.slash_command("/keel", "help")).status_code == 200


# --- escalation and failures --------------------------------------------------------------


def test_past_its_deadline_an_approval_is_dmed_to_the_next_approver_with_buttons(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver, clock: ManualClock
) -> None:
    run, approval, _ = waiting_in_slack(bot, slack)

    clock.advance(timedelta(hours=4, minutes=1))
    bot.runtime.tick()
    bot.settle()

    dm = slack.dm_channel(MARIA)  # the chain's first role is manager: maria
    [escalation] = slack.messages(dm)
    assert buttons(escalation.blocks) == [("approve", approval.id), ("reject", approval.id)]
    assert "Escalation, level 1" in texts(escalation.blocks)
    _, replies = thread(slack, run.id)
    assert any("Escalated to manager" in r.text and "<@U0000MARIA>" in r.text for r in replies)

    click(deliver, "approve", approval.id, MARIA, escalation)

    assert bot.runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    for shown in (approval_message(slack, approval.id), slack.messages(dm)[0]):
        assert buttons(shown.blocks) == [] and "Approved by <@U0000MARIA>" in texts(shown.blocks)


def test_a_failed_compensation_dms_the_on_call_person(
    bot: SlackBot, slack: SlackAPI, sandbox
) -> None:
    order = orders(bot.runtime.services.shop, under="100.00")[0]
    sandbox.set_faults(error_rate=1.0, paths=["inventory_levels", "void"])
    run = bot.runtime.start("refund", {"order_id": order.id, "reason": "wrong colour"}, "cleo")
    bot.settle()

    assert bot.runtime.get(run.id).run.status is RunStatus.FAILED
    [dm] = slack.messages(slack.dm_channel(MARIA))  # policy's on_call
    assert run.id in texts(dm.blocks) and "could not undo refund" in texts(dm.blocks)
    _, replies = thread(slack, run.id)
    assert any("Could not undo" in r.text for r in replies)


# --- /keel, the App Home, feedback ---------------------------------------------------------


def test_slash_keel_help_status_pending_and_unknown(bot: SlackBot, deliver: Deliver) -> None:
    run = waiting_refund(bot.runtime)

    help_text = deliver(slack_requests.slash_command("/keel", "help")).text
    status = deliver(slack_requests.slash_command("/keel", f"status {run.id}")).json()
    missing = deliver(slack_requests.slash_command("/keel", "status run_nope")).text
    mine = deliver(slack_requests.slash_command("/keel", "pending", user=SAM)).json()
    none = deliver(slack_requests.slash_command("/keel", "pending", user=CLEO)).text
    unknown = deliver(slack_requests.slash_command("/keel", "frobnicate")).text

    assert "/keel start" in help_text
    assert run.id in texts(status["blocks"]) and "waiting for approval" in texts(status["blocks"])
    assert "run_nope" in missing
    [approval] = bot.runtime.get(run.id).approvals
    assert mine["text"] == m.pending_summary(1)
    assert buttons(mine["blocks"]) == [("approve", approval.id), ("reject", approval.id)]
    assert "Nothing is waiting on you" in none
    assert "frobnicate" in unknown and "/keel help" in unknown


def test_slash_keel_start_runs_and_answers_on_the_response_url(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    order = orders(bot.runtime.services.shop, under="100.00")[0]

    ack = deliver(
        slack_requests.slash_command(
            "/keel",
            f"start refund {order.id} 10.00 lid missing",
            user=CLEO,
            channel="C0000SALES",
            response_url=slack.response_url("start"),
        )
    )
    bad = deliver(slack_requests.slash_command("/keel", "start refund abc", user=CLEO))
    unknown_order = deliver(
        slack_requests.slash_command(
            "/keel", "start refund 999999 lost", user=CLEO, response_url=slack.response_url("bad")
        )
    )

    assert ack.text == m.STARTING and "order number" in bad.text
    assert unknown_order.text == m.STARTING
    [run] = bot.runtime.runs()
    assert run.input["amount"] == "10.00" and run.input["reason"] == "lid missing"
    assert run.origin == "slack:C0000SALES" and run.status is RunStatus.SUCCEEDED
    answers = [c.params["text"] for c in slack.calls("response_url")]
    assert answers[0] == m.started(run.id, "C0000SALES")
    assert answers[1].startswith("Not started:") and "999999" in answers[1]
    assert [msg for msg in slack.messages("C0000SALES") if run.id in texts(msg.blocks)]


def test_app_home_shows_what_waits_on_the_viewer(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    run = waiting_refund(bot.runtime)
    [approval] = bot.runtime.get(run.id).approvals
    assert deliver(slack_requests.app_home_opened(user=SAM)).status_code == 200

    view = slack.home_view(SAM)
    assert view is not None and buttons(view["blocks"]) == [
        ("approve", approval.id),
        ("reject", approval.id),
    ]
    assert "Runs today" in texts(view["blocks"])


def test_feedback_on_an_answer_is_recorded(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    deliver(slack_requests.message_im("what is waiting?", user=SAM, channel="D0000SAM"))
    [answer] = [msg for msg in slack.messages("D0000SAM")]
    [(_, conversation), _] = buttons(answer.blocks)

    deliver(
        slack_requests.block_actions(
            "feedback_down", conversation, user=SAM, channel="D0000SAM", message_ts=answer.ts
        )
    )

    [feedback] = [e for e in bot.runtime.events(conversation) if e.kind == "assistant.feedback"]
    assert feedback.actor == "sam" and feedback.data["helpful"] is False
    assert answer.thread_ts == slack_requests.MESSAGE_TS


def test_the_root_shows_amount_customer_and_cost_so_far(bot: SlackBot, slack: SlackAPI) -> None:
    run = waiting_refund(bot.runtime)
    bot.keeper.sync()

    root, _ = thread(slack, run.id)

    shown = texts(root.blocks)
    customer = bot.runtime.get(run.id).run.input["customer"]
    assert customer and customer.replace("<", "&lt;").replace(">", "&gt;") in shown
    assert f"{Decimal(run.input['amount']):.2f} USD" in shown
    assert "Cost so far" in shown and "$0.0000" in shown
