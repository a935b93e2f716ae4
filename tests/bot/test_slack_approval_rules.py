"""Policy beyond one click, as Slack shows it: a quorum's votes, a delegate standing in,
a reminder before the deadline, the safe default when nobody decides."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import SlackBot
from graph import ApprovalStatus, ManualClock, RunStatus
from tests.fakes import SlackAPI

from .conftest import CLEO, MARIA, OLIVIA, SAM, SLACK_POLICY, Deliver, buttons, texts
from .test_slack_bot import approval_message, click, thread, waiting_in_slack

QUORUM = SLACK_POLICY.replace('on_failure = "compensate"', 'on_failure = "compensate"\nquorum = 2')
AWAY = (
    SLACK_POLICY
    + """
[[delegations]]
from = "maria"
to = "cleo"
starts = "2026-01-05T00:00:00Z"
ends = "2026-01-06T00:00:00Z"
"""
)
REMINDED = SLACK_POLICY.replace('on_call = "maria"', 'on_call = "maria"\nremind_before = "30m"')


@pytest.mark.parametrize("slack_policy", [QUORUM])
def test_a_quorum_shows_each_vote_and_resumes_on_the_last(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    run, approval, asking = waiting_in_slack(bot, slack)
    assert "0 of 2" in texts(asking.blocks)

    click(deliver, "approve", approval.id, SAM, asking)
    click(deliver, "approve", approval.id, SAM, asking)  # the same person again

    assert bot.runtime.get(run.id).run.status is RunStatus.WAITING
    halfway = approval_message(slack, approval.id)
    assert "1 of 2: <@U0000SAM>" in texts(halfway.blocks) and buttons(halfway.blocks)
    _, replies = thread(slack, run.id)
    assert any("<@U0000SAM> approved (1 of 2 needed)" in r.text for r in replies)
    [again] = slack.calls("chat.postEphemeral")
    assert again.params["user"] == SAM and "1 more approval needed" in again.params["text"]

    click(deliver, "approve", approval.id, MARIA, halfway)

    assert bot.runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    done = approval_message(slack, approval.id)
    assert buttons(done.blocks) == [] and "Approved by <@U0000MARIA>" in texts(done.blocks)
    assert "2 of 2: <@U0000SAM>, <@U0000MARIA>" in texts(done.blocks)


@pytest.mark.parametrize("slack_policy", [AWAY])
def test_a_delegate_is_shown_on_the_request_and_decides_for_the_one_away(
    bot: SlackBot, slack: SlackAPI, deliver: Deliver
) -> None:
    run, approval, asking = waiting_in_slack(bot, slack, over="250.00", under="2000.00", by="sam")
    assert "<@U0000MARIA> is away; <@U0000CLEO> decides for them until 2026-01-06 00:00" in texts(
        asking.blocks
    )

    click(deliver, "approve", approval.id, CLEO, asking)

    assert bot.runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    [decided] = [e for e in bot.runtime.events(run.id) if e.kind == "approval.decided"]
    assert decided.actor == "cleo" and decided.data["on_behalf_of"] == "maria"
    assert "Approved by <@U0000CLEO>" in texts(approval_message(slack, approval.id).blocks)


@pytest.mark.parametrize("slack_policy", [REMINDED])
def test_a_reminder_before_the_deadline_dms_who_may_decide_once(
    bot: SlackBot, slack: SlackAPI, clock: ManualClock
) -> None:
    run, approval, _ = waiting_in_slack(
        bot, slack
    )  # 100–250: support, manager and owner may decide

    clock.advance(timedelta(hours=3, minutes=31))
    bot.runtime.tick()
    bot.runtime.tick()
    bot.settle()

    for user in (SAM, MARIA, OLIVIA):
        [reminder] = slack.messages(slack.dm_channel(user))
        assert "Reminder" in texts(reminder.blocks)
        assert buttons(reminder.blocks) == [("approve", approval.id), ("reject", approval.id)]
    assert slack.messages(slack.dm_channel(CLEO)) == []  # the requester is not asked
    _, replies = thread(slack, run.id)
    assert sum("Reminder sent to" in r.text for r in replies) == 1


def test_nobody_deciding_ends_in_the_safe_default_shown_in_the_thread(
    bot: SlackBot, slack: SlackAPI, clock: ManualClock
) -> None:
    run, approval, _ = waiting_in_slack(bot, slack)

    for _ in range(3):  # manager, then owner, then the end of the chain
        clock.advance(timedelta(hours=4, minutes=1))
        bot.runtime.tick()
        bot.settle()

    detail = bot.runtime.get(run.id)
    assert detail.approvals[0].status is ApprovalStatus.EXPIRED
    assert detail.run.status is RunStatus.REJECTED
    expired = approval_message(slack, approval.id)
    assert buttons(expired.blocks) == [] and "Expired by policy" in texts(expired.blocks)
    root, replies = thread(slack, run.id)
    assert "rejected" in texts(root.blocks)
    assert any("no decision before the deadline" in r.text for r in replies)
    assert [len(slack.messages(slack.dm_channel(u))) for u in (MARIA, OLIVIA)] == [1, 1]
