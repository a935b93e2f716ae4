"""The yardsticks: DBOS running the same line, and SQLite's own commit rate on the same disk."""

from __future__ import annotations

import sqlite3
import statistics
from pathlib import Path
from typing import Any

from .lines import Api, DbosLine, KeelLine, dbos_line
from .measure import Sizes, batch, line_row, line_table, measure
from .probes import Commits
from .timing import Table, rate, stopwatch, times


def dbos_peer(sizes: Sizes, tmp: Path, _earlier: dict[str, Any]) -> dict[str, Any]:
    """The same line as a DBOS workflow, on DBOS's default SQLite file and on a WAL one.

    Keel runs the line again alongside each, repetitions interleaved, so the ratio compares
    runs that met the same disk at the same time.
    """
    try:
        import sqlalchemy as sa
        from dbos import DBOS  # noqa: F401
    except ImportError as exc:
        print(f"DBOS skipped: {exc} (make bench installs the 'bench' extra)\n")
        return {"skipped": str(exc)}
    tmp.mkdir(parents=True)
    api = Api()
    line_fn = dbos_line(api)
    lengths = (sizes.short, sizes.long)
    out: dict[str, Any] = {}
    table = line_table(
        f"DBOS on SQLite, the same line ({sizes.short} vs {sizes.long} steps,"
        f" {sizes.line_reps} x {sizes.line_runs} runs of each, medians)"
    )
    counted = Commits()

    def count(*_args: Any) -> None:
        counted.counts["dbos"] += 1

    for variant in ("default", "wal"):
        line = DbosLine(tmp / f"dbos-{variant}.sqlite", line_fn, api, wal=variant == "wal")
        keel = KeelLine(tmp / f"keel-{variant}", lengths)
        try:
            stats, _ = measure([keel, line], sizes)
            row = stats[line.name]
            sa.event.listen(sa.engine.Engine, "commit", count)
            try:
                per_length = {}
                for n in lengths:
                    counted.clear()
                    batch(line, n, sizes.line_runs)
                    per_length[n] = counted.counts["dbos"] / sizes.line_runs
            finally:
                sa.event.remove(sa.engine.Engine, "commit", count)
        finally:
            line.close()
            keel.close()
        row["commits_per_step"] = (per_length[sizes.long] - per_length[sizes.short]) / (
            sizes.long - sizes.short
        )
        row["commits_per_run_fixed"] = (
            per_length[sizes.short] - sizes.short * row["commits_per_step"]
        )
        row["journal_mode"] = line.journal
        row["keel_alongside"] = stats["keel"]
        out[variant] = row
        line_row(table, line.name, row)
        line_row(table, "  keel, alongside", stats["keel"])
        table.add(
            "  keel/dbos", times(stats["keel"]["us_per_step"] / row["us_per_step"]), *[""] * 5
        )
    table.notes.append(
        "commits per step: "
        + ", ".join(f"{k} {v['commits_per_step']:.2f}" for k, v in out.items())
        + "; DBOS leaves synchronous at SQLite's default (FULL) and, unless the file already is"
        " WAL, the rollback journal (the wal variant's file is made WAL before DBOS opens it)"
    )
    print(table.render() + "\n")
    return out


# --- the ceiling: SQLite's own commit rate ------------------------------------------------------

MODES = (("wal", "normal"), ("wal", "full"), ("delete", "full"))


def commit_rate(path: Path, journal: str, sync: str, window: float) -> float:
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute(f"PRAGMA journal_mode={journal}")
        conn.execute(f"PRAGMA synchronous={sync}")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        payload, done = "x" * 200, 0
        elapsed = stopwatch()
        while (seconds := elapsed()) < window:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", (payload,))
            conn.execute("COMMIT")
            done += 1
        return done / seconds
    finally:
        conn.close()


def sqlite_ceiling(sizes: Sizes, tmp: Path, _earlier: dict[str, Any]) -> dict[str, Any]:
    """Single-row INSERT + COMMIT as fast as it goes, per journal mode and synchronous level."""
    tmp.mkdir(parents=True)
    table = Table(
        f"SQLite's own commit rate on the same disk (single-row INSERT + COMMIT,"
        f" {sizes.commit_window:.1f} s windows, median of {sizes.commit_reps})",
        ["journal/synchronous", "commits/s", "us/commit", "spread"],
    )
    out: dict[str, Any] = {}
    for journal, sync in MODES:
        path = tmp / f"{journal}-{sync}.db"
        commit_rate(path, journal, sync, sizes.commit_window / 4)  # warm-up
        rates = [
            commit_rate(path, journal, sync, sizes.commit_window) for _ in range(sizes.commit_reps)
        ]
        median = statistics.median(rates)
        out[f"{journal}_{sync}"] = {
            "commits_per_s": median,
            "us_per_commit": 1e6 / median,
            "reps": rates,
            "spread": (max(rates) - min(rates)) / median,
        }
        table.add(
            f"{journal}/{sync}",
            rate(median),
            f"{1e6 / median:,.1f}",
            f"{(max(rates) - min(rates)) / median:.0%}",
        )
    print(table.render() + "\n")
    return out
