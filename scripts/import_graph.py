"""Print emgis's internal import graph: modules, levels, circles and imports inside functions.

Read from the source with ``ast`` (nothing is imported), so it runs on any checkout::

    python scripts/import_graph.py            # summary: levels, circles, largest modules
    python scripts/import_graph.py --edges    # every module and what it imports

A module's level is the length of the longest chain of emgis imports below it (``_errors``
is level 0). A circle is a set of modules that import each other, directly or not, counting
the imports placed inside functions too.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "emgis"


def module_name(path: Path) -> str:
    """The dotted name of a source file under emgis/."""
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names."""
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def collect(
    root: Path = ROOT,
) -> tuple[dict[str, set[str]], dict[str, int], dict[str, int], dict[str, int]]:
    """Edges (module -> emgis modules it imports), line counts, function-level imports, and
    the function-level imports that defer nothing (the module is imported at top level anyway
    by another emgis module, or is an emgis module itself)."""
    files = sorted(root.rglob("*.py"))
    modules = {module_name(f): f for f in files}
    edges: dict[str, set[str]] = defaultdict(set)
    lines: dict[str, int] = {}
    inner: dict[str, int] = defaultdict(int)
    inner_emgis: dict[str, int] = defaultdict(int)
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        lines[name] = source.count("\n")
        tree = ast.parse(source)
        is_package = path.name == "__init__.py"
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = resolve(name, is_package, node)
                targets = [base]
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in modules:
                        targets.append(sub)
            else:
                continue
            in_function = id(node) not in top_level and not _under_type_checking(tree, node)
            for target in targets:
                if _under_type_checking(tree, node):
                    continue
                if target == "emgis" or target.startswith("emgis."):
                    known = target
                    while known and known not in modules:
                        known = known.rpartition(".")[0]
                    if known and known != name:
                        edges[name].add(known)
                        if in_function:
                            inner_emgis[name] += 1
                if in_function:
                    inner[name] += 1
        edges.setdefault(name, set())
    return dict(edges), lines, dict(inner), dict(inner_emgis)


def _under_type_checking(tree: ast.Module, target: ast.AST) -> bool:
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            for sub in ast.walk(node):
                if sub is target:
                    return True
    return False


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def levels(edges: dict[str, set[str]]) -> dict[str, int]:
    """Longest chain of imports below each module (circles collapsed into one node)."""
    comp_of: dict[str, str] = {v: v for v in edges}
    for comp in circles(edges):
        for v in comp:
            comp_of[v] = comp[0]
    cedges: dict[str, set[str]] = defaultdict(set)
    for v, ws in edges.items():
        for w in ws:
            if comp_of[v] != comp_of[w]:
                cedges[comp_of[v]].add(comp_of[w])
    memo: dict[str, int] = {}

    def depth(v: str) -> int:
        if v not in memo:
            memo[v] = 1 + max((depth(w) for w in cedges.get(v, ())), default=-1)
        return memo[v]

    return {v: depth(comp_of[v]) for v in edges}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", action="store_true", help="print every module's imports")
    args = parser.parse_args(argv)
    edges, lines, inner, inner_emgis = collect(ROOT)
    lv = levels(edges)
    circ = circles(edges)
    packages = sorted({m.rsplit(".", 1)[0] if m.count(".") > 1 else m for m in edges})
    print(f"modules: {len(edges)}  lines: {sum(lines.values()):,}  packages: {len(packages)}")
    print(f"levels: {max(lv.values()) + 1}")
    for level in range(max(lv.values()), -1, -1):
        names = sorted(m.removeprefix("emgis.") for m, x in lv.items() if x == level)
        print(f"  {level:2d}: {', '.join(names)}")
    print(f"circles: {len(circ)}")
    for comp in circ:
        print("  " + " <-> ".join(m.removeprefix("emgis.") for m in comp))
    print(
        f"imports inside functions: {sum(inner.values())} "
        f"(of emgis modules: {sum(inner_emgis.values())})"
    )
    print("largest modules:")
    for name, n in sorted(lines.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {n:6,d}  {name}")
    if args.edges:
        for name in sorted(edges):
            print(f"{name} -> {', '.join(sorted(edges[name])) or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
