"""Checkers for notebook 05's exercises (which pixels belong to which object?).

* :func:`check_semantic_from_instances`: instance masks hold the semantic mask; get it back;
* :func:`check_mask_iou`: the IoU of two masks, the yardstick of mask AP;
* :func:`check_roi_align`: RoIAlign of one box by hand (one bilinear sample per bin);
* :func:`check_anchor_ratios` (a design choice): three anchor shapes that fit the objects
  better than torchvision's, by :func:`anchor_recall`.

Each runs the learner's function on cases with known answers, prints one line (✓ or ✗ with a
hint) and returns a truthy :class:`~cvlearn.exercises.Feedback` when everything passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import box_iou, roi_align

from ..metrics.instance import mask_iou
from ..models.instance import SMALL
from .feedback import Feedback, as_tensor, checker, describe, run_answer, verdict


def _tensor(answer: Any) -> tuple[torch.Tensor | None, str | None]:
    return as_tensor(answer)


def _bar(h: int, w: int, rows: slice, cols: slice) -> torch.Tensor:
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[rows, cols] = True
    return mask


# --------------------------------------------------------------------------------------------
# 1 · semantic from instances
# --------------------------------------------------------------------------------------------


def _semantic_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    pen_a, pen_b = _bar(8, 8, slice(2, 4), slice(0, 8)), _bar(8, 8, slice(0, 8), slice(5, 7))
    pen_b = pen_b & ~pen_a  # the pen on top owns the crossing; masks are disjoint
    sheep = _bar(6, 6, slice(1, 3), slice(1, 3))
    return [
        ("two crossing pens (class 1)", torch.stack([pen_a, pen_b]), torch.tensor([1, 1])),
        (
            "a sheep (class 5) and a pen (class 6)",
            torch.stack([sheep, _bar(6, 6, slice(4, 5), slice(0, 6))]),
            torch.tensor([5, 6]),
        ),
        ("no objects at all", torch.zeros(0, 5, 7, dtype=torch.bool), torch.zeros(0, dtype=torch.int64)),
    ]


def _expected_semantic(masks: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(masks.shape[1:], dtype=torch.int64)
    for mask, label in zip(masks, labels):
        out[mask] = int(label)
    return out


@checker("semantic from instances")
def check_semantic_from_instances(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], quiet: bool = False
) -> Feedback:
    """``fn(masks: (N, H, W) bool, labels: (N,) int64) -> (H, W) int64``: each object's pixels
    hold its class, every other pixel 0 (background)."""
    for name, masks, labels in _semantic_cases():
        answer, problem = run_answer(fn, masks.clone(), labels.clone())
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = _tensor(answer)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)
        expected = _expected_semantic(masks, labels)
        if tuple(out.shape) != tuple(expected.shape):
            return verdict(
                False,
                f"{name}: got shape {tuple(out.shape)}, expected {tuple(expected.shape)} "
                "(one class per pixel: H x W, the objects' axis folded away)",
                quiet,
            )
        if not torch.equal(out.long(), expected):
            ids = torch.zeros_like(expected)
            for k, mask in enumerate(masks):
                ids[mask] = k + 1
            if torch.equal(out.long(), ids):
                hint = "that is an instance-ID map (1, 2, ...): write each object's *class* label, not its number"
            elif torch.equal(out.long(), (expected > 0).long()):
                hint = "that only says object / no object: write each object's class label from `labels`"
            else:
                hint = "start from zeros (background) and, for each object k, set the pixels of masks[k] to labels[k]"
            return verdict(
                False, f"{name}: wrong classes at {int((out.long() != expected).sum())} pixels; {hint}", quiet
            )
    return verdict(True, "right on every case: a semantic mask is an instance mask with the IDs forgotten", quiet)


# --------------------------------------------------------------------------------------------
# 2 · mask IoU
# --------------------------------------------------------------------------------------------


def _iou_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    pen = _bar(16, 16, slice(6, 9), slice(2, 14))
    return [
        ("a mask and itself", pen, pen.clone()),
        ("a 3 px wide pen and the same pen one pixel lower", pen, _bar(16, 16, slice(7, 10), slice(2, 14))),
        ("two masks that do not touch", pen, _bar(16, 16, slice(11, 13), slice(0, 4))),
        ("a mask and one half of it", pen, _bar(16, 16, slice(6, 9), slice(2, 8))),
        ("an empty prediction", pen, torch.zeros(16, 16, dtype=torch.bool)),
    ]


@checker("mask IoU")
def check_mask_iou(fn: Callable[[torch.Tensor, torch.Tensor], Any], quiet: bool = False) -> Feedback:
    """``fn(a: (H, W) bool, b: (H, W) bool) -> float``: pixels in both / pixels in either."""
    for name, a, b in _iou_cases():
        answer, problem = run_answer(fn, a.clone(), b.clone())
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        try:
            value = float(answer)
        except (TypeError, ValueError, RuntimeError):
            return verdict(False, f"{name}: it returned {type(answer).__name__}, expected one number", quiet)
        expected = float(mask_iou(a[None], b[None])[0, 0])
        if not abs(value - expected) <= 1e-4:  # NaN fails too
            inter, total = float((a & b).sum()), float(a.sum() + b.sum())
            if total and abs(value - 2 * inter / total) < 1e-4:
                hint = "that is the Dice score 2|A∩B| / (|A|+|B|); IoU divides by the union |A∪B|"
            elif total and abs(value - inter / total) < 1e-4:
                hint = "the union counts the shared pixels once: |A| + |B| - |A∩B|, not |A| + |B|"
            else:
                hint = "IoU = (a & b).sum() / (a | b).sum(), as floats"
            return verdict(False, f"{name}: got {value:.4f}, expected {expected:.4f}; {hint}", quiet)
    return verdict(
        True,
        "right on every case. Note the pen moved by one pixel: IoU 0.5. Thin objects need "
        "pixel-exact masks to score at the stricter thresholds of AP@[.5:.95]",
        quiet,
    )


# --------------------------------------------------------------------------------------------
# 3 · RoIAlign by hand
# --------------------------------------------------------------------------------------------


def _roi_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, int, int]]:
    g = torch.Generator().manual_seed(5)
    feature = torch.randn(3, 12, 12, generator=g)  # a 48 px picture seen at stride 4
    return [
        ("a square box on whole feature cells", feature, torch.tensor([8.0, 8.0, 40.0, 40.0]), 4, 4),
        ("a long thin box between cells, 7x7 output", feature, torch.tensor([5.0, 30.0, 45.0, 37.0]), 4, 7),
        ("a box touching the picture's corner", feature, torch.tensor([30.0, 35.0, 48.0, 48.0]), 4, 5),
        ("a box on a stride-8 map", torch.randn(2, 6, 6, generator=g), torch.tensor([3.0, 10.0, 41.0, 29.0]), 8, 3),
    ]


def _reference_roi_align(
    feature: torch.Tensor, box: torch.Tensor, stride: int, size: int, aligned: bool = False
) -> torch.Tensor:
    return roi_align(
        feature[None],
        [box[None].float()],
        output_size=size,
        spatial_scale=1 / stride,
        sampling_ratio=1,
        aligned=aligned,
    )[0]


def _roi_hint(out: torch.Tensor, feature: torch.Tensor, box: torch.Tensor, stride: int, size: int) -> str:
    if out.shape == _reference_roi_align(feature, box, stride, size).shape:
        if torch.allclose(out, _reference_roi_align(feature, box, stride, size, aligned=True), atol=1e-4):
            return (
                "you shifted the box by half a cell (aligned=True); Mask R-CNN's MultiScaleRoIAlign uses "
                "aligned=False: feature cell j sits at x = j"
            )
        if torch.allclose(out, _reference_roi_align(feature, box * stride, stride, size), atol=1e-4):
            return "the box is in picture pixels: divide it by the stride to get feature-map coordinates"
        if torch.allclose(out, _reference_roi_align(feature, box / stride, stride, size), atol=1e-4):
            return "the box was divided by the stride twice"
    return (
        "cut the box (in feature-map units, box / stride) into size x size bins, sample each bin's centre "
        "with bilinear interpolation between the 4 nearest cells (clamp to the map's edge)"
    )


@checker("RoIAlign")
def check_roi_align(
    fn: Callable[[torch.Tensor, torch.Tensor, int, int], torch.Tensor], quiet: bool = False
) -> Feedback:
    """``fn(feature: (C, h, w), box: (4,) XYXY in picture pixels, stride: int, size: int)
    -> (C, size, size)`` must equal ``torchvision.ops.roi_align(..., spatial_scale=1 / stride,
    sampling_ratio=1, aligned=False)``, the RoIAlign inside our Mask R-CNN."""
    for name, feature, box, stride, size in _roi_cases():
        answer, problem = run_answer(fn, feature.clone(), box.clone(), stride, size)
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = _tensor(answer)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)
        expected = _reference_roi_align(feature, box, stride, size)
        if tuple(out.shape) != tuple(expected.shape):
            return verdict(
                False,
                f"{name}: got shape {tuple(out.shape)}, expected {tuple(expected.shape)} (channels, size, size)",
                quiet,
            )
        if not torch.allclose(out.float(), expected, atol=1e-4):
            gap = float((out.float() - expected).abs().max())
            hint = _roi_hint(out.float(), feature, box, stride, size)
            return verdict(
                False, f"{name}: values differ from torchvision's roi_align by up to {gap:.3f}; {hint}", quiet
            )
    return verdict(True, f"all {len(_roi_cases())} boxes match torchvision.ops.roi_align (sampling_ratio=1)", quiet)


# --------------------------------------------------------------------------------------------
# 4 · a design choice: anchor shapes for pens
# --------------------------------------------------------------------------------------------

ANCHOR_STRIDES = (4, 8, 16)
"""The pyramid levels' strides in pixels, one per anchor size of the course's Mask R-CNN."""
BASELINE_RATIOS = (0.5, 1.0, 2.0)
"""torchvision's three aspect ratios, the ones to beat."""
MAX_RATIOS = 3
RECALL_GAIN = 0.05
"""How much more anchor recall than :data:`BASELINE_RATIOS` a choice must reach to pass..."""
ENOUGH_RECALL = 0.95
"""...unless it covers this share of the objects anyway."""


