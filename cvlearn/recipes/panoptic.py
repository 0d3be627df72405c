"""Panoptic segmentation on toy-street: a U-Net for stuff, a Mask R-CNN for things, merged (notebook 06).

A panoptic map gives every pixel a class and, for things, an instance: ids ``class * 1000 + k``
(:func:`cvlearn.toyworld.panoptic_ids`). The recipe ``panoptic`` builds one from two models
trained on toy-street's train split:

* the course's U-Net (notebook 04's :data:`cvlearn.recipes.semantic.UNET`, trained by
  :func:`cvlearn.recipes.semantic.train`) labels every pixel with one of the 7 semantic classes;
  only its stuff (sky, road, pavement, building) is kept;
* the course's small Mask R-CNN (notebook 05's, built and batched by
  :mod:`cvlearn.recipes.instance`) finds the people and cars, one mask each;

then :func:`cvlearn.metrics.panoptic.merge_panoptic` pastes the instances over the stuff, and
:func:`cvlearn.metrics.panoptic.panoptic_quality` scores the maps against the test split's
``panoptic`` targets.

toy-street's ``background`` (lamp posts and bins, which are neither stuff nor a counted thing)
is panoptic id 0, which COCO calls void: nobody labelled it. So background is void here too,
never a stuff class: PQ ignores predictions lying on true void, and a pixel the U-Net calls
background is left void by the merge (it is not in :data:`STUFF`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from torch import Tensor, nn

from .. import data
from ..metrics.classification import confusion_matrix
from ..metrics.instance import instance_metrics
from ..metrics.panoptic import merge_panoptic, panoptic_quality
from ..metrics.segmentation import segmentation_scores
from ..models.instance import SMALL, predict_instances
from ..models.segmentation import predict_classes
from ..train import History, fit, seed_everything
from . import instance, semantic
from ._base import Result, Stopwatch, count_parameters, rcnn_fit_options, register
from .instance import InstanceConfig
from .semantic import SegmentationConfig

__all__ = [
    "CONFIG",
    "QUICK",
    "QUICK_SIZES",
    "STUFF",
    "PanopticConfig",
    "PanopticModel",
    "build_model",
    "evaluate",
    "load_split",
    "merge_all",
    "panoptic",
    "panoptic_classes",
    "predict_panoptic",
    "train",
    "train_maskrcnn",
    "train_unet",
]

DATASET = "toy-street"
STUFF = ("sky", "road", "pavement", "building")
"""toy-street's stuff classes: one region each, no instances. Its things are its ``categories``."""

UNET = replace(semantic.UNET, dataset=DATASET, width=8, epochs=2)
"""Notebook 04's U-Net on toy-street, half as wide: at 128 px a width-16 U-Net took about 80 s an
epoch of 2000 pictures on 2 cores, over the whole recipe's budget; stuff regions are large and
easy, so 600 pictures at width 8 find them (pixel IoU of sky and road about 0.96)."""

MASK_RCNN = replace(
    instance.CONFIG,
    dataset=DATASET,
    # people stand 2 to 3 times taller than wide, cars are about half as tall as long
    settings=replace(SMALL, image_size=128, aspect_ratios=(0.5, 1.0, 2.0, 3.0)),
    epochs=1,
    images_per_epoch=8 * 120,
    max_seconds=60.0,
)
"""Notebook 05's Mask R-CNN on toy-street's people and cars (``instance.CONFIG`` is tuned for
pens at 96 px): 120 steps, each on fresh pictures, about 29 s on 2 cores; ``max_seconds`` is a
safety stop for a slower machine (it cuts the one-cycle schedule short, and the score with it)."""


