"""Every command's error path is one line and its exit code, never a traceback: services
down, a broken home, bad input Typer itself refuses, and `keel init` refusing to overwrite."""

from __future__ import annotations

import ctypes
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Keel, dead_port, keel_process, one_line, outer_env

NOT_A_DATABASE = b"\x00not sqlite\n" * 400

REFUND = ("start", "refund", "--order", "1042", "--reason", "x", "--as", "sam")


# --- services down ----------------------------------------------------------------------------


@pytest.fixture
def store_down() -> dict[str, str]:
    port = str(dead_port())
    return {
        "KEEL_STORE_URL": f"http://127.0.0.1:{port}",
        "KEEL_SMTP_PORT": port,
        "KEEL_RETRY_ATTEMPTS": "1",
    }


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (REFUND, "store: get_order on order 1042 failed: ConnectError:"),
        (("sandbox", "ledger"), "sandbox: ledger on http://127.0.0.1:"),
    ],
    ids=["start refund", "sandbox ledger"],
)
def test_with_the_store_down_a_command_that_needs_it_exits_5(
    keel: Keel,
    store_down: dict[str, str],
    args: tuple[str, ...],
    names: str,
) -> None:
    message = keel.error(5, *args, **store_down)

    assert message.startswith(names) and "Connection refused" in message
    assert message.endswith(
        "— is the store running? `keel up` or `keel sandbox` starts the local one"
    )


def test_with_the_store_down_doctor_fails_on_a_store_it_was_told_to_use(
    keel: Keel,
    store_down: dict[str, str],
) -> None:
    result = keel("doctor", **store_down)

    assert (result.exit_code, result.stderr) == (5, "")
    failed = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    assert [line.split()[1] for line in failed] == ["store", "mail"]
    assert f"{store_down['KEEL_STORE_URL']} — unreachable: " in failed[0]


@pytest.mark.parametrize(
    "args", [("runs",), ("pending", "--as", "maria"), ("audit", "verify")], ids=" ".join
)
def test_with_the_store_down_the_reading_commands_still_work(
    keel: Keel,
    store_down: dict[str, str],
    args: tuple[str, ...],
) -> None:
    keel.ok(*args, **store_down)
    keel.ok(*args, "--json", **store_down)


@pytest.fixture
def slack_down() -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-x",
        "SLACK_APP_TOKEN": "xapp-x",
        "SLACK_API_URL": f"http://127.0.0.1:{dead_port()}/api/",
    }


def test_with_slack_down_doctor_exits_5_naming_slack(
    keel: Keel,
    slack_down: dict[str, str],
) -> None:
    result = keel("doctor", **slack_down)

    assert (result.exit_code, result.stderr) == (5, "")
    [failed] = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    assert failed.startswith(
        f"✗ slack     {slack_down['SLACK_API_URL'].rstrip('/')} (Socket Mode) — unreachable: "
    )


def test_with_slack_down_serve_stops_at_once_with_one_line(
    keel: Keel,
    tmp_path: Path,
    slack_down: dict[str, str],
) -> None:
    port = str(dead_port())
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **outer_env(),
            "HOME": str(tmp_path),
            "KEEL_HOME": str(keel.home),
            "KEEL_POLICY": str(keel.policy),
            "KEEL_STORE_URL": f"http://127.0.0.1:{port}",
            "KEEL_SMTP_PORT": port,
            **slack_down,
        },
    )
    try:
        stdout, stderr = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        stdout, stderr = server.communicate()
        pytest.fail(f"keel serve with Slack down did not stop by itself in 30 s:\n{stdout}{stderr}")

    assert (server.returncode, stdout) == (5, ""), stderr
    message = one_line(stderr)
    assert message.startswith(
        f"slack: connect on {slack_down['SLACK_API_URL']} failed: unreachable ([Errno "
    )
    assert message.endswith(
        "Connection refused); is SLACK_API_URL right, and Slack reachable from here?"
    )


@pytest.fixture
def model_down() -> dict[str, str]:
    return {
        "ANTHROPIC_API_KEY": "sk-x",
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{dead_port()}",
        "KEEL_MODEL_RETRIES": "0",
    }


def test_with_the_model_down_chat_answers_with_the_offline_model(
    keel: Keel,
    model_down: dict[str, str],
) -> None:
    result = keel.ok("chat", "what waits on me?", "--as", "maria", **model_down)

    assert result.stdout.startswith("[offline model] ")


