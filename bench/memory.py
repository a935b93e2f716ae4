"""How the long-term memory store scales: its insert rate, and recall p50/p95 at 10,000 and
100,000 items of 384 dimensions, scoped to one subject and unscoped, side by side with exact
numpy search and a plain single-table sqlite-vec scan on the same vectors in one run, each
with its recall@10 against numpy's exact top 10; and the file size per 1,000 items.

The vectors are made once with numpy (topic clusters, fixed seed) and handed to the store by
an embedder that returns them in order, so the store's insert rate is not the embedder's;
the pure-Python HashingEmbedder's own rate is measured on its own."""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_vec

from memory.connect import connect, driver
from memory.embedder import HashingEmbedder
from memory.store import PARTITION_CHUNK, MemoryStore

from .sections import run_sections
from .timing import Table, rate, stopwatch, times

SECTIONS = ("embedder", "10k", "100k")

DIM = 384
K = 10
SEED = 20_251_124
TOPICS = 64
"""Vectors cluster around this many topic centroids, and texts draw on their words."""
NOISE = 1.5
"""An item is its topic's centroid plus noise of this norm: cosine ~0.55 to the centroid,
~0.3 to another item of its topic, ~0 to the rest."""
KNN_FILTER_K = 4096
"""The most a vec0 KNN query may ask for (sqlite-vec's limit): the plain table's scoped
search takes this many nearest over all items, then keeps the subject's."""
KINDS = ("note", "ticket", "email")
PLAIN_CHUNK = 1024
"""vec0's default chunk_size, which the plain table keeps."""


@dataclass(frozen=True)
class Scale:
    items: int
    subjects: int


SCALES = {"10k": Scale(10_000, 1_000), "100k": Scale(100_000, 5_000)}


@dataclass(frozen=True)
class Sizes:
    queries: int
    """Timed queries of each kind, per system."""
    warmup: int
    embedder_sample: int
    """Texts the HashingEmbedder embeds to measure its rate."""


DEFAULT = Sizes(queries=200, warmup=5, embedder_sample=500)
QUICK = Sizes(queries=50, warmup=3, embedder_sample=200)


def run(*, quick: bool, tmp: Path, sections: set[str]) -> tuple[dict[str, Any], bool]:
    """Run the chosen sections, print their tables, and return (results, every section clean)."""
    sizes = QUICK if quick else DEFAULT
    if quick and "100k" in sections:
        print("(quick: the 100k section is left out)\n")
        sections = sections - {"100k"}
    results: dict[str, Any] = {
        "sizes": sizes.__dict__,
        "scales": {n: s.__dict__ for n, s in SCALES.items()},
        "dim": DIM,
        "seed": SEED,
        "versions": _versions(),
    }
    chosen: dict[str, Callable[[Path], dict[str, Any]]] = {
        "embedder": lambda _scratch: _embedder_rate(sizes)
    }
    for name, scale in SCALES.items():
        chosen[name] = lambda scratch, s=scale: _scale(s, sizes, scratch)
    clean = run_sections(chosen, sections, tmp, results)
    results["ratios"] = _ratios(results)
    _print_ratios(results["ratios"])
    return results, clean


def _versions() -> dict[str, str]:
    db = driver()
    return {
        "sqlite_driver": db.__name__,
        "sqlite": db.sqlite_version,
        "sqlite_vec": metadata.version("sqlite-vec"),
        "numpy": np.__version__,
    }


# --- the data ------------------------------------------------------------------------------------


_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_COLOURS = ("BLK", "WHT", "RED", "BLU", "GRN")


@dataclass(frozen=True)
class Query:
    vector: np.ndarray
    as_list: list[float]
    """The vector as an embedder hands it over (made before the clock starts)."""
    text: str
    subject: str | None


@dataclass
class Corpus:
    vectors: np.ndarray
    """(items, DIM) float32, unit rows; row r is item id r + 1 everywhere."""
    texts: list[str]
    subjects: list[str]
    kinds: list[str]
    rows_by_subject: dict[str, np.ndarray]
    scoped: list[Query]
    unscoped: list[Query]


