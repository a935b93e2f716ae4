"""The hashing embedder: deterministic everywhere, normalised, and close for close texts."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from memory import HashingEmbedder, cosine

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["refund order 1042, it arrived broken", "Siobhán Ní Bhriain", "東京の注文を返金して", ""]


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def test_dim_and_name():
    assert HashingEmbedder().dim == 384
    assert HashingEmbedder().name == "hashing-v1-384"
    small = HashingEmbedder(dim=64)
    assert (small.dim, small.name, len(small.embed("refund"))) == (64, "hashing-v1-64", 64)
    assert HashingEmbedder(sublinear=False).name != HashingEmbedder().name
    with pytest.raises(ValueError):
        HashingEmbedder(dim=0)


def test_same_vectors_in_another_process_with_another_hash_seed():
    script = (
        "import json, sys; from memory import HashingEmbedder; "
        "print(json.dumps(HashingEmbedder().embed_many(json.loads(sys.argv[1]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(TEXTS)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout
    assert json.loads(out) == HashingEmbedder().embed_many(TEXTS)


def test_hashing_scheme_is_pinned():
    # If this changes, stored vectors are stale: bump the version in `name` with it.
    vector = HashingEmbedder(dim=64).embed("Refund")
    assert [(i, 1 if x > 0 else -1) for i, x in enumerate(vector) if x] == [
        (4, -1),
        (8, -1),
        (17, 1),
        (18, -1),
        (20, 1),
        (22, 1),
        (25, -1),
        (31, -1),
        (35, 1),
        (43, -1),
        (46, 1),
        (50, 1),
        (53, -1),
        (54, 1),
        (58, 1),
        (62, 1),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "refund",
        "refund order 1042, it arrived broken " * 50,
        "Zbigniew Wąsowski",
        "東京の注文を返金して",
        "👋 hi",
    ],
)
def test_unit_length(text):
    assert norm(HashingEmbedder().embed(text)) == pytest.approx(1.0)


def test_similar_sentences_are_closer_than_unrelated_ones():
    embed = HashingEmbedder().embed
    refund = embed("refund order 1042, it arrived broken")
    similar = embed("please refund order 1043, it arrived damaged")
    unrelated = embed("what is the weather in Lisbon tomorrow")
    assert cosine(refund, similar) > 0.3
    assert cosine(refund, similar) > cosine(refund, unrelated) + 0.2


def test_typos_stay_close():
    embed = HashingEmbedder().embed
    assert cosine(embed("refund order"), embed("refnud ordr")) > cosine(
        embed("refund order"), embed("weather forecast")
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "!!! ... ???"])
def test_text_without_words_is_the_zero_vector(text):
    vector = HashingEmbedder(dim=32).embed(text)
    assert vector == [0.0] * 32
    assert cosine(vector, HashingEmbedder(dim=32).embed("refund")) == 0.0


def test_case_and_unicode_forms_do_not_matter():
    embed = HashingEmbedder().embed
    assert embed("REFUND Order") == embed("refund order")
    assert embed("ｒｅｆｕｎｄ") == embed("refund")  # noqa: RUF001  full-width forms (NFKC)
    composed = "José"
    assert embed(unicodedata.normalize("NFD", composed)) == embed(composed)


def test_non_ascii_and_broken_text():
    embed = HashingEmbedder().embed
    assert norm(embed("Ngozi Okonkwo-Adeyemi ąęłńóśźż")) == pytest.approx(1.0)
    assert norm(embed("bad \udcff\udcfe bytes \ufffd")) == pytest.approx(1.0)
    assert embed("Zoë") != embed("Zoe")


def test_embed_many_matches_embed():
    embedder = HashingEmbedder(dim=48)
    assert embedder.embed_many(TEXTS) == [embedder.embed(t) for t in TEXTS]
    assert embedder.embed_many(iter([])) == []


def test_sublinear_weighting_damps_repetition():
    text = "refund " * 20 + "order"
    sub, raw = HashingEmbedder(sublinear=True), HashingEmbedder(sublinear=False)
    order = HashingEmbedder().embed("order")
    assert cosine(sub.embed(text), order) > cosine(raw.embed(text), order)


def test_cosine():
    assert cosine([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [-2.0, 0.0]) == pytest.approx(-1.0)
    assert cosine([1.0, 0.0], [0.0, 3.0]) == 0.0
    assert cosine([0.0, 0.0], [1.0, 1.0]) == 0.0
    with pytest.raises(ValueError):
        cosine([1.0], [1.0, 2.0])
