"""Which function answers which method and path, for the admin API and the control plane."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from . import admin, control
from .wire import Call, Context, Request, Response

ADMIN_PREFIX = "/admin/api/2024-10"
CONTROL_PREFIX = "/_sandbox"

AdminHandler = Callable[[Call], Response]
ControlHandler = Callable[[Context, Request], Response]
H = TypeVar("H")


@dataclass(frozen=True)
class Route(Generic[H]):
    """A method and a path pattern (named groups become path params) and what answers them."""

    method: str
    pattern: re.Pattern[str]
    handler: H


@dataclass(frozen=True)
class Match(Generic[H]):
    """The route that answers a request, or, when none does for its method, the methods allowed."""

    route: Route[H] | None
    params: dict[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()


def _route(method: str, prefix: str, path: str, handler: H) -> Route[H]:
    return Route(method, re.compile(re.escape(prefix) + path), handler)


_ORDER = r"/orders/(?P<order_id>[^/]+)"

ADMIN: tuple[Route[AdminHandler], ...] = (
    _route("GET", ADMIN_PREFIX, r"/orders\.json", admin.list_orders),
    _route("GET", ADMIN_PREFIX, _ORDER + r"\.json", admin.get_order),
    _route("GET", ADMIN_PREFIX, _ORDER + r"/refunds\.json", admin.list_refunds),
    _route("POST", ADMIN_PREFIX, _ORDER + r"/refunds\.json", admin.create_refund),
    _route(
        "POST",
        ADMIN_PREFIX,
        _ORDER + r"/refunds/(?P<refund_id>[^/]+)/void\.json",
        admin.void_refund,
    ),
    _route("POST", ADMIN_PREFIX, r"/inventory_levels/adjust\.json", admin.adjust_inventory),
    _route("GET", ADMIN_PREFIX, r"/inventory_levels\.json", admin.inventory_levels),
    _route("GET", ADMIN_PREFIX, r"/products\.json", admin.list_products),
)

CONTROL: tuple[Route[ControlHandler], ...] = (
    _route("GET", CONTROL_PREFIX, "/health", control.health),
    _route("GET", CONTROL_PREFIX, "/ledger", control.ledger),
    _route("GET", CONTROL_PREFIX, "/faults", control.get_faults),
    _route("PUT", CONTROL_PREFIX, "/faults", control.put_faults),
    _route("DELETE", CONTROL_PREFIX, "/faults", control.clear_faults),
    _route("GET", CONTROL_PREFIX, "/mail", control.mail),
    _route("POST", CONTROL_PREFIX, "/reset", control.reset),
)


def resolve(routes: Sequence[Route[H]], method: str, path: str) -> Match[H] | None:
    """The route for this method and path; None when no route has the path (a 404)."""
    allowed: list[str] = []
    for route in routes:
        found = route.pattern.fullmatch(path)
        if found is None:
            continue
        if route.method == method:
            return Match(route, found.groupdict())
        allowed.append(route.method)
    return Match(None, allowed=tuple(allowed)) if allowed else None
