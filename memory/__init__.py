"""Keel's long-term memory: embedders that turn text into vectors for recall."""

from memory.embedder import HashingEmbedder, cosine

__all__ = ["HashingEmbedder", "cosine"]
