"""Memory's schema migrations and its one error tree: a memory.db made before versions
were kept opens unchanged, and every memory error is a MemoryFault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlite_vec

import memory
from memory import (
    EmbedderMismatch,
    EmbeddingFailed,
    EmptyText,
    HashingEmbedder,
    MemoryFault,
    MemoryStore,
    MemoryUnavailable,
)
from memory.connect import connect
from memory.schema import MIGRATIONS, migrate, statements, version

TEXT = "Order ORD-88417 arrived with a cracked kettle lid; the customer asked for a refund"


def _tables(conn: Any) -> list[tuple[str, str, str]]:
    """Every table, index and trigger with the SQL SQLite keeps for it, bar the versions."""
    return conn.execute(
        "select type, name, sql from sqlite_master where name != 'schema_version' order by name"
    ).fetchall()


def _pre_version_file(path: Path) -> None:
    """A memory.db as MemoryStore made it before migrations: migration 1's tables, no
    version, one item in every index, vectors from the hashing embedder."""
    embedder = HashingEmbedder()
    conn = connect(path)
    for statement in statements(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute(
        "create virtual table items_vec using vec0("
        f"item_id integer primary key, embedding float[{embedder.dim}]"
        " distance_metric=cosine, subject text partition key, kind text, chunk_size=16)"
    )
    conn.execute(
        "insert into meta values ('embedder', ?), ('dim', ?), ('cursor', '41')",
        (embedder.name, str(embedder.dim)),
    )
    conn.execute(
        "insert into items (id, doc, chunk, subject, kind, text, source, created)"
        " values (7, 'doc-7', 0, 'customer:ana', 'conversation', ?, 'event:3', 1767225600)",
        (TEXT,),
    )
    conn.execute("insert into items_fts (rowid, text) values (7, ?)", (TEXT,))
    conn.execute(
        "insert into items_vec (item_id, embedding, subject, kind) values (7, ?, ?, ?)",
        (sqlite_vec.serialize_float32(embedder.embed(TEXT)), "customer:ana", "conversation"),
    )
    conn.execute("insert into profiles values ('customer:ana', 'canonical', '{}', 1767225600)")
    conn.close()


def test_a_memory_db_from_before_versions_opens_unchanged_as_version_1(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    _pre_version_file(path)
    conn = connect(path)
    before = _tables(conn)
    assert version(conn) == 0
    conn.close()

    with MemoryStore(path, HashingEmbedder()) as store:
        assert version(store.conn) == 1
        assert store.conn.execute("select version from schema_version").fetchall() == [(1,)]
        assert _tables(store.conn) == before  # nothing created, dropped or altered
        [item] = store.items([7])
        assert (item.doc, item.subject, item.kind, item.text, item.source) == (
            "doc-7",
            "customer:ana",
            "conversation",
            TEXT,
            "event:3",
        )
        [hit] = store.recall("cracked kettle lid ORD-88417", subject="customer:ana")
        assert hit.item.id == 7 and hit.vector_rank == 1 and hit.text_rank == 1
        assert store.get_meta("cursor") == "41"
        assert store.profile("customer:ana", "canonical") == "{}"
        store.remember("customer:ana", "conversation", "a second note")  # still writable

    with MemoryStore(path, HashingEmbedder()) as store:  # reopening applies nothing again
        assert store.conn.execute("select version from schema_version").fetchall() == [(1,)]
        assert len(store.recall("second note")) == 1


def test_a_new_file_has_the_same_tables_as_one_from_before_versions(tmp_path: Path) -> None:
    _pre_version_file(tmp_path / "old.db")
    with MemoryStore(tmp_path / "new.db", HashingEmbedder()) as new:
        assert version(new.conn) == len(MIGRATIONS) == 1
        new_tables = _tables(new.conn)
    with MemoryStore(tmp_path / "old.db", HashingEmbedder()) as old:
        assert _tables(old.conn) == new_tables


def test_migrate_is_idempotent_and_reports_the_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "memory.db")
    assert migrate(conn) == migrate(conn) == len(MIGRATIONS)
    assert conn.execute("select version from schema_version").fetchall() == [(1,)]
    conn.close()


@pytest.mark.parametrize(
    ("error", "extra"),
    [
        (MemoryUnavailable, RuntimeError),
        (EmbeddingFailed, None),
        (EmbedderMismatch, None),
        (EmptyText, ValueError),
    ],
)
def test_every_memory_error_is_a_memory_fault_with_its_message(
    error: type[MemoryFault], extra: type[Exception] | None
) -> None:
    raised = error("what went wrong, and what to do")
    assert isinstance(raised, MemoryFault) and str(raised) == "what went wrong, and what to do"
    assert extra is None or isinstance(raised, extra)
    assert not isinstance(raised, MemoryError)  # the builtin: out of RAM, not memory's
    assert getattr(memory, error.__name__) is error


def test_memory_faults_raised_by_the_store_are_caught_by_the_root(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "memory.db", HashingEmbedder())
    with store, pytest.raises(MemoryFault, match="empty"):
        store.remember("customer:ana", "note", "   ")
    with pytest.raises(MemoryFault, match="indexed with hashing"):
        MemoryStore(tmp_path / "memory.db", HashingEmbedder(dim=64)).close()
