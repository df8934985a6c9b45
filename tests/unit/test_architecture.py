"""The shape of the house, checked on the source: refcli's modules import each other without a
circle (counting imports inside functions, which still tie two modules together), no module
imports another's private names, and no per-person feature is named outside its own module
where the registry is meant to be iterated."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

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


FEATURE_NAMES = ("features.faces", "features.pose", "features.colors", "features.motion", "FaceEncoder",
                 "PoseEstimator", "clothing_colours", "velocities", "ClothingColours", "SeenFaces", "PoseCues",
                 "MotionCues", "Keypoints", "keypoints", "upper_colours", "lower_colours", '"faces"', '"poses"',
                 "face_traits", "FaceTraits", "FaceReader",
                 '"colours"', '"motion"', '"pose"')


def code_of(path: str) -> str:
    """A module's source without its docstrings and comments (they may name examples)."""
    tree = ast.parse((PACKAGE / path).read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body.pop(0)
    return ast.unparse(tree).replace("'", '"')


@pytest.mark.parametrize("path", ["track.py", "index/file_run.py", "index/local.py", "index/run.py",
                                  "index/writer.py", "executors/ray_cluster.py", "query/assembly.py",
                                  "query/cues.py", "query/pixels.py", "store/content.py", "store/store.py"])
def test_the_stages_name_no_feature(path: str) -> None:
    """The track builder, the index, the store's content rows and request assembly iterate
    refcli.features; a new feature must not need them changed."""
    code = code_of(path)
    for name in FEATURE_NAMES:
        assert name not in code, (path, name)
