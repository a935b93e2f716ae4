"""A newcomer's first run, as real processes: `make run`'s identity, `keel init` in an empty
folder, a private home, and a demo that never plays on a store Keel did not start."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox import Sandbox

from .conftest import keel_process, outer_env, private_policy

REPO = Path(__file__).resolve().parents[2]
PEOPLE = "[people] names demo, maria, olivia, sam"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- who the terminal app acts as -----------------------------------------------------------


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_acts_as_maria_and_takes_another_person_by_keel_as() -> None:
    def planned(*args: str) -> str:
        # Under `make test` this is a nested make: without its variables it plans alone.
        env = {
            k: v for k, v in outer_env().items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
        }
        done = subprocess.run(
            ["make", "-n", "--no-print-directory", "run", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        return next(line for line in done.stdout.splitlines() if "keel up" in line)

    assert planned().endswith("/keel up --as maria")
    assert planned("KEEL_AS=sam").endswith("/keel up --as sam")


def test_keel_up_as_someone_policy_does_not_know_stops_naming_who_exists(tmp_path: Path) -> None:
    policy = private_policy(tmp_path)

    done = keel_process(
        "up",
        "--headless",
        "--as",
        "nobody",
        cwd=tmp_path,
        KEEL_POLICY=str(policy),
        KEEL_HOME=str(tmp_path / "home"),
    )

    assert done.returncode == 2, done
    assert done.stderr == f"error: 'nobody' is not a person in policy.toml; {PEOPLE}\n"
    assert not (tmp_path / "home" / "sandbox.db").exists()  # nothing was started


# --- a home of one's own ------------------------------------------------------------------------


def test_keel_init_makes_a_private_home_that_the_next_command_uses(tmp_path: Path) -> None:
    done = keel_process("init", "h", cwd=tmp_path, KEEL_USER="ada")
    assert done.returncode == 0, done
    home = tmp_path / "h"
    assert mode(home) == 0o700
    assert {p.name: mode(p) for p in home.iterdir()} == {"policy.toml": 0o600, ".env": 0o600}
    assert (home / ".env").read_text() == (REPO / ".env.example").read_text()
    policy = (home / "policy.toml").read_text()
    assert policy.startswith((REPO / "policy.toml").read_text().split("[people]")[0])
    assert '"ada" = ["owner"]' in policy  # its maker may act at once

    listed = keel_process("runs", "--json", cwd=tmp_path, KEEL_HOME="h")
    assert (listed.returncode, listed.stderr, json.loads(listed.stdout)) == (0, "", [])
    waiting = keel_process("pending", "--json", cwd=tmp_path, KEEL_HOME="h", KEEL_USER="ada")
    assert (waiting.returncode, json.loads(waiting.stdout)) == (0, [])

    again = keel_process("init", "h", cwd=tmp_path)
    assert again.returncode == 2
    assert "never overwrites" in again.stderr and again.stderr.count("\n") == 1


def test_without_init_the_error_names_the_three_places_looked(tmp_path: Path) -> None:
    done = keel_process("runs", cwd=tmp_path, KEEL_HOME="h")

    assert done.returncode == 2
    assert done.stderr == (
        f"error: no policy.toml found: looked at KEEL_POLICY (unset), ./policy.toml"
        f" ({tmp_path / 'policy.toml'}) and KEEL_HOME/policy.toml"
        f" ({tmp_path / 'h' / 'policy.toml'}); `keel init DIR` creates a home with a commented"
        " one\n"
    )
    assert not (tmp_path / "h").exists()


def test_a_settings_or_policy_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    assert keel_process("init", "h", cwd=tmp_path).returncode == 0
    (tmp_path / "h" / ".env").chmod(0o644)

    done = keel_process("runs", "--json", cwd=tmp_path, KEEL_HOME="h")

    assert done.returncode == 0 and json.loads(done.stdout) == []
    env = tmp_path / "h" / ".env"
    assert done.stderr == (
        f"warning: {env} is readable by other users (mode 0644);"
        f" `chmod 600 {env}` keeps it private\n"
    )


# --- keel up and its demo ---------------------------------------------------------------------


class Up:
    """`keel up --headless` as a process; stopped with Ctrl-C as a person would."""

    def __init__(self, cwd: Path, *args: str, **env: str) -> None:
        self.cwd, self.env = cwd, env
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up", "--headless", *args],
            cwd=cwd,
            env=outer_env(KEEL_LOG_LEVEL="WARNING", **env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""

    def runs(self) -> list[dict[str, Any]]:
        done = keel_process("runs", "--json", cwd=self.cwd, **self.env)
        assert done.returncode == 0, done
        return json.loads(done.stdout)

    def wait_for_runs(self, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not (found := self.runs()) and time.monotonic() < deadline:
            time.sleep(0.5)
        return found

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.output, _ = self.process.communicate(timeout=60)
        return self.output


@pytest.fixture
def ups() -> Iterator[list[Up]]:
    started: list[Up] = []
    yield started
    for up in started:
        if up.process.poll() is None:
            up.process.kill()
            up.process.communicate()


def free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_the_demo_never_plays_on_a_store_keel_did_not_start(
    tmp_path: Path,
    sandbox: Sandbox,
    ups: list[Up],
) -> None:
    env = {
        "KEEL_HOME": str(tmp_path / "home"),
        "KEEL_POLICY": str(private_policy(tmp_path)),
        "KEEL_STORE_URL": sandbox.url,
        "KEEL_STORE_TOKEN": sandbox.token,
        "KEEL_SMTP_HOST": sandbox.smtp_host,
        "KEEL_SMTP_PORT": str(sandbox.smtp_port),
    }

    asked = keel_process("up", "--headless", "--demo", cwd=tmp_path, **env)
    assert asked.returncode == 2
    assert asked.stderr.startswith(
        f"error: refusing the demo: the store at {sandbox.url} was"
        " not started by this keel, so it may be a real shop;"
    )

    up = Up(tmp_path, **env)
    ups.append(up)
    # The demo's first request would come 2 s after start, then every 8 s.
    assert up.wait_for_runs(timeout=12) == []
    said = up.stop()
    assert f"demo shop off: the store at {sandbox.url} was not started by this keel" in said
    assert sandbox.ledger() == []  # nothing refunded, restocked or emailed


@pytest.mark.skipif(
    not (free(8765) and free(8025)),
    reason="the sandbox's default ports 8765/8025 are in use on this machine",
)
def test_on_the_default_address_the_demo_plays_only_on_the_sandbox_keel_up_started(
    tmp_path: Path,
    ups: list[Up],
) -> None:
    env = {"KEEL_HOME": str(tmp_path / "home"), "KEEL_POLICY": str(private_policy(tmp_path))}

    # Another process already serves a sandbox on the default address: not this keel's.
    with Sandbox(tmp_path / "theirs.db", port=8765, smtp_port=8025) as theirs:
        up = Up(tmp_path, **env)
        ups.append(up)
        assert up.wait_for_runs(timeout=12) == []
        assert "demo shop off:" in up.stop()
        assert theirs.ledger() == []

    # With the address free, keel up starts its own sandbox and the demo plays on it.
    up = Up(tmp_path, **env)
    ups.append(up)
    runs = up.wait_for_runs(timeout=30)
    said = up.stop()
    assert runs and {r["requested_by"] for r in runs} == {"demo"}, said
    assert "and the demo shop" in said

    home = tmp_path / "home"
    assert mode(home) == 0o700
    files = {p.name: mode(p) for p in home.iterdir() if p.is_file()}
    assert {"keel.db", "checkpoints.db", "memory.db", "sandbox.db", "server.lock"} <= set(files)
    assert set(files.values()) == {0o600}, files


def test_a_home_an_older_keel_left_open_is_closed_on_first_use(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert keel_process("init", "h", cwd=tmp_path).returncode == 0
    home.chmod(0o755)
    (home / "keel.db").write_bytes(b"")
    (home / "keel.db").chmod(0o644)
    (home / "policy.toml").chmod(0o644)

    done = keel_process("runs", cwd=tmp_path, KEEL_HOME="h")

    assert done.returncode == 0, done
    assert (mode(home), mode(home / "keel.db")) == (0o700, 0o600)
    assert mode(home / "policy.toml") == 0o644  # a person's own file: warned about, not changed
    assert done.stderr.startswith(f"warning: {home / 'policy.toml'} is readable by other users")
