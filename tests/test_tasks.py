"""The task contract: every entry of cvlearn.tasks.TASKS has each part the README's checklist
"Adding a task" names, and the parts fit together (dataset → model → prediction, recipe →
bench's columns, notebook → public names, widgets and checkers)."""

import ast
import importlib
import importlib.util
import inspect
import json
import re
import types
from dataclasses import replace
from pathlib import Path

import pytest

from cvlearn import bench, data, exercises, models, tasks, train, widgets
from cvlearn.data import registry
from cvlearn.recipes import RECIPES, RecipeModule

from . import fakedata

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
TASKS = tasks.names()
RECIPE_PAIRS = [(task, recipe) for task in TASKS for recipe in tasks.get(task).recipes]
REAL_SIZE = 64
"""Side of the resized real photos the contract feeds the models."""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def code_cells(notebook: Path) -> list[str]:
    """The source of each code cell, lines of IPython magics (``%``, ``!``) left out."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    sources = [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c["cell_type"] == "code"
    ]
    return ["\n".join(line for line in s.splitlines() if not line.lstrip().startswith(("%", "!"))) for s in sources]


def cvlearn_imports(notebook: Path) -> list[tuple[str, str | None]]:
    """``(module, name)`` for every ``from cvlearn... import name`` of a notebook, ``(module, None)``
    for every ``import cvlearn...``."""
    found: list[tuple[str, str | None]] = []
    for source in code_cells(notebook):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "cvlearn":
                found += [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(alias.name, None) for alias in node.names if alias.name.split(".")[0] == "cvlearn"]
    return found


def is_public(module_name: str, name: str | None) -> bool:
    """Whether ``from module_name import name`` (or ``import module_name``) reaches only public names:
    no ``_private`` part, and a name the module lists in ``__all__`` (or one of its submodules)."""
    if any(part.startswith("_") for part in module_name.split(".")):
        return False
    if name is None:
        return True
    if name.startswith("_"):
        return False
    module = importlib.import_module(module_name)
    listed = getattr(module, "__all__", None)
    return (
        listed is None
        or name in listed
        or (hasattr(module, "__path__") and importlib.util.find_spec(f"{module_name}.{name}") is not None)
    )


def count(predictions) -> int:
    """How many pictures a prediction helper's answer covers: a tensor or list has one entry per
    picture, a dict one tensor per field."""
    if isinstance(predictions, dict):
        return len(next(iter(predictions.values())))
    return len(predictions)


def notebook_text(task: tasks.Task) -> str:
    return "\n".join(code_cells(NOTEBOOKS / f"{task.notebook}.ipynb"))


@pytest.fixture(scope="module")
def toy_splits(tmp_path_factory):
    """``toy_splits(name)``: two training pictures of a toy dataset, rendered once for this module."""
    root, cache = tmp_path_factory.mktemp("toy"), {}

    def get(name):
        if name not in cache:
            cache[name] = data.load(name, "train", root=root, n=2, progress=False)
        return cache[name]

    return get


@pytest.fixture(scope="module")
def real_splits(tmp_path_factory):
    """``real_splits(name)``: two training photos of a real dataset's fake copy (tests/fakedata.py), at 64 px."""
    root, cache = tmp_path_factory.mktemp("real"), {}

    def get(name):
        if name not in cache:
            getattr(fakedata, "make_" + name.replace("-", "_"))(root / name)
            cache[name] = data.load(name, "train", root=root, size=REAL_SIZE, n=2, progress=False)
        return cache[name]

    return get


# --------------------------------------------------------------------------------------------
# The contract, part by part
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASKS)
def test_its_datasets_are_registered_toy_and_real(name):
    task = tasks.get(name)
    assert registry.get(task.toy_dataset).kind == "toy"
    if task.real_dataset is not None:
        assert registry.get(task.real_dataset).kind == "real"
        assert hasattr(fakedata, "make_" + task.real_dataset.replace("-", "_")), (
            f"tests/fakedata.py needs make_{task.real_dataset.replace('-', '_')}(base) for {task.real_dataset}"
        )


