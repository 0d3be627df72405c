"""Crowd counting on toy-crowd: density maps against counting detections (notebook 06).

Two ways to count the people of a picture:

* **density** (:data:`CONFIG`): :class:`~cvlearn.models.counting.DensityNet`, a small CSRNet-like
  network, regresses a density map whose target is a sum of small Gaussians, one at each head
  (:func:`cvlearn.metrics.counting.density_map`), cut into cells of ``stride × stride`` pixels;
  the count is the map's sum;
* **detections** (:data:`DETECTION_BASELINE`), notebook 05's way: the course's small Faster R-CNN
  trained on toy-crowd's boxes; the count is the number of detections scoring above a threshold
  chosen on the val split (:func:`detection_counts`).

On toy-crowd (20 to 300 people a picture, a few pixels each, hiding one another) the detector
misses the far, small and hidden people, so its count falls further behind the bigger the
crowd; the density map has no boxes to miss. The recipe ``counting`` trains both and scores
them against the true counts of the test split: ``count_mae``, ``count_rmse`` (density),
``detection_count_mae`` (detections) and ``mean_count`` (the test split's, for scale).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

from .. import data
from ..images import as_float_images, collate_detection
from ..metrics.counting import count_errors, density_map
from ..models.counting import DensityNet, predict_counts
from ..models.detection import RCNNSettings, detect
from ..train import History, fit, seed_everything
from ._base import Result, Stopwatch, count_parameters, register
from .detection import DetectionConfig

__all__ = [
    "CONFIG",
    "CROWD_KEYS",
    "DETECTION_BASELINE",
    "DETECTION_SECONDS",
    "QUICK",
    "QUICK_DETECTION",
    "QUICK_DETECTION_SECONDS",
    "QUICK_SIZES",
    "CountingConfig",
    "CrowdBoxes",
    "CrowdSplit",
    "DensityPairs",
    "counting",
    "crowd_split",
    "density_loss",
    "density_targets",
    "detection_counts",
    "evaluate",
    "load_splits",
    "make_loader",
    "refresh_batchnorm",
    "threshold_for_counts",
    "train",
]


@dataclass(frozen=True)
class CountingConfig:
    """Everything that decides one density-map run.

    widths, dilations, stride, convs: the :class:`DensityNet` (front-end stage widths, back-end
        dilations, output stride, convolutions per stage).
    sigma: the head Gaussians' standard deviation in pixels. A head is 1 to 3 px across; a
        Gaussian of a couple of pixels spreads each person over a few cells, which is easier to
        regress than a single spike and still keeps neighbours apart.
    loss_scale: the per-cell mean squared error is multiplied by this; 1 here. Crowd papers
        scale the density (often by 100 to 1000) so that SGD's gradients are not tiny; AdamW's
        steps do not depend on the loss's scale (they are normalised by the gradients' size), so
        the scale only weighs the MSE against ``count_weight``'s term. What matters is the
        target's own scale: at stride 4 a cell holds people (0 to about 3, mean 0.16), fine
        for a linear output; at stride 1 cells hold hundredths.
    count_weight: weight of an extra term, the mean absolute error of each picture's count (the
        map's sum), which pulls on the whole map at once towards the number that is scored.
    batch_size, epochs, lr, weight_decay: AdamW with a one-cycle schedule (``fit``'s default).
    flips: random left-right flips (a mirrored plaza is still a plaza; upside down it is not,
        since people shrink towards the top).
    channels_last: a faster memory layout for convolutions on the CPU.
    max_seconds: a safety stop for training (twice the bar); the schedule is sized to end well
        before it (3 epochs took 54 s on one thread of a busy 2-core machine).
    bn_pictures: after training, BatchNorm's running statistics are recomputed as plain averages
        over this many training pictures (0: not). During training they are moving averages of
        batches of 8 taken while the weights still change, and a count is a sum over a thousand
        cells, so their lag shows as a bias of every count (up to 8 people, 5 %, on toy-crowd);
        recomputed with the final weights, the test MAE went from 14.1 to 12.7 in one run and
        from 14.7 to 13.0 in another.
    """

    dataset: str = "toy-crowd"
    widths: tuple[int, ...] = (16, 32, 32)
    dilations: tuple[int, ...] = (2, 2, 2)
    stride: int = 4
    convs: int = 1
    sigma: float = 2.0
    loss_scale: float = 1.0
    count_weight: float = 0.0
    batch_size: int = 8
    epochs: int = 3
    lr: float = 1e-2
    weight_decay: float = 1e-4
    flips: bool = True
    channels_last: bool = True
    max_seconds: float | None = 120.0
    bn_pictures: int = 400

    def build_model(self) -> DensityNet:
        """A freshly initialised :class:`DensityNet` of this configuration (seed torch first)."""
        return DensityNet(self.widths, self.dilations, self.stride, self.convs)

    def fit_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`cvlearn.train.fit` this configuration fixes."""
        return {
            "epochs": self.epochs,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "channels_last": self.channels_last,
            "max_seconds": self.max_seconds,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CONFIG = CountingConfig()
"""The density network notebook 06 trains and ``cvlearn bench`` measures as ``counting``."""

DETECTION_BASELINE = DetectionConfig(
    model="faster_rcnn",
    settings=RCNNSettings(
        image_size=128,
        # people are 2 to 8 px wide and 2 to 3 times as tall (height / width)
        anchor_sizes=(8, 16, 32),
        aspect_ratios=(1.0, 2.0, 3.0),
        # up to 300 people a picture: keep more proposals and detections than fruit needs
        rpn_pre_nms_top_n_train=1000,
        rpn_post_nms_top_n_train=500,
        rpn_pre_nms_top_n_test=1000,
        rpn_post_nms_top_n_test=500,
        rpn_batch_size_per_image=128,
        box_batch_size_per_image=128,
        box_detections_per_img=400,
    ),
    batch_size=8,
    epochs=1,
    lr=3e-3,
    flip=True,
    channels_last=True,
    dataset="toy-crowd",
)
"""Notebook 05's approach on toy-crowd: the course's small Faster R-CNN, sized for 128 px pictures
and hundreds of people."""

DETECTION_SECONDS = 60.0
"""The detector's training budget: the same minute the density network gets."""

QUICK = replace(CONFIG, epochs=4, max_seconds=None)
"""The tests' quick run: the notebook's network on fewer pictures (:data:`QUICK_SIZES`), 64 steps
(count MAE about 28 on a mean of 150; with the optimiser frozen, 195)."""

QUICK_DETECTION = replace(DETECTION_BASELINE, epochs=1)
"""The quick run's detector: at most one epoch on the quick training pictures, cut to
:data:`QUICK_DETECTION_SECONDS` (a smoke run: the tests only need its count to be a number)."""

QUICK_DETECTION_SECONDS = 5.0

QUICK_SIZES = {"train": 128, "val": 32, "test": 32}


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrowdSplit:
    """What counting needs of one split, read once, and nothing more: a whole target holds every
    person's mask (hundreds of 128 × 128 masks a picture, 2.6 GB for the training split), which
    counting never looks at.

    images: (N, 3, H, W) uint8; points: per picture (K, 2) head x, y in pixels; counts: (N,)
    float; boxes: per picture (K, 4) XYXY float; categories: the dataset's, background first.
    """

    images: Tensor
    points: list[Tensor]
    counts: Tensor
    boxes: list[Tensor]
    categories: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)


CROWD_KEYS = ("points", "count", "boxes")
"""The target keys counting reads (:meth:`cvlearn.data.ToyDataset.target`'s ``keys``)."""


def crowd_split(dataset: data.AnyDataset) -> CrowdSplit:
    """The images, head points, counts and boxes of every picture of ``dataset``, a toy dataset
    with head points (toy-crowd); its masks are never built (:data:`CROWD_KEYS`)."""
    if not isinstance(dataset, data.ToyDataset) or "points" not in dataset.target_keys:
        raise ValueError(f"dataset must be a toy dataset with head points, such as toy-crowd, got {dataset!r}")
    targets = [dataset.target(i, keys=CROWD_KEYS) for i in range(len(dataset))]
    return CrowdSplit(
        images=dataset.images,
        points=[t["points"] for t in targets],
        counts=torch.tensor([float(t["count"]) for t in targets]),
        boxes=[t["boxes"].as_subclass(Tensor).float() for t in targets],
        categories=tuple(dataset.categories),
    )


def density_targets(split: CrowdSplit, config: CountingConfig) -> Tensor:
    """(N, 1, H/s, W/s) float: each picture's target density map, one Gaussian of ``config.sigma``
    pixels per head, summed over cells of ``config.stride`` pixels (each map sums to the count)."""
    h, w = split.images.shape[-2:]
    cells = (h // config.stride, w // config.stride)
    maps = [density_map(points, (h, w), config.sigma, config.stride) for points in split.points]
    return torch.stack([torch.as_tensor(m, dtype=torch.float32).reshape(cells) for m in maps]).unsqueeze(1)


class DensityPairs(Dataset):
    """(image, density) pairs from whole-split tensors, optionally flipped left-right at random.

    images: (N, 3, H, W) uint8; density: (N, 1, h, w). Items are ``(image: (3, H, W) float 0..1,
    density: (1, h, w) float)``; a flip moves picture and map together.
    """

    def __init__(self, images: Tensor, density: Tensor, flip: bool = False) -> None:
        if len(images) != len(density) or density.ndim != 4 or density.shape[1] != 1:
            raise ValueError(
                f"images (N, 3, H, W) and density (N, 1, h, w) must match, got {tuple(images.shape)} "
                f"and {tuple(density.shape)}"
            )
        self.images, self.density, self.flip = images, density, flip

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        image, density = as_float_images(self.images[index]), self.density[index]
        if self.flip and torch.rand(()) < 0.5:
            image, density = image.flip(-1), density.flip(-1)
        return image, density


def make_loader(split: CrowdSplit, config: CountingConfig) -> DataLoader:
    """Shuffled training batches ``(images: (B, 3, H, W) float, density: (B, 1, h, w))``."""
    pairs = DensityPairs(split.images, density_targets(split, config), flip=config.flips)
    return DataLoader(pairs, batch_size=config.batch_size, shuffle=True, num_workers=0, drop_last=True)


def density_loss(config: CountingConfig) -> Callable[[Tensor, Tensor], Tensor]:
    """``loss(predicted, target)`` for (B, 1, h, w) maps: ``loss_scale`` × per-cell MSE, plus
    ``count_weight`` × the mean absolute error of the pictures' counts (the maps' sums)."""

    def loss(predicted: Tensor, target: Tensor) -> Tensor:
        value = config.loss_scale * F.mse_loss(predicted, target)
        if config.count_weight:
            value = (
                value + config.count_weight * (predicted.sum(dim=(1, 2, 3)) - target.sum(dim=(1, 2, 3))).abs().mean()
            )
        return value

    return loss


# --------------------------------------------------------------------------------------------
# Density network: training and scores
# --------------------------------------------------------------------------------------------


def evaluate(model: nn.Module, split: CrowdSplit) -> dict[str, float]:
    """``{"count_mae", "count_rmse", "mean_count"}`` of the model's counts (its maps' sums)
    against the true counts of a whole split."""
    return count_errors(predict_counts(model, split.images), split.counts)


def make_evaluator(split: CrowdSplit) -> Callable[[nn.Module], dict[str, float]]:
    """``evaluate(model) -> {"count_mae"}`` on ``split``, for ``fit(evaluate=...)``."""

    def scores(model: nn.Module) -> dict[str, float]:
        return {"count_mae": evaluate(model, split)["count_mae"]}

    return scores


def train(
    config: CountingConfig,
    train_set: CrowdSplit,
    val_set: CrowdSplit,
    seed: int = 0,
    progress: bool = True,
    device: str | torch.device | None = None,
) -> tuple[nn.Module, History]:
    """Build the network of ``config`` and fit it; the weights of the epoch with the lowest val
    count MAE are kept, then BatchNorm's statistics are recomputed over ``config.bn_pictures``
    training pictures (:func:`refresh_batchnorm`)."""
    loader = make_loader(train_set, config)
    seed_everything(seed)
    model = config.build_model()
    history = fit(
        model,
        loader,
        loss_fn=density_loss(config),
        evaluate=make_evaluator(val_set),
        monitor="val_count_mae",
        mode="min",  # an error: lower is better (fit would guess "max" for a name without "loss")
        seed=seed,
        progress=progress,
        device=device,
        **config.fit_options(),
    )
    refresh_batchnorm(model, train_set.images[: config.bn_pictures])
    return model, history


@torch.no_grad()
def refresh_batchnorm(model: nn.Module, images: Tensor, batch_size: int = 40) -> None:
    """Recompute every BatchNorm layer's running mean and variance as plain averages over
    ``images: (N, 3, H, W)`` uint8 or float, with the model's current weights; no-op for N = 0.

    The model is left in eval mode. Only the statistics change, never a weight.
    """
    if len(images) == 0:
        return
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # None: a cumulative average over every batch seen, not a moving one
    device = next(model.parameters()).device
    model.train()
    for start in range(0, len(images), batch_size):
        model(as_float_images(images[start : start + batch_size]).to(device))
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    model.eval()


# --------------------------------------------------------------------------------------------
# The baseline: counting detections
# --------------------------------------------------------------------------------------------


class CrowdBoxes(Dataset):
    """``(image: (3, H, W) float 0..1, target)`` for a detector, with ``boxes`` (K, 4) XYXY of the
    people that show at least one pixel (a person hidden entirely has an empty box, which
    torchvision's detectors refuse) and ``labels`` (K,); optionally flipped left-right."""

    def __init__(self, split: CrowdSplit, flip: bool = False) -> None:
        self.images, self.width, self.flip = split.images, split.images.shape[-1], flip
        self.targets = [self._visible(boxes) for boxes in split.boxes]

    @staticmethod
    def _visible(boxes: Tensor) -> dict[str, Tensor]:
        shown = boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]
        return {"boxes": shown, "labels": torch.ones(len(shown), dtype=torch.int64)}  # one category: person

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        image, target = as_float_images(self.images[index]), dict(self.targets[index])
        if self.flip and torch.rand(()) < 0.5:
            image, boxes = image.flip(-1), target["boxes"]
            target["boxes"] = torch.stack(
                [self.width - boxes[:, 2], boxes[:, 1], self.width - boxes[:, 0], boxes[:, 3]], 1
            )
        return image, target


def threshold_for_counts(scores: list[Tensor], counts: Tensor) -> float:
    """The score threshold whose detection counts come closest to ``counts`` (lowest MAE).

    scores: one (K,) tensor of detection scores per picture; counts: (N,) true counts. Tried:
    every threshold from 0.05 to 0.95 in steps of 0.01.
    """
    thresholds = torch.arange(0.05, 0.955, 0.01)
    found = torch.stack([(s[None, :] >= thresholds[:, None]).sum(dim=1) for s in scores], dim=1).float()  # (T, N)
    return float(thresholds[(found - counts).abs().mean(dim=1).argmin()])


def detection_counts(
    splits: Mapping[str, CrowdSplit],
    config: DetectionConfig = DETECTION_BASELINE,
    max_seconds: float | None = DETECTION_SECONDS,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Count people with a detector: train ``config`` on ``splits["train"]``'s boxes (at most
    ``max_seconds``), choose the score threshold on ``splits["val"]``, count on ``splits["test"]``.

    Returns ``{"counts": (N_test,) float, "threshold", "train_s", "steps", "model"}``.
    """
    seed_everything(seed)
    model = config.build_model(splits["train"].categories)
    pairs = CrowdBoxes(splits["train"], flip=config.flip)
    sampler = RandomSampler(pairs, generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(
        pairs, batch_size=config.batch_size, sampler=sampler, collate_fn=collate_detection, drop_last=True
    )
    history = fit(model, loader, seed=seed, progress=progress, max_seconds=max_seconds, **config.fit_options())
    val_scores = [d["scores"] for d in detect(model, splits["val"].images, batch_size=25)]
    threshold = threshold_for_counts(val_scores, splits["val"].counts)
    test_scores = [d["scores"] for d in detect(model, splits["test"].images, batch_size=25)]
    counts = torch.tensor([float((s >= threshold).sum()) for s in test_scores])
    return {
        "counts": counts,
        "threshold": threshold,
        "train_s": history.seconds,
        "steps": len(history.step_losses),
        "model": model,
    }


# --------------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------------


def load_splits(dataset: str, quick: bool = False, progress: bool = True) -> dict[str, CrowdSplit]:
    """The train, val and test splits, read once (small ones, :data:`QUICK_SIZES`, when ``quick``)."""
    return {
        split: crowd_split(data.load(dataset, split, n=QUICK_SIZES[split] if quick else None, progress=progress))
        for split in ("train", "val", "test")
    }


@register("counting")
def counting(*, quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """The density network of notebook 06 (:data:`CONFIG`) and the detection-count baseline
    (:data:`DETECTION_BASELINE`) on toy-crowd, both scored against the test split's true counts.

    Metrics: ``count_mae``, ``count_rmse`` (density), ``detection_count_mae`` (detections) and
    ``mean_count``. ``train_s`` is the density network's whole training (target maps, ``fit``
    with its val scoring, the BatchNorm refresh); ``config["fit_s"]`` is ``fit``'s training steps
    alone, and the detector's time is in ``config["detection"]``. ``seed`` seeds the weights and
    the batch order; the data is always drawn with seed 0. ``quick=True``: :data:`QUICK` and
    :data:`QUICK_DETECTION` on small splits.
    """
    config = QUICK if quick else CONFIG
    splits = load_splits(config.dataset, quick, progress)
    with Stopwatch() as training:
        model, history = train(config, splits["train"], splits["val"], seed=seed, progress=progress)
    counts = splits["test"].counts
    with Stopwatch() as scoring:
        scores = evaluate(model, splits["test"])
    detector = detection_counts(
        splits,
        QUICK_DETECTION if quick else DETECTION_BASELINE,
        max_seconds=QUICK_DETECTION_SECONDS if quick else DETECTION_SECONDS,
        seed=seed,
        progress=progress,
    )
    metrics = {
        "count_mae": scores["count_mae"],
        "count_rmse": scores["count_rmse"],
        "detection_count_mae": count_errors(detector["counts"], counts)["count_mae"],
        "mean_count": scores["mean_count"],
    }
    return Result(
        "counting",
        metrics,
        train_s=training.seconds,
        eval_s=scoring.seconds,
        train_images=len(history.step_losses) * config.batch_size,
        params=count_parameters(model),
        device=history.device,
        model=model,
        history=history,
        config={
            **config.as_dict(),
            "seed": seed,
            "fit_s": history.seconds,
            "detection": {
                **(QUICK_DETECTION if quick else DETECTION_BASELINE).as_dict(),
                "threshold": detector["threshold"],
                "train_s": detector["train_s"],
                "steps": detector["steps"],
            },
        },
    )
