"""Checkers for notebook 03's exercises (which fruits, and where?).

* :func:`check_encode_offsets`: the ``(dx, dy, dw, dh)`` offsets that move an anchor onto a box;
* :func:`check_class_aware_nms`: NMS where apples never suppress oranges;
* :func:`check_average_precision`: COCO's 101-point AP from a ranked list of hits and misses;
* :func:`check_thresholds` (a design choice): the score and NMS thresholds to ship, by F1 on
  validation pictures (:func:`f1_at` measures one setting).

Each runs the learner's function on cases with known answers, prints one line (✓ or ✗ with a
hint) and returns a truthy :class:`~cvlearn.exercises.Feedback` when everything passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torchvision.ops import batched_nms, nms

from ..boxes import decode, encode
from ..metrics.detection import average_precision, interpolated_precision, precision_recall
from ..widgets.detection import threshold_counts
from .feedback import Feedback, as_tensor, checker, describe, run_answer, verdict


def _as_tensor(answer: Any, dtype: torch.dtype) -> tuple[torch.Tensor | None, str | None]:
    return as_tensor(answer, dtype)


# --------------------------------------------------------------------------------------------
# 1 · encoding offsets
# --------------------------------------------------------------------------------------------

OFFSET_CASES = [
    ("a box on its own anchor", torch.tensor([[10.0, 10.0, 30.0, 30.0]]), torch.tensor([[10.0, 10.0, 30.0, 30.0]])),
    (
        "a box shifted right by half the anchor's width",
        torch.tensor([[20.0, 10.0, 40.0, 30.0]]),
        torch.tensor([[10.0, 10.0, 30.0, 30.0]]),
    ),
    (
        "boxes twice as wide, and half as tall",
        torch.tensor([[0.0, 0.0, 40.0, 20.0], [5.0, 5.0, 15.0, 10.0]]),
        torch.tensor([[10.0, 0.0, 30.0, 20.0], [0.0, 0.0, 20.0, 10.0]]),
    ),
    (
        "small and large boxes on anchors of other sizes",
        torch.tensor([[3.0, 4.0, 15.0, 20.0], [40.0, 30.0, 90.0, 95.0]]),
        torch.tensor([[0.0, 0.0, 12.0, 12.0], [48.0, 48.0, 96.0, 96.0]]),
    ),
]


def _offset_hint(out: torch.Tensor, boxes: torch.Tensor, anchors: torch.Tensor) -> str:
    bw, aw = boxes[:, 2] - boxes[:, 0], anchors[:, 2] - anchors[:, 0]
    expected = encode(boxes, anchors)
    if torch.allclose(out, encode(anchors, boxes), atol=1e-4):
        return "the arguments are the wrong way round: encode the *box* relative to the *anchor*"
    if torch.allclose(out[:, :2], expected[:, :2], atol=1e-4):
        if torch.allclose(out[:, 2], bw / aw, atol=1e-4):
            return "dx and dy are right; dw must be a log: dw = log(box width / anchor width)"
        return "dx and dy are right; dw = log(box width / anchor width), dh = log(box height / anchor height)"
    if torch.allclose(out[:, 2:], expected[:, 2:], atol=1e-4):
        box_cx = (boxes[:, 0] + boxes[:, 2]) / 2
        anchor_cx = (anchors[:, 0] + anchors[:, 2]) / 2
        if torch.allclose(out[:, 0], box_cx - anchor_cx, atol=1e-4):
            return "dw and dh are right; divide the centre shifts by the anchor's width and height"
        if torch.allclose(out[:, 0], (box_cx - anchor_cx) / bw, atol=1e-4):
            return "dw and dh are right; divide the centre shifts by the *anchor's* size, not the box's"
        return "dw and dh are right; dx = (box centre x - anchor centre x) / anchor width (centres, not corners)"
    return "dx = (box cx - anchor cx) / anchor w, dy likewise with heights, dw = log(box w / anchor w), dh likewise"


@checker("encode offsets")
def check_encode_offsets(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(boxes, anchors) -> (N, 4)`` offsets ``(dx, dy, dw, dh)``; boxes, anchors (N, 4) XYXY.

    The answer must equal :func:`cvlearn.boxes.encode` (R-CNN's parametrisation, weights 1), and
    decoding it must give the boxes back.
    """
    for name, boxes, anchors in OFFSET_CASES:
        answer, problem = run_answer(fn, boxes.clone(), anchors.clone())
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = _as_tensor(answer, torch.float32)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)
        if tuple(out.shape) != tuple(boxes.shape):
            return verdict(
                False,
                f"{name}: got shape {tuple(out.shape)}, expected {tuple(boxes.shape)} (four offsets per box)",
                quiet,
            )
        if not torch.allclose(out, encode(boxes, anchors), atol=1e-4):
            return verdict(
                False,
                f"{name}: got {out.round(decimals=3).tolist()}, expected "
                f"{encode(boxes, anchors).round(decimals=3).tolist()}; {_offset_hint(out, boxes, anchors)}",
                quiet,
            )
        assert torch.allclose(decode(out, anchors), boxes, atol=1e-3)
    return verdict(True, f"all {len(OFFSET_CASES)} cases right, and decoding your offsets gives the boxes back", quiet)