@dataclass(frozen=True)
class PanopticConfig:
    """Everything that decides one panoptic run; notebook 06 trains :data:`CONFIG` exactly.

    image_size: the side pictures are rendered at, for both models, training and testing
        (toy-street's own is 128 px); the Mask R-CNN's ``settings.image_size`` must agree.
    unet, unet_pictures, val_pictures: the U-Net's configuration, the number of training
        pictures it sees (the first ones of the split; ``None``: all 2000) and of val pictures
        that choose its best epoch.
    maskrcnn: the Mask R-CNN's configuration; its ``flips`` are left-right only (people stand up).
    score_thresh, overlap_thresh, min_stuff_area: :func:`~cvlearn.metrics.panoptic.merge_panoptic`'s.
    """

    image_size: int = 128
    unet: SegmentationConfig = UNET
    unet_pictures: int | None = 600
    val_pictures: int = 100
    maskrcnn: InstanceConfig = MASK_RCNN
    score_thresh: float = 0.5
    overlap_thresh: float = 0.5
    min_stuff_area: int = 64

    def __post_init__(self) -> None:
        if (
            isinstance(self.image_size, bool)
            or not isinstance(self.image_size, int)
            or not 32 <= self.image_size <= 512
        ):
            raise ValueError(f"image_size must be an int from 32 to 512 pixels, got {self.image_size!r}")
        if self.maskrcnn.settings.image_size != self.image_size:
            raise ValueError(
                f"maskrcnn.settings.image_size must equal image_size ({self.image_size}), "
                f"got {self.maskrcnn.settings.image_size}"
            )
        for name in ("score_thresh", "overlap_thresh"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
        if self.min_stuff_area < 0:
            raise ValueError(f"min_stuff_area must be a number of pixels >= 0, got {self.min_stuff_area!r}")
        if self.unet_pictures is not None and self.unet_pictures < 1:
            raise ValueError(f"unet_pictures must be a positive number of pictures or None, got {self.unet_pictures!r}")
        if self.val_pictures < 1:
            raise ValueError(f"val_pictures must be a positive number of pictures, got {self.val_pictures!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CONFIG = PanopticConfig()
"""Notebook 06 and the ``panoptic`` recipe train exactly this: the U-Net 76 steps (2 epochs of 600
pictures), the Mask R-CNN 120 steps of 8 pictures, about 46 s of training together on 2 lightly
loaded CPU cores (18 s + 29 s); PQ 0.72 on the whole test split (stuff 0.80, things 0.56), 13 s
to score. On val, score_thresh 0.5 beat 0.2 to 0.6 and min_stuff_area 32 changed nothing."""

QUICK = replace(
    CONFIG,
    unet=replace(UNET, epochs=4, batch_size=8),
    unet_pictures=128,
    val_pictures=16,
    maskrcnn=replace(MASK_RCNN, epochs=6, images_per_epoch=None, max_seconds=None),
)
"""The tests' quick run: both models on the first pictures of each split (:data:`QUICK_SIZES`),
about 18 s of training on 2 cores; PQ 0.42 on the first 32 test pictures (untrained: 0.0)."""

QUICK_SIZES = {"train": 64, "test": 32}
"""The quick run's Mask R-CNN training pictures and test pictures (its U-Net's are ``QUICK.unet_pictures``)."""


# --------------------------------------------------------------------------------------------
# Data and classes
# --------------------------------------------------------------------------------------------


def load_split(config: PanopticConfig, split: str, n: int | None = None, **kwargs: Any) -> data.ToyDataset:
    """toy-street's ``split`` at ``config.image_size`` (its first ``n`` pictures; ``None``: all)."""
    dataset = data.load(DATASET, split, size=config.image_size, n=n, **kwargs)
    assert isinstance(dataset, data.ToyDataset)  # toy-street is drawn, never read from disk
    return dataset


def panoptic_classes(dataset: Any) -> tuple[list[int], list[int]]:
    """(things, stuff): panoptic class numbers (indices into ``semantic_classes``).

    ``things[k - 1]`` is the class of the Mask R-CNN's label k (``categories[k]``): toy-street's
    person 5 and car 6; stuff: :data:`STUFF`, sky 1, road 2, pavement 3, building 4.
    """
    classes = list(dataset.semantic_classes)
    return [classes.index(c) for c in dataset.categories[1:]], [classes.index(c) for c in STUFF]


class PanopticModel(nn.Module):
    """The two models of a panoptic run held as one: ``unet`` labels every pixel (stuff), ``maskrcnn``
    finds each thing. Its only job is to keep them together (one ``.to(device)``, one set of
    parameters); :func:`predict_panoptic` runs and merges them."""

    def __init__(self, unet: nn.Module, maskrcnn: nn.Module) -> None:
        super().__init__()
        self.unet, self.maskrcnn = unet, maskrcnn


def build_model(config: PanopticConfig = CONFIG, num_classes: int = 3) -> PanopticModel:
    """A fresh (untrained) pair for toy-street: ``config.unet``'s U-Net over its 7 pixel classes
    and ``config.maskrcnn``'s Mask R-CNN over ``num_classes`` (background, person, car)."""
    pixel_classes = len(data.registry.get(DATASET).semantic_classes)
    return PanopticModel(config.unet.build_model(pixel_classes), instance.build_model(config.maskrcnn, num_classes))


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def train_unet(config: PanopticConfig, seed: int = 0, progress: bool = True) -> tuple[nn.Module, History]:
    """The U-Net of ``config.unet`` fitted on toy-street's first ``config.unet_pictures`` training
    pictures (all 7 semantic classes); returns (model, its training history)."""
    train_set = load_split(config, "train", config.unet_pictures, progress=progress)
    val_set = load_split(config, "val", config.val_pictures, progress=progress)
    return semantic.train(config.unet, train_set, val_set, seed=seed, progress=progress)


def train_maskrcnn(
    config: PanopticConfig, pictures: int | None, seed: int = 0, progress: bool = True
) -> tuple[nn.Module, History]:
    """The Mask R-CNN of ``config.maskrcnn`` fitted on toy-street's people and cars; returns
    (model, its training history).

    :func:`cvlearn.recipes.instance.train` cannot be called here: it loads pictures at the
    dataset's own size and flips them every way (pens lie at any angle; a street upside down
    is no street), so its data are set up here and its model, loader and options reused.
    """
    settings = config.maskrcnn
    seed_everything(seed)
    flips = instance.augmentation(upright=True) if settings.flips else None
    train_set = load_split(config, "train", pictures, seed=seed, transforms=flips, progress=progress)
    model = instance.build_model(settings, len(train_set.categories))
    loader = instance.train_loader(train_set, settings, seed)
    history = fit(model, loader, seed=seed, progress=progress, **rcnn_fit_options(settings))
    return model, history


def train(
    config: PanopticConfig = CONFIG, seed: int = 0, progress: bool = True, pictures: int | None = None
) -> tuple[PanopticModel, float]:
    """Train both models on toy-street's train split: (the pair, training seconds of both).

    The U-Net sees the first ``config.unet_pictures``; ``pictures`` limits the Mask R-CNN to the
    split's first ``pictures`` (``None``: its schedule draws from all 2000).
    """
    unet, unet_history = train_unet(config, seed, progress)
    maskrcnn, maskrcnn_history = train_maskrcnn(config, pictures, seed, progress)
    return PanopticModel(unet, maskrcnn), unet_history.seconds + maskrcnn_history.seconds


# --------------------------------------------------------------------------------------------
# Merging and scoring
# --------------------------------------------------------------------------------------------


def merge_all(
    classes: Tensor,
    instances: Sequence[Mapping[str, Tensor]],
    things: Sequence[int],
    stuff: Sequence[int],
    config: PanopticConfig,
) -> tuple[list[Tensor], float]:
    """Merge each picture's semantic map and instances: ((H, W) int64 panoptic ids per picture,
    mean milliseconds of one merge).

    classes: (N, H, W) int64 semantic classes; instances: N prediction dicts (``masks`` (M, H, W)
    bool, ``scores`` (M,), ``labels`` (M,)); things, stuff: see :func:`panoptic_classes`.
    """
    if len(classes) != len(instances):
        raise ValueError(
            f"classes and instances must hold one entry per picture, got {len(classes)} and {len(instances)}"
        )
    maps, seconds = [], 0.0
    for semantic_map, found in zip(classes, instances):
        start = time.perf_counter()
        maps.append(
            merge_panoptic(
                semantic_map,
                found,
                stuff,
                things,
                score_thresh=config.score_thresh,
                overlap_thresh=config.overlap_thresh,
                min_stuff_area=config.min_stuff_area,
            )
        )
        seconds += time.perf_counter() - start
    return maps, 1000 * seconds / max(len(maps), 1)


def _predict_parts(model: nn.Module, images: Tensor, batch_size: int) -> tuple[Tensor, list[dict[str, Tensor]]]:
    """(semantic classes (N, H, W) int64, Mask R-CNN predictions per picture) for ``images``."""
    if not isinstance(model, PanopticModel):
        raise ValueError(f"model must be a PanopticModel (from train or build_model), got {type(model).__name__}")
    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be an (N, 3, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    semantic_maps = predict_classes(model.unet, images).cpu()
    return semantic_maps, predict_instances(model.maskrcnn, images, batch_size=batch_size)


def predict_panoptic(model: nn.Module, images: Tensor, config: PanopticConfig = CONFIG) -> list[Tensor]:
    """Panoptic maps of toy-street pictures: one (H, W) int64 map of ids ``class * 1000 + k`` each.

    images: (N, 3, H, W) uint8 or float 0..1. Stuff pixels are ``class * 1000``, thing pixels
    ``class * 1000 + k`` (k = 1, 2, ... per picture), void (background, or unclaimed) 0.
    """
    classes, instances = _predict_parts(model, images, config.maskrcnn.eval_batch_size)
    things, stuff = panoptic_classes(data.registry.get(DATASET))
    return merge_all(classes, instances, things, stuff, config)[0]


def evaluate(
    model: PanopticModel, dataset: data.ToyDataset, config: PanopticConfig = CONFIG
) -> tuple[dict[str, Any], list[Tensor]]:
    """(scores, panoptic maps) on every picture of ``dataset``. Scores: ``pq``, ``sq``, ``rq``,
    ``pq_things``, ``pq_stuff``, ``merge_ms_per_image`` (the merge alone), the U-Net's ``miou``
    and the Mask R-CNN's ``mask_ap50``, and ``per_class`` ({class name: {pq, sq, rq, tp, fp,
    fn}}); maps: the (H, W) int64 predicted ids of each picture, as :func:`predict_panoptic`'s."""
    classes, instances = _predict_parts(model, dataset.images, config.maskrcnn.eval_batch_size)
    things, stuff = panoptic_classes(dataset)
    maps, merge_ms = merge_all(classes, instances, things, stuff, config)
    targets = [dataset.target(i) for i in range(len(dataset))]
    quality = panoptic_quality(maps, [t["panoptic"] for t in targets], things, stuff)
    matrix = confusion_matrix(classes, dataset.semantic_masks, len(dataset.semantic_classes))
    size = (config.image_size, config.image_size)
    masks = instance_metrics(instances, targets, dataset.categories, size)
    names = dataset.semantic_classes
    scores = {
        **{k: quality[k] for k in ("pq", "sq", "rq", "pq_things", "pq_stuff")},
        "merge_ms_per_image": merge_ms,
        "miou": segmentation_scores(matrix)["miou"],
        "mask_ap50": masks["mask_ap50"],
        "per_class": {names[c]: row for c, row in quality["per_class"].items()},
    }
    return scores, maps


# --------------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------------


@register("panoptic")
def panoptic(*, quick: bool = False, seed: int = 0, progress: bool = True) -> Result:
    """The U-Net and Mask R-CNN of notebook 06 (:data:`CONFIG`) on toy-street, merged into panoptic
    maps and scored with panoptic quality on the whole test split.

    Metrics: ``pq``, ``sq``, ``rq``, ``pq_things``, ``pq_stuff``, ``merge_ms_per_image``, and the
    parts' ``unet_miou`` (U-Net) and ``maskrcnn_mask_ap50`` (Mask R-CNN). ``train_s`` is both trainings.
    ``quick=True``: :data:`QUICK` on the first pictures of each split (:data:`QUICK_SIZES`).
    """
    config = QUICK if quick else CONFIG
    pictures = QUICK_SIZES["train"] if quick else None
    unet, unet_history = train_unet(config, seed, progress)
    maskrcnn, maskrcnn_history = train_maskrcnn(config, pictures, seed, progress)
    test_set = load_split(config, "test", QUICK_SIZES["test"] if quick else None, progress=progress)
    with Stopwatch() as scoring:
        scores, _ = evaluate(PanopticModel(unet, maskrcnn), test_set, config)
    metrics = {k: scores[k] for k in ("pq", "sq", "rq", "pq_things", "pq_stuff", "merge_ms_per_image")}
    # the parts' own scores, named so that bench does not take them for the semantic and instance tasks'
    metrics.update(unet_miou=scores["miou"], maskrcnn_mask_ap50=scores["mask_ap50"])
    return Result(
        "panoptic",
        metrics,
        train_s=unet_history.seconds + maskrcnn_history.seconds,
        eval_s=scoring.seconds,
        train_images=sum(
            len(h.step_losses) * c.batch_size
            for h, c in ((unet_history, config.unet), (maskrcnn_history, config.maskrcnn))
        ),
        params=count_parameters(unet) + count_parameters(maskrcnn),
        device=str(next(maskrcnn.parameters()).device),
        model=maskrcnn,
        history=maskrcnn_history,
        config={
            **config.as_dict(),
            "seed": seed,
            "unet_s": unet_history.seconds,
            "maskrcnn_s": maskrcnn_history.seconds,
            "dataset": DATASET,
            "per_class": scores["per_class"],
        },
    )
