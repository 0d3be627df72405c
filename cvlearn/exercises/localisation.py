"""Checkers for notebook 02's exercises (where is the animal?).

* :func:`check_xywh_to_xyxy`: convert COCO's ``(x, y, width, height)`` boxes to corners;
* :func:`check_giou`: generalised IoU of matched box pairs, the quantity the GIoU loss uses;
* :func:`check_flip`: mirror a picture and its box left-right (data augmentation);
* :func:`check_fixed_iou` (debugging): find and fix the planted bug in :func:`buggy_iou`.

Each runs the learner's function on cases with known answers, prints one line (✓ or ✗ with a
hint) and returns a truthy :class:`~cvlearn.exercises.Feedback` when everything passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchvision.ops import box_convert, generalized_box_iou

from ..metrics.localisation import paired_iou
from .feedback import Feedback, as_tensor, checker, run_answer, verdict


def _as_float_tensor(answer: Any) -> tuple[torch.Tensor | None, str | None]:
    return as_tensor(answer, torch.float32)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, atol=1e-4)


def _mismatch(
    name: str, out: torch.Tensor, expected: torch.Tensor, shape_note: str, hint: Callable[[], str]
) -> str | None:
    """What is wrong with ``out`` next to ``expected``, in words (shape first, then values), or None."""
    if tuple(out.shape) != tuple(expected.shape):
        return f"{name}: got shape {tuple(out.shape)}, expected {tuple(expected.shape)} ({shape_note})"
    if not _close(out, expected):
        rounded = [round(v, 4) for v in out.reshape(-1).tolist()]
        wanted = [round(v, 4) for v in expected.reshape(-1).tolist()]
        return f"{name}: got {rounded}, expected {wanted}; {hint()}"
    return None


# --------------------------------------------------------------------------------------------
# 1 · box formats
# --------------------------------------------------------------------------------------------

XYWH_CASES = [
    ("one box", torch.tensor([[10.0, 20.0, 30.0, 40.0]])),
    (
        "three boxes, one of them empty (width 0)",
        torch.tensor([[0.0, 0.0, 64.0, 64.0], [5.5, 7.0, 12.0, 3.5], [40.0, 8.0, 0.0, 10.0]]),
    ),
    ("a tall box and a wide box", torch.tensor([[3.0, 4.0, 8.0, 30.0], [1.0, 50.0, 60.0, 6.0]])),
]


def _xywh_hint(out: torch.Tensor, boxes: torch.Tensor) -> str:
    x, y, w, h = boxes.unbind(1)
    if _close(out, boxes):
        return "it returned the boxes unchanged; the corners are x2 = x + width and y2 = y + height"
    if _close(out, torch.stack([x, y, x + h, y + w], 1)):
        return "width and height are swapped: the third number is the width, which goes with x"
    if _close(out, torch.stack([x, y, x + w - 1, y + h - 1], 1)):
        return (
            "no -1: with COCO's edge convention a box from x1 = 10 to x2 = 40 is 30 pixels wide, "
            "so x2 = x + width exactly"
        )
    if _close(out, torch.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], 1)):
        return "that treats (x, y) as the centre; in XYWH it is the top-left corner"
    return "x1 = x, y1 = y, x2 = x + width, y2 = y + height"


@checker("XYWH to XYXY")
def check_xywh_to_xyxy(fn: Callable[[torch.Tensor], torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(boxes: (N, 4) XYWH) -> (N, 4) XYXY``, as ``torchvision.ops.box_convert`` does,
    leaving its input unchanged."""
    for name, boxes in XYWH_CASES:
        given = boxes.clone()
        answer, problem = run_answer(fn, given)
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        if not torch.equal(given, boxes):
            return verdict(
                False,
                f"{name}: your function changed its input; build a new tensor "
                "(torch.stack, torch.cat or boxes.clone()) instead of writing into boxes",
                quiet,
            )
        out, problem = _as_float_tensor(answer)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)

        def hint(out: torch.Tensor = out, boxes: torch.Tensor = boxes) -> str:
            return _xywh_hint(out, boxes)

        problem = _mismatch(name, out, box_convert(boxes, "xywh", "xyxy"), "one row of four numbers per box", hint)
        if problem:
            return verdict(False, problem, quiet)
    return verdict(True, f"matches torchvision's box_convert on {len(XYWH_CASES)} cases, an empty box included", quiet)


