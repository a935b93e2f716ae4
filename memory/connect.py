"""Opening a SQLite connection that can run sqlite-vec and contentless FTS5.

The standard library's `sqlite3` is used when it can load extensions and is new enough;
many Python builds (this one, macOS's) cannot, so `sqlean.py` (which bundles a recent
SQLite) comes next, then `pysqlite3`. When none can, the error names the fix.
"""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlite_vec

from memory.errors import MemoryUnavailable

__all__ = ["MemoryUnavailable", "connect", "driver"]

# contentless_delete=1 (forgetting from a text index that keeps no copy) is 3.43's.
MIN_SQLITE = (3, 43, 0)
DRIVERS = ("sqlite3", "sqlean", "pysqlite3.dbapi2")


def _usable(module: ModuleType) -> str | None:
    """Why this driver cannot serve memory, or None when it can."""
    if tuple(module.sqlite_version_info) < MIN_SQLITE:
        return f"SQLite {module.sqlite_version} is older than 3.43"
    probe = module.connect(":memory:")
    try:
        if not hasattr(probe, "enable_load_extension"):
            return "built without extension loading"
        _load(probe)
        probe.execute("create virtual table t using fts5(x, content='', contentless_delete=1)")
    except module.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        probe.close()
    return None


def _load(conn: Any) -> None:
    conn.enable_load_extension(True)
    try:
        sqlite_vec.load(conn)
    finally:
        conn.enable_load_extension(False)


_chosen: ModuleType | None = None


def driver() -> ModuleType:
    """The first DB-API module here that can run memory (found once, then remembered)."""
    global _chosen
    if _chosen is not None:
        return _chosen
    reasons = []
    for name in DRIVERS:
        try:
            module = sqlite3 if name == "sqlite3" else importlib.import_module(name)
        except ImportError:
            reasons.append(f"{name}: not installed")
            continue
        why = _usable(module)
        if why is None:
            _chosen = module
            return module
        reasons.append(f"{name}: {why}")
    raise MemoryUnavailable(
        "memory needs SQLite 3.43+ that can load the sqlite-vec extension, and no driver"
        " here can (" + "; ".join(reasons) + "). Install one with"
        " `pip install sqlean.py` (Keel declares it; `make install` does this)."
    )


def connect(path: str | Path) -> Any:
    """A connection to `path` with sqlite-vec loaded, shareable across threads (the
    caller serialises its use), in WAL mode with freed pages overwritten."""
    module = driver()
    conn = module.connect(str(path), check_same_thread=False, isolation_level=None)
    _load(conn)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    conn.execute("pragma secure_delete=on")  # forgotten text does not linger in free pages
    conn.execute("pragma busy_timeout=5000")
    return conn
