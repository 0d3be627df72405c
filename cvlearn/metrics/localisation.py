"""Localisation scores: IoU of matched box pairs, mean IoU, and the share of good boxes.

A localiser predicts one box per picture, so each prediction has exactly one partner: the
picture's true box. The scores therefore compare boxes pair by pair (row i with row i), unlike
detection's ``box_iou`` which compares every box with every other (an N × M table).

* **accuracy**: share of pictures whose class is right;
* **mean IoU**: average IoU between each predicted box and its true box;
* **IoU ≥ 0.5 share** (``iou50``): share of boxes that overlap their truth by at least half,
  PASCAL VOC's rule for "found it";
* **hit50**: class right *and* IoU ≥ 0.5, the ImageNet localisation challenge's rule.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .classification import accuracy


def _as_box_pairs(boxes1: object, boxes2: object) -> tuple[Tensor, Tensor]:
    pair = []
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if not isinstance(boxes, Tensor):
            try:
                boxes = torch.as_tensor(boxes, dtype=torch.float32)
            except (TypeError, ValueError, RuntimeError) as err:
                raise TypeError(f"{name} must be an (N, 4) tensor of XYXY boxes, got {type(boxes).__name__}") from err
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"{name} must have shape (N, 4) (XYXY), got {tuple(boxes.shape)}")
        pair.append(boxes.as_subclass(Tensor).float() if not boxes.is_floating_point() else boxes.as_subclass(Tensor))
    if len(pair[0]) != len(pair[1]):
        raise ValueError(f"boxes1 and boxes2 must hold the same number of boxes (they are compared row by row), "
                         f"got {len(pair[0])} and {len(pair[1])}")
    return pair[0], pair[1].to(pair[0].dtype)


def paired_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """(N,) IoU of each box in ``boxes1`` with the box in the same row of ``boxes2``.

    boxes1, boxes2: (N, 4) XYXY, both in pixels or both normalised (IoU has no unit). 1 for
    identical boxes, 0 for boxes that do not overlap (or two empty boxes). Equal to
    ``torchvision.ops.box_iou(boxes1, boxes2).diagonal()`` without building the N × N table.
    """
    boxes1, boxes2 = _as_box_pairs(boxes1, boxes2)
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    overlap = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).clamp(min=0).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).clamp(min=0).prod(dim=1)
    union = area1 + area2 - overlap
    return torch.where(union > 0, overlap / union.clamp(min=torch.finfo(union.dtype).tiny), torch.zeros_like(union))


FOUND_IOU = 0.5
"""A box counts as found when its IoU with the truth is at least this (PASCAL VOC's rule)."""


def localisation_scores(pred_labels: Tensor, pred_boxes: Tensor, true_labels: Tensor,
                        true_boxes: Tensor) -> dict[str, float]:
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
    return {"accuracy": accuracy(pred, true_labels), "mean_iou": ious.mean().item(),
            "iou50": found.float().mean().item(), "hit50": (right & found).float().mean().item()}
