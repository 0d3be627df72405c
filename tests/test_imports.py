"""The package's layers: no module imports upwards, no two modules import each other (even through
others), and every package lists its public names in ``__all__``.

Every import counts: at module level and inside functions, relative and absolute. The layers,
bottom to top, are in :data:`LAYERS`; a module may import from its own layer or a lower one.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cvlearn"

LAYERS = {
    # 0: the base, which imports nothing of cvlearn above it
    "toyworld": 0,
    "boxes": 0,
    "formats": 0,
    "plot": 0,
    "images": 0,
    "system": 0,
    "scorecard": 0,
    # 1: data, toy and real
    "data": 1,
    "realdata": 1,
    "download": 1,
    "checkup": 1,
    "weights": 1,
    # 2: models, and the augmentations (they flip joints with models.keypoints.flip_keypoints)
    "models": 2,
    "augment": 2,
    # 3: what scores and trains models
    "metrics": 3,
    "train": 3,
    # 4: what the notebooks use on top
    "recipes": 4,
    "widgets": 4,
    "exercises": 4,
    "explain": 4,
    "tasks": 4,
    # 5: entry points
    "bench": 5,
    "comparisons": 5,
    "cli": 5,
    "course": 5,
    "__main__": 5,
    "": 5,
}
"""Layer of each top-level module or package of cvlearn (``""``: ``cvlearn/__init__.py``)."""


def module_files() -> dict[str, Path]:
    """Dotted name of every module of cvlearn (``cvlearn.models`` for a package's ``__init__``) → its file."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("cvlearn", *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _deepest_module(name: str) -> str | None:
    """The longest prefix of dotted ``name`` that is a module of cvlearn (``None`` outside cvlearn)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules of cvlearn that one import statement of ``module`` loads by name."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if _is_package(module) else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        # ``from pkg import name`` loads the submodule pkg.name if there is one, else pkg itself
        targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source for alias in node.names]
    found = (_deepest_module(t) for t in targets if t == "cvlearn" or t.startswith("cvlearn."))
    return sorted({t for t in found if t and t != module})


def import_graph() -> dict[str, dict[str, int]]:
    """module → {imported module of cvlearn: line of the first such import}, every import counted."""
    graph: dict[str, dict[str, int]] = {}
    for module, path in MODULES.items():
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _imported(module, node):
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def layer(module: str) -> int:
    """The layer of a dotted module name of cvlearn, from its top-level part."""
    top = module.split(".")[1] if "." in module else ""
    if top not in LAYERS:
        raise KeyError(f"{module} has no layer: add {top!r} to LAYERS in {Path(__file__).name}")
    return LAYERS[top]


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_within(set(group), graph) for group in groups]


def _cycle_within(group: set[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest path from the group's first module back to itself, staying inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt == start:
                    return paths[node] + [start]
                if nxt in group and nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle found in {sorted(group)}")


def test_every_module_has_a_layer():
    missing = sorted({m.split(".")[1] for m in MODULES if "." in m and m.split(".")[1] not in LAYERS})
    assert not missing, f"add these to LAYERS in {Path(__file__).name}: {missing}"


def test_no_module_imports_from_a_higher_layer():
    graph = import_graph()
    upward = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)}) on line {line}"
        for module, edges in graph.items()
        for target, line in edges.items()
        if layer(target) > layer(module)
    ]
    assert not upward, "imports that point upwards:\n" + "\n".join(upward)


def test_no_import_cycles():
    graph = import_graph()
    cycles = find_cycles(graph)
    described = [
        cycle[0] + "".join(f" --line {graph[a][b]}--> {b}" for a, b in zip(cycle, cycle[1:])) for cycle in cycles
    ]
    assert not cycles, "modules that import each other:\n" + "\n".join(described)


def test_the_checks_see_cycles_and_function_level_imports():
    graph = {
        "cvlearn.a": {"cvlearn.b": 1},
        "cvlearn.b": {"cvlearn.c": 1},
        "cvlearn.c": {"cvlearn.a": 1},
        "cvlearn.d": {"cvlearn.a": 1},
    }
    assert find_cycles(graph) == [["cvlearn.a", "cvlearn.b", "cvlearn.c", "cvlearn.a"]]
    tree = ast.parse("def f():\n    from ..metrics.localisation import paired_iou\n    from . import rcnn\n")
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert _imported("cvlearn.models.detection", imports[0]) == ["cvlearn.metrics.localisation"]
    assert _imported("cvlearn.models.detection", imports[1]) == ["cvlearn.models.rcnn"]


# --------------------------------------------------------------------------------------------
# Public names
# --------------------------------------------------------------------------------------------

PACKAGES = sorted(module for module in MODULES if _is_package(module))


def public_names(module: str) -> set[str]:
    """Names a package's ``__init__`` defines or brings in from cvlearn, except ``_private`` ones.

    Names imported from elsewhere (``typing``, ``torch``) are tools of the file, not its content.
    """
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("cvlearn")):
            names.update((alias.asname or alias.name) for alias in node.names)
    return {name for name in names if not name.startswith("_")}


@pytest.mark.parametrize("package", PACKAGES)
def test_package_lists_exactly_its_public_names(package):
    module = importlib.import_module(package)
    listed = getattr(module, "__all__", None)
    assert listed is not None, f"{package} has no __all__"
    assert len(listed) == len(set(listed)), f"{package}.__all__ repeats names"
    listed = {name for name in listed if not name.startswith("_")}
    public = public_names(package)
    assert listed == public, (
        f"{package}.__all__ misses {sorted(public - listed)} "
        f"and lists names it does not define {sorted(listed - public)}"
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_every_listed_name_imports(package):
    namespace: dict = {}
    exec(f"from {package} import *", namespace)
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if name not in namespace]
    assert not missing, f"{package}.__all__ names {missing}, which do not import"
