"""The course backbone: the detectors' residual CNN pretrained on crops of every toy object.

Practitioners rarely train a detector from scratch: they start from a backbone pretrained on a
large classification task (ImageNet) and fine-tune it. Offline and on a CPU there is no
ImageNet, so the course makes its own: every object of the toy world (cats, dogs, apples,
oranges, sheep, pens, people and cars) cropped out of the training pictures of five toy datasets
into one 8-class classification task, learnt by :class:`cvlearn.models.BackboneClassifier`,
whose body is exactly the body of the course's :class:`~cvlearn.models.TinyFPNBackbone`.

:func:`backbone` returns the cached copy (``cvlearn.weights``' ``"course-backbone"``) or trains
and caches it; the ``pretrain`` recipe always trains, for ``cvlearn bench`` to time it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.ops import roi_align

from .. import data, weights
from ..metrics.classification import accuracy
from ..models.backbones import BackboneClassifier
from ..train import History, fit, seed_everything
from ._base import Result, Stopwatch, count_parameters, register
from .classification import collate_flipped

WEIGHTS = "course-backbone"
"""The name the course backbone is cached under (see :data:`cvlearn.weights.COURSE_WEIGHTS`)."""


@dataclass(frozen=True)
class PretrainConfig:
    """What the course backbone learns from, and how.

    datasets: the toy datasets whose objects are cropped; every category but the background
        becomes a class, in the order met (cat, dog, apple, orange, sheep, pen, person, car).
    crop_size: side of each crop in pixels; context: the margin around an object's box, as a
        share of its longer side on each side (a little background, as a detector's RoI sees).
    native_scale: cut a ``crop_size`` window around each object at the picture's own scale
        instead of resizing its box to fill the crop, so that the filters learn objects at the
        size a detector meets them (``context`` is then unused).
    per_class: at most this many training crops per class (the first ones, so every class
        weighs about the same); val_per_class likewise from the val splits.
    min_side: boxes with a shorter side (objects a few pixels across) are left out.
    pictures: read only the first this many pictures of each dataset's split (``None``: all).
    widths: the body's widths, those of :data:`cvlearn.models.SMALL` so the weights fit notebook
        05's Mask R-CNN.
    batch_size, epochs, lr, weight_decay: passed to :func:`cvlearn.train.fit` (AdamW, one-cycle).
    max_seconds: a safety stop, the issue's two minutes.
    """

    datasets: tuple[str, ...] = ("toy-pets", "toy-fruit", "toy-pasture", "toy-pens", "toy-street")
    crop_size: int = 48
    context: float = 0.15
    native_scale: bool = False
    per_class: int = 2500
    val_per_class: int = 150
    min_side: float = 4.0
    pictures: int | None = None
    widths: tuple[int, ...] = (24, 48, 96, 128)
    batch_size: int = 128
    epochs: int = 4
    lr: float = 4e-3
    weight_decay: float = 1e-4
    max_seconds: float | None = 120.0
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CONFIG = PretrainConfig()
"""The course backbone notebook 07 uses and ``cvlearn bench --only pretrain`` times."""

QUICK = replace(CONFIG, pictures=120, per_class=150, val_per_class=40, epochs=3, max_seconds=None)
"""The tests' quick run: a few crops per class, seconds of training."""


# --------------------------------------------------------------------------------------------
# The crops
# --------------------------------------------------------------------------------------------


def crop_windows(boxes: Tensor, context: float, size: int, native_scale: bool = False) -> Tensor:
    """Square windows around ``boxes``: (N, 4) XYXY pixels → (N, 4) XYXY pixels, each centred on
    its box with side ``(1 + 2 * context)`` times the box's longer side (with ``native_scale``,
    ``size`` pixels whatever the box), clamped into the picture only by RoIAlign's zero padding
    (so an object at the border stays centred)."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    if native_scale:
        half = torch.full((len(boxes), 1), size / 2)
    else:
        half = (boxes[:, 2:] - boxes[:, :2]).amax(1, keepdim=True) * (0.5 + context)
    return torch.cat([centre - half, centre + half], 1)


def object_crops(dataset: Any, config: PretrainConfig, chunk: int = 250) -> tuple[Tensor, Tensor, list[str]]:
    """Every object of ``dataset`` (with a box side ≥ ``config.min_side``) cut out and resized.

    Returns ``(crops, labels, names)``: (M, 3, S, S) uint8 crops, S = ``config.crop_size``; (M,)
    int64 indices into ``names``, the dataset's categories without the background.
    """
    names = list(dataset.categories[1:])
    crops, labels = [], []
    for start in range(0, len(dataset), chunk):
        stop = min(start + chunk, len(dataset))
        targets = [dataset.target(i, keys=("boxes", "labels")) for i in range(start, stop)]
        rois = []
        for j, target in enumerate(targets):
            boxes = target["boxes"].as_subclass(Tensor).float()
            keep = (boxes[:, 2:] - boxes[:, :2]).amin(1) >= config.min_side
            windows = crop_windows(boxes[keep], config.context, config.crop_size, config.native_scale)
            rois.append(torch.cat([torch.full((len(windows), 1), float(j)), windows], 1))
            labels.append(target["labels"][keep] - 1)
        pictures = dataset.images[start:stop].float()
        cut = roi_align(pictures, torch.cat(rois), config.crop_size, sampling_ratio=2, aligned=True)
        crops.append(cut.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(crops), torch.cat(labels), names


def balanced(labels: Tensor, per_class: int) -> Tensor:
    """Indices of at most ``per_class`` items of each class, the first ones, in their order."""
    keep = torch.zeros(len(labels), dtype=torch.bool)
    for c in labels.unique():
        keep[(labels == c).nonzero().flatten()[:per_class]] = True
    return keep.nonzero().flatten()


def toy_objects(split: str, config: PretrainConfig = CONFIG, progress: bool = True) -> tuple[Tensor, Tensor, list]:
    """The pretraining task's ``split``: ``(crops, labels, classes)``, (M, 3, S, S) uint8 crops of
    every object of ``config.datasets``, (M,) int64 labels into ``classes``, at most
    ``config.per_class`` (``val_per_class`` for other splits) of each class."""
    classes: list[str] = []
    all_crops, all_labels = [], []
    for name in config.datasets:
        crops, labels, names = object_crops(data.load(name, split, n=config.pictures, progress=progress), config)
        for own in names:
            if own not in classes:
                classes.append(own)
        all_crops.append(crops)
        all_labels.append(torch.tensor([classes.index(n) for n in names])[labels])
    crops, labels = torch.cat(all_crops), torch.cat(all_labels)
    keep = balanced(labels, config.per_class if split == "train" else config.val_per_class)
    return crops[keep], labels[keep], classes


# --------------------------------------------------------------------------------------------
# Training and the cache
# --------------------------------------------------------------------------------------------


def train(config: PretrainConfig = CONFIG, progress: bool = True) -> tuple[BackboneClassifier, History, list[str]]:
    """Train :class:`BackboneClassifier` on :func:`toy_objects`; returns (model, history, classes).

    Random left-right flips double the crops (a mirrored car is still a car); the model's
    weights are those of the last epoch (the val accuracy is printed, not used to pick one).
    """
    train_x, train_y, classes = toy_objects("train", config, progress)
    val_x, val_y, _ = toy_objects("val", config, progress)
    seed_everything(config.seed)
    model = BackboneClassifier(len(classes), config.widths)
    loader = DataLoader(
        TensorDataset(train_x, train_y),
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=True,
        collate_fn=collate_flipped,
        num_workers=0,
    )
    history = fit(
        model,
        loader,
        DataLoader(TensorDataset(val_x, val_y), batch_size=500, num_workers=0),
        epochs=config.epochs,
        lr=config.lr,
        weight_decay=config.weight_decay,
        loss_fn=nn.CrossEntropyLoss(),
        metrics={"accuracy": accuracy},
        seed=config.seed,
        restore_best=False,
        max_seconds=config.max_seconds,
        channels_last=True,
        progress=progress,
    )
    return model.eval(), history, classes


def manifest_of(model: BackboneClassifier, history: History, classes: list[str], config: PretrainConfig) -> dict:
    """What the cache's manifest says of a trained backbone: how to build it, what it learnt from."""
    return {
        "build": {"num_classes": len(classes), "widths": list(model.widths)},
        "classes": classes,
        "config": config.as_dict(),
        "train_s": round(history.seconds, 1),
        "val_accuracy": round(history.epochs[-1]["val_accuracy"], 4),
        "summary": f"{len(classes)} classes of toy objects, val accuracy {history.epochs[-1]['val_accuracy']:.3f}",
        "torch": torch.__version__,
    }


def _same_config(manifest: dict, config: PretrainConfig) -> bool:
    return manifest.get("config") == json_ready(config.as_dict())


def json_ready(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def backbone(config: PretrainConfig = CONFIG, progress: bool = True) -> BackboneClassifier:
    """The course backbone: the cached copy when there is one for ``config``, else trained now
    (51 s of training on 2 idle CPU cores, measured by ``cvlearn bench --only pretrain``) and
    cached (``cvlearn.weights``' ``"course-backbone"``)."""
    status = weights.course_status(WEIGHTS)
    if status and _same_config(status.manifest or {}, config):
        model = weights.load_pretrained(BackboneClassifier, weights=WEIGHTS)
        if isinstance(model, BackboneClassifier):
            print(status.message)
            return model.eval()
    elif status:
        print(f"the cached {WEIGHTS} was trained with another configuration, so it is trained again")
    model, history, classes = train(config, progress)
    folder = weights.save_course_weights(WEIGHTS, model.state_dict(), manifest_of(model, history, classes, config))
    print(f"trained {WEIGHTS} in {history.seconds:.0f} s and cached it in {data.cache.display_path(folder)}")
    return model


# --------------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------------


def crop_accuracy(model: nn.Module, config: PretrainConfig = CONFIG, progress: bool = False) -> float:
    """Accuracy of ``model`` on the crops of the test splits (``config.val_per_class`` a class)."""
    crops, labels, _ = toy_objects("test", config, progress)
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(crops[i : i + 500]) for i in range(0, len(crops), 500)])
    return accuracy(logits, labels)


@register("pretrain")
def pretrain(*, quick: bool = False, seed: int = CONFIG.seed, progress: bool = True) -> Result:
    """Train the course backbone (:data:`CONFIG`) from scratch and time it; accuracy on test crops.

    The full run also refreshes the cache that :func:`backbone` reads.
    """
    config = replace(QUICK if quick else CONFIG, seed=seed)
    with Stopwatch() as train_time:
        model, history, classes = train(config, progress)
    if not quick:
        weights.save_course_weights(WEIGHTS, model.state_dict(), manifest_of(model, history, classes, config))
    with Stopwatch() as eval_time:
        score = crop_accuracy(model, config)
    return Result(
        recipe="pretrain",
        metrics={"object_accuracy": score},
        train_s=train_time.seconds,
        eval_s=eval_time.seconds,
        train_images=len(history.step_losses) * config.batch_size,
        params=count_parameters(model),
        device=history.device,
        model=model,
        history=history,
        config={**config.as_dict(), "dataset": "toy objects of " + ", ".join(config.datasets)},
    )
