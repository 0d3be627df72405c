"""`cvlearn bench --quick`: the smoke run of the benchmark, its JSON schema and its report."""

import json

import pytest

from cvlearn import bench, tasks
from cvlearn.recipes import RECIPES


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, data_root):
    """One quick bench run with the comparisons; its datasets go to the tests' folder, not ``datasets/``."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    md = out.with_suffix(".md")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CVLEARN_DATA", str(data_root))  # the recipes run in child processes, which inherit it
        code = bench.main(["--quick", "--compare", "--json", str(out), "--markdown", str(md)])
    return code, json.loads(out.read_text()), md.read_text()


@pytest.mark.training
def test_quick_bench_runs_every_recipe(quick_run):
    code, results, _ = quick_run
    assert code == 0
    assert [r["recipe"] for r in results["recipes"]] == list(tasks.course_recipes())
    for record in results["recipes"]:
        assert {"train_s", "eval_s", "peak_rss_mb", "params", "images_per_s", "torch", "threads"} <= set(record)
        assert record["peak_rss_mb"] > 50 and record["params"] > 0
        task = tasks.task_of_recipe(record["recipe"])
        metrics = [k for k in tasks.headline_metrics() if k in record]
        assert metrics == list(task.metrics), f"{record['recipe']} reports {metrics}, its task {task.metrics}"
        # scores are fractions; errors (a count's MAE, milliseconds) only have to be positive
        assert all(0.0 <= record[k] <= 1.0 for k in metrics if k not in task.lower_is_better)
        assert all(record[k] >= 0.0 for k in task.lower_is_better)
        assert record["dataset"] == task.toy_dataset


def test_instance_record_reports_mask_ap_with_and_without_maskness(data_root, monkeypatch):
    monkeypatch.setenv("CVLEARN_DATA", str(data_root))
    record = bench.run_recipe("instance", quick=True)
    keys = ("mask_ap50", "mask_ap", "mask_ap50_no_maskness", "mask_ap_no_maskness")
    assert all(0.0 <= record[k] <= 1.0 for k in keys), record
    assert [k for k in tasks.headline_metrics() if k in record] == ["box_ap50", *keys]
    report = bench.report({"machine": bench.machine_info(), "recipes": [record], "render": []})
    assert "| recipe | box_ap50 | mask_ap50 | mask_ap | mask_ap50_no_maskness | mask_ap_no_maskness |" in report


@pytest.mark.training
def test_render_speed_is_reported_for_every_dataset(quick_run):
    _, results, _ = quick_run
    from cvlearn.toyworld import SPECS

    assert {r["dataset"] for r in results["render"]} == set(SPECS)
    assert all(r["samples_per_s"] > 0 and r["size"] == 64 for r in results["render"])


@pytest.mark.training
def test_report_is_a_markdown_table_with_the_machine(quick_run):
    _, results, md = quick_run
    assert md.startswith("# Benchmark results") and "cvlearn bench --quick --compare`" in md
    assert "| dataset | samples_per_s |" in md and results["machine"]["cores"] >= 1
    assert "quick smoke run" in md


@pytest.mark.training
def test_every_comparison_is_reported(quick_run):
    _, results, _ = quick_run
    names = [r["comparison"] for r in results["compare"]]
    for expected in (
        "render vs train",
        "cvlearn.train.fit vs a bare",
        "mAP: cvlearn vs pycocotools",
        "Mask R-CNN ours vs torchvision",
    ):
        assert any(n.startswith(expected) for n in names), f"no comparison {expected!r} in {names}"
    assert all({"ours", "baseline", "ratio", "note"} <= set(r) for r in results["compare"])


def test_the_course_recipes_are_registered():
    course = set(tasks.course_recipes())
    assert course < set(RECIPES) and "instance_stock" in set(RECIPES) - course


def test_a_recipe_module_runs_its_recipe_when_called(data_root, monkeypatch):
    from cvlearn import recipes

    monkeypatch.setenv("CVLEARN_DATA", str(data_root))
    result = recipes.localisation(quick=True, progress=False)
    assert result.recipe == "localisation" and recipes.localisation.CONFIG.dataset == "toy-pets"
    assert callable(recipes.instance) and recipes.instance.CONFIG.dataset == "toy-pens"


def test_unknown_recipe_is_a_clear_error(capsys):
    assert bench.main(["--only", "alchemy"]) == 2
    assert "unknown recipe 'alchemy' for --only" in capsys.readouterr().err


def test_table_shows_missing_values_as_dashes():
    text = bench.table([{"a": 1.23456, "b": None}, {"a": float("nan")}], ["a", "b"])
    assert text.splitlines()[2] == "| 1.235 | – |" and text.splitlines()[3] == "| – | – |"


def test_run_notebook_measures_the_kernel_not_just_pytest(tmp_path):
    """The kernel is a grandchild of the bench; its memory must count (300 MiB held here)."""
    import nbformat

    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import time\nimport numpy as np\nheld = np.ones(300 * 2**20 // 8)\ntime.sleep(2)"
            )
        ]
    )
    path = tmp_path / "holds_memory.ipynb"
    nbformat.write(notebook, path)
    record = bench.run_notebook(path)
    assert record["passed"] and record["notebook"] == "holds_memory"
    assert record["peak_rss_mb"] >= 300, record
