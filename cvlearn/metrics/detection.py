"""Detection scores written from scratch with COCO's exact rules: IoU, AP, mAP@0.5, mAP@[.5:.95].

How COCO scores a detector, one class at a time:

1. In each image, go through the detections from the highest score down. Each takes the
   ground-truth box it overlaps best (IoU at least the threshold) that no better-scored detection
   has taken yet: a **true positive**; with none left, it is a **false positive**.
2. Over all images, sort the detections by score and walk down the list: after each one,
   **precision** = true positives so far / detections so far, **recall** = true positives so far
   / ground-truth boxes. That traces the precision-recall curve.
3. **AP** is the area under that curve, read the COCO way: make precision never rise again to the
   right (its upper envelope), sample it at the 101 recalls 0, 0.01, ..., 1 and average.
4. **mAP@0.5** averages AP over classes at IoU 0.5; **COCO mAP** (written AP@[.5:.95]) also
   averages over the ten IoU thresholds 0.5, 0.55, ..., 0.95, rewarding tight boxes.

Area ranges (small < 32², medium, large > 96² pixels) score objects of one size only: boxes of
other sizes are ignored rather than counted as misses. At most 1, 10 or 100 detections per image
are scored (the best-scored ones). There are no "crowd" regions in the toy world. Boxes a target
flags ``difficult`` (Pascal VOC's flag, ``target["difficult"]`` (G,) bool) are ignored the same
way, as VOC's own evaluation ignores them: finding one earns nothing, missing one costs nothing.

Predictions and targets use torchvision's format (see :mod:`cvlearn.metrics.coco`, whose
pycocotools numbers these match to the last digit). Labels are 1-based indices into
``categories``, whose entry 0 is the background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..boxes import as_boxes
from .coco import STAT_NAMES, difficult_flags

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
"""COCO's ten IoU thresholds 0.5, 0.55, ..., 0.95 (built exactly as pycocotools builds them)."""
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, int(np.round((1.0 - 0.0) / 0.01)) + 1, endpoint=True)
"""The 101 recalls 0, 0.01, ..., 1 at which the precision-recall curve is read."""
AREA_RANGES = {"all": (0.0, 1e10), "small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, 1e10)}
"""Object areas in square pixels, both ends included (COCO's definition of small, medium, large)."""
MAX_DETECTIONS = (1, 10, 100)
"""Detections scored per image, best first."""


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """(N, M) intersection over union of (N, 4) and (M, 4) XYXY boxes.

    IoU = area of the overlap / area of the union; 1 for identical boxes, 0 for disjoint ones
    (and for two empty boxes). Computed in the boxes' own float precision; integer boxes become
    float32. Same numbers as ``torchvision.ops.box_iou``.
    """
    boxes1, boxes2 = as_boxes(boxes1, "boxes1"), as_boxes(boxes2, "boxes2")
    if boxes1.dtype != boxes2.dtype:
        boxes2 = boxes2.to(boxes1.dtype)
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    overlap = (bottom_right - top_left).clamp(min=0)
    inter = overlap[..., 0] * overlap[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), torch.zeros_like(union))


# --------------------------------------------------------------------------------------------
# One class, one image: greedy matching
# --------------------------------------------------------------------------------------------


def match_detections(
    iou: np.ndarray, gt_ignore: np.ndarray, iou_thresholds: Sequence[float] | np.ndarray = IOU_THRESHOLDS
) -> tuple[np.ndarray, np.ndarray]:
    """COCO's greedy matching of one image's detections (best score first) to its boxes.

    Args:
        iou: (D, G) IoU of each detection, sorted best score first, with each ground-truth box,
            boxes not ignored first.
        gt_ignore: (G,) bool, boxes outside the area range; a detection on one is ignored, not
            counted right or wrong.
        iou_thresholds: (T,) the IoU a match needs.

    Returns:
        matched (T, D) bool and ignored (T, D) bool.
    """
    n_det, n_gt = iou.shape
    matched = np.zeros((len(iou_thresholds), n_det), dtype=bool)
    ignored = np.zeros((len(iou_thresholds), n_det), dtype=bool)
    rows = iou.tolist()  # plain floats: much faster than NumPy for the few boxes of one image
    for t, threshold in enumerate(iou_thresholds):
        taken = [False] * n_gt
        for d, row in enumerate(rows):
            best, m = min(threshold, 1 - 1e-10), -1
            for g in range(n_gt):
                if taken[g]:
                    continue
                if m > -1 and not gt_ignore[m] and gt_ignore[g]:
                    break  # matched a box that counts: never trade it for an ignored one
                if row[g] < best:
                    continue
                best, m = row[g], g
            if m > -1:
                taken[m] = True
                matched[t, d] = True
                ignored[t, d] = bool(gt_ignore[m])
    return matched, ignored


