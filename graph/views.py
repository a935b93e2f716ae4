"""The lists and dashboards surfaces show, as read-only SQL over the run store: a page of
runs, the header's metrics, a run's provenance and a conversation's messages, each cheap at
10,000 runs (the terminal app reads through these; `Runtime.views()` opens them).

The views open its own read-only connection to the store's file (WAL: it never blocks a
writer and sees every commit), so a refresh neither waits on the runtime's lock nor can
change anything. Time windows use the ids' ULID time prefix, which the primary keys index.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from ulid import ULID

from .audit import GENESIS, link_hash
from .clock import iso, parse_iso
from .policy import Policy
from .statuses import RunStatus
from .store import RUN_COST, Store

SortKey = Literal["created", "id", "workflow", "status", "step", "cost", "requested_by"]
SORT_KEYS: tuple[SortKey, ...] = (
    "created",
    "id",
    "workflow",
    "status",
    "step",
    "cost",
    "requested_by",
)

_ORDER: dict[str, str] = {
    "created": "r.id",
    "id": "r.id",
    "workflow": "r.workflow",
    "status": "r.status",
    "step": "COALESCE(r.step, '')",
    "cost": "cost_usd",
    "requested_by": "r.requested_by",
}


@dataclass(frozen=True)
class RunRow:
    """One line of the runs table."""

    id: str
    workflow: str
    status: RunStatus
    step: str | None
    created_at: datetime
    updated_at: datetime
    cost_usd: float
    requested_by: str
    summary: str
    """What the run is about, e.g. "order 1042, 118.00"."""
    waiting_on: str | None = None
    """Who must act now: a role that may decide its approval ("support +2": and two more),
    the role it was escalated to, or the on-call person for an open reconciliation item."""
    escalation_level: int = 0
    mine: bool = False
    """The viewer may decide its pending approval now."""


@dataclass(frozen=True)
class RunPage:
    rows: list[RunRow]
    total: int
    """Runs matching the filter, on every page."""
    offset: int
    limit: int


@dataclass(frozen=True)
class Metrics:
    """The header's numbers over a recent window, and its per-hour series (oldest first)."""

    window: timedelta
    runs: int
    by_status: dict[str, int]
    success_rate: float | None
    """Succeeded / ended, of the runs started in the window."""
    p95_decision_seconds: float | None
    """Approval requested → decided by a person, 95th percentile."""
    decisions: int
    cost_usd: float
    cost_per_completed_usd: float | None
    waiting: int
    """Approvals pending now."""
    open_escalations: int
    """Pending approvals past their first deadline, plus open reconciliation items."""
    runs_per_hour: list[float] = field(default_factory=list)
    cost_per_hour: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Link:
    """One event of a run in the log's hash chain, checked."""

    event_id: int
    seq: int
    kind: str
    at: datetime
    prev_hash: str
    hash: str
    intact: bool
    problem: str | None = None


@dataclass(frozen=True)
class ChatLine:
    at: datetime
    who: str
    text: str
    from_person: bool
    offline: bool = False


def id_floor(prefix: str, moment: datetime) -> str:
    """The smallest id `graph.ids.new_id(prefix, moment)` can produce: ids sort by time."""
    ms = int(moment.timestamp() * 1000)
    return f"{prefix}_{str(ULID.from_int(ms << 80)).lower()}"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def summary_of(data: dict[str, Any]) -> str:
    """A run's input in a few characters: "#1042 118.00"."""
    parts = [f"#{data['order_id']}"] if "order_id" in data else []
    if data.get("amount"):
        parts.append(f"{Decimal(str(data['amount'])):.2f}")
    return " ".join(parts)


