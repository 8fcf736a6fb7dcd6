"""The packages' import graph, read from the source with ``ast``: DESIGN.md's layering holds.

``engine`` imports nothing above it, ``connectors`` neither ``web`` nor ``mlc``, ``web`` not
``mlc`` (the composition root passes what ``web`` needs in); no circle between packages,
between the modules directly under a package, or between any modules; nothing private (``_name``) is imported from
another package. Imports under ``if TYPE_CHECKING:`` are annotations only and do not count;
imports inside functions do.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lowest first: a package may import only the packages before it.
LAYERS = ("engine", "connectors", "web", "mlc")


@dataclass(frozen=True)
class Edge:
    source: str  # the importing module, dotted
    target: str  # the imported module (or package), dotted
    name: str | None  # the name taken with ``from target import name``
    where: str  # path:line, for the failure message


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, skipping the bodies of ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _edges() -> list[Edge]:
    edges = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            source = _module_name(path)
            package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
            where = f"{path.relative_to(ROOT)}"
            for node in _imports(ast.parse(path.read_text(), str(path))):
                at = f"{where}:{node.lineno}"
                if isinstance(node, ast.Import):
                    edges.extend(Edge(source, alias.name, None, at) for alias in node.names)
                    continue
                base = package[:len(package) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                edges.extend(Edge(source, target, alias.name, at) for alias in node.names)
    return [e for e in edges if e.target.split(".")[0] in LAYERS]


EDGES = _edges()


def _unit(dotted: str) -> str:
    """The node a module belongs to: ``engine.bpmn.runner`` -> ``engine.bpmn`` (a sub-package),
    ``engine.facade`` -> ``engine.facade`` (a module directly under a package)."""
    parts = dotted.split(".")
    if len(parts) == 1:
        return parts[0]
    head = ROOT.joinpath(*parts[:2])
    if head.is_dir() or head.with_suffix(".py").is_file():
        return ".".join(parts[:2])
    return parts[0]  # ``from engine import Engine``: a name re-exported by the package


def _edge_units(edge: Edge) -> tuple[str, str]:
    target = edge.target
    if edge.name and "." not in target:  # ``from engine import bpmn`` may name a module
        candidate = f"{target}.{edge.name}"
        if _unit(candidate) == candidate:
            target = candidate
    return _unit(edge.source), _unit(target)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_the_source():
    pairs = {(e.source, e.target) for e in EDGES}
    assert ("mlc.serve", "web") in pairs  # an import inside a function counts
    assert ("engine.unit_of_work", "engine.services") not in pairs  # TYPE_CHECKING does not
    assert {e.source.split(".")[0] for e in EDGES} == set(LAYERS)


def test_no_package_imports_a_package_above_it():
    upward = [f"{e.where}: {e.source} imports {e.target}" for e in EDGES
              if LAYERS.index(e.target.split(".")[0]) > LAYERS.index(e.source.split(".")[0])]
    assert upward == []


def test_no_circle_between_packages_or_between_a_packages_modules():
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in EDGES:
        source, target = _edge_units(edge)
        if source != target and target != source.split(".")[0]:
            graph[source].add(target)
    assert _cycles(graph) == []


def test_no_circle_between_modules():
    """The stricter form: not even a function-level import closes a circle of modules (the
    FEEL built-ins and the evaluator, DMN definitions and evaluation used to)."""
    modules = {_module_name(path) for layer in LAYERS for path in (ROOT / layer).rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in EDGES:
        target = edge.target
        if edge.name and f"{target}.{edge.name}" in modules:
            target = f"{target}.{edge.name}"
        if target in modules and target != edge.source:
            graph[edge.source].add(target)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_private_is_imported_from_another_package():
    """``a.b._c`` (or ``from a.b import _c``) is for ``a.b`` and what lies inside it."""
    found = []
    for edge in EDGES:
        parts = edge.target.split(".") + ([edge.name] if edge.name else [])
        for i, part in enumerate(parts):
            owner = ".".join(parts[:i])
            if part.startswith("_") and not part.startswith("__") and not (
                    edge.source == owner or edge.source.startswith(owner + ".")):
                found.append(f"{edge.where}: {edge.source} imports {'.'.join(parts)}")
                break
    assert found == []