@dataclass
class ImageMatches:
    """The matching of one image and class, in one area range (the input of :func:`accumulate`).

    scores: (D,) best first; matched, ignored: (T, D) bool; gt_ignore: (G,) bool.
    """

    scores: np.ndarray
    matched: np.ndarray
    ignored: np.ndarray
    gt_ignore: np.ndarray


def evaluate_image(
    pred_boxes: np.ndarray,
    pred_scores: np.ndarray,
    gt_boxes: np.ndarray,
    area_ranges: Sequence[tuple[float, float]] = (AREA_RANGES["all"],),
    max_detections: int = MAX_DETECTIONS[-1],
    iou_thresholds: Sequence[float] | np.ndarray = IOU_THRESHOLDS,
    gt_difficult: np.ndarray | None = None,
) -> list[ImageMatches | None]:
    """Match one image's detections of one class to its boxes of that class, as COCO does.

    Args:
        pred_boxes: (D, 4) XYXY float64; pred_scores: (D,); gt_boxes: (G, 4) XYXY float64.
        area_ranges: one matching per range; boxes (and unmatched detections) with an area
            outside the range are ignored.
        max_detections: only the best-scored detections are kept.
        gt_difficult: (G,) bool, boxes ignored in every area range (VOC's ``difficult``).

    Returns:
        One :class:`ImageMatches` per area range, or Nones when the image has neither boxes nor
        detections.
    """
    if len(pred_boxes) == 0 and len(gt_boxes) == 0:
        return [None] * len(area_ranges)
    order = np.argsort(-pred_scores, kind="mergesort")[:max_detections]
    boxes, scores = pred_boxes[order], pred_scores[order]
    iou = box_iou(torch.from_numpy(boxes), torch.from_numpy(gt_boxes)).numpy()
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    gt_area = (gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])
    results: list[ImageMatches | None] = []
    difficult = np.zeros(len(gt_boxes), dtype=bool) if gt_difficult is None else np.asarray(gt_difficult, dtype=bool)
    for lo, hi in area_ranges:
        gt_ignore = (gt_area < lo) | (gt_area > hi) | difficult
        gt_order = np.argsort(gt_ignore, kind="mergesort")  # boxes that count first
        matched, ignored = match_detections(iou[:, gt_order], gt_ignore[gt_order], iou_thresholds)
        ignored |= ~matched & ((area < lo) | (area > hi))[None, :]
        results.append(ImageMatches(scores, matched, ignored, gt_ignore[gt_order]))
    return results


# --------------------------------------------------------------------------------------------
# One class, all images: the precision-recall curve and AP
# --------------------------------------------------------------------------------------------


