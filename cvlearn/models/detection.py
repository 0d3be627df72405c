"""Object detectors for small pictures: a tiny one-stage detector and a small-image Faster R-CNN.

:class:`TinyDetector` is a one-stage, anchor-free detector in the manner of FCOS: a small
residual CNN with a feature pyramid (the backbone notebook 05's Mask R-CNN uses too) gives a
24 x 24 grid of features for a 96 px picture (stride 4); at every grid point a head predicts a
score per class, the distances from the point to the four sides of a box (each as a choice among
whole pixels), and how good that box is (its IoU). Training assigns grid points to ground-truth
boxes (:func:`cvlearn.boxes.assign_points`); prediction keeps the confident points and removes
duplicates with non-maximum suppression.

:func:`faster_rcnn` builds torchvision's two-stage :class:`~torchvision.models.detection.FasterRCNN`
on the same backbone, with every size set for 64 to 128 px pictures (:class:`RCNNSettings`).

Both follow torchvision's contract: ``model(images, targets)`` in training mode returns a dict
of losses, and ``model(images)`` in eval mode returns one dict per image with ``boxes`` (K, 4)
XYXY in pixels, ``scores`` (K,) and ``labels`` (K,) 1-based into ``dataset.categories``.
Images are (3, H, W), uint8 (0..255) or float in 0..1, as a batch tensor or a list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torchvision.models.detection import FasterRCNN, fasterrcnn_resnet50_fpn_v2
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
from torchvision.ops import batched_nms, clip_boxes_to_image, generalized_box_iou_loss, sigmoid_focal_loss

from ..boxes import assign_points, centreness, decode_distances, encode_distances, grid_points, paired_iou
from ..images import as_float_images, collate_detection, predict_in_batches
from .backbones import IMAGE_MEAN, IMAGE_STD, TinyFPNBackbone, conv_bn_relu
from .rcnn import RCNNSettings, rcnn_kwargs

__all__ = [
    "IMAGE_MEAN",
    "IMAGE_STD",
    "DetectionData",
    "DetectionHead",
    "DetectorSettings",
    "RCNNSettings",
    "TinyDetector",
    "collate",
    "detect",
    "detection_loader",
    "expected_distances",
    "faster_rcnn",
    "likeliest_distances",
    "rcnn_kwargs",
    "tiny_detector",
]


# --------------------------------------------------------------------------------------------
# Data: images and boxes in batches
# --------------------------------------------------------------------------------------------


class DetectionData(Dataset):
    """``(image, target)`` pairs for detection: float image (3, H, W) in 0..1, ``boxes`` (N, 4)
    XYXY pixels, ``labels`` (N,) and ``image_id``; optionally flipped left-right at random.

    Wraps a :class:`cvlearn.data.ToyDataset` and keeps only what detectors need, so a batch is
    quick to build. The flip draws from torch's global generator, which ``fit`` seeds.
    """

    def __init__(self, dataset: Any, flip: bool = False) -> None:
        self.images = dataset.images
        self.size = dataset.size
        self.targets = []
        for i in range(len(dataset)):
            target = dataset.target(i)
            self.targets.append(
                {
                    "boxes": target["boxes"].as_subclass(Tensor).float(),
                    "labels": target["labels"],
                    "image_id": target["image_id"],
                }
            )
        self.flip = flip

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Any]]:
        image, target = as_float_images(self.images[index]), dict(self.targets[index])
        if self.flip and torch.rand(()) < 0.5:
            image = image.flip(-1)
            x1, y1, x2, y2 = target["boxes"].unbind(1)
            target["boxes"] = torch.stack([self.size - x2, y1, self.size - x1, y2], dim=1)
        return image, target


def collate(batch: list[tuple[Tensor, dict]]) -> tuple[Tensor, list[dict]]:
    """A batch: images stacked into (B, 3, H, W), targets kept as a list (their lengths differ)."""
    images, targets = collate_detection(batch)
    return torch.stack(images), targets


def detection_loader(dataset: Any, batch_size: int, shuffle: bool = False, flip: bool = False) -> DataLoader:
    """A DataLoader of :class:`DetectionData` batches (``num_workers=0``: safe on every OS)."""
    return DataLoader(
        DetectionData(dataset, flip=flip), batch_size=batch_size, shuffle=shuffle, collate_fn=collate, num_workers=0
    )


def _as_batch(images: Tensor | Sequence[Tensor]) -> Tensor:
    """(B, 3, H, W) float in 0..1 from a batch tensor or a list of (3, H, W) images, uint8 or float."""
    if isinstance(images, Tensor):
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(
                f"images must be a (B, 3, H, W) tensor or a list of (3, H, W) tensors, got shape {tuple(images.shape)}"
            )
        batch = images
    else:
        batch = torch.stack(list(images))
    return as_float_images(batch)


# --------------------------------------------------------------------------------------------
# The one-stage detector
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectorSettings:
    """Every size of :class:`TinyDetector`.

    widths: channels of the backbone's stages at strides 2, 4, 8 and 16.
    channels: channels of the feature pyramid and of the head.
    head_convs: 3x3 convolutions in the head, shared by its three outputs.
    radius: a grid point learns a box when within ``radius`` cells of its centre.
    max_distance: distances from a point to a box side are told apart as 0, 1, ...,
        ``max_distance - 1`` whole pixels.
    distance_weight: weight of the distances' cross-entropy next to the GIoU loss.
    score_thresh: candidates scoring below this are dropped before NMS.
    nms_thresh: two boxes of one class overlapping more than this are duplicates.
    candidates_per_img, detections_per_img: kept before and after NMS.
    """

    widths: tuple[int, ...] = (16, 32, 64, 96)
    channels: int = 48
    head_convs: int = 2
    radius: float = 1.5
    max_distance: int = 32
    distance_weight: float = 0.25
    score_thresh: float = 0.05
    nms_thresh: float = 0.5
    candidates_per_img: int = 300
    detections_per_img: int = 100

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DetectionHead(nn.Module):
    """Per grid point: a logit per class, a distribution over each side's distance, a quality logit.

    Input (B, C, H, W) features; outputs ``class_logits`` (B, K, H, W), ``distance_logits``
    (B, 4, D, H, W) (for the left, top, right and bottom sides, a logit for each distance 0, 1,
    ..., D - 1 pixels) and ``quality_logits`` (B, 1, H, W).
    """

    def __init__(self, channels: int, num_classes: int, convs: int = 2, max_distance: int = 32) -> None:
        super().__init__()
        self.max_distance = max_distance
        self.tower = nn.Sequential(*[conv_bn_relu(channels, channels) for _ in range(convs)])
        self.classes = nn.Conv2d(channels, num_classes, 3, padding=1)
        self.distances = nn.Conv2d(channels, 4 * max_distance, 1)
        self.quality = nn.Conv2d(channels, 1, 3, padding=1)
        # Start by predicting "background, 1 % sure of each class": the focal loss is stable from step one.
        assert self.classes.bias is not None  # (a Conv2d has one unless built with bias=False)
        nn.init.constant_(self.classes.bias, -math.log(99))
        nn.init.normal_(self.classes.weight, std=0.01)

    def forward(self, features: Tensor) -> dict[str, Tensor]:
        x = self.tower(features)
        b, _, h, w = x.shape
        return {
            "class_logits": self.classes(x),
            "distance_logits": self.distances(x).view(b, 4, self.max_distance, h, w),
            "quality_logits": self.quality(x),
        }


def expected_distances(distance_logits: Tensor) -> Tensor:
    """(..., 4) mean distance in pixels under each side's distribution, from (..., 4, D) logits.

    A smooth (differentiable) reading of the distribution, for the GIoU loss.
    """
    pixels = torch.arange(distance_logits.shape[-1], dtype=distance_logits.dtype, device=distance_logits.device)
    return (distance_logits.softmax(dim=-1) * pixels).sum(dim=-1)


def likeliest_distances(distance_logits: Tensor) -> Tensor:
    """(..., 4) most likely whole-pixel distance of each side, from (..., 4, D) logits."""
    return distance_logits.argmax(dim=-1).to(distance_logits.dtype)


class TinyDetector(nn.Module):
    """A one-stage, anchor-free detector (FCOS-like) for small pictures; see the module docstring.

    The true boxes run along pixel edges and the grid points sit on pixel corners, so the
    distance from a point to each side of its box is a whole number of pixels. The head
    therefore *classifies* each distance (0, 1, ..., 31 px) instead of regressing a real number
    (as the distribution focal loss of GFL does), and predicts the likeliest: boxes come out
    pixel-exact when the head is sure.

    Args:
        num_classes: object classes *without* the background (2 for apples and oranges).
        settings: the sizes (:class:`DetectorSettings`).
    """

    stride = 4
    mean: Tensor  # (1, 3, 1, 1) buffers, registered in __init__
    std: Tensor

    def __init__(self, num_classes: int, settings: DetectorSettings = DetectorSettings()) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"num_classes must be a positive int (classes without the background), got {num_classes!r}"
            )
        self.num_classes, self.settings = num_classes, settings
        self.backbone = TinyFPNBackbone(settings.widths, settings.channels)
        self.head = DetectionHead(settings.channels, num_classes, settings.head_convs, settings.max_distance)
        self.register_buffer("mean", torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGE_STD).view(1, 3, 1, 1), persistent=False)

    def head_outputs(self, images: Tensor | Sequence[Tensor]) -> dict[str, Tensor]:
        """The raw maps of the head for a batch (see :class:`DetectionHead`)."""
        batch = _as_batch(images)
        if batch.shape[-1] % 16 or batch.shape[-2] % 16:
            raise ValueError(f"image sides must be multiples of 16, got {tuple(batch.shape[-2:])}")
        features = self.backbone((batch - self.mean) / self.std)["0"]
        return self.head(features)

    def points(self, outputs: dict[str, Tensor]) -> Tensor:
        """(H * W, 2) pixel centres of the grid the head's maps live on."""
        h, w = outputs["class_logits"].shape[-2:]
        return grid_points(h, w, self.stride).to(outputs["class_logits"].device)

    def forward(self, images: Tensor | Sequence[Tensor], targets: Sequence[dict] | None = None):
        outputs = self.head_outputs(images)
        if self.training:
            if targets is None:
                raise ValueError("in training mode the model needs targets: model(images, targets)")
            return self.loss(outputs, targets)
        h, w = _as_batch(images).shape[-2:]
        return self.postprocess(outputs, image_size=(h, w))

    # -- training --------------------------------------------------------------------------

    def assign(self, points: Tensor, target: dict) -> tuple[Tensor, Tensor]:
        """Grid points to one image's boxes: (P,) class (0: background) and (P, 4) XYXY box."""
        boxes, labels = target["boxes"], target["labels"]
        index = assign_points(points, boxes, self.stride, self.settings.radius)
        positive = index >= 0
        classes = torch.where(positive, labels[index.clamp(min=0)] if len(labels) else index, torch.zeros_like(index))
        matched = boxes[index.clamp(min=0)] if len(boxes) else torch.zeros(len(points), 4, device=points.device)
        return classes, matched

    def loss(self, outputs: dict[str, Tensor], targets: Sequence[dict]) -> dict[str, Tensor]:
        """The three losses, as a dict (their sum is minimised).

        * ``classification``: focal loss at every point (positives: their box's class);
        * ``box``: at positive points, the cross-entropy of each side's true distance (a whole
          number of pixels) plus the GIoU loss of the box from the expected distances, both
          weighted by the point's centre-ness, so the points best placed to see an object learn
          its box most;
        * ``quality``: at positive points, binary cross-entropy towards the IoU that point's own
          box reaches.
        """
        points = self.points(outputs)
        assigned = [self.assign(points, t) for t in targets]
        classes = torch.stack([c for c, _ in assigned])  # (B, P)
        matched = torch.stack([b for _, b in assigned])  # (B, P, 4)
        positive = classes > 0
        num_pos = max(int(positive.sum()), 1)
        class_logits = outputs["class_logits"].flatten(2).transpose(1, 2)  # (B, P, K)
        one_hot = F.one_hot(classes, self.num_classes + 1)[..., 1:].to(class_logits.dtype)
        class_loss = sigmoid_focal_loss(class_logits, one_hot, reduction="sum") / num_pos

        distance_logits = outputs["distance_logits"].flatten(3).permute(0, 3, 1, 2)[positive]  # (N, 4, D)
        pos_points, pos_boxes = points.expand(len(targets), -1, -1)[positive], matched[positive]
        true_distances = encode_distances(pos_points, pos_boxes)  # (N, 4) pixels
        weight = centreness(true_distances)
        predicted = decode_distances(pos_points, expected_distances(distance_logits))
        giou = generalized_box_iou_loss(predicted, pos_boxes, reduction="none")
        classes_d = true_distances.round().long().clamp(0, self.settings.max_distance - 1)
        ce = F.cross_entropy(distance_logits.flatten(0, 1), classes_d.flatten(), reduction="none").view(-1, 4).sum(1)
        box_loss = ((giou + self.settings.distance_weight * ce) * weight).sum() / weight.sum().clamp(min=1e-6)

        quality_logits = outputs["quality_logits"].flatten(1)[positive]
        quality = paired_iou(predicted.detach(), pos_boxes)
        quality_loss = F.binary_cross_entropy_with_logits(quality_logits, quality, reduction="sum") / num_pos
        return {"classification": class_loss, "box": box_loss, "quality": quality_loss}

    # -- prediction ------------------------------------------------------------------------

    def candidates(self, outputs: dict[str, Tensor], image_size: tuple[int, int]) -> list[dict[str, Tensor]]:
        """Every confident grid point's box, before NMS: per image ``boxes``, ``scores``, ``labels``.

        score = sqrt(class probability x quality); each side at its likeliest distance. Points
        below ``settings.score_thresh`` are dropped and at most ``candidates_per_img`` kept.
        """
        points = self.points(outputs)
        probs = outputs["class_logits"].sigmoid().flatten(2).transpose(1, 2)  # (B, P, K)
        quality = outputs["quality_logits"].sigmoid().flatten(2).transpose(1, 2)  # (B, P, 1)
        scores = (probs * quality).sqrt()
        distances = likeliest_distances(outputs["distance_logits"].flatten(3).permute(0, 3, 1, 2))  # (B, P, 4)
        found = []
        for s, d in zip(scores, distances):
            flat = s.flatten()
            keep = torch.nonzero(flat > self.settings.score_thresh).squeeze(1)
            keep = keep[flat[keep].topk(min(len(keep), self.settings.candidates_per_img)).indices]
            point, cls = keep // self.num_classes, keep % self.num_classes
            boxes = clip_boxes_to_image(decode_distances(points[point], d[point]), image_size)
            found.append({"boxes": boxes, "scores": flat[keep], "labels": cls + 1})
        return found

    def postprocess(self, outputs: dict[str, Tensor], image_size: tuple[int, int]) -> list[dict[str, Tensor]]:
        """Detections per image: candidates, then class-wise NMS, at most ``detections_per_img``."""
        results = []
        for c in self.candidates(outputs, image_size):
            keep = batched_nms(c["boxes"], c["scores"], c["labels"], self.settings.nms_thresh)
            results.append({k: v[keep[: self.settings.detections_per_img]] for k, v in c.items()})
        return results


