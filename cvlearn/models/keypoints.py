"""Keypoint R-CNN for pose estimation: a small-image, CPU-friendly build of torchvision's model.

Keypoint R-CNN is Mask R-CNN with a keypoint head in place of the mask head: for each detected
person it pools the RoI's features, runs a few 3x3 convolutions and predicts one heatmap per
joint; the joint is where its heatmap peaks. :func:`keypointrcnn` builds torchvision's
:class:`~torchvision.models.detection.KeypointRCNN` around the course's light backbone
(:class:`TinyFPNBackbone`, trained from scratch) with every size set for 96 to 128 px street
scenes whose people are 20 to 90 px tall (:class:`KeypointRCNNSettings`): no resize to 800 px,
tall thin anchors, few proposals, a 4x64 keypoint head instead of torchvision's 8x512 (18 times
faster a step on a CPU), pooled from the stride-2 pyramid level so a 10 px wide person still
covers several feature cells.

Only people have joints. The model is person-only by default (``num_classes=2``), as COCO's
Keypoint R-CNN is: every positive RoI is a person and gets keypoint targets, and the keypoint
head spends no time on cars. With more classes (``num_classes=3`` for person and car),
torchvision gives every foreground RoI to the keypoint head; objects whose joints are all
unlabelled (v = 0, as cars' are) add nothing to the keypoint loss, so the head still learns
from people only, at the cost of pooling car RoIs too.

It follows torchvision's contract: in training mode ``model(images, targets)`` returns a dict of
losses (targets hold ``boxes`` (N, 4) XYXY pixels, ``labels`` (N,) and ``keypoints`` (N, K, 3)
x, y, v in COCO's convention); in eval mode ``model(images)`` returns one dict per image with
``boxes``, ``labels``, ``scores``, ``keypoints`` (K, J, 3) and ``keypoints_scores`` (K, J).
:func:`predict_keypoints` runs a model over many pictures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torchvision.models.detection import KeypointRCNN
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign

from ..images import as_float_images, predict_in_batches
from ..toyworld import PERSON_KEYPOINTS
from .backbones import TinyFPNBackbone
from .rcnn import RCNNSettings, levels_rpn, rcnn_kwargs

__all__ = [
    "POSE",
    "HeatmapPredictor",
    "KeypointRCNNSettings",
    "flip_keypoints",
    "flip_permutation",
    "keypointrcnn",
    "predict_keypoints",
]


@dataclass(frozen=True)
class KeypointRCNNSettings(RCNNSettings):
    """Every size of the small-image Keypoint R-CNN, in one place (see :func:`keypointrcnn`).

    It extends notebook 03's Faster R-CNN settings (:class:`cvlearn.models.rcnn.RCNNSettings`,
    whose fields keep their meaning) with the keypoint branch, and sets some for upright people:

    image_size: 128 px, toy-street's own size.
    anchor_sizes: one anchor side per pyramid level (strides 4, 8, 16); people are 20 to 90 px tall.
    aspect_ratios: anchor height / width; people stand 2 to 3 times taller than wide (cars, in a
        three-class model, are about half as tall as long).
    box_detections_per_img: toy-street has at most 5 people (and 2 cars) a picture.

    The keypoint branch:

    num_keypoints: joints per person (13 for toy-street: :data:`cvlearn.toyworld.PERSON_KEYPOINTS`).
    keypoint_layers: output channels of the head's 3x3 convolutions; torchvision's is eight of
        512, about 18 times slower a step on a CPU than these four of 64.
    keypoint_stride: the pyramid level the head pools from: 2 (finer than the RPN's, as a person
        10 px wide covers only 2 or 3 cells at stride 4) or 4.
    keypoint_pool_size: RoIAlign output side; heatmaps come out 4 times as large (torchvision's
        predictor upsamples twice by 2: 14 -> 56).
    """

    image_size: int = 128
    anchor_sizes: tuple[int, ...] = (16, 32, 64)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 3.0)
    rpn_fg_iou_thresh: float = 0.6
    box_detections_per_img: int = 20
    num_keypoints: int = len(PERSON_KEYPOINTS)
    keypoint_layers: tuple[int, ...] = (64, 64, 64, 64)
    keypoint_stride: int = 2
    keypoint_pool_size: int = 14


POSE = KeypointRCNNSettings()
"""The settings the ``pose`` recipe and notebook 06 use."""


def keypointrcnn(num_classes: int = 2, *, settings: KeypointRCNNSettings = POSE, **overrides: Any) -> KeypointRCNN:
    """Keypoint R-CNN for small pictures, trained from scratch.

    Args:
        num_classes: classes including background: 2 (person) as COCO's Keypoint R-CNN, or 3
            (person and car: cars, whose joints are unlabelled, add nothing to the keypoint loss).
        settings: the sizes (:class:`KeypointRCNNSettings`; default :data:`POSE`).
        **overrides: change single settings, e.g. ``keypointrcnn(2, keypoint_layers=(64,) * 8)``.

    Returns:
        A ``KeypointRCNN`` in training mode.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2 (background + classes), got {num_classes!r}")
    if not isinstance(settings, KeypointRCNNSettings):
        raise TypeError(f"settings must be a KeypointRCNNSettings, got {type(settings).__name__}")
    unknown = set(overrides) - set(KeypointRCNNSettings.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; expected names of KeypointRCNNSettings")
    s = replace(settings, **overrides)
    if len(s.anchor_sizes) != 3:
        raise ValueError(f"anchor_sizes must give one size per pyramid level (3), got {s.anchor_sizes!r}")
    if s.keypoint_stride not in (2, 4):
        raise ValueError(f"keypoint_stride must be 2 or 4, got {s.keypoint_stride!r}")
    faster = rcnn_kwargs(s, num_classes)
    backbone = TinyFPNBackbone(s.widths, s.channels, fine_level=s.keypoint_stride == 2)
    pool = MultiScaleRoIAlign(
        ["fine" if s.keypoint_stride == 2 else "0"], output_size=s.keypoint_pool_size, sampling_ratio=s.sampling_ratio
    )
    model = KeypointRCNN(
        backbone,
        **faster,
        keypoint_roi_pool=pool,
        keypoint_head=KeypointRCNNHeads(s.channels, list(s.keypoint_layers)),
        keypoint_predictor=HeatmapPredictor(s.keypoint_layers[-1], s.num_keypoints),
    )
    model.rpn = levels_rpn(s, faster["rpn_anchor_generator"])
    return model


class HeatmapPredictor(KeypointRCNNPredictor):
    """torchvision's keypoint predictor, its heatmaps (N, J, 4S, 4S) made contiguous.

    torchvision's keypoint loss flattens the heatmaps with ``.view``, which fails on the
    channels-last tensors that ``fit(channels_last=True)`` (10 % faster CPU convolutions) gives.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).contiguous()


def flip_permutation(names: Sequence[str] = PERSON_KEYPOINTS) -> list[int]:
    """For each joint, the index of its mirror image: ``left_*`` and ``right_*`` swap, others stay.

    A picture flipped left to right shows a person's left wrist where the right one was, so a
    flip must move the joints' x and swap their names (COCO's ``flip_map``).
    """
    index = {name: i for i, name in enumerate(names)}
    swapped = [name.replace("left_", "\0").replace("right_", "left_").replace("\0", "right_") for name in names]
    missing = [name for name in swapped if name not in index]
    if missing:
        raise ValueError(f"joints {missing} have no mirror image among {list(names)}")
    return [index[name] for name in swapped]


def flip_keypoints(keypoints: torch.Tensor, width: float, names: Sequence[str] = PERSON_KEYPOINTS) -> torch.Tensor:
    """(N, K, 3) x, y, v keypoints of a picture ``width`` px wide, mirrored left to right.

    x becomes ``width - x`` (the same convention as boxes, whose x1 becomes ``width - x2``), left
    and right joints swap (:func:`flip_permutation`), and unlabelled joints (v = 0) stay all zero.
    """
    flipped = keypoints[:, flip_permutation(names)].clone()
    labelled = flipped[..., 2] > 0
    flipped[..., 0] = torch.where(labelled, width - flipped[..., 0], flipped[..., 0])
    return flipped


def predict_keypoints(
    model: nn.Module, images: torch.Tensor | Sequence[torch.Tensor], batch_size: int = 25
) -> list[dict[str, torch.Tensor]]:
    """Run a Keypoint R-CNN in eval mode over ``images``, a batch at a time; results on the CPU.

    Args:
        images: an (N, 3, H, W) tensor or N (3, H, W) tensors, uint8 (0..255) or float (0..1).

    Returns:
        One dict per image, sorted by falling score: ``boxes`` (K, 4) XYXY pixels, ``labels``
        (K,), ``scores`` (K,), ``keypoints`` (K, J, 3) x, y in pixels and v = 1 (torchvision
        marks every predicted joint visible) and ``keypoints_scores`` (K, J), each joint's heatmap
        logit at its peak (high: the model is sure where the joint is).
    """
    return predict_in_batches(
        model, images, batch_size, prepare=lambda batch: [_as_float_image(image) for image in batch]
    )


def _as_float_image(image: torch.Tensor) -> torch.Tensor:
    """One picture (3, H, W) as float32 in 0..1, from uint8 or float (a tv_tensors.Image too)."""
    image = torch.as_tensor(image).as_subclass(torch.Tensor)
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"images must be (3, H, W) tensors, got shape {tuple(image.shape)}")
    return as_float_images(image).float()
