"""The hosted embedder against a loopback embeddings API: the wire format both ways,
retries, every malformed answer refused before anything is stored, the key kept out of
errors, and the memory store over it (recall by words alone while the API is down)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from memory import EmbedderMismatch, EmbeddingFailed, HashingEmbedder, MemoryStore
from memory.hosted import BATCH, HostedEmbedder
from remote.base import RetryPolicy
from tests.fakes.embeddings_api import EmbeddingsAPI, Reply, overloaded, rate_limited

KEY = "pa-secret-key-0123456789"
FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0, jitter=0)


@pytest.fixture
def api():
    with EmbeddingsAPI(api_key=KEY) as server:
        yield server


def hosted(
    api: EmbeddingsAPI, *, dim: int = 256, key: str | None = KEY, flavour: str = "voyage"
) -> HostedEmbedder:
    return HostedEmbedder(
        api.endpoint,
        model="voyage-3.5-lite",
        dim=dim,
        api_key=key,
        flavour=flavour,
        retry=FAST,
        timeout=5,
    )  # type: ignore[arg-type]


def test_sends_the_voyage_request_and_returns_unit_vectors_in_input_order(api):
    texts = ["the teapot arrived cracked", "refund order 1187", "a blue mug"]
    vectors = hosted(api).embed_many(texts)
    [request] = api.requests
    assert request.path == "/v1/embeddings"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body == {"input": texts, "model": "voyage-3.5-lite", "output_dimension": 256}
    # The fake answers in reverse order and scaled: the client sorts and normalises.
    expected = HashingEmbedder(256).embed_many(texts)
    for got, want in zip(vectors, expected, strict=True):
        assert math.isclose(math.fsum(x * x for x in got), 1.0, rel_tol=1e-9)
        assert all(math.isclose(g, w, abs_tol=1e-9) for g, w in zip(got, want, strict=True))


def test_openai_style_names_the_dimension_dimensions(api):
    hosted(api, dim=64, flavour="openai").embed("hello there")
    assert api.requests[0].body["dimensions"] == 64
    assert "output_dimension" not in api.requests[0].body


def test_text_without_words_is_the_zero_vector_and_never_sent(api):
    embedder = hosted(api)
    vectors = embedder.embed_many(["", "  ", "?!", "a real sentence"])
    assert vectors[:3] == [[0.0] * 256] * 3 and any(vectors[3])
    assert api.texts == [["a real sentence"]]
    assert embedder.embed_many([]) == [] and embedder.embed("...") == [0.0] * 256
    assert len(api.requests) == 1


def test_many_texts_go_in_batches_and_come_back_in_order(api):
    texts = [f"memory number {i}" for i in range(BATCH * 2 + 5)]
    vectors = hosted(api).embed_many(texts)
    assert [len(t) for t in api.texts] == [BATCH, BATCH, 5]
    assert vectors == hosted(api).embed_many(texts[::-1])[::-1]


@pytest.mark.parametrize(
    "failures",
    [[rate_limited("0")], [overloaded(), overloaded()], [Reply(500, {"detail": "boom"})]],
)
def test_rate_limits_and_server_errors_are_retried(api, failures):
    api.add(*failures)
    assert any(hosted(api).embed("the cracked teapot"))
    assert len(api.requests) == len(failures) + 1


def test_gives_up_after_the_policy_s_attempts_with_a_clear_error(api):
    api.add(overloaded(), overloaded(), overloaded())
    with pytest.raises(EmbeddingFailed, match=r"hosted:voyage-3.5-lite:256: .*503.*3 attempts"):
        hosted(api).embed("the cracked teapot")
    assert len(api.requests) == 3


def test_a_wrong_key_is_refused_once_and_the_error_never_shows_a_key(api):
    with pytest.raises(EmbeddingFailed) as caught:
        hosted(api, key="pa-wrong-key-9876").embed("hello")
    message = str(caught.value)
    assert "invalid" in message.lower() and "pa-wrong-key" not in message and KEY not in message
    assert len(api.requests) == 1  # a 401 is not retried


def test_an_unreachable_api_fails_clearly(api):
    embedder = hosted(api)
    api.stop()
    with pytest.raises(EmbeddingFailed, match=re.escape("hosted:voyage-3.5-lite:256")):
        embedder.embed("hello")


def _one(vector: list[float]) -> Reply:
    return Reply(200, {"data": [{"index": 0, "embedding": vector}]})


@pytest.mark.parametrize(
    ("reply", "complaint"),
    [
        (_one([1.0] * 100), "100 dimensions, 256 were asked for"),
        (_one([float("nan")] + [1.0] * 255), "NaN or infinity"),
        (_one([0.0] * 256), "all zeros"),
        (Reply(200, {"data": []}), "1 texts sent, 0 vectors back"),
        (Reply(200, {"object": "list"}), "no 'data' list"),
        (Reply(200, {"data": [{"index": 3, "embedding": [1.0] * 256}]}), "indexes are not 0 to 0"),
        (Reply(200, {"data": [{"embedding": "abc"}]}), "unreadable vector"),
        (Reply(400, {"detail": "input too long"}), "input too long"),
    ],
)
def test_a_malformed_answer_is_refused_and_nothing_is_stored(api, tmp_path: Path, reply, complaint):
    store = MemoryStore(tmp_path / "memory.db", hosted(api))
    api.add(reply)
    with pytest.raises(EmbeddingFailed, match=complaint):
        store.remember("customer:ada@example.com", "note", "the teapot arrived cracked")
    assert store.stats().items == 0
    store.remember("customer:ada@example.com", "note", "the teapot arrived cracked")
    assert store.stats().items == 1  # the next good answer is stored
    store.close()


def test_memory_over_the_hosted_embedder_recalls_and_survives_an_outage(api, tmp_path):
    store = MemoryStore(tmp_path / "memory.db", hosted(api))
    store.remember("customer:ada@example.com", "note", "the teapot arrived with a cracked lid")
    store.remember("customer:ada@example.com", "note", "asked about gift wrapping for mugs")
    [first, *_] = store.recall("broken teapot", subject="customer:ada@example.com")
    assert "teapot" in first.item.text and first.vector_rank == 1
    api.add(*[overloaded()] * 3)
    hits = store.recall("teapot", subject="customer:ada@example.com")
    assert [h.item.text for h in hits] == ["the teapot arrived with a cracked lid"]
    assert hits[0].vector_rank is None and hits[0].text_rank == 1  # by words alone
    embedder = store.embedder
    assert isinstance(embedder, HostedEmbedder) and not embedder.connector.client.is_closed
    store.close()
    assert embedder.connector.client.is_closed  # closing the store closed its client


def test_changing_model_or_dimension_needs_a_reindex_which_a_failure_leaves_undone(api, tmp_path):
    path = tmp_path / "memory.db"
    with MemoryStore(path, HashingEmbedder(256)) as store:
        store.remember("customer:ada@example.com", "note", "the teapot arrived cracked")
    with pytest.raises(EmbedderMismatch, match=re.escape("hosted:voyage-3.5-lite:256")):
        MemoryStore(path, hosted(api))
    with MemoryStore(path, None) as store:
        api.add(*[overloaded()] * 3)
        with pytest.raises(EmbeddingFailed):
            store.reindex(hosted(api))
        assert store.indexed_with == ("hashing-v1-256", 256)
        assert store.reindex(hosted(api)) == 1
        assert store.indexed_with == ("hosted:voyage-3.5-lite:256", 256)
    with MemoryStore(path, hosted(api)) as store:
        assert store.recall("cracked teapot")[0].vector_rank == 1
