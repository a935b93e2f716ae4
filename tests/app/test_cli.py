"""The `keel` command line, run in-process against a loopback store API and SMTP sink."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.lock import HomeLock
from app.settings import load_settings
from app.wiring import open_runtime
from graph import Runtime, Worker

from .conftest import Keel

# Seeded orders and their totals in USD (connectors/sandbox/seed.py seeds the same shop each time).
SMALL = 1042  # 84.00: under the 100.00 threshold
SMALL_2 = 1005  # 77.00
MEDIUM = 1043  # 131.00: over the threshold, within support's 250.00 limit
MEDIUM_2 = 1044  # 220.00
LARGE = 1024  # 400.00: over support's limit
EVERY_EFFECT_ONCE = {"refund": 1, "restock": 1, "email": 1}


# --- starting a refund ----------------------------------------------------------------------


def test_under_the_threshold_a_refund_runs_to_the_end(keel: Keel) -> None:
    result = keel.ok("start", "refund", "--order", str(SMALL), "--reason", "arrived broken")

    run_id, status = result.stdout.splitlines()
    assert re.fullmatch(r"run_[0-9a-z]{26}", run_id)
    assert status == "succeeded"
    run = keel.show(run_id)["run"]
    assert (run["status"], run["requested_by"], run["origin"]) == ("succeeded", "cleo", "cli")
    assert run["input"]["amount"] == "84.00"
    assert keel.ledger(SMALL) == EVERY_EFFECT_ONCE
    [mail] = keel.sandbox.messages()
    assert "84.00" in mail["body"]


def test_start_json_gives_the_run_id_and_status(keel: Keel) -> None:
    started = keel.refund(SMALL_2)

    assert started == {"run_id": started["run_id"], "status": "succeeded", "approval_id": None}
    assert [r["id"] for r in keel.runs()] == [started["run_id"]]


def test_over_the_threshold_a_refund_waits_until_approved(keel: Keel) -> None:
    result = keel.ok("start", "refund", "--order", str(MEDIUM), "--reason", "arrived broken")

    lines = result.stdout.splitlines()
    match = re.fullmatch(r"waiting: waiting for approval (apv_[0-9a-z]{26})", lines[1])
    assert match, lines
    approval_id, run_id = match[1], lines[0]
    assert f"keel approve {approval_id} --as USER" in result.stdout
    shown = keel.show(run_id)
    assert shown["run"]["status"] == "waiting"
    assert shown["pending_approval"]["id"] == approval_id
    assert shown["pending_approval"]["request"]["amount"] == "131.00"
    assert keel.ledger(MEDIUM) == {}

    approved = keel.ok("approve", approval_id, "--as", "maria")

    assert approved.stdout == f"{approval_id} approved by maria; run {run_id} is succeeded\n"
    shown = keel.show(run_id)
    assert shown["run"]["status"] == "succeeded"
    assert shown["pending_approval"] is None
    assert [(a["status"], a["decided_by"]) for a in shown["approvals"]] == [("approved", "maria")]
    ledger = keel.json("sandbox", "ledger", "--order", str(MEDIUM))
    assert Counter(e["kind"] for e in ledger) == EVERY_EFFECT_ONCE
    assert {e["order_id"] for e in ledger} == {MEDIUM}
    assert [e["amount"] for e in ledger if e["kind"] == "refund"] == ["131.00"]
    assert len({e["idempotency_key"] for e in ledger}) == 3
    assert (
        keel.ok("sandbox", "ledger", "--order", str(MEDIUM), "--kind", "refund").stdout.count("\n")
        == 2
    )  # header and one row
    assert len(keel.sandbox.messages()) == 1


def test_approve_json_reports_the_decision_and_the_run(keel: Keel) -> None:
    started = keel.refund(MEDIUM)

    decided = keel.json("approve", started["approval_id"], "--as", "sam")

    assert decided == {
        "approval_id": started["approval_id"],
        "status": "approved",
        "run_id": started["run_id"],
        "run_status": "succeeded",
    }


def test_reject_needs_a_reason_and_records_it(keel: Keel) -> None:
    started = keel.refund(MEDIUM)
    approval_id = started["approval_id"]

    missing = keel("reject", approval_id, "--as", "maria")
    assert missing.exit_code == 2 and "Missing option '--reason'" in missing.stderr
    assert keel.fails(2, "reject", approval_id, "--as", "maria", "--reason", "   ") == (
        "a rejection needs a reason"
    )
    assert keel.show(started["run_id"])["pending_approval"]["id"] == approval_id

    result = keel.ok("reject", approval_id, "--as", "maria", "--reason", "customer kept it")

    assert "rejected by maria" in result.stdout
    shown = keel.show(started["run_id"])
    assert shown["run"]["status"] == "rejected"
    [approval] = shown["approvals"]
    assert (approval["status"], approval["decided_by"], approval["reason"]) == (
        "rejected",
        "maria",
        "customer kept it",
    )
    assert "customer kept it" in keel.ok("show", started["run_id"]).stdout
    assert keel.ledger(MEDIUM) == {}


# --- who may decide -------------------------------------------------------------------------


def test_approval_above_a_persons_limit_is_refused(keel: Keel) -> None:
    started = keel.refund(LARGE)

    message = keel.fails(4, "approve", started["approval_id"], "--as", "sam")

    assert message == (
        "sam (support) may not approve a refund of 400.00 USD; roles that may: manager, owner"
    )
    error = keel.fails_json(4, "approve", started["approval_id"], "--as", "sam")
    assert error["error"] == "NotAuthorised"
    shown = keel.show(started["run_id"])
    assert shown["run"]["status"] == "waiting"
    assert shown["pending_approval"]["id"] == started["approval_id"]
    refused = [e for e in shown["events"] if e["kind"] == "approval.refused"]
    assert [e["actor"] for e in refused] == ["sam", "sam"]
    assert keel.ledger(LARGE) == {}


def test_approval_by_someone_with_no_role_is_refused(keel: Keel) -> None:
    started = keel.refund(MEDIUM)

    message = keel.fails(4, "approve", started["approval_id"], "--as", "demo")

    assert message == "demo has no role in policy that may approve anything"
    assert keel.show(started["run_id"])["run"]["status"] == "waiting"


def test_a_name_policy_does_not_know_is_refused_naming_who_exists(keel: Keel) -> None:
    started = keel.refund(MEDIUM)

    for command in (
        ["approve", started["approval_id"]],
        ["pending"],
        ["start", "refund", "--order", str(SMALL), "--reason", "x"],
        ["cancel", started["run_id"]],
    ):
        message = keel.fails(2, *command, "--as", "stranger")
        assert message == (
            "'stranger' is not a person in policy.toml; [people] names cleo,"
            " demo, maria, olivia, sam"
        )
    assert keel.show(started["run_id"])["run"]["status"] == "waiting"
    assert keel.runs() == [keel.show(started["run_id"])["run"]]


def test_who_requested_may_not_approve(keel: Keel) -> None:
    started = keel.refund(MEDIUM, "--as", "maria")

    assert keel.fails(4, "approve", started["approval_id"], "--as", "maria") == (
        "maria requested this and may not decide it"
    )
    assert keel.fails_json(4, "approve", started["approval_id"], "--as", "maria")["error"] == (
        "SelfApproval"
    )
    assert keel.ledger(MEDIUM) == {}

    keel.ok("approve", started["approval_id"], "--as", "sam")  # still pending for others
    assert keel.show(started["run_id"])["run"]["status"] == "succeeded"


def test_a_second_decision_is_refused_and_names_who_decided(keel: Keel) -> None:
    started = keel.refund(MEDIUM)
    approval_id = started["approval_id"]
    keel.ok("approve", approval_id, "--as", "maria")

    again = keel.fails(4, "approve", approval_id, "--as", "olivia")
    reversed_ = keel.fails(4, "reject", approval_id, "--as", "olivia", "--reason", "no")
    own = keel.fails(4, "approve", approval_id, "--as", "maria")

    for message in (again, reversed_, own):
        assert message.startswith(f"approval {approval_id} was already approved by maria ")
    assert keel.show(started["run_id"])["approvals"][0]["decided_by"] == "maria"
    assert keel.ledger(MEDIUM) == EVERY_EFFECT_ONCE


def test_unknown_ids_exit_3(keel: Keel) -> None:
    assert keel.fails(3, "approve", "apv_nope", "--as", "maria") == "no approval with id apv_nope"
    assert keel.fails(3, "reject", "apv_nope", "--as", "maria", "--reason", "x") == (
        "no approval with id apv_nope"
    )
    assert keel.fails(3, "show", "run_nope") == "no run with id run_nope"
    assert keel.fails(3, "cancel", "run_nope", "--as", "maria") == "no run with id run_nope"
    assert keel.fails_json(3, "approve", "apv_nope", "--as", "maria") == {
        "error": "UnknownApproval",
        "message": "no approval with id apv_nope",
    }
    assert keel.fails_json(3, "show", "run_nope") == {
        "error": "UnknownRun",
        "message": "no run with id run_nope",
    }


# --- bad input ------------------------------------------------------------------------------

BAD_INPUT = {  # the options that differ from a good refund of order 1042, and how the error starts
    "unknown order": (["--order", "9999"], "order 9999 not found"),
    "order id not positive": (["--order", "0"], "order_id: Input should be greater than 0"),
    "negative amount": (["--amount", "-5.00"], "amount: Input should be greater than 0"),
    "zero amount": (["--amount", "0"], "amount: Input should be greater than 0"),
    "malformed amount": (["--amount", "abc"], "amount: Input should be a valid decimal"),
    "too many decimals": (
        ["--amount", "1.001"],
        "amount: Decimal input should have no more than 2 decimal places",
    ),
    "more than refundable": (
        ["--amount", "84.01"],
        ("amount 84.01 is more than what is still refundable on order #1042 (84.00 USD)"),
    ),
    "blank reason": (["--reason", "   "], "reason: "),
}


@pytest.mark.parametrize(("args", "start"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_refund_input_exits_2_and_creates_no_run(
    keel: Keel,
    args: list[str],
    start: str,
) -> None:
    command = ["start", "refund", "--order", str(SMALL), "--reason", "arrived broken", *args]

    message = keel.fails(2, *command)
    error = keel.fails_json(2, *command)

    assert message.startswith(start)
    if "--reason" in args:
        assert message.endswith("a reason is required")
    assert error == {"error": "InvalidInput", "message": message}
    assert keel.runs() == []
    assert keel.ledger() == {}


def test_a_second_full_refund_is_refused(keel: Keel) -> None:
    first = keel.refund(SMALL)

    message = keel.fails(2, "start", "refund", "--order", str(SMALL), "--reason", "again")

    assert message == "order #1042 is already fully refunded"
    assert [r["id"] for r in keel.runs()] == [first["run_id"]]
    assert keel.ledger(SMALL) == EVERY_EFFECT_ONCE


def test_a_partial_refund_leaves_only_the_rest_refundable(keel: Keel) -> None:
    first = keel.refund(SMALL, "--amount", "50.00")
    assert first["status"] == "succeeded"
    assert keel.ledger(SMALL) == {"refund": 1, "email": 1}  # partial: no restock by default

    message = keel.fails(
        2, "start", "refund", "--order", str(SMALL), "--reason", "x", "--amount", "34.01"
    )

    assert message.endswith("still refundable on order #1042 (34.00 USD)")
    assert keel.refund(SMALL, "--amount", "34.00")["status"] == "succeeded"


# --- reading ----------------------------------------------------------------------------------


def test_runs_lists_newest_first_and_filters_by_status(keel: Keel) -> None:
    assert keel.runs() == []
    assert keel.ok("runs").stdout.startswith("No runs yet.")
    done = keel.refund(SMALL)["run_id"]
    waiting = keel.refund(MEDIUM)["run_id"]

    listed = keel.runs()
    text = keel.ok("runs").stdout

    assert [(r["id"], r["status"]) for r in listed] == [(waiting, "waiting"), (done, "succeeded")]
    assert [r["id"] for r in keel.json("runs", "--status", "waiting")] == [waiting]
    assert [r["id"] for r in keel.json("runs", "--limit", "1")] == [waiting]
    header, first, second = text.splitlines()
    assert header.split()[:3] == ["RUN", "WORKFLOW", "STATUS"]
    assert first.startswith(waiting) and "waiting" in first and "order 1043, 131.00" in first
    assert second.startswith(done) and "succeeded" in second


def test_pending_lists_what_each_person_may_decide(keel: Keel) -> None:
    medium = keel.refund(MEDIUM)["approval_id"]  # 131.00, asked by cleo
    large = keel.refund(LARGE)["approval_id"]  # 400.00, asked by cleo
    marias = keel.refund(MEDIUM_2, "--as", "maria")["approval_id"]  # 220.00, asked by maria

    def ids(person: str) -> list[str]:
        return [a["id"] for a in keel.json("pending", "--as", person)]

    assert ids("maria") == [medium, large]  # not her own request
    assert ids("sam") == [medium, marias]  # not over support's 250.00
    assert ids("olivia") == [medium, large, marias]
    assert ids("demo") == []
    assert ids("cleo") == []  # KEEL_USER, no role
    text = keel.ok("pending", "--as", "maria").stdout
    assert f"Approval {medium} (pending)" in text and f"Approval {large} (pending)" in text
    assert "Refund 400.00 USD on order #1024" in text and marias not in text
    assert keel.ok("pending", "--as", "demo").stdout == "Nothing waits on demo.\n"


def test_cancel_a_waiting_run(keel: Keel) -> None:
    started = keel.refund(MEDIUM)

    result = keel.ok("cancel", started["run_id"], "--as", "maria", "--reason", "duplicate")

    assert result.stdout == f"{started['run_id']} cancelled\n"
    shown = keel.show(started["run_id"])
    assert shown["run"]["status"] == "cancelled"
    assert [(a["status"], a["decided_by"]) for a in shown["approvals"]] == [("cancelled", "maria")]
    assert keel.ledger(MEDIUM) == {}
    assert keel.fails(4, "cancel", started["run_id"], "--as", "maria") == (
        f"run {started['run_id']} already ended cancelled"
    )
    assert "already cancelled by maria" in keel.fails(
        4, "approve", started["approval_id"], "--as", "olivia"
    )


# --- the audit log ----------------------------------------------------------------------------


def test_audit_verify_names_a_tampered_event(keel: Keel) -> None:
    run_id = keel.refund(SMALL)["run_id"]
    events = keel.show(run_id)["events"]
    intact = keel.ok("audit", "verify")
    assert intact.stdout == f"ok: {len(events)} events, chain intact\n"
    assert keel.json("audit", "verify")["ok"] is True

    target = next(e for e in events if e["kind"] == "policy.checked")
    forged = json.dumps({**target["data"], "amount": "1.00"}, sort_keys=True, separators=(",", ":"))
    conn = sqlite3.connect(keel.home / "keel.db")
    try:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("UPDATE events SET data = ? WHERE id = ?", (forged, target["id"]))
        conn.commit()
    finally:
        conn.close()

    broken = keel("audit", "verify")
    report = keel("audit", "verify", "--json")

    assert broken.exit_code == 6
    assert broken.stdout.startswith(
        f"BROKEN at event {target['id']} (run {run_id}, seq {target['seq']}): "
    )
    assert report.exit_code == 6
    assert json.loads(report.stdout) == {
        "ok": False,
        "checked": target["id"] - 1,
        "broken_event_id": target["id"],
        "run_id": run_id,
        "seq": target["seq"],
        "problem": "its contents do not match its hash (the row was altered)",
    }


# --- configuration --------------------------------------------------------------------------

BROKEN_POLICY = {
    "bad toml": ('currency = "USD"', 'currency = "USD', None, "not valid TOML"),
    "float money": (
        'approval_threshold = "100.00"',
        "approval_threshold = 100.00",
        "workflows.refund.approval_threshold",
        "write money as a string",
    ),
    "undefined role": (
        'sam = ["support"]',
        'sam = ["helpdesk"]',
        "people.sam",
        "names role 'helpdesk', which is not defined",
    ),
}


@pytest.mark.parametrize(
    ("old", "new", "key", "words"), BROKEN_POLICY.values(), ids=BROKEN_POLICY.keys()
)
def test_a_broken_policy_stops_every_command_naming_line_and_key(
    keel: Keel,
    old: str,
    new: str,
    key: str | None,
    words: str,
) -> None:
    text = keel.policy.read_text()
    assert text.count(old) == 1
    keel.policy.write_text(text.replace(old, new))
    line = keel.policy.read_text().splitlines().index(new) + 1

    message = keel.fails(2, "start", "refund", "--order", str(SMALL), "--reason", "x")

    assert message.startswith(f"{keel.policy}: ")
    assert re.search(rf"\bline {line}\b", message)
    assert words in message
    if key:
        assert f"key {key}: " in message
    assert keel.fails_json(2, "runs") == {"error": "PolicyError", "message": message}
    assert not keel.home.exists()  # refused before anything was opened
    assert keel.ledger() == {}


def test_a_missing_policy_file_is_named(keel: Keel) -> None:
    keel.policy.unlink()

    assert keel.fails(2, "runs") == (
        f"no policy.toml found: looked at KEEL_POLICY ({keel.policy});"
        " `keel init DIR` creates a home with a commented one"
    )


def test_a_bad_value_in_dotenv_names_the_variable(keel: Keel, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KEEL_SMTP_PORT=abc\n")

    message = keel("runs", KEEL_SMTP_PORT=None)

    assert message.exit_code == 2
    assert message.stderr.startswith("error: invalid setting KEEL_SMTP_PORT: ")
    assert "'abc'" in message.stderr and message.stderr.count("\n") == 1
    assert not keel.home.exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KEEL_SMTP_PORT", "abc"),
        ("KEEL_RETRY_ATTEMPTS", "0"),
        ("KEEL_STORE_URL", "nope"),
    ],
)
def test_a_bad_environment_value_names_the_variable(keel: Keel, variable: str, value: str) -> None:
    result = keel(
        "start", "refund", "--order", str(SMALL), "--reason", "x", "--json", **{variable: value}
    )

    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error"] == "SettingsError"
    assert error["message"].startswith(f"invalid setting {variable}: ")
    assert keel.ledger() == {}


# --- with a server holding the home folder --------------------------------------------------


@pytest.fixture
def server(keel: Keel) -> Iterator[Runtime]:
    """What `keel serve` does, in a thread: hold the home exclusively and drive the runtime."""
    lock = HomeLock(keel.home, exclusive=True)
    assert lock.acquire(block=False)
    sandbox = keel.sandbox
    settings = load_settings(
        home=keel.home,
        policy=keel.policy,
        store_url=sandbox.url,
        store_token=sandbox.token,
        smtp_host=sandbox.smtp_host,
        smtp_port=sandbox.smtp_port,
        retry_attempts=2,
    )
    runtime = open_runtime(settings, workers=2)
    stop = threading.Event()
    thread = threading.Thread(
        target=Worker(runtime, poll=0.02).serve, args=(stop,), name="test-server", daemon=True
    )
    thread.start()
    try:
        yield runtime
    finally:
        stop.set()
        thread.join(timeout=10)
        runtime.drain(timeout=10)
        runtime.close()
        lock.release()


@pytest.fixture
def waiting(keel: Keel) -> dict[str, Any]:
    """A refund waiting for approval, started before the server."""
    return keel.refund(MEDIUM)


def test_approve_goes_through_the_inbox_and_the_run_ends_once(
    keel: Keel,
    waiting: dict[str, Any],
    server: Runtime,
) -> None:
    result = keel.ok("approve", waiting["approval_id"], "--as", "maria")

    assert result.stdout.startswith(f"{waiting['approval_id']} approved by maria; run ")
    assert result.stdout.endswith(" (the server is driving it)\n")
    command = server.store.inbox_item(1)
    assert command is not None
    assert (command.kind, command.actor, command.status) == ("decide", "maria", "done")
    assert command.payload["approval_id"] == waiting["approval_id"]
    assert keel.wait_until_ended(waiting["run_id"])["status"] == "succeeded"
    assert keel.ledger(MEDIUM) == EVERY_EFFECT_ONCE
    kinds = Counter(e["kind"] for e in keel.show(waiting["run_id"])["events"])
    assert (kinds["approval.decided"], kinds["run.finished"]) == (1, 1)

    again = keel.fails(4, "approve", waiting["approval_id"], "--as", "olivia")
    assert "already approved by maria" in again
    assert keel.ledger(MEDIUM) == EVERY_EFFECT_ONCE


def test_refusals_come_back_through_the_inbox(
    keel: Keel,
    waiting: dict[str, Any],
    server: Runtime,
) -> None:
    assert keel.fails(3, "approve", "apv_nope", "--as", "maria") == "no approval with id apv_nope"
    assert keel.fails(4, "approve", waiting["approval_id"], "--as", "demo") == (
        "demo has no role in policy that may approve anything"
    )
    assert keel.show(waiting["run_id"])["run"]["status"] == "waiting"
    statuses = [item.status for n in (1, 2) if (item := server.store.inbox_item(n))]
    assert statuses == ["failed", "failed"]


def test_cancel_goes_through_the_inbox(
    keel: Keel,
    waiting: dict[str, Any],
    server: Runtime,
) -> None:
    result = keel.ok("cancel", waiting["run_id"], "--as", "maria")

    # The server may or may not have finished it by the time the CLI hears back.
    assert result.stdout in (
        f"{waiting['run_id']} cancelled\n",
        f"{waiting['run_id']} cancel requested; it stops at its next step\n",
    )
    assert keel.wait_until_ended(waiting["run_id"])["status"] == "cancelled"
    assert keel.ledger(MEDIUM) == {}


def test_start_is_queued_for_the_server_which_drives_it(keel: Keel, server: Runtime) -> None:
    result = keel.ok("start", "refund", "--order", str(SMALL), "--reason", "arrived broken")

    run_id, note = result.stdout.splitlines()
    assert note == "queued; the running server will drive it"
    run = keel.wait_until_ended(run_id)
    assert (run["status"], run["origin"], run["requested_by"]) == ("succeeded", "cli", "cleo")
    assert keel.ledger(SMALL) == EVERY_EFFECT_ONCE


def test_a_reversal_through_the_inbox_by_the_same_person_is_refused(
    keel: Keel,
    waiting: dict[str, Any],
    server: Runtime,
) -> None:
    keel.ok("approve", waiting["approval_id"], "--as", "maria")

    keel.fails(4, "reject", waiting["approval_id"], "--as", "maria", "--reason", "changed my mind")


# --- the assistant --------------------------------------------------------------------------


def chat(keel: Keel, *args: str, **env: str | None) -> dict[str, Any]:
    result = keel("chat", *args, "--json", **{"ANTHROPIC_API_KEY": None, **env})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_chat_offline_starts_a_refund_and_says_it_is_the_offline_model(keel: Keel) -> None:
    reply = chat(keel, f"refund order {SMALL}, it arrived broken", "--as", "sam")
    assert reply["offline"] is True and reply["reply"].startswith("[offline model]")
    assert reply["tools_called"] == ["start_workflow"]
    [run] = keel.runs()
    assert (run["status"], run["requested_by"], run["origin"]) == ("succeeded", "sam", "cli")

    again = chat(
        keel, "what is waiting on me?", "--as", "maria", "--conversation", reply["conversation"]
    )
    assert again["reply"].startswith("[offline model]") and again["tools_called"] == [
        "list_pending"
    ]


def test_chat_with_a_key_talks_to_the_messages_api_at_anthropic_base_url(keel: Keel) -> None:
    from tests.fakes import Answer, MessagesAPI, ToolUse

    with MessagesAPI(
        Answer(tool_uses=(ToolUse("list_pending", {}),)),
        Answer(text="Nothing waits on you, Maria."),
    ) as fake:
        reply = chat(
            keel,
            "anything for me?",
            "--as",
            "maria",
            ANTHROPIC_API_KEY="sk-test",
            ANTHROPIC_BASE_URL=fake.url,
            KEEL_MODEL_RETRIES="0",
        )
    assert reply == {
        "conversation": "conv_cli_maria",
        "reply": "Nothing waits on you, Maria.",
        "offline": False,
        "tools_called": ["list_pending"],
    }
    assert fake.calls()[0].headers["authorization"] == "Bearer sk-test"


def test_chat_prints_claude_s_reply_as_it_is_written(keel: Keel) -> None:
    from tests.fakes import Answer, MessagesAPI, ToolUse

    final = "Nothing waits on you, Maria; the last refund went through at nine."
    with MessagesAPI(
        Answer(text="Let me look.", tool_uses=(ToolUse("list_pending", {}),)), Answer(text=final)
    ) as fake:
        said = keel(
            "chat",
            "anything for me?",
            "--as",
            "maria",
            ANTHROPIC_API_KEY="sk-test",
            ANTHROPIC_BASE_URL=fake.url,
            KEEL_MODEL_RETRIES="0",
        )
    assert said.exit_code == 0, said.stderr
    assert all(call.body["stream"] for call in fake.calls())
    # The first round's words on their own line, then the answer, each printed once.
    assert said.stdout == f"Let me look.\n{final}\n"


def test_chat_with_an_empty_message_says_so(keel: Keel) -> None:
    reply = chat(keel, "   ")
    assert "empty" in reply["reply"] and keel.runs() == []