def precision_recall(matched: np.ndarray, ignored: np.ndarray | None, num_gt: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall after each detection of a list sorted best score first.

    Args:
        matched: (..., D) bool, the detection is a true positive; ignored: same shape or None.
        num_gt: ground-truth boxes of the class (the ones not ignored), > 0.

    Returns:
        precision, recall: (..., D) float64.
    """
    matched = np.asarray(matched, dtype=bool)
    counted = np.ones_like(matched) if ignored is None else ~np.asarray(ignored, dtype=bool)
    tp = np.cumsum(matched & counted, axis=-1).astype(float)
    fp = np.cumsum(~matched & counted, axis=-1).astype(float)
    return tp / (tp + fp + np.spacing(1)), tp / num_gt


def interpolated_precision(
    precision: np.ndarray, recall: np.ndarray, recall_thresholds: np.ndarray = RECALL_THRESHOLDS
) -> np.ndarray:
    """(R,) precision read at each recall threshold from its upper envelope (0 past the end).

    The envelope at recall r is the best precision at any recall >= r: it removes the curve's
    zig-zag, so one lucky detection cannot push AP around.
    """
    envelope = np.maximum.accumulate(np.asarray(precision, dtype=float)[::-1])[::-1]
    at = np.searchsorted(recall, recall_thresholds, side="left")
    out = np.zeros(len(recall_thresholds))
    inside = at < len(envelope)
    out[inside] = envelope[at[inside]]
    return out


def average_precision(
    scores: Sequence[float], matched: Sequence[bool], num_gt: int, ignored: Sequence[bool] | None = None
) -> float:
    """AP of one class: the 101-point interpolated area under its precision-recall curve.

    Args:
        scores: (D,) the score of every detection of the class, over all images.
        matched: (D,) True for the true positives (matched to a ground-truth box).
        num_gt: ground-truth boxes of the class; with none, AP is undefined (NaN).
        ignored: (D,) optional, detections that count neither way.

    Returns:
        AP in 0..1 (1: every box found before any false alarm).
    """
    score, hit = np.asarray(scores, dtype=float), np.asarray(matched, dtype=bool)
    if score.shape != hit.shape or score.ndim != 1:
        raise ValueError(f"scores and matched must be two (D,) arrays, got shapes {score.shape} and {hit.shape}")
    if num_gt <= 0:
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    skip = None if ignored is None else np.asarray(ignored, dtype=bool)[order]
    precision, recall = precision_recall(hit[order], skip, num_gt)
    return float(interpolated_precision(precision, recall).mean())


# --------------------------------------------------------------------------------------------
# Everything: the COCO evaluation
# --------------------------------------------------------------------------------------------


@dataclass
class DetectionEvaluation:
    """The result of :func:`evaluate_detections`, laid out as COCOeval's ``eval`` dict.

    precision: (T, R, K, A, M) interpolated precision at each IoU threshold, recall threshold,
        class, area range and detection limit; -1 where a class has no boxes.
    recall: (T, K, A, M) the recall reached with all detections; -1 likewise.
    curves: ``curves[k][t]`` = (precision, recall, scores) before interpolation, for class k at
        IoU threshold t, in the first area range ("all") with the most detections (what a
        precision-recall plot draws); empty for a class without boxes.
    """

    precision: np.ndarray
    recall: np.ndarray
    curves: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]]
    class_ids: list[int]
    iou_thresholds: np.ndarray
    area_names: list[str]
    max_detections: tuple[int, ...]

    def _mean(self, values: np.ndarray) -> float:
        defined = values[values > -1]
        return float(np.mean(defined)) if defined.size else float("nan")

    def ap(self, iou: float | None = None, area: str = "all", max_det: int = 100) -> float:
        """Mean AP over classes: at one IoU threshold (e.g. 0.5), or averaged over all of them."""
        p = self.precision[:, :, :, self.area_names.index(area), self.max_detections.index(max_det)]
        if iou is not None:
            p = p[np.where(np.isclose(self.iou_thresholds, iou))[0]]
        return self._mean(p)

    def ar(self, area: str = "all", max_det: int = 100) -> float:
        """Mean recall over classes and IoU thresholds with at most ``max_det`` detections per image."""
        return self._mean(self.recall[:, :, self.area_names.index(area), self.max_detections.index(max_det)])

    def summary(self) -> dict[str, float]:
        """COCO's twelve numbers, named as in :data:`cvlearn.metrics.coco.STAT_NAMES` (NaN if undefined)."""
        values = [
            self.ap(),
            self.ap(0.5),
            self.ap(0.75),
            self.ap(area="small"),
            self.ap(area="medium"),
            self.ap(area="large"),
            self.ar(max_det=1),
            self.ar(max_det=10),
            self.ar(),
            self.ar("small"),
            self.ar("medium"),
            self.ar("large"),
        ]
        return dict(zip(STAT_NAMES, values))

    def ap_per_class(self, iou: float | None = None) -> dict[int, float]:
        """AP of each class (all areas, 100 detections): at one IoU threshold, or averaged over all."""
        p = self.precision[:, :, :, self.area_names.index("all"), -1]
        if iou is not None:
            p = p[np.where(np.isclose(self.iou_thresholds, iou))[0]]
        return {c: self._mean(p[:, :, k]) for k, c in enumerate(self.class_ids)}


def _as_numpy_boxes(x: object, name: str) -> np.ndarray:
    return as_boxes(x, name).detach().cpu().to(torch.float64).numpy()


def _as_numpy(x: object) -> np.ndarray:
    return torch.as_tensor(x).detach().cpu().reshape(-1).numpy()


def _check_pairs(predictions: Sequence[dict], targets: Sequence[dict]) -> None:
    if len(predictions) != len(targets):
        raise ValueError(f"predictions and targets must pair up: got {len(predictions)} and {len(targets)}")
    for what, items, keys in (
        ("prediction", predictions, ("boxes", "scores", "labels")),
        ("target", targets, ("boxes", "labels", "image_id")),
    ):
        for i, item in enumerate(items):
            missing = [k for k in keys if k not in item]
            if missing:
                raise ValueError(f"{what} {i} lacks the key(s) {missing}; expected a dict with {list(keys)}")


def evaluate_detections(
    predictions: Sequence[dict],
    targets: Sequence[dict],
    categories: Sequence[str],
    iou_thresholds: Sequence[float] | np.ndarray = IOU_THRESHOLDS,
    area_ranges: dict[str, tuple[float, float]] = AREA_RANGES,
    max_detections: Sequence[int] = MAX_DETECTIONS,
) -> DetectionEvaluation:
    """Score detections the COCO way (see the module docstring), from scratch.

    Args:
        predictions: one dict per image with ``boxes`` (D, 4) XYXY pixels, ``scores`` (D,) and
            ``labels`` (D,) 1-based into ``categories``.
        targets: one dict per image, same order, with ``boxes`` (G, 4), ``labels`` (G,) and
            ``image_id``; optionally ``difficult`` (G,) bool, boxes that are ignored.
        categories: class names, entry 0 the background (``dataset.categories``).

    Returns:
        A :class:`DetectionEvaluation`; ``.summary()`` gives the twelve COCO numbers.
    """
    _check_pairs(predictions, targets)
    class_ids = list(range(1, len(categories)))
    thresholds = np.asarray(iou_thresholds, dtype=float)
    areas, limits = list(area_ranges), tuple(int(m) for m in max_detections)
    ranges = [area_ranges[name] for name in areas]
    t_, r_, k_, a_, m_ = len(thresholds), len(RECALL_THRESHOLDS), len(class_ids), len(areas), len(limits)
    precision = -np.ones((t_, r_, k_, a_, m_))
    recall = -np.ones((t_, k_, a_, m_))
    curves: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
    # COCO visits images by increasing id: that fixes the order of detections with equal scores
    order = sorted(range(len(targets)), key=lambda i: int(targets[i]["image_id"]))
    images = [
        (
            _as_numpy_boxes(predictions[i]["boxes"], "predictions' boxes"),
            _as_numpy(predictions[i]["scores"]).astype(float),
            _as_numpy(predictions[i]["labels"]),
            _as_numpy_boxes(targets[i]["boxes"], "targets' boxes"),
            _as_numpy(targets[i]["labels"]),
            difficult_flags(targets[i]),
        )
        for i in order
    ]
    for k, c in enumerate(class_ids):
        per_class = [(pb[pl == c], ps[pl == c], gb[gl == c], gd[gl == c]) for pb, ps, pl, gb, gl, gd in images]
        class_curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        matched_images = [
            evaluate_image(pb, ps, gb, ranges, limits[-1], thresholds, gd) for pb, ps, gb, gd in per_class
        ]
        for a in range(a_):
            in_range = [image[a] for image in matched_images]
            matches = [m for m in in_range if m is not None]
            for m, limit in enumerate(limits):
                result = _accumulate(matches, limit, thresholds)
                if result is None:
                    continue
                precision[:, :, k, a, m], recall[:, k, a, m], curve = result
                if a == 0 and m == m_ - 1:
                    class_curves = curve
        curves.append(class_curves)
    return DetectionEvaluation(precision, recall, curves, class_ids, thresholds, areas, limits)


def _accumulate(matches: list[ImageMatches], limit: int, thresholds: np.ndarray):
    """Precision at the recall thresholds, final recall, and the raw curves of one class and range."""
    if not matches:
        return None
    num_gt = int(sum(np.count_nonzero(~m.gt_ignore) for m in matches))
    if num_gt == 0:
        return None
    scores = np.concatenate([m.scores[:limit] for m in matches])
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([m.matched[:, :limit] for m in matches], axis=1)[:, order]
    ignored = np.concatenate([m.ignored[:, :limit] for m in matches], axis=1)[:, order]
    prec, rec = precision_recall(matched, ignored, num_gt)
    interpolated = np.stack([interpolated_precision(p, r) for p, r in zip(prec, rec)], axis=0)
    final = rec[:, -1] if rec.shape[1] else np.zeros(len(thresholds))
    keep = ~ignored
    curve = [(p[k], r[k], scores[order][k]) for p, r, k in zip(prec, rec, keep)]
    return interpolated, final, curve


def mean_average_precision(
    predictions: Sequence[dict], targets: Sequence[dict], categories: Sequence[str]
) -> dict[str, float]:
    """COCO's twelve numbers for detections: ``ap`` (mAP@[.5:.95]), ``ap50`` (mAP@0.5), ``ap75``, ...

    Written from scratch; equal to :func:`cvlearn.metrics.coco.coco_evaluate` (pycocotools) on
    the same input. NaN where a number is undefined (no box of that size, say). With no
    detections at all every number is 0, as ``coco_evaluate`` reports it (pycocotools cannot
    load an empty list of detections).
    """
    _check_pairs(predictions, targets)
    if all(len(torch.as_tensor(p["scores"]).reshape(-1)) == 0 for p in predictions):
        return {name: 0.0 for name in STAT_NAMES}
    return evaluate_detections(predictions, targets, categories).summary()


# --------------------------------------------------------------------------------------------
# What went wrong: each detection's outcome, each box found or missed
# --------------------------------------------------------------------------------------------

OUTCOMES = ("correct", "duplicate", "wrong class", "poor box", "background")
"""What a detection can be (:func:`detection_outcomes`), best first."""


def detection_outcomes(
    prediction: dict, target: dict, iou_threshold: float = 0.5, poor_iou: float = 0.1
) -> tuple[list[str], Tensor]:
    """Sort one image's detections into kinds of right and wrong, and find the missed boxes.

    Detections are visited best score first, as in COCO's matching, and each is

    * ``"correct"``: right class, IoU >= ``iou_threshold`` with a box no better detection took;
    * ``"duplicate"``: right class and overlap, but its box was already taken: NMS let it through;
    * ``"wrong class"``: IoU >= ``iou_threshold`` with a box of another class;
    * ``"poor box"``: right class, IoU between ``poor_iou`` and ``iou_threshold``: found, badly placed;
    * ``"background"``: nothing there (a false alarm on the table, a plate...).

    Args:
        prediction: ``boxes`` (D, 4) XYXY, ``scores`` (D,), ``labels`` (D,).
        target: ``boxes`` (G, 4) XYXY, ``labels`` (G,); optionally ``difficult`` (G,) bool.

    Returns:
        (outcomes, missed): one outcome per detection in the prediction's own order, and a (G,)
        bool tensor, True for each box no correct detection found (never for a difficult one,
        which VOC does not expect a detector to find).
    """
    boxes = as_boxes(prediction["boxes"], "prediction's boxes").detach().cpu().double()
    scores = torch.as_tensor(prediction["scores"]).detach().cpu().reshape(-1)
    labels = torch.as_tensor(prediction["labels"]).cpu().reshape(-1)
    gt_boxes = as_boxes(target["boxes"], "target's boxes").detach().cpu().double()
    gt_labels = torch.as_tensor(target["labels"]).cpu().reshape(-1)
    iou = box_iou(boxes, gt_boxes)
    same = labels[:, None] == gt_labels[None, :]
    taken = torch.zeros(len(gt_boxes), dtype=torch.bool)
    outcomes = ["background"] * len(boxes)
    for d in torch.sort(scores, descending=True, stable=True).indices.tolist():
        right = torch.where(same[d], iou[d], torch.full_like(iou[d], -1.0))
        free = torch.where(taken, torch.full_like(right, -1.0), right)
        if len(gt_boxes) and free.max() >= iou_threshold:
            taken[free.argmax()] = True
            outcomes[d] = "correct"
        elif len(gt_boxes) and right.max() >= iou_threshold:
            outcomes[d] = "duplicate"
        elif len(gt_boxes) and torch.where(same[d], torch.zeros_like(iou[d]), iou[d]).max() >= iou_threshold:
            outcomes[d] = "wrong class"
        elif len(gt_boxes) and right.max() >= poor_iou:
            outcomes[d] = "poor box"
    return outcomes, ~taken & ~torch.from_numpy(difficult_flags(target))
