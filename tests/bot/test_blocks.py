"""Block Kit rendering of runs and approvals: shapes, ids, limits, and the app manifest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot import (
    APPROVE,
    REJECT,
    REJECT_REASON,
    approval_decided,
    approval_id_from,
    approval_request,
    escalation_dm,
    home_view,
    messages,
    reason_from,
    reject_reason_modal,
    run_root,
    step_reply,
)
from graph import (
    Approval,
    ApprovalRequest,
    ApprovalStatus,
    Event,
    Run,
    RunDetail,
    RunStatus,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PEOPLE = {"alice": "U01ALICE", "bob": "U02BOB", "finance": "S03FIN"}
MANIFEST = Path(__file__).resolve().parents[2] / "bot" / "manifest.yaml"


def mention(person: str) -> str:
    return f"<@{PEOPLE[person]}>" if person in PEOPLE else person


def make_run(**changes: Any) -> Run:
    run = Run(
        id="run_01JNQ8Z6",
        workflow="refund",
        version=1,
        status=RunStatus.WAITING,
        step="approve",
        input={"order_id": 1042, "amount": "129.90", "reason": "Parcel arrived damaged"},
        requested_by="alice",
        origin="slack",
        created_at=T0,
        updated_at=T0,
        cost_usd=0.0123,
    )
    return run.model_copy(update=changes)


def make_approval(**changes: Any) -> Approval:
    request = ApprovalRequest(
        workflow="refund",
        what="Refund 129.90 EUR on order #1042",
        why="Parcel arrived damaged",
        amount=Decimal("129.90"),
        currency="EUR",
        risk="high",
        approver_roles=["finance"],
        requested_by="alice",
    )
    approval = Approval(
        id="apr_01JNQ9A1",
        run_id="run_01JNQ8Z6",
        status=ApprovalStatus.PENDING,
        request=request,
        requested_by="alice",
        created_at=T0,
        deadline=T0 + timedelta(hours=4),
    )
    return approval.model_copy(update=changes)


def make_event(kind: str, data: dict[str, Any] | None = None) -> Event:
    return Event(
        id=7,
        run_id="run_01JNQ8Z6",
        seq=7,
        at=T0,
        kind=kind,
        step="refund",
        actor=None,
        data=data or {},
        cost_usd=0.0,
        duration_ms=1500.0,
        prev_hash="a",
        hash="b",
    )


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def assert_valid(blocks: list[dict[str, Any]], limit: int = 50) -> None:
    """The shape rules Slack enforces and that we rely on."""
    assert 0 < len(blocks) <= limit
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)), ids
    for block in blocks:
        assert block.get("type")
        assert len(block.get("block_id", "")) <= 255
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "context":
            assert block["elements"]
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if block["type"] == "actions":
            action_ids = [e["action_id"] for e in block["elements"]]
            assert len(action_ids) == len(set(action_ids))
            for element in block["elements"]:
                assert element["type"] and element["action_id"]
                assert len(element["action_id"]) <= 255
                assert len(element.get("value", "")) <= 2000
                assert len(element["text"]["text"]) <= 75


def actions_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_approval_request_buttons_carry_the_approval_id() -> None:
    blocks = approval_request(make_approval(), mention)
    assert_valid(blocks)
    buttons = actions_of(blocks)
    assert [(b["action_id"], b["style"], b["value"]) for b in buttons] == [
        (APPROVE, "primary", "apr_01JNQ9A1"),
        (REJECT, "danger", "apr_01JNQ9A1"),
    ]
    text = all_text(blocks)
    for shown in (
        "Refund 129.90 EUR on order #1042",
        "Parcel arrived damaged",
        "129.90 EUR",
        "🔴 high",
        "2026-03-02 13:30",
        "<@S03FIN>",
        "<@U01ALICE>",
    ):
        assert shown in text


def test_approval_block_ids_change_with_status_and_escalation() -> None:
    pending = approval_request(make_approval())
    escalated = approval_request(make_approval(escalation_level=1))
    decided = approval_decided(
        make_approval(status=ApprovalStatus.APPROVED, decided_by="bob", decided_at=T0)
    )
    ids = [{b["block_id"] for b in blocks} for blocks in (pending, escalated, decided)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert all(i.startswith("approval-apr_01JNQ9A1") for i in ids[0])


def test_approved_replaces_buttons_with_who_and_when() -> None:
    approval = make_approval(
        status=ApprovalStatus.APPROVED, decided_by="bob", decided_at=T0 + timedelta(minutes=5)
    )
    blocks = approval_decided(approval, mention)
    assert_valid(blocks)
    assert actions_of(blocks) == []
    assert blocks[-1]["type"] == "context"
    assert blocks[-1]["elements"][0]["text"] == "✅ Approved by <@U02BOB> at 2026-03-02 09:35"


def test_rejected_names_decider_and_reason() -> None:
    approval = make_approval(
        status=ApprovalStatus.REJECTED,
        decided_by="bob",
        decided_at=T0,
        reason="Customer already got a voucher",
    )
    blocks = approval_decided(approval, mention)
    assert actions_of(blocks) == []
    assert blocks[-1]["elements"][0]["text"] == (
        "❌ Rejected by <@U02BOB> at 2026-03-02 09:30 — Customer already got a voucher"
    )


def test_long_reason_is_truncated_within_limits() -> None:
    approval = make_approval(
        status=ApprovalStatus.REJECTED,
        decided_by="bob",
        decided_at=T0,
        reason="x" * 10_000,
        request=make_approval().request.model_copy(
            update={"why": "y" * 10_000, "what": "z" * 5_000}
        ),
    )
    for blocks in (approval_decided(approval), approval_request(approval)):
        assert_valid(blocks)
    line = approval_decided(approval)[-1]["elements"][0]["text"]
    assert line.endswith("…") and len(line) < 3000
    assert approval_request(approval)[0]["text"]["text"].endswith("…")


def test_user_text_is_escaped_but_mentions_are_not() -> None:
    request = make_approval().request.model_copy(update={"why": "<!channel> & <@U999>"})
    text = all_text(approval_request(make_approval(request=request), mention))
    assert "&lt;!channel&gt; &amp; &lt;@U999&gt;" in text
    assert "<@U01ALICE>" in text


def test_reject_modal_round_trips_the_approval_id_and_reason() -> None:
    view = reject_reason_modal("apr_01JNQ9A1")
    assert view["type"] == "modal" and view["callback_id"] == REJECT_REASON
    assert len(view["private_metadata"]) <= 3000
    (block,) = view["blocks"]
    assert block["type"] == "input" and block["block_id"] == "reason"
    element = block["element"]
    assert element == {
        **element,
        "type": "plain_text_input",
        "action_id": "reason",
        "multiline": True,
        "min_length": 3,
    }
    assert len(view["title"]["text"]) <= 24
    # What Slack sends back on submit: the view plus the typed state.
    submitted = {
        **view,
        "id": "V123",
        "state": {
            "values": {
                "reason": {
                    "reason": {"type": "plain_text_input", "value": "  Duplicate of run_01JNQ7  "}
                }
            }
        },
    }
    assert approval_id_from(submitted) == "apr_01JNQ9A1"
    assert reason_from(submitted) == "Duplicate of run_01JNQ7"


def test_reason_from_an_empty_input_is_empty() -> None:
    view = {
        "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": None}}}}
    }
    assert reason_from(view) == ""


def test_run_root_shows_the_run() -> None:
    detail = RunDetail(run=make_run(), approvals=[make_approval()], effects=[], reconciliations=[])
    blocks = run_root(
        detail, permalink_hint="Open in the TUI: keel show run_01JNQ8Z6", mention=mention
    )
    assert_valid(blocks)
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "Refund · run_01JNQ8Z6"
    text = all_text(blocks)
    for shown in (
        "⏸️ waiting for approval",
        "129.90 EUR",
        "1042",
        "approve",
        "$0.0123",
        "<@U01ALICE>",
        "Parcel arrived damaged",
        "keel show run_01JNQ8Z6",
    ):
        assert shown in text


def test_run_root_of_a_finished_run_has_no_step() -> None:
    run = make_run(
        status=RunStatus.FAILED,
        step="refund",
        error="shop said 500",
        input={"order_id": 7, "reason": "late"},
    )
    blocks = run_root(RunDetail(run=run, approvals=[], effects=[], reconciliations=[]))
    assert_valid(blocks)
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[1]["fields"]}
    assert fields["*Step*"] == "-" and fields["*Amount*"] == "-"
    assert fields["*Status*"] == "🔥 failed"
    assert "shop said 500" in all_text(blocks)


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("step.finished", {}, "✔️ Step *refund* finished in 1.5 s"),
        ("effect.performed", {"kind": "refund", "key": "k1"}, "⚙️ Done: *refund* (refund)"),
        (
            "compensation.performed",
            {"effect": "k1", "name": "void_refund"},
            "↩️ Undid k1 (void_refund)",
        ),
        ("compensation.failed", {"effect": "k1", "error": "404"}, "🔥 Could not undo k1: 404"),
        (
            "escalation.raised",
            {"reason": "outcome unknown", "to": "bob"},
            "🚨 Escalated to <@U02BOB>: outcome unknown",
        ),
        ("run.finished", {"status": "succeeded"}, "🏁 Run finished: ✅ succeeded"),
    ],
)
def test_step_reply_is_one_line(kind: str, data: dict[str, Any], expected: str) -> None:
    blocks = step_reply(make_event(kind, data), mention)
    assert_valid(blocks)
    assert blocks == [
        {
            "type": "context",
            "block_id": "event-7",
            "elements": [{"type": "mrkdwn", "text": expected}],
        }
    ]


def test_step_reply_skips_noise() -> None:
    assert step_reply(make_event("effect.replayed")) == []
    assert step_reply(make_event("run.started")) == []


def test_home_lists_pending_approvals() -> None:
    pending = [
        make_approval(),
        make_approval(
            id="apr_02",
            request=make_approval().request.model_copy(update={"what": "Refund 5.00 EUR"}),
        ),
    ]
    view = home_view(
        pending,
        [make_run(), make_run(id="run_02", status=RunStatus.SUCCEEDED)],
        {"runs today": 4, "success rate": "75%"},
        mention,
    )
    assert view["type"] == "home"
    assert_valid(view["blocks"], limit=100)
    assert sorted(b["value"] for b in actions_of(view["blocks"])) == [
        "apr_01JNQ9A1",
        "apr_01JNQ9A1",
        "apr_02",
        "apr_02",
    ]
    text = all_text(view["blocks"])
    for shown in ("Refund 5.00 EUR", "run_02", "✅ succeeded", "success rate", "75%"):
        assert shown in text


def test_home_when_nothing_waits() -> None:
    view = home_view([], [], {})
    assert_valid(view["blocks"], limit=100)
    assert actions_of(view["blocks"]) == []
    assert messages.HOME_NO_PENDING in all_text(view["blocks"])


def test_home_stays_within_block_limit() -> None:
    many = [make_approval(id=f"apr_{i:03}") for i in range(60)]
    view = home_view(many, [make_run(id=f"run_{i}") for i in range(200)], {"k": 1})
    assert_valid(view["blocks"], limit=100)


def test_escalation_dm_names_the_level_and_role() -> None:
    blocks = escalation_dm(make_approval(), 2, "head of finance", mention)
    assert_valid(blocks)
    assert "level 2" in blocks[0]["text"]["text"] and "head of finance" in blocks[0]["text"]["text"]
    assert {b["value"] for b in actions_of(blocks)} == {"apr_01JNQ9A1"}
    assert not {b["block_id"] for b in blocks} & {
        b["block_id"] for b in approval_request(make_approval())
    }


def test_refusal_and_help_texts() -> None:
    assert messages.refused("you requested it") == "You may not approve this: you requested it"
    assert messages.already_decided(ApprovalStatus.APPROVED, "<@U02BOB>", T0) == (
        "Already approved by <@U02BOB> at 2026-03-02 09:30"
    )
    for command in ("start", "status RUN", "pending", "help"):
        assert f"/keel {command}" in messages.HELP


def test_manifest_declares_scopes_events_and_command() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["_metadata"]["major_version"] == 1
    assert manifest["display_information"]["name"] == "Keel"
    features = manifest["features"]
    assert features["bot_user"] == {"display_name": "keel", "always_online": True}
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    (command,) = features["slash_commands"]
    assert command["command"] == "/keel" and command["description"]
    assert command["usage_hint"] == "start | status RUN | pending | help"
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "channels:history",
        "chat:write",
        "commands",
        "groups:history",
        "im:history",
        "im:read",
        "im:write",
        "users:read",
    }  # history: to find a lost post
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == [
        "app_mention",
        "message.im",
        "app_home_opened",
    ]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    assert "request_url" in MANIFEST.read_text(encoding="utf-8")  # the HTTP-mode note
