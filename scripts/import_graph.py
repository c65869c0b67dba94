"""Count every cross-app import statement in apps/ (module level and inside functions) and report
the app graph: app→app counts, mutual pairs, cycles (strongly connected components) and the imports
that go upward against the declared layer order (LAYERS below, the same order as the import-linter
contract in pyproject.toml).

    python scripts/import_graph.py            # summary
    python scripts/import_graph.py --edges    # every upward import statement with its file:line
"""

import ast
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"

# Lowest first. Apps on one line (a tuple) are one layer: they may not import each other either
# (checked by the contract's independence rules, counted here as upward both ways).
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("tenancy",),
    ("accounts",),
    ("reports",),
    ("clients",),
    ("touchpoints",),
    ("journeys",),
    ("imports",),
    ("messaging",),
    ("surveys",),
    ("metrics",),
    ("feedback",),
    ("integrations", "digests"),
    ("dashboards",),
    ("demo",),
]


def app_of_module(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "apps":
        return parts[1]
    return None


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path: Path):
    """Yield (target module, line, inside a function) for every import statement of `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = module_name(path)
    is_package = path.name == "__init__.py"
    parents: dict[ast.AST, ast.AST] = {}
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent

    def in_function(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return True
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, in_function(node)
        elif isinstance(node, ast.ImportFrom):
            target = resolve(node, module, is_package)
            if target == "apps":  # from apps import surveys
                for alias in node.names:
                    yield f"apps.{alias.name}", node.lineno, in_function(node)
            else:
                yield target, node.lineno, in_function(node)


def rank() -> dict[str, int]:
    return {app: i for i, layer in enumerate(LAYERS) for app in layer}


def sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main(argv: list[str]) -> int:
    counts: Counter = Counter()
    deferred = 0
    edges: list[tuple[str, str, str, int, bool]] = []
    apps_seen: set[str] = set()
    for path in sorted(APPS.rglob("*.py")):
        source_app = app_of_module(module_name(path))
        if source_app is None:
            continue
        apps_seen.add(source_app)
        for target, line, in_func in imports(path):
            target_app = app_of_module(target)
            if target_app is None or target_app == source_app:
                continue
            counts[(source_app, target_app)] += 1
            deferred += in_func
            edges.append((source_app, target_app, str(path.relative_to(ROOT)), line, in_func))

    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in counts:
        graph[a].add(b)
    for app in apps_seen:
        graph.setdefault(app, set())

    print(f"apps: {len(apps_seen)}; cross-app import statements: {sum(counts.values())} "
          f"({deferred} inside functions)")
    print("\napp -> app: statements")
    for (a, b), n in sorted(counts.items()):
        print(f"  {a:>13} -> {b:<13} {n}")
    mutual = sorted({tuple(sorted((a, b))) for (a, b) in counts if (b, a) in counts})
    print(f"\nmutual pairs: {len(mutual)}")
    for a, b in mutual:
        print(f"  {a} <-> {b}  ({counts[(a, b)]} / {counts[(b, a)]})")
    cycles = [c for c in sccs(graph) if len(c) > 1]
    print(f"\ncycles (strongly connected components of more than one app): {len(cycles)}; "
          f"largest {max((len(c) for c in cycles), default=0)} apps")
    for c in cycles:
        print(f"  {len(c)}: {', '.join(c)}")

    order = rank()
    unknown = sorted(apps_seen - set(order))
    if unknown:
        print(f"\napps missing from LAYERS: {', '.join(unknown)}")
    upward = [e for e in edges if e[0] in order and e[1] in order and order[e[1]] >= order[e[0]]]
    print(f"\nupward imports (against the layer order): {len(upward)} statements")
    by_pair = Counter((a, b) for a, b, *_ in upward)
    for (a, b), n in sorted(by_pair.items()):
        print(f"  {a} -> {b}: {n}")
    if "--edges" in argv:
        for a, b, path, line, in_func in sorted(upward, key=lambda e: (e[2], e[3])):
            print(f"    {path}:{line} {a} -> {b}{' (in a function)' if in_func else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
