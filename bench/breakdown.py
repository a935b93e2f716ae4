"""Where a Keel step's time goes: instrumented runs of Keel and of bare LangGraph, side by side."""

from __future__ import annotations

import sqlite3
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from .lines import BareLine, KeelLine
from .measure import Sizes, timed_run
from .probes import Commits, TimedSaver, TimedStore
from .timing import Table, us

STORE_LABELS = {
    "run": "read the run row (cancel check; drive loop)",
    "set_run": "update the run row (step, status)",
    "effect": "look the effect up by its key",
    "start_effect": "insert the effect as started",
    "tx{settle_effect+append_event}": "settle the effect + effect.performed event",
    "append_event": "append an event (step.finished, ...)",
}


def breakdown(sizes: Sizes, tmp: Path) -> dict[str, Any]:
    """Instrumented runs: where a step's time goes, and what it writes and commits (medians)."""
    short, long = sizes.short, sizes.long
    keel = KeelLine(tmp / "keel-timed", (short, long), timed=True)
    bare = BareLine(tmp / "bare-timed", (short, long), timed=True)
    store, saver, bare_saver = keel.store, keel.saver, bare.saver
    assert isinstance(store, TimedStore) and isinstance(saver, TimedSaver)
    assert isinstance(bare_saver, TimedSaver)
    commits = Commits()
    commits.watch("keel store", store.conn)
    commits.watch("keel checkpoints", saver.conn)
    commits.watch("bare checkpoints", bare_saver.conn)
    seen: dict[int, list[dict[str, float]]] = {short: [], long: []}

    def sample(n: int) -> None:
        for probe in (store.timings, saver.timings, bare_saver.timings):
            probe.clear()
        commits.clear()
        rows = _row_counts(store.conn)
        keel_s, bare_s = timed_run(keel, n), timed_run(bare, n)
        seen[n].append(
            {
                "keel total": keel_s,
                "bare total": bare_s,
                **{f"keel store: {k}": v for k, v in store.timings.seconds.items()},
                **{f"keel {k}": v for k, v in saver.timings.seconds.items()},
                **{f"bare {k}": v for k, v in bare_saver.timings.seconds.items()},
                **{f"commits: {k}": float(v) for k, v in commits.counts.items()},
                **{f"rows: {k}": float(v) for k, v in (_row_counts(store.conn) - rows).items()},
            }
        )

    try:
        for n in (short, long):
            keel.run(n)
            bare.run(n)
        for _ in range(sizes.line_runs * 2):
            sample(short)
            sample(long)
        sync = {"keel store": _durability(store.conn), "keel checkpoints": _durability(saver.conn)}
    finally:
        keel.close()
        bare.close()

    keys = sorted({k for runs in seen.values() for run in runs for k in run})
    med = {
        n: {k: statistics.median(run.get(k, 0.0) for run in seen[n]) for k in keys}
        for n in (short, long)
    }
    step = {k: (med[long][k] - med[short][k]) / (long - short) for k in keys}
    run_fixed = {k: med[short][k] - short * step[k] for k in keys}
    _print(step, run_fixed, sync, sizes)
    return {
        "per_step": step,
        "per_run_fixed": run_fixed,
        "synchronous": sync,
        "note": "medians over instrumented runs; seconds or counts; instruments add a little",
    }


def _row_counts(conn: sqlite3.Connection) -> Counter[str]:
    found: Counter[str] = Counter()
    for kind, n in conn.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind"):
        found[f"event {kind}"] = n
    found["effect rows"] = conn.execute("SELECT COUNT(*) FROM effects").fetchone()[0]
    found["run rows"] = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    return found


def _durability(conn: sqlite3.Connection) -> str:
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    level = conn.execute("PRAGMA synchronous").fetchone()[0]
    return f"{journal}/{('OFF', 'NORMAL', 'FULL', 'EXTRA')[level]}"


def _print(
    step: dict[str, float], run_fixed: dict[str, float], sync: dict[str, str], sizes: Sizes
) -> None:
    table = Table(
        f"Where a step's time goes ({sizes.line_runs * 2} instrumented runs of each"
        " length; medians; per step, and the fixed part per run)",
        ["part", "us/step", "us/run fixed"],
    )
    keel_total, bare_total = step["keel total"], step["bare total"]
    timed_keel = [k for k in step if k.startswith(("keel store:", "keel checkpoint."))]
    for key in sorted(timed_keel, key=lambda k: -step[k]):
        label = key.removeprefix("keel ")
        if key.startswith("keel store: "):
            name = key.removeprefix("keel store: ")
            label = f"store: {STORE_LABELS.get(name, name)}"
        table.add(f"  {label}", us(step[key]), us(run_fixed[key]))
    rest = keel_total - sum(step[k] for k in timed_keel)
    rest_fixed = run_fixed["keel total"] - sum(run_fixed[k] for k in timed_keel)
    table.add("  langgraph engine + keel python (the rest)", us(rest), us(rest_fixed))
    table.add("keel total", us(keel_total), us(run_fixed["keel total"]))
    bare_ckpt = [k for k in step if k.startswith("bare checkpoint.")]
    for key in bare_ckpt:
        table.add(f"  {key.removeprefix('bare ')}", us(step[key]), us(run_fixed[key]))
    bare_rest = bare_total - sum(step[k] for k in bare_ckpt)
    table.add(
        "  langgraph engine (the rest)",
        us(bare_rest),
        us(run_fixed["bare total"] - sum(run_fixed[k] for k in bare_ckpt)),
    )
    table.add("bare langgraph total", us(bare_total), us(run_fixed["bare total"]))
    counts = [k for k in step if k.startswith(("commits:", "rows:"))]
    per_step = ", ".join(f"{k.split(': ', 1)[1]} {step[k]:.2f}" for k in counts if step[k] > 0.005)
    per_run = ", ".join(
        f"{k.split(': ', 1)[1]} {run_fixed[k]:.2f}" for k in counts if abs(run_fixed[k]) > 0.005
    )
    store_us = sum(step[k] for k in timed_keel if k.startswith("keel store:"))
    python_us = rest - bare_rest
    table.notes += [
        (
            f"keel over bare per step: store calls {us(store_us)} us + python outside the store"
            " (step wrapper, scope, key hashing, context) "
            + (f"~{us(python_us)} us" if python_us > 0 else "lost in the noise")
        ),
        f"per step: {per_step}",
        f"per run on top: {per_run}",
        "sqlite settings (journal/synchronous): "
        + ", ".join(f"{k} {v}" for k, v in sync.items())
        + "; bare uses the same checkpointer",
    ]
    print(table.render() + "\n")
