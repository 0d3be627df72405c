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
    command = command.replace(" $(ROOT_FLAG)", "").replace(" $(LAB_ARGS)", "").replace(" $(OFFLINE)", "")
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


def test_the_teaching_guide_is_linked_and_its_make_targets_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "TEACHING.md").read_text(encoding="utf-8")
    assert "(TEACHING.md)" in readme
    for target in set(re.findall(r"`make (\w+)`|^\s+make (\w+)", guide, re.M)):
        name = next(t for t in target if t)
        assert _recipe(name), f"TEACHING.md names `make {name}`, which the Makefile lacks"
    for section in ("90-minute", "one-day", "7-week", "student edition", "nbgrader", "nbgitpuller", "Wi-Fi"):
        assert section in guide, section


def test_the_teaching_guide_lists_every_exercise_of_every_notebook():
    import json

    guide = (ROOT / "TEACHING.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| (0\d) \| (\d) · ([^|]+?) \|", guide, re.M))
    found = set()
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            text = "".join(cell["source"]) if cell["cell_type"] == "markdown" else ""
            for number, title in re.findall(r"^(?:### |\*\*)Exercise (\d) · (.+?)(?:\.\*\*|$)", text, re.M):
                found.add((path.name[:2], number, title.strip()))
    assert found and listed == found, sorted(listed ^ found)
