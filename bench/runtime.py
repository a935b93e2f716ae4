"""How fast the runtime is: refunds against the sandbox, the cost of a Keel step against bare
LangGraph and DBOS, and SQLite's own commit rate as the ceiling, in one run."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .breakdown import breakdown
from .lines import BareLine, KeelLine
from .measure import DEFAULT, QUICK, Line, Sizes, line_row, line_table, measure
from .peers import MODES, commit_rate, dbos_peer, sqlite_ceiling
from .refunds import ExactlyOnceViolated, RefundBench, summarise
from .sections import run_sections
from .timing import Table, rate, times

SECTIONS = ("refunds", "steps", "dbos", "sqlite")

Section = Callable[[Sizes, Path, dict[str, Any]], dict[str, Any]]
"""(sizes, scratch directory, the results of the sections before) -> this section's results."""


def run(*, quick: bool, tmp: Path, sections: set[str]) -> tuple[dict[str, Any], bool]:
    """Run the chosen sections, print their tables, and return (results, every section clean)."""
    sizes = QUICK if quick else DEFAULT
    results: dict[str, Any] = {"sizes": sizes.__dict__}
    chosen: dict[str, Section] = {
        "refunds": _refunds,
        "steps": _steps,
        "dbos": dbos_peer,
        "sqlite": sqlite_ceiling,
    }

    def refuse(exc: Exception) -> dict[str, Any] | None:
        if not isinstance(exc, ExactlyOnceViolated):
            return None
        print(f"REFUSED: no refund numbers, exactly-once was violated: {exc}\n")
        return {"error": f"exactly-once violated: {exc}", "problems": exc.problems}

    clean = run_sections(
        {
            name: (lambda scratch, s=section: s(sizes, scratch, results))
            for name, section in chosen.items()
        },
        sections,
        tmp,
        results,
        refuse,
    )
    results["ratios"] = _ratios(results)
    _print_ratios(results["ratios"])
    return results, clean


# --- 1. refunds end to end ---------------------------------------------------------------------


