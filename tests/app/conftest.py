"""The CLI as a person runs it: the `keel` fixture, in-process against a loopback sandbox,
and `keel` as a real process (`keel_process`), each with no Keel, Slack or Anthropic
settings from the outer shell."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from app.cli import cli
from connectors.sandbox import Sandbox

REPO_POLICY = Path(__file__).resolve().parents[2] / "policy.toml"
OUTER = ("KEEL_", "SLACK_", "ANTHROPIC_")


def outer_env(**extra: str) -> dict[str, str]:
    """The machine's environment less Keel's, Slack's and Anthropic's variables."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(OUTER)}, **extra}


def keel_process(
    *args: str,
    cwd: Path,
    timeout: float = 60,
    preexec_fn: Callable[[], None] | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """`keel` as a real process (its own umask and imports), no standard input."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=outer_env(HOME=str(cwd), KEEL_LOG_LEVEL="WARNING", **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec_fn,
    )


def dead_port() -> int:
    """A loopback port nothing listens on: bound, read and closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def private_policy(folder: Path, text: str | None = None) -> Path:
    """The repository's policy (or `text`) as policy.toml in `folder`, readable by its owner."""
    policy = folder / "policy.toml"
    policy.write_text(REPO_POLICY.read_text() if text is None else text)
    policy.chmod(0o600)
    return policy


def one_line(stderr: str) -> str:
    """The message of the one `error: …` line on stderr (no warnings, no traceback)."""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0].removeprefix("error: ")


@dataclass
class Keel:
    """The CLI as a person runs it, with the environment of one test."""

    runner: CliRunner
    env: dict[str, str | None]
    home: Path
    policy: Path
    sandbox: Sandbox

    def __call__(self, *args: str, **env: str | None) -> Result:
        result = self.runner.invoke(cli, list(args), env={**self.env, **env})
        assert isinstance(result.exception, SystemExit | None), repr(result.exception)
        assert "Traceback" not in result.output
        return result

    def ok(self, *args: str, **env: str | None) -> Result:
        result = self(*args, **env)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        assert result.stderr == ""
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def fails(self, code: int, *args: str, **env: str | None) -> str:
        """The one-line error a refused command prints on stderr (nothing on stdout)."""
        result = self(*args, **env)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        assert result.stdout == ""
        return one_line(result.stderr)

    def error(self, code: int, *args: str, **env: str | None) -> str:
        """The one-line error, and the same message under `--json` as one object on stdout."""
        message = self.fails(code, *args, **env)
        as_json = self(*args, "--json", **env)
        assert (as_json.exit_code, as_json.stderr) == (code, ""), as_json.stderr
        error = json.loads(as_json.stdout)
        assert set(error) == {"error", "message"} and error["message"] == message
        return message

    def fails_json(self, code: int, *args: str) -> dict[str, str]:
        result = self(*args, "--json")
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        assert result.stderr == ""
        error = json.loads(result.stdout)
        assert set(error) == {"error", "message"}
        return error

    def refund(self, order: int, *extra: str) -> dict[str, Any]:
        return self.json(
            "start", "refund", "--order", str(order), "--reason", "arrived broken", *extra
        )

    def show(self, run_id: str) -> dict[str, Any]:
        return self.json("show", run_id)

    def runs(self) -> list[dict[str, Any]]:
        return self.json("runs")

    def ledger(self, order: int | None = None) -> dict[str, int]:
        """How many of each effect the store performed (for one order), read from the sandbox."""
        return dict(Counter(e["kind"] for e in self.sandbox.ledger(order_id=order)))

    def wait_until_ended(self, run_id: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.show(run_id)["run"]
            if run["finished_at"] is not None or time.monotonic() > deadline:
                return run
            time.sleep(0.05)


@pytest.fixture
def keel(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keel]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    # cleo: a person in policy with no role, who may ask for work but approves nothing.
    policy = private_policy(
        tmp_path, REPO_POLICY.read_text().replace("[people]\n", "[people]\ncleo = []\n")
    )
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith(OUTER)}
    env |= {
        "KEEL_HOME": str(tmp_path / "home"),
        "KEEL_POLICY": str(policy),
        "KEEL_STORE_URL": sandbox.url,
        "KEEL_STORE_TOKEN": sandbox.token,
        "KEEL_SMTP_HOST": sandbox.smtp_host,
        "KEEL_SMTP_PORT": str(sandbox.smtp_port),
        "KEEL_RETRY_ATTEMPTS": "2",
        "KEEL_USER": "cleo",
    }
    umask = os.umask(0o077)  # what `main()` sets before any command: files 0600, folders 0700
    try:
        yield Keel(CliRunner(), env, tmp_path / "home", policy, sandbox)
    finally:
        os.umask(umask)
