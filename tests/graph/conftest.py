"""The runtime tests use the shared fixtures in tests/conftest.py and the helpers in
tests/support.py."""

from ..support import FAST_RETRY, POLICY, counts, orders

__all__ = ["FAST_RETRY", "POLICY", "counts", "orders"]
