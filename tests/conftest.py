"""Shared pytest fixtures: the sandbox, real connectors over loopback, a runtime, a clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import BreakerPolicy, MailConnector, RateLimit, ShopConnector
from connectors.sandbox import Sandbox
from graph import ManualClock, Policy, Runtime, Services, parse_policy

from .support import FAST_RETRY, POLICY


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A seeded sandbox on ephemeral HTTP and SMTP ports, over a fresh SQLite file."""
    with Sandbox(tmp_path / "sandbox.db") as running:
        yield running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policy() -> Policy:
    return parse_policy(POLICY)


@pytest.fixture
def services(sandbox) -> Iterator[Services]:
    # A breaker that stays closed through one test's deliberate fault storms.
    shop = ShopConnector.connect(
        sandbox.url,
        sandbox.token,
        timeout=5,
        retry=FAST_RETRY,
        breaker=BreakerPolicy(fail_max=1000),
        rate_limit=RateLimit(per_second=10_000, burst=10_000),
    )
    mail = MailConnector(
        sandbox.smtp_host, sandbox.smtp_port, "shop@example.com", timeout=5, retry=FAST_RETRY
    )
    yield Services(shop=shop, mail=mail)
    shop.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def runtime(
    home: Path, services: Services, policy: Policy, clock: ManualClock
) -> Iterator[Runtime]:
    rt = Runtime.open(home, services=services, policy=policy, clock=clock)
    yield rt
    rt.close()
