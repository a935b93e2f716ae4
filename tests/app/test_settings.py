"""Settings from the environment and `.env`: defaults, overrides, one clear error per bad value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.settings import SANDBOX_STORE_URL, Settings, SettingsError, load_settings

ALIASES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No KEEL_* or token variables from the outer shell, no stray `.env`, a known login name."""
    for name in list(os.environ):
        if name.upper().startswith("KEEL_") or name.upper() in ALIASES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("LOGNAME", "tester")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_point_at_the_local_sandbox() -> None:
    settings = load_settings()

    assert settings.home == Path(".keel")
    assert settings.policy is None
    assert settings.user == "tester"
    assert str(settings.store_url).rstrip("/") == SANDBOX_STORE_URL
    assert settings.store_token.get_secret_value() == "sandbox"
    assert settings.store_rate_limit == 2.0
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 8025)
    assert settings.mail_from == "Keel Shop <shop@example.com>"
    assert (settings.http_timeout, settings.retry_attempts, settings.workers) == (10.0, 5, 4)
    assert settings.demo is True
    assert settings.log_level == "INFO"
    assert (
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.anthropic_api_key,
    ) == (None, None, None, None)
    assert settings.uses_sandbox
    assert settings.sandbox_port == 8765


def test_environment_overrides_each_default(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("KEEL_USER", "maria")
    monkeypatch.setenv("KEEL_STORE_URL", "https://shop.example.com")
    monkeypatch.setenv("KEEL_STORE_TOKEN", "shpat_123")
    monkeypatch.setenv("KEEL_STORE_RATE_LIMIT", "40")
    monkeypatch.setenv("KEEL_SMTP_PORT", "2525")
    monkeypatch.setenv("KEEL_HTTP_TIMEOUT", "2.5")
    monkeypatch.setenv("KEEL_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("KEEL_WORKERS", "8")
    monkeypatch.setenv("KEEL_DEMO", "false")
    monkeypatch.setenv("KEEL_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")

    settings = load_settings()

    assert settings.home == tmp_path / "data"
    assert settings.user == "maria"
    assert str(settings.store_url).rstrip("/") == "https://shop.example.com"
    assert settings.store_token.get_secret_value() == "shpat_123"
    assert settings.store_rate_limit == 40.0
    assert settings.smtp_port == 2525
    assert settings.http_timeout == 2.5
    assert (settings.retry_attempts, settings.workers) == (2, 8)
    assert settings.demo is False
    assert settings.log_level == "DEBUG"
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1"
    assert not settings.uses_sandbox


def test_dotenv_in_the_current_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KEEL_USER=olivia\nKEEL_RETRY_ATTEMPTS=3\nUNRELATED=1\n")

    settings = load_settings()

    assert (settings.user, settings.retry_attempts) == ("olivia", 3)


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("KEEL_USER=olivia\n")
    monkeypatch.setenv("KEEL_USER", "sam")

    assert load_settings().user == "sam"


def test_dotenv_elsewhere_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("KEEL_USER=olivia\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert load_settings().user == "tester"


def test_overrides_passed_in_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_WORKERS", "8")

    assert load_settings(workers=2).workers == 2


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KEEL_SMTP_PORT", "abc"),
        ("KEEL_SMTP_PORT", "0"),
        ("KEEL_SMTP_PORT", "70000"),
        ("KEEL_STORE_URL", "nope"),
        ("KEEL_HTTP_TIMEOUT", "-1"),
        ("KEEL_LOG_LEVEL", "LOUD"),
        ("KEEL_WORKERS", "0"),
        ("KEEL_STORE_RATE_LIMIT", "0"),
        ("KEEL_RETRY_ATTEMPTS", "0"),
        ("KEEL_USER", ""),
    ],
)
def test_each_invalid_value_names_its_variable(
    variable: str,
    value: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as caught:
        load_settings()

    message = str(caught.value)
    assert message.startswith(f"invalid setting {variable}: ")
    assert message.count("KEEL_") == 1  # only the bad variable is blamed
    assert "\n" not in message
    if value:
        assert repr(value) in message  # what was given, so a person can spot the typo


def test_invalid_value_from_dotenv_names_its_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KEEL_SMTP_PORT=abc\n")

    with pytest.raises(SettingsError, match=r"^invalid setting KEEL_SMTP_PORT: .*'abc'"):
        load_settings()


def test_every_invalid_value_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_SMTP_PORT", "0")
    monkeypatch.setenv("KEEL_WORKERS", "100")

    with pytest.raises(SettingsError) as caught:
        load_settings()

    assert "KEEL_SMTP_PORT" in str(caught.value)
    assert "KEEL_WORKERS" in str(caught.value)


def test_invalid_override_names_its_variable() -> None:
    with pytest.raises(SettingsError, match=r"^invalid setting KEEL_SMTP_PORT: "):
        load_settings(smtp_port=0)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        (SANDBOX_STORE_URL, True),
        ("http://localhost:8765", True),
        ("http://127.0.0.1:9000", False),
        ("https://shop.example.com", False),
        ("http://shop.example.com:8765", False),
    ],
)
def test_uses_sandbox_only_for_the_default_local_address(url: str, local: bool) -> None:
    assert load_settings(store_url=url).uses_sandbox is local