# --------------------------------------------------------------------------------------------
# 2 · class-aware NMS
# --------------------------------------------------------------------------------------------


def _nms_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, float]]:
    apple_on_orange = torch.tensor([[10.0, 10.0, 40.0, 40.0], [12.0, 10.0, 42.0, 40.0], [11.0, 11.0, 41.0, 41.0]])
    g = torch.Generator().manual_seed(3)
    xy = torch.rand(40, 2, generator=g) * 60
    many = torch.cat([xy, xy + 10 + torch.rand(40, 2, generator=g) * 25], dim=1)
    return [
        (
            "an apple and an orange in the same place",
            apple_on_orange,
            torch.tensor([0.9, 0.8, 0.7]),
            torch.tensor([1, 2, 1]),
            0.5,
        ),
        ("40 boxes of 3 classes", many, torch.rand(40, generator=g), torch.randint(1, 4, (40,), generator=g), 0.5),
        (
            "the same, with a strict threshold",
            many,
            torch.rand(40, generator=g),
            torch.randint(1, 4, (40,), generator=g),
            0.2,
        ),
        ("no boxes at all", torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5),
    ]


def _nms_hint(
    out: torch.Tensor, boxes: torch.Tensor, scores: torch.Tensor, expected: torch.Tensor, threshold: float
) -> str:
    if out.dtype == torch.bool:
        return "return the indices of the boxes kept (int64), not a mask"
    if torch.equal(out, nms(boxes, scores, threshold)):
        return "that is plain NMS: boxes of different classes must never suppress each other; run it class by class"
    if sorted(out.tolist()) == sorted(expected.tolist()):
        return "the right boxes, in the wrong order: sort the kept indices by decreasing score, over all classes"
    return "for each class, run NMS on that class's boxes only; then put all kept indices together, best score first"


