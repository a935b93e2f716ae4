"""Running a benchmark's sections: each timed, each in its own scratch folder, one failure
never hiding the others' numbers."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .timing import stopwatch

log = logging.getLogger("keel.bench")


def run_sections(
    sections: dict[str, Callable[[Path], dict[str, Any]]], wanted: set[str], tmp: Path,
    results: dict[str, Any], refuse: Callable[[Exception], dict[str, Any] | None] = lambda _e: None,
) -> bool:
    """Run the wanted sections into `results`; True when every one ran clean.

    `refuse(exc)` may turn a known failure into the section's recorded result (it prints
    its own explanation); any other failure is logged and recorded as an error.
    """
    clean = True
    for name, section in sections.items():
        if name not in wanted:
            continue
        elapsed = stopwatch()
        try:
            results[name] = section(tmp / name)
        except Exception as exc:  # one broken section must not hide the others' numbers
            recorded = refuse(exc)
            if recorded is None:
                log.exception("section %s failed", name)
                print(f"section {name} failed: {type(exc).__name__}: {exc}\n")
                recorded = {"error": f"{type(exc).__name__}: {exc}"}
            results[name] = recorded
            clean = False
        finally:
            shutil.rmtree(tmp / name, ignore_errors=True)
        results.setdefault("section_seconds", {})[name] = round(elapsed(), 1)
    return clean
