"""Settings from the environment and `.env`, validated once at start with one clear message."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, HttpUrl, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SANDBOX_STORE_URL = "http://127.0.0.1:8765"
SANDBOX_TOKEN = "sandbox"
SLACK_API_URL = "https://slack.com/api/"
VOYAGE_DIMENSIONS = (256, 512, 1024, 2048)


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


class SettingsError(Exception):
    """A setting that cannot be used; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KEEL_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        use_attribute_docstrings=True,
        frozen=True,
    )

    home: Path = Path(".keel")
    """Data folder, readable by you alone: the run store, checkpoints, memory, logs and the
    sandbox's database. A `.env` in it is read too (`keel init` writes one)."""
    policy: Path | None = None
    """The business rules: thresholds, approvers, escalation, budgets. Unset: ./policy.toml,
    else policy.toml in KEEL_HOME (`keel init` writes one)."""
    user: str = Field(default_factory=default_user, min_length=1)
    """Who you are when you use the CLI and the terminal app (`--as` overrides it): a person
    in policy.toml's [people]."""

    store_url: HttpUrl = HttpUrl(SANDBOX_STORE_URL)
    """The store's Admin API; the default is the local sandbox, which `keel up` starts."""
    store_token: SecretStr = SecretStr(SANDBOX_TOKEN)
    """Access token sent as X-Shopify-Access-Token."""
    store_rate_limit: float = Field(default=2.0, gt=0, le=10_000)
    """Requests per second to the store (Shopify's REST limit is 2/s per store)."""
    smtp_host: str = "127.0.0.1"
    """Outgoing mail server (the sandbox's SMTP sink by default)."""
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    """Its port."""
    mail_from: str = Field(default="Keel Shop <shop@example.com>", min_length=3)
    """The From: of customer email."""
    http_timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds before a connector call times out."""
    retry_attempts: int = Field(default=5, ge=1, le=20)
    """Tries per connector call on retryable errors, the first included."""
    workers: int = Field(default=4, ge=1, le=64)
    """Runs driven at once by `keel serve` / `keel up`."""
    demo: bool = True
    """On the embedded default, `keel up` plays a small shop's day of refund requests."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """How much the server logs besides its live event log."""

    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN")
    )
    """xoxb-… token of the Slack app; when set, `keel up` / `keel serve` run the Slack bot."""
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    """Verifies Slack's signed requests in HTTP mode (optional)."""
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN")
    )
    """xapp-… token; when set the bot uses Socket Mode, else HTTP mode
    (`keel serve --http PORT`)."""
    slack_api_url: HttpUrl = Field(
        default=HttpUrl(SLACK_API_URL), validation_alias=AliasChoices("SLACK_API_URL")
    )
    """Slack's Web API; point it at a Slack-compatible gateway or a test double."""
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY")
    )
    """Claude for the assistant (optional); without it the deterministic offline model answers,
    and says so."""
    anthropic_base_url: HttpUrl | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL")
    )
    """Another Messages API endpoint (the SDK's own variable; default: Anthropic's)."""
    model_retries: int = Field(default=2, ge=0, le=10)
    """The Anthropic SDK's retries for 429/529/5xx before the router falls back."""
    embeddings_url: HttpUrl | None = None
    """An embeddings API for long-term memory (e.g. https://api.voyageai.com/v1/embeddings);
    unset, the offline hashing embedder makes the vectors."""
    embeddings_api_key: SecretStr | None = None
    """Its key, sent as a Bearer token."""
    embeddings_api: Literal["voyage", "openai"] = "voyage"
    """Which API's request it speaks (they name the dimension differently)."""
    embeddings_model: str = Field(default="voyage-3.5-lite", min_length=1)
    """The hosted embedding model."""
    embeddings_dim: int = Field(default=384, ge=8, le=4096)
    """Dimensions of memory's vectors. Changing it, the URL or the model needs
    `keel memory reindex`. Voyage's models make 256, 512, 1024 or 2048."""

    @model_validator(mode="after")
    def _voyage_dimensions(self) -> Self:
        if (
            self.embeddings_url is not None
            and self.embeddings_api == "voyage"
            and self.embeddings_dim not in VOYAGE_DIMENSIONS
        ):
            raise ValueError(
                f"KEEL_EMBEDDINGS_DIM={self.embeddings_dim}: Voyage's models make"
                f" {', '.join(map(str, VOYAGE_DIMENSIONS))} dimensions; set one of those"
                " (or KEEL_EMBEDDINGS_API=openai for an OpenAI-style API)"
            )
        return self

    @property
    def uses_sandbox(self) -> bool:
        """True when the store URL is the local sandbox's default address."""
        ours, default = urlsplit(str(self.store_url)), urlsplit(SANDBOX_STORE_URL)
        return (ours.hostname in ("127.0.0.1", "localhost")) and ours.port == default.port

    def policy_places(self) -> list[tuple[str, Path]]:
        """Where policy.toml is looked for, in order, each with how a person names the place."""
        if self.policy is not None:
            return [("KEEL_POLICY", self.policy.absolute())]
        return [
            ("./policy.toml", Path("policy.toml").absolute()),
            ("KEEL_HOME/policy.toml", (self.home / "policy.toml").absolute()),
        ]

    def policy_path(self) -> Path:
        """The policy file in force; SettingsError naming every place looked at when none is."""
        places = self.policy_places()
        found = next((path for _, path in places if path.is_file()), None)
        if found is not None:
            return found
        looked = " and ".join(f"{name} ({path})" for name, path in places)
        unset = "" if self.policy is not None else "KEEL_POLICY (unset), "
        raise SettingsError(
            f"no policy.toml found: looked at {unset}{looked}; `keel init DIR`"
            " creates a home with a commented one"
        )

    @property
    def sandbox_port(self) -> int:
        return urlsplit(str(self.store_url)).port or 80


def env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"KEEL_{field.upper()}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, `./.env` and the home's own `.env` (the environment
    wins, then ./.env); a bad value raises SettingsError naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        home_env = settings.home / ".env"
        if home_env.is_file():
            settings = Settings(_env_file=(home_env, ".env"), **overrides)  # type: ignore[arg-type]
        return settings
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if not err["loc"]:  # a rule across settings: its message names them
                lines.append(err["msg"].removeprefix("Value error, "))
                continue
            got = err.get("input")
            shown = "" if got is None or isinstance(got, dict) else f" (got {str(got)[:60]!r})"
            lines.append(f"{env_name(str(err['loc'][0]))}: {err['msg']}{shown}")
        raise SettingsError("invalid setting " + "; ".join(lines)) from None


def env_example() -> str:
    """The text of `.env.example`: every variable with its description and default."""
    lines = [
        "# Keel's settings. Copy to .env (here, or in KEEL_HOME) and change what you need;",
        "# every line is optional. Environment variables win over ./.env, which wins over",
        "# KEEL_HOME/.env. Invalid values stop start-up with a message naming the variable.",
        "",
    ]
    for name, info in Settings.model_fields.items():
        default = (
            info.get_default(call_default_factory=False) if info.default_factory is None else None
        )
        shown = (
            "" if default is None else getattr(default, "get_secret_value", lambda d=default: d)()
        )
        shown = str(shown).lower() if isinstance(shown, bool) else str(shown).rstrip("/")
        lines += [f"# {line}" for line in (info.description or "").strip().splitlines()]
        if info.default_factory is not None:
            lines.append("# Default: your login name.")
        lines += [f"# {env_name(name)}={shown}", ""]
    return "\n".join(lines)
