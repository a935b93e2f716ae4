"""A local stand-in for the shop's store API and mail server, with fault injection and a ledger."""

from .db import EffectKind
from .faults import FaultSettings
from .service import Sandbox, serve

__all__ = ["EffectKind", "FaultSettings", "Sandbox", "serve"]
