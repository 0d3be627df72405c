"""Run the unit tests and notebook 00 under the oldest and the newest Python the README promises.

``make test-pythons`` runs this script with the course's own ``.venv`` Python. For each
supported Python that is on the machine, it keeps a virtual environment in the user cache
folder (outside the course folder, so it never shadows ``.venv``), installs the course there
the README's way, ``pip install -e ".[dev]"``, and runs::

    python -m pytest tests -m "not notebooks and not browser and not install and not training"
    python -m pytest --nbval-lax notebooks/00_start_here.ipynb

The install is skipped when the environment's stamp shows it was made from the same
``pyproject.toml``, course folder and Python, so a second run only runs the tests. A Python that
is not on the machine gets one line saying so and does not count as a failure; a failed install
or test run does, and the script then exits with status 1.

    python tests/other_pythons.py            # 3.10 and 3.13
    python tests/other_pythons.py 3.11 3.12  # other versions instead, in the order given
"""

from __future__ import annotations

import glob
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import platformdirs

ROOT = Path(__file__).resolve().parents[1]
# The README promises 3.10 to 3.13: the two ends are where a change in the language or in a
# dependency's wheels shows first. tests/test_other_pythons.py keeps 3.10 in step with pyproject.
SUPPORTED = ("3.10", "3.13")
# "training" (every recipe's quick run trained, twice for the quick-bar contract) checks the
# numbers, which depend on torch's kernels (test-cpus), not on the Python around them
UNIT_TESTS = ("-m", "pytest", "tests", "-m", "not notebooks and not browser and not install and not training")
UNIT_TESTS += ("-q", "-p", "no:cacheprovider")
NOTEBOOK_00 = ("-m", "pytest", "--nbval-lax", "notebooks/00_start_here.ipynb", "-q", "-p", "no:cacheprovider")
WHERE_LOOKED = "PATH, the py launcher, pyenv, uv"
WINDOWS = sys.platform == "win32"


class Interpreter(NamedTuple):
    """A Python found on the machine: the command that starts it and its full version."""

    executable: str
    version: str


def _pyenv_roots() -> Iterator[Path]:
    """Folders that may hold pyenv's (or pyenv-win's) ``versions/``, the configured one first."""
    if os.environ.get("PYENV_ROOT"):
        yield Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv and not WINDOWS:
        answer = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30)
        if answer.returncode == 0 and answer.stdout.strip():
            yield Path(answer.stdout.strip())
    yield Path.home() / ".pyenv"
    yield Path.home() / ".pyenv" / "pyenv-win"


def candidates(version: str) -> Iterator[list[str]]:
    """Commands that may start Python ``version`` ("3.10"), most likely first; none is checked yet.

    A name on PATH can be a pyenv shim that only works where that version is selected, so every
    candidate is tried by :func:`probe` before it is trusted.
    """
    on_path = shutil.which(f"python{version}")
    if on_path:
        yield [on_path]
    launcher = shutil.which("py") if WINDOWS else None
    if launcher:
        yield [launcher, f"-{version}"]
    roots = dict.fromkeys(root.resolve() for root in _pyenv_roots())  # the same root may be named twice
    patterns = [str(root / "versions" / f"{version}.*") for root in roots]
    patterns.append(str(Path(platformdirs.user_data_dir("uv", appauthor=False)) / "python" / f"cpython-{version}.*"))
    for pattern in patterns:
        # newest patch release first: "3.10.13" before "3.10.9"
        for folder in sorted(glob.glob(pattern), key=_release_key, reverse=True):
            for exe in (Path(folder) / "bin" / f"python{version}", Path(folder) / "python.exe"):
                if exe.is_file():
                    yield [str(exe)]


def _release_key(folder: str) -> tuple[int, ...]:
    """Sort key of a folder named like ``3.10.13`` or ``cpython-3.10.13-linux-x86_64-gnu``."""
    release = Path(folder).name.removeprefix("cpython-").split("-")[0]
    return tuple(int(part) if part.isdigit() else -1 for part in release.split("."))


