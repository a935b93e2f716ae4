"""Long-term memory in one SQLite file: items, a full-text index and a vector index.

- `items` holds the text and what it is about (subject, kind, source, created, expires).
- `items_fts` (FTS5, contentless: it keeps no copy of the text) finds exact words: an
  order id, a SKU, a name.
- `items_vec` (sqlite-vec `vec0`, partitioned by subject) finds by meaning.

`recall` runs both and fuses them by rank (reciprocal rank fusion), so an item found by
either surfaces, and one found by both comes first. Identifiers in the query (words with
a digit: an order id, a SKU) rank a third time on their own, so an item that holds the
exact id is not outranked by many near-misses that merely share the topic.
`forget(subject)` erases a subject from every table, `purge_expired` applies retention,
`fold` compresses old items into a summary whose transcript stays retrievable with
`transcript`.

Vectors from different embedders never mix: the file records the embedder's name and
dimension, and opening it with another embedder fails until `reindex` rebuilds them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import sqlite_vec
from ulid import ULID

from memory.connect import connect
from memory.embedder import Embedder, normalise
from memory.errors import EmbedderMismatch, EmbeddingFailed, EmptyText, MemoryFault
from memory.schema import migrate

__all__ = [
    "EmbedderMismatch",
    "EmptyText",
    "Forgotten",
    "Item",
    "MemoryFault",
    "MemoryStats",
    "MemoryStore",
    "Recalled",
    "chunk_text",
]

CHUNK_CHARS = 2000
"""Longer texts are stored as several items (chunks) of at most this many characters."""
MAX_CHARS = 4_000_000
"""A single `remember` larger than this is refused rather than stored."""
RRF_K = 60
"""Reciprocal rank fusion's constant: a hit's score is the sum of 1 / (RRF_K + rank)."""
FUSION_DEPTH = 50
"""How many hits each index contributes to the fusion (at least; k * 5 when larger)."""
MIN_SIMILARITY = 0.05
"""Vector hits below this cosine similarity are not recalled: with the hashing embedder,
unrelated texts score 0 at the median, and stray hash collisions about this much."""
log = logging.getLogger("keel.memory")

PARTITION_CHUNK = 16
"""vec0 rows per storage chunk; partitions (subjects) are small, so chunks are too."""

_WORDS = re.compile(r"\w+")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Item:
    """One stored piece of memory (a whole text, or one chunk of a long one)."""

    id: int
    doc: str
    """Every chunk of one remembered text shares its doc id."""
    chunk: int
    subject: str
    kind: str
    text: str
    source: str | None
    created: datetime
    expires: datetime | None
    folded_into: int | None = None
    """The summary this item was compressed into, if any."""


@dataclass(frozen=True)
class Recalled:
    """A recall result: the item, its fused score, and where each index ranked it."""

    item: Item
    score: float
    vector_rank: int | None = None
    """1-based rank in the vector search, None when it did not find the item."""
    text_rank: int | None = None
    """1-based rank in the full-text search, None when it did not find the item."""
    similarity: float | None = None
    """Cosine similarity to the query, when the vector search found the item."""
    key_rank: int | None = None
    """1-based rank among the items naming an identifier of the query (an order id, a
    SKU), None when it names none."""

    @property
    def found_by(self) -> list[str]:
        """How it was found, as people read it: "meaning", "words", or both."""
        return [
            way for way, rank in (("meaning", self.vector_rank), ("words", self.text_rank)) if rank
        ]


@dataclass(frozen=True)
class Forgotten:
    """What `forget` erased."""

    subject: str
    items: int
    profiles: int


@dataclass(frozen=True)
class MemoryStats:
    path: str
    embedder: str
    dim: int
    items: int
    subjects: int
    folded: int
    expired: int
    """Items past their retention, waiting for the next purge."""
    by_kind: dict[str, int] = field(default_factory=dict)
    file_bytes: int = 0


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def clean_text(text: str | bytes) -> str:
    """Text as it is stored: bytes decoded as UTF-8 (bad bytes become U+FFFD), lone
    surrogates replaced, NUL removed. The content is otherwise kept as given."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    return re.sub("[\ud800-\udfff]", "\ufffd", text).replace("\x00", "")


