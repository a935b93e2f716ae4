"""`keel up` as a person sees it: in tmux, keys sent, the screen read with capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph import RunStatus, Runtime, parse_policy

from ..support import POLICY, orders

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Screen:
    def __init__(self, session: str) -> None:
        self.session = session

    def text(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.session],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.session, *keys], check=True)

    def wait_for(self, needle: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.text()
            if needle in shown:
                return shown
            assert time.monotonic() < deadline, f"{needle!r} never showed; the screen:\n{shown}"
            time.sleep(0.2)


@pytest.fixture
def screen(tmp_path: Path, sandbox) -> Iterator[Screen]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    env = {
        "KEEL_HOME": str(tmp_path / "home"),
        "KEEL_POLICY": str(policy),
        "KEEL_STORE_URL": sandbox.url,
        "KEEL_STORE_TOKEN": sandbox.token,
        "KEEL_SMTP_HOST": sandbox.smtp_host,
        "KEEL_SMTP_PORT": str(sandbox.smtp_port),
        "KEEL_DEMO": "false",
        "KEEL_USER": "maria",
        "KEEL_LOG_LEVEL": "WARNING",
        "TERM": "xterm-256color",
    }
    session = f"keel-test-{os.getpid()}"
    flags = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "140",
            "-y",
            "40",
            "-c",
            str(tmp_path),
            *flags,
            # No Slack or Claude from the caller's environment; after an exit, the
            # pane keeps what it printed for the failure message.
            (
                "env -u SLACK_BOT_TOKEN -u SLACK_APP_TOKEN -u ANTHROPIC_API_KEY"
                f" {sys.executable} -m app.cli up; echo keel up exited $?; sleep 30"
            ),
        ],
        check=True,
    )
    try:
        yield Screen(session)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)


def test_a_run_goes_from_waiting_to_succeeded_by_keys_in_keel_up(
    screen: Screen, tmp_path: Path, services
) -> None:
    screen.wait_for("Keel — Runs")
    client = Runtime.open(tmp_path / "home", services=services, policy=parse_policy(POLICY))
    try:
        order = orders(services.shop, over="100.00", under="2000.00")[0]
        run = client.start(
            "refund", {"order_id": order.id, "reason": "arrived broken"}, "sam", execute=False
        )  # queued for the server, as the CLI does
        shown = run.id[-10:]
        assert "waiting" in next(
            line for line in screen.wait_for(shown).splitlines() if shown in line
        )

        screen.keys("2")
        screen.wait_for(f"#{order.id}")
        screen.wait_for("a approve · r reject")  # the approval is selected: its detail shows
        screen.keys("a")
        try:
            screen.wait_for("Nothing is waiting on maria", timeout=10)
        except AssertionError:  # a key that lands while the screen re-renders can be lost
            screen.keys("a")
            screen.wait_for("Nothing is waiting on maria")
        screen.keys("1")
        deadline = time.monotonic() + 30
        while client.get(run.id).run.status is not RunStatus.SUCCEEDED:
            assert time.monotonic() < deadline, screen.text()
            time.sleep(0.2)
        rows = [line for line in screen.wait_for("succeeded").splitlines() if shown in line]
        deadline = time.monotonic() + 10
        while not (rows and "succeeded" in rows[0]):
            assert time.monotonic() < deadline, screen.text()
            time.sleep(0.2)
            rows = [line for line in screen.text().splitlines() if shown in line]
    finally:
        client.close()

    screen.keys("C-q")
    screen.wait_for("keel up exited 0")  # the server stops cleanly when the app quits
