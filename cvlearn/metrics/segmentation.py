"""Semantic-segmentation scores: pixel accuracy, IoU per class, mean IoU, boundary pixels.

Every score is read off one pixel confusion matrix, built by the same
:func:`~cvlearn.metrics.classification.confusion_matrix` that scores classifiers (a pixel is just
an item with a class). Row = true class, column = predicted class. For class ``c``:

* ``IoU[c] = TP / (TP + FP + FN)`` = ``M[c, c] / (row sum + column sum - M[c, c])``;
* a class absent from both the target and the prediction has no IoU (NaN): there was nothing to
  find and nothing was wrongly found, so it neither helps nor hurts ``mean_iou``;
* pixels whose target is ``ignore_index`` (VOC marks object borders with 255) are left out.

``predictions`` may be class indices of the targets' shape or scores (N, C, H, W) (argmax over C).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from .classification import confusion_matrix


def _check_matrix(matrix: torch.Tensor) -> torch.Tensor:
    matrix = torch.as_tensor(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be a square (C, C) confusion matrix, got shape {tuple(matrix.shape)}")
    return matrix.double()


def iou_from_confusion(matrix: torch.Tensor) -> torch.Tensor:
    """(C,) float64 IoU of every class from a (C, C) confusion matrix; NaN where a class is absent
    from both target and prediction."""
    m = _check_matrix(matrix)
    hits = m.diag()
    union = m.sum(dim=0) + m.sum(dim=1) - hits
    return torch.where(union > 0, hits / union.clamp(min=1), torch.full_like(hits, float("nan")))


def accuracy_from_confusion(matrix: torch.Tensor) -> float:
    """Share of (non-ignored) pixels whose predicted class is right: trace / total."""
    m = _check_matrix(matrix)
    if m.sum() == 0:
        raise ValueError("pixel accuracy of no pixels is undefined: every target pixel is ignored or there are none")
    return float(m.diag().sum() / m.sum())


def pixel_accuracy(
    predictions: torch.Tensor, targets: torch.Tensor, num_classes: int, ignore_index: int | None = None
) -> float:
    """Share of pixels classified right. predictions: (N, H, W) indices or (N, C, H, W) scores;
    targets: (N, H, W) indices."""
    return accuracy_from_confusion(confusion_matrix(predictions, targets, num_classes, ignore_index))


def per_class_iou(
    predictions: torch.Tensor, targets: torch.Tensor, num_classes: int, ignore_index: int | None = None
) -> torch.Tensor:
    """(num_classes,) float64 IoU of each class (NaN for a class absent from both)."""
    return iou_from_confusion(confusion_matrix(predictions, targets, num_classes, ignore_index))


def mean_iou(
    predictions: torch.Tensor, targets: torch.Tensor, num_classes: int, ignore_index: int | None = None
) -> float:
    """Mean of the per-class IoUs over the classes that occur (in target or prediction)."""
    return miou_from_confusion(confusion_matrix(predictions, targets, num_classes, ignore_index))


def miou_from_confusion(matrix: torch.Tensor) -> float:
    """Mean IoU over the classes present in target or prediction, from a (C, C) confusion matrix."""
    iou = iou_from_confusion(matrix)
    if torch.isnan(iou).all():
        raise ValueError("mean IoU of no pixels is undefined: the confusion matrix is empty")
    return float(iou.nanmean())


def segmentation_scores(matrix: torch.Tensor, classes: list[str] | tuple[str, ...] | None = None) -> dict:
    """The headline scores of a (C, C) pixel confusion matrix:
    ``{"miou": float, "pixel_accuracy": float, "iou": {class name: IoU}}``."""
    iou = iou_from_confusion(matrix)
    names = classes if classes is not None else [str(c) for c in range(len(iou))]
    if len(names) != len(iou):
        raise ValueError(f"classes must name all {len(iou)} classes of the matrix, got {len(names)} names")
    return {
        "miou": miou_from_confusion(matrix),
        "pixel_accuracy": accuracy_from_confusion(matrix),
        "iou": {name: float(v) for name, v in zip(names, iou)},
    }


def labelled_pixels(masks: torch.Tensor, ignore_index: int | None = None) -> torch.Tensor:
    """Bool of the masks' shape: True where a pixel has a class, False where it is ``ignore_index``
    (VOC's 255 outlines). Without an ``ignore_index`` every pixel is labelled."""
    masks = torch.as_tensor(masks)
    if ignore_index is None:
        return torch.ones_like(masks, dtype=torch.bool)
    return masks != ignore_index


def boundary_mask(masks: torch.Tensor, width: int = 1) -> torch.Tensor:
    """(N, H, W) bool: pixels within ``width`` pixels (a square neighbourhood) of another class.

    masks: (N, H, W) or (H, W) class indices. A pixel is on a boundary when the largest and the
    smallest class index in its (2·width+1)² neighbourhood differ.
    """
    m = torch.as_tensor(masks)
    if m.ndim not in (2, 3):
        raise ValueError(f"masks must have shape (H, W) or (N, H, W), got {tuple(m.shape)}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    x = m.reshape(-1, 1, *m.shape[-2:]).float()
    size = 2 * width + 1
    padded = F.pad(x, (width,) * 4, mode="replicate")
    largest = F.max_pool2d(padded, size, stride=1)
    smallest = -F.max_pool2d(-padded, size, stride=1)
    return (largest != smallest).reshape(m.shape)


def match_clusters(
    clusters: torch.Tensor, targets: torch.Tensor, num_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """Give each cluster of an unsupervised method the class it overlaps most, one to one.

    clusters: (N, H, W) cluster indices in [0, K); targets: (N, H, W) class indices in [0, C),
    or ``ignore_index`` for pixels nobody labelled (left out of the overlaps).
    The assignment maximising the total overlap is found by the Hungarian method
    (``scipy.optimize.linear_sum_assignment``). Returns ``(K,)`` int64: the class of each cluster;
    with more clusters than classes, the clusters left over get the class they overlap most.
    """
    clusters, targets = torch.as_tensor(clusters).long(), torch.as_tensor(targets).long()
    k = int(clusters.max()) + 1 if clusters.numel() else 0
    size = max(k, num_classes)
    overlap = confusion_matrix(clusters, targets, size, ignore_index)[:num_classes, :k].numpy()  # (classes, clusters)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    mapping = overlap.argmax(axis=0)
    mapping[cols] = rows
    return mapping.astype(np.int64)
