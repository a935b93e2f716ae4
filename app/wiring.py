"""The composition root: one place that builds connectors and the runtime from settings.

What drives runs (LangGraph, the connectors, the model clients) is imported where it is
built, so a read-only command (`open_reads`) starts without loading any of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph import RUN_STORE, Authority, Clock, Policy, Reads, Store, SystemClock, load_policy

from .home import prepare_home
from .settings import Settings, SettingsError

if TYPE_CHECKING:
    from graph import Runtime, Services
    from graph.assistant import Assistant
    from graph.remembering import MemoryKeeper
    from graph.router import Router
    from memory import Embedder, MemoryStore


def load_rules(settings: Settings) -> Policy:
    """The policy in force (see `Settings.policy_path`); PolicyError names what is broken."""
    return load_policy(settings.policy_path())


def open_reads(settings: Settings, policy: Policy | None = None) -> Reads:
    """Runs, events and what waits on whom, straight from the run store: no LangGraph, no
    connectors (close with `reads.store.close()`)."""
    policy = policy or load_rules(settings)
    prepare_home(settings.home)
    clock = SystemClock()
    store = Store.open(settings.home / RUN_STORE, clock)
    return Reads(store, Authority(policy), clock)


def build_services(settings: Settings) -> Services:
    from connectors import MailConnector, RateLimit, RetryPolicy, ShopConnector
    from graph import Services

    retry = RetryPolicy(attempts=settings.retry_attempts)
    shop = ShopConnector.connect(
        str(settings.store_url),
        settings.store_token.get_secret_value(),
        timeout=settings.http_timeout,
        retry=retry,
        rate_limit=RateLimit(
            per_second=settings.store_rate_limit, burst=max(1, int(settings.store_rate_limit * 5))
        ),
    )
    mail = MailConnector(
        settings.smtp_host,
        settings.smtp_port,
        settings.mail_from,
        timeout=settings.http_timeout,
        retry=retry,
    )
    return Services(shop=shop, mail=mail)


def open_runtime(
    settings: Settings,
    *,
    workers: int = 0,
    clock: Clock | None = None,
    services: Services | None = None,
    policy: Policy | None = None,
) -> Runtime:
    """The runtime over `settings.home`; a broken policy raises PolicyError before anything runs."""
    from graph import Runtime

    policy = policy or load_rules(settings)
    prepare_home(settings.home)
    runtime = Runtime.open(
        settings.home,
        services=services or build_services(settings),
        policy=policy,
        clock=clock,
        workers=workers,
    )
    runtime.router = build_router(settings, runtime)
    try:
        runtime.memory = open_memory(settings, runtime)
    except BaseException:
        runtime.close()
        raise
    return runtime


MEMORY_FILE = "memory.db"


def build_embedder(settings: Settings) -> Embedder:
    """The offline hashing embedder (the default), or a hosted one when a URL is set."""
    if settings.embeddings_url is None:
        from memory import HashingEmbedder

        return HashingEmbedder(settings.embeddings_dim)
    from connectors import RetryPolicy
    from memory.hosted import HostedEmbedder

    key = settings.embeddings_api_key
    return HostedEmbedder(
        str(settings.embeddings_url),
        model=settings.embeddings_model,
        dim=settings.embeddings_dim,
        flavour=settings.embeddings_api,
        api_key=key.get_secret_value() if key else None,
        timeout=settings.http_timeout,
        retry=RetryPolicy(attempts=settings.retry_attempts),
    )


def open_memory(
    settings: Settings, runtime: Runtime | None = None, *, embedder: Embedder | bool | None = True
) -> MemoryStore:
    """Long-term memory in KEEL_HOME/memory.db. Erasures and purges are audited in the
    runtime's event log. `embedder=None` opens it for forget, stats and reindex without
    checking its vectors; True (the default) uses the configured embedder."""
    from memory import EmbedderMismatch, MemoryStore, MemoryUnavailable

    def audit(kind: str, data: dict[str, Any]) -> None:
        if runtime is not None:
            runtime.store.append_event(None, kind, actor=data.get("by") or "memory", data=data)

    chosen = build_embedder(settings) if embedder is True else embedder or None
    policy = runtime.policy if runtime is not None else load_rules(settings)
    try:
        return MemoryStore(
            settings.home / MEMORY_FILE,
            chosen,
            retention=policy.memory.retention,
            clock=(runtime.clock if runtime else SystemClock()).now,
            audit=audit,
        )
    except (EmbedderMismatch, MemoryUnavailable) as exc:
        raise SettingsError(str(exc)) from exc


def build_keeper(runtime: Runtime) -> MemoryKeeper:
    """What writes the event log into memory, summarising with Claude when a key is set
    (the cheap model first) and extractively otherwise."""
    from graph.remembering import MemoryKeeper, model_summariser

    assert runtime.memory is not None and runtime.router is not None
    return MemoryKeeper(
        runtime.store,
        runtime.memory,
        fold_after=runtime.policy.memory.fold_after,
        summariser=model_summariser(runtime.router, runtime.policy),
        currency=runtime.policy.currency,
    )


def build_router(settings: Settings, runtime: Runtime) -> Router:
    """Claude (strong and cheap) when an API key is set; the offline model always behind them.

    The endpoint follows the SDK's own ANTHROPIC_BASE_URL.
    """
    from connectors.offline import OfflineModel
    from graph.router import Router
    from memory import HashingEmbedder

    models = runtime.policy.models
    strong = cheap = None
    if settings.anthropic_api_key is not None:
        from connectors.anthropic import AnthropicModel

        key = settings.anthropic_api_key.get_secret_value()
        url = str(settings.anthropic_base_url).rstrip("/") if settings.anthropic_base_url else None
        strong, cheap = (
            AnthropicModel(name, api_key=key, base_url=url, max_retries=settings.model_retries)
            for name in (models.strong, models.cheap)
        )
    return Router(
        store=runtime.store,
        clock=runtime.clock,
        models=models,
        offline=OfflineModel(HashingEmbedder()),
        strong=strong,
        cheap=cheap,
    )


def build_assistant(runtime: Runtime, *, execute: bool = True) -> Assistant:
    from graph.assistant import Assistant

    assert runtime.router is not None, "open the runtime with open_runtime()"
    return Assistant(runtime, runtime.router, execute=execute)
