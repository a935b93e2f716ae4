"""The free-text slot of a memory search: what to look for, told apart from the phrasing of
the request ("what do you remember about …", "search memory for …", "… before?")."""

from __future__ import annotations

import re

from .text import WORDS

MAX_QUERY = 2000
"""The longest query the search_memory tool accepts."""

_CHUNK = re.compile(r"\S+")
_EDGE_PUNCTUATION = " \n\t.,;:!?¿¡…\"'“”‘’«»()[]{}<>-–—"
_ASKING = frozenset(
    {
        # asking and looking up
        "what",
        "what's",
        "whats",
        "what’s",
        "do",
        "does",
        "did",
        "you",
        "we",
        "i",
        "keel",
        "remember",
        "recall",
        "know",
        "knew",
        "have",
        "has",
        "had",
        "got",
        "search",
        "look",
        "looking",
        "up",
        "find",
        "check",
        "pull",
        "bring",
        "dig",
        "tell",
        "show",
        "give",
        "remind",
        "me",
        "us",
        "let",
        "see",
        "can",
        "could",
        "would",
        "will",
        "please",
        "pls",
        "plz",
        "kindly",
        "hey",
        "hi",
        "hello",
        "ok",
        "okay",
        "so",
        "and",
        "is",
        "are",
        "was",
        "were",
        "there",
        "anything",
        "something",
        "everything",
        "any",
        "happened",
        "happen",
        "ever",
        "already",
        "he",
        "she",
        "they",
        # where it is remembered, and when
        "memory",
        "memories",
        "long-term",
        "history",
        "file",
        "files",
        "record",
        "records",
        "note",
        "notes",
        "stored",
        "saved",
        "ticket",
        "tickets",
        "conversations",
        "conversation",
        "chats",
        "interactions",
        "dealings",
        "last",
        "time",
        "times",
        "previous",
        "previously",
        "before",
        "earlier",
        "past",
        # what joins the phrasing to the subject
        "about",
        "on",
        "for",
        "with",
        "regarding",
        "re",
        "of",
        "to",
        "in",
        "from",
    }
)
"""Words that ask to be reminded, said before what to look for (and dropped there only)."""
_DETERMINERS = frozenset({"the", "our", "my", "your", "a", "an", "all", "its", "their"})
"""Dropped before a word of `_ASKING` ("search our history for …"), kept before anything
else ("the kettle complaint")."""
_TAIL = re.compile(
    r"(?:[\s.,;:!?…]+|\s+(?:before|previously|earlier|ever|again|already|so\s+far|at\s+all"
    r"|(?:the\s+)?last\s+time|in\s+the\s+past|in\s+(?:long-term\s+)?memory|on\s+file"
    r"|on\s+record|in\s+our\s+records|c[ao]me\s+up|please|pls|thanks|thank\s+you|then))$",
    re.IGNORECASE,
)
"""The phrasing a request ends with ("… before?", "… last time", "… please")."""


def _core(chunk: str) -> str:
    return chunk.strip(_EDGE_PUNCTUATION).lower()


def memory_query(text: str) -> str | None:
    """What to search memory for: the text with the request's phrasing cut from its start
    and end ("search memory for ORD-88417" → "ORD-88417"), at most MAX_QUERY characters;
    None when nothing but phrasing is left."""
    chunks = list(_CHUNK.finditer(text))
    first = 0
    while first < len(chunks):
        core = _core(chunks[first].group())
        following = _core(chunks[first + 1].group()) if first + 1 < len(chunks) else ""
        if (
            not WORDS.search(core)
            or core in _ASKING
            or (core in _DETERMINERS and following in _ASKING)
        ):
            first += 1
        else:
            break
    if first == len(chunks):
        return None
    query = text[chunks[first].start() :]
    while tail := _TAIL.search(query, max(0, len(query) - 40)):
        query = query[: tail.start()]
    query = " ".join(query.split()).strip(_EDGE_PUNCTUATION)
    if len(query) > MAX_QUERY:
        query = query[:MAX_QUERY].rsplit(" ", 1)[0] or query[:MAX_QUERY]
    return query if WORDS.search(query) else None
