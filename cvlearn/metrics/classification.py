"""Classification scores: accuracy and the confusion matrix (which per-pixel scores reuse)."""

from __future__ import annotations

import torch


def _labels(x: torch.Tensor) -> torch.Tensor:
    """Class indices from indices (any shape) or from logits/probabilities (N, C)."""
    x = torch.as_tensor(x)
    return x.argmax(dim=1) if x.is_floating_point() and x.ndim >= 2 else x.long()


def accuracy(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of correct predictions.

    predictions: (N,) class indices or (N, C) scores (argmax is taken); targets: (N,) indices.
    """
    preds, targets = _labels(predictions), torch.as_tensor(targets).long()
    if preds.shape != targets.shape:
        raise ValueError(
            f"predictions and targets must have the same number of items: "
            f"got {tuple(preds.shape)} and {tuple(targets.shape)}"
        )
    if targets.numel() == 0:
        raise ValueError("accuracy of an empty set is undefined: targets is empty")
    return (preds == targets).float().mean().item()


def confusion_matrix(
    predictions: torch.Tensor, targets: torch.Tensor, num_classes: int, ignore_index: int | None = None
) -> torch.Tensor:
    """(C, C) int64 counts: row = true class, column = predicted class.

    predictions: class indices of any shape, or (N, C, ...) scores (argmax over dim 1);
    targets: class indices of the same shape as the predicted indices. Pixels (or items) whose
    target equals ``ignore_index`` are left out, so the same function scores images and pixels.
    """
    preds, targets = _labels(predictions).reshape(-1), torch.as_tensor(targets).long().reshape(-1)
    if preds.shape != targets.shape:
        raise ValueError(
            f"predictions and targets must have the same number of items: got {preds.numel()} and {targets.numel()}"
        )
    if ignore_index is not None:
        keep = targets != ignore_index
        preds, targets = preds[keep], targets[keep]
    for name, t in (("targets", targets), ("predictions", preds)):
        if t.numel() and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(
                f"{name} must be class indices in [0, {num_classes - 1}], "
                f"got values from {int(t.min())} to {int(t.max())}"
            )
    counts = torch.bincount(targets * num_classes + preds, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def cluster_agreement(clusters: torch.Tensor, targets: torch.Tensor) -> float:
    """How well clusters found without labels match the true classes (cluster *purity*).

    clusters: (N,) cluster ids (0..K-1, in any order: k-means does not know which is "cat");
    targets: (N,) class indices. Each cluster is named after its most common class; the result
    is the share of items whose class is their cluster's name. 1.0: every cluster is one class;
    for two balanced classes and two clusters, 0.5 means the clusters ignore the classes.
    """
    clusters = torch.as_tensor(clusters).long().reshape(-1)
    targets = torch.as_tensor(targets).long().reshape(-1)
    if clusters.shape != targets.shape:
        raise ValueError(
            f"clusters and targets must have the same number of items: got {clusters.numel()} and {targets.numel()}"
        )
    if targets.numel() == 0:
        raise ValueError("cluster agreement of an empty set is undefined: targets is empty")
    for name, t in (("clusters", clusters), ("targets", targets)):
        if t.min() < 0:
            raise ValueError(f"{name} must be non-negative indices, got a minimum of {int(t.min())}")
    num_classes = int(targets.max()) + 1
    counts = torch.bincount(clusters * num_classes + targets, minlength=(int(clusters.max()) + 1) * num_classes)
    return counts.reshape(-1, num_classes).max(1).values.sum().item() / targets.numel()
