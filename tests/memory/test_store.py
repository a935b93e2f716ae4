"""The memory store on real SQLite with sqlite-vec and FTS5: hybrid recall, exactness of
the vector index, erasure, retention, embedder changes and bad input."""

from __future__ import annotations

import math
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory import HashingEmbedder
from memory.connect import connect
from memory.store import (
    CHUNK_CHARS,
    EmbedderMismatch,
    EmptyText,
    MemoryFault,
    MemoryStore,
    chunk_text,
    fts_query,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit() -> list[tuple[str, dict]]:
    return []


@pytest.fixture
def memory(tmp_path: Path, clock: Clock, audit: list) -> MemoryStore:
    store = MemoryStore(
        tmp_path / "memory.db",
        HashingEmbedder(),
        retention={"conversation": timedelta(days=30)},
        clock=clock,
        audit=lambda kind, data: audit.append((kind, data)),
    )
    yield store
    store.close()


PRODUCTS = ["kettle", "toaster", "teapot", "blender", "mixer", "grinder"]
TICKET = (
    "Customer wrote in on Tuesday morning about a delivery that came late. The courier left"
    " the parcel at the neighbour's door and the box was soaked by rain; she wants to know"
    " whether the warranty still applies and whether a replacement can ship before the"
    " weekend, since it is a birthday present. Reference ORD-88417. She also asked us to"
    " update her address for future deliveries and to stop the marketing newsletter."
)


def order_history(memory: MemoryStore) -> None:
    """Near-identical refund notes that differ only in the order id and product."""
    for n in range(30):
        if n != 17:
            memory.remember(
                "customer:ada",
                "outcome",
                f"Refund for order ORD-884{n:02d} approved: the"
                f" {PRODUCTS[n % len(PRODUCTS)]} was returned unused.",
            )


@pytest.mark.parametrize("query", ["refund ORD-88417", "order 88417"])
def test_an_exact_order_id_is_found_where_the_vectors_alone_miss_it(memory, query):
    order_history(memory)
    ticket = memory.remember("customer:ada", "ticket", TICKET)[0]
    by_vector = [item_id for item_id, _ in memory.nearest(query, k=10)]
    assert ticket.id not in by_vector  # a long text mentions the id once; lookalikes win
    hits = memory.recall(query, k=3)
    assert hits[0].item.id == ticket.id
    assert hits[0].text_rank == 1


def test_a_paraphrase_is_found_where_the_words_alone_miss_it(memory):
    order_history(memory)
    memory.remember("customer:ada", "ticket", "The kettle came with a crack in its lid.")
    memory.remember("customer:ada", "ticket", "Asked when the next newsletter goes out.")
    query = "kettles arriving cracked"
    assert memory.search_text(query, subject=None, kinds=["ticket"], limit=10) == []
    hits = memory.recall(query, kinds=["ticket"], k=1)
    assert [hit.item.text for hit in hits] == ["The kettle came with a crack in its lid."]
    assert hits[0].vector_rank == 1 and hits[0].text_rank is None


def test_recall_is_scoped_to_a_subject_and_kinds(memory):
    memory.remember("customer:ada", "outcome", "Refund approved for the blue kettle")
    memory.remember("customer:bob", "outcome", "Refund approved for the blue kettle")
    memory.remember("customer:bob", "ticket", "Where is my blue kettle refund?")
    assert {h.item.subject for h in memory.recall("blue kettle refund")} == {
        "customer:ada",
        "customer:bob",
    }
    scoped = memory.recall("blue kettle refund", subject="customer:bob", kinds=["ticket"])
    assert [(h.item.subject, h.item.kind) for h in scoped] == [("customer:bob", "ticket")]
    assert memory.recall("blue kettle refund", subject="customer:nobody") == []


def exact_top(vectors: dict[int, list[float]], query: list[float], k: int) -> list[int]:
    def cos(v: list[float]) -> float:
        return sum(a * b for a, b in zip(v, query, strict=True))

    return sorted(vectors, key=lambda i: -cos(vectors[i]))[:k]


def test_the_vector_index_returns_exactly_the_true_nearest_ten(memory):
    rng = random.Random(7)
    vocabulary = [f"w{n}" for n in range(400)]
    embedder = memory.embedder
    vectors: dict[int, list[float]] = {}
    for n in range(600):
        text = " ".join(rng.choices(vocabulary, k=12))
        item = memory.remember(f"customer:{n % 7}", "note", text)[0]
        vectors[item.id] = embedder.embed(text)
    found = total = 0
    for _ in range(25):
        query = embedder.embed(" ".join(rng.choices(vocabulary, k=6)))
        truth = exact_top(vectors, query, 10)
        got = [item_id for item_id, _ in memory.nearest(query, k=10)]
        found += len(set(truth) & set(got))
        total += 10
    assert found / total == 1.0
    # scoped to one partition too
    ids = {
        i
        for i, item in zip(vectors, memory.items(vectors), strict=True)
        if item.subject == "customer:3"
    }
    query = embedder.embed("w1 w2 w3 w4")
    scoped = [i for i, _ in memory.nearest(query, subject="customer:3", k=10)]
    assert scoped == exact_top({i: vectors[i] for i in ids}, query, 10)


def rows_mentioning(path: Path, needle: str) -> dict[str, int]:
    """Rows holding `needle` in any table of the file, shadow tables included."""
    conn = connect(path)
    found = {}
    tables = [
        r[0]
        for r in conn.execute(  # virtual tables keep their rows in shadow tables
            "select name from sqlite_master where type = 'table' and sql not like 'create virtual%'"
        )
    ]
    assert "items_vec_vector_chunks00" in tables and "items_fts_data" in tables
    for table in tables:
        rows = conn.execute(f'select * from "{table}"').fetchall()
        count = sum(
            1
            for row in rows
            for value in row
            if isinstance(value, str | bytes)
            and needle.encode() in (value if isinstance(value, bytes) else value.encode())
        )
        if count:
            found[table] = count
    conn.close()
    return found


def file_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def test_forget_erases_the_subject_from_every_table_and_is_audited(memory, audit):
    stored = memory.remember(
        "customer:ada@example.com",
        "outcome",
        "Refund for order ORD-55501 approved; zanzibarite glaze chipped.",
    )
    stored += memory.remember(
        "customer:ada@example.com", "conversation", "x " * 3000 + "zanzibarite"
    )
    assert len(stored) == 5  # the long text is four chunks
    memory.put_profile("customer:ada@example.com", "customer", '{"orders": 3}')
    memory.remember("customer:bob", "outcome", "Refund for order ORD-55502 approved.")
    vector = memory.conn.execute("select embedding from items_vec where item_id = 1").fetchone()[0]
    assert rows_mentioning(memory.path, "ada@example.com")
    assert memory.recall("zanzibarite ORD-55501", subject="customer:ada@example.com")

    gone = memory.forget("customer:ada@example.com", by="maria")

    assert (gone.items, gone.profiles) == (5, 1)
    assert rows_mentioning(memory.path, "ada@example.com") == {}
    assert rows_mentioning(memory.path, "zanzibarite") == {}
    data = file_bytes(memory.path)
    assert b"zanzibarite" not in data and b"ada@example.com" not in data
    assert vector not in data
    assert all(h.item.subject == "customer:bob" for h in memory.recall("zanzibarite ORD-55501"))
    assert memory.about("customer:ada@example.com") == []
    assert memory.profile("customer:ada@example.com", "customer") is None
    assert [h.item.subject for h in memory.recall("ORD-55502")] == ["customer:bob"]
    kind, data_ = audit[-1]
    assert kind == "memory.forgotten"
    assert data_["items"] == 5 and data_["by"] == "maria"
    assert "ada@example.com" not in repr(data_)  # the audit keeps a digest, not the subject
    assert memory.forget("customer:ada@example.com").items == 0


def test_retention_purges_expired_items_and_nothing_else(memory, clock, audit):
    memory.remember("customer:ada", "conversation", "old chat about the kettle")
    clock.now += timedelta(days=20)
    recent = memory.remember("customer:ada", "conversation", "recent chat about the kettle")
    kept = memory.remember("customer:ada", "outcome", "refund approved for the kettle")
    pinned = memory.remember(
        "customer:ada", "conversation", "a chat kept a year", expires=START + timedelta(days=365)
    )
    clock.now = START + timedelta(days=30)  # the first chat's last moment
    assert memory.stats().expired == 1
    assert memory.purge_expired() == 1
    left = {item.text for item in memory.about("customer:ada")}
    assert left == {recent[0].text, kept[0].text, pinned[0].text}
    assert all(h.item.text != "old chat about the kettle" for h in memory.recall("old chat"))
    assert audit[-1] == ("memory.purged", {"items": 1})
    assert memory.purge_expired() == 0
    clock.now = START + timedelta(days=400)
    assert memory.purge_expired() == 2  # the recent chat and the pinned one
    assert [item.kind for item in memory.about("customer:ada")] == ["outcome"]


def test_another_embedder_is_refused_until_reindexed(tmp_path):
    path = tmp_path / "memory.db"
    with MemoryStore(path, HashingEmbedder(384)) as memory:
        memory.remember("customer:ada", "note", "prefers email over phone calls")
    with pytest.raises(EmbedderMismatch) as refused:
        MemoryStore(path, HashingEmbedder(256))
    message = str(refused.value)
    assert "hashing-v1-384 (384 dimensions)" in message and "keel memory reindex" in message
    with MemoryStore(path, None) as memory:
        assert memory.reindex(HashingEmbedder(256)) == 1
    with MemoryStore(path, HashingEmbedder(256)) as memory:
        assert memory.stats().dim == 256
        assert memory.recall("email or phone")[0].item.text == "prefers email over phone calls"


def test_what_changes_while_reindexing_is_neither_lost_nor_brought_back(tmp_path):
    memory = MemoryStore(tmp_path / "memory.db", HashingEmbedder(384))
    memory.remember("customer:ada", "note", "prefers email over phone calls")
    memory.remember("customer:bob", "note", "the blue teapot arrived chipped")
    bob = {item.id for item in memory.about("customer:bob")}
    new = HashingEmbedder(256)

    class Busy:  # the new embedder; while it works, the server goes on remembering and forgetting
        name, dim = new.name, new.dim
        calls = 0

        def embed(self, text: str) -> list[float]:
            return new.embed(text)

        def embed_many(self, texts):
            Busy.calls += 1
            if Busy.calls == 1:
                memory.remember("customer:cy", "note", "asked for gift wrapping on the kettle")
                assert memory.forget("customer:bob").items == 1
            return new.embed_many(texts)

    assert memory.reindex(Busy()) == 2  # ada's, and cy's from meanwhile; bob's is gone
    vectors = {row[0] for row in memory.conn.execute("select item_id from items_vec")}
    items = {row[0] for row in memory.conn.execute("select id from items")}
    assert vectors == items and not vectors & bob
    assert memory.recall("kettle wrapping")[0].item.subject == "customer:cy"
    assert memory.recall("blue teapot") == []
    memory.close()


class WrongSize:
    name, dim = "wrong-8", 8

    def embed(self, text: str) -> list[float]:
        return [0.5] * 7

    def embed_many(self, texts):
        return [self.embed(t) for t in texts]


def test_a_vector_of_the_wrong_size_stores_nothing(tmp_path):
    with MemoryStore(tmp_path / "memory.db", WrongSize()) as memory:
        with pytest.raises(EmbedderMismatch, match="7 dimensions where 8"):
            memory.remember("customer:ada", "note", "hello")
        assert memory.stats().items == 0


def test_empty_and_blank_text_are_refused_with_a_clear_error(memory):
    for text in ("", "   \n\t", b""):
        with pytest.raises(EmptyText, match="empty"):
            memory.remember("customer:ada", "note", text)
    with pytest.raises(MemoryFault, match="subject and a kind"):
        memory.remember(" ", "note", "hello")
    assert memory.stats().items == 0
    assert memory.recall("") == [] and memory.recall("   ") == []


def test_a_megabyte_of_text_is_chunked_and_every_part_recallable(memory):
    rng = random.Random(3)
    words = ["".join(rng.choices("abcdefghijklmnop", k=rng.randint(2, 9))) for _ in range(3000)]
    body, size = [], 0
    while size < 1_000_000:
        body.append(rng.choice(words) + ("." if rng.random() < 0.07 else ""))
        size += len(body[-1]) + 1
    body[len(body) // 2] = "quetzalmarker"
    text = " ".join(body)
    items = memory.remember("doc:manual", "note", text)
    assert len(items) > 400
    assert all(len(item.text) <= CHUNK_CHARS for item in items)
    assert [item.chunk for item in items] == list(range(len(items)))
    assert " ".join(item.text for item in items).split() == text.split()
    hits = memory.recall("quetzalmarker", subject="doc:manual", k=1)
    assert "quetzalmarker" in hits[0].item.text


def test_chunking_keeps_paragraphs_whole_when_they_fit():
    text = "First paragraph.\n\nSecond one, longer.\n\n\n" + "word " * 500
    chunks = chunk_text(text, size=200)
    assert chunks[0] == "First paragraph.\n\nSecond one, longer."
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


def test_text_that_is_not_utf8_is_stored_with_replacement_characters(memory):
    raw = "Zoë’s refund".encode() + b"\xff\xfe\xc3(" + b" order ORD-7"
    stored = memory.remember("customer:zoe", "note", raw)[0]
    assert stored.text.startswith("Zoë’s refund") and "\ufffd" in stored.text
    escaped = raw.decode("utf-8", errors="surrogateescape")  # how a file name may arrive
    assert memory.remember("customer:zoe", "note", escaped)[0].text == stored.text
    assert memory.recall("ORD-7", subject="customer:zoe")[0].item.text == stored.text


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "NEAR(refund kettle, 2)",
        "kettle*",
        "*",
        "text:kettle",
        "kettle NOT refund",
        "^kettle",
        "(kettle",
        "-",
        "AND OR NOT",
        "'; drop table items; --",
        "\x00",
        "refund\ud800kettle",
    ],
)
def test_queries_with_fts_syntax_neither_fail_nor_inject(memory, query):
    memory.remember("customer:ada", "note", "refund for the kettle approved")
    memory.remember("customer:ada", "note", "kettle descaling tips")
    hits = memory.recall(query)
    assert memory.stats().items == 2
    if "kettle" in query.lower():  # NOT is a word here, not an operator
        assert {h.item.text for h in hits} >= {"refund for the kettle approved"}


