"""Run metrics from the run store: counts by status, success rate, cost, time to finish."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .records import Run
from .statuses import RunStatus


def summarise(runs: Iterable[Run], since: datetime | None = None) -> dict[str, Any]:
    """Metrics over runs created at or after `since` (all runs when None)."""
    runs = [r for r in runs if since is None or r.created_at >= since]
    ended = [r for r in runs if r.status.terminal]
    ok = [r for r in ended if r.status is RunStatus.SUCCEEDED]
    took = sorted((r.finished_at - r.created_at).total_seconds() for r in ended if r.finished_at)
    by_status: dict[str, int] = {}
    for r in runs:
        by_status[str(r.status)] = by_status.get(str(r.status), 0) + 1
    return {
        "runs": len(runs),
        "by_status": by_status,
        "success_rate": round(len(ok) / len(ended), 3) if ended else None,
        "cost_usd": round(sum(r.cost_usd for r in runs), 6),
        "cost_per_completed_usd": round(sum(r.cost_usd for r in ok) / len(ok), 6) if ok else None,
        "mean_seconds": round(sum(took) / len(took), 3) if took else None,
        "p95_seconds": took[min(len(took) - 1, int(0.95 * len(took)))] if took else None,
    }
