"""`keel serve --http PORT` with Slack configured, as a real process: the bot starts with the
server, a run queued from elsewhere gets its thread, and a signed click over HTTP approves it."""

from __future__ import annotations

import socket

import httpx

from graph import RunStatus, Runtime, parse_policy
from tests.fakes import SIGNING_SECRET, SlackAPI, slack_requests

from ..reliability.test_crash import Server, wait_until
from ..support import SAM, SLACK_CHANNEL, SLACK_POLICY, orders


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_runs_the_bot_which_threads_and_approves_a_queued_run(
    tmp_path, sandbox, services
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(SLACK_POLICY)
    home, port = tmp_path / "home", free_port()
    with SlackAPI() as slack:
        server = Server(
            tmp_path,
            {
                "PATH": "/usr/bin:/bin",
                "HOME": str(tmp_path),
                "KEEL_HOME": str(home),
                "KEEL_POLICY": str(policy),
                "KEEL_STORE_URL": sandbox.url,
                "KEEL_STORE_TOKEN": sandbox.token,
                "KEEL_SMTP_HOST": sandbox.smtp_host,
                "KEEL_SMTP_PORT": str(sandbox.smtp_port),
                "KEEL_WORKERS": "2",
                "KEEL_LOG_LEVEL": "WARNING",
                "SLACK_BOT_TOKEN": slack.token or "xoxb-test",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.url,
            },
        )
        server.start("--http", str(port))
        client = Runtime.open(home, services=services, policy=parse_policy(SLACK_POLICY))
        try:
            wait_until(lambda: slack.count("users.info") == 4, server)
            order = orders(services.shop, over="100.00", under="250.00")[0]
            run = client.start(
                "refund", {"order_id": order.id, "reason": "dented"}, "cleo", execute=False
            )  # queued, as the CLI does with a server up

            def asking() -> list:
                return [
                    m
                    for m in slack.messages(SLACK_CHANNEL)
                    if any(b.get("type") == "actions" for b in m.blocks) and m.thread_ts
                ]

            wait_until(lambda: bool(asking()), server)
            [message] = asking()
            approval_id = message.blocks[-1]["elements"][0]["value"]
            click = slack_requests.block_actions(
                "approve", approval_id, user=SAM, channel=SLACK_CHANNEL, message_ts=message.ts
            )
            answer = httpx.post(
                f"http://127.0.0.1:{port}/slack/events",
                content=click.body,
                headers=click.headers,
                timeout=10,
            )

            wait_until(lambda: client.get(run.id).run.status.terminal, server)
            wait_until(
                lambda: any("Run finished" in m.text for m in slack.messages(SLACK_CHANNEL)), server
            )
            status = client.get(run.id).run.status
            decided = next(m for m in slack.messages(SLACK_CHANNEL) if m.ts == message.ts)
        finally:
            server.stop()
            client.close()

    assert answer.status_code == 200 and status is RunStatus.SUCCEEDED
    assert decided.edited and not any(b.get("type") == "actions" for b in decided.blocks)
    assert "Traceback" not in server.output()