# --------------------------------------------------------------------------------------------
# 2 · generalised IoU
# --------------------------------------------------------------------------------------------

GIOU_CASES = [
    ("identical boxes", torch.tensor([[10.0, 10.0, 30.0, 40.0]]), torch.tensor([[10.0, 10.0, 30.0, 40.0]])),
    (
        "overlapping boxes",
        torch.tensor([[0.0, 0.0, 20.0, 20.0], [5.0, 5.0, 25.0, 15.0]]),
        torch.tensor([[10.0, 10.0, 30.0, 30.0], [0.0, 0.0, 10.0, 30.0]]),
    ),
    ("one box inside the other", torch.tensor([[0.0, 0.0, 40.0, 40.0]]), torch.tensor([[10.0, 10.0, 20.0, 30.0]])),
    (
        "boxes that do not overlap",
        torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]]),
        torch.tensor([[20.0, 0.0, 30.0, 10.0], [50.0, 40.0, 60.0, 50.0]]),
    ),
]


def _giou_hint(out: torch.Tensor, boxes1: torch.Tensor, boxes2: torch.Tensor, name: str) -> str:
    if _close(out, paired_iou(boxes1, boxes2)):
        return (
            "that is plain IoU; GIoU subtracts the share of the enclosing box (the smallest box around "
            "both) that the union leaves empty: IoU - (enclosing area - union) / enclosing area"
        )
    if "not overlap" in name:
        return (
            "for boxes that do not overlap the overlap is 0 (clamp its width and height at 0), the "
            "enclosing box still spans both (min of x1, y1; max of x2, y2), and GIoU goes below 0"
        )
    return (
        "GIoU = IoU - (enclosing area - union) / enclosing area, with the enclosing box from min(x1, y1), max(x2, y2)"
    )