def test_fts_query_quotes_every_word():
    assert fts_query('SKU-4471 "NEAR" foo*') == '"sku 4471" OR "near" OR "foo"'
    assert fts_query("*** ---") is None


def test_the_same_source_is_remembered_once(memory):
    first = memory.remember("customer:ada", "outcome", "refund approved", source="run:1")
    again = memory.remember("customer:ada", "outcome", "refund approved", source="run:1")
    assert [i.id for i in again] == [i.id for i in first]
    assert memory.stats().items == 1


def test_concurrent_remembers_from_threads(memory):
    errors = []

    def write(n: int) -> None:
        try:
            for m in range(20):
                memory.remember(
                    f"customer:{n}", "note", f"note {m} from thread {n}", source=f"t{n}:{m % 10}"
                )
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert memory.stats().items == 40  # 10 distinct sources per thread


def test_folding_old_items_into_a_summary_keeps_the_transcript(memory, clock):
    for n in range(5):
        memory.remember("conversation:maria", "conversation", f"turn {n}: about the kettle")
        clock.now += timedelta(minutes=1)
    newest = memory.remember("conversation:maria", "conversation", "turn 5: about toasters")
    older = [item for item in memory.about("conversation:maria") if item.id != newest[0].id]
    summary = memory.fold(older, "Maria asked about a kettle over five turns.")
    assert summary.kind == "summary"
    assert memory.fold(older, "again") == summary
    recalled = [h.item for h in memory.recall("kettle", subject="conversation:maria")]
    assert summary.id in [item.id for item in recalled]
    assert all(item.kind != "conversation" or item.id == newest[0].id for item in recalled)
    transcript = memory.transcript(summary.id)
    assert [item.text for item in transcript] == [f"turn {n}: about the kettle" for n in range(5)]
    assert memory.stats().folded == 5
    gone = memory.forget("conversation:maria")
    assert gone.items == 7 and memory.transcript(summary.id) == []


def test_stats_describe_the_file(memory):
    memory.remember("customer:ada", "note", "one")
    memory.remember("customer:bob", "outcome", "two")
    stats = memory.stats()
    assert (stats.items, stats.subjects, stats.by_kind) == (2, 2, {"note": 1, "outcome": 1})
    assert stats.embedder == "hashing-v1-384" and stats.file_bytes > 0
    assert math.isclose(sum(stats.by_kind.values()), stats.items)


def test_a_query_about_nothing_stored_recalls_nothing(memory):
    memory.remember("customer:ada", "outcome", "Refund of 84.00 USD on order 1042 succeeded.")
    memory.remember("customer:bob", "ticket", "Asked about teapot sizes.")
    assert memory.recall("zzqx") == []