def _scoped(
    where: list[str], args: list[Any], table: str, subject: str | None, kinds: Sequence[str] | None
) -> tuple[list[str], list[Any]]:
    """`where` and `args` narrowed to one subject and some kinds (columns of `table`)."""
    if subject is not None:
        where, args = [*where, f"{table}subject = ?"], [*args, subject]
    if kinds:
        where = [*where, f"{table}kind in ({','.join('?' * len(kinds))})"]
        args = [*args, *kinds]
    return where, args


def chunk_text(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Split on paragraphs, then sentences, then spaces, so that every piece is at most
    `size` characters and pieces are whole where the text allows; nothing is dropped
    but the whitespace between pieces."""
    pieces: list[str] = []
    for paragraph in _PARAGRAPHS.split(text):
        units = [paragraph] if len(paragraph) <= size else _SENTENCES.split(paragraph)
        for unit in units:
            while len(unit) > size:  # a sentence longer than a chunk: cut at a space
                cut = unit.rfind(" ", size // 2, size)
                cut = size if cut <= 0 else cut
                pieces.append(unit[:cut])
                unit = unit[cut:].lstrip()
            pieces.append(unit)
    chunks: list[str] = []
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        if chunks and len(chunks[-1]) + 2 + len(piece) <= size:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return chunks


def fts_query(query: str, *, keys_only: bool = False) -> str | None:
    """The query as an FTS5 expression that cannot inject syntax: each whitespace-separated
    word becomes a quoted phrase of its word characters, and the phrases are OR-ed.
    `SKU-4471 "NEAR" foo*` becomes `"sku 4471" OR "near" OR "foo"`. With `keys_only`,
    only the words that look like identifiers (with a digit: ORD-88417, SKU-4471-BLK,
    1042) are kept, and None is returned when there are none."""
    phrases = []
    for word in normalise(query).split():
        parts = _WORDS.findall(word)
        if parts and (not keys_only or any(c.isdigit() for c in word)):
            phrases.append('"' + " ".join(parts) + '"')
    return " OR ".join(dict.fromkeys(phrases[:64])) or None


class MemoryStore:
    """Long-term memory over one SQLite file; safe to share between threads.

    `retention` maps a kind to how long its items are kept (None or missing: until
    forgotten). `audit(kind, data)` is told of erasures (`memory.forgotten`,
    `memory.purged`), so the business's event log records them. `embedder` may be None
    to open a file for `forget`, `stats` or `purge_expired` without checking vectors.
    """

    def __init__(
        self,
        path: str | Path,
        embedder: Embedder | None,
        *,
        retention: Mapping[str, timedelta | None] | None = None,
        clock: Clock = _utc_now,
        audit: Callable[[str, dict[str, Any]], None] | None = None,
        min_similarity: float = MIN_SIMILARITY,
    ) -> None:
        self.path = Path(path)
        self.min_similarity = min_similarity
        self.embedder = embedder
        self.retention = dict(retention or {})
        self.clock = clock
        self.audit = audit
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = connect(self.path)
        with self._lock:
            migrate(self.conn)  # memory/schema.py: the tables, made or brought up to date
        self.indexed_with = self._meta("embedder"), int(self._meta("dim") or 0)
        if embedder is not None:
            self._check_embedder(embedder)

    # ---- meta and vectors ------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("select value from meta where key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _create_vectors(self, db: Any, embedder: Embedder) -> None:
        # Not a migration: vec0 fixes its dimension at creation, and that is the embedder's,
        # known only here (first open with one) and changed by `reindex`, which re-creates it.
        db.execute(
            "create virtual table items_vec using vec0("
            f"item_id integer primary key, embedding float[{int(embedder.dim)}]"
            " distance_metric=cosine, subject text partition key, kind text,"
            f" chunk_size={PARTITION_CHUNK})"
        )
        db.execute(
            "insert or replace into meta values ('embedder', ?), ('dim', ?)",
            (embedder.name, str(embedder.dim)),
        )
        self.indexed_with = embedder.name, embedder.dim

    def _check_embedder(self, embedder: Embedder) -> None:
        name, dim = self.indexed_with
        if name is None:
            with self.tx() as db:
                self._create_vectors(db, embedder)
            return
        if (name, dim) != (embedder.name, embedder.dim):
            raise EmbedderMismatch(
                f"memory at {self.path} was indexed with {name} ({dim} dimensions), but the"
                f" embedder now configured is {embedder.name} ({embedder.dim} dimensions);"
                " vectors of the two cannot be mixed. Run `keel memory reindex` to rebuild"
                " the vectors with the new embedder, or configure the old one again."
            )

    @contextmanager
    def tx(self) -> Iterator[Any]:
        """One transaction on the connection, serialised across threads."""
        with self._lock:
            self.conn.execute("begin immediate")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("rollback")
                raise
            self.conn.execute("commit")

    def close(self) -> None:
        """Close the file, and the embedder's connection when it has one (a hosted one)."""
        with self._lock:
            self.conn.close()
        if callable(close := getattr(self.embedder, "close", None)):
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- writing ---------------------------------------------------------------------

    def _need_embedder(self) -> Embedder:
        if self.embedder is None:
            raise MemoryFault("this memory store was opened without an embedder")
        return self.embedder

    def _vectors(self, texts: Sequence[str], embedder: Embedder | None = None) -> list[bytes]:
        embedder = embedder or self._need_embedder()
        vectors = embedder.embed_many(texts)
        out = []
        for vector in vectors:
            if len(vector) != embedder.dim:
                raise EmbedderMismatch(
                    f"{embedder.name} returned a vector of {len(vector)} dimensions where"
                    f" {embedder.dim} were expected; nothing was stored"
                )
            out.append(sqlite_vec.serialize_float32(list(vector)))
        if len(out) != len(texts):
            raise MemoryFault(
                f"{embedder.name} returned {len(out)} vectors for"
                f" {len(texts)} texts; nothing was stored"
            )
        return out

    def remember(
        self,
        subject: str,
        kind: str,
        text: str | bytes,
        *,
        source: str | None = None,
        at: datetime | None = None,
        expires: datetime | None = None,
    ) -> list[Item]:
        """Store `text` about `subject`; long text becomes several chunks. Returns the
        stored items. With a `source` (an event or run id), remembering the same source
        and kind again returns the items already stored instead of a second copy."""
        subject, kind = subject.strip(), kind.strip()
        if not subject or not kind:
            raise MemoryFault("a memory needs a subject and a kind")
        text = clean_text(text)
        if not text.strip():
            raise EmptyText(f"nothing to remember for {subject}: the text is empty")
        if len(text) > MAX_CHARS:
            raise MemoryFault(
                f"text of {len(text):,} characters is over the"
                f" {MAX_CHARS:,} a single memory may hold; split it"
            )
        if source is not None:
            existing = self._by_source(source, kind)
            if existing:
                return existing
        pieces = chunk_text(text)
        vectors = self._vectors(pieces)  # before the transaction: it may be slow or fail
        created = at or self.clock()
        if expires is None and self.retention.get(kind) is not None:
            expires = created + self.retention[kind]  # type: ignore[operator]
        doc = str(ULID())
        with self.tx() as db:
            if source is not None and self._by_source(source, kind):
                return self._by_source(source, kind)  # stored meanwhile by another thread
            ids = []
            for number, (piece, vector) in enumerate(zip(pieces, vectors, strict=True)):
                item_id = db.execute(
                    "insert into items (doc, chunk, subject, kind, text, source, created,"
                    " expires) values (?, ?, ?, ?, ?, ?, ?, ?) returning id",
                    (
                        doc,
                        number,
                        subject,
                        kind,
                        piece,
                        source,
                        _ts(created),
                        None if expires is None else _ts(expires),
                    ),
                ).fetchone()[0]
                self._index(db, item_id, subject, kind, piece, vector)
                ids.append(item_id)
        return self.items(ids)

    def _index(
        self, db: Any, item_id: int, subject: str, kind: str, text: str, vector: bytes
    ) -> None:
        db.execute("insert into items_fts (rowid, text) values (?, ?)", (item_id, text))
        db.execute(
            "insert into items_vec (item_id, embedding, subject, kind) values (?, ?, ?, ?)",
            (item_id, vector, subject, kind),
        )

    def _unindex(self, db: Any, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), 500):
            batch = list(ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            db.execute(f"delete from items_fts where rowid in ({marks})", batch)
            for item_id in batch:  # vec0 deletes by primary key one at a time
                db.execute("delete from items_vec where item_id = ?", (item_id,))

    def _by_source(self, source: str, kind: str) -> list[Item]:
        return self._select("where source = ? and kind = ? order by chunk", (source, kind))

    # ---- reading ---------------------------------------------------------------------

    def _select(self, where: str, args: Sequence[Any] = ()) -> list[Item]:
        with self._lock:
            rows = self.conn.execute(
                "select id, doc, chunk, subject, kind, text, source, created, expires,"
                f" folded_into from items {where}",
                tuple(args),
            ).fetchall()
        return [
            Item(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                _dt(r[7]),  # type: ignore[arg-type]
                _dt(r[8]),
                r[9],
            )
            for r in rows
        ]

    def items(self, ids: Iterable[int]) -> list[Item]:
        wanted = list(ids)
        found: dict[int, Item] = {}
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            for item in self._select(f"where id in ({','.join('?' * len(batch))})", batch):
                found[item.id] = item
        return [found[i] for i in wanted if i in found]

    def about(
        self,
        subject: str,
        kinds: Sequence[str] | None = None,
        *,
        include_folded: bool = False,
        limit: int | None = None,
    ) -> list[Item]:
        """A subject's items, newest first."""
        where, args = ["subject = ?"], [subject]
        if kinds:
            where.append(f"kind in ({','.join('?' * len(kinds))})")
            args += list(kinds)
        if not include_folded:
            where.append("folded_into is null")
        tail = " limit ?" if limit else ""
        return self._select(
            f"where {' and '.join(where)} order by created desc, id desc{tail}",
            [*args, *([limit] if limit else [])],
        )

    def recall(
        self,
        query: str,
        *,
        subject: str | None = None,
        kinds: Sequence[str] | None = None,
        k: int = 10,
    ) -> list[Recalled]:
        """The `k` items most relevant to `query`: vector and full-text searches, each
        scoped to `subject` and `kinds` when given, fused by rank. Vector hits weaker than
        `min_similarity` are noise and left out. Folded items (those compressed into a
        summary) are not recalled; their summary is.

        When the embedder fails (a hosted one unreachable), recall goes on by words alone
        and logs why: the hits then show no vector rank."""
        if k < 1:
            return []
        query = clean_text(query)
        if not query.strip():
            return []
        depth = max(FUSION_DEPTH, k * 5)
        try:
            by_vector = [
                (item_id, similarity)
                for item_id, similarity in self.nearest(
                    query, subject=subject, kinds=kinds, k=depth
                )
                if similarity >= self.min_similarity
            ]
        except EmbeddingFailed as exc:
            log.warning("recalling by words only: %s", exc)
            by_vector = []
        by_text = self.search_text(query, subject=subject, kinds=kinds, limit=depth)
        by_key = self.search_text(query, subject=subject, kinds=kinds, limit=depth, keys_only=True)
        similarity = dict(by_vector)
        vector_rank, text_rank, key_rank = ranks = [
            {item_id: rank for rank, item_id in enumerate(ranking, 1)}
            for ranking in (list(similarity), by_text, by_key)
        ]
        scores: dict[int, float] = {}
        for ranked in ranks:
            for item_id, rank in ranked.items():
                scores[item_id] = scores.get(item_id, 0.0) + 1.0 / (RRF_K + rank)
        best = sorted(scores, key=lambda i: (-scores[i], i))[:k]
        items = {item.id: item for item in self.items(best)}
        return [
            Recalled(
                items[i],
                scores[i],
                vector_rank.get(i),
                text_rank.get(i),
                similarity.get(i),
                key_rank.get(i),
            )
            for i in best
            if i in items
        ]

    def nearest(
        self,
        query: str | Sequence[float],
        *,
        subject: str | None = None,
        kinds: Sequence[str] | None = None,
        k: int = 10,
    ) -> list[tuple[int, float]]:
        """(item id, cosine similarity) of the `k` nearest items by vector, best first;
        items with no similarity at all (orthogonal or opposite) are left out."""
        embedder = self._need_embedder()
        vector = embedder.embed(query) if isinstance(query, str) else list(query)
        if len(vector) != embedder.dim:
            raise EmbedderMismatch(
                f"a query vector of {len(vector)} dimensions cannot"
                f" search an index of {embedder.dim}"
            )
        if not any(vector):
            return []
        where, args = _scoped(
            ["embedding match ?", "k = ?"],
            [sqlite_vec.serialize_float32(vector), k],
            "",
            subject,
            kinds,
        )
        with self._lock:
            rows = self.conn.execute(
                f"select item_id, distance from items_vec where {' and '.join(where)}"
                " order by distance",
                args,
            ).fetchall()
        return [(item_id, 1.0 - distance) for item_id, distance in rows if distance < 1.0]

    def search_text(
        self,
        query: str,
        *,
        subject: str | None = None,
        kinds: Sequence[str] | None = None,
        limit: int = 10,
        keys_only: bool = False,
    ) -> list[int]:
        """Item ids matching any word of `query` (or, with `keys_only`, any identifier in
        it), best BM25 first."""
        expression = fts_query(query, keys_only=keys_only)
        if expression is None:
            return []
        where, args = _scoped(["items_fts match ?"], [expression], "i.", subject, kinds)
        with self._lock:
            rows = self.conn.execute(
                "select f.rowid from items_fts f join items i on i.id = f.rowid"
                f" where {' and '.join(where)} order by bm25(items_fts) limit ?",
                [*args, limit],
            ).fetchall()
        return [row[0] for row in rows]

    # ---- forgetting and retention ----------------------------------------------------

    def _erase(self, db: Any, where: str, args: Sequence[Any]) -> int:
        ids = [row[0] for row in db.execute(f"select id from items where {where}", args)]
        self._unindex(db, ids)
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            db.execute(f"delete from items where id in ({','.join('?' * len(batch))})", batch)
        return len(ids)

    def _compact(self) -> None:
        """Merge the text index's segments so erased words leave its b-trees, and move
        the write-ahead log into the file (secure_delete zeroes the freed pages)."""
        with self._lock:
            self.conn.execute("insert into items_fts (items_fts) values ('optimize')")
            self.conn.execute("pragma wal_checkpoint(truncate)")

    def forget(self, subject: str, *, by: str | None = None) -> Forgotten:
        """Erase everything about `subject`: items (folded ones and their transcripts
        included), their text and vector index entries, and profiles. Audited with a
        digest of the subject, so the audit record does not keep what was erased."""
        with self.tx() as db:
            items = self._erase(db, "subject = ?", (subject,))
            profiles = db.execute("delete from profiles where subject = ?", (subject,)).rowcount
        self._compact()
        forgotten = Forgotten(subject, items, profiles)
        if self.audit is not None:
            self.audit(
                "memory.forgotten",
                {
                    "subject_sha256": hashlib.sha256(subject.encode()).hexdigest(),
                    "items": items,
                    "profiles": profiles,
                    "by": by,
                },
            )
        return forgotten

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete items whose retention has run out; returns how many went."""
        moment = _ts(now or self.clock())
        with self.tx() as db:
            purged = self._erase(db, "expires is not null and expires <= ?", (moment,))
        if purged:
            self._compact()
            if self.audit is not None:
                self.audit("memory.purged", {"items": purged})
        return purged

    # ---- summaries -------------------------------------------------------------------

    def fold(self, folded: Sequence[Item], summary: str, *, kind: str = "summary") -> Item:
        """Compress `folded` (items of one subject, not yet folded) into one summary item
        with text `summary`. The items stay, as the summary's transcript, but leave the
        indexes: recall finds the summary instead. Folding the same items twice returns
        the first summary."""
        if not folded:
            raise MemoryFault("nothing to fold")
        subjects = {item.subject for item in folded}
        if len(subjects) != 1:
            raise MemoryFault(f"a summary covers one subject, not {sorted(subjects)}")
        head = self.remember(
            folded[0].subject, kind, summary, source=f"fold:{min(item.id for item in folded)}"
        )[0]
        with self.tx() as db:
            ids = [
                row[0]
                for row in db.execute(
                    f"select id from items where folded_into is null and id in"
                    f" ({','.join('?' * len(folded))})",
                    [item.id for item in folded],
                )
            ]
            self._unindex(db, ids)
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                db.execute(
                    f"update items set folded_into = ? where id in ({','.join('?' * len(batch))})",
                    [head.id, *batch],
                )
        return head

    def transcript(self, summary_id: int) -> list[Item]:
        """The items a summary was folded from, oldest first (rehydration)."""
        return self._select("where folded_into = ? order by created, id", (summary_id,))

    # ---- profiles --------------------------------------------------------------------

    def put_profile(self, subject: str, kind: str, data: str) -> None:
        with self.tx() as db:
            db.execute(
                "insert into profiles values (?, ?, ?, ?) on conflict (subject, kind)"
                " do update set data = excluded.data, updated = excluded.updated",
                (subject, kind, data, _ts(self.clock())),
            )

    def profile(self, subject: str, kind: str) -> str | None:
        with self._lock:
            row = self.conn.execute(
                "select data from profiles where subject = ? and kind = ?", (subject, kind)
            ).fetchone()
        return None if row is None else row[0]

    # ---- bookkeeping ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            return self._meta(key)

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("insert or replace into meta values (?, ?)", (key, value))

    # ---- maintenance -----------------------------------------------------------------

    def reindex(self, embedder: Embedder, *, batch: int = 256) -> int:
        """Rebuild every vector with `embedder` (a new model or dimension); returns how
        many items were embedded. The text index and the items are untouched."""
        live = "select id, subject, kind, text from items where folded_into is null"
        with self._lock:
            rows = self.conn.execute(f"{live} order by id").fetchall()
        # Embedding may take long (a hosted API) and may fail: the old vectors serve meanwhile.
        vectors = dict(
            zip((r[0] for r in rows), self._vectors([r[3] for r in rows], embedder), strict=True)
        )
        with self.tx() as db:
            # What changed while embedding: items remembered since are embedded now (a few),
            # items forgotten or folded since are left out, never brought back as vectors.
            now = db.execute(f"{live} order by id").fetchall()
            new = [r for r in now if r[0] not in vectors]
            vectors.update(
                zip((r[0] for r in new), self._vectors([r[3] for r in new], embedder), strict=True)
            )
            db.execute("drop table if exists items_vec")
            self._create_vectors(db, embedder)
            for start in range(0, len(now), batch):
                db.executemany(
                    "insert into items_vec (item_id, embedding, subject, kind) values (?, ?, ?, ?)",
                    [(r[0], vectors[r[0]], r[1], r[2]) for r in now[start : start + batch]],
                )
        self.embedder = embedder
        return len(now)

    def stats(self) -> MemoryStats:
        now = _ts(self.clock())
        with self._lock:
            db = self.conn
            by_kind = dict(
                db.execute(
                    "select kind, count(*) from items where folded_into"
                    " is null group by kind order by kind"
                ).fetchall()
            )
            subjects = db.execute("select count(distinct subject) from items").fetchone()[0]
            folded = db.execute(
                "select count(*) from items where folded_into is not null"
            ).fetchone()[0]
            expired = db.execute(
                "select count(*) from items where expires is not null and expires <= ?", (now,)
            ).fetchone()[0]
        name, dim = self.indexed_with
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        return MemoryStats(
            str(self.path),
            name or "none",
            dim,
            sum(by_kind.values()),
            subjects,
            folded,
            expired,
            by_kind,
            size,
        )
