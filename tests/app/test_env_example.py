"""`.env.example` documents every setting Keel reads."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import Settings, env_name

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_every_setting_is_documented_in_env_example():
    documented = set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    expected = {env_name(name) for name in Settings.model_fields}
    assert documented == expected
