"""The course's two editions, from one source: ``cvlearn course student``.

The notebooks in ``notebooks/`` are the complete (instructor) edition: executed, with each
exercise's worked answer between nbgrader's ``### BEGIN SOLUTION`` and ``### END SOLUTION``
markers, in an answer cell collapsed by default. The student edition, ``notebooks/student/``,
is made from them here:

* every solution region is replaced by nbgrader's own stub (``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` in code, ``YOUR ANSWER HERE`` in markdown), at the
  indentation of its ``BEGIN SOLUTION`` line, exactly as nbgrader's ``ClearSolutions`` does; a
  solution cell without markers becomes the stub as a whole, as there;
* outputs, execution counts and run metadata (timings, saved widget state, the Python version
  that ran it) are cleared, and the answer cells are no longer collapsed: the stub is meant to
  be seen;
* everything else stays, nbgrader's cell metadata included, so a lecturer can also hand the
  complete edition to ``nbgrader generate_assignment`` and get the same exercises.

The package does not need nbgrader for this: the rewrite is a few lines, mirrored here and
checked against the real nbgrader by ``tests/test_nbgrader.py``. Writing is deterministic (the
same bytes every run), so ``--check`` can tell a committed student edition that is stale.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "BEGIN_SOLUTION",
    "CODE_STUB",
    "END_SOLUTION",
    "TEXT_STUB",
    "SolutionMarkerError",
    "StudentEdition",
    "clear_solutions",
    "instructor_notebooks",
    "notebook_text",
    "student_edition",
    "student_notebook",
]

BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
"""nbgrader's delimiters: a line that contains one of them (``### BEGIN SOLUTION``) marks a region."""
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
"""What nbgrader's ``ClearSolutions`` writes for Python in place of a code solution."""
TEXT_STUB = "YOUR ANSWER HERE"
"""What it writes in place of a written (markdown) solution."""

RUN_METADATA = ("execution", "collapsed", "scrolled")
"""Cell metadata that records a run rather than the notebook: cleared with the outputs."""
NOTEBOOK_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
"""The course's notebooks: ``00_start_here.ipynb`` to ``06_pose_crowds_panoptic.ipynb``."""


class SolutionMarkerError(ValueError):
    """A solution region that nbgrader would refuse: nested, unterminated, or in a cell not
    marked as a solution cell."""


def clear_solutions(source: str, cell_type: str = "code") -> tuple[str, bool]:
    """``(source with every solution region replaced by the stub, whether one was found)``.

    Line by line as nbgrader does: a line containing ``BEGIN SOLUTION`` becomes the stub (each
    of its lines indented like the marker line), the lines up to and including the next line
    containing ``END SOLUTION`` go. A cell without markers comes back unchanged.
    """
    stub = (CODE_STUB if cell_type == "code" else TEXT_STUB).split("\n")
    kept: list[str] = []
    inside = found = False
    for line in source.split("\n"):
        if BEGIN_SOLUTION in line:
            if inside:
                raise SolutionMarkerError(f"a {BEGIN_SOLUTION} inside another solution region:\n{source}")
            inside = found = True
            indent = re.match(r"\s*", line).group(0)  # type: ignore[union-attr]
            kept.extend(indent + stub_line for stub_line in stub)
        elif END_SOLUTION in line:
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise SolutionMarkerError(f"a {BEGIN_SOLUTION} with no {END_SOLUTION} after it:\n{source}")
    return "\n".join(kept), found


def _is_solution_cell(cell: Any) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def _student_cell(cell: Any, where: str) -> Any:
    cell = copy.deepcopy(cell)
    source, found = clear_solutions(cell.source, cell.cell_type)
    solution = _is_solution_cell(cell)
    if found and not solution:
        raise SolutionMarkerError(
            f"{where} has a solution region but is not an nbgrader solution cell "
            "(metadata nbgrader.solution = true); nbgrader would refuse it"
        )
    if solution and not found:  # nbgrader replaces an unmarked solution cell as a whole
        source = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    cell.source = source
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    metadata = cell.get("metadata", {})
    for field in RUN_METADATA:
        metadata.pop(field, None)
    if solution:  # the stub is meant to be seen: no longer collapsed
        jupyter = metadata.get("jupyter", {})
        jupyter.pop("source_hidden", None)
        if not jupyter:
            metadata.pop("jupyter", None)
    return cell


def student_notebook(nb: Any, name: str = "notebook") -> Any:
    """The student edition of one notebook (a copy; ``nb`` is left as it was)."""
    student = copy.deepcopy(nb)
    student.cells = [_student_cell(cell, f"cell {i} of {name}") for i, cell in enumerate(nb.cells)]
    student.metadata.pop("widgets", None)  # saved widget state is output
    student.metadata.get("language_info", {}).pop("version", None)  # the Python that last ran it
    return student


def notebook_text(nb: Any) -> str:
    """The notebook as nbformat writes it (sorted keys, one-space indent), ending in a newline."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def instructor_notebooks(source: Path) -> list[Path]:
    """The course's notebooks in ``source`` (``NN_*.ipynb``), in order."""
    return sorted(p for p in Path(source).iterdir() if p.is_file() and NOTEBOOK_PATTERN.match(p.name))


@dataclass
class StudentEdition:
    """What the student edition should hold: file name → the exact text of each notebook."""

    source: Path
    out: Path
    texts: dict[str, str]

    def stale(self) -> list[str]:
        """One line per file of ``out`` that differs from what it should be (empty: up to date)."""
        problems = []
        for name, text in self.texts.items():
            path = self.out / name
            if not path.is_file():
                problems.append(f"{name} is missing")
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"{name} differs from what {self.source / name} gives")
        if self.out.is_dir():
            problems += [
                f"{p.name} has no notebook in {self.source}"
                for p in instructor_notebooks(self.out)
                if p.name not in self.texts
            ]
        return problems

    def write(self) -> list[Path]:
        """Write every notebook whose text changed (and remove those without a source); the changed paths."""
        self.out.mkdir(parents=True, exist_ok=True)
        changed = []
        for name, text in self.texts.items():
            path = self.out / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                with open(path, "w", encoding="utf-8", newline="\n") as f:
                    f.write(text)
                changed.append(path)
        for path in instructor_notebooks(self.out):
            if path.name not in self.texts:
                path.unlink()
                changed.append(path)
        return changed


def student_edition(source: Path | str = "notebooks", out: Path | str | None = None) -> StudentEdition:
    """The student edition of the notebooks in ``source``, to go to ``out`` (default ``source/student``)."""
    source = Path(source)
    out = source / "student" if out is None else Path(out)
    notebooks = instructor_notebooks(source) if source.is_dir() else []
    if not notebooks:
        raise ValueError(
            f"no course notebooks (NN_*.ipynb) in {source}; run this from the course folder or give --source"
        )
    texts = {
        path.name: notebook_text(student_notebook(nbformat.read(path, as_version=4), path.name)) for path in notebooks
    }
    return StudentEdition(source, out, texts)
