"""Who drives runs: one server holds the home folder exclusively; CLI runs share it.

`keel serve` takes an exclusive lock on `<home>/server.lock` and keeps it for its life;
a CLI command that would drive a run itself takes a shared lock for the duration. So a
CLI never executes a run while a server does (it hands the work over through the store
and the inbox instead), and the lock goes away with its process, even after `kill -9`.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Self


class HomeLock:
    def __init__(self, home: Path, *, exclusive: bool) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.path = home / "server.lock"
        self.exclusive = exclusive
        self._fd: int | None = None

    def acquire(self, *, block: bool) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        if self.exclusive:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def server_running(home: Path) -> bool:
    """True while a `keel serve` / `keel up` holds this home folder."""
    probe = HomeLock(home, exclusive=False)
    if probe.acquire(block=False):
        probe.release()
        return False
    return True
