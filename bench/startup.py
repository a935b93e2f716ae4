"""How long the `keel` command takes, as a person feels it: the wall time from spawning a
fresh process to its exit, output read, of `keel --help` and of the read-only commands over
a home holding many runs (`runs`, `show`, `pending`, `audit verify`), side by side with the
floor, the same interpreter doing nothing (`python -c pass`), in one run.

Each section times every one of its commands once, not counted (files and caches warm, the
run store's companions created), then in turns, the order reversed every other turn, so a
slow stretch of the machine falls on all alike. Every run must exit 0, and its output must
be what the command promises (JSON that parses: 50 runs from `runs`, the run asked for
from `show`, the seeded approvals from `pending`, an intact chain from `audit verify`);
else the section fails.

`keel` is the console script beside the interpreter, as a person runs it (from a venv's
bin), falling back to `python -m app.cli` when there is none; `--help` is also timed through
`-m app.cli`, to show what the script's own start costs. What got imported is read once per
command from `python -X importtime -m app.cli ...`: whether the heavy packages (LangGraph,
the Anthropic SDK, Textual) were loaded at all, and their own modules' import time.

The commands run in an empty folder (no stray `.env` or `policy.toml` is read), with
KEEL_HOME set to the scratch home, KEEL_POLICY to the repository's policy.toml, and no other
KEEL_*, no SLACK_* and no ANTHROPIC_* variable from this environment.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from graph import RUN_STORE, ManualClock, RunStatus, Store

from .sections import run_sections
from .seeding import refund_run, wait_for_a_manager
from .timing import Table, stopwatch, times

SECTIONS = ("help", "reads")

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policy.toml"
HEAVY = ("langgraph", "anthropic", "textual")
"""Top-level packages a command that needs none of them should not import."""
GOALS = {"help": 0.3, "runs": 0.5}
"""Seconds over the floor each command should stay within (shown, not asserted)."""
LIMIT = 50
"""How many runs `keel runs` lists by default."""
TIMEOUT = 120.0
"""Seconds one command may take before the bench gives up on it."""


@dataclass(frozen=True)
class Sizes:
    reps: int
    """Timed runs of each command, after one not timed."""
    runs: int
    """Runs in the home the read commands open."""


DEFAULT = Sizes(reps=15, runs=10_000)
QUICK = Sizes(reps=5, runs=1_000)


def run(*, quick: bool, tmp: Path, sections: set[str]) -> tuple[dict[str, Any], bool]:
    """Run the chosen sections, print their table, and return (results, every section clean)."""
    sizes = QUICK if quick else DEFAULT
    keel = _keel()
    results: dict[str, Any] = {
        "sizes": sizes.__dict__,
        "interpreter": sys.executable,
        "keel": keel,
        "goals_s_over_floor": GOALS,
    }
    chosen: dict[str, Callable[[Path], dict[str, Any]]] = {
        "help": lambda scratch: _help(sizes, keel, scratch),
        "reads": lambda scratch: _reads(sizes, keel, scratch),
    }
    clean = run_sections(chosen, sections, tmp, results)
    _print(results, sizes)
    return results, clean


def _keel() -> list[str]:
    """How a person starts keel: the console script beside this interpreter (not resolved:
    a venv's python is a link to the base one), else the module."""
    script = Path(sys.executable).parent / "keel"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "app.cli"]


# --- running a command -------------------------------------------------------------------------


class CommandFailed(RuntimeError):
    """A command exited non-zero, or did not print what it promises."""


@dataclass(frozen=True)
class Command:
    key: str
    label: str
    argv: list[str]
    check: Callable[[str], None] = lambda _out: None
    """Raises CommandFailed when the output is not what the command promises."""
    imports: list[str] | None = None
    """keel's arguments to run once under -X importtime, to see what gets imported."""


def _env(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KEEL_", "SLACK_", "ANTHROPIC_"))
    }
    env.update(KEEL_HOME=str(home), KEEL_POLICY=str(POLICY))
    return env


def _spawn(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str, str]:
    """(seconds from spawn to exit, stdout, stderr), or CommandFailed when it exits non-zero."""
    elapsed = stopwatch()
    try:
        done = subprocess.run(
            argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise CommandFailed(f"{' '.join(argv)} still running after {TIMEOUT:.0f} s") from None
    seconds = elapsed()
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip())[-500:]
        raise CommandFailed(f"{' '.join(argv)} exited {done.returncode}: {said}")
    return seconds, done.stdout, done.stderr


def _once(command: Command, env: dict[str, str], cwd: Path) -> float:
    seconds, out, _err = _spawn(command.argv, env, cwd)
    command.check(out)
    return seconds


