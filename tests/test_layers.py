"""Imports point one way (app → bot, tui → graph → connectors, memory → remote): read from
the source with ast, so a new import against the arrows fails here, not in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("app", "bot", "tui", "graph", "connectors", "memory", "remote")
NEVER: dict[str, set[str]] = {
    "bot": {"app", "tui", "connectors", "memory", "langgraph"},
    "tui": {"app", "bot", "connectors", "memory", "langgraph"},
    "graph": {"app", "bot", "tui"},
    "connectors": {"app", "bot", "tui", "graph", "memory"},
    "memory": {"app", "bot", "tui", "graph", "connectors"},
    "remote": {"app", "bot", "tui", "graph", "connectors", "memory"},
}


SURFACES = ("bot", "tui")
"""They talk to the runtime and read its views, never to the run store itself."""


def imported(path: Path) -> set[str]:
    """The top-level names of every module `path` imports (relative imports stay inside)."""
    return {module.split(".")[0] for module, _ in imports(path)}


def imports(path: Path) -> set[tuple[str, str | None]]:
    """(module, name) for each import in `path`: `import a.b` is ("a.b", None)."""
    found: set[tuple[str, str | None]] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name, None) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {(node.module, alias.name) for alias in node.names}
    return found


@pytest.mark.parametrize("package", sorted(NEVER))
def test_a_package_imports_nothing_against_the_arrows(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported(path) & NEVER[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {path: names for path, names in wrong.items() if names} == {}


@pytest.mark.parametrize("surface", SURFACES)
def test_a_surface_never_opens_the_run_store(surface: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            f"{module}.{name}" if name else module
            for module, name in imports(path)
            if module.startswith("graph.store") or (module == "graph" and name == "Store")
        )
        for path in sorted((ROOT / surface).rglob("*.py"))
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_check_sees_imports_inside_functions_too(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from graph import Store\n    import langgraph.types\n")
    assert imported(module) == {"graph", "langgraph"}
    assert imports(module) == {("graph", "Store"), ("langgraph.types", None)}


def test_every_package_is_ruled() -> None:
    found = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} - {"tests", "bench"}
    assert found == set(OURS) == set(NEVER) | {"app"}
