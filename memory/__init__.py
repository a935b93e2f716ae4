"""Keel's long-term memory: a hybrid (vector + full-text) store in one SQLite file,
embedders, summaries and canonical profiles."""

from memory.connect import MemoryUnavailable
from memory.embedder import Embedder, EmbeddingFailed, HashingEmbedder, cosine
from memory.store import (
    EmbedderMismatch,
    EmptyText,
    Forgotten,
    Item,
    MemoryError_,
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
    "MemoryError_",
    "MemoryStats",
    "MemoryStore",
    "MemoryUnavailable",
    "Recalled",
    "Summariser",
    "Summary",
    "cosine",
]
