"""The composition root: one place that builds connectors and the runtime from settings."""

from __future__ import annotations

from connectors import MailConnector, RateLimit, RetryPolicy, ShopConnector
from graph import Clock, Policy, Runtime, Services, load_policy

from .settings import Settings


def build_services(settings: Settings) -> Services:
    retry = RetryPolicy(attempts=settings.retry_attempts)
    shop = ShopConnector.connect(
        str(settings.store_url), settings.store_token.get_secret_value(),
        timeout=settings.http_timeout, retry=retry,
        rate_limit=RateLimit(per_second=settings.store_rate_limit,
                             burst=max(1, int(settings.store_rate_limit * 5))),
    )
    mail = MailConnector(settings.smtp_host, settings.smtp_port, settings.mail_from,
                         timeout=settings.http_timeout, retry=retry)
    return Services(shop=shop, mail=mail)


def open_runtime(
    settings: Settings, *, workers: int = 0, clock: Clock | None = None,
    services: Services | None = None, policy: Policy | None = None,
) -> Runtime:
    """The runtime over `settings.home`; a broken policy raises PolicyError before anything runs."""
    policy = policy or load_policy(settings.policy)
    return Runtime.open(settings.home, services=services or build_services(settings),
                        policy=policy, clock=clock, workers=workers)