def test_sandbox_port_comes_from_the_store_url() -> None:
    assert load_settings(store_url="http://127.0.0.1:9000").sandbox_port == 9000


def test_settings_are_frozen() -> None:
    settings = load_settings()

    with pytest.raises(ValueError, match="frozen"):
        settings.workers = 9  # type: ignore[misc]
    assert isinstance(settings, Settings)


# --- where the policy comes from --------------------------------------------------------------


def test_policy_is_found_in_keel_policy_then_here_then_the_home(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = clean_env / "home"
    home.mkdir()
    (home / "policy.toml").write_text("currency = 'EUR'\n")
    monkeypatch.setenv("KEEL_HOME", str(home))
    assert load_settings().policy_path() == home / "policy.toml"

    (clean_env / "policy.toml").write_text("currency = 'GBP'\n")
    assert load_settings().policy_path() == clean_env / "policy.toml"

    chosen = clean_env / "rules" / "shop.toml"
    monkeypatch.setenv("KEEL_POLICY", str(chosen))
    with pytest.raises(SettingsError) as missing:  # named, so never another file instead
        load_settings().policy_path()
    assert str(missing.value) == (
        f"no policy.toml found: looked at KEEL_POLICY ({chosen});"
        " `keel init DIR` creates a home with a commented one"
    )
    chosen.parent.mkdir()
    chosen.write_text("currency = 'USD'\n")
    assert load_settings().policy_path() == chosen


def test_with_no_policy_anywhere_the_error_names_every_place_looked(clean_env: Path) -> None:
    with pytest.raises(SettingsError) as missing:
        load_settings().policy_path()

    assert str(missing.value) == (
        f"no policy.toml found: looked at KEEL_POLICY (unset), ./policy.toml"
        f" ({clean_env / 'policy.toml'}) and KEEL_HOME/policy.toml"
        f" ({clean_env / '.keel' / 'policy.toml'}); `keel init DIR` creates a home with a"
        " commented one"
    )


def test_the_homes_own_dotenv_is_read_and_the_local_one_wins(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = clean_env / "home"
    home.mkdir()
    (home / ".env").write_text("KEEL_WORKERS=7\nKEEL_SMTP_PORT=2600\n")
    monkeypatch.setenv("KEEL_HOME", str(home))
    assert (load_settings().workers, load_settings().smtp_port) == (7, 2600)

    (clean_env / ".env").write_text("KEEL_WORKERS=3\n")
    assert (load_settings().workers, load_settings().smtp_port) == (3, 2600)

    monkeypatch.setenv("KEEL_WORKERS", "9")
    assert load_settings().workers == 9