def _vocabulary(rng: np.random.Generator, size: int = 4000) -> np.ndarray:
    words: dict[str, None] = {}
    while len(words) < size:
        parts = rng.integers(0, len(_SYLLABLES), int(rng.integers(2, 4)))
        words["".join(_SYLLABLES[p] for p in parts)] = None
    return np.array(list(words))


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def corpus(scale: Scale, queries: int) -> Corpus:
    """Items spread over subjects by a power law (median ~10 items, the busiest hundreds),
    in a shuffled order; texts of 10-36 words from a Zipf vocabulary and their topic's words,
    many naming an order (ORD-12345) or a SKU; a vector near each item's topic centroid."""
    rng = np.random.default_rng(SEED + scale.items)
    n, s = scale.items, scale.subjects
    vocab = _vocabulary(rng)
    zipf = 1.0 / np.arange(1, len(vocab) + 1) ** 1.07
    zipf /= zipf.sum()
    topic_words = rng.integers(300, len(vocab), (TOPICS, 24))
    centroids = _unit(rng.standard_normal((TOPICS, DIM)))

    weights = 1.0 / (np.arange(s) + 10.0) ** 0.8
    counts = 1 + rng.multinomial(n - s, weights / weights.sum())
    owner = rng.permutation(np.repeat(np.arange(s), counts))
    liked = rng.integers(0, TOPICS, (s, 3))
    topic = np.where(
        rng.random(n) < 0.8, liked[owner, rng.integers(0, 3, n)], rng.integers(0, TOPICS, n)
    )
    vectors = _unit(centroids[topic] + NOISE * rng.standard_normal((n, DIM)) / np.sqrt(DIM))

    orders = [
        [f"ORD-{o}" for o in rng.integers(10_000, 100_000, int(rng.integers(1, 4)))]
        for _ in range(s)
    ]
    skus = [f"SKU-{rng.integers(1000, 10_000)}-{_COLOURS[i % 5]}" for i in range(500)]
    lengths = rng.integers(10, 37, n)
    general = rng.choice(len(vocab), (n, 36), p=zipf)
    on_topic = topic_words[topic[:, None], rng.integers(0, 24, (n, 36))]
    words = np.where(rng.random((n, 36)) < 0.35, on_topic, general)
    mention = rng.random(n)
    which = rng.integers(0, 3, n)
    sku = rng.integers(0, len(skus), n)
    texts = []
    for i in range(n):
        text = " ".join(vocab[words[i, : lengths[i]]])
        if mention[i] < 0.4:
            mine = orders[owner[i]]
            text += f" about order {mine[which[i] % len(mine)]}"
        elif mention[i] < 0.55:
            text += f" item {skus[sku[i]]}"
        texts.append(text)
    names = [f"customer-{i:05d}" for i in range(s)]
    subjects = [names[o] for o in owner]
    kinds = [KINDS[k] for k in rng.choice(3, n, p=[0.6, 0.3, 0.1])]
    order = np.argsort(owner, kind="stable")
    bounds = np.cumsum(np.bincount(owner, minlength=s))
    rows_by_subject = {names[j]: order[bounds[j] - counts[j] : bounds[j]] for j in range(s)}

    def query(subject: int | None) -> Query:
        t = int(
            liked[subject, rng.integers(0, 3)] if subject is not None else rng.integers(0, TOPICS)
        )
        vector = _unit(centroids[t] + NOISE * rng.standard_normal(DIM) / np.sqrt(DIM))
        picked = [
            *vocab[topic_words[t, rng.integers(0, 24, 3)]],
            *vocab[rng.choice(len(vocab), 2, p=zipf)],
        ]
        if rng.random() < 0.3:
            picked.append(
                rng.choice(orders[subject if subject is not None else int(rng.integers(0, s))])
            )
        return Query(
            vector, vector.tolist(), " ".join(picked), None if subject is None else names[subject]
        )

    # a subject is asked about as often as it has items (a busy customer more often)
    scoped = [query(int(owner[r])) for r in rng.integers(0, n, queries)]
    unscoped = [query(None) for _ in range(queries)]
    return Corpus(vectors, texts, subjects, kinds, rows_by_subject, scoped, unscoped)


class Precomputed:
    """An Embedder handing over vectors fed to it in advance, in order; it keeps count of
    the seconds spent in it, so the store's own time can be told apart."""

    name = f"bench-precomputed-{DIM}"
    dim = DIM

    def __init__(self) -> None:
        self.pending: deque[np.ndarray | list[float]] = deque()
        self.seconds = 0.0

    def feed(self, vector: np.ndarray | list[float]) -> None:
        self.pending.append(vector)

    def _take(self) -> list[float]:
        vector = self.pending.popleft()
        return vector.tolist() if isinstance(vector, np.ndarray) else vector

    def embed(self, text: str) -> list[float]:
        elapsed = stopwatch()
        vector = self._take()
        self.seconds += elapsed()
        return vector

    def embed_many(self, texts: Iterable[str]) -> list[list[float]]:
        elapsed = stopwatch()
        vectors = [self._take() for _ in texts]
        self.seconds += elapsed()
        return vectors


