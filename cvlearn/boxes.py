"""Bounding boxes: formats, grids of anchors and points, matching, offsets, and NMS by hand.

Boxes are ``(N, 4)`` float tensors in pixels. Three formats are in use:

* ``"xyxy"``: left, top, right, bottom (torchvision's and the datasets' format);
* ``"xywh"``: left, top, width, height (COCO's format on disk);
* ``"cxcywh"``: centre x, centre y, width, height (what detectors regress).

Widths follow COCO's edge convention: a box from x1 = 10 to x2 = 30 is 20 pixels wide.

A one-stage detector looks at a feature map of ``H x W`` cells, each ``stride`` pixels of the
image. It places **anchors** (a few boxes of set sizes and shapes, Faster R-CNN and SSD) or
**points** (one per cell, FCOS and CenterNet) on that grid, **matches** each to a ground-truth
box or to the background, and learns **offsets** from the anchor or point to its box. The
helpers here do each step; torchvision's own versions (``box_convert``, ``AnchorGenerator``,
``BoxCoder``, ``Matcher``, ``nms``) give the same numbers and are what the models use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor
from torchvision.ops import box_convert, box_iou

FORMATS = ("xyxy", "xywh", "cxcywh")
BELOW_LOW_THRESHOLD = -1
"""Matched index of an anchor that overlaps no box enough: background."""
BETWEEN_THRESHOLDS = -2
"""Matched index of an anchor that is neither clearly object nor background: ignored in the loss."""
DEFAULT_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
MAX_LOG_SCALE = math.log(1000.0 / 16)
"""Largest ``dw``/``dh`` that :func:`decode` exponentiates (torchvision's clip), against overflow."""


# --------------------------------------------------------------------------------------------
# Checking arguments
# --------------------------------------------------------------------------------------------


def as_boxes(boxes: object, name: str = "boxes") -> Tensor:
    """``boxes`` as an (N, 4) float tensor, or a ValueError/TypeError that names ``name``."""
    if not isinstance(boxes, Tensor):
        try:
            boxes = torch.as_tensor(boxes, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be an (N, 4) tensor of box coordinates, got {type(boxes).__name__}") from err
    if boxes.numel() == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got {tuple(boxes.shape)}")
    return boxes if boxes.is_floating_point() else boxes.float()


def _check_format(fmt: object, name: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"{name} must be one of {list(FORMATS)}, got {fmt!r}")
    return str(fmt)


def _check_positive(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


def convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """(N, 4) boxes from ``in_fmt`` to ``out_fmt`` (``"xyxy"``, ``"xywh"``, ``"cxcywh"``).

    A checked front for ``torchvision.ops.box_convert``.
    """
    boxes = as_boxes(boxes)
    return box_convert(boxes, _check_format(in_fmt, "in_fmt"), _check_format(out_fmt, "out_fmt"))


def normalise(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """(N, 4) XYXY pixels to fractions of the image: x / width, y / height, all in 0..1.

    ``size`` is ``(height, width)``, as in ``image.shape[-2:]``.
    """
    h, w = size
    return as_boxes(boxes) / torch.tensor([w, h, w, h], dtype=torch.float32)


def denormalise(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """The inverse of :func:`normalise`: (N, 4) fractions back to XYXY pixels."""
    h, w = size
    return as_boxes(boxes) * torch.tensor([w, h, w, h], dtype=torch.float32)


# --------------------------------------------------------------------------------------------
# IoU of box pairs
# --------------------------------------------------------------------------------------------


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
        raise ValueError(
            f"boxes1 and boxes2 must hold the same number of boxes (they are compared row by row), "
            f"got {len(pair[0])} and {len(pair[1])}"
        )
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


# --------------------------------------------------------------------------------------------
# Grids: points and anchors
# --------------------------------------------------------------------------------------------


def grid_points(height: int, width: int, stride: float) -> Tensor:
    """(H * W, 2) pixel centres (x, y) of the cells of an ``H x W`` feature map, row by row.

    Cell ``(i, j)`` covers pixels ``j * stride`` to ``(j + 1) * stride`` across, so its centre
    is ``((j + 0.5) * stride, (i + 0.5) * stride)``.
    """
    _check_positive(stride, "stride")
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) * stride
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)


def anchor_shapes(sizes: Sequence[float], aspect_ratios: Sequence[float]) -> Tensor:
    """(A, 2) anchor widths and heights: each ratio (height / width) at each size (sqrt of area).

    Ordered ratio by ratio, sizes inside, as torchvision's ``AnchorGenerator`` orders them.
    """
    for s in sizes:
        _check_positive(s, "sizes")
    for r in aspect_ratios:
        _check_positive(r, "aspect_ratios")
    size = torch.as_tensor(list(sizes), dtype=torch.float32)
    root = torch.as_tensor(list(aspect_ratios), dtype=torch.float32).sqrt()
    widths = (size[None, :] / root[:, None]).reshape(-1)
    heights = (size[None, :] * root[:, None]).reshape(-1)
    return torch.stack([widths, heights], dim=1)


def anchor_boxes(
    height: int,
    width: int,
    stride: float,
    sizes: Sequence[float],
    aspect_ratios: Sequence[float] = (1.0,),
    offset: float = 0.5,
) -> Tensor:
    """(H * W * A, 4) XYXY anchors: A shapes (:func:`anchor_shapes`) centred on every cell.

    Anchors of one cell are consecutive. ``offset=0.5`` centres them on the cell centres;
    torchvision's ``AnchorGenerator`` uses ``offset=0`` (the cell's top-left corner) and rounds
    the shapes to whole pixels.
    """
    _check_positive(stride, "stride")
    centres = grid_points(height, width, stride) + (offset - 0.5) * stride
    half = anchor_shapes(sizes, aspect_ratios) / 2
    lo = centres[:, None, :] - half[None, :, :]
    hi = centres[:, None, :] + half[None, :, :]
    return torch.cat([lo, hi], dim=2).reshape(-1, 4)


# --------------------------------------------------------------------------------------------
# Matching anchors to ground truth
# --------------------------------------------------------------------------------------------


def match_anchors(iou: Tensor, high: float = 0.5, low: float = 0.4, allow_low_quality: bool = False) -> Tensor:
    """For each anchor, the index of the ground-truth box it is trained to predict.

    Args:
        iou: (G, A) IoU of each of G ground-truth boxes with each of A anchors.
        high: an anchor whose best IoU is at least ``high`` matches that box.
        low: below ``low`` it is background (:data:`BELOW_LOW_THRESHOLD`); in between it is
            ignored (:data:`BETWEEN_THRESHOLDS`).
        allow_low_quality: also match each box's best anchor(s), however low their IoU, so that
            no box is left without an anchor (Faster R-CNN's RPN does this).

    Returns:
        (A,) int64: a box index in ``0..G-1`` or a negative code. The same rule as torchvision's
        ``Matcher``.
    """
    if iou.ndim != 2:
        raise ValueError(f"iou must be a (G, A) matrix, got shape {tuple(iou.shape)}")
    if not 0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high, got low={low}, high={high}")
    if iou.shape[0] == 0:
        return torch.full((iou.shape[1],), BELOW_LOW_THRESHOLD, dtype=torch.int64)
    best_iou, matches = iou.max(dim=0)
    original = matches.clone()
    matches[best_iou < low] = BELOW_LOW_THRESHOLD
    matches[(best_iou >= low) & (best_iou < high)] = BETWEEN_THRESHOLDS
    if allow_low_quality:
        best_per_box = iou.max(dim=1, keepdim=True).values
        _, anchors = torch.nonzero(iou == best_per_box, as_tuple=True)
        matches[anchors] = original[anchors]
    return matches


def assign_points(points: Tensor, boxes: Tensor, stride: float, radius: float = 1.5) -> Tensor:
    """For each grid point, the ground-truth box it is trained to predict, or -1 (background).

    FCOS's rule with centre sampling: a point is positive for a box when it lies inside the box
    *and* within ``radius * stride`` pixels of the box's centre (along x and along y), so only
    points near the middle, whose view covers the whole object, learn to predict it. A point
    claimed by several boxes goes to the smallest (the one in front, usually).

    Args:
        points: (P, 2) pixel positions (x, y) (:func:`grid_points`).
        boxes: (G, 4) XYXY pixels.
        stride, radius: the centre region is ``2 * radius`` cells wide.

    Returns:
        (P,) int64 box index in ``0..G-1``, or -1.
    """
    boxes = as_boxes(boxes)
    _check_positive(stride, "stride")
    if len(boxes) == 0:
        return torch.full((len(points),), -1, dtype=torch.int64, device=points.device)
    x, y = points[:, 0:1], points[:, 1:2]
    centre = box_convert(boxes, "xyxy", "cxcywh")[:, :2]
    reach = radius * stride
    inside = (x > boxes[:, 0]) & (x < boxes[:, 2]) & (y > boxes[:, 1]) & (y < boxes[:, 3])
    central = ((x - centre[:, 0]).abs() < reach) & ((y - centre[:, 1]).abs() < reach)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    cost = torch.where(inside & central, area[None, :], torch.full_like(inside, math.inf, dtype=area.dtype))
    best_cost, best = cost.min(dim=1)
    return torch.where(torch.isfinite(best_cost), best, torch.full_like(best, -1))


def centreness(distances: Tensor) -> Tensor:
    """(N,) how central each point is in its box, from (N, 4) distances (left, top, right, bottom).

    ``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))``: 1 at the centre, near 0 at an edge.
    FCOS multiplies class scores by it, so boxes predicted from off-centre points rank lower.
    """
    lr, tb = distances[:, 0::2], distances[:, 1::2]
    ratio = (lr.min(dim=1).values / lr.max(dim=1).values.clamp(min=1e-6)) * (
        tb.min(dim=1).values / tb.max(dim=1).values.clamp(min=1e-6)
    )
    return ratio.clamp(min=0).sqrt()


# --------------------------------------------------------------------------------------------
# Offsets: anchors (Faster R-CNN) and points (FCOS)
# --------------------------------------------------------------------------------------------


def encode(boxes: Tensor, anchors: Tensor, weights: Sequence[float] = DEFAULT_WEIGHTS) -> Tensor:
    """(N, 4) offsets ``(dx, dy, dw, dh)`` that move each anchor onto its box.

    ``dx = (box_cx - anchor_cx) / anchor_w`` (and ``dy`` likewise), ``dw = log(box_w / anchor_w)``
    (and ``dh``), each times its weight: the parametrisation of R-CNN, SSD and torchvision's
    ``BoxCoder``. Offsets are small numbers of similar size for big and small boxes alike,
    which is what a regression head learns well.

    Args:
        boxes, anchors: (N, 4) XYXY pixels, paired row by row.
        weights: ``(wx, wy, ww, wh)`` scale factors (Faster R-CNN's RoI head uses 10, 10, 5, 5).
    """
    boxes, anchors = as_boxes(boxes, "boxes"), as_boxes(anchors, "anchors")
    if boxes.shape != anchors.shape:
        raise ValueError(f"boxes and anchors must pair up, got shapes {tuple(boxes.shape)} and {tuple(anchors.shape)}")
    b = box_convert(boxes, "xyxy", "cxcywh")
    a = box_convert(anchors, "xyxy", "cxcywh")
    wx, wy, ww, wh = weights
    return torch.stack(
        [
            wx * (b[:, 0] - a[:, 0]) / a[:, 2],
            wy * (b[:, 1] - a[:, 1]) / a[:, 3],
            ww * torch.log(b[:, 2] / a[:, 2]),
            wh * torch.log(b[:, 3] / a[:, 3]),
        ],
        dim=1,
    )


def decode(offsets: Tensor, anchors: Tensor, weights: Sequence[float] = DEFAULT_WEIGHTS) -> Tensor:
    """The inverse of :func:`encode`: (N, 4) XYXY boxes from offsets and their anchors."""
    offsets, anchors = as_boxes(offsets, "offsets"), as_boxes(anchors, "anchors")
    a = box_convert(anchors, "xyxy", "cxcywh")
    wx, wy, ww, wh = weights
    cx = offsets[:, 0] / wx * a[:, 2] + a[:, 0]
    cy = offsets[:, 1] / wy * a[:, 3] + a[:, 1]
    w = torch.exp((offsets[:, 2] / ww).clamp(max=MAX_LOG_SCALE)) * a[:, 2]
    h = torch.exp((offsets[:, 3] / wh).clamp(max=MAX_LOG_SCALE)) * a[:, 3]
    return box_convert(torch.stack([cx, cy, w, h], dim=1), "cxcywh", "xyxy")


def encode_distances(points: Tensor, boxes: Tensor, stride: float = 1.0) -> Tensor:
    """(N, 4) distances ``(left, top, right, bottom)`` from each point to its box's sides, / stride.

    The anchor-free encoding of FCOS: a point inside its box has four positive distances.

    Args:
        points: (N, 2) pixel positions (x, y); boxes: (N, 4) XYXY pixels, paired row by row.
    """
    boxes = as_boxes(boxes)
    _check_positive(stride, "stride")
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(boxes):
        raise ValueError(f"points must have shape ({len(boxes)}, 2) to pair with boxes, got {tuple(points.shape)}")
    x, y = points[:, 0], points[:, 1]
    return torch.stack([x - boxes[:, 0], y - boxes[:, 1], boxes[:, 2] - x, boxes[:, 3] - y], dim=1) / stride


def decode_distances(points: Tensor, distances: Tensor, stride: float = 1.0) -> Tensor:
    """The inverse of :func:`encode_distances`: (N, 4) XYXY boxes around (N, 2) points."""
    d = as_boxes(distances, "distances") * stride
    x, y = points[..., 0], points[..., 1]
    return torch.stack([x - d[:, 0], y - d[:, 1], x + d[:, 2], y + d[:, 3]], dim=1)


# --------------------------------------------------------------------------------------------
# Non-maximum suppression, by hand
# --------------------------------------------------------------------------------------------


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression, written out: the indices of the boxes kept, best first.

    Repeat: keep the highest-scoring box left, and drop every other box that overlaps it by an
    IoU above ``iou_threshold``. Same answer as ``torchvision.ops.nms`` (which does it in C++).

    Args:
        boxes: (N, 4) XYXY; scores: (N,); iou_threshold: in 0..1. The indices are on the boxes' device.
    """
    boxes = as_boxes(boxes)
    if scores.shape != (len(boxes),):
        raise ValueError(f"scores must have shape ({len(boxes)},) to match boxes, got {tuple(scores.shape)}")
    order = torch.sort(scores, descending=True, stable=True).indices
    iou = box_iou(boxes, boxes)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool, device=boxes.device)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        # Compare in double precision, as torchvision's kernel does: comparing with a float32
        # tensor would round the threshold (1/3 -> 0.33333334) and keep boxes it drops.
        suppressed |= iou[i].double() > iou_threshold
    return torch.tensor(keep, dtype=torch.int64, device=boxes.device)