@pytest.mark.parametrize("kind", ["toy", "real"])
@pytest.mark.parametrize(("name", "recipe"), RECIPE_PAIRS)
def test_its_models_build_and_predict_two_samples(name, recipe, kind, toy_splits, real_splits):
    task = tasks.get(name)
    if kind == "real" and task.real_dataset is None:
        pytest.skip(f"{name} has no real dataset")
    split = toy_splits(task.toy_dataset) if kind == "toy" else real_splits(task.real_dataset)
    assert len(split) == 2 and split.images.shape[:2] == (2, 3)
    model = task.recipes[recipe](split)
    assert count(task.predict(model, split.images)) == 2


@pytest.mark.parametrize("name", TASKS)
def test_its_models_are_public(name):
    for factory in tasks.get(name).models:
        assert factory.__name__ in models.__all__ and getattr(models, factory.__name__) is factory


@pytest.mark.parametrize(("name", "recipe"), RECIPE_PAIRS)
def test_its_recipes_are_registered_callable_and_have_a_quick_mode(name, recipe):
    fn = RECIPES.get(recipe)
    assert fn is not None, f"recipe {recipe!r} of task {name!r} is not in cvlearn.recipes.RECIPES"
    assert "quick" in inspect.signature(fn).parameters
    assert isinstance(importlib.import_module(fn.__module__), RecipeModule)
    assert tasks.task_of_recipe(recipe) is tasks.get(name)


def frozen_optimiser(monkeypatch):
    """Make ``fit``'s optimiser skip every update: a model that never learns, everything else as is."""
    make = train._make_optimizer

    def make_frozen(*args, **kwargs):
        optimiser = make(*args, **kwargs)
        optimiser.step = types.MethodType(lambda self, closure=None: None, optimiser)
        return optimiser

    monkeypatch.setattr(train, "_make_optimizer", make_frozen)


@pytest.mark.training
@pytest.mark.parametrize(("name", "recipe"), RECIPE_PAIRS)
def test_its_quick_run_learns_what_an_untrained_model_misses(name, recipe, monkeypatch):
    assert set(tasks.get(name).quick_bars) == set(tasks.get(name).recipes)
    task = tasks.get(name)
    metric, bar = task.quick_bars[recipe]
    trained = RECIPES[recipe](quick=True, progress=False).metrics[metric]
    frozen_optimiser(monkeypatch)
    untrained = RECIPES[recipe](quick=True, progress=False).metrics[metric]
    shown = f"{recipe}: {metric} {trained:.3f} trained, {untrained:.3f} untrained, bar {bar}"
    assert task.reaches(recipe, trained) and not task.reaches(recipe, untrained), shown


def test_a_quick_bar_on_an_error_is_a_ceiling():
    errors = {"quick_bars": {"c": ("count_mae", 10.0)}, "lower_is_better": ("count_mae",)}
    counting = replace(tasks.get("classification"), **errors)
    assert counting.reaches("c", 9.0) and not counting.reaches("c", 11.0)
    assert tasks.get("classification").reaches("classification", 0.9)


@pytest.mark.parametrize(("name", "recipe"), RECIPE_PAIRS)
def test_its_metrics_are_the_columns_bench_reports(name, recipe):
    task = tasks.get(name)
    assert task.metrics and set(task.metrics) <= set(tasks.headline_metrics())
    record = {"recipe": recipe, **{metric: 0.5 for metric in task.metrics}, "map75": 0.5, "iou50": 0.5}
    report = bench.report({"machine": bench.machine_info(), "recipes": [record], "render": []})
    assert f"| recipe | {' | '.join(task.metrics)} | train_s |" in report


@pytest.mark.parametrize("name", TASKS)
def test_its_exercises_have_checkers_that_its_notebook_runs(name):
    task = tasks.get(name)
    checkers = [
        n
        for n, f in inspect.getmembers(task.exercises, inspect.isfunction)
        if n.startswith("check_") and f.__module__ == task.exercises.__name__
    ]
    assert checkers, f"{task.exercises.__name__} has no check_* function"
    text = notebook_text(task)
    for checker in checkers:
        assert checker in exercises.__all__, f"cvlearn.exercises does not re-export {checker}"
        assert checker in text, f"{task.notebook} never runs {checker}"


