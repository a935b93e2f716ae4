"""Shared pytest fixtures."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.sandbox import Sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A seeded sandbox on ephemeral HTTP and SMTP ports, over a fresh SQLite file."""
    with Sandbox(tmp_path / "sandbox.db") as running:
        yield running
