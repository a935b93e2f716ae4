"""graph's public names: each one resolves, and the reading side loads no LangGraph."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import graph


def test_every_public_name_resolves_to_the_module_that_defines_it() -> None:
    assert set(graph._HOME) == set(graph.__all__)
    for name in graph.__all__:
        value = getattr(graph, name)
        assert value is getattr(sys.modules[graph._HOME[name].replace(".", "graph.", 1)], name)
    assert sorted(dir(graph)) == sorted(graph.__all__)


def test_a_name_graph_does_not_export_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nothing'"):
        graph.Nothing  # noqa: B018


def test_reading_names_load_neither_langgraph_nor_the_connectors() -> None:
    probe = (
        "import sys, json\n"
        "from graph import Reads, RunDetail, Store, RunStatus, Policy, load_policy, Authority\n"
        "print(json.dumps([m for m in ('langgraph', 'connectors', 'httpx') if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