# --- the embedder's own rate -----------------------------------------------------------------


def _embedder_rate(sizes: Sizes) -> dict[str, Any]:
    texts = corpus(Scale(max(sizes.embedder_sample, 1000), 100), 0).texts
    sample = texts[: sizes.embedder_sample]
    embedder = HashingEmbedder(DIM)
    embedder.embed_many(texts[-50:])  # warm the feature-slot cache a little, as a running app has
    elapsed = stopwatch()
    embedder.embed_many(sample)
    seconds = elapsed()
    per_s = len(sample) / seconds
    words = statistics.mean(len(t.split()) for t in sample)
    table = Table(
        f"HashingEmbedder ({DIM} dims, pure Python), {len(sample)} texts of the corpus",
        ["embedder", "texts/s", "ms/text", "100,000 texts would take"],
    )
    table.add(embedder.name, rate(per_s), f"{1000 / per_s:.2f}", f"{100_000 / per_s:,.0f} s")
    table.notes.append(
        f"texts average {words:.0f} words; this is why the store sections feed precomputed vectors"
    )
    print(table.render() + "\n")
    return {
        "texts": len(sample),
        "texts_per_s": per_s,
        "ms_per_text": 1000 / per_s,
        "mean_words": words,
    }


# --- one scale -----------------------------------------------------------------------------------


