"""KEEL_HOME as private storage: created 0700 (files 0600 under the process umask), a new
one laid out by `keel init`, and warnings when the files holding secrets are readable by
others."""

from __future__ import annotations

import json
import os
import re
import stat
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

PRIVATE_UMASK = 0o077
"""Every file Keel creates (databases, logs, the Slack ledger) is readable by its owner only."""


def keep_private() -> None:
    """From now on this process creates files 0600 and folders 0700."""
    os.umask(PRIVATE_UMASK)


def prepare_home(home: Path) -> Path:
    """The home folder, created 0700; one of ours that others could enter is closed to them."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = home.stat()
    if info.st_mode & 0o077 and info.st_uid == os.getuid():
        home.chmod(0o700)
    return home


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
    try:
        candidates.append(settings.policy_path())
    except SettingsError:
        pass  # the command itself says the policy is missing
    return [f"{path} is readable by other users (mode {stat.S_IMODE(path.stat().st_mode):04o});"
            f" `chmod 600 {path}` keeps it private"
            for path in dict.fromkeys(candidates) if exposed(path)]


def policy_template() -> str:
    """The commented policy.toml the repository ships (the demo's own)."""
    return (resources.files(__package__) / "templates" / "policy.toml").read_text("utf-8")


def _with_person(policy: str, person: str) -> str:
    """The template with `person` as an owner under [people], so its maker can act at once."""
    if re.search(rf"^{re.escape(person)}\s*=", policy, flags=re.MULTILINE):
        return policy
    line = f"{json.dumps(person)} = [\"owner\"]  # you: `keel init` named your login name"
    return re.sub(r"^\[people\]\n", lambda m: m[0] + line + "\n", policy, count=1,
                  flags=re.MULTILINE)


def init_home(target: Path, person: str | None = None) -> list[Path]:
    """A new home: the folder (0700), policy.toml and .env (0600) from the shipped templates.

    Refuses to overwrite either file; returns the files written."""
    from .settings import SettingsError, default_user, env_example

    files = {target / "policy.toml": _with_person(policy_template(), person or default_user()),
             target / ".env": env_example()}
    there = [str(path) for path in files if path.exists()]
    if there:
        raise SettingsError(f"{' and '.join(there)} already exist{'s' if len(there) == 1 else ''};"
                            " keel init never overwrites (move it away or pick another folder)")
    prepare_home(target)
    for path, text in files.items():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    return list(files)
