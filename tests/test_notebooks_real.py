"""Notebooks 01 to 05 with ``DATA`` switched to their real dataset, on stand-in copies.

papermill injects the parameter after the cell tagged ``parameters``, as a learner would edit it;
``CVLEARN_DATA`` points the kernel at a folder holding the stand-ins. Every cell must run and the
notebook must end in a scorecard for the real dataset. The executed notebooks are kept in
``build/real-data/`` so their scorecards can be read after the run.
"""

import json
from pathlib import Path

import pytest

from cvlearn import tasks
from tests import standins

papermill = pytest.importorskip("papermill")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
EXECUTED = REPO / "build" / "real-data"
# every task with a real dataset, from the task registry: a new task's notebook is run here too
RUNS = [
    (tasks.get(name).notebook, tasks.get(name).real_dataset)
    for name in tasks.names()
    if tasks.get(name).real_dataset is not None
]

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def standin_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("real-standins")
    for name in sorted({data for _, data in RUNS}):
        standins.write(name, root)
    return root


def _outputs(notebook: dict) -> str:
    texts = []
    for cell in notebook["cells"]:
        for out in cell.get("outputs", []):
            texts.append("".join(out.get("text", "")) or "".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


@pytest.mark.parametrize("stem, data", RUNS, ids=[f"{s[:2]}-{d}" for s, d in RUNS])
def test_notebook_runs_on_real_data_to_its_scorecard(stem, data, standin_root, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(standin_root))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    EXECUTED.mkdir(parents=True, exist_ok=True)
    out = EXECUTED / f"{stem}-{data}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{stem}.ipynb"),
        str(out),
        parameters={"DATA": data},
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
    )
    text = _outputs(json.loads(out.read_text(encoding="utf-8")))
    assert f"data: {data}," in text, "the notebook fell back to the toy world"
    assert f"scorecard: {data}," in text, "the notebook did not reach its scorecard"