def anchor_recall(
    boxes: torch.Tensor,
    image_size: tuple[int, int],
    aspect_ratios: Sequence[float],
    sizes: Sequence[int] = SMALL.anchor_sizes,
    iou: float = 0.5,
) -> float:
    """Share of ``boxes`` ((N, 4) XYXY pixels) that some anchor overlaps by at least ``iou``.

    The anchors are torchvision's ``AnchorGenerator``'s for one ``image_size`` (H, W) picture:
    one size per pyramid level (strides :data:`ANCHOR_STRIDES`), each in every ``aspect_ratios``
    (height / width). An object no anchor overlaps well starts the RPN from a poor guess.
    """
    h, w = image_size
    generator = AnchorGenerator(tuple((s,) for s in sizes), (tuple(float(r) for r in aspect_ratios),) * len(sizes))
    feature_maps = [torch.zeros(1, 1, -(-h // s), -(-w // s)) for s in ANCHOR_STRIDES[: len(sizes)]]
    images = ImageList(torch.zeros(1, 3, h, w), [(h, w)])
    anchors = generator(images, feature_maps)[0]
    if len(boxes) == 0:
        return 1.0
    # a few hundred boxes at a time: all of a split's boxes against every anchor at once would
    # take a gigabyte
    best = torch.cat([box_iou(chunk, anchors).max(dim=1).values for chunk in boxes.float().split(256)])
    return float((best >= iou).float().mean())


def _read_ratios(answer: Any) -> tuple[float, ...] | str:
    """The ratios as floats, or what is wrong with them, in words."""
    if not isinstance(answer, (tuple, list)) or not answer:
        return f"return a tuple of aspect ratios (height / width), such as (0.5, 1.0, 2.0); got {describe(answer)}"
    if any(isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0 for r in answer):
        return f"each aspect ratio is a positive number, height / width; got {describe(answer)}"
    if len(answer) > MAX_RATIOS:
        return (
            f"{len(answer)} ratios: each one adds an anchor at every position of every level (more RPN "
            f"outputs, more proposals to sort); choose at most {MAX_RATIOS}"
        )
    return tuple(float(r) for r in answer)


def _ratio_spread(boxes: torch.Tensor) -> str:
    ratios = (boxes[:, 3] - boxes[:, 1]) / (boxes[:, 2] - boxes[:, 0]).clamp(min=1e-6)
    q = torch.quantile(ratios.float(), torch.tensor([0.1, 0.5, 0.9])).tolist()
    return f"the objects' height / width: 10 % below {q[0]:.2f}, half below {q[1]:.2f}, 90 % below {q[2]:.2f}"


@checker("anchor shapes")
def check_anchor_ratios(
    fn: Callable[[], Sequence[float]], boxes: torch.Tensor, image_size: tuple[int, int], quiet: bool = False
) -> Feedback:
    """``fn() -> aspect ratios`` (at most :data:`MAX_RATIOS`, height / width) for the RPN's
    anchors. Passes when :func:`anchor_recall` on ``boxes`` ((N, 4) XYXY, the training split's)
    beats torchvision's :data:`BASELINE_RATIOS` by :data:`RECALL_GAIN` (or reaches :data:`ENOUGH_RECALL`)."""
    answer, problem = run_answer(fn)
    if problem:
        return verdict(False, problem, quiet)
    ratios = _read_ratios(answer)
    if isinstance(ratios, str):
        return verdict(False, ratios, quiet)
    before = anchor_recall(boxes, image_size, BASELINE_RATIOS)
    after = anchor_recall(boxes, image_size, ratios)
    said = (
        f"ratios {ratios}: {after:.0%} of objects have an anchor with IoU ≥ 0.5, "
        f"against {before:.0%} with {BASELINE_RATIOS}"
    )
    if after < min(before + RECALL_GAIN, ENOUGH_RECALL):
        goal = min(before + RECALL_GAIN, ENOUGH_RECALL)
        return verdict(False, f"{said}; aim for {goal:.0%}. {_ratio_spread(boxes)}", quiet)
    return verdict(True, said, quiet)
