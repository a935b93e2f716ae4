"""Running a benchmark's sections: each timed, each in its own scratch folder, one failure
never hiding the others' numbers, and every failure counted.

The one rule for `python -m bench`'s exit status lives here: a benchmark failed when one of
its sections raised (or was skipped, so its numbers are missing), when its `run` raised
outside its sections (its ratios, its tables), or when its `run` said it was not clean.
`run_sections` records each section's failure as it happens; `run_benchmark` runs a
benchmark's `run`, adds what went wrong outside the sections, and names every failure, so
a module cannot lose one by what it returns.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .timing import stopwatch

log = logging.getLogger("keel.bench")


@dataclass
class _Benchmark:
    """What the benchmark under way has recorded so far (one at a time, in this process)."""

    results: dict[str, Any] | None = None
    failed: dict[str, str] = field(default_factory=dict)
    """Section name -> why it failed."""


_current = _Benchmark()


def run_sections(
    sections: dict[str, Callable[[Path], dict[str, Any]]],
    wanted: set[str],
    tmp: Path,
    results: dict[str, Any],
    refuse: Callable[[Exception], dict[str, Any] | None] = lambda _e: None,
) -> bool:
    """Run the wanted sections into `results`; True when every one ran clean.

    `refuse(exc)` may turn a known failure into the section's recorded result (it prints
    its own explanation); any other failure is logged and recorded as an error. Either way
    the section counts as failed, and so does one that returns `{"skipped": why}`.
    """
    _current.results = results
    clean = True
    for name, section in sections.items():
        if name not in wanted:
            continue
        elapsed = stopwatch()
        try:
            results[name] = section(tmp / name)
        # One broken section must not hide the others' numbers. SystemExit too: a section
        # calling sys.exit(0) would otherwise end the whole run with a clean status.
        except (Exception, SystemExit) as exc:
            recorded = refuse(exc) if isinstance(exc, Exception) else None
            if recorded is None:
                log.exception("section %s failed", name)
                print(f"section {name} failed: {type(exc).__name__}: {exc}\n")
                recorded = {"error": f"{type(exc).__name__}: {exc}"}
            results[name] = recorded
            _failed(results, name, str(recorded.get("error") or f"{type(exc).__name__}: {exc}"))
            clean = False
        else:
            if isinstance(results[name], dict) and "skipped" in results[name]:
                _failed(results, name, f"skipped: {results[name]['skipped']}")
                clean = False
        finally:
            shutil.rmtree(tmp / name, ignore_errors=True)
        results.setdefault("section_seconds", {})[name] = round(elapsed(), 1)
    return clean


def _failed(results: dict[str, Any], section: str, why: str) -> None:
    _current.failed[section] = why
    results.setdefault("failed", {})[section] = why


def run_benchmark(
    name: str, module: ModuleType, *, quick: bool, tmp: Path, sections: set[str]
) -> tuple[dict[str, Any], list[str]]:
    """Run one benchmark's `run`; (its results, its failures as "name.section: why", empty
    when it ran clean). A failure outside its sections is caught here, so the benchmarks
    after it still run, and its JSON keeps what its sections recorded."""
    _current.results, _current.failed = None, {}
    raised: str | None = None
    try:
        results, ok = module.run(quick=quick, tmp=tmp, sections=sections)
    except (Exception, SystemExit) as exc:
        log.exception("benchmark %s failed outside its sections", name)
        print(f"benchmark {name} failed outside its sections: {type(exc).__name__}: {exc}\n")
        results = _current.results if _current.results is not None else {}
        raised = results["error"] = f"{type(exc).__name__}: {exc}"
        ok = False
    failures = [f"{name}.{section}: {why}" for section, why in _current.failed.items()]
    if raised is not None:
        failures.append(f"{name}: {raised}")
    elif not ok and not failures:
        failures.append(f"{name}: its run reported a failure")
    return results, failures
