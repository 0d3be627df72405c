"""The pieces every recipe shares: its :class:`Result`, the :data:`RECIPES` registry, timing and counting.

Which recipes each task's notebook trains (and ``cvlearn bench`` runs by default) is said once,
in :data:`cvlearn.tasks.TASKS`.

The recipe modules import these from here (not from the package), so that the package's
``__init__`` only gathers the recipes and no recipe imports its own package.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..train import History

__all__ = [
    "RECIPES",
    "RecipeFn",
    "RecipeModule",
    "Result",
    "Stopwatch",
    "count_parameters",
    "rcnn_fit_options",
    "register",
]


@dataclass
class Result:
    """What one recipe run produced.

    metrics: scores on the test split, named as in the benchmark schema; its task's headline
    ones (``Task.metrics`` in :mod:`cvlearn.tasks`) among them; train_s / eval_s: wall-clock
    seconds; train_images: images seen in training (for images per second); params: trainable
    parameters.
    """

    recipe: str
    metrics: dict[str, float]
    train_s: float
    eval_s: float
    train_images: int
    params: int
    device: str
    model: nn.Module | None = None
    history: History | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def images_per_s(self) -> float:
        return self.train_images / self.train_s if self.train_s > 0 else 0.0


RecipeFn = Callable[..., Result]
RECIPES: dict[str, RecipeFn] = {}
"""Every recipe function, by the name ``cvlearn bench --only NAME`` knows it by."""


def register(name: str) -> Callable[[RecipeFn], RecipeFn]:
    """Decorator: list a recipe function under ``name`` in :data:`RECIPES`."""

    def add(fn: RecipeFn) -> RecipeFn:
        RECIPES[name] = fn
        return fn

    return add


def rcnn_fit_options(config: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`cvlearn.train.fit` that an R-CNN recipe's configuration fixes
    (Mask R-CNN's, Keypoint R-CNN's: ``epochs``, ``lr``, ``weight_decay``, ``optimizer``,
    ``schedule``, ``max_seconds``, ``channels_last``). torchvision's R-CNNs compute their own
    losses (``loss_fn=None``) and train to the end of their schedule: there is no validation
    score to watch (``monitor=None``) and no best epoch to go back to."""
    return {
        "epochs": config.epochs,
        "loss_fn": None,
        "lr": config.lr,
        "weight_decay": config.weight_decay,
        "optimizer": config.optimizer,
        "schedule": config.schedule,
        "monitor": None,
        "restore_best": False,
        "max_seconds": config.max_seconds,
        "channels_last": config.channels_last,
    }


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class Stopwatch:
    """``with Stopwatch() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


class RecipeModule(types.ModuleType):
    """A recipe module that can be called: ``recipes.detection(quick=True)`` runs the module's
    function of the same name. The module stays a module, so ``recipes.detection.DETECTOR`` and
    ``from cvlearn.recipes.detection import DETECTOR`` keep working."""

    def __call__(self, **kwargs: Any) -> Result:
        return getattr(self, self.__name__.rpartition(".")[2])(**kwargs)
