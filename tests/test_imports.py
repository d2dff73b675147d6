"""The import graph of safelog modules (12.2): no cycles, function-level imports counted."""

from __future__ import annotations

import ast

from pathlib import Path


SRC = Path(__file__).resolve().parents[1] / "src" / "safelog"

#: Cycles tolerated in the tree: none are left (issue 12). Kept as a set so a
#: cycle accepted on purpose must be named here; any other cycle fails.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that can run: the body of ``if TYPE_CHECKING:`` never does."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if _is_type_checking(node):
            assert isinstance(node, ast.If)
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the safelog modules it imports anywhere (top level or in a function)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_nodes(ast.parse(path.read_bytes())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                targets = [module, *(f"{module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            # The package itself is every submodule's parent: not an edge.
            graph[name].update(t for t in targets if t in mods and t not in (name, "safelog"))
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.add(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


class TestImportGraph:
    def test_the_graph_sees_function_level_imports(self) -> None:
        """A function-level import is an edge: the graph would see a hidden cycle."""
        graph = import_graph()
        assert "safelog._pyproject" in graph["safelog.check.files"]
        # A type-only import never runs, so it cannot take part in a cycle.
        assert "safelog._chain" not in graph["safelog._state"]
        assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == {frozenset({"a", "b"})}

    def test_no_new_cycles(self) -> None:
        """No import cycle beyond the known ones; names of code have none (12.2)."""
        found = cycles(import_graph())
        assert found - KNOWN_CYCLES == set()
        names = {"safelog._names", "safelog._sources", "safelog._callsite", "safelog.tracebacks"}
        assert not any(c & names for c in found)

    def test_known_cycles_are_still_there(self) -> None:
        """A known cycle that is gone must be removed from KNOWN_CYCLES (the list only shrinks)."""
        assert KNOWN_CYCLES - cycles(import_graph()) == set()
