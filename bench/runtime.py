"""How fast the runtime is: refunds against the sandbox, the cost of a Keel step against bare
LangGraph and DBOS, and SQLite's own commit rate as the ceiling, in one run."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .lines import Api, BareLine, DbosLine, KeelLine, dbos_line
from .probes import Commits, TimedSaver, TimedStore
from .refunds import ExactlyOnceViolated, RefundBench, summarise
from .timing import Table, rate, stopwatch, times, us

SECTIONS = ("refunds", "steps", "dbos", "sqlite")
log = logging.getLogger("keel.bench")


@dataclass(frozen=True)
class Sizes:
    refunds: int
    """Refund runs per round."""
    refund_rounds: int
    line_runs: int
    """Runs of each line length per timed batch."""
    line_reps: int
    short: int
    long: int
    commit_window: float
    """Seconds of INSERT + COMMIT per repetition."""
    commit_reps: int


DEFAULT = Sizes(refunds=60, refund_rounds=3, line_runs=20, line_reps=5, short=2, long=12,
                commit_window=0.3, commit_reps=5)
QUICK = Sizes(refunds=20, refund_rounds=2, line_runs=8, line_reps=3, short=2, long=12,
              commit_window=0.2, commit_reps=3)


class Line(Protocol):
    name: str
    api: Api

    def run(self, steps: int) -> None: ...
    def close(self) -> None: ...


def run(*, quick: bool, tmp: Path, sections: set[str]) -> tuple[dict[str, Any], bool]:
    """Run the chosen sections, print their tables, and return (results, every section clean)."""
    sizes = QUICK if quick else DEFAULT
    results: dict[str, Any] = {"sizes": sizes.__dict__}
    clean = True
    steps: dict[str, Any] = {}
    for name, section in (("refunds", _refunds), ("steps", _steps), ("dbos", _dbos),
                          ("sqlite", _sqlite)):
        if name not in sections:
            continue
        elapsed = stopwatch()
        try:
            results[name] = section(sizes, tmp / name, **({"steps": steps} if name == "dbos" else {}))
        except ExactlyOnceViolated as exc:
            print(f"REFUSED: no refund numbers, exactly-once was violated: {exc}\n")
            results[name] = {"error": f"exactly-once violated: {exc}", "problems": exc.problems}
            clean = False
        except Exception as exc:  # one broken section must not hide the others' numbers
            log.exception("section %s failed", name)
            print(f"section {name} failed: {type(exc).__name__}: {exc}\n")
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            clean = False
        finally:
            shutil.rmtree(tmp / name, ignore_errors=True)
        if name == "steps" and "error" not in results[name]:
            steps = results[name]
        results.setdefault("section_seconds", {})[name] = round(elapsed(), 1)
    results["ratios"] = _ratios(results)
    _print_ratios(results["ratios"])
    return results, clean


# --- 1. refunds end to end ---------------------------------------------------------------------


def _refunds(sizes: Sizes, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    table = Table(f"Refunds end to end against the sandbox ({sizes.refunds} refunds of 1.00 per"
                  f" round, median of {sizes.refund_rounds})",
                  ["sandbox in", "workers", "runs/s", "effects/s", "ms/run", "cpu ms/run",
                   "spread"])
    out: dict[str, Any] = {}
    for placement in ("thread", "process"):
        bench = RefundBench(tmp, placement)
        try:
            for workers in (0, 4):
                bench.round(max(4, sizes.refunds // 4), workers)  # warm-up
                rounds = [bench.round(sizes.refunds, workers) for _ in range(sizes.refund_rounds)]
                row = out[f"{placement}_workers_{workers}"] = summarise(rounds, workers, placement)
                table.add("this process" if placement == "thread" else "a child process", workers,
                          rate(row["runs_per_s"]), rate(row["effects_per_s"]),
                          f"{row['ms_per_run']:.1f}", f"{row['cpu_ms_per_run']:.1f}",
                          f"{row['spread']:.0%}")
        finally:
            bench.close()
    inline = out["process_workers_0"]
    table.notes += [
        ("every round checked: exactly one refund and one email in the sandbox ledger per run,"
         " no other rows"),
        "cpu ms/run is this process's CPU; with the sandbox in a child process, Keel's side alone",
        "the shop connector's rate limit (2 req/s by default) is off, or it is all we'd measure",
        f"per refund (sandbox in a child, inline): steps {sum(inline['step_ms'].values()):.1f} ms ("
        + ", ".join(f"{k} {v:.1f}" for k, v in inline["step_ms"].items() if v >= 0.05)
        + f"), of which shop + mail calls {inline['connector_ms_per_run']:.1f} ms",
    ]
    print(table.render() + "\n")
    return out


# --- 2. per-step cost: Keel vs bare LangGraph ----------------------------------------------------


def _batch(line: Line, steps: int, runs: int) -> float:
    elapsed = stopwatch()
    for _ in range(runs):
        line.run(steps)
    return elapsed()


def _timed_run(line: Line, steps: int) -> float:
    elapsed = stopwatch()
    line.run(steps)
    return elapsed()


def _measure(lines: list[Line], sizes: Sizes) -> dict[str, dict[str, Any]]:
    """Every run timed on its own, short and long alternating; medians shrug off fsync stalls."""
    short, long, runs = sizes.short, sizes.long, sizes.line_runs
    for line in lines:
        for _ in range(2):
            line.run(short)
            line.run(long)
    taken: dict[str, list[tuple[list[float], list[float]]]] = {line.name: [] for line in lines}
    for _ in range(sizes.line_reps):
        for line in lines:
            before = line.api.calls
            rep: tuple[list[float], list[float]] = ([], [])
            for _ in range(runs):
                rep[0].append(_timed_run(line, short))
                rep[1].append(_timed_run(line, long))
            if (done := line.api.calls - before) != runs * (short + long):
                raise RuntimeError(f"{line.name}: {done} calls, expected {runs * (short + long)}")
            taken[line.name].append(rep)
    return {name: _line_stats(reps, sizes) for name, reps in taken.items()}


def _line_stats(reps: list[tuple[list[float], list[float]]], sizes: Sizes) -> dict[str, Any]:
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


def _steps(sizes: Sizes, tmp: Path) -> dict[str, Any]:
    lengths = (sizes.short, sizes.long)
    lines: list[Line] = [KeelLine(tmp / "keel", lengths), BareLine(tmp / "bare", lengths)]
    try:
        stats = _measure(lines, sizes)
    finally:
        for line in lines:
            line.close()
    keel, bare = stats["keel"], stats["bare langgraph"]
    table = _line_table(f"Per-step cost, a line of in-process steps ({sizes.short} vs {sizes.long}"
                        f" steps, {sizes.line_reps} x {sizes.line_runs} runs of each, medians)")
    for name, row in stats.items():
        _line_row(table, name, row)
    table.notes += [
        ("us/step: the slope between the median run times of the two lengths (per-run costs"
         " cancel); fixed: what a run costs on top; spread: how much the repetitions' slopes"
         " differ"),
        (f"keel/bare per step: {times(keel['us_per_step'] / bare['us_per_step'])};"
         f" per {sizes.long}-step run (mean, fsync stalls included):"
         f" {times(keel['us_per_run_long_mean'] / bare['us_per_run_long_mean'])}"),
    ]
    print(table.render() + "\n")
    breakdown = _breakdown(sizes, tmp)
    return {"keel": keel, "bare_langgraph": bare, "breakdown": breakdown}


def _line_table(title: str) -> Table:
    return Table(title, ["system", "us/step", "fixed us/run", "us/run short", "us/run long",
                         "mean us/run long", "spread"])


def _line_row(table: Table, name: str, row: dict[str, Any]) -> None:
    table.add(name, us(row["us_per_step"] / 1e6), us(row["us_per_run_fixed"] / 1e6),
              us(row["us_per_run_short"] / 1e6), us(row["us_per_run_long"] / 1e6),
              us(row["us_per_run_long_mean"] / 1e6), f"{row['spread']:.0%}")


STORE_LABELS = {
    "run": "read the run row (cancel check; drive loop)",
    "set_run": "update the run row (step, status)",
    "effect": "look the effect up by its key",
    "start_effect": "insert the effect as started",
    "tx{settle_effect+append_event}": "settle the effect + effect.performed event",
    "append_event": "append an event (step.finished, ...)",
}


def _breakdown(sizes: Sizes, tmp: Path) -> dict[str, Any]:
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
        rows = _rows(store.conn)
        keel_s, bare_s = _timed_run(keel, n), _timed_run(bare, n)
        seen[n].append({
            "keel total": keel_s, "bare total": bare_s,
            **{f"keel store: {k}": v for k, v in store.timings.seconds.items()},
            **{f"keel {k}": v for k, v in saver.timings.seconds.items()},
            **{f"bare {k}": v for k, v in bare_saver.timings.seconds.items()},
            **{f"commits: {k}": float(v) for k, v in commits.counts.items()},
            **{f"rows: {k}": float(v) for k, v in (_rows(store.conn) - rows).items()},
        })

    try:
        for n in (short, long):
            keel.run(n)
            bare.run(n)
        for _ in range(sizes.line_runs * 2):
            sample(short)
            sample(long)
        sync = {"keel store": _sync(store.conn), "keel checkpoints": _sync(saver.conn)}
    finally:
        keel.close()
        bare.close()

    keys = sorted({k for runs in seen.values() for run in runs for k in run})
    med = {n: {k: statistics.median(run.get(k, 0.0) for run in seen[n]) for k in keys}
           for n in (short, long)}
    step = {k: (med[long][k] - med[short][k]) / (long - short) for k in keys}
    run_fixed = {k: med[short][k] - short * step[k] for k in keys}
    _print_breakdown(step, run_fixed, sync, sizes)
    return {"per_step": step, "per_run_fixed": run_fixed, "synchronous": sync,
            "note": "medians over instrumented runs; seconds or counts; instruments add a little"}


def _rows(conn: sqlite3.Connection) -> Counter[str]:
    found: Counter[str] = Counter()
    for kind, n in conn.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind"):
        found[f"event {kind}"] = n
    found["effect rows"] = conn.execute("SELECT COUNT(*) FROM effects").fetchone()[0]
    found["run rows"] = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    return found


def _sync(conn: sqlite3.Connection) -> str:
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    level = conn.execute("PRAGMA synchronous").fetchone()[0]
    return f"{journal}/{('OFF', 'NORMAL', 'FULL', 'EXTRA')[level]}"


def _print_breakdown(step: dict[str, float], run_fixed: dict[str, float], sync: dict[str, str],
                     sizes: Sizes) -> None:
    table = Table(f"Where a step's time goes ({sizes.line_runs * 2} instrumented runs of each"
                  " length; medians; per step, and the fixed part per run)",
                  ["part", "us/step", "us/run fixed"])
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
    table.add("  langgraph engine (the rest)", us(bare_total - sum(step[k] for k in bare_ckpt)),
              us(run_fixed["bare total"] - sum(run_fixed[k] for k in bare_ckpt)))
    table.add("bare langgraph total", us(bare_total), us(run_fixed["bare total"]))
    counts = [k for k in step if k.startswith(("commits:", "rows:"))]
    per_step = ", ".join(f"{k.split(': ', 1)[1]} {step[k]:.2f}" for k in counts if step[k] > 0.005)
    per_run = ", ".join(f"{k.split(': ', 1)[1]} {run_fixed[k]:.2f}" for k in counts
                        if abs(run_fixed[k]) > 0.005)
    table.notes += [
        f"per step: {per_step}",
        f"per run on top: {per_run}",
        "sqlite settings (journal/synchronous): "
        + ", ".join(f"{k} {v}" for k, v in sync.items()) + "; bare uses the same checkpointer",
    ]
    print(table.render() + "\n")


# --- 3. DBOS, the durable-execution peer ---------------------------------------------------------


def _dbos(sizes: Sizes, tmp: Path, steps: dict[str, Any]) -> dict[str, Any]:
    try:
        import dbos  # noqa: F401
        import sqlalchemy as sa
    except ImportError as exc:
        print(f"DBOS skipped: {exc} (make bench installs the 'bench' extra)\n")
        return {"skipped": str(exc)}
    tmp.mkdir(parents=True)
    api = Api()
    line_fn = dbos_line(api)
    out: dict[str, Any] = {}
    table = _line_table(f"DBOS on SQLite, the same line ({sizes.short} vs {sizes.long} steps,"
                        f" {sizes.line_reps} x {sizes.line_runs} runs of each, medians)")
    if "keel" in steps:
        _line_row(table, "keel (from above)", steps["keel"])
    counted = Commits()

    def count(*_args: Any) -> None:
        counted.counts["dbos"] += 1

    for wal in (False, True):
        line = DbosLine(tmp / f"dbos-{'wal' if wal else 'default'}.sqlite", line_fn, api, wal=wal)
        try:
            row = _measure([line], sizes)[line.name]
            sa.event.listen(sa.engine.Engine, "commit", count)
            try:
                per_length = {}
                for n in (sizes.short, sizes.long):
                    counted.clear()
                    _batch(line, n, sizes.line_runs)
                    per_length[n] = counted.counts["dbos"] / sizes.line_runs
            finally:
                sa.event.remove(sa.engine.Engine, "commit", count)
            row["commits_per_step"] = ((per_length[sizes.long] - per_length[sizes.short])
                                       / (sizes.long - sizes.short))
            row["commits_per_run_fixed"] = (per_length[sizes.short]
                                            - sizes.short * row["commits_per_step"])
            row["journal_mode"] = line.journal
        finally:
            line.close()
        out["wal" if wal else "default"] = row
        _line_row(table, line.name, row)
    table.notes.append(
        "commits per step: " + ", ".join(f"{k} {v['commits_per_step']:.2f}" for k, v in out.items())
        + "; DBOS leaves synchronous at SQLite's default (FULL) and, unless the file already is"
        " WAL, the rollback journal")
    print(table.render() + "\n")
    return out


# --- 4. the ceiling: SQLite's own commit rate ----------------------------------------------------

MODES = (("wal", "normal"), ("wal", "full"), ("delete", "full"))


def _commit_rate(path: Path, journal: str, sync: str, window: float) -> float:
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


def _sqlite(sizes: Sizes, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    table = Table(f"SQLite's own commit rate on the same disk (single-row INSERT + COMMIT,"
                  f" {sizes.commit_window:.1f} s windows, median of {sizes.commit_reps})",
                  ["journal/synchronous", "commits/s", "us/commit", "spread"])
    out: dict[str, Any] = {}
    for journal, sync in MODES:
        path = tmp / f"{journal}-{sync}.db"
        _commit_rate(path, journal, sync, sizes.commit_window / 4)  # warm-up
        rates = [_commit_rate(path, journal, sync, sizes.commit_window)
                 for _ in range(sizes.commit_reps)]
        median = statistics.median(rates)
        out[f"{journal}_{sync}"] = {"commits_per_s": median, "us_per_commit": 1e6 / median,
                                    "reps": rates, "spread": (max(rates) - min(rates)) / median}
        table.add(f"{journal}/{sync}", rate(median), f"{1e6 / median:,.1f}",
                  f"{(max(rates) - min(rates)) / median:.0%}")
    print(table.render() + "\n")
    return out


# --- the ratios ----------------------------------------------------------------------------------


def _ratios(results: dict[str, Any]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    refunds, steps, dbos_, sqlite = (results.get(k) or {} for k in SECTIONS)
    for placement in ("thread", "process"):
        if f"{placement}_workers_0" in refunds:
            ratios[f"refunds_workers4_vs_inline_sandbox_{placement}"] = (
                refunds[f"{placement}_workers_4"]["runs_per_s"]
                / refunds[f"{placement}_workers_0"]["runs_per_s"])
    if "keel" not in steps:
        return ratios
    keel = steps["keel"]["us_per_step"]
    ratios["keel_vs_bare_per_step"] = keel / steps["bare_langgraph"]["us_per_step"]
    ratios["keel_minus_bare_us_per_step"] = keel - steps["bare_langgraph"]["us_per_step"]
    for variant in ("default", "wal"):
        if variant in dbos_:
            ratios[f"keel_vs_dbos_{variant}_per_step"] = keel / dbos_[variant]["us_per_step"]
    if "wal_normal" in sqlite:
        per_step = steps["breakdown"]["per_step"]
        store_c = per_step.get("commits: keel store", 0.0)
        ckpt_c = per_step.get("commits: keel checkpoints", 0.0)
        floor_us = (store_c * sqlite["wal_normal"]["us_per_commit"]
                    + ckpt_c * sqlite["wal_full"]["us_per_commit"])
        ratios.update({
            "keel_steps_per_s": 1e6 / keel,
            "keel_commits_per_step": {"store (wal/normal)": store_c,
                                      "checkpoints (wal/full)": ckpt_c},
            "commit_floor_us_per_step": floor_us,
            "commit_ceiling_steps_per_s": 1e6 / floor_us if floor_us else None,
            "keel_share_of_ceiling": floor_us / keel if keel else None,
            "keel_steps_vs_sqlite_commits": {
                mode: (1e6 / keel) / sqlite[mode]["commits_per_s"] for mode in sqlite},
        })
    return ratios


def _print_ratios(r: dict[str, Any]) -> None:
    lines = []
    for placement, where in (("thread", "in this process"), ("process", "in a child process")):
        if (x := r.get(f"refunds_workers4_vs_inline_sandbox_{placement}")) is not None:
            lines.append(f"refunds, sandbox {where}: 4 workers run {times(x)} the inline rate")
    if "keel_vs_bare_per_step" in r:
        peers = [f"{times(r['keel_vs_bare_per_step'])} bare LangGraph"]
        peers += [f"{times(r[f'keel_vs_dbos_{v}_per_step'])} DBOS ({name})"
                  for v, name in (("default", "sqlite default journal"), ("wal", "sqlite wal"))
                  if f"keel_vs_dbos_{v}_per_step" in r]
        lines.append("keel per-step cost: " + "; ".join(peers))
        lines.append(f"keel overhead over bare LangGraph: +{r['keel_minus_bare_us_per_step']:,.0f}"
                     " us per step")
    if "commit_floor_us_per_step" in r:
        c = r["keel_commits_per_step"]
        lines.append(
            f"keel commits per step: {c['store (wal/normal)']:.1f} to the run store (wal/normal) +"
            f" {c['checkpoints (wal/full)']:.1f} to the checkpoints (wal/full) ="
            f" {r['commit_floor_us_per_step']:,.0f} us of bare commits per step;"
            f" ceiling {r['commit_ceiling_steps_per_s']:,.0f} steps/s")
        lines.append(f"keel runs {r['keel_steps_per_s']:,.0f} steps/s:"
                     f" {r['keel_share_of_ceiling']:.0%} of that ceiling (the rest of a step's"
                     " time is not committing)")
        lines.append("keel steps/s / SQLite commits/s: " + ", ".join(
            f"{v:.3g} ({m.replace('_', '/')})"
            for m, v in r["keel_steps_vs_sqlite_commits"].items()))
    if lines:
        print("Ratios\n------\n" + "\n".join(lines) + "\n")

