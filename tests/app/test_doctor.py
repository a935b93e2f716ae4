"""`keel doctor` against real services on loopback: the sandbox's store and mail, a fake of
Slack's Web API and of the Messages API, each reachable or not, authorised or not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes import MessagesAPI, SlackAPI

from .conftest import Keel, dead_port


def doctor(keel: Keel, **env: str) -> tuple[int, dict[str, dict[str, Any]], str]:
    """Exit code, the checks by name (from --json) and the text a person reads."""
    as_json = keel("doctor", "--json", **env)
    text = keel("doctor", **env)
    assert text.exit_code == as_json.exit_code and as_json.stderr == ""
    data = json.loads(as_json.stdout)
    assert data["ok"] is (as_json.exit_code == 0)
    return as_json.exit_code, {c["name"]: c for c in data["checks"]}, text.stdout


def test_all_well_with_the_sandbox_slack_and_claude(keel: Keel) -> None:
    keel.ok("runs")  # the home exists now
    with SlackAPI() as slack, MessagesAPI(api_key="sk-ant-good") as claude:
        code, checks, text = doctor(
            keel,
            KEEL_USER="maria",
            SLACK_BOT_TOKEN=slack.token or "",
            SLACK_APP_TOKEN="xapp-1",
            SLACK_API_URL=slack.url,
            ANTHROPIC_API_KEY="sk-ant-good",
            ANTHROPIC_BASE_URL=claude.url,
        )
        assert [c.path for c in claude.requests] == ["/v1/messages/count_tokens"] * 2
        assert [c.method for c in slack.calls()] == ["auth.test"] * 2

    assert code == 0, text
    assert list(checks) == ["home", "policy", "you", "store", "mail", "slack", "model", "embedder"]
    assert {name: c["outcome"] for name, c in checks.items()} == dict.fromkeys(checks, "ok")
    assert checks["home"]["uses"] == str(keel.home)
    assert checks["policy"]["uses"] == str(keel.policy)
    assert checks["you"] == {
        "name": "you",
        "uses": "maria",
        "outcome": "ok",
        "detail": "manager",
        "code": 0,
    }
    assert checks["store"]["uses"] == keel.sandbox.url
    assert checks["slack"]["detail"] == "authorised as keel in Keel Test"
    assert checks["model"]["uses"].startswith("claude-sonnet-5-5 at http://127.0.0.1:")
    assert "✓ store" in text and "✗" not in text
    assert keel.ledger() == {}  # looking changed nothing in the store


def test_a_refused_token_or_key_is_not_authorised(keel: Keel) -> None:
    with SlackAPI() as slack, MessagesAPI(api_key="sk-ant-good") as claude:
        code, checks, _ = doctor(
            keel,
            KEEL_USER="maria",
            SLACK_BOT_TOKEN="xoxb-wrong",
            SLACK_APP_TOKEN="xapp-1",
            SLACK_API_URL=slack.url,
            ANTHROPIC_API_KEY="sk-ant-wrong",
            ANTHROPIC_BASE_URL=claude.url,
            KEEL_STORE_TOKEN="shpat_wrong",
        )

    assert code == 4  # the store comes first among the failures
    assert checks["store"]["detail"] == "not authorised: the store refused KEEL_STORE_TOKEN"
    assert checks["slack"]["detail"] == "not authorised: Slack said invalid_auth"
    assert checks["model"]["detail"] == "not authorised: the API refused ANTHROPIC_API_KEY"
    assert {checks[n]["outcome"] for n in ("store", "slack", "model")} == {"fail"}


def test_services_that_do_not_answer_are_unreachable(keel: Keel) -> None:
    dead = dead_port()
    code, checks, text = doctor(
        keel,
        KEEL_USER="maria",
        KEEL_STORE_URL=f"http://127.0.0.1:{dead}",
        KEEL_SMTP_PORT=str(dead),
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_APP_TOKEN="xapp-1",
        SLACK_API_URL=f"http://127.0.0.1:{dead}/api/",
        ANTHROPIC_API_KEY="sk-ant-1",
        ANTHROPIC_BASE_URL=f"http://127.0.0.1:{dead}",
    )

    assert code == 5
    for name in ("store", "mail", "slack", "model"):
        assert checks[name]["outcome"] == "fail" and checks[name]["code"] == 5, checks[name]
        assert checks[name]["detail"].startswith("unreachable: ")
    assert checks["embedder"]["outcome"] == "ok"  # offline: nothing to reach
    assert text.count("✗") == 4


def test_on_the_default_address_a_sandbox_not_yet_started_is_no_failure(
    keel: Keel,
    tmp_path: Path,
) -> None:
    env = {name: None for name in ("KEEL_STORE_URL", "KEEL_SMTP_HOST", "KEEL_SMTP_PORT")}
    keel.env.update(env)  # type: ignore[arg-type]
    dead = dead_port()

    code, checks, _ = doctor(keel, KEEL_USER="maria", KEEL_SMTP_PORT=str(dead))

    assert checks["store"]["uses"] == "http://127.0.0.1:8765 (the sandbox `keel up` starts)"
    if checks["store"]["outcome"] == "off":  # nothing listens on 8765 on this machine
        assert "`keel up` or `keel sandbox` starts it" in checks["store"]["detail"]
    assert checks["mail"]["outcome"] == "off"
    assert code == 0


def test_who_you_are_and_a_home_others_can_read_are_checked(keel: Keel) -> None:
    keel.ok("runs")
    keel.home.chmod(0o755)  # as an older Keel made it; doctor only looks, it does not fix

    code, checks, _ = doctor(keel, KEEL_USER="root_of_all")

    assert code == 2
    assert checks["home"]["outcome"] == "fail"
    assert checks["home"]["detail"].startswith("mode 0755: other users can read customer data;")
    assert checks["you"]["detail"] == (
        "'root_of_all' is not a person in policy.toml; [people]"
        " names cleo, demo, maria, olivia, sam; set KEEL_USER or"
        " use --as"
    )


def test_a_broken_policy_is_the_failure_it_names(keel: Keel) -> None:
    keel.policy.write_text("currency = 'USD\n")

    code, checks, _ = doctor(keel)

    assert code == 2
    assert checks["policy"]["outcome"] == "fail" and "not valid TOML" in checks["policy"]["detail"]
    assert checks["you"]["outcome"] == "off"


def test_a_home_keel_cannot_use_is_the_failure_it_names(keel: Keel) -> None:
    keel.ok("runs")
    (keel.home / "keel.db").write_bytes(b"not a database at all" * 100)

    code, checks, _ = doctor(keel, KEEL_USER="maria")

    assert code == 2
    assert checks["home"]["detail"] == (
        f"{keel.home / 'keel.db'} is not a SQLite database;"
        " restore it from a backup, or move it away and Keel"
        " starts an empty one"
    )