def test_with_the_model_down_doctor_exits_5_naming_the_model(
    keel: Keel,
    model_down: dict[str, str],
) -> None:
    result = keel("doctor", **model_down)

    assert (result.exit_code, result.stderr) == (5, "")
    [failed] = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    assert failed.startswith(
        f"✗ model     claude-sonnet-5-5 at {model_down['ANTHROPIC_BASE_URL']} — unreachable: "
    )


# --- a broken home ----------------------------------------------------------------------------

HOME_COMMANDS = {
    "runs": ("runs",),
    "show": ("show", "run_x"),
    "pending": ("pending", "--as", "maria"),
    "start refund": REFUND,
    "approve": ("approve", "apv_x", "--as", "maria"),
    "cancel": ("cancel", "run_x", "--as", "maria"),
    "audit verify": ("audit", "verify"),
    "memory stats": ("memory", "stats"),
    "memory sync": ("memory", "sync"),
    "chat": ("chat", "hi", "--as", "maria"),
}
BROKEN_HOMES: dict[str, tuple[str, list[str]]] = {  # how the home is broken: commands that open it
    "keel.db not a database": ("keel.db", [c for c in HOME_COMMANDS if c != "memory stats"]),
    "memory.db not a database": (
        "memory.db",
        ["start refund", "approve", "cancel", "memory stats", "memory sync", "chat"],
    ),
    "KEEL_HOME a file": ("", list(HOME_COMMANDS)),
}


@pytest.mark.parametrize(
    ("broken", "command"),
    [(broken, command) for broken, (_, commands) in BROKEN_HOMES.items() for command in commands],
)
def test_a_broken_home_stops_every_command_that_opens_it_naming_what_is_wrong(
    keel: Keel,
    broken: str,
    command: str,
) -> None:
    garbage = BROKEN_HOMES[broken][0]
    if garbage:
        keel.home.mkdir(mode=0o700)
        (keel.home / garbage).write_bytes(NOT_A_DATABASE)
    else:
        keel.home.write_text("not a folder\n")

    message = keel.error(2, *HOME_COMMANDS[command])

    assert message == (
        f"{keel.home / garbage} is not a SQLite database; restore it from a backup, or move it"
        " away and Keel starts an empty one"
        if garbage
        else f"KEEL_HOME ({keel.home}) is a file, not a folder; point KEEL_HOME at a folder (`keel"
        " init DIR` makes one)"
    )
    if garbage:
        assert (keel.home / garbage).read_bytes() == NOT_A_DATABASE


def test_memory_stats_reads_memory_alone_so_a_broken_keel_db_does_not_stop_it(keel: Keel) -> None:
    keel.home.mkdir(mode=0o700)
    (keel.home / "keel.db").write_bytes(NOT_A_DATABASE)

    assert keel.ok("memory", "stats").stdout.startswith("0 memories about 0 subjects")


def test_a_home_an_older_version_left_open_is_closed_to_others(keel: Keel) -> None:
    keel.ok("runs")
    keel.home.chmod(0o755)

    keel.ok("runs")

    assert stat.S_IMODE(keel.home.stat().st_mode) == 0o700


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2
LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: the child only calls it


def _without_file_override() -> None:
    """In the child, before exec: root keeps its uid but loses the power to ignore file modes,
    so a mode stops it as it stops any other user."""
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if LIBC.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture(scope="module")
def unprivileged(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], None] | None:
    """How to run `keel` so that file modes apply: as is unless root; as root, without
    CAP_DAC_OVERRIDE. (Not as nobody: this venv's interpreter may sit under a folder only root
    may enter, as /root/.pyenv does here, and pytest's tmp folders are root's alone.)"""
    if os.geteuid() != 0:
        return None
    locked = tmp_path_factory.mktemp("probe") / "locked"
    locked.write_text("x")
    locked.chmod(0)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import sys; open(sys.argv[1]).read()", str(locked)],
            capture_output=True,
            timeout=30,
            check=False,
            preexec_fn=_without_file_override,
        )
    except subprocess.SubprocessError as exc:
        pytest.skip(
            f"running as root and cannot drop CAP_DAC_OVERRIDE ({exc}): chmod does not"
            " stop root, so an unreadable home cannot be made here"
        )
    if probe.returncode == 0:
        pytest.skip(
            "running as root and file modes still do not stop a process without"
            " CAP_DAC_OVERRIDE: an unreadable home cannot be made here"
        )
    return _without_file_override