@checker("GIoU")
def check_giou(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(boxes1: (N, 4), boxes2: (N, 4)) -> (N,)`` generalised IoU of each row pair (XYXY),
    as the diagonal of ``torchvision.ops.generalized_box_iou``."""
    for name, boxes1, boxes2 in GIOU_CASES:
        answer, problem = run_answer(fn, boxes1.clone(), boxes2.clone())
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = _as_float_tensor(answer)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)
        expected = generalized_box_iou(boxes1, boxes2).diagonal()
        if out.ndim == 2 and out.shape == (len(boxes1), len(boxes2)) and len(boxes1) > 1:
            return verdict(
                False,
                f"{name}: got an {tuple(out.shape)} table of every box against every box; "
                f"compare row i with row i only, giving shape {tuple(expected.shape)}",
                quiet,
            )
        out = out.reshape(-1) if out.numel() == expected.numel() else out

        def hint(
            out: torch.Tensor = out, b1: torch.Tensor = boxes1, b2: torch.Tensor = boxes2, name: str = name
        ) -> str:
            return _giou_hint(out, b1, b2, name)

        problem = _mismatch(name, out, expected, "one number per pair of boxes", hint)
        if problem:
            return verdict(False, problem, quiet)
    return verdict(
        True,
        f"matches torchvision's generalized_box_iou on {len(GIOU_CASES)} cases, disjoint boxes (GIoU < 0) included",
        quiet,
    )


# --------------------------------------------------------------------------------------------
# 3 · flipping a picture and its box
# --------------------------------------------------------------------------------------------

FLIP_HEIGHT, FLIP_WIDTH = 6, 10
"""The checker's picture is not square, so using the height for the width shows."""


def _flip_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    image = torch.arange(3 * FLIP_HEIGHT * FLIP_WIDTH, dtype=torch.uint8).reshape(3, FLIP_HEIGHT, FLIP_WIDTH)
    return [
        ("a box left of centre", image, torch.tensor([1.0, 2.0, 4.0, 5.0])),
        ("a box touching the right edge", image, torch.tensor([6.0, 0.0, 10.0, 3.0])),
        ("the whole picture", image, torch.tensor([0.0, 0.0, 10.0, 6.0])),
    ]


def _flip_box_hint(out: torch.Tensor, box: torch.Tensor) -> str:
    x1, y1, x2, y2 = box.tolist()
    if out[0] > out[2]:
        return (
            "x1 ended up right of x2: after mirroring, the old right edge is the new left, x1' = W - x2, x2' = W - x1"
        )
    if _close(out, torch.tensor([FLIP_WIDTH - 1 - x2, y1, FLIP_WIDTH - 1 - x1, y2])):
        return (
            "no -1: box coordinates are pixel edges (pixel columns 0..W-1 span coordinates 0..W), "
            "so a mirrored x is W - x"
        )
    if _close(out, torch.tensor([FLIP_HEIGHT - x2, y1, FLIP_HEIGHT - x1, y2])):
        return "that used the height; x mirrors around the width, image.shape[-1] (this picture is not square)"
    if not (torch.isclose(out[1], box[1]) and torch.isclose(out[3], box[3])):
        return "a left-right flip leaves y1 and y2 alone"
    return "x1' = W - x2, y1' = y1, x2' = W - x1, y2' = y2, with W = image.shape[-1]"


@checker("flip")
def check_flip(
    fn: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]], quiet: bool = False
) -> Feedback:
    """``fn(image: (3, H, W), box: (4,) XYXY pixels) -> (image, box)`` mirrored left-right, as
    torchvision's ``horizontal_flip`` does to an image and its ``BoundingBoxes``."""
    for name, image, box in _flip_cases():
        answer, problem = run_answer(fn, image.clone(), box.clone())
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        if not isinstance(answer, (tuple, list)) or len(answer) != 2:
            return verdict(
                False,
                f"{name}: return two things, the flipped image and the flipped box (got {type(answer).__name__})",
                quiet,
            )
        out_image, out_box = answer
        if not isinstance(out_image, torch.Tensor) or tuple(out_image.shape) != tuple(image.shape):
            return verdict(
                False,
                f"{name}: the image must stay a {tuple(image.shape)} tensor, got "
                f"{tuple(out_image.shape) if isinstance(out_image, torch.Tensor) else type(out_image).__name__}",
                quiet,
            )
        if torch.equal(out_image, image.flip(-2)):
            return verdict(
                False,
                f"{name}: the image was flipped top to bottom; left-right is the last dimension, image.flip(-1)",
                quiet,
            )
        if not torch.equal(out_image, image.flip(-1)):
            return verdict(False, f"{name}: the image is not mirrored left-right; image.flip(-1) does it", quiet)
        box_out, problem = _as_float_tensor(out_box)
        if box_out is None:
            return verdict(False, f"{name}: for the box {problem}", quiet)
        box_out = box_out.reshape(-1) if box_out.numel() == 4 else box_out
        expected = torch.tensor([FLIP_WIDTH - box[2], box[1], FLIP_WIDTH - box[0], box[3]])

        def hint(out: torch.Tensor = box_out, box: torch.Tensor = box) -> str:
            return _flip_box_hint(out, box)

        problem = _mismatch(f"{name}, the box", box_out, expected, "the box must be four numbers", hint)
        if problem:
            return verdict(False, problem, quiet)
    return verdict(
        True,
        f"picture and box mirrored right on {len(_flip_cases())} cases (a {FLIP_HEIGHT}×{FLIP_WIDTH} "
        "picture, a box at the edge included)",
        quiet,
    )


