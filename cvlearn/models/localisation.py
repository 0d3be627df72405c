"""Localisation: one class and one bounding box per picture, from one CNN with two heads.

:class:`Localiser` is notebook 01's idea with a second output. A shared stack of
``conv → BatchNorm → ReLU → max-pool`` blocks (:func:`cvlearn.models.backbones.conv_pool_block`)
turns a picture into a small grid of features; then

* the **class head** averages the grid into one vector and scores each class, as
  :class:`~cvlearn.models.classification.SimpleCNN` does: *what* it is does not depend on where;
* the **box head** keeps the grid's layout (a coarse ``grid × grid`` map, flattened), because
  *where* the object is lives in which cells light up, and regresses four numbers.

The four numbers pass through a sigmoid and are read as the box's centre and size in
**normalised coordinates** (fractions of the picture's width and height, 0..1), so the box can
never have a negative width nor stray far from the picture, and the same model works at any
picture size.

:class:`LocalisationLoss` adds cross-entropy for the class to smooth L1 and GIoU losses for the
box. :class:`LocalisationData` serves ``(image, target)`` pairs from whole-split tensors, with
random left-right flips that move the box too. :func:`localise` gives labels, scores and boxes
in pixels. :func:`with_boxes` keeps the pictures of a split that have a box to learn from (every
toy picture has one; some Oxford-IIIT Pet photos have no head box, and its test split none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.ops import box_convert, clip_boxes_to_image, generalized_box_iou_loss
from torchvision.transforms.v2 import functional as TF

from ..boxes import denormalise, normalise
from ..images import predict_in_batches
from .backbones import conv_pool_block
from .classification import Normalise

XYXY = tv_tensors.BoundingBoxFormat.XYXY


def _check_positive_ints(value: Any, name: str) -> tuple[int, ...]:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name} must be a positive int (or a non-empty sequence of them), got {value!r}")
    return values


class Localiser(nn.Module):
    """A shared CNN with a class head and a box head.

    Args:
        num_classes: how many classes to score (at least 2).
        widths: channels of each conv block; each block halves height and width.
        grid: the box head reads the last feature map pooled to ``grid × grid`` cells.
        hidden: units of the box head's hidden layer.
        mean, std: per-channel statistics of the training pictures, in 0..1 units.

    ``model(images)`` with images (N, 3, H, W), uint8 or float in 0..1, returns a dict:

    * ``"logits"``: (N, num_classes) class scores (before softmax);
    * ``"boxes"``: (N, 4) XYXY **normalised** to 0..1 (multiply by the width and height, or use
      :func:`cvlearn.boxes.denormalise`, for pixels).
    """

    def __init__(
        self,
        num_classes: int = 2,
        widths: Sequence[int] = (16, 32, 64, 128, 256),
        grid: int = 2,
        hidden: int = 256,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.25, 0.25, 0.25),
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an int of at least 2, got {num_classes!r}")
        widths = _check_positive_ints(widths, "widths")
        (grid,) = _check_positive_ints(grid, "grid")
        (hidden,) = _check_positive_ints(hidden, "hidden")
        self.num_classes, self.widths, self.grid = num_classes, widths, grid
        self.normalise = Normalise(mean, std)
        channels = (3, *widths)
        self.features = nn.Sequential(*[conv_pool_block(a, b) for a, b in zip(channels[:-1], channels[1:])])
        self.class_head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes))
        self.box_head = nn.Sequential(
            nn.AdaptiveAvgPool2d(grid),
            nn.Flatten(),
            nn.Linear(widths[-1] * grid * grid, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 4),
        )

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] != 3:
            shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise ValueError(f"images must be a batch (N, 3, H, W), got {shape}; for one picture use images[None]")
        features = self.features(self.normalise(images))
        centre_size = self.box_head(features).sigmoid()
        return {"logits": self.class_head(features), "boxes": box_convert(centre_size, "cxcywh", "xyxy")}


def _checked_boxes(outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    for name, where in (("logits", outputs), ("boxes", outputs), ("labels", targets), ("boxes", targets)):
        if not isinstance(where, dict) or name not in where:
            raise ValueError(
                f"the localisation loss needs outputs with 'logits' and 'boxes' and targets with "
                f"'labels' and 'boxes'; {name!r} is missing"
            )
    pred, true = outputs["boxes"], targets["boxes"].to(outputs["boxes"].dtype)
    if pred.shape != true.shape:
        raise ValueError(
            f"predicted and target boxes must have the same shape (N, 4), "
            f"got {tuple(pred.shape)} and {tuple(true.shape)}"
        )
    return pred, true


class LocalisationLoss(nn.Module):
    """Cross-entropy for the class plus two box losses, weighted and summed.

    loss = CE(logits, labels) + l1_weight · SmoothL1(boxes, true boxes) + giou_weight · GIoU loss

    * Smooth L1 (with ``beta``, in normalised units) pulls each of the four coordinates towards
      its target: quadratic for errors below ``beta``, linear above, so big early errors do not
      swamp the class loss.
    * The GIoU loss (``1 - GIoU``) scores the box as a whole, the way IoU will judge it, and
      still gives a gradient when the boxes do not overlap at all.

    outputs: ``{"logits": (N, C), "boxes": (N, 4)}``; targets: ``{"labels": (N,), "boxes": (N, 4)}``;
    boxes XYXY normalised to 0..1.
    """

    def __init__(self, l1_weight: float = 5.0, giou_weight: float = 2.0, beta: float = 0.02) -> None:
        super().__init__()
        for name, value in (("l1_weight", l1_weight), ("giou_weight", giou_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number of at least 0, got {value!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"beta must be a positive number, got {beta!r}")
        self.l1_weight, self.giou_weight, self.beta = float(l1_weight), float(giou_weight), float(beta)

    def parts(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        """The three unweighted terms: ``{"class": CE, "l1": smooth L1, "giou": 1 - GIoU}``, each a mean."""
        pred, true = _checked_boxes(outputs, targets)
        return {
            "class": F.cross_entropy(outputs["logits"], targets["labels"]),
            "l1": F.smooth_l1_loss(pred, true, beta=self.beta),
            "giou": generalized_box_iou_loss(pred, true, reduction="mean"),
        }

    def forward(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> Tensor:
        parts = self.parts(outputs, targets)
        return parts["class"] + self.l1_weight * parts["l1"] + self.giou_weight * parts["giou"]

    def extra_repr(self) -> str:
        return f"l1_weight={self.l1_weight}, giou_weight={self.giou_weight}, beta={self.beta}"


def main_boxes(dataset: Any) -> Tensor:
    """(N, 4) XYXY pixel box of each sample's main object (the first box: toy-pets has one animal).

    Gathered once from ``dataset.target(i)``, so training can read boxes from one tensor; a
    :class:`BoxedSplit` has them already.
    """
    if isinstance(dataset, BoxedSplit):
        return dataset.boxes.clone()
    boxes = []
    for i in range(len(dataset)):
        target_boxes = dataset.target(i)["boxes"]
        if len(target_boxes) == 0:
            raise ValueError(
                f"sample {i} of {dataset!r} has no box to localise; keep the samples that have "
                f"one with cvlearn.models.localisation.with_boxes(dataset)"
            )
        boxes.append(target_boxes[0].as_subclass(Tensor).float())
    return torch.stack(boxes)


class BoxedSplit(Dataset):
    """The pictures of a split that have a box: what a localiser learns from and is scored on.

    Made by :func:`with_boxes`. It answers like the split it came from (``images``, ``targets``,
    ``classes``, ``name``, ``split``, ``size``, ``target(i)``, ``dataset[i]``), for those
    pictures only, and adds

    * ``boxes``: (N, 4) float XYXY in pixels, each picture's main box (its first);
    * ``indices``: (N,) int64, each picture's position in the whole split;
    * ``whole``: the split itself, and ``dropped``: how many of its pictures had no box.
    """

    def __init__(self, whole: Any, indices: Tensor, images: Tensor, boxes: Tensor) -> None:
        if not len(indices) == len(images) == len(boxes):
            raise ValueError(
                f"need one index, image and box per picture, got {len(indices)}, {len(images)} and {len(boxes)}"
            )
        self.whole, self.indices, self.images, self.boxes = whole, indices, images, boxes
        self.targets = whole.targets[indices]
        for name in ("name", "split", "size", "classes", "categories", "semantic_classes", "palette"):
            if hasattr(whole, name):
                setattr(self, name, getattr(whole, name))

    @property
    def dropped(self) -> int:
        return len(self.whole) - len(self)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[Any, dict[str, Any]]:
        return self.whole[int(self.indices[index])]

    def target(self, index: int) -> dict[str, Any]:
        """Every annotation of picture ``index`` (read from the whole split)."""
        return self.whole.target(int(self.indices[index]))

    def __repr__(self) -> str:
        return f"BoxedSplit({len(self)} of the {len(self.whole)} pictures of {self.whole!r})"


def _boxed_samples(dataset: Any) -> tuple[list[int], list[Tensor], list[Tensor]]:
    """Positions, images (3, H, W) and first boxes (4,) of the samples that have a box, each read once."""
    indices, images, boxes = [], [], []
    for i in range(len(dataset)):
        image, target = dataset[i]
        if len(target["boxes"]):
            indices.append(i)
            images.append(image.as_subclass(Tensor))
            boxes.append(target["boxes"][0].as_subclass(Tensor).float())
    return indices, images, boxes


def with_boxes(dataset: Any) -> BoxedSplit:
    """The pictures of ``dataset`` that have at least one box.

    dataset: a split from :func:`cvlearn.data.load` with a ``size`` (so that its pictures
    stack). Each sample is read once (a real photo is decoded once). Returns a
    :class:`BoxedSplit`, possibly empty: the test split of Oxford-IIIT Pet has no head boxes.
    """
    indices, images, boxes = _boxed_samples(dataset)
    if len({tuple(image.shape) for image in images}) > 1:
        raise ValueError(
            f"the pictures of {dataset!r} differ in size; load the split with a size, "
            f"e.g. cvlearn.data.load(name, split, size=64)"
        )
    if not images:
        side = getattr(dataset, "size", None) or 0
        return BoxedSplit(
            dataset,
            torch.zeros(0, dtype=torch.int64),
            torch.zeros((0, 3, side, side), dtype=torch.uint8),
            torch.zeros((0, 4)),
        )
    return BoxedSplit(dataset, torch.tensor(indices), torch.stack(images), torch.stack(boxes))


class LocalisationData(Dataset):
    """``(image, target)`` pairs from whole-split tensors, optionally flipped left-right at random.

    images: (N, 3, H, W) uint8; labels: (N,) int64; boxes: (N, 4) XYXY in pixels. Items are
    ``(image (3, H, W) uint8, {"labels": int64 scalar, "boxes": (4,) XYXY normalised 0..1})``.
    A flip mirrors the picture and its box together (torchvision's ``horizontal_flip`` kernels),
    so the box still frames the animal. It draws from torch's global generator, which
    ``fit`` seeds.
    """

    def __init__(self, images: Tensor, labels: Tensor, boxes: Tensor, flip: bool = False) -> None:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, H, W), got {tuple(images.shape)}")
        if len(labels) != len(images) or tuple(boxes.shape) != (len(images), 4):
            raise ValueError(
                f"need one label and one (4,) box per image: {len(images)} images, "
                f"labels {tuple(labels.shape)}, boxes {tuple(boxes.shape)}"
            )
        self.images, self.labels, self.flip = images, labels.long(), flip
        h, w = images.shape[-2:]
        self.size = (h, w)
        self.boxes = boxes.as_subclass(Tensor).float()

    @classmethod
    def from_dataset(cls, dataset: Any, flip: bool = False) -> LocalisationData:
        """From a :class:`cvlearn.data.ToyDataset`: its images, main labels and main boxes."""
        return cls(dataset.images, dataset.targets, main_boxes(dataset), flip=flip)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        image, box = self.images[index], self.boxes[index : index + 1]
        if self.flip and torch.rand(()) < 0.5:
            image = TF.horizontal_flip_image(image)
            box = TF.horizontal_flip_bounding_boxes(box, format=XYXY, canvas_size=self.size)
        return image, {"labels": self.labels[index], "boxes": normalise(box, self.size)[0]}


@torch.no_grad()
def localise(model: nn.Module, images: Tensor, batch_size: int = 250) -> dict[str, Tensor]:
    """Class and box of each picture, in eval mode, batch by batch.

    images: (N, 3, H, W) uint8 or float 0..1. Returns ``{"labels": (N,) int64, "scores": (N,)
    probability of that label, "boxes": (N, 4) XYXY in pixels, clipped to the picture}``.
    """
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError(f"images must be an (N, 3, H, W) tensor, got {getattr(images, 'shape', type(images))}")

    def probabilities_and_boxes(batch: Tensor) -> Tensor:
        out = model(batch)
        return torch.cat([out["logits"].softmax(1), out["boxes"]], dim=1)

    joined = predict_in_batches(model, images, batch_size, probabilities_and_boxes)
    scores, labels = joined[:, :-4].max(dim=1)
    h, w = images.shape[-2:]
    size = (h, w)
    return {"labels": labels, "scores": scores, "boxes": clip_boxes_to_image(denormalise(joined[:, -4:], size), size)}
