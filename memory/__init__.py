"""Keel's long-term memory: a hybrid (vector + full-text) store in one SQLite file,
embedders, summaries and canonical profiles. Every error it raises is a `MemoryFault`
(the tree is in memory/errors.py)."""

from memory.embedder import Embedder, HashingEmbedder, cosine
from memory.errors import (
    EmbedderMismatch,
    EmbeddingFailed,
    EmptyText,
    MemoryFault,
    MemoryUnavailable,
)
from memory.store import (
    Forgotten,
    Item,
    MemoryStats,
    MemoryStore,
    Recalled,
)
from memory.summarise import Summariser, Summary

__all__ = [
    "Embedder",
    "EmbedderMismatch",
    "EmbeddingFailed",
    "EmptyText",
    "Forgotten",
    "HashingEmbedder",
    "Item",
    "MemoryFault",
    "MemoryStats",
    "MemoryStore",
    "MemoryUnavailable",
    "Recalled",
    "Summariser",
    "Summary",
    "cosine",
]
