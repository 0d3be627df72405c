"""The student edition's rewrite (cvlearn.course): nbgrader's stubs, cleared outputs, determinism, --check."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cvlearn.cli import main
from cvlearn.course import SolutionMarkerError, clear_solutions, student_edition, student_notebook

SOLUTION = {"nbgrader": {"solution": True, "grade": False, "locked": False, "grade_id": "q1", "schema_version": 3}}
CHECK = {
    "nbgrader": {"solution": False, "grade": True, "locked": True, "points": 1, "grade_id": "c1", "schema_version": 3}
}


def test_a_region_becomes_the_stub_at_the_markers_indent():
    source = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    y = x + 1\n\n    return y\n    ### END SOLUTION'
    cleared, found = clear_solutions(source)
    assert found
    assert cleared == 'def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'


def test_several_regions_at_different_indents_and_the_code_around_them_stays():
    source = (
        "import math\n### BEGIN SOLUTION\nA = 1\n### END SOLUTION\n\nclass C:\n    def m(self):\n"
        "        ### BEGIN SOLUTION\n        return 2\n        ### END SOLUTION\n\nprint(A)"
    )
    cleared, found = clear_solutions(source)
    assert found
    assert cleared == (
        "import math\n# YOUR CODE HERE\nraise NotImplementedError()\n\nclass C:\n    def m(self):\n"
        "        # YOUR CODE HERE\n        raise NotImplementedError()\n\nprint(A)"
    )


def test_markdown_gets_the_text_stub_and_a_cell_without_markers_is_untouched():
    assert clear_solutions("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "markdown") == (
        "Why?\nYOUR ANSWER HERE",
        True,
    )
    assert clear_solutions("x = 1\n# no markers here\n") == ("x = 1\n# no markers here\n", False)


@pytest.mark.parametrize(
    "source", ["### BEGIN SOLUTION\nx = 1", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"]
)
def test_markers_nbgrader_would_refuse_are_refused(source):
    with pytest.raises(SolutionMarkerError):
        clear_solutions(source)


def _course_notebook() -> nbformat.NotebookNode:
    answer = new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
        metadata={
            **SOLUTION,
            "jupyter": {"source_hidden": True},
            "execution": {"iopub.status.idle": "2026-11-30T21:35:32Z"},
        },
        execution_count=3,
        outputs=[new_output("stream", name="stdout", text="hi\n")],
    )
    check = new_code_cell("assert f(1) == 1", metadata=CHECK, execution_count=4)
    plain = new_code_cell(
        "print('story')",
        execution_count=5,
        metadata={"tags": ["parameters"]},
        outputs=[new_output("stream", name="stdout", text="story\n")],
    )
    unmarked = new_code_cell("x = 42", metadata={**SOLUTION, "nbgrader": {**SOLUTION["nbgrader"], "grade_id": "q2"}})
    nb = new_notebook(
        cells=[new_markdown_cell("# Title"), answer, check, plain, unmarked],
        metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
            "language_info": {"name": "python", "version": "3.11.9"},
            "widgets": {"state": {}},
        },
    )
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


def test_the_student_notebook_has_stubs_no_outputs_and_keeps_everything_else():
    nb = _course_notebook()
    student = student_notebook(nb)
    title, answer, check, plain, unmarked = student.cells
    assert answer.source == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert answer.metadata == SOLUTION  # no longer collapsed; run timings gone; nbgrader's metadata kept
    assert unmarked.source == "# YOUR CODE HERE\nraise NotImplementedError()"  # as nbgrader does
    assert check.source == "assert f(1) == 1" and check.metadata == CHECK
    assert plain.source == "print('story')" and plain.metadata == {"tags": ["parameters"]}
    assert title.source == "# Title"
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert [c.id for c in student.cells] == [c.id for c in nb.cells]
    assert "widgets" not in student.metadata and "version" not in student.metadata.language_info
    assert student.metadata.kernelspec.name == "python3"
    assert nb.cells[1].outputs and "BEGIN SOLUTION" in nb.cells[1].source  # the source is left alone


def test_a_solution_region_outside_a_solution_cell_is_an_error():
    nb = _course_notebook()
    nb.cells[3].source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    with pytest.raises(SolutionMarkerError, match="cell 3 of"):
        student_notebook(nb)


def _course_folder(tmp_path):
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(_course_notebook(), source / "01_first.ipynb")
    nbformat.write(new_notebook(cells=[new_markdown_cell("tour")]), source / "00_start.ipynb")
    nbformat.write(new_notebook(), source / "scratch.ipynb")  # not a course notebook
    return source


def test_writing_is_deterministic_and_only_course_notebooks_go(tmp_path):
    source = _course_folder(tmp_path)
    edition = student_edition(source)
    assert edition.out == source / "student"
    assert {p.name for p in edition.write()} == {"00_start.ipynb", "01_first.ipynb"}
    first = (source / "student" / "01_first.ipynb").read_bytes()
    assert student_edition(source).write() == []
    assert (source / "student" / "01_first.ipynb").read_bytes() == first
    assert first.endswith(b"\n") and b"NotImplementedError" in first and b"BEGIN SOLUTION" not in first
    assert not (source / "student" / "scratch.ipynb").exists()


def test_check_tells_a_stale_edition(tmp_path, capsys):
    source = _course_folder(tmp_path)
    out = tmp_path / "handout"
    args = ["course", "student", "--source", str(source), "--out", str(out)]
    assert main([*args, "--check"]) == 1
    assert "01_first.ipynb is missing" in capsys.readouterr().err
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    nb = nbformat.read(source / "01_first.ipynb", as_version=4)
    nb.cells[0].source = "# A new title"
    nbformat.write(nb, source / "01_first.ipynb")
    (out / "07_gone.ipynb").write_text("{}")
    assert main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert "01_first.ipynb differs" in err and "07_gone.ipynb has no notebook" in err and "make student" in err
    assert main(args) == 0
    assert main([*args, "--check"]) == 0 and not (out / "07_gone.ipynb").exists()


def test_re_executing_the_source_does_not_make_the_edition_stale(tmp_path):
    source = _course_folder(tmp_path)
    student_edition(source).write()
    nb = nbformat.read(source / "01_first.ipynb", as_version=4)
    nb.cells[3].outputs = [new_output("stream", name="stdout", text="another run\n")]
    nb.cells[3].execution_count = 99
    nb.cells[3].metadata["execution"] = {"iopub.status.idle": "2030-01-01"}
    nb.metadata["language_info"]["version"] = "3.13.0"
    nbformat.write(nb, source / "01_first.ipynb")
    assert student_edition(source).stale() == []


def test_no_notebooks_is_a_clear_error(tmp_path, capsys):
    assert main(["course", "student", "--source", str(tmp_path)]) == 2
    assert "no course notebooks" in capsys.readouterr().err