def probe(command: Sequence[str], version: str) -> Interpreter | None:
    """Start ``command`` and return the interpreter if it runs and is Python ``version``, else None."""
    asked = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"
    try:
        answer = subprocess.run([*command, "-c", asked], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = answer.stdout.split()
    if answer.returncode != 0 or len(lines) != 2 or not lines[1].startswith(f"{version}."):
        return None
    return Interpreter(lines[0], lines[1])


def find_python(version: str) -> Interpreter | None:
    """The first working Python ``version`` among :func:`candidates`, or None."""
    for command in candidates(version):
        found = probe(command, version)
        if found:
            return found
    return None


def venv_python(venv: Path) -> Path:
    """The interpreter inside a virtual environment, on any system."""
    return venv / ("Scripts/python.exe" if WINDOWS else "bin/python")


def stamp(interpreter: Interpreter) -> str:
    """What an environment was built from: pyproject.toml's hash, the course folder and the Python.

    The course folder is part of it because ``pip install -e`` points the environment at one
    folder: a clone elsewhere must reinstall, or its tests would import the other clone's code.
    """
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"pyproject.toml sha256 {digest}\ncourse {ROOT}\npython {interpreter.version}\n"


def _run_logged(args: Sequence[str], log: Path) -> bool:
    """Run a command with its output appended to ``log``; print the log's tail if it fails."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {shlex.join(map(str, args))}\n")
        out.flush()
        try:
            code = subprocess.run(list(map(str, args)), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT).returncode
        except OSError as error:  # the interpreter went away since it was found
            out.write(f"{error}\n")
            code = 127
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        print("\n".join(f"    | {line}" for line in tail))
        print(f"  failed: {shlex.join(map(str, args))} (exit {code}); whole log: {log}")
    return code == 0


def prepare(interpreter: Interpreter, venv: Path) -> bool:
    """Make ``venv`` an up-to-date install of the course for ``interpreter``; True when ready."""
    wanted, stamp_file = stamp(interpreter), venv / "cvlearn-stamp.txt"
    if stamp_file.is_file() and stamp_file.read_text(encoding="utf-8") == wanted and venv_python(venv).is_file():
        print(f"  environment {venv}: up to date")
        return True
    print(f"  environment {venv}: installing the course (the first time downloads PyTorch: minutes)")
    start, log = time.perf_counter(), venv.with_name(venv.name + "-install.log")
    venv.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("", encoding="utf-8")
    stamp_file.unlink(missing_ok=True)
    python = venv_python(venv)
    ready = (
        _run_logged([interpreter.executable, "-m", "venv", "--clear", venv], log)
        and _run_logged([python, "-m", "pip", "install", "--upgrade", "pip"], log)
        and _run_logged([python, "-m", "pip", "install", "-e", ".[dev]"], log)
    )
    if ready:
        stamp_file.write_text(wanted, encoding="utf-8")
        print(f"  installed in {time.perf_counter() - start:.0f} s")
    return ready


def _environment(venv: Path) -> dict[str, str]:
    """This process's environment as seen from inside ``venv`` (as if it were activated)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv_python(venv).parent), env.get("PATH", "")])
    return env


def run_tests(venv: Path) -> bool:
    """Run the unit tests, then notebook 00 under nbval, with the environment's Python."""
    passed = True
    for what, args in (("unit tests", UNIT_TESTS), ("notebook 00", NOTEBOOK_00)):
        print(f"  {what}: python {shlex.join(args)}", flush=True)
        start = time.perf_counter()
        code = subprocess.run([str(venv_python(venv)), *args], cwd=ROOT, env=_environment(venv)).returncode
        verdict = "passed" if code == 0 else f"FAILED (exit {code})"
        print(f"  {what}: {verdict} in {time.perf_counter() - start:.0f} s", flush=True)
        passed = passed and code == 0
    return passed


def check(version: str, cache: Path) -> bool | None:
    """Install and test under Python ``version``: True passed, False failed, None not on this machine."""
    interpreter = find_python(version)
    if interpreter is None:
        print(f"python {version}: not found ({WHERE_LOOKED}); skipped, install it to test the course there")
        return None
    print(f"python {version}: {interpreter.executable} ({interpreter.version})", flush=True)
    venv = cache / f"venv-py{version}"
    return prepare(interpreter, venv) and run_tests(venv)


def main(versions: Sequence[str] = SUPPORTED, cache: Path | None = None) -> int:
    """Check each Python in turn (one at a time: each suite uses every core); 1 if any failed."""
    cache = cache or platformdirs.user_cache_path("cvlearn", appauthor=False)
    start = time.perf_counter()
    results = {version: check(version, cache) for version in versions}
    print(f"other pythons took {time.perf_counter() - start:.0f} s")
    print(summary(results))
    return 1 if False in results.values() else 0


def summary(results: dict[str, bool | None]) -> str:
    """The closing line, in the plain ``N passed, N failed, N skipped`` form CI logs are read for.

    When no Python was found there is nothing to count, and the line says so in words instead:
    a closing ``0 passed`` would read as a run that tested nothing at all.
    """
    counts = [sum(ok is wanted for ok in results.values()) for wanted in (True, False, None)]
    if counts[2] == len(results):
        return f"pythons: none of {', '.join(results)} is on this machine; nothing was run"
    return "pythons: {} passed, {} failed, {} skipped".format(*counts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or SUPPORTED))
