"""KEEL_HOME as private storage: created 0700 (files 0600 under the process umask), a new
one laid out by `keel init`, and warnings when the files holding secrets are readable by
others."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

PRIVATE_UMASK = 0o077
"""Every file Keel creates (databases, logs, the Slack ledger) is readable by its owner only."""


PERSONS_FILES = frozenset({".env", "policy.toml"})


def keep_private() -> None:
    """From now on this process creates files 0600 and folders 0700."""
    os.umask(PRIVATE_UMASK)


def prepare_home(home: Path) -> Path:
    """The home folder, created 0700. One of ours that others could enter (made by an older
    Keel) is closed to them, and so are the files Keel wrote in it; a person's own `.env` and
    policy.toml are warned about instead (`exposure_warnings`)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = [p for p in home.iterdir() if p.name not in PERSONS_FILES]
    for path in (home, *written):
        info = path.lstat()
        if info.st_mode & 0o077 and info.st_uid == os.getuid() and not stat.S_ISLNK(info.st_mode):
            path.chmod(stat.S_IMODE(info.st_mode) & 0o700)
    return home


def database_errors() -> tuple[type[Exception], ...]:
    """The errors of every SQLite driver loaded: memory's may be sqlean's, not sqlite3's."""
    drivers = getattr(sys.modules.get("memory.connect"), "DRIVERS", ("sqlite3",))
    found = (getattr(sys.modules.get(name), "Error", None) for name in drivers)
    return tuple(cls for cls in found if isinstance(cls, type) and issubclass(cls, Exception))


SQLITE_HEADER = b"SQLite format 3\x00"


def problem(home: Path) -> str | None:
    """What keeps Keel from opening its home folder, when the folder shows it."""
    try:
        if home.exists() and not home.is_dir():
            return (
                f"KEEL_HOME ({home}) is a file, not a folder; point KEEL_HOME at a folder"
                " (`keel init DIR` makes one)"
            )
        databases = sorted(home.glob("*.db*"))  # with their -wal and -shm files
        for path in (home, *databases):
            if not os.access(path, os.R_OK | os.W_OK | (os.X_OK if path.is_dir() else 0)):
                info = path.stat()
                try:
                    owner = pwd.getpwuid(info.st_uid).pw_name
                except KeyError:
                    owner = str(info.st_uid)
                chmod = f"`chmod {700 if path.is_dir() else 600} {path}`"
                return (
                    f"{path}: permission denied (mode {stat.S_IMODE(info.st_mode):04o},"
                    f" owner {owner}); Keel reads and writes it: "
                    + (
                        chmod
                        if info.st_uid == os.geteuid()
                        else f"run Keel as {owner}, or {chmod} as {owner}"
                    )
                )
        for path in (p for p in databases if p.suffix == ".db"):
            with path.open("rb") as db:
                header = db.read(len(SQLITE_HEADER))
            if header and header != SQLITE_HEADER:
                return (
                    f"{path} is not a SQLite database; restore it from a backup, or move it"
                    " away and Keel starts an empty one"
                )
    except OSError:  # the folder cannot even be looked at: the error itself says where
        return None
    return None


@contextmanager
def opening(home: Path) -> Iterator[None]:
    """Opening the home folder's databases; when that fails, what is wrong with the folder."""
    caught: tuple[type[Exception], ...] = (OSError, *database_errors())
    try:
        yield
    except caught as exc:
        from .settings import SettingsError

        found = problem(home)
        if found is None:
            raise
        raise SettingsError(found) from exc


def exposed(path: Path) -> bool:
    """True when a file exists and users other than its owner may read it."""
    try:
        return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


def exposure_warnings(settings: Settings) -> list[str]:
    """One line per settings or policy file that others can read."""
    from .settings import SettingsError

    candidates = [Path(".env").absolute(), (settings.home / ".env").absolute()]
    with contextlib.suppress(SettingsError):  # the command itself says the policy is missing
        candidates.append(settings.policy_path())
    return [
        f"{path} is readable by other users (mode {stat.S_IMODE(path.stat().st_mode):04o});"
        f" `chmod 600 {path}` keeps it private"
        for path in dict.fromkeys(candidates)
        if exposed(path)
    ]


def policy_template() -> str:
    """The commented policy.toml the repository ships (the demo's own)."""
    return (resources.files(__package__) / "templates" / "policy.toml").read_text("utf-8")


def _with_person(policy: str, person: str) -> str:
    """The template with `person` as an owner under [people], so its maker can act at once."""
    if re.search(rf"^{re.escape(person)}\s*=", policy, flags=re.MULTILINE):
        return policy
    line = f'{json.dumps(person)} = ["owner"]  # you: `keel init` named your login name'
    return re.sub(
        r"^\[people\]\n", lambda m: m[0] + line + "\n", policy, count=1, flags=re.MULTILINE
    )


def init_home(target: Path, person: str | None = None) -> list[Path]:
    """A new home: the folder (0700), policy.toml and .env (0600) from the shipped templates.

    Refuses to overwrite either file; returns the files written."""
    from .settings import SettingsError, default_user, env_example

    files = {
        target / "policy.toml": _with_person(policy_template(), person or default_user()),
        target / ".env": env_example(),
    }
    there = [str(path) for path in files if path.exists()]
    if there:
        one = len(there) == 1
        raise SettingsError(
            f"{' and '.join(there)} already exist{'s' if one else ''}; keel init never"
            f" overwrites (move {'it' if one else 'them'} away or pick another folder)"
        )
    prepare_home(target)
    for path, text in files.items():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    return list(files)
