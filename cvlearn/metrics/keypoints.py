"""Pose-estimation scores: object keypoint similarity (OKS) and COCO's keypoint AP.

OKS plays for keypoints the part IoU plays for boxes: a number in [0, 1] saying how well one
predicted skeleton fits one true person, and AP is then read at OKS thresholds .5:.95 exactly as
box AP is read at IoU thresholds. For one person with K joints::

    OKS = sum_i exp(-d_i² / (2 s² k_i²)) δ(v_i > 0) / sum_i δ(v_i > 0)

with d_i the distance from the predicted to the true joint i (pixels), s² the person's segment
area (pixels², COCO's scale), k_i = 2 σ_i (see :data:`KEYPOINT_SIGMAS`) and v_i the true joint's
visibility: joints nobody labelled (v = 0) are left out, and a predicted visibility is not read.

Keypoints are arrays (…, K, 3) of x, y in pixels and v in {0, 1, 2} (COCO's convention: 0 not
labelled, 1 labelled but hidden, 2 visible); predictions follow torchvision's Keypoint R-CNN
(``boxes``, ``scores``, ``labels``, ``keypoints`` (M, K, 3) per image).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .coco import coco_evaluate

KEYPOINT_SIGMAS: tuple[float, ...] = (
    0.026,  # head: COCO's nose
    0.079,  # left_shoulder
    0.079,  # right_shoulder
    0.072,  # left_elbow
    0.072,  # right_elbow
    0.062,  # left_wrist
    0.062,  # right_wrist
    0.107,  # left_hip
    0.107,  # right_hip
    0.087,  # left_knee
    0.087,  # right_knee
    0.089,  # left_ankle
    0.089,  # right_ankle
)
"""The course's σ of each of its 13 joints (``toyworld.PERSON_KEYPOINTS`` order), COCO's published values.

A joint's σ is how far, relative to the person's scale, human annotators typically put the same
joint apart: COCO had 5,000 images labelled twice and measured the spread of each joint's clicks
as a fraction of the object's scale √area. OKS forgives an error in units of that spread, so a
prediction is judged as strictly as people agree. Wrists (.062) are strict: a wrist is a small,
well-defined point everyone puts in the same place. Hips (.107) are lenient: a hip joint is
hidden under clothes and flesh, and annotators disagree about where it is. COCO has no head
joint; the head takes the nose's .026 (COCO's face points, nose, eyes and ears, lie between .025
and .035): the toy world's head is the centre of a drawn disc, as well defined as a nose.
"""


def _keypoints(value: Any, name: str) -> torch.Tensor:
    """(N, K, 3) float64 from keypoints (N, K, 3) (or (N, K, 2) for predictions, which need no v)."""
    points = torch.as_tensor(value, dtype=torch.float64).detach().cpu()
    if points.ndim != 3 or points.shape[-1] not in (2, 3):
        raise ValueError(f"{name} must be (N, K, 3) keypoints x, y, v, got shape {tuple(points.shape)}")
    return points


def _sigmas(sigmas: Sequence[float], count: int) -> torch.Tensor:
    out = torch.as_tensor(sigmas, dtype=torch.float64).reshape(-1)
    if len(out) != count or not bool((out > 0).all()):
        raise ValueError(f"sigmas must be {count} positive numbers, one per keypoint, got {list(sigmas)}")
    return out


def oks_matrix(pred: Any, true: Any, areas: Any, sigmas: Sequence[float] = KEYPOINT_SIGMAS) -> torch.Tensor:
    """(D, G) float64 OKS of every prediction with every true person, vectorised.

    pred: (D, K, 3) or (D, K, 2) predicted joints; true: (G, K, 3) true joints with visibility;
    areas: (G,) the true people's segment areas in pixels² (s²). A true person with no labelled
    joint has no OKS (NaN column): COCO ignores such people when scoring keypoints.
    """
    p, t = _keypoints(pred, "pred"), _keypoints(true, "true")
    if t.shape[-1] != 3:
        raise ValueError(f"true must carry a visibility: (G, K, 3) x, y, v, got shape {tuple(t.shape)}")
    if p.shape[1] != t.shape[1]:
        raise ValueError(f"pred and true must have the same joints: got K={p.shape[1]} and K={t.shape[1]}")
    area = torch.as_tensor(areas, dtype=torch.float64).reshape(-1)
    if len(area) != len(t) or not bool((area > 0).all()):
        raise ValueError(f"areas must be {len(t)} positive segment areas (pixels²), one per true person, got {area}")
    k = 2 * _sigmas(sigmas, t.shape[1])
    d2 = ((p[:, None, :, :2] - t[None, :, :, :2]) ** 2).sum(-1)  # (D, G, K) squared distances
    similarity = torch.exp(-d2 / (2 * area[None, :, None] * k**2))
    labelled = (t[:, :, 2] > 0).double()  # (G, K)
    # 0/0 = NaN for a person without labelled joints: no similarity can be measured
    return (similarity * labelled).sum(-1) / labelled.sum(-1)


def object_keypoint_similarity(pred: Any, true: Any, area: float, sigmas: Sequence[float] = KEYPOINT_SIGMAS) -> float:
    """OKS of one predicted skeleton (K, 3) or (K, 2) with one true person (K, 3), whose segment
    covers ``area`` pixels². 1 when every labelled joint is exact; NaN when none is labelled."""
    p, t = torch.as_tensor(pred), torch.as_tensor(true)
    if p.ndim != 2 or t.ndim != 2:
        raise ValueError(
            f"pred and true must be one person's (K, 3) keypoints, got shapes {tuple(p.shape)} and {tuple(t.shape)}"
        )
    return float(oks_matrix(p[None], t[None], [area], sigmas)[0, 0])


def keypoint_metrics(
    predictions: Sequence[dict],
    targets: Sequence[dict],
    keypoint_names: Sequence[str],
    skeleton: Sequence[tuple[int, int]],
    image_size: tuple[int, int],
    sigmas: Sequence[float] = KEYPOINT_SIGMAS,
) -> dict[str, float]:
    """COCO keypoint AP of Keypoint R-CNN ``predictions`` against ``targets`` (with ``keypoints``
    and ``masks``), through pycocotools with the course's sigmas; only people (label 1) count.

    Returns ``keypoint_ap`` (AP@[.5:.95] OKS), ``keypoint_ap50`` and ``keypoint_ap75``.
    """
    # the person is label 1 in torchvision's numbering; other classes carry no joints and are not scored
    categories = ("background", "person")
    stats = coco_evaluate(
        predictions, targets, categories, image_size, "keypoints", keypoint_names, skeleton, sigmas=sigmas
    )
    return {"keypoint_ap": stats["ap"], "keypoint_ap50": stats["ap50"], "keypoint_ap75": stats["ap75"]}
