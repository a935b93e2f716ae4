"""`keel doctor`: what Keel would use here (home, policy, you, store, mail, Slack, model,
embedder) and whether each works: reachable, authorised, private.

Every check makes at most one short call to its service and never changes anything
there (the store is asked for one order, mail gets EHLO and QUIT, Slack `auth.test`,
the model a token count, the embedder one text).
"""

from __future__ import annotations

import smtplib
import stat
from dataclasses import asdict, dataclass
from typing import Literal

from .home import exposed, problem
from .settings import Settings, SettingsError

Outcome = Literal["ok", "warn", "off", "fail"]
MARK = {"ok": "✓", "warn": "!", "off": "-", "fail": "✗"}
CHECK_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    uses: str
    """What Keel would use, as a person would name it."""
    outcome: Outcome
    detail: str
    code: int = 0
    """The exit code this check asks for when it fails (2 configuration, 5 unreachable)."""


def _printable(text: object) -> str:
    """One line without control characters: a service's answer is shown, never obeyed."""
    return "".join(ch if ch.isprintable() else " " for ch in " ".join(str(text).split()))


def _home(settings: Settings) -> Check:
    home = settings.home.absolute()
    if not home.exists():
        return Check("home", str(home), "off", "not created yet; the first command makes it 0700")
    found = problem(home)
    if found is not None:  # a file, a database that is not one, one Keel may not open
        return Check("home", str(home), "fail", found, 2)
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        return Check(
            "home",
            str(home),
            "fail",
            f"mode {mode:04o}: other users can read customer"
            f" data; `chmod 700 {home}` (Keel tightens a home it owns when it opens it)",
            2,
        )
    opened = sorted(p.name for p in home.glob("*.db"))
    return Check(
        "home", str(home), "ok", f"private (0700); {', '.join(opened) or 'no databases yet'}"
    )


def _policy(settings: Settings) -> tuple[Check, Check, str]:
    """The policy's check, who you are in it, and its strong model (the default model when
    the policy cannot be read: its own check says why)."""
    from graph import PolicyError, UnknownPerson, load_policy
    from graph.policy import Models

    try:
        path = settings.policy_path()
        policy = load_policy(path)
    except (SettingsError, PolicyError) as exc:
        failed = Check("policy", "policy.toml", "fail", str(exc), 2)
        return (
            failed,
            Check("you", settings.user, "off", "no policy to find you in"),
            Models().strong,
        )
    people = f"{len(policy.people)} people; workflows: {', '.join(sorted(policy.workflows)) or '-'}"
    shown = (
        Check("policy", str(path), "warn", f"{people}; readable by other users: `chmod 600 {path}`")
        if exposed(path)
        else Check("policy", str(path), "ok", people)
    )
    try:
        who = policy.known_person(settings.user)
    except UnknownPerson as exc:
        you = Check("you", settings.user, "fail", f"{exc}; set KEEL_USER or use --as", 2)
        return shown, you, policy.models.strong
    roles = ", ".join(policy.roles_of(who)) or "no role: may ask for work, approves nothing"
    return shown, Check("you", who, "ok", roles), policy.models.strong


def _unreachable(settings: Settings, name: str, uses: str, why: str, starts: str) -> Check:
    if settings.uses_sandbox:  # the default: nothing is wrong until `keel up` should be running
        return Check(name, uses, "off", f"not running now ({why}); {starts}")
    return Check(name, uses, "fail", f"unreachable: {why}", 5)


def _store(settings: Settings) -> Check:
    from connectors import ConnectorError, RetryPolicy, ShopConnector, TransientError

    url = str(settings.store_url).rstrip("/")
    uses = f"{url} (the sandbox `keel up` starts)" if settings.uses_sandbox else url
    shop = ShopConnector.connect(
        url,
        settings.store_token.get_secret_value(),
        timeout=CHECK_TIMEOUT,
        retry=RetryPolicy(attempts=1),
    )
    try:
        orders = shop.list_orders(limit=1)
    except TransientError as exc:
        return _unreachable(
            settings, "store", uses, _printable(exc.detail), "`keel up` or `keel sandbox` starts it"
        )
    except ConnectorError as exc:
        refused = exc.status_code in (401, 403)
        return Check(
            "store",
            uses,
            "fail",
            (
                "not authorised: the store refused KEEL_STORE_TOKEN"
                if refused
                else f"answered with an error: {_printable(exc.detail)}"
            ),
            4 if refused else 5,
        )
    finally:
        shop.close()
    return Check("store", uses, "ok", f"reachable, token accepted ({len(orders)} order read)")


