"""README's promises that are about the repository itself: the commands it gives are the Makefile's."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _recipe(target: str) -> list[str]:
    """The commands of one Makefile target, with ``$(BIN)/`` and ``$(VENV)`` left as written."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^{re.escape(target)}:", line))
    commands = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        commands.append(line.strip())
    return commands


def _windows_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("**Windows and macOS without `make`:**", 1)[1].split("\n\n", 2)[1]
    return [line.strip() for line in block.splitlines() if line.strip()]


def _as_windows(command: str) -> str:
    """A Makefile command as the README's PowerShell line: ``.venv\\Scripts\\`` for ``$(BIN)/``."""
    command = command.replace("$(BIN)/", ".venv\\Scripts\\").replace("$(VENV)", ".venv")
    command = command.replace(" $(ROOT_FLAG)", "").replace(" $(LAB_ARGS)", "")
    return command.replace("$(PYTHON) -m venv", "py -m venv")


def test_windows_commands_are_exactly_what_make_runs():
    make_steps = [
        c.replace("test -x $(BIN)/python || ", "")
        for target in ("$(STAMP)", "lab", "test-core")
        for c in _recipe(target)
        if not c.startswith("touch")
    ]
    assert [_as_windows(c) for c in make_steps] == _windows_block()


def test_install_recipe_creates_the_venv_only_when_missing():
    assert _recipe("$(STAMP)")[0] == "test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)"
