"""Read-only commands and `--help` start without what drives runs: no LangGraph, no
Anthropic SDK, no Textual (bench/startup.py measures how fast; this checks what loads)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("langgraph", "anthropic", "textual", "slack_bolt", "httpx", "sqlite_vec")

PROBE = """
import json, sys
args, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
from app.cli import main
sys.argv = ["keel", *args]
try:
    main()
except SystemExit as done:
    code = done.code
print("\\n" + json.dumps({"code": code, "loaded": sorted(h for h in heavy if h in sys.modules)}))
"""


def loaded(args: list[str], home: Path) -> dict[str, object]:
    policy = home.parent / "policy.toml"
    policy.write_text((REPO / "policy.toml").read_text())
    policy.chmod(0o600)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "KEEL_HOME": str(home), "KEEL_POLICY": str(policy)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["runs", "--json"],
        ["show", "run_missing"],
        ["pending", "--as", "maria"],
        ["audit", "verify"],
    ],
    ids=lambda args: " ".join(args),
)
def test_reading_loads_nothing_that_drives_runs(tmp_path: Path, args: list[str]) -> None:
    result = loaded(args, tmp_path / "home")

    assert result["loaded"] == []
    assert result["code"] in (0, 3)  # `show` of an unknown run: not found


def test_a_command_that_drives_runs_does_load_them(tmp_path: Path) -> None:
    # The probe sees imports: without this, an empty list above could mean it saw nothing.
    result = loaded(["memory", "sync"], tmp_path / "home")

    assert result["code"] == 0
    assert "langgraph" in result["loaded"]