@pytest.mark.parametrize("name", TASKS)
def test_its_widgets_are_public_and_shown_in_its_notebook(name):
    task = tasks.get(name)
    assert task.widgets
    text = notebook_text(task)
    for widget in task.widgets:
        assert widget.__name__ in widgets.__all__ and getattr(widgets, widget.__name__) is widget
        assert widget.__name__ in text, f"{task.notebook} never shows {widget.__name__}"


@pytest.mark.parametrize("name", TASKS)
def test_its_notebook_exists_and_imports_only_public_names(name):
    notebook = NOTEBOOKS / f"{tasks.get(name).notebook}.ipynb"
    assert notebook.is_file(), f"{notebook} is missing"
    private = [
        f"from {m} import {n}" if n else f"import {m}" for m, n in cvlearn_imports(notebook) if not is_public(m, n)
    ]
    assert not private, f"{notebook.name} imports names that are not public: {private}"


@pytest.mark.parametrize("name", TASKS)
def test_its_notebook_chooses_its_datasets(name):
    task = tasks.get(name)
    text = notebook_text(task)
    if task.real_dataset is None:
        assert f'"{task.toy_dataset}"' in text
    else:
        assert f'choose(DATA, toy="{task.toy_dataset}", real="{task.real_dataset}")' in text


# --------------------------------------------------------------------------------------------
# The registry and what reads it
# --------------------------------------------------------------------------------------------


def test_the_readme_tables_are_written_from_the_registry():
    text = README.read_text(encoding="utf-8")
    for made in (tasks.table(), tasks.real_data_table()):
        assert made in text, f"README.md is out of date; its table should read:\n{made}"
    lines = text.splitlines()
    for start in tasks.notebook_rows():
        assert any(line.startswith(start) for line in lines), f"README.md's table of notebooks needs a row {start} ..."


def test_the_readme_checklists_name_what_the_contract_checks():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**Adding a task**") :]
    for part in (
        "cvlearn/tasks.py",
        "quick_bars",
        "cvlearn/models/",
        "cvlearn/recipes/",
        "cvlearn/metrics/",
        "cvlearn/widgets/",
        "cvlearn/exercises/",
        "notebooks/",
        "tests/fakedata.py",
        "tests/test_toyworld.py",
        "datasets/README.md",
        "cvlearn/data/real.py",
        "cvlearn/toyworld.py",
    ):
        assert part in section, f"the README's checklists do not mention {part}"


def test_bench_runs_what_the_tasks_list(monkeypatch):
    sixth = replace(
        tasks.get("classification"), name="again", recipes={"again": lambda ds: None}, metrics=("accuracy", "score")
    )
    monkeypatch.setitem(tasks.TASKS, "again", sixth)
    assert bench._selected(None) == [*tasks.course_recipes()] and tasks.course_recipes()[-1] == "again"
    assert tasks.headline_metrics()[-1] == "score" and tasks.names()[-1] == "again"
    assert "| `again` | `01_classification` |" in tasks.table()


def test_names_are_registered_once():
    with pytest.raises(ValueError, match="registered already"):
        tasks.register(tasks.get("detection"))
    with pytest.raises(ValueError, match=re.escape("unknown task 'tracking'; expected one of ['classification'")):
        tasks.get("tracking")
    with pytest.raises(ValueError, match="no task trains the recipe 'instance_stock'"):
        tasks.task_of_recipe("instance_stock")


def test_a_registered_task_can_be_forgotten(monkeypatch):
    monkeypatch.setattr(tasks, "TASKS", dict(tasks.TASKS))
    tasks.register(replace(tasks.get("semantic"), name="depth"))
    assert tasks.names()[-1] == "depth"
    tasks.unregister("depth")
    assert "depth" not in tasks.names()
