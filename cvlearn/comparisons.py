"""The benchmark's comparison baselines: each measures the course's way against a reference.

Every function returns a list of records ``{"comparison", "ours", "baseline", "ratio", "note"}``;
the note says what the two numbers are and which way the ratio is better.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import toyworld


def render_rate(name: str, size: int, samples: int, repeats: int = 1) -> float:
    """Samples of toy dataset ``name`` that ``toyworld.generate`` draws per second at ``size``.

    One process, so one core; after one warm-up sample, the best of ``repeats`` runs of
    ``samples`` fresh scenes each.
    """
    toyworld.generate(name, "train", 0, size=size)
    best = 0.0
    for repeat in range(repeats):
        start = time.perf_counter()
        for i in range(samples):
            toyworld.generate(name, "train", i + repeat * samples, size=size)
        best = max(best, samples / (time.perf_counter() - start))
    return best


def render_vs_training(recipes: Sequence[dict[str, Any]], samples: int = 200) -> list[dict[str, Any]]:
    """The renderer's samples per second (one core, the dataset's own size) vs training's images per second.

    A ratio above 1 means the renderer alone could feed training live; the course renders once
    and caches anyway, so this is the margin, not a requirement.
    """
    records = []
    for r in recipes:
        dataset = r.get("dataset")
        if not dataset or dataset not in toyworld.SPECS or not r.get("images_per_s"):
            continue
        render = render_rate(dataset, toyworld.SPECS[dataset].size, samples)
        records.append(
            {
                "comparison": f"render vs train ({r['recipe']}, {dataset})",
                "ours": round(render, 1),
                "baseline": r["images_per_s"],
                "ratio": round(render / r["images_per_s"], 2),
                "note": "samples/s rendered on one core vs images/s trained",
            }
        )
    return records


def bare_loop(
    model: nn.Module,
    train_loader: Any,
    val_loader: Any,
    epochs: int,
    lr: float,
    weight_decay: float,
    channels_last: bool,
) -> None:
    """The textbook PyTorch loop doing what ``fit`` does for notebook 01: AdamW, one-cycle
    schedule, cross-entropy, and validation loss and accuracy after each epoch. Nothing else.
    Like ``fit``, it stores the model's weights channels-last and leaves the batches as they come."""
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(train_loader), pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss.item()
        model.eval()
        with torch.no_grad():
            for x, y in val_loader:
                out = model(x)
                loss_fn(out, y).item()
                (out.argmax(1) == y).sum().item()


def fit_overhead(quick: bool = False, repeats: int = 6, epochs: int = 2) -> list[dict[str, Any]]:
    """Seconds for notebook 01's training with ``cvlearn.train.fit`` vs :func:`bare_loop`.

    Both start from the same weights and see the same batches. The two run back to back in
    ``repeats`` pairs, and the ratio is the median of the pairs' fit / bare ratios: a shared
    machine drifts by more than fit's overhead over a minute, but hardly within one pair.
    Whichever runs second in a pair runs a little faster (warm caches), so pairs alternate
    their order (bare-fit, fit-bare, ...).
    """
    from .metrics import accuracy
    from .recipes.classification import CONFIG, QUICK, build_model, load_splits, make_loaders
    from .train import fit, seed_everything

    config = QUICK if quick else CONFIG
    repeats, epochs = (1, 1) if quick else (repeats, epochs)
    splits = load_splits(config, quick=quick, progress=False)
    train_loader, val_loader = make_loaders(splits["train"], splits["val"], config)
    args: dict[str, Any] = {"epochs": epochs, "lr": config.lr, "weight_decay": config.weight_decay}
    pairs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        bare_loop(
            build_model(splits["train"], config),
            train_loader,
            val_loader,
            channels_last=config.channels_last,
            **{**args, "epochs": 1},
        )  # warm-up: first-call costs are not the loop's
        for r in range(repeats):
            pair = {}
            for name in ("bare", "fit") if r % 2 == 0 else ("fit", "bare"):
                seed_everything(config.seed)
                model = build_model(splits["train"], config)
                start = time.perf_counter()
                if name == "bare":
                    bare_loop(model, train_loader, val_loader, channels_last=config.channels_last, **args)
                else:
                    fit(
                        model,
                        train_loader,
                        val_loader,
                        loss_fn=nn.CrossEntropyLoss(),
                        metrics={"accuracy": accuracy},
                        seed=config.seed,
                        channels_last=config.channels_last,
                        checkpoint=Path(tmp) / "best.pt",
                        progress=False,
                        **args,
                    )
                pair[name] = time.perf_counter() - start
            pairs.append(pair)
    ratio = statistics.median(p["fit"] / p["bare"] for p in pairs)
    return [
        {
            "comparison": "cvlearn.train.fit vs a bare PyTorch loop (notebook 01)",
            "ours": round(statistics.median(p["fit"] for p in pairs), 2),
            "baseline": round(statistics.median(p["bare"] for p in pairs), 2),
            "ratio": round(ratio, 3),
            "note": f"seconds for {epochs} epochs, medians of {repeats}; ratio: median of the back-to-back "
            f"pairs' ratios; ratio - 1 is fit's overhead ({100 * (ratio - 1):+.1f} %, bar ≤ +5 %)",
        }
    ]


