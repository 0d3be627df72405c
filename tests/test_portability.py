"""The package and the notebooks run on Windows and macOS too: nothing POSIX-only at import time,
in a notebook, or in the package's code paths; the command line survives a console that cannot
print ✓ and ✗.

Windows cannot be run here, so its absence of ``resource``, ``fcntl`` and ``termios`` is imitated:
a child Python where importing them fails imports every ``cvlearn`` module.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
PACKAGE_FILES = sorted((ROOT / "cvlearn").rglob("*.py"))

POSIX_MODULES = {"resource", "fcntl", "termios", "pwd", "grp", "pty", "tty", "posix"}
"""Standard-library modules that exist on Linux and macOS only."""
POSIX_ATTRIBUTES = {
    ("signal", "SIGKILL"),
    ("signal", "SIGALRM"),
    ("signal", "alarm"),
    ("os", "fork"),
    ("os", "killpg"),
    ("os", "setsid"),
    ("os", "getuid"),
    ("os", "setuid"),
}
"""Names that raise AttributeError on Windows."""

# Runs in a child Python with the third-party modules cvlearn imports (argv[1:]) already loaded:
# they have Windows code paths of their own (psutil's Linux backend imports resource; its Windows
# one does not). After that, the POSIX-only modules fail to import, as on Windows.
CHILD = r"""
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:  # an optional one, imported under try by cvlearn itself
        pass
for name in ("resource", "fcntl", "termios"):
    sys.modules[name] = None  # `import name` now raises ImportError
import cvlearn
names = sorted(m.name for m in pkgutil.walk_packages(cvlearn.__path__, "cvlearn.")
               if not m.name.endswith("__main__"))  # __main__ would run the command line
for name in names:
    importlib.import_module(name)
from cvlearn.scorecard import print_scorecard
from cvlearn.system import peak_memory_mb
peak = peak_memory_mb()
print_scorecard("toy-pets", [("test accuracy", 0.99, ".1%", (">=", 0.97)), ("peak memory (MiB)", peak, ".0f", None)])
print("RESULT " + json.dumps({"modules": names, "peak_mb": peak}))
"""


def _child_env(encoding: str) -> dict[str, str]:
    """This environment, with the child's console encoding set to ``encoding``."""
    return {**os.environ, "PYTHONIOENCODING": encoding}


def third_party_imports() -> list[str]:
    """Every module outside the standard library and cvlearn that cvlearn's code imports."""
    names = set()
    for path in PACKAGE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return sorted(n for n in names if n.split(".")[0] not in {*sys.stdlib_module_names, "cvlearn"})


def test_every_module_imports_without_posix_only_modules():
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *third_party_imports()],
        cwd=ROOT,
        env=_child_env("utf-8"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert {"cvlearn.bench", "cvlearn.system", "cvlearn.checkup", "cvlearn.cli"} <= set(result["modules"])
    assert len(result["modules"]) >= 20, result["modules"]
    assert result["peak_mb"] > 50, "a Python with torch loaded holds more than 50 MiB"
    assert "scorecard: toy-pets," in proc.stdout and "test accuracy" in proc.stdout


def _code_of(cell_source: str) -> str:
    """A notebook cell as plain Python (IPython's %magics and !commands turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def _guarded(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside a ``try`` whose handler catches ImportError: those imports may fail."""
    catches = {"ImportError", "ModuleNotFoundError"}
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            (isinstance(h.type, ast.Name) and h.type.id in catches)
            or (isinstance(h.type, ast.Tuple) and any(getattr(e, "id", None) in catches for e in h.type.elts))
            for h in node.handlers
        ):
            inside |= {id(n) for statement in node.body for n in ast.walk(statement)}
    return inside


def posix_only_uses(code: str) -> list[str]:
    """Every POSIX-only import or name in ``code``, as ``"line N: what"``; an import inside a
    ``try`` that catches ImportError is allowed (it falls back where the module is missing)."""
    found: list[tuple[int, str]] = []
    tree = ast.parse(code)
    guarded = _guarded(tree)
    for node in ast.walk(tree):
        if id(node) in guarded and isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = [node.module or ""]
        else:
            modules = []
        found += [(node.lineno, f"import {m}") for m in modules if m.split(".")[0] in POSIX_MODULES]
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in POSIX_ATTRIBUTES
        ):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
        if isinstance(node, ast.ImportFrom) and node.module in ("signal", "os"):
            found += [
                (node.lineno, f"from {node.module} import {a.name}")
                for a in node.names
                if (node.module, a.name) in POSIX_ATTRIBUTES
            ]
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_checker_finds_what_it_looks_for():
    code = (
        "import resource\nfrom fcntl import flock\nimport os, signal\nos.kill(1, signal.SIGKILL)\nfrom os import fork\n"
    )
    assert posix_only_uses(code) == [
        "line 1: import resource",
        "line 2: import fcntl",
        "line 4: signal.SIGKILL",
        "line 5: from os import fork",
    ]
    assert posix_only_uses("import sys, signal\nsignal.SIGTERM\n") == []
    assert posix_only_uses("try:\n    import resource\nexcept ImportError:\n    resource = None\n") == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_cell_uses_a_posix_only_module(notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    found = [
        f"cell {i}, {use}"
        for i, cell in enumerate(cells)
        if cell.cell_type == "code"
        for use in posix_only_uses(_code_of(cell.source))
    ]
    assert not found, (
        f"{notebook.name} would fail on Windows: {'; '.join(found)} (use cvlearn.system.peak_memory_mb() for memory)"
    )


def test_no_package_code_uses_a_posix_only_name():
    """Imports of POSIX modules are checked at import time above; this finds the names that only
    fail when the code path runs (``signal.SIGKILL``, ``os.fork``)."""
    found = [
        f"{path.relative_to(ROOT)} {use}"
        for path in PACKAGE_FILES
        for use in posix_only_uses(path.read_text(encoding="utf-8"))
    ]
    assert not found, "; ".join(found)


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_doctor_prints_on_a_console_without_check_marks(encoding):
    proc = subprocess.run(
        [sys.executable, "-m", "cvlearn", "doctor", "--offline"],
        cwd=ROOT,
        env=_child_env(encoding),
        capture_output=True,
        timeout=300,
    )
    out, err = proc.stdout.decode(encoding), proc.stderr.decode(encoding)
    assert "Traceback" not in err and "UnicodeEncodeError" not in err, err
    assert "ok python" in out and "data folder" in out, out
    assert proc.returncode in (0, 1), f"exit {proc.returncode}: {err}"
