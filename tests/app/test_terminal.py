"""Without a terminal (CI, a pipe) the terminal app refuses plainly instead of crashing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_keel_tui_without_a_terminal_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "tui"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "keel tui needs a terminal" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
