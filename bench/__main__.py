"""Run the benchmarks: `python -m bench [--quick] [--only runtime[.refunds|.steps|.dbos|.sqlite]]`
or `--only assistant[.prompt|.intents]` or `--only slack[.approvals]` or
`--only memory[.embedder|.10k|.100k]` or `--only tui[.100|.1k|.10k]` or
`--only startup[.help|.reads]`.

Each benchmark prints its tables and writes its numbers to bench/results/<name>.json.
A section that fails (or is skipped) is recorded as such and the run goes on; at the end
the failures are listed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from . import assistant, memory, runtime, slack, startup, tui
from .sections import run_benchmark

BENCHMARKS = {
    "runtime": runtime,
    "assistant": assistant,
    "slack": slack,
    "memory": memory,
    "tui": tui,
    "startup": startup,
}
RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("langgraph", "langgraph-checkpoint-sqlite", "dbos", "sqlalchemy")


def _selection(only: str | None) -> dict[str, set[str]]:
    """`runtime` or `runtime.dbos,runtime.sqlite` → the sections to run per benchmark."""
    chosen: dict[str, set[str]] = {}
    for item in only.split(",") if only else list(BENCHMARKS):
        name, _, section = item.strip().partition(".")
        if name not in BENCHMARKS:
            raise SystemExit(f"no benchmark named {name!r} (known: {', '.join(BENCHMARKS)})")
        known = BENCHMARKS[name].SECTIONS
        if section and section not in known:
            raise SystemExit(f"{name} has no section {section!r} (known: {', '.join(known)})")
        chosen.setdefault(name, set()).update({section} if section else known)
    return chosen


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _meta(quick: bool, tmp: Path) -> dict[str, Any]:
    import sqlite3

    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "tmp": str(tmp),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "packages": {p: _version(p) for p in PACKAGES},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument(
        "--only", help="benchmarks or sections, comma-separated, e.g. runtime.steps"
    )
    parser.add_argument(
        "--tmp",
        type=Path,
        default=None,
        help="where the scratch databases go (the disk being measured)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    args = parser.parse_args(argv)
    chosen = _selection(args.only)
    failures: list[str] = []
    for name, sections in chosen.items():
        with tempfile.TemporaryDirectory(prefix="keel-bench-", dir=args.tmp) as scratch:
            tmp = Path(scratch)
            meta = _meta(args.quick, tmp)
            meta["sections"] = sorted(sections)
            order = [s for s in BENCHMARKS[name].SECTIONS if s in sections]
            print(
                f"== bench {name}: {', '.join(order)}"
                f" ({'quick' if args.quick else 'default'}; python {meta['python']},"
                f" sqlite {meta['sqlite']}, {meta['cpus']} cpus, load average"
                f" {meta['load_average'][0]:.2f}, scratch in {tmp.parent})\n"
            )
            results, failed = run_benchmark(
                name, BENCHMARKS[name], quick=args.quick, tmp=tmp, sections=sections
            )
        failures += failed
        meta["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"{name}.json"
        path.write_text(json.dumps({"meta": meta, **results}, indent=2, default=str) + "\n")
        print(f"wrote {path}")
    if failures:  # every benchmark has run to the end; the status says not all went well
        print(f"\nFAILED ({len(failures)}):\n" + "\n".join(f"  {f}" for f in failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
