"""What the bot has put in Slack, durably: a run's thread, an approval's messages, the cursor.

A small SQLite file beside the run store (KEEL_HOME/slack.db). The thread keeper reads the
event log from its cursor and records every message it posts under a key naming why it
was posted, so a pass that is retried or resumed after a restart edits the same messages
instead of posting them again. A post about to be sent is noted first; when its answer is
lost (a dropped connection, a crash), the keeper finds the message in Slack by the key it
carries in its metadata rather than posting it twice. Slack's event ids are kept for a day so a
retried delivery is recognised and starts nothing twice.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    approval_id TEXT
);
CREATE INDEX IF NOT EXISTS messages_approval ON messages (approval_id);
CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    event_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS posting (
    key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    thread_ts TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
    event_id TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
"""

DELIVERY_MEMORY = timedelta(days=1)
"""Slack retries a delivery for about five minutes; a day is ample."""


@dataclass(frozen=True)
class Message:
    channel: str
    """The channel id Slack answered with (a DM's D…, not a user id)."""
    ts: str


class Ledger:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path) -> Ledger:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    def _write(self, sql: str, args: tuple[object, ...]) -> int:
        with self._lock:
            return self._conn.execute(sql, args).rowcount

    def _read(self, sql: str, args: tuple[object, ...]) -> list[tuple[str, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # --- messages posted ----------------------------------------------------------------

    def message(self, key: str) -> Message | None:
        """The message posted under `key` (e.g. "root:RUN", "line:EVENT"), if any."""
        rows = self._read("SELECT channel, ts FROM messages WHERE key = ?", (key,))
        return Message(rows[0][0], rows[0][1]) if rows else None

    def record(self, key: str, channel: str, ts: str, approval_id: str | None = None) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO messages (key, channel, ts, approval_id)"
                " VALUES (?, ?, ?, ?)",
                (key, channel, ts, approval_id),
            )
            self._conn.execute("DELETE FROM posting WHERE key = ?", (key,))

    def posting(self, key: str, channel: str, thread_ts: str | None) -> None:
        """Note that a post under `key` is about to be sent, so that if its answer is lost
        the next pass looks in Slack for it before posting again."""
        self._write(
            "INSERT OR REPLACE INTO posting (key, channel, thread_ts) VALUES (?, ?, ?)",
            (key, channel, thread_ts),
        )

    def was_posting(self, key: str) -> bool:
        """True when a post under `key` was sent (or about to be) and its answer never came."""
        return bool(self._read("SELECT 1 FROM posting WHERE key = ?", (key,)))

    def approval_messages(self, approval_id: str) -> list[Message]:
        """Every message that shows this approval: in the run's thread and in DMs."""
        rows = self._read(
            "SELECT channel, ts FROM messages WHERE approval_id = ? ORDER BY rowid", (approval_id,)
        )
        return [Message(*row) for row in rows]

    # --- the event-log cursor -------------------------------------------------------------

    def cursor(self) -> int | None:
        rows = self._read("SELECT event_id FROM cursor WHERE id = 1", ())
        return int(rows[0][0]) if rows else None

    def set_cursor(self, event_id: int) -> None:
        self._write(
            "INSERT INTO cursor (id, event_id) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id",
            (event_id,),
        )

    # --- the workspace -------------------------------------------------------------------

    def team_id(self) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = 'team_id'", ())
        return rows[0][0] if rows else None

    def set_team_id(self, team_id: str) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES ('team_id', ?)", (team_id,))

    def thread_link(self, run_id: str) -> str | None:
        """A link that opens a run's thread in Slack, once the bot has posted it."""
        root, team = self.message(f"root:{run_id}"), self.team_id()
        if root is None or not root.ts or team is None:
            return None
        return f"https://app.slack.com/client/{team}/{root.channel}/thread/{root.channel}-{root.ts}"

    # --- Slack deliveries -----------------------------------------------------------------

    def first_delivery(self, event_id: str, now: datetime) -> bool:
        """True the first time Slack's `event_id` is seen; False for a retry or a replay."""
        self._write("DELETE FROM deliveries WHERE at < ?", ((now - DELIVERY_MEMORY).isoformat(),))
        return (
            self._write(
                "INSERT OR IGNORE INTO deliveries (event_id, at) VALUES (?, ?)",
                (event_id, now.isoformat()),
            )
            == 1
        )
