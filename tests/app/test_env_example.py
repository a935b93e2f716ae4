"""`.env.example` documents every setting Keel reads, as the settings themselves describe it."""

from __future__ import annotations

from pathlib import Path

from app.settings import env_example

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_is_generated_from_the_settings():
    # Regenerate with:
    # python -c "from app.settings import env_example; print(env_example(), end='')"
    assert EXAMPLE.read_text() == env_example()
