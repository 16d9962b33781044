"""The project's import graph, read from the source: which module imports which, and where.

An import of ``a.b.c`` runs ``a/__init__``, ``a/b/__init__`` and ``a/b/c`` in turn, so it is an arrow to
each of them, except to the importer's own packages: those are already being initialised by the time
the importer runs. Imports inside functions run on call and are kept apart; imports under
``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGES = ("edge_agent", "drivers", "provisioning")


def module_files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[tuple[str, ast.Import | ast.ImportFrom]]:
    found: list[tuple[str, ast.Import | ast.ImportFrom]] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((where, child))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, "function")
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), where)
            else:
                visit(child, where)

    visit(tree, "module")
    return found


def _targets(name: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        wanted = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = name.split(".") if is_package else name.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        wanted = [base] + [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
    reached = {".".join(full.split(".")[:end]) for full in wanted for end in range(1, full.count(".") + 2)}
    own = {".".join(name.split(".")[:end]) for end in range(1, name.count(".") + 1)}
    if is_package:
        own.add(name)
    return {target for target in reached if target in known and target not in own}


def import_graph(root: Path, *, with_calls: bool) -> dict[str, set[str]]:
    """Module -> the project modules it imports at import time (and on call, ``with_calls``)."""
    files = module_files(root)
    known = set(files)
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in files.items():
        graph.setdefault(name, set())
        for where, node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if where == "module" or with_calls:
                graph[name] |= _targets(name, path.name == "__init__.py", node, known)
    return dict(graph)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [component for component in found if len(component) > 1]
