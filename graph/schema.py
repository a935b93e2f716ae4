"""The run store's schema, as an append-only list of migrations."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: runs, the event log, approvals, effects, reconciliation items, the inbox.
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        step TEXT,
        input TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        origin TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_status ON runs (status, id);
    CREATE INDEX runs_workflow ON runs (workflow, id);

    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        step TEXT,
        actor TEXT,
        data TEXT NOT NULL,
        cost_usd REAL NOT NULL DEFAULT 0,
        duration_ms REAL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
    );
    CREATE INDEX events_run ON events (run_id, seq);
    CREATE INDEX events_kind ON events (kind, id);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

    CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id),
        task_id TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        status TEXT NOT NULL,
        request TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        deadline TEXT,
        escalation_level INTEGER NOT NULL DEFAULT 0,
        decided_by TEXT,
        decided_at TEXT,
        reason TEXT,
        UNIQUE (run_id, task_id, ordinal)
    );
    CREATE INDEX approvals_status ON approvals (status, deadline);

    CREATE TABLE effects (
        key TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id),
        task_id TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        request TEXT,
        result TEXT,
        error TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 1,
        compensation TEXT,
        compensation_status TEXT
    );
    CREATE INDEX effects_run ON effects (run_id, started_at);

    CREATE TABLE reconciliations (
        id TEXT PRIMARY KEY,
        run_id TEXT,
        effect_key TEXT,
        kind TEXT NOT NULL,
        summary TEXT NOT NULL,
        detail TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        resolved_at TEXT,
        resolved_by TEXT
    );

    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        actor TEXT,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        handled_at TEXT,
        result TEXT
    );
    CREATE INDEX inbox_status ON inbox (status, id);
    """,
    # 2: quorum approvals (the votes cast toward them) and reminders before a deadline.
    # A vote stands for its voter and for the authority it used (the voter's own, or the
    # delegator's): each may count once per approval.
    """
    ALTER TABLE approvals ADD COLUMN quorum INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE approvals ADD COLUMN reminded_level INTEGER NOT NULL DEFAULT -1;

    CREATE TABLE votes (
        approval_id TEXT NOT NULL REFERENCES approvals (id),
        voter TEXT NOT NULL,
        on_behalf_of TEXT,
        authority TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (approval_id, voter),
        UNIQUE (approval_id, authority)
    );
    """,
]


def _statements(script: str) -> list[str]:
    """Split a script into whole statements (a trigger's body stays in one piece)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration not yet applied, in one write transaction; the schema version.

    The version is read under the write lock, so two processes opening a new file at
    once cannot both apply the same migration.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return len(MIGRATIONS)
