"""Panoptic segmentation: panoptic quality (PQ = SQ × RQ) and the merge of stuff and things.

A panoptic map is (H, W) int64 of ids ``class * divisor + instance`` (``toyworld.panoptic_ids``,
``divisor`` = 1000): a stuff class is one segment per picture (its instance number is not read),
a thing class has one segment per instance; the id ``void`` (0: the background class, which
COCO panoptic calls unlabelled) marks pixels nobody labelled.

Panoptic quality, COCO's definition (Kirillov et al., 2019, and ``panopticapi``), per class:

* a predicted and a true segment of the same class match when their IoU > 0.5, which makes the
  matching unique (two segments cannot each cover more than half of a third); the IoU leaves out
  the predicted pixels that fall on true void;
* TP: matched pairs; FN: true segments left unmatched; FP: predicted segments left unmatched,
  except those lying mostly (> half) on true void, which are ignored: nobody labelled them;
* ``PQ = Σ IoU(TP) / (TP + FP/2 + FN/2)`` = SQ (mean IoU of the matches) × RQ (an F1 score).

``pq``, ``sq`` and ``rq`` average the classes present (TP + FP + FN > 0), ``pq_things`` and
``pq_stuff`` the thing and stuff classes among them (NaN where there are none).

``torchmetrics.detection.PanopticQuality`` gives the same numbers (tests/metrics/test_panoptic.py
checks it) except where a *prediction* says void: it then ignores a true segment mostly predicted
void, and leaves such pixels out of IoUs; COCO, and this module by default, count the segment as
missed (a model cannot skip a person by declining to label it). ``predicted_void="ignored"``
applies torchmetrics' rule instead, and then the two agree everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .coco import binarise_masks


def _maps(value: Any, name: str) -> list[np.ndarray]:
    """The (H, W) int64 maps of one (H, W) panoptic map, a stack (N, H, W) or a sequence of (H, W) maps."""
    if isinstance(value, (list, tuple)):
        maps = [torch.as_tensor(v).detach().cpu().numpy() for v in value]
    else:
        array = torch.as_tensor(value).detach().cpu().numpy()
        maps = list(array.reshape(-1, *array.shape[-2:])) if array.ndim in (2, 3) else [array]
    for m in maps:
        if m.ndim != 2:
            raise ValueError(f"{name} must be (H, W) panoptic maps or a stack (N, H, W), got shape {m.shape}")
        if m.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold integer panoptic ids (class * divisor + instance), got {m.dtype}")
    return [m.astype(np.int64) for m in maps]


def _check_classes(things: Sequence[int], stuff: Sequence[int]) -> None:
    if set(things) & set(stuff):
        raise ValueError(f"things and stuff must not share classes, got {list(things)} and {list(stuff)}")
    if not (set(things) | set(stuff)):
        raise ValueError("things and stuff must name at least one class between them, got none")


def _segments(
    ids: np.ndarray, things: Sequence[int], stuff: Sequence[int], divisor: int, void: int, name: str
) -> np.ndarray:
    """One picture's ids, checked (each is ``void`` or of a thing or stuff class), with the instance
    number of stuff dropped: a stuff class is one segment per picture, however it was numbered."""
    classes = ids // divisor
    present = np.unique(classes[ids != void])
    unknown = present[~np.isin(present, [*things, *stuff])]
    if len(unknown):
        raise ValueError(
            f"{name} holds classes {unknown.tolist()} that are neither things nor stuff (ids are "
            f"class * {divisor} + instance, {void} is void): things {list(things)}, stuff {list(stuff)}"
        )
    return np.where(np.isin(classes, stuff) & (ids != void), classes * divisor, ids)


def _picture_stats(
    pred: np.ndarray, true: np.ndarray, divisor: int, void: int, predicted_void: str = "missed"
) -> dict[int, np.ndarray]:
    """{class: [IoU sum, TP, FP, FN]} of one picture; stuff ids already merged per class."""
    pred_ids, pred_index = np.unique(pred.ravel(), return_inverse=True)
    true_ids, true_index = np.unique(true.ravel(), return_inverse=True)
    # every (predicted segment, true segment) overlap at once: a 2-D histogram of the index pairs
    overlap = np.bincount(pred_index * len(true_ids) + true_index, minlength=len(pred_ids) * len(true_ids))
    overlap = overlap.reshape(len(pred_ids), len(true_ids)).astype(np.float64)
    pred_area, true_area = overlap.sum(1), overlap.sum(0)
    true_void = true_ids == void
    on_void = overlap[:, true_void].sum(1)  # predicted pixels nobody labelled: they count neither way
    union = pred_area[:, None] - on_void[:, None] + true_area[None, :] - overlap
    # torchmetrics' rule: true pixels predicted void are left out too, as if nobody had labelled them
    left_void = overlap[pred_ids == void].sum(0) if predicted_void == "ignored" else np.zeros_like(true_area)
    union -= left_void[None, :]
    iou = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    same = (pred_ids[:, None] // divisor) == (true_ids[None, :] // divisor)
    match = same & (iou > 0.5) & (pred_ids[:, None] != void) & ~true_void[None, :]
    stats: dict[int, np.ndarray] = {}

    def add(cls: int, column: int, value: float) -> None:
        stats.setdefault(cls, np.zeros(4))[column] += value

    for p, t in zip(*np.nonzero(match)):
        add(int(true_ids[t] // divisor), 0, float(iou[p, t]))
        add(int(true_ids[t] // divisor), 1, 1)
    for p in np.flatnonzero(~match.any(1) & (pred_ids != void)):
        if on_void[p] <= 0.5 * pred_area[p]:  # COCO ignores predictions mostly on unlabelled pixels
            add(int(pred_ids[p] // divisor), 2, 1)
    for t in np.flatnonzero(~match.any(0) & ~true_void):
        if left_void[t] <= 0.5 * true_area[t]:  # (always, under COCO's rule)
            add(int(true_ids[t] // divisor), 3, 1)
    return stats


def _class_table(totals: Mapping[int, np.ndarray]) -> dict[int, dict[str, float]]:
    """{class: {pq, sq, rq, tp, fp, fn}} from {class: [IoU sum, TP, FP, FN]}."""
    table = {}
    for cls in sorted(totals):
        iou_sum, tp, fp, fn = totals[cls].tolist()
        sq = iou_sum / tp if tp > 0 else 0.0
        rq = tp / (tp + 0.5 * fp + 0.5 * fn)
        table[cls] = {"pq": sq * rq, "sq": sq, "rq": rq, "tp": int(tp), "fp": int(fp), "fn": int(fn)}
    return table


def _mean(table: Mapping[int, dict[str, float]], field: str, classes: set[int] | None = None) -> float:
    """Mean of one column over the classes in the table (those present), or over ``classes`` among them."""
    values = [row[field] for cls, row in table.items() if classes is None or cls in classes]
    return float(np.mean(values)) if values else float("nan")


def panoptic_quality(
    pred: Any,
    true: Any,
    things: Sequence[int],
    stuff: Sequence[int],
    divisor: int = 1000,
    void: int = 0,
    predicted_void: str = "missed",
) -> dict[str, Any]:
    """Panoptic quality of predicted panoptic maps against true ones, written from scratch.

    pred, true: one (H, W) int64 map each, a stack (N, H, W) or sequences of (H, W) maps, ids
    ``class * divisor + instance``; things, stuff: the class numbers of each kind (toy-street:
    person 5 and car 6; sky 1, road 2, pavement 3, building 4). Segments are matched within each
    picture; the counts add up over pictures before PQ is taken, as COCO does.

    predicted_void: what a *predicted* void pixel means. ``"missed"`` (COCO's rule, the default):
    nothing special, so a true segment the prediction leaves void is a false negative.
    ``"ignored"`` (torchmetrics' ``PanopticQuality``): "no opinion", so true pixels predicted void
    are left out of IoUs, and a true segment mostly predicted void is not counted at all.

    Returns ``pq``, ``sq``, ``rq`` (means over the classes present), ``pq_things``, ``pq_stuff``
    and ``per_class``: {class: {"pq", "sq", "rq", "tp", "fp", "fn"}} for each class present.
    """
    _check_classes(things, stuff)
    if predicted_void not in ("missed", "ignored"):
        raise ValueError(
            f"predicted_void must be 'missed' (COCO's rule) or 'ignored' (torchmetrics'), got {predicted_void!r}"
        )
    preds, trues = _maps(pred, "pred"), _maps(true, "true")
    if len(preds) != len(trues) or any(p.shape != t.shape for p, t in zip(preds, trues)):
        shapes = next(((p.shape, t.shape) for p, t in zip(preds, trues) if p.shape != t.shape), None)
        raise ValueError(
            f"pred and true must pair up map by map with the same shapes: got {len(preds)} and {len(trues)} maps"
            + (f", first unequal shapes {shapes[0]} and {shapes[1]}" if shapes else "")
        )
    if not trues:
        raise ValueError("panoptic quality of no pictures is undefined: pred and true are empty")
    totals: dict[int, np.ndarray] = {}
    for p, t in zip(preds, trues):
        p = _segments(p, things, stuff, divisor, void, "pred")
        t = _segments(t, things, stuff, divisor, void, "true")
        for cls, counts in _picture_stats(p, t, divisor, void, predicted_void).items():
            totals[cls] = totals.get(cls, np.zeros(4)) + counts
    table = _class_table(totals)
    return {
        "pq": _mean(table, "pq"),
        "sq": _mean(table, "sq"),
        "rq": _mean(table, "rq"),
        "pq_things": _mean(table, "pq", set(things)),
        "pq_stuff": _mean(table, "pq", set(stuff)),
        "per_class": table,
    }


def _semantic_classes(semantic: Any) -> torch.Tensor:
    """(H, W) long class indices from (H, W) classes or (C, H, W) logits (argmax over C)."""
    s = torch.as_tensor(semantic).detach().cpu()
    if s.ndim == 3 and s.dtype.is_floating_point:
        return s.argmax(0)
    if s.ndim != 2:
        raise ValueError(f"semantic must be (H, W) class indices or (C, H, W) logits, got shape {tuple(s.shape)}")
    return s.long()


def _instance_arrays(
    instances: Mapping[str, Any], size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(masks (M, H, W) bool, scores (M,), labels (M,)) from a torchvision-style prediction dict."""
    missing = {"masks", "scores", "labels"} - set(instances)
    if missing:
        raise ValueError(f"instances must have masks, scores and labels, missing {sorted(missing)}")
    masks = torch.as_tensor(instances["masks"]).detach().cpu()
    masks = binarise_masks(masks) if len(masks) else masks.reshape(0, *size).bool()
    scores = torch.as_tensor(instances["scores"]).detach().cpu().reshape(-1)
    labels = torch.as_tensor(instances["labels"]).detach().cpu().reshape(-1).long()
    if masks.shape[1:] != size or not len(masks) == len(scores) == len(labels):
        raise ValueError(
            f"instances must hold M masks of the semantic map's size {size}, M scores and M labels: got masks "
            f"{tuple(masks.shape)}, {len(scores)} scores, {len(labels)} labels"
        )
    return masks, scores, labels


def merge_panoptic(
    semantic: Any,
    instances: Mapping[str, Any],
    stuff: Sequence[int],
    things: Sequence[int],
    score_thresh: float = 0.5,
    overlap_thresh: float = 0.5,
    min_stuff_area: int = 64,
    divisor: int = 1000,
    void: int = 0,
) -> torch.Tensor:
    """(H, W) int64 panoptic ids from a semantic map (stuff) and instance predictions (things).

    The standard heuristic (Kirillov et al.'s, as Detectron2 and Panoptic FPN run it):

    1. instances from the highest score down, those under ``score_thresh`` dropped; each claims
       its mask's free pixels, unless more than ``overlap_thresh`` of its mask is taken already
       (a duplicate of a better detection), and becomes ``class * divisor + k`` (k = 1, 2, ...);
    2. the free pixels the semantic map gives a stuff class become that class (``class * divisor``),
       unless the class has fewer than ``min_stuff_area`` of them there: a speck is more likely
       noise than a region, and is left void (the default 64 is Detectron2's 4,096 pixels of an
       800 × 1333 picture, the same 0.4 % of a 128 × 128 one);
    3. everything else is ``void``: unclaimed pixels the semantic map calls a thing.

    semantic: (H, W) class indices or (C, H, W) logits. instances: ``masks`` (M, H, W) bool or
    (M, 1, H, W) probabilities (cut at 0.5), ``scores`` (M,), ``labels`` (M,) torchvision's
    (1-based) labels; things: the panoptic class of each label, label k is ``things[k - 1]``
    (toy-street: ``[semantic_classes.index(c) for c in classes]``); stuff: the stuff classes.
    """
    classes = _semantic_classes(semantic)
    masks, scores, labels = _instance_arrays(instances, (classes.shape[0], classes.shape[1]))
    if len(labels) and (int(labels.min()) < 1 or int(labels.max()) > len(things)):
        raise ValueError(f"instances' labels must lie in 1..{len(things)} (one per thing class), got {labels.tolist()}")
    panoptic = torch.full(classes.shape, void, dtype=torch.int64)
    taken = torch.zeros(classes.shape, dtype=torch.bool)
    # best first: where two detections overlap, the more confident one keeps the pixels
    order = torch.argsort(scores, descending=True, stable=True)
    count = 0
    for i in order[scores[order] >= score_thresh].tolist():
        mask = masks[i]
        area = int(mask.sum())
        if area == 0 or int((mask & taken).sum()) > overlap_thresh * area:
            continue
        mask = mask & ~taken
        count += 1
        panoptic[mask] = things[int(labels[i]) - 1] * divisor + count
        taken |= mask
    free = classes.masked_fill(taken, -1)
    areas = torch.bincount(free[free >= 0].reshape(-1), minlength=max(stuff, default=0) + 1)
    for cls in stuff:
        if int(areas[cls]) >= min_stuff_area:
            panoptic[free == cls] = cls * divisor
    return panoptic
