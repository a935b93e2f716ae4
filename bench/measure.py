"""How the line benchmarks are sized and timed, and how their rows are shown."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .lines import Api
from .timing import Table, stopwatch, us


@dataclass(frozen=True)
class Sizes:
    refunds: int
    """Refund runs per round."""
    refund_rounds: int
    line_runs: int
    """Runs of each line length per repetition."""
    line_reps: int
    short: int
    long: int
    commit_window: float
    """Seconds of INSERT + COMMIT per repetition."""
    commit_reps: int


DEFAULT = Sizes(
    refunds=40,
    refund_rounds=3,
    line_runs=12,
    line_reps=5,
    short=2,
    long=12,
    commit_window=0.3,
    commit_reps=5,
)
QUICK = Sizes(
    refunds=20,
    refund_rounds=2,
    line_runs=8,
    line_reps=3,
    short=2,
    long=12,
    commit_window=0.2,
    commit_reps=3,
)


class Line(Protocol):
    """One system able to run the line at the lengths it was built for."""

    name: str
    api: Api

    def run(self, steps: int) -> None: ...
    def close(self) -> None: ...


def batch(line: Line, steps: int, runs: int) -> float:
    elapsed = stopwatch()
    for _ in range(runs):
        line.run(steps)
    return elapsed()


def timed_run(line: Line, steps: int) -> float:
    elapsed = stopwatch()
    line.run(steps)
    return elapsed()


def measure(
    lines: list[Line],
    sizes: Sizes,
    *,
    alongside: Callable[[], dict[str, float]] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, float]]]:
    """Every run timed on its own, the systems' runs interleaved one by one, so a stretch of slow
    disk falls on all of them alike; medians shrug off single fsync stalls.

    `alongside` is called once per repetition (to sample something else under the same
    conditions); its answers come back as the second value.
    """
    short, long, runs = sizes.short, sizes.long, sizes.line_runs
    for line in lines:
        for _ in range(2):
            line.run(short)
            line.run(long)
    taken: dict[str, list[tuple[list[float], list[float]]]] = {line.name: [] for line in lines}
    sampled: list[dict[str, float]] = []
    for _ in range(sizes.line_reps):
        before = {line.name: line.api.calls for line in lines}
        reps = {line.name: ([], []) for line in lines}
        for _ in range(runs):
            for line in lines:
                reps[line.name][0].append(timed_run(line, short))
                reps[line.name][1].append(timed_run(line, long))
        for line in lines:
            if (done := line.api.calls - before[line.name]) != runs * (short + long):
                raise RuntimeError(f"{line.name}: {done} calls, expected {runs * (short + long)}")
            taken[line.name].append(reps[line.name])
        if alongside is not None:
            sampled.append(alongside())
    return {name: line_stats(reps, sizes) for name, reps in taken.items()}, sampled


def line_stats(reps: list[tuple[list[float], list[float]]], sizes: Sizes) -> dict[str, Any]:
    short, long = sizes.short, sizes.long
    shorts = [t for a, _ in reps for t in a]
    longs = [t for _, b in reps for t in b]
    med_short, med_long = statistics.median(shorts), statistics.median(longs)
    per_step = (med_long - med_short) / (long - short)
    slopes = [(statistics.median(b) - statistics.median(a)) / (long - short) for a, b in reps]
    return {
        "us_per_step": 1e6 * per_step,
        "us_per_run_fixed": 1e6 * (med_short - short * per_step),
        "us_per_run_short": 1e6 * med_short,
        "us_per_run_long": 1e6 * med_long,
        "us_per_run_long_mean": 1e6 * statistics.fmean(longs),
        "us_per_step_by_rep": [1e6 * x for x in slopes],
        "spread": (max(slopes) - min(slopes)) / per_step,
        "runs_timed": len(shorts) + len(longs),
    }


def line_table(title: str) -> Table:
    return Table(
        title,
        [
            "system",
            "us/step",
            "fixed us/run",
            "us/run short",
            "us/run long",
            "mean us/run long",
            "spread",
        ],
    )


def line_row(table: Table, name: str, row: dict[str, Any]) -> None:
    table.add(
        name,
        us(row["us_per_step"] / 1e6),
        us(row["us_per_run_fixed"] / 1e6),
        us(row["us_per_run_short"] / 1e6),
        us(row["us_per_run_long"] / 1e6),
        us(row["us_per_run_long_mean"] / 1e6),
        f"{row['spread']:.0%}",
    )
