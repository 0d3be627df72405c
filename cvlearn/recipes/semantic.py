"""Semantic segmentation on toy-pasture: the configurations notebook 04 trains, and its recipe.

``CONFIGS`` holds the three models the notebook compares (an FCN, the same with transposed
convolutions, a small U-Net); ``UNET`` is the one the recipe ``semantic`` trains and scores. The
notebook builds its loaders, loss and model from these same objects, so ``cvlearn bench`` and the
notebook's scorecard cannot drift apart.

Training uses whole-split tensors (``ds.images``, ``ds.semantic_masks``) held in memory, random
horizontal flips (a flipped pasture is still a pasture: the labels flip with the pixels), a
per-pixel cross-entropy weighted by median-frequency balancing, and :func:`cvlearn.train.fit`.
On real photos (``voc2012``) pixels marked ``dataset.ignore_index`` (255: VOC's outlines) are left
out of the class weights, the loss and every score; toy datasets have no such pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .. import data
from ..images import as_float_images
from ..metrics.classification import confusion_matrix
from ..metrics.segmentation import segmentation_scores
from ..models.segmentation import FCN, UNet, median_frequency_weights, predict_classes
from ..train import History, fit, seed_everything
from ._base import Result, Stopwatch, count_parameters, register

MODELS = ("fcn", "fcn-transposed", "unet")


@dataclass(frozen=True)
class SegmentationConfig:
    """Everything that decides one semantic-segmentation run.

    model: ``"fcn"`` (bilinear upsampling), ``"fcn-transposed"`` or ``"unet"``; width, depth:
    the encoder's first-block channels and number of poolings; class_weights: weigh the loss by
    median-frequency balancing; flip: random horizontal flips while training.
    """

    model: str = "unet"
    width: int = 16
    depth: int = 3
    epochs: int = 3
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-4
    class_weights: bool = True
    flip: bool = True
    dataset: str = "toy-pasture"

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")

    def build_model(self, num_classes: int) -> nn.Module:
        """A freshly initialised model of this configuration (seed torch first for repeatable weights)."""
        if self.model == "unet":
            return UNet(num_classes, self.width, self.depth)
        upsample = "transposed" if self.model == "fcn-transposed" else "bilinear"
        return FCN(num_classes, self.width, self.depth, upsample=upsample)

    def fit_options(self) -> dict:
        """The keyword arguments of :func:`cvlearn.train.fit` this configuration fixes."""
        return {"epochs": self.epochs, "lr": self.lr, "weight_decay": self.weight_decay}


UNET = SegmentationConfig(model="unet", epochs=3)
FCN_BILINEAR = replace(UNET, model="fcn", epochs=2)
FCN_TRANSPOSED = replace(UNET, model="fcn-transposed", epochs=2)
CONFIGS = {"fcn": FCN_BILINEAR, "fcn-transposed": FCN_TRANSPOSED, "unet": UNET}
"""The three models notebook 04 trains and compares; the recipe trains ``UNET``."""

QUICK = replace(UNET, width=8, epochs=2, batch_size=8)
"""The tests' quick run: a narrow U-Net on fewer pictures (:data:`QUICK_SIZES`), long enough to
tell sky, grass and sheep apart (about 1 s; mIoU about 0.6, untrained about 0.14)."""

QUICK_SIZES = {"train": 128, "val": 16, "test": 32}


class SegmentationPairs(Dataset):
    """(image, mask) pairs from whole-split tensors, optionally flipped left-right at random.

    images: (N, 3, H, W) uint8; masks: (N, H, W) class indices. Items are
    ``(image: (3, H, W) float 0..1, mask: (H, W) int64)``; a flip moves image and mask together.
    """

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, flip: bool = False) -> None:
        if len(images) != len(masks) or images.shape[-2:] != masks.shape[-2:]:
            raise ValueError(
                f"images (N, 3, H, W) and masks (N, H, W) must match, got {tuple(images.shape)} "
                f"and {tuple(masks.shape)}"
            )
        self.images, self.masks, self.flip = as_float_images(images), masks.long(), flip

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.images[index], self.masks[index]
        if self.flip and torch.rand(()) < 0.5:
            image, mask = image.flip(-1), mask.flip(-1)
        return image, mask


def ignore_index_of(dataset: Any) -> int | None:
    """The mask value of a dataset's unlabelled pixels (``dataset.ignore_index``), or None."""
    return getattr(dataset, "ignore_index", None)


