"""Cat or dog: the reference recipe of notebook 01, and the one configuration both of them train.

``CONFIG`` is read by this recipe *and* by ``notebooks/01_classification.ipynb``, so
``cvlearn bench`` and the notebook's scorecard describe the same model trained the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .. import data
from ..metrics.classification import accuracy
from ..models.classification import SimpleCNN, channel_stats, predict_probabilities
from ..train import fit, seed_everything
from ._base import Result, Stopwatch, count_parameters, register


@dataclass(frozen=True)
class ClassificationConfig:
    """Everything that decides what the cat-or-dog model learns and how fast.

    The classes differ in shape only (ears, muzzle, face), so the network needs BatchNorm to
    train quickly, enough depth to see a whole head, and a global pool so a head counts wherever
    it is. A mirror image of a cat is still a cat, so random horizontal flips double the data
    for free. The one-cycle schedule warms the learning rate up to ``lr`` and anneals it to zero.
    """

    dataset: str = "toy-pets"
    widths: tuple[int, ...] = (16, 32, 64, 128)
    batch_size: int = 64
    epochs: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-4
    flip: bool = True
    channels_last: bool = True
    seed: int = 0


CONFIG = ClassificationConfig()
"""The configuration notebook 01 trains and ``cvlearn bench`` measures."""

QUICK = ClassificationConfig(widths=(8, 16, 32, 64), epochs=6)
"""The tests' quick run: a narrower net on fewer pictures (:data:`QUICK_SIZES`), still long enough
to tell cats from dogs (about 5 s on 2 cores, test accuracy about 0.85 where chance is 0.5)."""

QUICK_SIZES = {"train": 1024, "val": 64, "test": 200}


def random_flip(images: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Mirror each picture left-right with probability ``p``: (N, C, H, W) → (N, C, H, W), a copy."""
    flip = torch.rand(len(images)) < p
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def collate_flipped(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(image, label)`` pairs into a batch, then flip about half the pictures at random."""
    images, labels = torch.utils.data.default_collate(batch)
    return random_flip(images), labels


def make_loaders(
    train: data.AnyDataset, val: data.AnyDataset, config: ClassificationConfig = CONFIG
) -> tuple[DataLoader, DataLoader]:
    """Training and validation loaders straight from the split tensors (uint8 pictures, int64 labels).

    The training loader shuffles, flips (if ``config.flip``) and drops the last, smaller batch so
    that BatchNorm never sees a batch of one; the validation loader keeps everything in order.
    """
    train_loader = DataLoader(
        TensorDataset(train.images, train.targets),
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(train) > config.batch_size,
        collate_fn=collate_flipped if config.flip else None,
        num_workers=0,
    )
    val_loader = DataLoader(TensorDataset(val.images, val.targets), batch_size=250, num_workers=0)
    return train_loader, val_loader


def build_model(train: data.AnyDataset, config: ClassificationConfig = CONFIG) -> SimpleCNN:
    """A fresh :class:`SimpleCNN` for ``train``'s classes, normalising with its channel statistics."""
    mean, std = channel_stats(train.images)
    return SimpleCNN(num_classes=len(train.classes), widths=config.widths, mean=mean, std=std)


def load_splits(
    config: ClassificationConfig = CONFIG, quick: bool = False, progress: bool = True
) -> dict[str, data.AnyDataset]:
    """The train, val and test splits of ``config.dataset`` (small ones, :data:`QUICK_SIZES`, when ``quick``)."""
    return {
        split: data.load(config.dataset, split, n=QUICK_SIZES[split] if quick else None, progress=progress)
        for split in ("train", "val", "test")
    }


def split_accuracy(model: nn.Module, split: data.AnyDataset) -> float:
    """Share of the split's pictures whose most probable class is the true one."""
    return accuracy(predict_probabilities(model, split.images), split.targets)


@register("classification")
def classification(
    *, quick: bool = False, seed: int = CONFIG.seed, progress: bool = True, checkpoint: str | Path | None = None
) -> Result:
    """Train :class:`SimpleCNN` on toy-pets with :data:`CONFIG`; score accuracy on the test split."""
    config = QUICK if quick else CONFIG
    splits = load_splits(config, quick, progress)
    train_loader, val_loader = make_loaders(splits["train"], splits["val"], config)
    seed_everything(seed)  # the same starting weights every run, not just the same batches
    model = build_model(splits["train"], config)
    with Stopwatch() as train_time:
        history = fit(
            model,
            train_loader,
            val_loader,
            epochs=config.epochs,
            lr=config.lr,
            weight_decay=config.weight_decay,
            loss_fn=nn.CrossEntropyLoss(),
            metrics={"accuracy": accuracy},
            seed=seed,
            channels_last=config.channels_last,
            checkpoint=checkpoint,
            progress=progress,
        )
    with Stopwatch() as eval_time:
        score = split_accuracy(model, splits["test"])
    return Result(
        recipe="classification",
        metrics={"accuracy": score},
        train_s=train_time.seconds,
        eval_s=eval_time.seconds,
        train_images=len(history.epochs) * len(train_loader) * config.batch_size,
        params=count_parameters(model),
        device=history.device,
        model=model,
        history=history,
        config={**asdict(config), "seed": seed},
    )
