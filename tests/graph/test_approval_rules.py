"""Approval policy beyond one click: quorum with a veto, delegation while someone is away,
reminders before a deadline, and a per-workflow outcome on expiry. Real runtime, real sandbox."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from graph import (
    AlreadyDecided,
    AlreadyVoted,
    ApprovalStatus,
    KeelError,
    ManualClock,
    NotAuthorised,
    PolicyError,
    ReasonRequired,
    RunStatus,
    Runtime,
    SelfApproval,
    Services,
    UnknownApproval,
    parse_policy,
)

from .conftest import POLICY, counts, orders

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # ManualClock's default start
QUORUM = POLICY.replace('on_failure = "compensate"', 'on_failure = "compensate"\nquorum = 2')
AWAY = """
[[delegations]]
from = "maria"
to = "sam"
starts = "2026-01-05T08:00:00Z"
ends = "2026-01-06T08:00:00Z"
"""
ALL_EFFECTS = {"refund": 1, "restock": 1, "email": 1}

Open = Callable[..., Runtime]


@pytest.fixture
def open_runtime(home: Path, services: Services, clock: ManualClock) -> Iterator[Open]:
    """Open the runtime over policy text; the previous one is closed first (a restart)."""
    opened: list[Runtime] = []

    def make(text: str) -> Runtime:
        if opened:
            opened[-1].close()
        opened.append(Runtime.open(home, services=services, policy=parse_policy(text), clock=clock))
        return opened[-1]

    yield make
    opened[-1].close()


def refund(runtime: Runtime, order_id: int, by: str = "cleo"):
    run = runtime.start("refund", {"order_id": order_id, "reason": "broken"}, requested_by=by)
    assert run.status is RunStatus.WAITING
    return run, runtime.get(run.id).pending


def events(runtime: Runtime, run_id: str, kind: str):
    return [e for e in runtime.events(run_id) if e.kind == kind]


# --- quorum ---------------------------------------------------------------------------------


def test_quorum_of_two_waits_for_the_second_person(open_runtime, services, sandbox):
    runtime = open_runtime(QUORUM)
    order = orders(services.shop, over="250.00")[0]
    run, approval = refund(runtime, order.id)
    assert approval.quorum == 2 and approval.votes == []
    assert events(runtime, run.id, "approval.requested")[0].data["quorum"] == 2

    first = runtime.decide(approval.id, "approve", "maria")

    assert first.status is ApprovalStatus.PENDING
    assert [(v.by, v.on_behalf_of) for v in first.votes] == [("maria", None)]
    assert runtime.get(run.id).run.status is RunStatus.WAITING
    assert counts(sandbox, order.id) == {}
    [voted] = events(runtime, run.id, "approval.voted")
    assert voted.actor == "maria"
    assert voted.data == {"approval_id": approval.id, "by": "maria", "votes": 1, "quorum": 2}
    assert events(runtime, run.id, "approval.decided") == []
    assert runtime.pending_approvals("maria") == []
    assert runtime.pending_approvals("olivia") == [first]

    second = runtime.decide(approval.id, "approve", "olivia")

    assert second.status is ApprovalStatus.APPROVED and second.decided_by == "olivia"
    assert [v.by for v in second.votes] == ["maria", "olivia"]
    assert [e.data["votes"] for e in events(runtime, run.id, "approval.voted")] == [1, 2]
    [decided] = events(runtime, run.id, "approval.decided")
    assert decided.actor == "olivia" and decided.data["decision"] == "approved"
    assert runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    assert counts(sandbox, order.id) == ALL_EFFECTS
    assert runtime.store.verify().ok


def test_the_same_person_twice_counts_once(open_runtime, services):
    runtime = open_runtime(QUORUM)
    run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)
    runtime.decide(approval.id, "approve", "maria")

    with pytest.raises(
        AlreadyVoted,
        match=r"maria already approved .*; 1 more approval needed"
        r" \(1 of 2\)",
    ) as caught:
        runtime.decide(approval.id, "approve", "maria")
    with pytest.raises(AlreadyVoted):
        runtime.authorise(approval.id, "maria")
    with pytest.raises(AlreadyVoted):  # having approved, she may not veto either
        runtime.decide(approval.id, "reject", "maria", reason="changed my mind")

    assert (caught.value.votes, caught.value.quorum) == (1, 2)
    assert len(runtime.get(run.id).pending.votes) == 1
    assert len(events(runtime, run.id, "approval.voted")) == 1
    assert runtime.get(run.id).run.status is RunStatus.WAITING


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once, each on its own thread; their results or errors, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except KeelError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("round_", range(3))  # a race: try it more than once
def test_two_people_approving_at_once_both_count_and_the_run_resumes_once(
    open_runtime,
    services,
    sandbox,
    round_,
):
    runtime = open_runtime(QUORUM)
    order = orders(services.shop, over="250.00")[0]
    run, approval = refund(runtime, order.id)

    results = race(
        lambda: runtime.decide(approval.id, "approve", "maria"),
        lambda: runtime.decide(approval.id, "approve", "olivia"),
    )

    assert not [r for r in results if isinstance(r, Exception)]
    settled = runtime.get(run.id).approvals[0]
    assert settled.status is ApprovalStatus.APPROVED
    assert sorted(v.by for v in settled.votes) == ["maria", "olivia"]
    assert sorted(e.data["votes"] for e in events(runtime, run.id, "approval.voted")) == [1, 2]
    assert len(events(runtime, run.id, "approval.decided")) == 1
    assert len(events(runtime, run.id, "run.finished")) == 1
    assert runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    assert counts(sandbox, order.id) == ALL_EFFECTS


def test_one_person_clicking_twice_at_once_counts_once(open_runtime, services):
    runtime = open_runtime(QUORUM)
    run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)

    results = race(
        lambda: runtime.decide(approval.id, "approve", "maria"),
        lambda: runtime.decide(approval.id, "approve", "maria"),
    )

    assert sorted(type(r).__name__ for r in results) == ["AlreadyVoted", "Approval"]
    assert [v.by for v in runtime.get(run.id).pending.votes] == ["maria"]


def test_a_reject_vetoes_at_once(open_runtime, services, sandbox):
    runtime = open_runtime(QUORUM)
    order = orders(services.shop, over="250.00")[0]
    run, approval = refund(runtime, order.id)
    runtime.decide(approval.id, "approve", "maria")

    with pytest.raises(ReasonRequired):
        runtime.decide(approval.id, "reject", "olivia")
    runtime.decide(approval.id, "reject", "olivia", reason="paid out by bank transfer")

    detail = runtime.get(run.id)
    assert detail.run.status is RunStatus.REJECTED
    assert (detail.approvals[0].status, detail.approvals[0].decided_by) == (
        ApprovalStatus.REJECTED,
        "olivia",
    )
    [decided] = events(runtime, run.id, "approval.decided")
    assert decided.data["reason"] == "paid out by bank transfer"
    assert counts(sandbox, order.id) == {}
    with pytest.raises(AlreadyDecided, match="already rejected by olivia"):
        runtime.decide(approval.id, "approve", "sam")


def test_quorum_above_applies_only_to_larger_amounts(open_runtime, services):
    runtime = open_runtime(QUORUM.replace("quorum = 2", 'quorum = 2\nquorum_above = "250.00"'))
    small = orders(services.shop, over="100.00", under="250.00")[0]
    large = orders(services.shop, over="250.00")[0]

    small_run, small_approval = refund(runtime, small.id)
    large_run, large_approval = refund(runtime, large.id)
    assert (small_approval.quorum, large_approval.quorum) == (1, 2)

    runtime.decide(small_approval.id, "approve", "sam")
    runtime.decide(large_approval.id, "approve", "maria")
    assert runtime.get(small_run.id).run.status is RunStatus.SUCCEEDED
    assert events(runtime, small_run.id, "approval.voted") == []  # one click: the decision
    assert runtime.get(large_run.id).run.status is RunStatus.WAITING


def test_the_quorum_is_fixed_when_the_approval_is_requested(open_runtime, services):
    runtime = open_runtime(QUORUM)
    run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)

    runtime = open_runtime(POLICY)  # restarted with a policy that asks for one approval
    runtime.decide(approval.id, "approve", "maria")

    assert runtime.get(run.id).run.status is RunStatus.WAITING
    runtime.decide(approval.id, "approve", "olivia")
    assert runtime.get(run.id).run.status is RunStatus.SUCCEEDED


def test_authorise_says_whether_someone_may_decide_now(open_runtime, services):
    runtime = open_runtime(POLICY)
    run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)

    assert runtime.authorise(approval.id, "maria") == approval
    with pytest.raises(UnknownApproval):
        runtime.authorise("apv_nope", "maria")
    with pytest.raises(SelfApproval):
        runtime.authorise(approval.id, "cleo")
    with pytest.raises(NotAuthorised, match=r"sam \(support\) may not approve a refund"):
        runtime.authorise(approval.id, "sam")
    assert [e.actor for e in events(runtime, run.id, "approval.refused")] == ["cleo", "sam"]
    assert events(runtime, run.id, "approval.decided") == []  # asking decides nothing

    runtime.decide(approval.id, "approve", "maria")
    with pytest.raises(AlreadyDecided, match="already approved by maria"):
        runtime.authorise(approval.id, "olivia")


# --- delegation -----------------------------------------------------------------------------


def test_a_delegate_decides_for_the_person_away_inside_the_window(open_runtime, services, sandbox):
    runtime = open_runtime(POLICY + AWAY)
    order = orders(services.shop, over="250.00")[0]  # above sam's own limit
    run, approval = refund(runtime, order.id)
    assert runtime.pending_approvals("sam") == [approval]

    decided = runtime.decide(approval.id, "approve", "sam")

    assert decided.decided_by == "sam"
    assert [(v.by, v.on_behalf_of) for v in decided.votes] == [("sam", "maria")]
    [event] = events(runtime, run.id, "approval.decided")
    assert event.actor == "sam" and event.data["on_behalf_of"] == "maria"
    assert runtime.get(run.id).run.status is RunStatus.SUCCEEDED
    assert counts(sandbox, order.id) == ALL_EFFECTS


def test_a_delegate_and_the_delegator_are_one_vote_toward_a_quorum(open_runtime, services):
    runtime = open_runtime(QUORUM + AWAY)
    run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)

    runtime.decide(approval.id, "approve", "sam")
    [voted] = events(runtime, run.id, "approval.voted")
    assert voted.data == {
        "approval_id": approval.id,
        "by": "sam",
        "votes": 1,
        "quorum": 2,
        "on_behalf_of": "maria",
    }
    assert runtime.pending_approvals("maria") == []
    with pytest.raises(AlreadyVoted, match=r"sam already approved .* for maria; 1 more"):
        runtime.decide(approval.id, "approve", "maria")

    runtime.decide(approval.id, "approve", "olivia")
    assert runtime.get(run.id).run.status is RunStatus.SUCCEEDED


def test_a_delegate_with_authority_of_their_own_votes_as_themselves(open_runtime, services):
    runtime = open_runtime(QUORUM + AWAY)
    run, approval = refund(runtime, orders(services.shop, over="100.00", under="250.00")[0].id)

    runtime.decide(approval.id, "approve", "maria")
    runtime.decide(approval.id, "approve", "sam")  # support may approve this much himself

    settled = runtime.get(run.id).approvals[0]
    assert [(v.by, v.on_behalf_of) for v in settled.votes] == [("maria", None), ("sam", None)]
    assert runtime.get(run.id).run.status is RunStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        ("2026-01-05T10:00:00Z", "2026-01-06T08:00:00Z"),  # not started yet
        ("2026-01-04T08:00:00Z", "2026-01-05T09:00:00Z"),  # ended just now (ends is exclusive)
    ],
)
def test_outside_the_window_a_delegation_has_no_effect(open_runtime, services, starts, ends):
    runtime = open_runtime(
        POLICY + AWAY.replace("2026-01-05T08:00:00Z", starts).replace("2026-01-06T08:00:00Z", ends)
    )
    run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)
    assert runtime.pending_approvals("sam") == []

    with pytest.raises(NotAuthorised, match=r"sam \(support\) may not approve a refund"):
        runtime.decide(approval.id, "approve", "sam")

    [refused] = events(runtime, run.id, "approval.refused")
    assert refused.actor == "sam" and refused.data["approval_id"] == approval.id
    assert runtime.get(run.id).run.status is RunStatus.WAITING


def test_a_delegate_may_not_approve_the_delegators_own_request(open_runtime, services):
    runtime = open_runtime(POLICY + AWAY)
    run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id, by="maria")

    with pytest.raises(SelfApproval, match="sam may decide this only for maria"):
        runtime.decide(approval.id, "approve", "sam")
    assert runtime.pending_approvals("sam") == []
    assert [e.actor for e in events(runtime, run.id, "approval.refused")] == ["sam"]


def test_policy_answers_who_acts_for_whom_and_when() -> None:
    policy = parse_policy(POLICY + AWAY)
    [away] = policy.delegations

    assert (away.from_, away.to, away.ends) == ("maria", "sam", START + timedelta(hours=23))
    assert policy.delegations_active(START - timedelta(hours=1)) == [away]  # starts: inclusive
    assert policy.delegations_active(away.ends) == []  # ends: exclusive
    assert policy.acting_roles("sam", START) == [("support", None), ("manager", "maria")]
    assert policy.acting_roles("sam", away.ends) == [("support", None)]
    assert policy.acting_roles("maria", START) == [("manager", None)]
    assert policy.with_delegates(["maria", "olivia"], START) == ["maria", "olivia", "sam"]


BROKEN = {
    "an unknown delegate": (
        AWAY.replace('to = "sam"', 'to = "bob"'),
        "to",
        "names 'bob', who is not in [people]",
        0,
    ),
    "an unknown delegator": (
        AWAY.replace('from = "maria"', 'from = "mara"'),
        "from",
        "names 'mara'",
        0,
    ),
    "ends before starts": (
        AWAY.replace("2026-01-06T08", "2026-01-05T07"),
        "ends",
        "must be later than starts",
        0,
    ),
    "a moment without a time zone": (
        AWAY.replace('"2026-01-05T08:00:00Z"', '"2026-01-05T08:00:00"'),
        "starts",
        "needs its time zone",
        0,
    ),
    "a native TOML moment without a time zone": (
        AWAY.replace('"2026-01-05T08:00:00Z"', "2026-01-05T08:00:00"),
        "starts",
        "needs its time zone",
        0,
    ),
    "delegating to oneself": (
        AWAY.replace('to = "sam"', 'to = "maria"'),
        "to",
        "is the same person as from",
        0,
    ),
    "a problem in the second delegation": (
        AWAY + AWAY.replace('to = "sam"', 'to = "bob"'),
        "to",
        "names 'bob'",
        1,
    ),
}


@pytest.mark.parametrize(("extra", "key", "words", "index"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_delegation_names_its_line_and_key(extra, key, words, index) -> None:
    text = POLICY + extra
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, start=1) if line == "[[delegations]]"]
    line = next(
        n for n in range(headers[index], len(lines) + 1) if lines[n - 1].startswith(f"{key} =")
    )

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "rules.toml")

    assert str(caught.value).startswith(f"rules.toml: line {line}, key delegations.{index}.{key}: ")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        (
            'on_call = "maria"',
            'on_call = "maria"\nremind_before = "4h"',
            "escalation.remind_before",
            "must be shorter than the deadline",
        ),
        (
            'on_call = "maria"',
            'on_call = "maria"\nremind_before = "soon"',
            "escalation.remind_before",
            "expected a duration",
        ),
        (
            "quorum = 2",
            "quorum = 4",
            "workflows.refund.quorum",
            "asks for 4 approvers, but only 3 people may approve a refund: sam, maria, olivia",
        ),
        ("quorum = 2", "quorum = 0", "workflows.refund.quorum", "greater than or equal to 1"),
        (
            "quorum = 2",
            'quorum = 2\non_expiry = "maybe"',
            "workflows.refund.on_expiry",
            "'reject' or 'approve'",
        ),
        (
            "quorum = 2",
            "quorum = 2\nquorum_above = 1000.0",
            "workflows.refund.quorum_above",
            "write money as a string",
        ),
    ],
)
def test_broken_approval_rules_name_their_line_and_key(old, new, key, words) -> None:
    text = QUORUM.replace(old, new)
    line = next(
        n
        for n, row in enumerate(text.splitlines(), start=1)
        if row.startswith(key.rsplit(".", 1)[-1] + " =")
    )

    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "rules.toml")

    assert str(caught.value).startswith(f"rules.toml: line {line}, key {key}: ")
    assert words in str(caught.value)


# --- reminders and expiry -------------------------------------------------------------------

REMIND = POLICY.replace('on_call = "maria"', 'on_call = "maria"\nremind_before = "30m"')


def test_a_reminder_before_the_deadline_fires_once_per_level(open_runtime, services, clock):
    runtime = open_runtime(REMIND + AWAY)
    run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)

    clock.advance(timedelta(hours=3, minutes=29))
    assert runtime.tick() == []
    clock.advance(timedelta(minutes=1))
    [reminded] = runtime.tick()
    assert reminded.kind == "approval.reminded" and reminded.actor == "policy"
    assert reminded.data == {
        "approval_id": approval.id,
        "level": 0,
        "deadline": "2026-01-05T13:00:00.000000Z",
        "notify": ["sam", "maria", "olivia"],
    }  # sam stands in for maria
    assert runtime.tick() == []
    clock.advance(timedelta(minutes=10))
    assert runtime.tick() == []

    clock.advance(timedelta(minutes=21))  # past the deadline: escalated, its own reminder later
    [escalated] = runtime.tick()
    assert escalated.kind == "approval.escalated"
    assert escalated.data["notify"] == ["maria", "sam"]  # the manager, and who decides for her
    clock.advance(timedelta(hours=3, minutes=31))
    results = race(runtime.tick, runtime.tick, runtime.tick)
    assert sorted(len(r) for r in results) == [0, 0, 1]  # type: ignore[arg-type]
    assert [e.data["level"] for e in events(runtime, run.id, "approval.reminded")] == [0, 1]


def test_a_reminder_names_only_who_may_still_decide(open_runtime, services, clock):
    runtime = open_runtime(
        QUORUM.replace('on_call = "maria"', 'on_call = "maria"\nremind_before = "30m"')
    )
    _run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)
    runtime.decide(approval.id, "approve", "maria")

    clock.advance(timedelta(hours=3, minutes=45))
    [reminded] = runtime.tick()

    assert reminded.data["notify"] == ["olivia"]


def test_without_remind_before_there_are_no_reminders(open_runtime, services, clock):
    runtime = open_runtime(POLICY)
    refund(runtime, orders(services.shop, over="250.00")[0].id)
    clock.advance(timedelta(hours=3, minutes=45))
    assert runtime.tick() == []


@pytest.mark.parametrize(
    ("default", "override", "status", "outcome"),
    [
        ("reject", "approve", RunStatus.SUCCEEDED, ApprovalStatus.APPROVED),
        ("approve", "reject", RunStatus.REJECTED, ApprovalStatus.EXPIRED),
        ("approve", None, RunStatus.SUCCEEDED, ApprovalStatus.APPROVED),
    ],
)
def test_a_workflow_may_choose_its_own_outcome_on_expiry(
    open_runtime,
    services,
    sandbox,
    clock,
    default,
    override,
    status,
    outcome,
):
    text = POLICY.replace('on_expiry = "reject"', f'on_expiry = "{default}"')
    if override:
        text = text.replace(
            'on_failure = "compensate"', f'on_failure = "compensate"\non_expiry = "{override}"'
        )
    runtime = open_runtime(text)
    order = orders(services.shop, over="250.00")[0]
    run, approval = refund(runtime, order.id)

    for _level in range(3):  # manager, owner, then the end of the chain
        clock.advance(timedelta(hours=4, seconds=1))
        [event] = runtime.tick()

    assert event.kind == "approval.expired"
    assert event.data == {
        "approval_id": approval.id,
        "outcome": str(outcome),
        "on_expiry": override or default,
    }
    detail = runtime.get(run.id)
    assert detail.run.status is status
    assert (detail.approvals[0].status, detail.approvals[0].decided_by) == (outcome, "policy")
    assert counts(sandbox, order.id) == (ALL_EFFECTS if status is RunStatus.SUCCEEDED else {})


def test_the_store_refuses_a_second_vote_by_a_voter_or_an_authority(open_runtime, services):
    runtime = open_runtime(QUORUM)
    _run, approval = refund(runtime, orders(services.shop, over="250.00")[0].id)

    assert runtime.store.add_vote(approval.id, "sam", "maria") == 1
    for by, on_behalf_of in (("sam", None), ("maria", None), ("olivia", "maria")):
        with pytest.raises(sqlite3.IntegrityError):
            runtime.store.add_vote(approval.id, by, on_behalf_of)
    assert runtime.store.add_vote(approval.id, "olivia", None) == 2
