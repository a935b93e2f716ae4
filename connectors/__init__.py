"""Keel's execution layer: connectors to the store and mail, with one typed error tree.

Each connector takes its I/O in (an ``httpx.Client``, an SMTP address, a sleep and a
clock), retries only retryable failures, and raises the errors of ``remote`` (re-exported
here, so a caller of a connector needs this package alone).
"""

from connectors.mail import MailConnector, SentMail
from connectors.shop import (
    Customer,
    InventoryLevel,
    LineItem,
    Order,
    Product,
    Refund,
    ShopConnector,
    Variant,
)
from remote.base import BreakerPolicy, HttpConnector, RetryPolicy
from remote.errors import (
    BadRequest,
    CircuitOpen,
    ConnectorError,
    NotFound,
    PermanentError,
    TransientError,
    Unauthorized,
    Unprocessable,
)
from remote.ratelimit import RateLimit

__all__ = [
    "BadRequest",
    "BreakerPolicy",
    "CircuitOpen",
    "ConnectorError",
    "Customer",
    "HttpConnector",
    "InventoryLevel",
    "LineItem",
    "MailConnector",
    "NotFound",
    "Order",
    "PermanentError",
    "Product",
    "RateLimit",
    "Refund",
    "RetryPolicy",
    "SentMail",
    "ShopConnector",
    "TransientError",
    "Unauthorized",
    "Unprocessable",
    "Variant",
]
