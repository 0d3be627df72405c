"""Localisation scores: IoU of matched box pairs, mean IoU, and the share of good boxes.

A localiser predicts one box per picture, so each prediction has exactly one partner: the
picture's true box. The scores therefore compare boxes pair by pair (row i with row i), unlike
detection's ``box_iou`` which compares every box with every other (an N × M table). The pairwise
IoU itself, :func:`paired_iou`, lives in :mod:`cvlearn.boxes` (the models need it too) and is
re-exported here.

* **accuracy**: share of pictures whose class is right;
* **mean IoU**: average IoU between each predicted box and its true box;
* **IoU ≥ 0.5 share** (``iou50``): share of boxes that overlap their truth by at least half,
  PASCAL VOC's rule for "found it";
* **hit50**: class right *and* IoU ≥ 0.5, the ImageNet localisation challenge's rule.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..boxes import paired_iou
from .classification import accuracy

__all__ = ["FOUND_IOU", "localisation_scores", "paired_iou"]


FOUND_IOU = 0.5
"""A box counts as found when its IoU with the truth is at least this (PASCAL VOC's rule)."""


def localisation_scores(
    pred_labels: Tensor, pred_boxes: Tensor, true_labels: Tensor, true_boxes: Tensor
) -> dict[str, float]:
    """All four scores of a localiser over a split.

    pred_labels, true_labels: (N,) class indices (or (N, C) scores for the predictions);
    pred_boxes, true_boxes: (N, 4) XYXY, in the same units. Returns ``{"accuracy", "mean_iou",
    "iou50", "hit50"}`` as floats in 0..1.
    """
    ious = paired_iou(pred_boxes, true_boxes)
    if len(ious) == 0:
        raise ValueError("localisation scores of an empty set are undefined: no boxes were given")
    pred = torch.as_tensor(pred_labels)
    pred = pred.argmax(dim=1) if pred.is_floating_point() and pred.ndim == 2 else pred.long()
    if len(pred) != len(ious):
        raise ValueError(f"need one predicted label per box: got {len(pred)} labels and {len(ious)} boxes")
    right = pred == torch.as_tensor(true_labels).long()
    found = ious >= FOUND_IOU
    return {
        "accuracy": accuracy(pred, true_labels),
        "mean_iou": ious.mean().item(),
        "iou50": found.float().mean().item(),
        "hit50": (right & found).float().mean().item(),
    }
