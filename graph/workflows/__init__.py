"""The business processes Keel runs, one module each, registered by name."""

from __future__ import annotations

from ..workflow import Workflow
from .refund import WORKFLOW as REFUND

REGISTRY: dict[str, Workflow] = {wf.name: wf for wf in (REFUND,)}

__all__ = ["REGISTRY"]
