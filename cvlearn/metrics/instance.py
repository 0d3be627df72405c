"""Instance segmentation scores: COCO mask AP and box AP (through pycocotools), and mask IoU.

Predictions and targets follow torchvision's detection format (see :mod:`cvlearn.metrics.coco`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .coco import binarise_masks, coco_evaluate


def instance_metrics(
    predictions: Sequence[dict], targets: Sequence[dict], categories: Sequence[str], image_size: tuple[int, int]
) -> dict[str, float]:
    """COCO mask AP and box AP of ``predictions`` against ``targets``, as the benchmark names them.

    Returns ``mask_ap50``, ``mask_ap75``, ``mask_ap`` (AP@[.5:.95]), ``box_ap50``, ``box_ap``.
    """
    segm = coco_evaluate(predictions, targets, categories, image_size, iou_type="segm")
    bbox = coco_evaluate(predictions, targets, categories, image_size, iou_type="bbox")
    return {
        "mask_ap50": segm["ap50"],
        "mask_ap75": segm["ap75"],
        "mask_ap": segm["ap"],
        "box_ap50": bbox["ap50"],
        "box_ap": bbox["ap"],
    }


def mask_iou(masks_a: Any, masks_b: Any) -> torch.Tensor:
    """Pairwise IoU of two stacks of masks: (N, H, W) and (M, H, W) bool -> (N, M) float.

    Also accepts (N, 1, H, W) probabilities (thresholded at 0.5). Empty pairs score 0.
    """
    a = binarise_masks(masks_a).flatten(1).float()
    b = binarise_masks(masks_b).flatten(1).float()
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"masks must share their size, got {tuple(masks_a.shape)} and {tuple(masks_b.shape)}")
    inter = a @ b.T
    union = a.sum(1, keepdim=True) + b.sum(1) - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(inter))
