"""Keel's long-term memory: embedders that turn text into vectors for recall."""

from memory.embedder import Embedder, HashingEmbedder, cosine

__all__ = ["Embedder", "HashingEmbedder", "cosine"]
