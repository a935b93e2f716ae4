"""What a business process declares so the runtime can run it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langgraph.graph import StateGraph
from pydantic import BaseModel

from .policy import Policy
from .services import Services

if TYPE_CHECKING:
    from .steps import RunContext

Compensation = Callable[[Services, dict[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class Workflow:
    name: str
    version: int
    input_model: type[BaseModel]
    build: Callable[[], StateGraph[Any, RunContext, Any, Any]]
    """The graph, uncompiled; the runtime compiles it with its checkpointer."""
    prepare: Callable[[Services, Policy, Any], BaseModel]
    """Check the input against the world before any run exists (raises InvalidInput)."""
    compensations: Mapping[str, Compensation] = field(default_factory=dict)
    """Undo actions by name, for the effects this workflow registers compensations for."""
    describe: Callable[[dict[str, Any]], str] = lambda _input: ""
    """A one-line summary of a run's input, for lists."""
    exclusive_on: str | None = None
    """An input field (e.g. ``order_id``): at most one unfinished run of this workflow per
    value, so two refunds of one order never wait for approval side by side."""
