"""Where is the animal? The reference recipe of notebook 02, and the one configuration both train.

``CONFIG`` is read by this recipe *and* by ``notebooks/02_localisation.ipynb``: the notebook
builds its loaders, model and loss with the same functions, so ``cvlearn bench`` and the
notebook's scorecard describe the same model trained the same way.

Training reads whole-split tensors (``ds.images``, ``ds.targets`` and the main boxes gathered
once), flips pictures left-right at random (the box flips with them), and minimises
:class:`~cvlearn.models.localisation.LocalisationLoss` with :func:`cvlearn.train.fit`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from .. import data
from ..metrics.localisation import localisation_scores
from ..models.classification import channel_stats
from ..models.localisation import LocalisationData, LocalisationLoss, Localiser, localise, main_boxes
from ..train import History, fit
from ._base import Result, Stopwatch, count_parameters, register


@dataclass(frozen=True)
class LocalisationConfig:
    """Everything that decides what the localiser learns and how fast.

    widths: channels of the shared conv blocks (notebook 01's backbone and one block more, so
    each cell of the last map sees the whole animal); grid, hidden: the box head reads a
    ``grid × grid`` map through ``hidden`` units; l1_weight, giou_weight, beta: the
    box terms of the loss (see :class:`~cvlearn.models.localisation.LocalisationLoss`); flip:
    random left-right flips of picture and box; channels_last: a faster memory layout for
    convolutions on the CPU.
    """

    dataset: str = "toy-pets"
    widths: tuple[int, ...] = (16, 32, 64, 128, 256)
    grid: int = 2
    hidden: int = 256
    batch_size: int = 64
    epochs: int = 12
    lr: float = 5e-3
    weight_decay: float = 1e-4
    l1_weight: float = 5.0
    giou_weight: float = 2.0
    beta: float = 0.02
    flip: bool = True
    channels_last: bool = True

    def build_model(self, train: data.AnyDataset) -> Localiser:
        """A fresh :class:`Localiser` for ``train``'s classes, normalising with its channel statistics."""
        mean, std = channel_stats(train.images)
        return Localiser(
            num_classes=len(train.classes), widths=self.widths, grid=self.grid, hidden=self.hidden, mean=mean, std=std
        )

    def make_loss(self) -> LocalisationLoss:
        """The combined class + box loss of this configuration."""
        return LocalisationLoss(l1_weight=self.l1_weight, giou_weight=self.giou_weight, beta=self.beta)

    def fit_options(self) -> dict:
        """The keyword arguments of :func:`cvlearn.train.fit` this configuration fixes."""
        return {
            "epochs": self.epochs,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "channels_last": self.channels_last,
        }


CONFIG = LocalisationConfig()
"""The configuration notebook 02 trains and ``cvlearn bench`` measures."""

QUICK = LocalisationConfig(widths=(8, 16), grid=2, hidden=16, batch_size=32, epochs=3)
"""The tests' quick run: a tiny net on fewer pictures (:data:`QUICK_SIZES`), long enough to point
at the animal (about 1 s; mean IoU about 0.55, where an untrained net scores about 0.37)."""

QUICK_SIZES = {"train": 512, "val": 64, "test": 128}


def load_splits(
    config: LocalisationConfig = CONFIG, quick: bool = False, progress: bool = True
) -> dict[str, data.AnyDataset]:
    """The train, val and test splits of ``config.dataset`` (small ones, :data:`QUICK_SIZES`, when ``quick``)."""
    return {
        split: data.load(config.dataset, split, n=QUICK_SIZES[split] if quick else None, progress=progress)
        for split in ("train", "val", "test")
    }


def make_loaders(
    train: data.AnyDataset, val: data.AnyDataset, config: LocalisationConfig = CONFIG
) -> tuple[DataLoader, DataLoader]:
    """Training and validation loaders of ``(images (B, 3, H, W) uint8, {"labels", "boxes"})``.

    The training loader shuffles, flips (if ``config.flip``) and drops the last, smaller batch so
    that BatchNorm never sees a batch of one; the validation loader keeps everything in order.
    """
    train_loader = DataLoader(
        LocalisationData.from_dataset(train, flip=config.flip),
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(train) > config.batch_size,
        num_workers=0,
    )
    val_loader = DataLoader(LocalisationData.from_dataset(val), batch_size=250, num_workers=0)
    return train_loader, val_loader


def evaluate(
    model: nn.Module, split: data.AnyDataset, true_boxes: torch.Tensor | None = None
) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """Scores on a whole split and the predictions they came from.

    Returns ``({"accuracy", "mean_iou", "iou50", "hit50"}, {"labels", "scores", "boxes"})``,
    boxes XYXY in pixels. ``true_boxes`` (N, 4) saves gathering the split's main boxes again.
    """
    true_boxes = main_boxes(split) if true_boxes is None else true_boxes
    predictions = localise(model, split.images)
    scores = localisation_scores(predictions["labels"], predictions["boxes"], split.targets, true_boxes)
    return scores, predictions


def make_evaluator(split: data.AnyDataset) -> Callable[[nn.Module], dict[str, float]]:
    """``evaluate(model) -> {"accuracy", "mean_iou"}`` on ``split``, for ``fit(evaluate=...)``."""
    true_boxes = main_boxes(split)

    def scores(model: nn.Module) -> dict[str, float]:
        result, _ = evaluate(model, split, true_boxes)
        return {"accuracy": result["accuracy"], "mean_iou": result["mean_iou"]}

    return scores


def train(
    config: LocalisationConfig,
    train_set: data.AnyDataset,
    val_set: data.AnyDataset,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Localiser, History]:
    """Build the model of ``config`` and fit it; the weights of the epoch with the best val mean IoU are kept."""
    torch.manual_seed(seed)
    model = config.build_model(train_set)
    train_loader, val_loader = make_loaders(train_set, val_set, config)
    history = fit(
        model,
        train_loader,
        val_loader,
        loss_fn=config.make_loss(),
        evaluate=make_evaluator(val_set),
        monitor="val_mean_iou",
        seed=seed,
        progress=progress,
        **config.fit_options(),
    )
    return model, history


@register("localisation")
def localisation(*, quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """Train :class:`Localiser` on toy-pets with :data:`CONFIG`; score it on the test split.

    Metrics: ``accuracy`` and ``mean_iou`` (the benchmark's), plus ``iou50`` (share of boxes with
    IoU ≥ 0.5) and ``hit50`` (class right and IoU ≥ 0.5). ``seed`` seeds the weights and the
    batch order; the data is always drawn with seed 0. ``quick=True``: :data:`QUICK` on small
    splits (seconds long).
    """
    config = QUICK if quick else CONFIG
    splits = load_splits(config, quick, progress)
    with Stopwatch() as training:
        model, history = train(config, splits["train"], splits["val"], seed=seed, progress=progress)
    with Stopwatch() as scoring:
        scores, _ = evaluate(model, splits["test"])
    return Result(
        "localisation",
        scores,
        train_s=training.seconds,
        eval_s=scoring.seconds,
        train_images=len(history.step_losses) * config.batch_size,
        params=count_parameters(model),
        device=history.device,
        model=model,
        history=history,
        config={**asdict(config), "seed": seed},
    )