def _scale(scale: Scale, sizes: Sizes, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    made = stopwatch()
    data = corpus(scale, sizes.queries + sizes.warmup)
    corpus_s = made()
    embedder = Precomputed()
    store = MemoryStore(tmp / "memory.db", embedder)
    plain = connect(tmp / "plain.db")
    try:
        _plain_schema(plain)
        inserts = {"keel": _insert_keel(store, embedder, data), "plain": _insert_plain(plain, data)}
        sizes_ = {
            "keel": _file_size(store.conn, tmp / "memory.db", scale.items),
            "plain": _file_size(plain, tmp / "plain.db", scale.items),
        }
        chunks = store.conn.execute("select count(*) from items_vec_chunks").fetchone()[0]
        plain_chunks = plain.execute("select count(*) from v_chunks").fetchone()[0]
        stats = store.stats()
        if (stats.items, stats.subjects) != (scale.items, scale.subjects):
            raise RuntimeError(
                f"the store holds {stats.items} items of {stats.subjects}"
                f" subjects, expected {scale.items} of {scale.subjects}"
            )
        latency = _queries(store, embedder, plain, data, sizes)
    finally:
        store.close()
        plain.close()
    spread = np.array(sorted(len(r) for r in data.rows_by_subject.values()))
    subjects = {
        "min": int(spread[0]),
        "median": float(np.median(spread)),
        "p95": float(np.percentile(spread, 95)),
        "max": int(spread[-1]),
    }
    fill = {
        "keel": scale.items / (chunks * PARTITION_CHUNK),
        "plain": scale.items / (plain_chunks * PLAIN_CHUNK),
    }
    out = {
        "items": scale.items,
        "subjects": scale.subjects,
        "items_per_subject": subjects,
        "corpus_s": corpus_s,
        "insert": inserts,
        "latency_ms": latency,
        "file": sizes_,
        "vec0_chunks": {"keel": chunks, "plain": plain_chunks},
        "vec0_chunk_fill": fill,
    }
    _print_scale(scale, sizes, out)
    return out


# --- inserting -----------------------------------------------------------------------------------


def _rates(marks: list[float], n: int) -> dict[str, float]:
    """Overall, first-tenth and last-tenth rates from the cumulative seconds at each tenth."""
    tenth = n / 10
    return {
        "items_per_s": n / marks[-1],
        "first_tenth_per_s": tenth / marks[0],
        "last_tenth_per_s": tenth / (marks[-1] - marks[-2]),
        "seconds": marks[-1],
    }


def _insert_keel(store: MemoryStore, embedder: Precomputed, data: Corpus) -> dict[str, Any]:
    """One `remember` per item, as the app does: each its own transaction."""
    n = len(data.texts)
    marks: list[float] = []
    embedder.seconds = 0.0
    elapsed = stopwatch()
    for row in range(n):
        embedder.feed(data.vectors[row])
        (item,) = store.remember(data.subjects[row], data.kinds[row], data.texts[row])
        if item.id != row + 1:
            raise RuntimeError(f"item {row} stored as id {item.id}, expected {row + 1}")
        if (row + 1) % (n // 10) == 0:
            marks.append(elapsed())
    out = _rates(marks, n)
    out["embedder_s"] = embedder.seconds
    out["store_only_items_per_s"] = n / (marks[-1] - embedder.seconds)
    return out


def _plain_schema(db: Any) -> None:
    db.execute(f"create virtual table v using vec0(embedding float[{DIM}] distance_metric=cosine)")
    db.execute("create table subjects (id integer primary key, subject text not null)")
    db.execute("create index subjects_subject on subjects (subject)")


def _insert_plain(db: Any, data: Corpus) -> dict[str, Any]:
    """The same vectors, one transaction per item too: the vector and its subject row."""
    n = len(data.texts)
    marks: list[float] = []
    elapsed = stopwatch()
    for row in range(n):
        vector = sqlite_vec.serialize_float32(data.vectors[row].tolist())
        db.execute("begin immediate")
        db.execute("insert into v (rowid, embedding) values (?, ?)", (row + 1, vector))
        db.execute("insert into subjects values (?, ?)", (row + 1, data.subjects[row]))
        db.execute("commit")
        if (row + 1) % (n // 10) == 0:
            marks.append(elapsed())
    return _rates(marks, n)


# --- file size -----------------------------------------------------------------------------------


def _part(table: str) -> str:
    if table.startswith("items_fts"):
        return "full-text index (FTS5, contentless)"
    if table.startswith(("items_vec_vector_chunks", "v_vector_chunks")):
        return "vec0 vectors"
    if table.startswith(("items_vec", "v_", "sqlite_autoindex_items_vec", "sqlite_autoindex_v_")):
        return "vec0 bookkeeping (rowids, chunks, metadata)"
    if table.startswith("items"):
        return "items (rows and their 5 indexes)"
    if table.startswith("subjects"):
        return "subjects table and index"
    return "other (schema, meta, profiles)"


def _file_size(db: Any, path: Path, items: int) -> dict[str, Any]:
    """Bytes per 1,000 items: the file once its write-ahead log is checkpointed, by part."""
    db.execute("pragma wal_checkpoint(truncate)")
    parts: dict[str, int] = {}
    for name, size in db.execute("select name, sum(pgsize) from dbstat group by name"):
        parts[_part(name)] = parts.get(_part(name), 0) + size
    total = path.stat().st_size
    return {
        "bytes": total,
        "kb_per_1000": total / items,
        "parts_kb_per_1000": {
            part: size / items for part, size in sorted(parts.items(), key=lambda kv: -kv[1])
        },
    }


# --- searching -----------------------------------------------------------------------------------


def _top(sims: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k largest, largest first."""
    if len(sims) > k:
        part = np.argpartition(-sims, k)[:k]
        return part[np.argsort(-sims[part], kind="stable")]
    return np.argsort(-sims, kind="stable")


def _numpy(data: Corpus, q: Query) -> list[tuple[int, float]]:
    if q.subject is None:
        sims = data.vectors @ q.vector
        best = _top(sims, K)
        return [(int(r) + 1, float(sims[r])) for r in best]
    rows = data.rows_by_subject[q.subject]
    sims = data.vectors[rows] @ q.vector
    best = _top(sims, K)
    return [(int(rows[r]) + 1, float(sims[r])) for r in best]


_PLAIN_KNN = "select rowid, distance from v where embedding match ? and k = ? order by distance"
_PLAIN_ROWS = (
    "select s.id, vec_distance_cosine(v.embedding, ?) as d from subjects s"
    " join v on v.rowid = s.id where s.subject = ? order by d limit ?"
)
_PLAIN_FILTER = (
    "select h.rowid, h.distance from (select rowid, distance from v"
    " where embedding match ? and k = ?) h join subjects s on s.id = h.rowid"
    " where s.subject = ? order by h.distance limit ?"
)


def _plain_knn(db: Any, q: Query) -> list[tuple[int, float]]:
    vector = sqlite_vec.serialize_float32(q.as_list)
    return db.execute(_PLAIN_KNN, (vector, K)).fetchall()


def _plain_rows(db: Any, q: Query) -> list[tuple[int, float]]:
    vector = sqlite_vec.serialize_float32(q.as_list)
    return db.execute(_PLAIN_ROWS, (vector, q.subject, K)).fetchall()


def _plain_filter(db: Any, q: Query) -> list[tuple[int, float]]:
    vector = sqlite_vec.serialize_float32(q.as_list)
    return db.execute(_PLAIN_FILTER, (vector, KNN_FILTER_K, q.subject, K)).fetchall()


Search = Callable[[Query], Sequence[Any]]

SYSTEMS = {
    "scoped": (
        ("keel", "keel nearest(subject=): vec0 partition by subject"),
        ("numpy", "numpy exact: matrix @ query on the subject's rows"),
        ("plain_rows", "plain vec0: subject index, then vec_distance_cosine per row"),
        ("plain_filter", f"plain vec0: KNN k={KNN_FILTER_K} over all, then filter by subject"),
    ),
    "unscoped": (
        ("keel", "keel nearest(): every partition"),
        ("numpy", "numpy exact: matrix @ query, argpartition"),
        ("plain_knn", "plain vec0: KNN k=10"),
    ),
    "hybrid": (
        ("keel_scoped", "keel recall(text, subject=): vector + 2 FTS + fusion"),
        ("keel_unscoped", "keel recall(text): vector + 2 FTS + fusion"),
    ),
}


def _queries(
    store: MemoryStore, embedder: Precomputed, plain: Any, data: Corpus, sizes: Sizes
) -> dict[str, dict[str, Any]]:
    """Every query through every system, the systems taking turns query by query (so a slow
    stretch falls on all alike); the first `warmup` of each are not counted."""

    def recall(q: Query) -> Any:
        embedder.feed(q.as_list)
        return store.recall(q.text, subject=q.subject, k=K)

    searches: dict[str, dict[str, Search]] = {
        "scoped": {
            "keel": lambda q: store.nearest(q.as_list, subject=q.subject, k=K),
            "numpy": lambda q: _numpy(data, q),
            "plain_rows": lambda q: _plain_rows(plain, q),
            "plain_filter": lambda q: _plain_filter(plain, q),
        },
        "unscoped": {
            "keel": lambda q: store.nearest(q.as_list, k=K),
            "numpy": lambda q: _numpy(data, q),
            "plain_knn": lambda q: _plain_knn(plain, q),
        },
        "hybrid": {"keel_scoped": recall, "keel_unscoped": recall},
    }
    truth = {
        group: [{item for item, sim in _numpy(data, q) if sim > 0} for q in queries]
        for group, queries in (("scoped", data.scoped), ("unscoped", data.unscoped))
    }
    taken: dict[str, dict[str, list[float]]] = {
        g: {s: [] for s in ss} for g, ss in searches.items()
    }
    found: dict[str, dict[str, list[float]]] = {
        g: {s: [] for s in ss} for g, ss in searches.items()
    }
    hits: list[int] = []
    for i in range(sizes.warmup + sizes.queries):
        for group, name, q in _turns(data, i):
            elapsed = stopwatch()
            result = searches[group][name](q)
            seconds = elapsed()
            if i < sizes.warmup:
                continue
            taken[group][name].append(seconds)
            if group == "hybrid":
                hits.append(len(result))
            elif exact := truth[group][i]:
                found[group][name].append(len({r[0] for r in result} & exact) / len(exact))
    out: dict[str, dict[str, Any]] = {}
    for group, systems in taken.items():
        out[group] = {}
        for name, seconds in systems.items():
            ms = np.array(seconds) * 1000
            row: dict[str, Any] = {
                "p50": float(np.median(ms)),
                "p95": float(np.percentile(ms, 95)),
                "mean": float(ms.mean()),
                "queries": len(ms),
            }
            if found[group][name]:
                row["recall_at_10"] = float(np.mean(found[group][name]))
                row["recall_queries"] = len(found[group][name])
            out[group][name] = row
    out["hybrid"]["mean_results"] = float(np.mean(hits)) if hits else 0.0
    return out


def _turns(data: Corpus, i: int) -> list[tuple[str, str, Query]]:
    """Query i's turn: (group, system, query) for every system."""
    return [
        *(("scoped", name, data.scoped[i]) for name, _ in SYSTEMS["scoped"]),
        *(("unscoped", name, data.unscoped[i]) for name, _ in SYSTEMS["unscoped"]),
        ("hybrid", "keel_scoped", data.scoped[i]),
        ("hybrid", "keel_unscoped", data.unscoped[i]),
    ]


# --- showing ------------------------------------------------------------------------------


def _print_scale(scale: Scale, sizes: Sizes, out: dict[str, Any]) -> None:
    spread = out["items_per_subject"]
    title = (
        f"Memory at {scale.items:,} items x {DIM} dims, {scale.subjects:,} subjects"
        f" (items per subject: median {spread['median']:.0f}, p95 {spread['p95']:.0f},"
        f" max {spread['max']})"
    )
    inserts = Table(
        f"{title}: inserting, one transaction per item",
        ["system", "items/s", "first 10%/s", "last 10%/s", "store only/s"],
    )
    for name, label in (
        ("keel", "keel remember (items, FTS5, vec0)"),
        ("plain", "plain vec0 + subject row"),
    ):
        row = out["insert"][name]
        inserts.add(
            label,
            rate(row["items_per_s"]),
            rate(row["first_tenth_per_s"]),
            rate(row["last_tenth_per_s"]),
            rate(row["store_only_items_per_s"]) if "store_only_items_per_s" in row else "",
        )
    print(inserts.render() + "\n")

    latency = Table(
        f"{title}: search, {sizes.queries} queries each (after {sizes.warmup}"
        " warm-up), systems taking turns",
        ["group / system", "p50 ms", "p95 ms", "mean ms", "recall@10"],
    )
    for group, systems in SYSTEMS.items():
        for name, label in systems:
            row = out["latency_ms"][group][name]
            found = row.get("recall_at_10")
            latency.add(
                f"{group}: {label}",
                f"{row['p50']:.2f}",
                f"{row['p95']:.2f}",
                f"{row['mean']:.2f}",
                "" if found is None else f"{found:.3f}",
            )
    latency.notes.append(
        "recall@10 against numpy's exact top 10 (items with cosine > 0);"
        f" hybrid recall returned {out['latency_ms']['hybrid']['mean_results']:.1f}"
        " items a query on average"
    )
    print(latency.render() + "\n")

    files = Table(f"{title}: file size", ["part", "keel MB/1,000 items", "plain MB/1,000 items"])
    keel, plain = out["file"]["keel"], out["file"]["plain"]
    for part in dict.fromkeys([*keel["parts_kb_per_1000"], *plain["parts_kb_per_1000"]]):
        files.add(
            part,
            _mb(keel["parts_kb_per_1000"].get(part)),
            _mb(plain["parts_kb_per_1000"].get(part)),
        )
    files.add("whole file (WAL checkpointed)", _mb(keel["kb_per_1000"]), _mb(plain["kb_per_1000"]))
    files.notes.append(
        f"vec0 chunks filled: keel {out['vec0_chunk_fill']['keel']:.0%}"
        f" ({out['vec0_chunks']['keel']:,} chunks of {PARTITION_CHUNK}),"
        f" plain {out['vec0_chunk_fill']['plain']:.0%}"
        f" ({out['vec0_chunks']['plain']:,} of {PLAIN_CHUNK})"
    )
    print(files.render() + "\n")


def _mb(size: float | None) -> str:
    """Bytes per item (KB per 1,000 items) as MB per 1,000 items."""
    return "" if size is None else f"{size / 1000:,.2f}"


def _ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per scale: each baseline's latency over keel's (above 1: keel is faster), keel's
    insert rate over the plain table's, and keel's file size over the plain one's."""
    ratios: dict[str, dict[str, float]] = {}
    for name in SCALES:
        out = results.get(name)
        if not isinstance(out, dict) or "latency_ms" not in out:
            continue
        mine: dict[str, float] = {}
        for group in ("scoped", "unscoped"):
            rows = out["latency_ms"][group]
            for baseline, _label in SYSTEMS[group][1:]:
                for stat in ("p50", "p95"):
                    mine[f"{group} {baseline} / keel {stat}"] = (
                        rows[baseline][stat] / rows["keel"][stat]
                    )
        mine["insert keel / plain"] = (
            out["insert"]["keel"]["items_per_s"] / out["insert"]["plain"]["items_per_s"]
        )
        mine["file keel / plain"] = (
            out["file"]["keel"]["kb_per_1000"] / out["file"]["plain"]["kb_per_1000"]
        )
        ratios[name] = mine
    return ratios


def _print_ratios(ratios: dict[str, dict[str, float]]) -> None:
    if not ratios:
        return
    names = list(ratios)
    table = Table(
        "Memory: ratios (latency: baseline over keel, above 1 keel is faster)", ["ratio", *names]
    )
    for key in dict.fromkeys(k for r in ratios.values() for k in r):
        table.add(key, *(times(ratios[n][key]) if key in ratios[n] else "" for n in names))
    print(table.render() + "\n")
