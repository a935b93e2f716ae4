"""Measuring and showing: a stopwatch, plain-text tables and number formats."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def stopwatch() -> Callable[[], float]:
    """Start timing now; the returned function gives the seconds since."""
    started = time.perf_counter()
    return lambda: time.perf_counter() - started


@dataclass
class Table:
    """A titled, column-aligned text table; numbers are formatted by the caller."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def render(self) -> str:
        grid = [list(self.columns), *self.rows]
        widths = [max(len(r[i]) for r in grid) for i in range(len(self.columns))]

        def line(cells: Sequence[str]) -> str:
            first, *rest = cells
            padded = [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
            return "  ".join([first.ljust(widths[0]), *padded]).rstrip()

        out = [
            self.title,
            "-" * len(self.title),
            line(self.columns),
            "  ".join("-" * w for w in widths),
        ]
        out += [line(r) for r in self.rows]
        out += [f"  {n}" for n in self.notes]
        return "\n".join(out)


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}"


def rate(per_second: float) -> str:
    return f"{per_second:,.1f}" if per_second < 100 else f"{per_second:,.0f}"


def times(ratio: float) -> str:
    return f"{ratio:.2f}x"