# --------------------------------------------------------------------------------------------
# 4 · debugging: a planted bug in IoU
# --------------------------------------------------------------------------------------------


def buggy_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """IoU of row i of ``boxes1`` with row i of ``boxes2`` ((N, 4) XYXY each) → (N,), with a
    planted bug for notebook 02's debugging exercise: find it, then fix it."""
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    overlap = (bottom_right - top_left).prod(dim=1)
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).prod(dim=1)
    return overlap / (area1 + area2 - overlap)


FIXED_IOU_CASES = [
    ("identical boxes", torch.tensor([[4.0, 4.0, 20.0, 12.0]]), torch.tensor([[4.0, 4.0, 20.0, 12.0]])),
    ("boxes that overlap", torch.tensor([[0.0, 0.0, 20.0, 20.0]]), torch.tensor([[10.0, 10.0, 30.0, 30.0]])),
    ("side by side, apart in x only", torch.tensor([[0.0, 0.0, 10.0, 10.0]]), torch.tensor([[20.0, 0.0, 30.0, 10.0]])),
    (
        "in opposite corners, apart in x and y",
        torch.tensor([[0.0, 0.0, 10.0, 10.0]]),
        torch.tensor([[30.0, 30.0, 40.0, 40.0]]),
    ),
    (
        "a batch of three",
        torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 15.0, 25.0]]),
        torch.tensor([[10.0, 0.0, 20.0, 10.0], [50.0, 60.0, 70.0, 90.0], [0.0, 0.0, 10.0, 10.0]]),
    ),
]


def _fixed_iou_hint(out: torch.Tensor, boxes1: torch.Tensor, boxes2: torch.Tensor) -> str:
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])
    product = (bottom_right - top_left).prod(dim=1)
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).prod(dim=1)
    clamped_product = product.clamp(min=0)
    if _close(out, clamped_product / (area1 + area2 - clamped_product)):
        return (
            "for boxes apart in x and in y both sides of bottom_right - top_left are negative, and "
            "two negatives multiply to a positive 'overlap' (clamping the product cannot catch it): "
            "clamp the width and the height at 0 before multiplying"
        )
    if _close(out, buggy_iou(boxes1, boxes2)):
        return (
            "that is still the planted bug: for boxes apart in x, bottom_right - top_left has a "
            "negative side, so the 'overlap' is negative; clamp the width and height at 0 before multiplying"
        )
    overlap = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    if _close(out, overlap / (area1 + area2)):
        return "the union counts the overlap twice: union = area1 + area2 - overlap"
    return "overlap = (bottom_right - top_left).clamp(min=0).prod(dim=1); IoU = overlap / (area1 + area2 - overlap)"


@checker("fixed IoU")
def check_fixed_iou(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(boxes1: (N, 4) XYXY, boxes2: (N, 4) XYXY) -> (N,)``: :func:`buggy_iou` with its bug
    fixed, compared with the course's ``paired_iou`` on boxes that overlap, touch and lie apart."""
    for name, boxes1, boxes2 in FIXED_IOU_CASES:
        answer, problem = run_answer(fn, boxes1.clone(), boxes2.clone())
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = _as_float_tensor(answer)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)
        out = out.reshape(-1) if out.numel() == len(boxes1) else out

        def hint(out: torch.Tensor = out, boxes1: torch.Tensor = boxes1, boxes2: torch.Tensor = boxes2) -> str:
            return _fixed_iou_hint(out, boxes1, boxes2)

        problem = _mismatch(name, out, paired_iou(boxes1, boxes2), "one IoU per pair of rows", hint)
        if problem:
            return verdict(False, problem, quiet)
    return verdict(
        True, f"IoU right on {len(FIXED_IOU_CASES)} cases, boxes apart in x, in y and in both included", quiet
    )