UNREADABLE = {  # what is closed, and its mode
    "keel.db 0000": ("keel.db", 0o000),
    "home 0500": ("", 0o500),
}


@pytest.mark.parametrize("closed", UNREADABLE, ids=UNREADABLE)
@pytest.mark.parametrize("command", ["runs", "start refund", "memory sync"])
def test_a_home_the_user_may_not_read_or_write_is_named_with_permission_denied(
    keel: Keel,
    tmp_path: Path,
    unprivileged: Callable[[], None] | None,
    closed: str,
    command: str,
) -> None:
    keel.ok("memory", "sync")  # a home with every database in it, 0700 with files 0600
    name, mode = UNREADABLE[closed]
    path = keel.home / name if name else keel.home
    path.chmod(mode)
    try:
        done = keel_process(
            *HOME_COMMANDS[command],
            cwd=tmp_path,
            preexec_fn=unprivileged,
            KEEL_HOME=str(keel.home),
            KEEL_POLICY=str(keel.policy),
        )
    finally:
        path.chmod(0o600 if name else 0o700)

    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    chmod = f"`chmod {600 if name else 700} {path}`"
    assert one_line(done.stderr) == (
        f"{path}: permission denied (mode {mode:04o}, owner"
        f" {path.owner()}); Keel reads and writes it: {chmod}"
    )


def test_a_lock_file_the_user_may_not_open_is_one_line_too(
    keel: Keel,
    tmp_path: Path,
    unprivileged: Callable[[], None] | None,
) -> None:
    keel.ok("memory", "sync")
    lock = keel.home / "server.lock"
    lock.chmod(0)

    done = keel_process(
        *REFUND,
        cwd=tmp_path,
        preexec_fn=unprivileged,
        KEEL_HOME=str(keel.home),
        KEEL_POLICY=str(keel.policy),
    )

    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert one_line(done.stderr) == (
        f"PermissionError: Permission denied ({lock}); is KEEL_HOME a"
        " folder of Keel's, readable and writable by you?"
    )


def test_init_into_a_folder_the_user_may_not_write_is_refused(
    tmp_path: Path,
    unprivileged: Callable[[], None] | None,
) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o500)

    done = keel_process("init", str(closed / "home"), cwd=tmp_path, preexec_fn=unprivileged)

    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert one_line(done.stderr) == (
        f"cannot make a home in {closed / 'home'}: Permission denied"
        f" ({closed / 'home'}); pick a folder you may write to"
    )
    assert list(closed.iterdir()) == []


# --- bad input Typer refuses before a command runs ------------------------------------------

USAGE = {  # the arguments, the command Click names in its usage line, the error and its message
    "--order abc": (
        ("start", "refund", "--order", "abc", "--reason", "x"),
        "start refund",
        "BadParameter",
        (
            "Invalid value for '--order': Input should be a valid"
            " integer, unable to parse string as an integer"
        ),
    ),
    "show without RUN": (("show",), "show", "MissingParameter", "Missing argument 'run_id'."),
}


@pytest.mark.parametrize(("args", "command", "error", "message"), USAGE.values(), ids=USAGE)
def test_bad_usage_is_one_json_object_under_json_and_clicks_usage_without(
    keel: Keel,
    args: tuple[str, ...],
    command: str,
    error: str,
    message: str,
) -> None:
    as_json = keel(*args, "--json")
    text = keel(*args)

    assert (as_json.exit_code, as_json.stderr) == (2, "")
    assert json.loads(as_json.stdout) == {"error": error, "message": message}
    assert (text.exit_code, text.stdout) == (2, "")
    usage = text.stderr.splitlines()[0]
    assert usage.startswith("Usage: ") and f" {command} [OPTIONS]" in usage
    assert " ".join(message.split()[:3]) in text.stderr  # in a box, wrapped at its width


# --- keel init never overwrites -------------------------------------------------------------


def test_init_twice_refuses_the_second_time_and_changes_nothing(
    keel: Keel,
    tmp_path: Path,
) -> None:
    target = tmp_path / "new"
    keel.ok("init", str(target))
    before = {p.name: (p.read_bytes(), p.stat().st_mode) for p in target.iterdir()}

    message = keel.error(2, "init", str(target))

    assert message == (
        f"{target / 'policy.toml'} and {target / '.env'} already exist; keel init"
        " never overwrites (move them away or pick another folder)"
    )
    assert {p.name: (p.read_bytes(), p.stat().st_mode) for p in target.iterdir()} == before
