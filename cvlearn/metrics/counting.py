"""Crowd counting: density maps from head points, and the errors of predicted counts.

A density map turns "where are the heads" into an image a fully convolutional network can
regress: each person is a small Gaussian of total mass 1 around their head, so the map sums to
the count anywhere you cut it, and a predicted map's sum is a predicted count.

Points are (N, 2) head positions x, y in pixels, with pixel (row i, column j) covering
[j, j + 1) × [i, i + 1): its centre is (j + 0.5, i + 0.5), as the toy world reads its labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def _gaussian_1d(centres: np.ndarray, sigma: np.ndarray, cells: int, stride: int) -> np.ndarray:
    """(N, cells) weights of N 1-D Gaussians at the cells' centres, each row summing to 1.

    Normalising each row is the renormalisation of a Gaussian cut by the border: what would fall
    outside the picture is given back to the cells inside, in proportion, so every point keeps
    its mass of 1. Exponents are shifted by their row's smallest value before ``exp``, so a point
    far outside the picture still puts its mass on the nearest cells instead of underflowing to 0/0.
    """
    grid = (np.arange(cells, dtype=np.float64) + 0.5) * stride
    exponent = (grid[None, :] - centres[:, None]) ** 2 / (2 * sigma[:, None] ** 2)
    weights = np.exp(-(exponent - exponent.min(axis=1, keepdims=True)))
    return weights / weights.sum(axis=1, keepdims=True)


def density_map(points: Any, size: tuple[int, int], sigma: float | Any = 2.0, stride: int = 1) -> torch.Tensor:
    """(H / stride, W / stride) float32 density whose sum equals the number of points N.

    Each point is a normalised Gaussian of spread ``sigma`` pixels (a number, or (N,) one per
    point: the "geometry-adaptive" kernels of crowd papers), evaluated at the centre of every
    output cell (``stride`` pixels a side). Gaussians are *truncated at the border and
    renormalised*: the part that would fall outside the picture is given back to the inside, so a
    person at the edge still counts 1. A 2-D Gaussian is the product of two 1-D ones, so the map
    is ``Gy.T @ Gx`` with Gy (N, H'), Gx (N, W'): vectorised, with no loop over people.

    points: (N, 2) head x, y in pixels; size: (H, W) of the picture, each divisible by ``stride``.
    """
    p = torch.as_tensor(points, dtype=torch.float64).detach().cpu().numpy()
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"points must be (N, 2) head positions x, y, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("points must be finite pixel positions, got NaN or infinity")
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    h, w = (int(v) for v in size)
    if h < 1 or w < 1 or h % stride or w % stride:
        raise ValueError(f"size must be (H, W), positive and divisible by stride {stride}, got {tuple(size)}")
    spread = np.asarray(sigma, dtype=np.float64).reshape(-1)
    if len(spread) not in (1, len(p)) or not (spread > 0).all():
        raise ValueError(f"sigma must be positive (pixels), a number or one per point, got {sigma!r}")
    spread = np.broadcast_to(spread, (len(p),))
    gx = _gaussian_1d(p[:, 0], spread, w // stride, stride)
    gy = _gaussian_1d(p[:, 1], spread, h // stride, stride)
    return torch.from_numpy((gy.T @ gx).astype(np.float32))


def _counts(value: Any, name: str) -> np.ndarray:
    counts = torch.as_tensor(value, dtype=torch.float64).detach().cpu().numpy().reshape(-1)
    if not np.isfinite(counts).all():
        raise ValueError(f"{name} must be finite counts, got NaN or infinity")
    return counts


def _paired(predicted: Any, true: Any) -> tuple[np.ndarray, np.ndarray]:
    pred, real = _counts(predicted, "predicted_counts"), _counts(true, "true_counts")
    if len(pred) != len(real):
        raise ValueError(f"predicted_counts and true_counts must pair up: got {len(pred)} and {len(real)}")
    if len(real) == 0:
        raise ValueError("count errors of no pictures are undefined: true_counts is empty")
    return pred, real


def count_errors(predicted_counts: Any, true_counts: Any) -> dict[str, float]:
    """Errors of per-picture counts (predicted: a density map's sum or a number of detections).

    Returns ``count_mae`` (mean absolute error, people), ``count_rmse`` (root mean squared error:
    it weighs a few badly miscounted pictures more) and ``mean_count`` (the true counts' mean, the
    scale to read the errors against).
    """
    pred, real = _paired(predicted_counts, true_counts)
    error = pred - real
    return {
        "count_mae": float(np.abs(error).mean()),
        "count_rmse": float(np.sqrt((error**2).mean())),
        "mean_count": float(real.mean()),
    }


def error_by_crowd_size(predicted: Any, true: Any, bins: Sequence[float]) -> list[dict[str, float]]:
    """The counting error in each range of true crowd size: the rows of an "error against crowd
    size" figure.

    bins: increasing edges; a picture whose true count is c falls in [low, high) (the last bin
    also takes c = high, as ``numpy.histogram``). Each row: ``low``, ``high``, ``images``,
    ``mean_count``, ``mae``, ``rmse``, ``bias`` (mean of predicted - true: negative means
    undercounting) and ``relative_mae`` (mae / mean_count); NaN where a bin has no picture.
    """
    pred, real = _paired(predicted, true)
    edges = np.asarray(bins, dtype=np.float64).reshape(-1)
    if len(edges) < 2 or not (np.diff(edges) > 0).all():
        raise ValueError(f"bins must be at least two increasing edges, got {list(bins)}")
    outside = real[(real < edges[0]) | (real > edges[-1])]
    if len(outside):
        raise ValueError(f"bins must cover every true count: {outside.tolist()} lie outside [{edges[0]}, {edges[-1]}]")
    which = np.clip(np.searchsorted(edges, real, side="right") - 1, 0, len(edges) - 2)
    return [_bin_row(edges[k], edges[k + 1], pred[which == k], real[which == k]) for k in range(len(edges) - 1)]


def _bin_row(low: float, high: float, pred: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """One row of :func:`error_by_crowd_size`: the errors of the pictures in [low, high)."""
    row = {"low": float(low), "high": float(high), "images": len(real)}
    if not len(real):
        return {**row, **dict.fromkeys(("mean_count", "mae", "rmse", "bias", "relative_mae"), float("nan"))}
    error, mean = pred - real, float(real.mean())
    mae = float(np.abs(error).mean())
    return {
        **row,
        "mean_count": mean,
        "mae": mae,
        "rmse": float(np.sqrt((error**2).mean())),
        "bias": float(error.mean()),
        "relative_mae": mae / mean if mean > 0 else float("nan"),
    }
