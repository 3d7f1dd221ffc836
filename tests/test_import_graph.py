"""The package's import graph, read from the source: every import statement, at module level or
inside a function, is an edge. No cycle, nothing but ``__main__`` imports the CLI, and no two
files share a name."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "affectcodec"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _lazy_tables(files: dict[str, Path]) -> dict[str, dict[str, str]]:
    """package -> its ``_LAZY`` table (name -> module) of PEP 562 lazy names."""
    tables = {}
    for name, path in files.items():
        if path.name != "__init__.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and getattr(node.targets[0], "id", None) == "_LAZY"):
                tables[name] = {k: v if v.startswith("affectcodec") else f"{name}.{v}"
                                for k, v in ast.literal_eval(node.value).items()}
    return tables


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules importing it executes (from any import statement in its
    source, at module level or inside a function).

    ``from P import N`` imports ``P.N`` when that is a module, the module a lazy name of ``P``
    loads (its ``_LAZY`` table), else ``P``; importing ``a.b.c`` also runs the packages ``a``
    and ``a.b``; a package that discovers its submodules (``pkgutil.iter_modules``) imports them,
    and a pass-through command (``add_passthrough(..., "module:function")``) its target.
    Imports under ``if TYPE_CHECKING:`` never run and do not count.
    """
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    lazy = _lazy_tables(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        source = path.read_text()
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        tree = ast.parse(source, str(path))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and getattr(block.test, "id", None) == "TYPE_CHECKING"
                       for n in ast.walk(block)}  # never executed
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name.startswith("affectcodec")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("affectcodec"):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    edges.add(sub if sub in files else lazy.get(target, {}).get(alias.name, target))
        for node in ast.walk(tree):  # a pass-through command imports its target when it runs
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "add_passthrough"
                    and isinstance(node.args[-1], ast.Constant)):
                edges.add(node.args[-1].value.split(":")[0])
        if is_package and "iter_modules" in source:
            edges |= {m for m in files if m.rsplit(".", 1)[0] == name}
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        for edge in list(edges):  # the packages above, except this module's own (already running)
            parts = edge.split(".")
            edges |= {".".join(parts[:i]) for i in range(1, len(parts))} - own
        graph[name] = {e for e in edges if e in files and e != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_a_cycle_is_found_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_but_main_imports_the_cli():
    importers = sorted(m for m, edges in import_graph().items() if "affectcodec.cli" in edges)
    assert importers == ["affectcodec.__main__"]


def test_no_two_files_of_the_package_share_a_name():
    seen: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py":
            seen.setdefault(path.name, []).append(str(path.relative_to(PACKAGE)))
    assert {n: p for n, p in seen.items() if len(p) > 1} == {}
