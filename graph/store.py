"""The run store: runs, the hash-chained event log, approvals, effects, reconciliations, inbox.

One SQLite file in WAL mode, opened with the standard library. Every write runs in a
`BEGIN IMMEDIATE` transaction, so two processes sharing the file serialise their writes
and a compare-and-set really is one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from .audit import GENESIS, AuditReport, canonical, link_hash, verify_chain
from .clock import Clock, SystemClock, iso, parse_iso
from .errors import AlreadyInProgress
from .ids import new_id
from .records import Approval, ApprovalRequest, Effect, Event, InboxItem, Reconciliation, Run, Vote
from .schema import migrate
from .statuses import ApprovalStatus, EffectStatus, RunStatus

RUN_STORE = "keel.db"
"""The run store's file name in a home folder."""


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dt(text: str | None) -> datetime | None:
    return None if text is None else parse_iso(text)


def _where(*clauses: tuple[str, Any]) -> tuple[str, list[Any]]:
    """AND the clauses whose value is given: `col` means `col = ?`, a list means IN (...),
    a clause with its own `?` is used as written."""
    parts: list[str] = []
    args: list[Any] = []
    for sql, value in clauses:
        if value is None or (isinstance(value, list) and not value):
            continue
        if isinstance(value, list):
            parts.append(f"{sql} IN ({','.join('?' * len(value))})")
            args.extend(value)
        else:
            parts.append(sql if "?" in sql else f"{sql} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", args


def _use_wal(conn: sqlite3.Connection, tries: int = 200) -> None:
    """Switch the file to WAL once; a rival connection's lock makes SQLite refuse at once,
    without its busy timeout, so wait and try again."""
    for _ in range(tries):
        try:
            if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        time.sleep(0.05)
    raise sqlite3.OperationalError("could not switch the run store to WAL: it stays locked")


RUN_COST = "(SELECT COALESCE(SUM(e.cost_usd), 0) FROM events e WHERE e.run_id = r.id)"
"""A run's cost so far, as SQL over `runs r`: the sum of its events' costs."""


class Store:
    """Connection in, lazy set-up once, parameterised SQL, typed records out."""

    def __init__(self, conn: sqlite3.Connection, clock: Clock | None = None) -> None:
        self.conn = conn
        self.clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._depth = 0
        conn.row_factory = sqlite3.Row
        conn.isolation_level = None  # we issue BEGIN/COMMIT ourselves
        _use_wal(conn)
        # FULL: a commit is on disk before we act on it, power loss included (the same
        # setting as the checkpoints), so the log never trails a step that happened.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            migrate(conn)

    @classmethod
    def open(cls, path: str | Path, clock: Clock | None = None) -> Store:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        return cls(conn, clock)

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls on the same thread join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
            return row

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, args).fetchall()

    def now(self) -> str:
        return iso(self.clock.now())

    # --- events ---------------------------------------------------------------------------

    def append_event(
        self,
        run_id: str | None,
        kind: str,
        *,
        step: str | None = None,
        actor: str | None = None,
        data: dict[str, Any] | None = None,
        cost_usd: float = 0.0,
        duration_ms: float | None = None,
    ) -> Event:
        with self.tx() as conn:
            last = conn.execute("SELECT hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
            prev = last[0] if last else GENESIS
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id IS ?", (run_id,)
            ).fetchone()[0]
            row = {
                "run_id": run_id,
                "seq": seq,
                "at": self.now(),
                "kind": kind,
                "step": step,
                "actor": actor,
                "data": canonical(data or {}),
                "cost_usd": float(cost_usd),
                "duration_ms": None if duration_ms is None else round(float(duration_ms), 3),
            }
            row["prev_hash"] = prev
            row["hash"] = link_hash(prev, row)
            cur = conn.execute(
                "INSERT INTO events (run_id, seq, at, kind, step, actor, data, cost_usd,"
                " duration_ms, prev_hash, hash) VALUES (:run_id, :seq, :at, :kind, :step, :actor,"
                " :data, :cost_usd, :duration_ms, :prev_hash, :hash)",
                row,
            )
            return self._event({**row, "id": cur.lastrowid})

    def events(
        self,
        run_id: str | None = None,
        *,
        since: int = 0,
        kinds: list[str] | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        where, args = _where(("id > ?", since), ("run_id", run_id), ("kind", kinds))
        sql = f"SELECT * FROM events{where} ORDER BY id LIMIT ?"
        args.append(limit)
        return [self._event(dict(r)) for r in self._all(sql, tuple(args))]

    def events_with(
        self, run_id: str, *, kinds: list[str], field: str, values: list[str]
    ) -> list[Event]:
        """The run's events of these kinds whose data `field` is one of `values`, in order
        (e.g. the records of some tool calls by their tool_use ids)."""
        if not values or not kinds:
            return []
        where, args = _where(("run_id", run_id), ("kind", kinds))
        sql = (
            f"SELECT * FROM events{where} AND json_extract(data, ?)"
            f" IN ({','.join('?' * len(values))}) ORDER BY id"
        )
        return [self._event(dict(r)) for r in self._all(sql, (*args, f"$.{field}", *values))]

    def last_event_id(self) -> int:
        row = self._one("SELECT COALESCE(MAX(id), 0) FROM events")
        return int(row[0]) if row else 0

    def model_spend(self, scope: str) -> tuple[int, float]:
        """Tokens and cost of the model calls recorded for a run or conversation."""
        row = self._one(
            "SELECT COALESCE(SUM(json_extract(data, '$.total_tokens')), 0),"
            " COALESCE(SUM(cost_usd), 0) FROM events WHERE run_id = ? AND kind = 'model.called'",
            (scope,),
        )
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    def verify(self) -> AuditReport:
        with self._lock:
            return verify_chain(self.conn)

    @staticmethod
    def _event(row: dict[str, Any]) -> Event:
        return Event(**{**row, "at": parse_iso(row["at"]), "data": json.loads(row["data"])})

    # --- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        workflow: str,
        version: int,
        input: dict[str, Any],
        requested_by: str,
        origin: str,
        status: RunStatus = RunStatus.QUEUED,
        *,
        exclusive_on: str | None = None,
    ) -> Run:
        """Record a new run. With `exclusive_on` (an input field), an unfinished run of the
        same workflow with the same value refuses it (AlreadyInProgress), checked under the
        write lock so two starts racing cannot both pass."""
        now = self.now()
        with self.tx() as conn:
            if exclusive_on is not None and input.get(exclusive_on) is not None:
                self._refuse_a_second(conn, workflow, exclusive_on, input[exclusive_on])
            conn.execute(
                "INSERT INTO runs (id, workflow, version, status, input, requested_by, origin,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    workflow,
                    version,
                    status,
                    canonical(input),
                    requested_by,
                    origin,
                    now,
                    now,
                ),
            )
            self.append_event(
                run_id,
                "run.started",
                actor=requested_by,
                data={"workflow": workflow, "version": version, "input": input, "origin": origin},
            )
        run = self.run(run_id)
        assert run is not None
        return run

    def _refuse_a_second(
        self, conn: sqlite3.Connection, workflow: str, field: str, value: Any
    ) -> None:
        # By status (the few unfinished runs): `+workflow` keeps SQLite off the workflow
        # index (every run there ever was).
        where, args = _where(
            ("+workflow", workflow), ("status", [str(s) for s in RunStatus if not s.terminal])
        )
        row = conn.execute(
            f"SELECT id, status FROM runs{where} AND json_extract(input, ?) = ?"
            " ORDER BY created_at LIMIT 1",
            (*args, f"$.{field}", value),
        ).fetchone()
        if row is not None:
            what = field.removesuffix("_id").replace("_", " ")
            raise AlreadyInProgress(
                f"{what} {value} already has a {workflow} in progress: {row[0]} ({row[1]});"
                " let it finish or cancel it before starting another",
                run_id=row[0],
                status=row[1],
            )

    def run(self, run_id: str) -> Run | None:
        row = self._one(f"SELECT r.*, {RUN_COST} AS cost_usd FROM runs r WHERE id = ?", (run_id,))
        return self._run(row) if row else None

    def cancel_requested(self, run_id: str) -> bool:
        row = self._one("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,))
        return bool(row and row[0])

    def runs(
        self,
        *,
        status: list[RunStatus] | None = None,
        workflow: str | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> list[Run]:
        where, args = _where(
            ("status", list(status or [])), ("workflow", workflow), ("id < ?", before)
        )
        sql = f"SELECT r.*, {RUN_COST} AS cost_usd FROM runs r{where} ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [self._run(r) for r in self._all(sql, tuple(args))]

    def runs_for_customer(self, customer: str, *, limit: int = 500) -> list[Run]:
        """Runs whose input names `customer` (as the workflow filled it in), newest first."""
        sql = (
            f"SELECT r.*, {RUN_COST} AS cost_usd FROM runs r"
            " WHERE json_extract(input, '$.customer') = ? ORDER BY id DESC LIMIT ?"
        )
        return [self._run(r) for r in self._all(sql, (customer, limit))]

    def set_run(self, run_id: str, **fields: Any) -> None:
        """Update a run's columns (status, step, error, cancel_requested)."""
        allowed = {"status", "step", "error", "cancel_requested"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"cannot set {sorted(set(fields) - allowed)} on a run")
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self.tx() as conn:
            conn.execute(
                f"UPDATE runs SET {cols}, updated_at = ? WHERE id = ?",
                (*fields.values(), self.now(), run_id),
            )

    def transition(self, run_id: str, to: RunStatus, *, only_from: list[RunStatus]) -> bool:
        """Compare-and-set a run's status; True when this call made the change."""
        with self.tx() as conn:
            cur = conn.execute(
                f"UPDATE runs SET status = ?, updated_at = ? WHERE id = ? AND status IN"
                f" ({','.join('?' * len(only_from))})",
                (to, self.now(), run_id, *only_from),
            )
            return cur.rowcount == 1

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        outcome: dict[str, Any],
        error: str | None = None,
    ) -> bool:
        """Settle a run once; the run.finished event is written in the same transaction."""
        now = self.now()
        with self.tx() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, outcome = ?, error = ?, finished_at = ?,"
                " updated_at = ? WHERE id = ? AND status NOT IN"
                " ('succeeded', 'rejected', 'compensated', 'failed', 'cancelled')",
                (status, canonical(outcome), error, now, now, run_id),
            )
            if cur.rowcount != 1:
                return False
            started = conn.execute("SELECT created_at FROM runs WHERE id = ?", (run_id,)).fetchone()
            elapsed = (parse_iso(now) - parse_iso(started[0])).total_seconds() * 1000
            self.append_event(
                run_id,
                "run.finished",
                data={"status": str(status), **outcome, **({"error": error} if error else {})},
                duration_ms=elapsed,
            )
            return True

    @staticmethod
    def _run(row: sqlite3.Row) -> Run:
        d = dict(row)
        return Run(
            **{
                **d,
                "input": json.loads(d["input"]),
                "outcome": json.loads(d["outcome"]),
                "created_at": parse_iso(d["created_at"]),
                "updated_at": parse_iso(d["updated_at"]),
                "finished_at": _dt(d["finished_at"]),
                "cancel_requested": bool(d["cancel_requested"]),
                "cost_usd": d.get("cost_usd", 0.0),
            }
        )

    # --- approvals ------------------------------------------------------------------------

    def ensure_approval(
        self,
        run_id: str,
        task_id: str,
        ordinal: int,
        request: ApprovalRequest,
        deadline: datetime | None,
        quorum: int = 1,
    ) -> tuple[Approval, bool]:
        """The approval for this (run, task, ordinal), created once; True when created now."""
        with self.tx() as conn:
            row = conn.execute(
                "SELECT id FROM approvals WHERE run_id = ? AND task_id = ? AND ordinal = ?",
                (run_id, task_id, ordinal),
            ).fetchone()
            if row:
                found = self.approval(row["id"])
                assert found is not None
                return found, False
            approval_id = new_id("apv", self.clock.now())
            conn.execute(
                "INSERT INTO approvals (id, run_id, task_id, ordinal, status, request,"
                " requested_by, created_at, deadline, quorum)"
                " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                (
                    approval_id,
                    run_id,
                    task_id,
                    ordinal,
                    request.model_dump_json(),
                    request.requested_by,
                    self.now(),
                    deadline and iso(deadline),
                    quorum,
                ),
            )
            self.append_event(
                run_id,
                "approval.requested",
                step="approval",
                actor=request.requested_by,
                data={
                    "approval_id": approval_id,
                    **request.model_dump(mode="json"),
                    "deadline": deadline and iso(deadline),
                    "quorum": quorum,
                },
            )
        created = self.approval(approval_id)
        assert created is not None
        return created, True

    def approval(self, approval_id: str) -> Approval | None:
        found = self._approvals(" WHERE id = ?", [approval_id])
        return found[0] if found else None

    def latest_approval(self, run_id: str) -> Approval | None:
        found = self._approvals(
            " WHERE run_id = ?", [run_id], " ORDER BY created_at DESC, rowid DESC LIMIT 1"
        )
        return found[0] if found else None

    def approvals(
        self,
        *,
        status: ApprovalStatus | None = None,
        run_id: str | None = None,
        due_before: datetime | None = None,
    ) -> list[Approval]:
        where, args = _where(
            ("status", status),
            ("run_id", run_id),
            ("deadline <= ?", due_before and iso(due_before)),
        )
        return self._approvals(where, args, " ORDER BY id")

    def settle_approval(
        self,
        approval_id: str,
        status: ApprovalStatus,
        by: str,
        reason: str | None,
    ) -> bool:
        """The compare-and-set: only a pending approval can be settled, exactly once."""
        with self.tx() as conn:
            cur = conn.execute(
                "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, by, self.now(), reason, approval_id),
            )
            return cur.rowcount == 1

    def add_vote(self, approval_id: str, by: str, on_behalf_of: str | None) -> int:
        """Record an approve click; the number of votes so far.

        The caller checks, in the same transaction, that the approval is pending and that
        neither `by` nor the authority used (`on_behalf_of`, else `by`) has voted; the
        table's keys refuse a second vote by either all the same.
        """
        with self.tx() as conn:
            conn.execute(
                "INSERT INTO votes (approval_id, voter, on_behalf_of, authority, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (approval_id, by, on_behalf_of, on_behalf_of or by, self.now()),
            )
            row = conn.execute(
                "SELECT COUNT(*) FROM votes WHERE approval_id = ?", (approval_id,)
            ).fetchone()
            return int(row[0])

    def escalate_approval(self, approval_id: str, level: int, deadline: datetime) -> bool:
        with self.tx() as conn:
            cur = conn.execute(
                "UPDATE approvals SET escalation_level = ?, deadline = ? WHERE id = ?"
                " AND status = 'pending' AND escalation_level = ?",
                (level, iso(deadline), approval_id, level - 1),
            )
            return cur.rowcount == 1

    def remind_approval(self, approval_id: str, level: int) -> bool:
        """The compare-and-set for a reminder: once per pending approval and escalation level."""
        with self.tx() as conn:
            cur = conn.execute(
                "UPDATE approvals SET reminded_level = ? WHERE id = ? AND status = 'pending'"
                " AND escalation_level = ? AND reminded_level < ?",
                (level, approval_id, level, level),
            )
            return cur.rowcount == 1

    def _approvals(self, where: str, args: list[Any], tail: str = "") -> list[Approval]:
        """Approvals matching `where` (unqualified approvals columns), each with its votes."""
        with self._lock:
            rows = self.conn.execute(f"SELECT * FROM approvals{where}{tail}", args).fetchall()
            if not rows:
                return []
            voted = self.conn.execute(
                f"SELECT v.* FROM votes v JOIN approvals a ON a.id = v.approval_id{where}"
                " ORDER BY v.at, v.rowid",
                args,
            ).fetchall()
        votes: dict[str, list[Vote]] = {row["id"]: [] for row in rows}
        for v in voted:
            if v["approval_id"] in votes:
                votes[v["approval_id"]].append(
                    Vote(by=v["voter"], at=parse_iso(v["at"]), on_behalf_of=v["on_behalf_of"])
                )
        return [self._approval(row, votes[row["id"]]) for row in rows]

    @staticmethod
    def _approval(row: sqlite3.Row, votes: list[Vote]) -> Approval:
        d = dict(row)
        for k in ("task_id", "ordinal", "reminded_level"):
            d.pop(k)
        return Approval(
            **{
                **d,
                "request": ApprovalRequest.model_validate_json(d["request"]),
                "created_at": parse_iso(d["created_at"]),
                "deadline": _dt(d["deadline"]),
                "decided_at": _dt(d["decided_at"]),
                "votes": votes,
            }
        )

    # --- effects --------------------------------------------------------------------------

    def effect(self, key: str) -> Effect | None:
        row = self._one("SELECT * FROM effects WHERE key = ?", (key,))
        return self._effect(row) if row else None

    def effects(self, run_id: str) -> list[Effect]:
        rows = self._all("SELECT * FROM effects WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [self._effect(r) for r in rows]

    def start_effect(
        self,
        key: str,
        run_id: str,
        task_id: str,
        ordinal: int,
        kind: str,
        request: dict[str, Any],
    ) -> None:
        with self.tx() as conn:
            conn.execute(
                "INSERT INTO effects (key, run_id, task_id, ordinal, kind, status, request,"
                " started_at) VALUES (?, ?, ?, ?, ?, 'started', ?, ?)",
                (key, run_id, task_id, ordinal, kind, canonical(request), self.now()),
            )

    def retry_effect(self, key: str) -> None:
        with self.tx() as conn:
            conn.execute(
                "UPDATE effects SET attempts = attempts + 1, status = 'started' WHERE key = ?",
                (key,),
            )

    def settle_effect(
        self,
        key: str,
        status: EffectStatus,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        compensation: dict[str, Any] | None = None,
    ) -> None:
        with self.tx() as conn:
            conn.execute(
                "UPDATE effects SET status = ?, result = ?, error = ?, compensation = ?,"
                " finished_at = ? WHERE key = ?",
                (
                    status,
                    None if result is None else canonical(result),
                    error,
                    None if compensation is None else canonical(compensation),
                    self.now(),
                    key,
                ),
            )

    def set_compensation_status(self, key: str, status: str) -> None:
        with self.tx() as conn:
            conn.execute("UPDATE effects SET compensation_status = ? WHERE key = ?", (status, key))

    @staticmethod
    def _effect(row: sqlite3.Row) -> Effect:
        d = dict(row)
        return Effect(
            **{
                **d,
                "request": _loads(d["request"]),
                "result": _loads(d["result"]),
                "compensation": _loads(d["compensation"]),
                "started_at": parse_iso(d["started_at"]),
                "finished_at": _dt(d["finished_at"]),
            }
        )

    # --- reconciliation items -------------------------------------------------------------

    def open_reconciliation(
        self,
        run_id: str | None,
        kind: str,
        summary: str,
        detail: dict[str, Any],
        effect_key: str | None = None,
    ) -> Reconciliation:
        rec_id = new_id("rec", self.clock.now())
        with self.tx() as conn:
            conn.execute(
                "INSERT INTO reconciliations (id, run_id, effect_key, kind, summary, detail,"
                " status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?)",
                (rec_id, run_id, effect_key, kind, summary, canonical(detail), self.now()),
            )
            self.append_event(
                run_id,
                "reconciliation.opened",
                data={"reconciliation_id": rec_id, "kind": kind, "summary": summary, **detail},
            )
        return self.reconciliations(run_id=run_id, ids=[rec_id])[0]

    def reconciliations(
        self,
        *,
        run_id: str | None = None,
        status: str | None = None,
        ids: list[str] | None = None,
    ) -> list[Reconciliation]:
        where, args = _where(("run_id", run_id), ("status", status), ("id", list(ids or [])))
        sql = f"SELECT * FROM reconciliations{where}"
        rows = self._all(sql + " ORDER BY id", tuple(args))
        return [
            Reconciliation(
                **{
                    **(d := dict(r)),
                    "detail": json.loads(d["detail"]),
                    "created_at": parse_iso(d["created_at"]),
                }
            )
            for r in rows
        ]

    # --- inbox ----------------------------------------------------------------------------

    def put_inbox(self, kind: str, payload: dict[str, Any], actor: str | None) -> int:
        with self.tx() as conn:
            cur = conn.execute(
                "INSERT INTO inbox (kind, payload, actor, created_at) VALUES (?, ?, ?, ?)",
                (kind, canonical(payload), actor, self.now()),
            )
            return int(cur.lastrowid or 0)

    def claim_inbox(self) -> InboxItem | None:
        """The oldest unhandled command; one left 'handling' by a crash is taken again."""
        with self.tx() as conn:
            row = conn.execute(
                "SELECT * FROM inbox WHERE status IN ('pending', 'handling') ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE inbox SET status = 'handling' WHERE id = ?", (row["id"],))
        item = self.inbox_item(row["id"])
        return item.model_copy(update={"retaken": row["status"] == "handling"}) if item else None

    def finish_inbox(self, item_id: int, ok: bool, result: dict[str, Any]) -> None:
        with self.tx() as conn:
            conn.execute(
                "UPDATE inbox SET status = ?, handled_at = ?, result = ? WHERE id = ?",
                ("done" if ok else "failed", self.now(), canonical(result), item_id),
            )

    def inbox_item(self, item_id: int) -> InboxItem | None:
        row = self._one("SELECT * FROM inbox WHERE id = ?", (item_id,))
        if row is None:
            return None
        d = dict(row)
        d.pop("handled_at")
        return InboxItem(
            **{
                **d,
                "payload": json.loads(d["payload"]),
                "result": _loads(d["result"]),
                "created_at": parse_iso(d["created_at"]),
            }
        )