def tiny_detector(num_classes: int = 2, **overrides: Any) -> TinyDetector:
    """:class:`TinyDetector` with the default :class:`DetectorSettings`, some changed by keyword."""
    unknown = set(overrides) - set(DetectorSettings.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; expected names of DetectorSettings")
    return TinyDetector(num_classes, replace(DetectorSettings(), **overrides))


# --------------------------------------------------------------------------------------------
# Faster R-CNN for small pictures
# --------------------------------------------------------------------------------------------


def faster_rcnn(
    num_classes: int | None = 3, *, weights: Any = None, settings: RCNNSettings = RCNNSettings(), **overrides: Any
) -> FasterRCNN:
    """Faster R-CNN for small pictures, trained from scratch, or torchvision's pretrained one.

    Args:
        num_classes: classes *including* the background (``len(dataset.categories)``, 3 here).
        weights: ``None`` builds the small model of ``settings`` from scratch. Anything else is
            passed to ``torchvision.models.detection.fasterrcnn_resnet50_fpn_v2(weights=...)``
            (e.g. ``"DEFAULT"``, downloaded on first use); with a ``num_classes`` other than the
            weights' own, the box predictor is replaced for fine-tuning.
        settings: the sizes (:class:`RCNNSettings`); ``**overrides`` change single ones.

    Returns:
        A ``FasterRCNN`` in training mode.
    """
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2
    ):
        raise ValueError(f"num_classes must be an int >= 2 (background + classes), got {num_classes!r}")
    if weights is not None:
        model = fasterrcnn_resnet50_fpn_v2(weights=weights)
        if num_classes is not None and num_classes != model.roi_heads.box_predictor.cls_score.out_features:
            model.roi_heads.box_predictor = FastRCNNPredictor(
                model.roi_heads.box_predictor.cls_score.in_features, num_classes
            )
        return model
    if num_classes is None:
        raise ValueError("num_classes is needed when weights is None (the model is trained from scratch)")
    unknown = set(overrides) - set(RCNNSettings.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; expected names of RCNNSettings")
    settings = replace(settings, **overrides)
    backbone = TinyFPNBackbone(settings.widths, settings.channels)
    return FasterRCNN(backbone, **rcnn_kwargs(settings, num_classes))


# --------------------------------------------------------------------------------------------
# Using a detector
# --------------------------------------------------------------------------------------------


def detect(model: nn.Module, images: Tensor, batch_size: int = 50) -> list[dict[str, Tensor]]:
    """Detections for (N, 3, H, W) images (uint8, or float in 0..1), in batches, in eval mode.

    Returns one dict per image: ``boxes`` (K, 4) XYXY pixels, ``scores`` (K,), ``labels`` (K,).
    """
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError(f"images must be an (N, 3, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    return predict_in_batches(model, images, batch_size, lambda batch: model(as_float_images(batch)))