class Views:
    """The surfaces' queries over a read-only connection to the store's file."""

    def __init__(self, store: Store, policy: Policy) -> None:
        self.policy = policy
        self._lock = threading.Lock()
        with store._lock:  # one PRAGMA on the runtime's connection, under its lock
            path = _file_of(store.conn)
        if path:
            self.conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30
            )
            self._own = True
            self._shared_lock: Any = self._lock
        else:  # an in-memory store: share its connection, under its lock
            self.conn = store.conn
            self._own = False
            self._shared_lock = store._lock
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        if self._own:
            with self._lock:
                self.conn.close()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._shared_lock:
            return self.conn.execute(sql, tuple(args)).fetchall()

    def _value(self, sql: str, args: Sequence[Any] = ()) -> Any:
        rows = self._all(sql, args)
        return rows[0][0] if rows else None

    # --- runs -----------------------------------------------------------------------------

    def runs(
        self,
        *,
        status: Sequence[RunStatus] = (),
        workflow: str | None = None,
        text: str | None = None,
        sort: SortKey = "created",
        descending: bool = True,
        offset: int = 0,
        limit: int = 100,
    ) -> RunPage:
        if sort not in _ORDER:
            raise ValueError(f"cannot sort runs by {sort!r} (known: {', '.join(SORT_KEYS)})")
        parts: list[str] = []
        args: list[Any] = []
        if status:
            parts.append(f"r.status IN ({','.join('?' * len(status))})")
            args += [str(s) for s in status]
        if workflow:
            parts.append("r.workflow = ?")
            args.append(workflow)
        for word in (text or "").split():
            parts.append(
                "(r.id LIKE ? ESCAPE '\\' OR r.workflow LIKE ? ESCAPE '\\'"
                " OR r.status LIKE ? ESCAPE '\\' OR r.requested_by LIKE ? ESCAPE '\\'"
                " OR COALESCE(r.step, '') LIKE ? ESCAPE '\\'"
                " OR r.input LIKE ? ESCAPE '\\')"
            )
            args += [_like(word)] * 6
        where = (" WHERE " + " AND ".join(parts)) if parts else ""
        total = int(self._value(f"SELECT COUNT(*) FROM runs r{where}", args) or 0)
        direction = "DESC" if descending else "ASC"
        order = _ORDER[sort]
        tie = "" if order == "r.id" else f", r.id {direction}"
        rows = self._all(
            f"SELECT r.id, r.workflow, r.status, r.step, r.input, r.requested_by, r.created_at,"
            f" r.updated_at, {RUN_COST} AS cost_usd FROM runs r{where}"
            f" ORDER BY {order} {direction}{tie} LIMIT ? OFFSET ?",
            [*args, max(0, limit), max(0, offset)],
        )
        waits = self._waiting_on([r["id"] for r in rows if r["status"] in ("waiting", "failed")])
        page = []
        for r in rows:
            who, level = waits.get(r["id"], (None, 0))
            page.append(
                RunRow(
                    id=r["id"],
                    workflow=r["workflow"],
                    status=RunStatus(r["status"]),
                    step=r["step"],
                    created_at=parse_iso(r["created_at"]),
                    updated_at=parse_iso(r["updated_at"]),
                    cost_usd=float(r["cost_usd"] or 0),
                    requested_by=r["requested_by"],
                    summary=summary_of(json.loads(r["input"])),
                    waiting_on=who,
                    escalation_level=level,
                )
            )
        return RunPage(page, total, offset, limit)

    def _waiting_on(self, run_ids: list[str]) -> dict[str, tuple[str, int]]:
        """Who each of these runs waits on: its pending approval's roles, or the on-call
        person for an open reconciliation item."""
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        found: dict[str, tuple[str, int]] = {}
        on_call = self.policy.escalation.on_call
        if on_call:
            for row in self._all(
                f"SELECT DISTINCT run_id FROM reconciliations WHERE status ="
                f" 'open' AND run_id IN ({marks})",
                run_ids,
            ):
                found[row["run_id"]] = (f"{on_call} (on call)", 0)
        chain = self.policy.escalation.chain
        for row in self._all(
            f"SELECT run_id, request, escalation_level FROM approvals WHERE"
            f" status = 'pending' AND run_id IN ({marks})",
            run_ids,
        ):
            roles = json.loads(row["request"]).get("approver_roles") or []
            level = int(row["escalation_level"])
            if 0 < level <= len(chain):  # escalated: the chain's role at this level is asked
                who = chain[level - 1]
            else:
                who = (
                    roles[0] + (f" +{len(roles) - 1}" if len(roles) > 1 else "")
                    if roles
                    else "no one"
                )
            found[row["run_id"]] = (who, level)
        return found

    def last_event_id(self) -> int:
        return int(self._value("SELECT COALESCE(MAX(id), 0) FROM events") or 0)

    # --- metrics --------------------------------------------------------------------------

    def metrics(self, now: datetime, window: timedelta = timedelta(hours=24)) -> Metrics:
        since = now - window
        run_floor, apv_floor = id_floor("run", since), id_floor("apv", since)
        by_status = {
            r[0]: int(r[1])
            for r in self._all(
                "SELECT status, COUNT(*) FROM runs WHERE id >= ? GROUP BY status", [run_floor]
            )
        }
        ended = sum(n for s, n in by_status.items() if RunStatus(s).terminal)
        ok = by_status.get(RunStatus.SUCCEEDED, 0)
        took = [
            float(r[0])
            for r in self._all(
                "SELECT ROUND((julianday(decided_at) - julianday(created_at)) * 86400.0, 1) AS s"
                " FROM approvals WHERE id >= ? AND status IN ('approved', 'rejected')"
                " AND decided_at IS NOT NULL AND COALESCE(decided_by, '') != 'policy' ORDER BY s",
                [apv_floor],
            )
        ]
        done = self._all(
            f"SELECT COUNT(*), COALESCE(SUM({RUN_COST}), 0) FROM runs r WHERE r.id >= ?"
            " AND r.status = 'succeeded'",
            [run_floor],
        )[0]
        hours = _hours(since, now)
        per_hour_runs = {
            r[0]: float(r[1])
            for r in self._all(
                "SELECT substr(created_at, 1, 13), COUNT(*) FROM runs WHERE id >= ? GROUP BY 1",
                [run_floor],
            )
        }
        first = self._first_event_at(iso(since))
        per_hour_cost = {
            r[0]: float(r[1])
            for r in self._all(
                "SELECT substr(at, 1, 13), SUM(cost_usd) FROM events"
                " WHERE id >= ? AND cost_usd != 0 GROUP BY 1",
                [first],
            )
        }
        escalated = int(
            self._value(
                "SELECT COUNT(*) FROM approvals WHERE status = 'pending' AND escalation_level > 0"
            )
            or 0
        )
        open_items = int(
            self._value("SELECT COUNT(*) FROM reconciliations WHERE status = 'open'") or 0
        )
        return Metrics(
            window=window,
            runs=sum(by_status.values()),
            by_status=by_status,
            success_rate=round(ok / ended, 3) if ended else None,
            p95_decision_seconds=took[min(len(took) - 1, int(0.95 * len(took)))] if took else None,
            decisions=len(took),
            cost_usd=round(sum(per_hour_cost.values()), 6),
            cost_per_completed_usd=round(float(done[1]) / done[0], 6) if done[0] else None,
            waiting=int(
                self._value("SELECT COUNT(*) FROM approvals WHERE status = 'pending'") or 0
            ),
            open_escalations=escalated + open_items,
            runs_per_hour=[per_hour_runs.get(h, 0.0) for h in hours],
            cost_per_hour=[per_hour_cost.get(h, 0.0) for h in hours],
        )

    def _first_event_at(self, moment: str) -> int:
        """The id of the first event at or after `moment`: the log is written in time order,
        so a binary search over ids finds it in a few primary-key lookups."""
        lo, hi = 1, self.last_event_id() + 1
        while lo < hi:
            mid = (lo + hi) // 2
            row = self._all("SELECT id, at FROM events WHERE id >= ? ORDER BY id LIMIT 1", [mid])
            if not row:
                hi = mid
            elif row[0]["at"] < moment:
                lo = int(row[0]["id"]) + 1
            else:
                hi = mid
        return lo

    # --- provenance and conversations -----------------------------------------------------

    def provenance(self, run_id: str) -> list[Link]:
        """The run's events as links of the log's hash chain: each one's hash recomputed from
        its fields, and its prev_hash matched against the event before it in the whole log."""
        rows = self._all("SELECT * FROM events WHERE run_id = ? ORDER BY id", [run_id])
        links = []
        for row in rows:
            before = (
                self._value(
                    "SELECT hash FROM events WHERE id < ? ORDER BY id DESC LIMIT 1", [row["id"]]
                )
                or GENESIS
            )
            problem = None
            if row["prev_hash"] != before:
                problem = "its prev_hash is not the hash of the event before it"
            elif link_hash(row["prev_hash"], dict(row)) != row["hash"]:
                problem = "its fields do not match its hash (the row was altered)"
            links.append(
                Link(
                    row["id"],
                    row["seq"],
                    row["kind"],
                    parse_iso(row["at"]),
                    row["prev_hash"],
                    row["hash"],
                    problem is None,
                    problem,
                )
            )
        return links

    def conversation(self, conversation: str, limit: int = 200) -> list[ChatLine]:
        """The latest messages of a conversation, oldest first, from its chat events."""
        rows = self._all(
            "SELECT at, kind, actor, data FROM events WHERE run_id = ? AND kind IN"
            " ('chat.message', 'chat.reply') ORDER BY id DESC LIMIT ?",
            [conversation, limit],
        )
        lines = []
        for row in reversed(rows):
            data = json.loads(row["data"])
            person = row["kind"] == "chat.message"
            lines.append(
                ChatLine(
                    parse_iso(row["at"]),
                    row["actor"] or ("" if person else "keel"),
                    str(data.get("text", "")),
                    person,
                    bool(data.get("offline")),
                )
            )
        return lines


def _file_of(conn: sqlite3.Connection) -> str | None:
    for row in conn.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return row[2] or None
    return None


def _hours(since: datetime, now: datetime) -> list[str]:
    """The hour buckets ("YYYY-MM-DDTHH", UTC) from `since` to `now`, both included."""
    start = iso(since)[:13]
    hours, moment = [], parse_iso(start + ":00:00Z")
    while iso(moment)[:13] <= iso(now)[:13]:
        hours.append(iso(moment)[:13])
        moment += timedelta(hours=1)
    return hours
