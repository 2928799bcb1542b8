"""No import circles among shoal's modules (issue 23).

Every module under shoal/ is parsed with `ast` (nothing is imported, so
this takes well under a second and needs no NumPy or Numba).  Each import
statement anywhere in a module counts: at module level and inside
functions alike, since an import deferred into a function (to keep start-up
light) still means the two modules know each other, which is what a circle
is about.  Only statements under `if TYPE_CHECKING:` are left out (they
never run).

An import names its target as precisely as the files allow: `from .a import
b` is an edge to shoal.a.b when that is a module, else to shoal.a (the name b
is defined there); `import shoal.a.b` is an edge to shoal.a.b.  The packages
above a target (their __init__ runs first) are not edges of their own: a
package's __init__ is a module like any other, with the imports it makes.
The dynamic look-ups in shoal/__init__.py (importlib by a string) are not
statements and are not followed.

The graph must have no cycle; a failure names every circle (a strongly
connected component) it found, module by module.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "shoal"


def module_name(path: Path) -> str:
    parts = ("shoal",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, skipping `if TYPE_CHECKING:` bodies."""
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.If) and _type_checking(node):
            children = node.orelse
        pending.extend(children)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The shoal modules that module `name` (at `path`) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                       for alias in node.names]
        for target in targets:
            while target and target not in known:      # import shoal.a.b.name: the module shoal.a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's
    algorithm, iterative), each sorted; a module importing itself is not one."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_graph_is_read():
    edges = graph()
    assert "shoal.cli" in edges and "shoal.api" in edges["shoal.files"]
    assert "shoal.school" in edges["shoal.api"] or any(m.startswith("shoal.school") for m in edges["shoal.api"])


def test_circles_are_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    edges = graph()
    found = circles(edges)
    described = ["  " + " <-> ".join(c) + "\n" + "".join(f"      {m} imports {sorted(edges[m] & set(c))}\n"
                                                         for m in c) for c in found]
    assert not found, "import circles among shoal's modules:\n" + "".join(described)
