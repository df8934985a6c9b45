"""The shape of the house, checked on the source: refcli's modules import each other without a
circle (counting imports inside functions, which still tie two modules together), no module
imports another's private names, and no per-person feature is named outside its own module
where the registry is meant to be iterated."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "refcli"


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, in functions and classes too, except under ``if TYPE_CHECKING``."""
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _imports(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                yield from _imports([c for c in children if isinstance(c, ast.stmt | ast.excepthandler)])


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """module -> the refcli modules it imports; and (module, name) for private names it imports."""
    known = modules()

    def owner(name: str) -> str:
        while name not in known:
            name = name.rpartition(".")[0]
        return name

    edges: dict[str, set[str]] = {m: set() for m in known}
    private = []
    for module, path in known.items():
        for node in _imports(ast.parse(path.read_text()).body):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("refcli"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    edges[module].add(full if full in known else owner(node.module))
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append((module, full))
            elif isinstance(node, ast.Import):
                edges[module].update(owner(a.name) for a in node.names if a.name.startswith("refcli"))
        edges[module].discard(module)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_circle() -> None:
    edges, _ = import_graph()
    assert cycles(edges) == []


def test_no_module_imports_another_modules_private_names() -> None:
    _, private = import_graph()
    assert private == []


def test_the_track_builder_and_the_index_name_no_feature() -> None:
    """They iterate refcli.features; a new feature must not need them changed."""
    for path in ("track.py", "index/file_run.py", "index/local.py", "index/run.py", "executors/ray_cluster.py"):
        source = (PACKAGE / path).read_text()
        for name in ("features.faces", "features.pose", "features.colors", "features.motion", "FaceEncoder",
                     "PoseEstimator", "clothing_colours", "velocities"):
            assert name not in source, (path, name)
