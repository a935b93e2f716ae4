"""Opening a new run store from several connections at once; ids made in one millisecond."""

from __future__ import annotations

import sqlite3
import threading

from graph import Store
from graph.schema import MIGRATIONS


def test_connections_racing_to_create_the_store_all_succeed(tmp_path):
    # Separate connections lock the file as separate processes would.
    for round_ in range(20):
        path = tmp_path / f"keel-{round_}.db"
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []

        def open_store(path=path, barrier=barrier, errors=errors) -> None:
            conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
            barrier.wait()
            try:
                Store(conn)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
            finally:
                conn.close()

        threads = [threading.Thread(target=open_store) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        versions = sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchall()
        assert versions == [(v,) for v in range(1, len(MIGRATIONS) + 1)]


def test_ids_are_strictly_increasing_within_a_millisecond():
    from datetime import UTC, datetime

    from graph.ids import new_id

    moment = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ids = [new_id("run", moment) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
