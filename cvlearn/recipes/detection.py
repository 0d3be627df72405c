"""Which fruits, and where? The reference recipes of notebook 03, and the configurations they train.

Two detectors learn the same task, toy-fruit's apples and oranges, from scratch:

* ``detection``: :class:`~cvlearn.models.detection.TinyDetector`, a one-stage, anchor-free
  detector (:data:`DETECTOR`);
* ``detection_fasterrcnn``: torchvision's two-stage Faster R-CNN on the same kind of backbone,
  with every size set for 96 px pictures (:data:`FASTER_RCNN`).

The notebook reads the same two configuration constants, builds its loaders and models with the
same functions and calls :func:`cvlearn.train.fit` with :meth:`DetectionConfig.fit_options`, so
``cvlearn bench`` and the notebook's scorecard describe the same models trained the same way.
Both are scored on the test split with :func:`cvlearn.metrics.detection.mean_average_precision`
(COCO's rules, written from scratch; equal to pycocotools): ``map50`` is mAP at IoU 0.5, ``map``
COCO's mAP@[.5:.95].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from torch import nn

from .. import data
from ..metrics.detection import mean_average_precision
from ..models.detection import DetectorSettings, RCNNSettings, TinyDetector, detect, detection_loader, faster_rcnn
from ..train import History, fit, seed_everything
from ._base import Result, Stopwatch, count_parameters, register


@dataclass(frozen=True)
class DetectionConfig:
    """How one detector is built and trained.

    model: ``"tiny"`` (:class:`TinyDetector`) or ``"faster_rcnn"``; settings: its sizes
    (:class:`DetectorSettings` or :class:`RCNNSettings`); batch_size, epochs, lr,
    weight_decay: AdamW with a one-cycle schedule (``fit``'s default); channels_last: a faster
    memory layout for convolutions on the CPU; flip: random left-right flips of picture and
    boxes, off by default: apples tilt at most 30° with their highlight always left of centre,
    so a mirrored apple is one the test pictures never show (oranges, turned any way, and the
    whole-pixel boxes would not mind).
    """

    model: str
    settings: Any
    batch_size: int
    epochs: int
    lr: float
    weight_decay: float = 1e-4
    flip: bool = False
    channels_last: bool = False
    dataset: str = "toy-fruit"

    def build_model(self, categories: tuple[str, ...]) -> nn.Module:
        """A fresh detector for ``categories`` (``dataset.categories``, background first)."""
        if self.model == "tiny":
            return TinyDetector(len(categories) - 1, self.settings)
        if self.model == "faster_rcnn":
            return faster_rcnn(len(categories), settings=self.settings)
        raise ValueError(f"model must be 'tiny' or 'faster_rcnn', got {self.model!r}")

    def fit_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`cvlearn.train.fit` this configuration fixes."""
        return {
            "epochs": self.epochs,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "channels_last": self.channels_last,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "settings": asdict(self.settings)}


DETECTOR = DetectionConfig(
    model="tiny", settings=DetectorSettings(), batch_size=16, epochs=8, lr=3e-3, channels_last=True
)
"""The one-stage detector notebook 03 trains and ``cvlearn bench`` measures as ``detection``."""

FASTER_RCNN = DetectionConfig(model="faster_rcnn", settings=RCNNSettings(), batch_size=8, epochs=2, lr=2e-3)
"""The small-image Faster R-CNN notebook 03 trains and ``cvlearn bench`` measures as ``detection_fasterrcnn``."""

QUICK = {"detection": replace(DETECTOR, epochs=8), "detection_fasterrcnn": replace(FASTER_RCNN, epochs=4)}
"""The tests' quick run of each recipe: the notebook's model on fewer pictures (:data:`QUICK_SIZES`),
long enough to find fruit (a few seconds; mAP@0.5 about 0.7 and 0.8, untrained about 0)."""

QUICK_SIZES = {"train": 128, "test": 32}


def load_splits(config: DetectionConfig, quick: bool = False, progress: bool = True) -> dict[str, data.AnyDataset]:
    """The train and test splits of ``config.dataset`` (small ones, :data:`QUICK_SIZES`, when ``quick``)."""
    return {
        split: data.load(config.dataset, split, n=QUICK_SIZES[split] if quick else None, progress=progress)
        for split in ("train", "test")
    }


def train(
    config: DetectionConfig, train_set: data.AnyDataset, seed: int = 0, progress: bool = True, epochs: int | None = None
) -> tuple[nn.Module, History]:
    """Build the detector of ``config`` and fit it on ``train_set`` (``epochs`` overrides the config's).

    ``seed`` seeds the initial weights and the batch order, as the notebook does.
    """
    seed_everything(seed)
    model = config.build_model(train_set.categories)
    loader = detection_loader(train_set, config.batch_size, shuffle=True, flip=config.flip)
    options = {**config.fit_options(), **({"epochs": epochs} if epochs is not None else {})}
    history = fit(model, loader, seed=seed, progress=progress, **options)
    return model, history


def evaluate(model: nn.Module, split: data.AnyDataset) -> tuple[dict[str, float], list[dict]]:
    """COCO's numbers on a whole split (``ap``, ``ap50``, ...) and the predictions they came from."""
    predictions = detect(model, split.images)
    targets = [split.target(i) for i in range(len(split))]
    return mean_average_precision(predictions, targets, split.categories), predictions


def _run(name: str, config: DetectionConfig, quick: bool, seed: int, progress: bool) -> Result:
    config = QUICK[name] if quick else config
    splits = load_splits(config, quick, progress)
    with Stopwatch() as training:
        model, history = train(config, splits["train"], seed=seed, progress=progress)
    with Stopwatch() as scoring:
        scores, _ = evaluate(model, splits["test"])
    metrics = {"map50": scores["ap50"], "map": scores["ap"], "map75": scores["ap75"], "ar100": scores["ar100"]}
    return Result(
        name,
        metrics,
        train_s=training.seconds,
        eval_s=scoring.seconds,
        train_images=len(history.step_losses) * config.batch_size,
        params=count_parameters(model),
        device=history.device,
        model=model,
        history=history,
        config={**config.as_dict(), "seed": seed},
    )


@register("detection")
def detection(*, quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """Train :class:`TinyDetector` on toy-fruit with :data:`DETECTOR`; score it on the test split.

    Metrics: ``map50`` (mAP@0.5) and ``map`` (COCO mAP@[.5:.95]), the benchmark's, plus
    ``map75`` and ``ar100``. ``seed`` seeds the weights and the batch order; the data is always
    drawn with seed 0. ``quick=True``: :data:`QUICK` on small splits (seconds long).
    """
    return _run("detection", DETECTOR, quick, seed, progress)


@register("detection_fasterrcnn")
def detection_fasterrcnn(*, quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """Train the small-image Faster R-CNN on toy-fruit with :data:`FASTER_RCNN`; score it on the
    test split, with the same metrics as :func:`detection`."""
    return _run("detection_fasterrcnn", FASTER_RCNN, quick, seed, progress)
