"""The package's modules import one another without a cycle: every
``from . import`` and ``from .x import`` (at module level or inside a function,
leaving out ``if TYPE_CHECKING:`` blocks) is an edge, and the graph has no
strongly connected component of more than one module. In particular the
backbone registry names backbones and the families add themselves to its table
(``_backbones`` -> ``image._timm`` -> ``_backbone_table``, never back)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "sktransfer"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_only(tree) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip or not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("sktransfer"):
                target = node.module
            else:
                continue
            for alias in node.names:
                if f"{target}.{alias.name}" in modules:
                    graph[name].add(f"{target}.{alias.name}")
            if node.module and target in modules:
                graph[name].add(target)
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
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


def test_the_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "sktransfer.image._timm" in graph["sktransfer._backbones"]
    assert "sktransfer._backbone_table" in graph["sktransfer.image._timm"]


def test_no_module_imports_itself_through_others():
    assert cycles(import_graph()) == []


def _package_of(module: str) -> str:
    """The first-level part a module belongs to: ``sktransfer.finetune._core`` ->
    ``sktransfer.finetune``; top-level modules each count as their own."""
    return ".".join(module.split(".")[:2])


def private_reach_ins() -> list[str]:
    """Private names (``_x``) one part of the package imports from another part."""
    modules = _modules()
    found = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if f"{target}.{alias.name}" in modules:
                    continue  # a module, not a name
                if private and _package_of(target) != _package_of(name):
                    found.append(f"{name} imports {target}.{alias.name}")
    return found


# The seams other parts use instead of a fine-tuner's, an embedder's or the
# cache's private methods.
PRIVATE_CALLS = ("._train(", "._dataset(", "._run(", "._reopen(")


def test_no_part_imports_another_parts_private_names():
    assert private_reach_ins() == []


def test_no_part_calls_the_private_methods_the_seams_replace():
    calls = [
        f"{path.relative_to(PACKAGE.parent)}: {call}"
        for path in PACKAGE.rglob("*.py")
        for call in PRIVATE_CALLS
        if call in path.read_text(encoding="utf-8")
    ]
    assert calls == []