def make_loader(dataset: data.AnyDataset, config: SegmentationConfig, train: bool = True) -> DataLoader:
    """Batches of ``(images: (B, 3, H, W) float, masks: (B, H, W) int64)`` from a whole split."""
    pairs = SegmentationPairs(dataset.images, dataset.semantic_masks, flip=train and config.flip)
    return DataLoader(pairs, batch_size=config.batch_size, shuffle=train, num_workers=0)


def make_loss(config: SegmentationConfig, train: data.AnyDataset) -> nn.CrossEntropyLoss:
    """Per-pixel cross-entropy, weighted by median-frequency balancing of the training masks when
    ``config.class_weights``. It takes ``logits: (B, C, H, W)`` and ``masks: (B, H, W)``; pixels
    equal to the dataset's ``ignore_index`` add nothing to it."""
    ignored = ignore_index_of(train)
    weights = (
        median_frequency_weights(train.semantic_masks, len(train.semantic_classes), ignore_index=ignored)
        if config.class_weights
        else None
    )
    return nn.CrossEntropyLoss(weight=weights, ignore_index=-100 if ignored is None else ignored)


def evaluate(model: nn.Module, dataset: data.AnyDataset) -> tuple[dict, torch.Tensor]:
    """Scores on a whole split: ``({"miou", "pixel_accuracy", "iou": {class: IoU}}, confusion (C, C))``."""
    classes = dataset.semantic_classes
    matrix = confusion_matrix(
        predict_classes(model, dataset.images), dataset.semantic_masks, len(classes), ignore_index_of(dataset)
    )
    return segmentation_scores(matrix, classes), matrix


def make_evaluator(dataset: data.AnyDataset) -> Callable[[nn.Module], dict[str, float]]:
    """``evaluate(model) -> {"miou", "pixel_accuracy"}`` on ``dataset``, for ``fit(evaluate=...)``."""

    def scores(model: nn.Module) -> dict[str, float]:
        result, _ = evaluate(model, dataset)
        return {"miou": result["miou"], "pixel_accuracy": result["pixel_accuracy"]}

    return scores


def train(
    config: SegmentationConfig,
    train_set: data.AnyDataset,
    val_set: data.AnyDataset,
    seed: int = 0,
    progress: bool = True,
    device: str | torch.device | None = None,
) -> tuple[nn.Module, History]:
    """Build the model of ``config`` and fit it; the weights of the epoch with the best val mIoU are kept.

    ``device``: where to train (``None``: CUDA, then MPS, then the CPU); the model stays there.
    """
    seed_everything(seed)
    model = config.build_model(len(train_set.semantic_classes))
    history = fit(
        model,
        make_loader(train_set, config),
        loss_fn=make_loss(config, train_set),
        evaluate=make_evaluator(val_set),
        monitor="val_miou",
        seed=seed,
        progress=progress,
        device=device,
        **config.fit_options(),
    )
    return model, history


@register("semantic")
def semantic(*, quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """The U-Net of notebook 04 on toy-pasture; mIoU and pixel accuracy on the test split.

    ``seed`` seeds the weights and the batch order; the data is always drawn with seed 0.
    ``quick=True``: :data:`QUICK` on small splits (seconds long).
    """
    config = QUICK if quick else UNET
    splits = {
        split: data.load(config.dataset, split, n=QUICK_SIZES[split] if quick else None, progress=progress)
        for split in ("train", "val", "test")
    }
    with Stopwatch() as training:
        model, history = train(config, splits["train"], splits["val"], seed=seed, progress=progress)
    with Stopwatch() as scoring:
        scores, _ = evaluate(model, splits["test"])
    return Result(
        "semantic",
        {"miou": scores["miou"], "pixel_accuracy": scores["pixel_accuracy"]},
        train_s=training.seconds,
        eval_s=scoring.seconds,
        train_images=len(history.step_losses) * config.batch_size,
        params=count_parameters(model),
        device=history.device,
        model=model,
        history=history,
        config=asdict(config),
    )