def _measure(
    commands: list[Command], reps: int, env: dict[str, str], cwd: Path
) -> dict[str, dict[str, Any]]:
    """Each command once not counted, then `reps` turns of every command; per command its
    p50, p95, min and max seconds, and its difference and ratio to the floor (the first)."""
    for command in commands:
        _once(command, env, cwd)
    taken: dict[str, list[float]] = {c.key: [] for c in commands}
    for rep in range(reps):
        for command in commands if rep % 2 == 0 else commands[::-1]:
            taken[command.key].append(_once(command, env, cwd))
    out = {key: _summary(seconds) for key, seconds in taken.items()}
    floor = out[commands[0].key]
    for command in commands:
        row = out[command.key]
        row["label"] = command.label
        row["argv"] = command.argv
        if command is not commands[0]:
            row["minus_floor_s"] = row["p50"] - floor["p50"]
            row["over_floor"] = row["p50"] / floor["p50"]
            row["min_minus_floor_s"] = row["min"] - floor["min"]
        if command.imports is not None:
            row.update(_imports(command, env, cwd))
    return out


def _summary(seconds: list[float]) -> dict[str, Any]:
    ordered = sorted(seconds)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[round(0.95 * (len(ordered) - 1))],
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
        "samples_s": seconds,
    }


def _imports(command: Command, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """The command once more under `-X importtime`: which heavy packages it imported, and
    the import time of their own modules (each module's self time, summed)."""
    assert command.imports is not None
    argv = [sys.executable, "-X", "importtime", "-m", "app.cli", *command.imports]
    _seconds, out, err = _spawn(argv, env, cwd)
    command.check(out)
    own_us: dict[str, int] = {}
    total_us = modules = 0
    for line in err.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # not a module's line (the header, or the command's own stderr)
        self_us, top = int(parts[0]), parts[2].strip().split(".")[0]
        total_us += self_us
        modules += 1
        if top in HEAVY:
            own_us[top] = own_us.get(top, 0) + self_us
    if not modules:
        raise CommandFailed(f"{' '.join(argv)} printed no import times")
    return {
        "imports_heavy": [name for name in HEAVY if name in own_us],
        "heavy_own_import_ms": {name: us / 1000 for name, us in own_us.items()},
        "import_ms": total_us / 1000,
        "modules_imported": modules,
        "importtime_argv": argv,
    }


def _json(out: str, what: str) -> Any:
    try:
        return json.loads(out)
    except json.JSONDecodeError as exc:
        raise CommandFailed(f"{what} printed no JSON ({exc}): {out[:200]!r}") from None


def _floor() -> Command:
    return Command("floor", "python -c pass (the floor)", [sys.executable, "-c", "pass"])


# --- 1. keel --help ----------------------------------------------------------------------------


def _help_check(out: str) -> None:
    if "Usage" not in out or "runs" not in out:
        raise CommandFailed(f"keel --help printed no usage: {out[:200]!r}")


def _help(sizes: Sizes, keel: list[str], tmp: Path) -> dict[str, Any]:
    cwd = tmp / "cwd"
    cwd.mkdir(parents=True)
    commands = [
        _floor(),
        Command("help", "keel --help", [*keel, "--help"], _help_check, ["--help"]),
    ]
    if keel[0] != sys.executable:
        commands.append(
            Command(
                "help_module",
                "python -m app.cli --help",
                [sys.executable, "-m", "app.cli", "--help"],
                _help_check,
            )
        )
    return {"commands": _measure(commands, sizes.reps, _env(tmp / "home"), cwd)}


# --- 2. the read commands over a big home ------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    runs: int
    shown: str
    """A finished run for `keel show`."""
    waiting: int
    """Runs waiting on an approval maria (a manager) may decide."""
    events: int
    seconds: float


def _seed(home: Path, n: int) -> Seeded:
    """`n` refund runs a minute apart up to now, written straight into the run store in one
    transaction: one in 250 waiting on an approval (its deadline hours ahead), one in 50
    failed, one in 100 rejected, the newest three running, the rest succeeded."""
    elapsed = stopwatch()
    home.mkdir(parents=True)
    now = datetime.now(UTC)
    clock = ManualClock(now - timedelta(minutes=n + 1))
    store = Store.open(home / RUN_STORE, clock)
    ids: list[str] = []
    waiting = 0
    try:
        with store.tx():
            for i in range(n):
                run_id, amount = refund_run(store, clock, i)
                if i % 250 == 7:
                    store.transition(run_id, RunStatus.WAITING, only_from=[RunStatus.QUEUED])
                    wait_for_a_manager(store, run_id, amount, now + timedelta(hours=4))
                    waiting += 1
                elif i >= n - 3:
                    store.transition(run_id, RunStatus.RUNNING, only_from=[RunStatus.QUEUED])
                elif i % 50 == 13:
                    store.finish_run(run_id, RunStatus.FAILED, {}, error="the store answered 503")
                elif i % 100 == 31:
                    store.finish_run(run_id, RunStatus.REJECTED, {"decision": "reject"})
                else:
                    store.finish_run(run_id, RunStatus.SUCCEEDED, {"refund": {"ok": True}})
                ids.append(run_id)
        events = store.last_event_id()
    finally:
        store.close()
    return Seeded(n, ids[-10], waiting, events, elapsed())


def _reads(sizes: Sizes, keel: list[str], tmp: Path) -> dict[str, Any]:
    cwd = tmp / "cwd"
    cwd.mkdir(parents=True)
    home = tmp / "home"
    seeded = _seed(home, sizes.runs)

    def runs(out: str) -> None:
        found = _json(out, "keel runs --json")
        if not isinstance(found, list) or len(found) != LIMIT:
            raise CommandFailed(
                f"keel runs --json listed {len(found)} runs, not {LIMIT}"
                if isinstance(found, list)
                else "keel runs --json: not a list"
            )

    def show(out: str) -> None:
        found = _json(out, "keel show --json")
        if (found.get("run") or {}).get("id") != seeded.shown or not found.get("events"):
            raise CommandFailed(
                f"keel show {seeded.shown} --json showed another run or no events: {out[:200]!r}"
            )

    def pending(out: str) -> None:
        found = _json(out, "keel pending --json")
        if not isinstance(found, list) or len(found) != seeded.waiting:
            raise CommandFailed(
                f"keel pending --as maria --json: {len(found)} approvals, not"
                f" the {seeded.waiting} seeded"
                if isinstance(found, list)
                else "keel pending --json: not a list"
            )

    def audit(out: str) -> None:
        found = _json(out, "keel audit verify --json")
        if found.get("ok") is not True:
            raise CommandFailed(f"keel audit verify --json: the chain is not intact: {found}")

    commands = [
        _floor(),
        Command("runs", "keel runs --json", [*keel, "runs", "--json"], runs, ["runs", "--json"]),
        Command("show", "keel show RUN --json", [*keel, "show", seeded.shown, "--json"], show),
        Command(
            "pending",
            "keel pending --as maria --json",
            [*keel, "pending", "--as", "maria", "--json"],
            pending,
        ),
        Command("audit", "keel audit verify --json", [*keel, "audit", "verify", "--json"], audit),
    ]
    return {
        "home": {**seeded.__dict__, "seed_s": seeded.seconds},
        "commands": _measure(commands, sizes.reps, _env(home), cwd),
    }


# --- showing -----------------------------------------------------------------------------------


def _print(results: dict[str, Any], sizes: Sizes) -> None:
    measured = [
        name
        for name in SECTIONS
        if isinstance(results.get(name), dict) and "commands" in results[name]
    ]
    if not measured:
        return
    keel = (
        "the console script beside the interpreter"
        if len(results["keel"]) == 1
        else "python -m app.cli (no console script beside the interpreter)"
    )
    table = Table(
        f"CLI start-up: wall time from spawn to exit, fresh processes ({sizes.reps} of"
        f" each after one not counted; the read commands over {sizes.runs:,} runs)",
        [
            "command",
            "p50 s",
            "p95 s",
            "min s",
            "p50 - floor",
            "p50 / floor",
            "goal",
            "heavy imports",
        ],
    )
    for name in measured:
        for key, row in results[name]["commands"].items():
            goal = GOALS.get(key)
            heavy = row.get("imports_heavy")
            table.add(
                row["label"],
                f"{row['p50']:.3f}",
                f"{row['p95']:.3f}",
                f"{row['min']:.3f}",
                f"+{row['minus_floor_s']:.3f} s" if "minus_floor_s" in row else "",
                times(row["over_floor"]) if "over_floor" in row else "",
                ""
                if goal is None
                else f"floor +{goal:.1f} s: {'met' if row['minus_floor_s'] <= goal else 'missed'}",
                "" if heavy is None else (", ".join(heavy) or "none"),
            )
    table.notes += [
        (
            f"keel is {keel} ({' '.join(results['keel'])}); each section times its own floor,"
            " in turns with its commands"
        ),
        "p50 - floor and p50 / floor: against the floor of the same section",
        (
            "heavy imports: which of " + ", ".join(HEAVY) + " the command imported, read once"
            " from python -X importtime -m app.cli ..."
        ),
    ]
    for name in measured:
        for row in results[name]["commands"].values():
            if row.get("heavy_own_import_ms"):
                table.notes.append(
                    f"  {row['label']}: {row['modules_imported']} modules imported in"
                    f" {row['import_ms']:.0f} ms, of which "
                    + ", ".join(
                        f"{k}'s own {v:.0f} ms" for k, v in row["heavy_own_import_ms"].items()
                    )
                )
    if "reads" in measured:
        home = results["reads"]["home"]
        table.notes.append(
            f"the home: {home['runs']:,} runs, {home['events']:,} events,"
            f" {home['waiting']} waiting on maria; seeded in"
            f" {home['seed_s']:.1f} s"
        )
    print(table.render() + "\n")
