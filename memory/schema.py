"""Memory's schema, as an append-only list of migrations (like graph/schema.py's).

Applied migrations are counted in `schema_version`. A file made before that table
existed holds exactly migration 1's tables (they were created at every open, all in one
transaction) and no version: `migrate` recognises it by its `items` table and records it
as version 1 without creating anything. Append new migrations; never edit an old one.

The vector index `items_vec` is not here: its dimension is the embedder's, so
`MemoryStore._create_vectors` makes it (the comment there says why).
"""

from __future__ import annotations

import sqlite3
from typing import Any

__all__ = ["MIGRATIONS", "migrate", "statements", "version"]

# The statements' text (its spacing too) is what SQLite keeps in sqlite_master: it is
# kept as it was when MemoryStore ran it at open, so new files match old ones exactly.
MIGRATIONS: list[str] = [
    # 1: meta (embedder, cursors), items, their indexes, profiles, the full-text index.
    """
            create table meta (key text primary key, value text);
            create table items (
                    id integer primary key,
                    doc text not null,
                    chunk integer not null default 0,
                    subject text not null,
                    kind text not null,
                    text text not null,
                    source text,
                    created real not null,
                    expires real,
                    folded_into integer
                );
            create index items_subject on items(subject, kind);
            create index items_doc on items(doc, chunk);
            create index items_expires on items(expires) where expires is not null;
            create index items_folded on items(folded_into) where folded_into is not null;
            create unique index items_source on items(source, kind, chunk) where source is not null;
            create table profiles (
                    subject text not null,
                    kind text not null,
                    data text not null,
                    updated real not null,
                    primary key (subject, kind)
                );
            create virtual table items_fts using fts5(text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
    """,  # noqa: E501 (the text index's statement is one line, as SQLite has always kept it)
]


def statements(script: str) -> list[str]:
    """A script's whole statements, each stripped of its `;` and surrounding space."""
    found, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            found.append(buffer.strip().removesuffix(";").rstrip())
            buffer = ""
    return found


def version(conn: Any) -> int:
    """The schema version recorded in the file; 0 when none is."""
    if not _has_table(conn, "schema_version"):
        return 0
    return int(conn.execute("select max(version) from schema_version").fetchone()[0] or 0)


def _has_table(conn: Any, name: str) -> bool:
    row = conn.execute("select 1 from sqlite_master where type = 'table' and name = ?", (name,))
    return row.fetchone() is not None


def migrate(conn: Any) -> int:
    """Apply every migration not yet applied, in one write transaction; the schema version.

    The version is read under the write lock, so two processes opening a new file at
    once cannot both apply the same migration. `conn` is a DB-API connection in
    autocommit mode (`memory.connect.connect`'s).
    """
    conn.execute("begin immediate")
    try:
        conn.execute("create table if not exists schema_version (version integer not null)")
        current = version(conn)
        if current == 0 and _has_table(conn, "items"):  # made before versions were kept
            conn.execute("insert into schema_version values (1)")
            current = 1
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            for statement in statements(script):
                conn.execute(statement)
            conn.execute("insert into schema_version values (?)", (number,))
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")
    return max(current, len(MIGRATIONS))