def _refunds(sizes: Sizes, tmp: Path, _earlier: dict[str, Any]) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    table = Table(
        f"Refunds end to end against the sandbox ({sizes.refunds} refunds of 1.00 per"
        f" round, median of {sizes.refund_rounds})",
        ["sandbox in", "workers", "runs/s", "effects/s", "ms/run", "cpu ms/run", "spread"],
    )
    out: dict[str, Any] = {}
    for placement in ("thread", "process"):
        bench = RefundBench(tmp, placement)
        try:
            for workers in (0, 4):
                bench.round(max(4, sizes.refunds // 4), workers)  # warm-up
                rounds = [bench.round(sizes.refunds, workers) for _ in range(sizes.refund_rounds)]
                row = out[f"{placement}_workers_{workers}"] = summarise(rounds, workers, placement)
                table.add(
                    "this process" if placement == "thread" else "a child process",
                    workers,
                    rate(row["runs_per_s"]),
                    rate(row["effects_per_s"]),
                    f"{row['ms_per_run']:.1f}",
                    f"{row['cpu_ms_per_run']:.1f}",
                    f"{row['spread']:.0%}",
                )
        finally:
            bench.close()
    inline = out["process_workers_0"]
    table.notes += [
        (
            "every round checked: exactly one refund and one email in the sandbox ledger per run,"
            " no other rows"
        ),
        (
            f"each refund in a round is of a different order ({inline['orders_per_round']} orders"
            " of the sandbox's fresh seed): Keel refuses a second unfinished refund of an order"
        ),
        "cpu ms/run is this process's CPU; with the sandbox in a child process, Keel's side alone",
        "the shop connector's rate limit (2 req/s by default) is off, or it is all we'd measure",
        f"per refund (sandbox in a child, inline): steps {sum(inline['step_ms'].values()):.1f} ms ("
        + ", ".join(f"{k} {v:.1f}" for k, v in inline["step_ms"].items() if v >= 0.05)
        + f"), of which shop + mail calls {inline['connector_ms_per_run']:.1f} ms",
    ]
    print(table.render() + "\n")
    return out


# --- 2. per-step cost: Keel vs bare LangGraph ----------------------------------------------------


def _steps(sizes: Sizes, tmp: Path, _earlier: dict[str, Any]) -> dict[str, Any]:
    lengths = (sizes.short, sizes.long)
    lines: list[Line] = [KeelLine(tmp / "keel", lengths), BareLine(tmp / "bare", lengths)]

    def commit_costs() -> dict[str, float]:
        """SQLite's commit latency per mode, sampled between the repetitions on the same disk."""
        return {
            f"{j}_{s}": 1e6
            / commit_rate(tmp / f"commits-{j}-{s}.db", j, s, sizes.commit_window / 3)
            for j, s in MODES
        }

    try:
        stats, commits = measure(lines, sizes, alongside=commit_costs)
    finally:
        for line in lines:
            line.close()
    keel, bare = stats["keel"], stats["bare langgraph"]
    table = line_table(
        f"Per-step cost, a line of in-process steps ({sizes.short} vs {sizes.long}"
        f" steps, {sizes.line_reps} x {sizes.line_runs} runs of each, medians)"
    )
    for name, row in stats.items():
        line_row(table, name, row)
    table.notes += [
        (
            "us/step: the slope between the median run times of the two lengths (per-run costs"
            " cancel); fixed: what a run costs on top; spread: how much the repetitions' slopes"
            " differ"
        ),
        (
            f"keel/bare per step: {times(keel['us_per_step'] / bare['us_per_step'])};"
            f" per {sizes.long}-step run (mean, fsync stalls included):"
            f" {times(keel['us_per_run_long_mean'] / bare['us_per_run_long_mean'])}"
        ),
    ]
    commit_us = {mode: statistics.median(c[mode] for c in commits) for mode in commits[0]}
    table.notes.append(
        "sqlite commits sampled between the repetitions: "
        + ", ".join(f"{m.replace('_', '/')} {v:,.0f} us" for m, v in commit_us.items())
    )
    print(table.render() + "\n")
    parts = breakdown(sizes, tmp)
    return {
        "keel": keel,
        "bare_langgraph": bare,
        "breakdown": parts,
        "commit_us_alongside": commit_us,
        "commit_us_samples": commits,
    }


# --- the ratios ----------------------------------------------------------------------------------


def _ratios(results: dict[str, Any]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    refunds, steps, dbos_, sqlite = (results.get(k) or {} for k in SECTIONS)
    for placement in ("thread", "process"):
        if f"{placement}_workers_0" in refunds:
            ratios[f"refunds_workers4_vs_inline_sandbox_{placement}"] = (
                refunds[f"{placement}_workers_4"]["runs_per_s"]
                / refunds[f"{placement}_workers_0"]["runs_per_s"]
            )
    for variant in ("default", "wal"):
        if variant in dbos_:  # against the keel runs interleaved with this DBOS's
            ratios[f"keel_vs_dbos_{variant}_per_step"] = (
                dbos_[variant]["keel_alongside"]["us_per_step"] / dbos_[variant]["us_per_step"]
            )
    if "keel" not in steps:
        return ratios
    keel = steps["keel"]["us_per_step"]
    ratios["keel_vs_bare_per_step"] = keel / steps["bare_langgraph"]["us_per_step"]
    ratios["keel_minus_bare_us_per_step"] = keel - steps["bare_langgraph"]["us_per_step"]
    # Commit costs sampled between the step repetitions, else the standalone section's.
    commit_us = steps.get("commit_us_alongside") or {
        mode: row["us_per_commit"] for mode, row in sqlite.items()
    }
    sync = steps["breakdown"].get("synchronous", {})
    modes = {
        part: sync.get(f"keel {part}", "wal/FULL").lower() for part in ("store", "checkpoints")
    }
    if all(m.replace("/", "_") in commit_us for m in modes.values()):
        per_step = steps["breakdown"]["per_step"]
        store_c = per_step.get("commits: keel store", 0.0)
        ckpt_c = per_step.get("commits: keel checkpoints", 0.0)
        floor_us = (
            store_c * commit_us[modes["store"].replace("/", "_")]
            + ckpt_c * commit_us[modes["checkpoints"].replace("/", "_")]
        )
        ratios.update(
            {
                "keel_steps_per_s": 1e6 / keel,
                "keel_commits_per_step": {
                    f"the run store ({modes['store']})": store_c,
                    f"the checkpoints ({modes['checkpoints']})": ckpt_c,
                },
                "commit_us_used": commit_us,
                "commit_floor_us_per_step": floor_us,
                "commit_ceiling_steps_per_s": 1e6 / floor_us if floor_us else None,
                "keel_vs_commit_ceiling": floor_us / keel if keel else None,
                "keel_steps_vs_sqlite_commits": {
                    mode: us_ / keel for mode, us_ in commit_us.items()
                },
            }
        )
    return ratios


def _print_ratios(r: dict[str, Any]) -> None:
    lines = []
    for placement, where in (("thread", "in this process"), ("process", "in a child process")):
        if (x := r.get(f"refunds_workers4_vs_inline_sandbox_{placement}")) is not None:
            lines.append(f"refunds, sandbox {where}: 4 workers run {times(x)} the inline rate")
    peers = (
        [f"{times(r['keel_vs_bare_per_step'])} bare LangGraph"]
        if "keel_vs_bare_per_step" in r
        else []
    )
    peers += [
        f"{times(r[f'keel_vs_dbos_{v}_per_step'])} DBOS ({name})"
        for v, name in (("default", "sqlite default journal"), ("wal", "sqlite wal"))
        if f"keel_vs_dbos_{v}_per_step" in r
    ]
    if peers:
        lines.append("keel per-step cost: " + "; ".join(peers))
    if "keel_minus_bare_us_per_step" in r:
        lines.append(
            f"keel overhead over bare LangGraph: +{r['keel_minus_bare_us_per_step']:,.0f}"
            " us per step"
        )
    if "commit_floor_us_per_step" in r:
        parts = " + ".join(f"{n:.1f} to {where}" for where, n in r["keel_commits_per_step"].items())
        lines.append(
            f"keel commits per step: {parts} ="
            f" {r['commit_floor_us_per_step']:,.0f} us of bare commits per step;"
            f" ceiling {r['commit_ceiling_steps_per_s']:,.0f} steps/s"
        )
        lines.append(
            "  (commit costs sampled between the step repetitions: "
            + ", ".join(
                f"{m.replace('_', '/')} {v:,.0f} us" for m, v in r["commit_us_used"].items()
            )
            + ")"
        )
        lines.append(
            f"keel runs {r['keel_steps_per_s']:,.0f} steps/s:"
            f" {r['keel_vs_commit_ceiling']:.0%} of that ceiling (the rest of a step's"
            " time is not committing)"
        )
        lines.append(
            "keel steps/s / SQLite commits/s: "
            + ", ".join(
                f"{v:.3g} ({m.replace('_', '/')})"
                for m, v in r["keel_steps_vs_sqlite_commits"].items()
            )
        )
    if lines:
        print("Ratios\n------\n" + "\n".join(lines) + "\n")
