"""The one error tree memory raises; each error's message says why and what to do.

    MemoryFault                    memory cannot do what was asked
    ├── MemoryUnavailable          no SQLite driver here can load sqlite-vec
    │                              (also a RuntimeError); the message names the fix
    ├── EmbeddingFailed            an embedder could not make vectors (a hosted
    │                              service down, refusing, answering nonsense)
    ├── EmbedderMismatch           the file's vectors came from another embedder
    │                              (or dimension); `keel memory reindex` rebuilds them
    └── EmptyText                  nothing to remember: empty or only whitespace
                                   (also a ValueError)

`except MemoryFault` catches every one of them. The name avoids shadowing the builtin
`MemoryError` (the interpreter out of RAM), which no memory error is.
"""

from __future__ import annotations

__all__ = [
    "EmbedderMismatch",
    "EmbeddingFailed",
    "EmptyText",
    "MemoryFault",
    "MemoryUnavailable",
]


class MemoryFault(Exception):
    """Memory cannot do what was asked; the message says why and what to do."""


class MemoryUnavailable(MemoryFault, RuntimeError):
    """No SQLite driver here can load sqlite-vec; the message says what to install."""


class EmbeddingFailed(MemoryFault):
    """An embedder could not make vectors (a hosted service down, refusing or answering
    nonsense); nothing was stored. The message says what happened, never a secret."""


class EmbedderMismatch(MemoryFault):
    """The file's vectors came from another embedder (or dimension)."""


class EmptyText(MemoryFault, ValueError):
    """Nothing to remember: the text is empty or only whitespace."""
