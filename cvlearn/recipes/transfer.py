"""Learning from few labels: notebook 05's Mask R-CNN on toy-pens from a pretrained backbone.

Three ways to start, on the first ``n`` labelled training pictures:

* ``"scratch"``: every weight random (notebook 05's way);
* ``"frozen"``: the body of the backbone (:func:`cvlearn.models.load_body`) from the course
  backbone (:mod:`cvlearn.recipes.pretrain`) and frozen, BatchNorm statistics included; only
  the feature pyramid and the heads learn;
* ``"finetune"``: the same start, and everything learns, the body at a tenth of the heads'
  learning rate (two parameter groups), so that a few labels adjust its filters without
  wiping out what it knows.

:func:`run` trains one of them, :func:`study` all of them at several numbers of pictures, and
the ``transfer`` recipe compares fine-tuning on 100 pictures with notebook 05's recipe (from
scratch, on all 2,000), the bar of ``cvlearn bench``: ``fraction_of_scratch`` (its mask AP@0.5
over the from-scratch one) and ``time_ratio`` (its training seconds over the from-scratch ones).

On real photos the same lesson is taught the way practitioners meet it: torchvision's ResNet-18
with its ImageNet weights, a new head for the photos' classes, fine-tuned with the same two
parameter groups (:func:`resnet18_classifier`, :func:`finetune_photos`, :data:`PHOTO_CONFIG`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models import resnet18
from torchvision.ops.misc import FrozenBatchNorm2d

from .. import data
from ..metrics.classification import accuracy
from ..models.backbones import BODY_KEYS, body_state, load_body
from ..models.classification import Normalise
from ..train import History, fit, seed_everything
from ..weights import load_pretrained
from . import classification, instance, pretrain
from ._base import Result, Stopwatch, count_parameters, rcnn_fit_options, register

METHODS = ("scratch", "frozen", "finetune")
"""The three ways to start, see the module docstring."""


@dataclass(frozen=True)
class TransferConfig:
    """The data-efficiency study.

    target: the Mask R-CNN and its training (notebook 05's :data:`cvlearn.recipes.instance.CONFIG`);
        a run on ``n`` pictures keeps its schedule's shape but trains ``steps`` steps.
    sizes: the numbers of labelled pictures compared (the first ones of the train split).
    steps: training steps of every small-data run (each of ``target.batch_size`` pictures,
        drawn again and again, flipped and transposed, from the ``n`` there are).
    body_lr_factor: the fine-tuned body's learning rate, as a share of the heads'.
    test_pictures: the first pictures of the test split every run is scored on.
    headline: the number of pictures of the bench's bar.
    """

    target: instance.InstanceConfig = instance.CONFIG
    sizes: tuple[int, ...] = (25, 50, 100, 200, 500)
    steps: int = 150
    body_lr_factor: float = 0.1
    test_pictures: int = 200
    headline: int = 100
    backbone: pretrain.PretrainConfig = field(default_factory=lambda: pretrain.CONFIG)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CONFIG = TransferConfig()
"""The study notebook 07 runs and ``cvlearn bench --only transfer`` measures."""

QUICK = replace(
    CONFIG,
    target=replace(instance.CONFIG, batch_size=4),
    sizes=(16,),
    steps=30,
    test_pictures=16,
    headline=16,
    backbone=pretrain.QUICK,
)
"""The tests' quick run: one small size, 30 steps of 4 pictures, the quick backbone."""


# --------------------------------------------------------------------------------------------
# Starting from a pretrained body
# --------------------------------------------------------------------------------------------


def backbone_of(model: nn.Module) -> nn.Module:
    """A torchvision R-CNN's ``backbone`` (here a :class:`cvlearn.models.TinyFPNBackbone`)."""
    backbone = model.backbone
    if not isinstance(backbone, nn.Module):
        raise TypeError(f"model must have a backbone module (a torchvision R-CNN), got {type(model).__name__}")
    return backbone


def body_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of the body of ``model.backbone`` (stem and stages, not the pyramid)."""
    return [p for name in BODY_KEYS for p in getattr(backbone_of(model), name).parameters()]


def freeze_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``BatchNorm2d`` inside replaced by torchvision's ``FrozenBatchNorm2d``
    holding the same statistics: a frozen layer must not move its running means either, which
    ``requires_grad = False`` alone leaves to every training step."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(frozen, key).copy_(getattr(child, key).detach())
            setattr(module, name, frozen)
        else:
            freeze_batchnorm(child)
    return module


def freeze_body(model: nn.Module) -> None:
    """Freeze the body of ``model.backbone``: no gradients, BatchNorm statistics fixed."""
    for p in body_parameters(model):
        p.requires_grad_(False)
    for name in BODY_KEYS:
        freeze_batchnorm(getattr(backbone_of(model), name))


def start_from(model: nn.Module, method: str, body: Mapping[str, Tensor] | None) -> nn.Module:
    """``model`` (a fresh Mask R-CNN) made ready for ``method``: as it is (``"scratch"``), or with
    ``body`` (the course backbone's ``state_dict``) loaded, then frozen (``"frozen"``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method != "scratch":
        if body is None:
            raise ValueError(f"method {method!r} needs body, the pretrained backbone's state_dict; got None")
        load_body(backbone_of(model), body)
    if method == "frozen":
        freeze_body(model)
    return model


def split_groups(model: nn.Module, body: Sequence[nn.Parameter], lr: float, body_lr: float) -> list[dict[str, Any]]:
    """Two groups for the optimizer: ``body``'s trainable parameters at ``body_lr``, every other
    trainable parameter of ``model`` at ``lr`` (an empty group is left out)."""
    ids = {id(p) for p in body}
    groups = [
        {"params": [p for p in body if p.requires_grad], "lr": body_lr},
        {"params": [p for p in model.parameters() if p.requires_grad and id(p) not in ids], "lr": lr},
    ]
    return [g for g in groups if g["params"]]


def parameter_groups(model: nn.Module, lr: float, body_lr: float) -> list[dict[str, Any]]:
    """:func:`split_groups` for a Mask R-CNN: its pretrained body at ``body_lr``, the new feature
    pyramid and heads at ``lr``."""
    return split_groups(model, body_parameters(model), lr, body_lr)


def optimizer_for(model: nn.Module, method: str, config: TransferConfig = CONFIG) -> torch.optim.Optimizer:
    """AdamW over :func:`parameter_groups`: the body at ``config.body_lr_factor`` of the heads'
    rate when fine-tuning, at the same rate from scratch."""
    lr = config.target.lr
    body_lr = lr * config.body_lr_factor if method == "finetune" else lr
    return torch.optim.AdamW(parameter_groups(model, lr, body_lr), lr=lr, weight_decay=config.target.weight_decay)


# --------------------------------------------------------------------------------------------
# One run, and the study
# --------------------------------------------------------------------------------------------


def run_config(config: TransferConfig) -> instance.InstanceConfig:
    """The target's configuration for a run of ``config.steps`` steps, whatever its pictures."""
    return replace(config.target, epochs=1, images_per_epoch=config.steps * config.target.batch_size)


def train(
    method: str,
    pictures: int,
    body: Mapping[str, Tensor] | None,
    config: TransferConfig = CONFIG,
    seed: int = 0,
    progress: bool = True,
) -> tuple[nn.Module, History]:
    """Train notebook 05's Mask R-CNN on the first ``pictures`` training pictures, started as
    ``method`` says; returns (model, history)."""
    target = run_config(config)
    seed_everything(seed)
    train_set = data.load(
        target.dataset,
        "train",
        n=pictures,
        transforms=instance.augmentation() if target.flips else None,
        progress=progress,
    )
    model = start_from(instance.build_model(target, len(train_set.categories)), method, body)
    options = {**rcnn_fit_options(target), "optimizer": optimizer_for(model, method, config)}
    history = fit(model, instance.train_loader(train_set, target, seed), seed=seed, progress=progress, **options)
    return model, history


def score(model: nn.Module, config: TransferConfig = CONFIG, progress: bool = False) -> dict[str, float]:
    """COCO mask and box AP of ``model`` on the first ``config.test_pictures`` test pictures."""
    test_set = data.load(config.target.dataset, "test", n=config.test_pictures, progress=progress)
    return instance.evaluate(model, test_set, batch_size=config.target.eval_batch_size)


@dataclass(frozen=True)
class Run:
    """One cell of the study: ``method`` on ``pictures`` pictures, its scores and seconds."""

    method: str
    pictures: int
    mask_ap50: float
    mask_ap: float
    train_s: float


def run(
    method: str,
    pictures: int,
    body: Mapping[str, Tensor] | None,
    config: TransferConfig = CONFIG,
    progress: bool = True,
) -> Run:
    """Train (:func:`train`) and score (:func:`score`) one method on ``pictures`` pictures."""
    model, history = train(method, pictures, body, config, progress=progress)
    scores = score(model, config)
    return Run(method, pictures, scores["mask_ap50"], scores["mask_ap"], history.seconds)


def study(
    body: Mapping[str, Tensor],
    config: TransferConfig = CONFIG,
    methods: Sequence[str] = METHODS,
    sizes: Sequence[int] | None = None,
    progress: bool = True,
) -> list[Run]:
    """Every method at every number of pictures (``config.sizes`` unless ``sizes``)."""
    return [run(m, n, body, config, progress) for n in (sizes or config.sizes) for m in methods]


# --------------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------------


@register("transfer")
def transfer(*, quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """Fine-tune from the course backbone on ``config.headline`` pictures, against notebook 05's
    recipe from scratch on every picture: ``fraction_of_scratch`` and ``time_ratio``.

    The backbone is the cached one (trained first when missing; its time is not counted here,
    it is the ``pretrain`` recipe's). ``quick=True``: the quick backbone, one small run each.
    """
    config = QUICK if quick else CONFIG
    body = body_state(pretrain.backbone(config.backbone, progress=progress)) if not quick else _quick_body(progress)
    with Stopwatch() as clock:
        tuned, tuned_history = train("finetune", config.headline, body, config, seed, progress)
    if quick:
        scratch_model, scratch_history = train("scratch", config.headline, None, config, seed, progress)
    else:
        scratch_model, scratch_history, _ = instance.train(config.target, seed=seed, progress=progress)
    with Stopwatch() as eval_time:
        tuned_scores, scratch_scores = score(tuned, config), score(scratch_model, config)
    fraction = tuned_scores["mask_ap50"] / max(scratch_scores["mask_ap50"], 1e-9)
    metrics = {
        "fraction_of_scratch": fraction,
        "time_ratio": tuned_history.seconds / scratch_history.seconds,
        "finetune_mask_ap50": tuned_scores["mask_ap50"],
        "scratch_all_mask_ap50": scratch_scores["mask_ap50"],
        "finetune_train_s": tuned_history.seconds,
        "scratch_all_train_s": scratch_history.seconds,
    }
    return Result(
        recipe="transfer",
        metrics=metrics,
        train_s=clock.seconds,
        eval_s=eval_time.seconds,
        train_images=len(tuned_history.step_losses) * config.target.batch_size,
        params=count_parameters(tuned),
        device=tuned_history.device,
        model=tuned,
        history=tuned_history,
        config={**config.as_dict(), "dataset": config.target.dataset},
    )


def _quick_body(progress: bool) -> dict[str, Tensor]:
    """A quickly pretrained body for the tests (never cached: the cache holds the real one)."""
    model, _, _ = pretrain.train(pretrain.QUICK, progress)
    return body_state(model)


# --------------------------------------------------------------------------------------------
# Real photos: torchvision's ResNet-18, pretrained on ImageNet
# --------------------------------------------------------------------------------------------

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
"""The channel statistics torchvision's ImageNet weights were trained with (0..1 units)."""


@dataclass(frozen=True)
class PhotoConfig:
    """Fine-tuning ResNet-18 on real photos on a CPU (notebook 07's real-data path).

    weights: torchvision's weights (``None``: random, as CI's runs on stand-in photos are);
    size, pictures: photos resized to ``size`` pixels, the first ``pictures`` of the train split
    (``None``: all); the rest as in :class:`TransferConfig` and :func:`cvlearn.train.fit`.
    """

    dataset: str = "oxford-pets"
    weights: str | None = "ResNet18_Weights.IMAGENET1K_V1"
    size: int = 128
    pictures: int | None = 600
    epochs: int = 2
    batch_size: int = 32
    lr: float = 1e-3
    body_lr_factor: float = 0.1
    weight_decay: float = 1e-4
    max_seconds: float | None = 150.0


PHOTO_CONFIG = PhotoConfig()
"""Two epochs of 600 pet photos at 128 px; ``max_seconds`` ends it sooner on a slow machine."""


def resnet18_classifier(num_classes: int, weights: str | None = PHOTO_CONFIG.weights) -> nn.Module | None:
    """torchvision's ResNet-18 with a new ``num_classes``-way head and ImageNet's normalisation in
    front: (N, 3, H, W) uint8 or 0..1 float pictures → (N, num_classes) logits.

    ``weights=None`` starts from random weights. With weights that are neither cached nor
    downloadable (offline), one line says so and ``None`` comes back (see
    :func:`cvlearn.weights.load_pretrained`).
    """
    net = resnet18(weights=None) if weights is None else load_pretrained("resnet18", weights=weights)
    if net is None:
        return None
    old_head = net.get_submodule("fc")
    assert isinstance(old_head, nn.Linear)  # torchvision's ResNet ends in one
    net.fc = nn.Linear(old_head.in_features, num_classes)
    return nn.Sequential(Normalise(IMAGENET_MEAN, IMAGENET_STD), net)


def photo_parameter_groups(model: nn.Module, lr: float, body_lr: float) -> list[dict[str, Any]]:
    """:func:`split_groups` for :func:`resnet18_classifier`: ResNet-18's body at ``body_lr``, its
    new head (``fc``) at ``lr``."""
    head = {id(p) for p in model.get_submodule("1.fc").parameters()}
    return split_groups(model, [p for p in model.parameters() if id(p) not in head], lr, body_lr)


def finetune_photos(
    train_set: Any, val_set: Any, config: PhotoConfig = PHOTO_CONFIG, progress: bool = True
) -> tuple[nn.Module, History] | None:
    """Fine-tune :func:`resnet18_classifier` on ``train_set`` (a classification split: ``images``
    (N, 3, S, S) uint8, ``targets`` (N,) int64, ``classes``), validating on ``val_set``; returns
    (model, history), or ``None`` (after one line) when ``config.weights`` cannot be had."""
    model = resnet18_classifier(len(train_set.classes), config.weights)
    if model is None:
        return None
    loaders = classification.make_loaders(
        train_set, val_set, replace(classification.CONFIG, batch_size=config.batch_size)
    )
    optimizer = torch.optim.AdamW(
        photo_parameter_groups(model, config.lr, config.lr * config.body_lr_factor), weight_decay=config.weight_decay
    )
    history = fit(
        model,
        *loaders,
        epochs=config.epochs,
        loss_fn=nn.CrossEntropyLoss(),
        metrics={"accuracy": accuracy},
        optimizer=optimizer,
        max_seconds=config.max_seconds,
        progress=progress,
    )
    return model, history