def _mail(settings: Settings) -> Check:
    uses = f"{settings.smtp_host}:{settings.smtp_port}" + (
        " (the sandbox's mail sink)" if settings.uses_sandbox else ""
    )
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=CHECK_TIMEOUT) as smtp:
            code, banner = smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        return _unreachable(
            settings,
            "mail",
            uses,
            _printable(exc) or type(exc).__name__,
            "`keel up` or `keel sandbox` starts it",
        )
    if code != 250:
        return Check("mail", uses, "fail", f"EHLO answered {code}", 5)
    server = _printable(banner.decode("utf-8", "replace").splitlines()[0]) if banner else ""
    return Check("mail", uses, "ok", f"reachable ({server or 'EHLO accepted'})")


def _slack(settings: Settings) -> Check:
    if settings.slack_bot_token is None:
        return Check("slack", "-", "off", "not configured (SLACK_BOT_TOKEN unset)")
    from slack_sdk.errors import SlackApiError

    from bot.app import web_client

    mode = "Socket Mode" if settings.slack_app_token else "HTTP mode"
    uses = f"{str(settings.slack_api_url).rstrip('/')} ({mode})"
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        return Check(
            "slack",
            uses,
            "fail",
            "HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)",
            2,
        )
    client = web_client(
        settings.slack_bot_token.get_secret_value(),
        str(settings.slack_api_url),
        retries=0,
        timeout=int(CHECK_TIMEOUT),
    )
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        error = _printable(exc.response.get("error", exc))
        return Check("slack", uses, "fail", f"not authorised: Slack said {error}", 4)
    except (OSError, ValueError) as exc:  # urllib's connection errors are OSErrors
        return Check("slack", uses, "fail", f"unreachable: {_printable(exc)}", 5)
    return Check(
        "slack",
        uses,
        "ok",
        f"authorised as {_printable(answer.get('user'))} in {_printable(answer.get('team'))}",
    )


def _model(settings: Settings, name: str) -> Check:
    if settings.anthropic_api_key is None:
        return Check(
            "model",
            "offline model",
            "ok",
            "deterministic, no ANTHROPIC_API_KEY; every reply is labelled [offline model]",
        )
    from connectors.anthropic import AnthropicModel
    from connectors.llm import Message, ModelBadRequest, ModelError

    url = str(settings.anthropic_base_url).rstrip("/") if settings.anthropic_base_url else None
    uses = f"{name} at {url or 'Anthropic'}"
    with AnthropicModel(
        name,
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=url,
        max_retries=0,
        timeout=CHECK_TIMEOUT,
    ) as model:
        try:
            model.count_tokens("", [Message.user("ping")], [])
        except ModelBadRequest as exc:
            refused = exc.status_code in (401, 403)
            return Check(
                "model",
                uses,
                "fail",
                (
                    "not authorised: the API refused ANTHROPIC_API_KEY"
                    if refused
                    else _printable(exc.detail)
                ),
                4 if refused else 2,
            )
        except ModelError as exc:
            return Check("model", uses, "fail", f"unreachable: {_printable(exc.detail)}", 5)
    return Check("model", uses, "ok", "reachable, key accepted (a token count; nothing billed)")


def _embedder(settings: Settings) -> Check:
    from memory import EmbeddingFailed

    from .wiring import build_embedder

    embedder = build_embedder(settings)
    hosted = settings.embeddings_url is not None
    uses = f"{embedder.name}" + (f" at {settings.embeddings_url}" if hosted else " (offline)")
    try:
        vector = embedder.embed("keel doctor")
    except EmbeddingFailed as exc:
        return Check("embedder", uses, "fail", _printable(exc), 5)
    finally:
        close = getattr(embedder, "close", None)
        if close is not None:
            close()
    return Check(
        "embedder", uses, "ok", f"{len(vector)} dimensions" + (", reachable" if hosted else "")
    )


def diagnose(settings: Settings) -> list[Check]:
    """Every check, in the order to fix what fails."""
    policy, you, model = _policy(settings)
    return [
        _home(settings),
        policy,
        you,
        _store(settings),
        _mail(settings),
        _slack(settings),
        _model(settings, model),
        _embedder(settings),
    ]


def exit_code(checks: list[Check]) -> int:
    """The first failed check's code (they are in the order to fix them), or 0."""
    return next((c.code for c in checks if c.outcome == "fail"), 0)


def report(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    return "\n".join(f"{MARK[c.outcome]} {c.name:<{width}}  {c.uses} — {c.detail}" for c in checks)


def as_data(checks: list[Check]) -> dict[str, object]:
    return {"ok": exit_code(checks) == 0, "checks": [asdict(c) for c in checks]}
