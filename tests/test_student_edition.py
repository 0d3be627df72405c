"""The committed student edition (notebooks/student/) is fresh, and runs with only its exercises unanswered.

Fresh: it is exactly what ``cvlearn course student`` writes from notebooks/ now. Runs: executed
top to bottom in its own folder, every cell works except the answer and checker cells of
exercises, and those fail only with ``NotImplementedError`` (nbgrader's stub): no later cell
needs a learner's answer, and no checker crashes on a stub. What the models learn is nbval's
business (it runs the complete edition); here every ``fit`` is cut to a couple of seconds
(:data:`SHORT_TRAINING`), which still runs every cell, the trained-model ones included, in a
fraction of the time.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cvlearn.course import instructor_notebooks, student_edition

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STUDENT = NOTEBOOKS / "student"

SHORT_TRAINING = """\
import cvlearn.train

_fit = cvlearn.train.fit


def _short_fit(*args, **kwargs):
    return _fit(*args, **{**kwargs, "max_seconds": 2})


cvlearn.train.fit = _short_fit
"""
"""A first cell for the student notebooks' run: every ``fit`` (the notebooks', and the recipes',
which import it later) stops after 2 s of training."""


def test_the_committed_student_edition_is_what_cvlearn_course_student_writes():
    stale = student_edition(NOTEBOOKS, STUDENT).stale()
    assert not stale, (
        "notebooks/student/ is stale; run `make student` (cvlearn course student) and commit it:\n" + "\n".join(stale)
    )


def test_every_notebook_has_its_student_copy_and_no_solution_left():
    names = [p.name for p in instructor_notebooks(NOTEBOOKS)]
    assert names == [p.name for p in instructor_notebooks(STUDENT)]
    for name in names:
        text = (STUDENT / name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and '"output_type"' not in text, name
        assert '"source_hidden"' not in text, f"{name}: a learner should see the stubs without clicking"


def _exercise_cells(nb: nbformat.NotebookNode) -> set[int]:
    return {
        i
        for i, cell in enumerate(nb.cells)
        if cell.metadata.get("nbgrader", {}).get("solution") or cell.metadata.get("nbgrader", {}).get("grade")
    }


@pytest.mark.notebooks
@pytest.mark.parametrize("name", [p.name for p in instructor_notebooks(STUDENT)] if STUDENT.is_dir() else [])
def test_the_student_notebook_runs_with_only_its_exercises_unanswered(name, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(STUDENT / name, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SHORT_TRAINING))
    NotebookClient(
        nb, timeout=900, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(STUDENT)}}
    ).execute()
    exercises = _exercise_cells(nb)
    errors = {
        i: output
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    }
    outside = {i: f"{e.ename}: {e.evalue}" for i, e in errors.items() if i not in exercises}
    assert not outside, f"{name}: cells outside the exercises failed: {outside}"
    other = {i: f"{e.ename}: {e.evalue}" for i, e in errors.items() if e.ename != "NotImplementedError"}
    assert not other, f"{name}: exercise cells failed with something other than NotImplementedError: {other}"
    checkers = {i for i in exercises if nb.cells[i].metadata["nbgrader"].get("grade")}
    assert checkers <= set(errors), f"{name}: checker cells that passed on a stub: {sorted(checkers - set(errors))}"
    for i in checkers:
        printed = "".join(o.get("text", "") for o in nb.cells[i].outputs if o.output_type == "stream")
        assert "✗ not answered yet" in printed, f"{name}, cell {i}: the checker should say the exercise is unanswered"