@checker("class-aware NMS")
def check_class_aware_nms(fn: Callable[..., torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(boxes, scores, labels, iou_threshold) -> keep``: indices (int64) of the boxes kept,
    best score first, where NMS runs within each class; equal to ``torchvision.ops.batched_nms``."""
    for name, boxes, scores, labels, threshold in _nms_cases():
        answer, problem = run_answer(fn, boxes.clone(), scores.clone(), labels.clone(), threshold)
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        try:
            out = torch.as_tensor(answer).reshape(-1)
        except (TypeError, ValueError, RuntimeError):
            return verdict(False, f"{name}: it returned {type(answer).__name__}, expected a tensor of indices", quiet)
        expected = batched_nms(boxes, scores, labels, threshold)
        if out.dtype == torch.bool or not torch.equal(out.long(), expected):
            return verdict(
                False,
                f"{name}: kept {out.tolist()[:12]}, expected {expected.tolist()[:12]}; "
                f"{_nms_hint(out, boxes, scores, expected, threshold)}",
                quiet,
            )
    return verdict(True, "the same boxes, in the same order, as torchvision.ops.batched_nms on every case", quiet)


# --------------------------------------------------------------------------------------------
# 3 · average precision
# --------------------------------------------------------------------------------------------

AP_CASES = [
    ("three hits, no misses", [True, True, True], 3),
    ("hit, miss, hit, hit (3 boxes)", [True, False, True, True], 3),
    ("a miss first, then two of four boxes found", [False, True, False, True, False], 4),
    ("nothing found", [False, False], 2),
    ("no detections at all", [], 5),
    ("a long list", [bool(b) for b in np.random.default_rng(4).random(40) < 0.6], 30),
]


def _ap_hint(value: float, matched: list[bool], num_gt: int) -> str:
    hits = np.asarray(matched, dtype=bool)
    precision, recall = precision_recall(hits, None, num_gt) if len(hits) else (np.zeros(0), np.zeros(0))
    at = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
    raw = np.zeros(101)
    if len(hits):
        raw = np.where(at < len(precision), precision[np.minimum(at, len(precision) - 1)], 0.0)
    if np.isclose(value, raw.mean()):
        return (
            "close: take the upper envelope first, the best precision at this recall *or any higher one* "
            "(np.maximum.accumulate on the reversed precisions)"
        )
    eleven = interpolated_precision(precision, recall, np.linspace(0, 1, 11)).mean() if len(hits) else 0.0
    if np.isclose(value, eleven):
        return "that is the 11-point AP of Pascal VOC 2007; COCO reads the curve at 101 recalls, 0, 0.01, ..., 1"
    if len(hits) and np.isclose(value, precision[-1]):
        return "that is the precision at the end of the list; AP averages precision over recall levels"
    return (
        "precision after each detection = hits so far / detections so far, recall = hits so far / boxes; "
        "then the envelope, read at recall 0, 0.01, ..., 1 (0 beyond the last recall), averaged"
    )


@checker("average precision")
def check_average_precision(fn: Callable[[list[bool], int], float], quiet: bool = False) -> Feedback:
    """``fn(matched, num_gt) -> AP``: ``matched`` lists hit (True) or miss for detections sorted
    best score first, ``num_gt`` counts the boxes; COCO's 101-point interpolated AP."""
    for name, matched, num_gt in AP_CASES:
        answer, problem = run_answer(fn, list(matched), num_gt)
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return verdict(False, f"{name}: it returned {type(answer).__name__}, expected a number", quiet)
        expected = average_precision(list(np.linspace(1, 0, len(matched))), matched, num_gt)
        if not np.isclose(value, expected, atol=1e-6):
            hint = _ap_hint(value, matched, num_gt)
            return verdict(False, f"{name}: got {value:.4f}, expected {expected:.4f}; {hint}", quiet)
    return verdict(True, f"all {len(AP_CASES)} ranked lists scored as COCO scores them", quiet)


# --------------------------------------------------------------------------------------------
# 4 · a design choice: the thresholds to ship
# --------------------------------------------------------------------------------------------

SCORE_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
NMS_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
F1_SLACK = 0.02
"""How far below the best F1 on the grid a choice may land and still pass."""


def f1_at(candidates: Sequence[dict], targets: Sequence[dict], score_thresh: float, nms_thresh: float) -> dict:
    """Precision, recall and F1 (at IoU 0.5) of a detector's ``candidates`` kept by the two thresholds,
    with the outcome counts of :func:`cvlearn.widgets.threshold_counts`."""
    counts = threshold_counts(candidates, targets, score_thresh, nms_thresh)
    p, r = counts["precision"], counts["recall"]
    return {**counts, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def best_thresholds(candidates: Sequence[dict], targets: Sequence[dict]) -> tuple[float, float, float]:
    """``(score_thresh, nms_thresh, f1)``: the best F1 on :data:`SCORE_GRID` × :data:`NMS_GRID`."""
    scored = [(f1_at(candidates, targets, s, n)["f1"], s, n) for s in SCORE_GRID for n in NMS_GRID]
    f1, s, n = max(scored)
    return s, n, f1


def _read_thresholds(answer: Any) -> tuple[float, float] | None:
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return None
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0 for v in answer):
        return None
    return float(answer[0]), float(answer[1])


def _threshold_hint(mine: dict, best: dict) -> str:
    """What the choice gets wrong next to the best setting: one or two of the three usual slips."""
    hints = []
    if mine["precision"] < best["precision"] - 0.01:
        false_alarms = mine["background"] + mine["poor box"] + mine["wrong class"]
        if false_alarms > best["background"] + best["poor box"] + best["wrong class"]:
            hints.append(f"{false_alarms} detections are false alarms or poor boxes: raise the score threshold")
        if mine["duplicate"] > best["duplicate"]:
            hints.append(
                f"{mine['duplicate']} duplicate(s) got through NMS (the best setting lets {best['duplicate']}): "
                "lower the NMS IoU"
            )
    if mine["recall"] < best["recall"] - 0.01:
        hints.append(
            f"you miss {mine['missed']} objects (the best setting misses {best['missed']}): lower the score threshold"
        )
    return "; ".join(hints[:2]) or "try the explorer's sliders, or scan a grid of both thresholds with f1_at"


@checker("deployment thresholds")
def check_thresholds(
    fn: Callable[[], tuple[float, float]], candidates: Sequence[dict], targets: Sequence[dict], quiet: bool = False
) -> Feedback:
    """``fn() -> (score_thresh, nms_thresh)``: the thresholds to ship the detector with. Passes
    when their F1 at IoU 0.5 on ``candidates`` / ``targets`` (validation pictures: a detector's
    boxes before NMS, and the truth) is within :data:`F1_SLACK` of the best on the grid."""
    answer, problem = run_answer(fn)
    if problem:
        return verdict(False, problem, quiet)
    choice = _read_thresholds(answer)
    if choice is None:
        return verdict(
            False, f"return two numbers between 0 and 1, (score_thresh, nms_thresh); got {describe(answer)}", quiet
        )
    mine = f1_at(candidates, targets, *choice)
    best_s, best_n, best_f1 = best_thresholds(candidates, targets)
    said = (
        f"score ≥ {choice[0]:g}, NMS IoU {choice[1]:g}: precision {mine['precision']:.2f}, "
        f"recall {mine['recall']:.2f}, F1 {mine['f1']:.3f}"
    )
    if mine["f1"] < best_f1 - F1_SLACK:
        best = f1_at(candidates, targets, best_s, best_n)
        return verdict(
            False, f"{said}; the best on these pictures is F1 {best_f1:.3f}. {_threshold_hint(mine, best)}", quiet
        )
    return verdict(True, f"{said}, within {F1_SLACK} of the best F1 on the grid ({best_f1:.3f})", quiet)