def noisy_detections(targets: Sequence[dict], num_classes: int, seed: int = 0) -> list[dict]:
    """Plausible detector output made from ground truth: jittered boxes, some duplicates, some
    wrong classes, some misses and some boxes on nothing, with random scores (ties included)."""
    g = torch.Generator().manual_seed(seed)
    predictions = []
    for t in targets:
        boxes, labels = torch.as_tensor(t["boxes"]).float().reshape(-1, 4), torch.as_tensor(t["labels"])
        keep = torch.rand(len(boxes), generator=g) > 0.1
        boxes, labels = boxes[keep], labels[keep].clone()
        dup = torch.rand(len(boxes), generator=g) < 0.2
        boxes, labels = torch.cat([boxes, boxes[dup]]), torch.cat([labels, labels[dup]])
        size = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
        boxes = boxes + torch.randn(boxes.shape, generator=g) * 0.08 * size
        swap = torch.rand(len(labels), generator=g) < 0.1
        labels[swap] = torch.randint(1, num_classes, (int(swap.sum()),), generator=g)
        xy = torch.rand(3, 2, generator=g) * 80
        junk = torch.cat([xy, xy + 8 + torch.rand(3, 2, generator=g) * 20], 1)
        boxes = torch.cat([boxes, junk])
        labels = torch.cat([labels, torch.randint(1, num_classes, (3,), generator=g)])
        scores = torch.randint(1, 20, (len(boxes),), generator=g).float() / 20
        predictions.append({"boxes": boxes, "labels": labels, "scores": scores})
    return predictions


def _best_time(fn: Any, repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def map_agreement(quick: bool = False) -> list[dict[str, Any]]:
    """``cvlearn.metrics.mean_average_precision`` vs pycocotools' COCOeval on the same predictions.

    The predictions are :func:`noisy_detections` of the toy-fruit test split (misses, duplicates,
    wrong classes, background boxes, tied scores); both compute all twelve COCO numbers.
    """
    from .data import toy
    from .metrics.coco import coco_evaluate
    from .metrics.detection import mean_average_precision
    from .tasks import get

    test = toy.load(get("detection").toy_dataset, "test", n=40 if quick else None, progress=False)
    targets = [test.target(i) for i in range(len(test))]
    predictions = noisy_detections(targets, len(test.categories))
    ours_s, ours = _best_time(lambda: mean_average_precision(predictions, targets, test.categories), 1 if quick else 3)
    coco_s, coco = _best_time(
        lambda: coco_evaluate(predictions, targets, test.categories, (test.size, test.size)), 1 if quick else 3
    )
    diffs = [abs(ours[k] - coco[k]) for k in coco if not (ours[k] != ours[k] and coco[k] != coco[k])]
    return [
        {
            "comparison": f"mAP: cvlearn vs pycocotools COCOeval ({len(targets)} images)",
            "ours": round(ours["ap"], 6),
            "baseline": round(coco["ap"], 6),
            "ratio": round(ours["ap"] / coco["ap"], 6),
            "note": f"mAP@[.5:.95]; largest difference over the 12 COCO numbers {max(diffs):.1e}",
        },
        {
            "comparison": "mAP: seconds to evaluate, cvlearn vs pycocotools",
            "ours": round(ours_s, 3),
            "baseline": round(coco_s, 3),
            "ratio": round(ours_s / coco_s, 2),
            "note": "best of 3; ratio < 1 means cvlearn is faster",
        },
    ]


def maskrcnn_vs_stock(quick: bool = False) -> list[dict[str, Any]]:
    """Seconds of training until mask AP@0.5 ≥ 0.5 on toy-pens: the course's small Mask R-CNN
    recipe vs torchvision's stock ``maskrcnn_resnet50_fpn`` configuration (800 px resize).

    The stock model gets 480 s; if it has not reached the target by then, the ratio is a lower
    bound and the note says so (see :func:`cvlearn.recipes.instance.compare_with_stock`).
    ``quick`` trains each for a few seconds on one picture: it checks the plumbing, not the speed.
    """
    from .recipes.instance import compare_with_stock

    if quick:
        return [compare_with_stock(budget_s=5.0, stock_budget_s=5.0, eval_every=1, eval_images=1, quick=True)]
    return [compare_with_stock()]
