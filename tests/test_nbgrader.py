"""The real nbgrader on the course: the lecturer's round trip, in a throw-away course folder.

* ``nbgrader generate_assignment`` on the complete edition gives the student edition's cells;
* ``nbgrader autograde`` gives the complete edition full marks and the student edition zero:
  notebook 01 end to end (it trains), and every exercise of 02-06 in a small notebook of only
  their exercise cells. Both execute notebooks, so they are marked ``notebooks``.

Needs the ``[teach]`` extra (nbgrader); skipped without it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e .[teach]")

from cvlearn.course import instructor_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STUDENT = NOTEBOOKS / "student"
PRELUDE = "import numpy as np\nimport torch\nimport torch.nn.functional as F\nfrom torchvision.ops import nms\n"
"""What the exercise cells of 02-06 use from earlier cells of their notebooks."""


def nbgrader(course: Path, *args: str) -> str:
    # nbgrader runs `alembic` (its database migrations) from PATH: the venv's scripts must be on it
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "MPLBACKEND": "Agg", "CVLEARN_DATA": str(ROOT / "datasets")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            *args,
            f"--CourseDirectory.root={course}",
            "--Execute.timeout=900",
            "--force",
        ],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def graded(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id → source of every nbgrader answer or checker cell."""
    return {
        cell.metadata.nbgrader.grade_id: cell.source
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution") or cell.metadata.get("nbgrader", {}).get("grade")
    }


def needs_the_notebook(checker_source: str) -> bool:
    """Whether a checker cell hands its checker more than the answer (a trained model, pictures):
    such an exercise runs only inside its whole notebook (notebook 01's end-to-end test)."""
    call = ast.parse(checker_source).body[0]
    return any(isinstance(node, ast.Call) and len(node.args) > 1 for node in ast.walk(call))


def exercises_only(path: Path) -> nbformat.NotebookNode:
    """A small notebook of a course notebook's self-contained exercises: their imports, answer
    and checker cells."""
    nb = nbformat.read(path, as_version=4)
    contextual = {
        grade_id.removesuffix("-check")
        for grade_id, source in graded(nb).items()
        if grade_id.endswith("-check") and needs_the_notebook(source)
    }
    cells = [new_code_cell(PRELUDE)]
    cells[0].id = "prelude"
    cells += [
        cell
        for cell in nb.cells
        if cell.cell_type == "code"
        and (
            cell.source.startswith("from cvlearn.exercises import")
            or (
                graded(new_notebook(cells=[cell]))
                and cell.metadata.nbgrader.grade_id.rsplit("-", 1)[0] not in contextual
            )
        )
    ]
    return new_notebook(cells=cells, metadata=nb.metadata)


def scores(course: Path, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(assignment, student)
        return {nb.name: (nb.score, nb.max_score) for nb in submission.notebooks}


def submit(course: Path, assignment: str, student: str, notebooks: dict[str, nbformat.NotebookNode]) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "source").mkdir()
    return tmp_path


def test_generate_assignment_gives_the_student_edition(course):
    shutil.copytree(NOTEBOOKS, course / "source" / "course", ignore=shutil.ignore_patterns("student", "checkpoints"))
    nbgrader(course, "generate_assignment", "course")
    released = sorted((course / "release" / "course").glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in instructor_notebooks(STUDENT)]
    for path in released:
        ours = nbformat.read(STUDENT / path.name, as_version=4)
        theirs = nbformat.read(path, as_version=4)
        assert graded(theirs) == graded(ours), path.name
        assert [c.source for c in theirs.cells] == [c.source for c in ours.cells], path.name
    assert sum(len(graded(nbformat.read(p, as_version=4))) for p in released) >= 2 * 21


@pytest.mark.notebooks  # eight small notebooks, each in its own kernel: a minute or two
def test_autograde_gives_the_exercises_full_marks_and_their_stubs_zero(course):
    names = [p.name for p in instructor_notebooks(NOTEBOOKS) if p.name[:2] in {"02", "03", "04", "05", "06"}]
    (course / "source" / "exercises").mkdir()
    for name in names:
        nbformat.write(exercises_only(NOTEBOOKS / name), course / "source" / "exercises" / name)
    nbgrader(course, "generate_assignment", "exercises")
    submit(course, "exercises", "teacher", {name: exercises_only(NOTEBOOKS / name) for name in names})
    submit(course, "exercises", "learner", {name: exercises_only(STUDENT / name) for name in names})
    nbgrader(course, "autograde", "exercises", "--create")
    teacher, learner = scores(course, "exercises", "teacher"), scores(course, "exercises", "learner")
    assert set(teacher) == {name.removesuffix(".ipynb") for name in names}
    assert all(score == total > 0 for score, total in teacher.values()), teacher
    assert all(score == 0 and total > 0 for score, total in learner.values()), learner


@pytest.mark.notebooks
def test_autograde_of_notebook_01_end_to_end(course):
    name = "01_classification.ipynb"
    (course / "source" / "ps1").mkdir()
    shutil.copy(NOTEBOOKS / name, course / "source" / "ps1" / name)
    nbgrader(course, "generate_assignment", "ps1")
    submit(course, "ps1", "teacher", {name: nbformat.read(NOTEBOOKS / name, as_version=4)})
    submit(course, "ps1", "learner", {name: nbformat.read(STUDENT / name, as_version=4)})
    nbgrader(course, "autograde", "ps1", "--create")
    assert scores(course, "ps1", "teacher") == {"01_classification": (5.0, 5.0)}
    assert scores(course, "ps1", "learner") == {"01_classification": (0.0, 5.0)}
