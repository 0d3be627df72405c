"""``cvlearn bench``: every recipe's score, time and memory, and the course's cost, in one table.

    cvlearn bench                      every recipe of cvlearn.recipes, on its toy dataset
    cvlearn bench --only detection     one recipe (repeat --only for more)
    cvlearn bench --quick              a seconds-long smoke run of everything (used by the tests)
    cvlearn bench --notebooks          also run each notebook as nbval does: wall time, peak memory
    cvlearn bench --compare            also the comparison baselines (see :func:`compare`)
    cvlearn bench --json results.json --markdown benchmarks/RESULTS.md

Which recipes run by default, and which of their metrics the table shows, is read from the task
registry (:mod:`cvlearn.tasks`, imported only when needed: ``cvlearn bench --help`` stays free of
torch). Each recipe and each notebook runs in a fresh Python process, so the peak resident memory
reported is its own. The toy renderer's speed (samples per second at 64×64, one core) is
measured in every run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .system import peak_memory_mb, run_watching_memory

RENDER_SIZE = 64


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """The machine and software a run measured: CPU, cores, memory, torch, threads."""
    import psutil
    import torch

    cpu = platform.processor() or platform.machine()
    try:  # Linux names the CPU model only here; elsewhere platform's answer stands
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = round(psutil.virtual_memory().total / 2**30, 1)
    from .train import pick_device

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": str(pick_device()),
        "platform": platform.platform(),
        "date": dt.date.today().isoformat(),
    }


def render_rate(name: str, size: int, samples: int, repeats: int = 1) -> float:
    """Samples of toy dataset ``name`` that ``toyworld.generate`` draws per second at ``size``
    (:func:`cvlearn.comparisons.render_rate`, imported only when called: ``cvlearn bench --help``
    stays free of torch)."""
    from .comparisons import render_rate as rate

    return rate(name, size, samples, repeats)


def render_speed(names: Sequence[str] | None = None, samples: int = 300) -> list[dict[str, Any]]:
    """Toy-world samples rendered per second at 64×64 on one core, per dataset (best of 3)."""
    from . import toyworld

    return [
        {
            "dataset": name,
            "size": RENDER_SIZE,
            "samples_per_s": round(render_rate(name, RENDER_SIZE, samples, repeats=3), 1),
        }
        for name in names or sorted(toyworld.SPECS)
    ]


def run_recipe(name: str, quick: bool = False, progress: bool = False) -> dict[str, Any]:
    """Run one recipe in this process; its record with flat numeric fields."""
    import torch

    from .recipes import RECIPES

    result = RECIPES[name](quick=quick, progress=progress)
    record: dict[str, Any] = {"recipe": name}
    record.update({k: round(float(v), 4) for k, v in result.metrics.items()})
    record.update(
        {
            "train_s": round(result.train_s, 2),
            "eval_s": round(result.eval_s, 2),
            "images_per_s": round(result.images_per_s, 1),
            "peak_rss_mb": round(peak_memory_mb(), 1),
            "params": int(result.params),
            "dataset": result.config.get("dataset"),
            "device": result.device,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        }
    )
    return record


def _in_subprocess(args: list[str]) -> dict[str, Any]:
    """Run ``python -m cvlearn.bench <args> --out FILE`` and read the record it writes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "record.json"
        proc = subprocess.run(
            [sys.executable, "-m", "cvlearn.bench", *args, "--out", str(out)],
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
            raise RuntimeError(f"`cvlearn.bench {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
        return json.loads(out.read_text())


def run_notebook(path: str | Path) -> dict[str, Any]:
    """Execute one notebook the way ``make test`` does (pytest --nbval-lax): wall time, peak memory.

    The notebook's kernel is a grandchild of this process, so its memory is sampled across the
    whole process tree (:func:`cvlearn.system.run_watching_memory`).
    """
    path = Path(path)
    start = time.perf_counter()
    code, _, peak_mb = run_watching_memory(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider", str(path)]
    )
    seconds = time.perf_counter() - start
    return {"notebook": path.stem, "seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb, 1), "passed": code == 0}


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------


def compare(quick: bool = False, recipes: Sequence[dict] = ()) -> list[dict[str, Any]]:
    """The comparison baselines (module :mod:`cvlearn.comparisons`), each a record
    ``{"comparison", "ours", "baseline", "ratio", "note"}``.

    * training throughput vs the toy renderer (can the renderer keep up with training?);
    * ``cvlearn.train.fit`` vs a bare PyTorch loop doing the same steps (overhead);
    * the package's mAP vs pycocotools' COCOeval on the same predictions (agreement, speed);
    * the course's Mask R-CNN recipe vs torchvision's stock configuration (time to mask AP@0.5 ≥ 0.5).
    Each is skipped (with a note) when the recipe it needs is not available.
    """
    from . import comparisons

    records = list(comparisons.render_vs_training(recipes, samples=20 if quick else 200))
    records += comparisons.fit_overhead(quick=quick)
    records += comparisons.map_agreement(quick=quick)
    records += comparisons.maskrcnn_vs_stock(quick=quick)
    return records


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of ``rows`` with ``columns`` (missing values shown as –)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def report(results: dict[str, Any]) -> str:
    """The human-readable report: machine, recipes, render speed, notebooks, comparisons."""
    m = results["machine"]
    parts = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GiB; Python {m['python']}, "
        f"torch {m['torch']}, {m['threads']} threads, device {m['device']}; {m['date']}"
        + (" (quick smoke run: not comparable numbers)" if results.get("quick") else "")
    ]
    if results["recipes"]:
        from .tasks import headline_metrics

        metrics = [k for k in headline_metrics() if any(k in r for r in results["recipes"])]
        parts += [
            "",
            "Recipes (test split):",
            "",
            table(
                results["recipes"], ["recipe", *metrics, "train_s", "eval_s", "images_per_s", "peak_rss_mb", "params"]
            ),
        ]
    parts += [
        "",
        f"Toy renderer, {RENDER_SIZE}×{RENDER_SIZE}, one core:",
        "",
        table(results["render"], ["dataset", "samples_per_s"]),
    ]
    if results.get("notebooks"):
        total = {
            "notebook": "total",
            "seconds": sum(r["seconds"] for r in results["notebooks"]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results["notebooks"]),
            "passed": all(r["passed"] for r in results["notebooks"]),
        }
        parts += [
            "",
            "Notebooks under nbval:",
            "",
            table([*results["notebooks"], total], ["notebook", "seconds", "peak_rss_mb", "passed"]),
        ]
    if results.get("compare"):
        parts += [
            "",
            "Comparisons:",
            "",
            table(results["compare"], ["comparison", "ours", "baseline", "ratio", "note"]),
        ]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cvlearn bench", description="Every recipe's score, time and memory, and the course's cost, in one table."
    )
    p.add_argument("--only", action="append", metavar="NAME", help="run only this recipe (repeatable)")
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke run (numbers not comparable)")
    p.add_argument("--notebooks", action="store_true", help="also execute every notebook under nbval")
    p.add_argument("--compare", action="store_true", help="also run the comparison baselines")
    p.add_argument("--json", metavar="PATH", help="write machine-readable results here")
    p.add_argument("--markdown", metavar="PATH", help="write the report as Markdown here")
    p.add_argument("--notebook-dir", default="notebooks", help="where the notebooks are (default: notebooks)")
    p.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    p.add_argument("--notebook-worker", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--out", metavar="PATH", help=argparse.SUPPRESS)
    return p


def _selected(only: Sequence[str] | None) -> list[str]:
    """The recipes to run: those named by ``--only``, or by default every task's (in the course's order)."""
    from .recipes import RECIPES
    from .tasks import course_recipes

    if not only:
        return list(course_recipes())
    unknown = [n for n in only if n not in RECIPES]
    if unknown:
        raise ValueError(f"unknown recipe {unknown[0]!r} for --only; expected one of {sorted(RECIPES)}")
    return list(only)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run what ``args`` asks for and return the results dict (the JSON schema)."""
    names = _selected(args.only)
    results: dict[str, Any] = {
        "machine": machine_info(),
        "quick": bool(args.quick),
        "recipes": [],
        "render": [],
        "notebooks": [],
        "compare": [],
    }
    notebooks = sorted(Path(args.notebook_dir).glob("*.ipynb")) if args.notebooks else []
    with tqdm(total=len(names) + 1 + len(notebooks) + bool(args.compare), desc="bench", unit="job") as bar:
        for name in names:
            bar.set_postfix_str(name)
            results["recipes"].append(_in_subprocess(["--worker", name, *(["--quick"] if args.quick else [])]))
            bar.update()
        bar.set_postfix_str("renderer")
        results["render"] = render_speed(samples=30 if args.quick else 300)
        bar.update()
        for path in notebooks:
            bar.set_postfix_str(path.stem)
            results["notebooks"].append(_in_subprocess(["--notebook-worker", str(path)]))
            bar.update()
        if args.compare:
            bar.set_postfix_str("comparisons")
            results["compare"] = compare(args.quick, results["recipes"])
            bar.update()
    return results


def _without_outputs(argv: Sequence[str]) -> list[str]:
    """The command-line arguments minus ``--json PATH`` and ``--markdown PATH``."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--json", "--markdown"):
            skip = True
        elif not arg.startswith(("--json=", "--markdown=")):
            kept.append(arg)
    return kept


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.worker or args.notebook_worker:
        record = run_recipe(args.worker, args.quick) if args.worker else run_notebook(args.notebook_worker)
        Path(args.out).write_text(json.dumps(record))
        return 0
    try:
        results = run(args)
    except ValueError as err:
        print(f"cvlearn bench: error: {err}", file=sys.stderr)
        return 2
    text = report(results)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(["cvlearn bench", *_without_outputs(argv if argv is not None else sys.argv[1:])])
        Path(args.markdown).write_text(f"# Benchmark results\n\nMeasured by `{command}`.\n\n{text}\n")
    failed = [r["notebook"] for r in results["notebooks"] if not r["passed"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
