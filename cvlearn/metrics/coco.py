"""COCO evaluation through pycocotools: the field's reference for box AP and mask AP.

Predictions and targets use torchvision's detection format, one dict per image:

* target: ``image_id`` (int), ``boxes`` (N, 4) XYXY in pixels, ``labels`` (N,), and for masks
  ``masks`` (N, H, W) bool; optionally ``difficult`` (N,) bool (Pascal VOC's flag): those boxes
  are ignored, as boxes outside an area range are;
* prediction: ``boxes`` (M, 4) XYXY in pixels, ``scores`` (M,), ``labels`` (M,), and for masks
  ``masks`` (M, H, W) bool or (M, 1, H, W) probabilities (thresholded at 0.5, as torchvision's
  Mask R-CNN tutorial does).

Predictions are matched to targets by position in the two lists.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ..formats import coco_ground_truth, encode_mask

STAT_NAMES = (
    "ap",
    "ap50",
    "ap75",
    "ap_small",
    "ap_medium",
    "ap_large",
    "ar1",
    "ar10",
    "ar100",
    "ar_small",
    "ar_medium",
    "ar_large",
)
"""The twelve numbers COCOeval.summarize() prints, in its order (AP@[.5:.95] is ``ap``)."""


def binarise_masks(masks: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """(M, H, W) bool from (M, H, W) bool or (M, 1, H, W) probabilities."""
    masks = torch.as_tensor(masks)
    if masks.ndim == 4:
        masks = masks[:, 0]
    return masks > threshold if masks.dtype.is_floating_point else masks.bool()


def coco_results(predictions: Sequence[dict], image_ids: Sequence[int], with_masks: bool = False) -> list[dict]:
    """COCO "results" records (XYWH boxes, scores, categories, RLE masks) from predictions."""
    results = []
    for image_id, pred in zip(image_ids, predictions):
        boxes = torch.as_tensor(pred["boxes"], dtype=torch.float32).reshape(-1, 4).cpu()
        scores = torch.as_tensor(pred["scores"]).reshape(-1).cpu().tolist()
        labels = torch.as_tensor(pred["labels"]).reshape(-1).cpu().tolist()
        masks = binarise_masks(pred["masks"]).cpu() if with_masks else None
        for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
            record = {
                "image_id": int(image_id),
                "category_id": int(labels[k]),
                "score": float(scores[k]),
                "bbox": [x1, y1, x2 - x1, y2 - y1],
            }
            if masks is not None:
                record["segmentation"] = encode_mask(masks[k].numpy())
            results.append(record)
    return results


def difficult_flags(target: dict) -> np.ndarray:
    """(G,) bool: a target's ``difficult`` flags (Pascal VOC's), all False when it has none."""
    count = len(torch.as_tensor(target["boxes"]).reshape(-1, 4))
    flags = target.get("difficult")
    if flags is None:
        return np.zeros(count, dtype=bool)
    flags = torch.as_tensor(flags).detach().cpu().reshape(-1).numpy().astype(bool)
    if len(flags) != count:
        raise ValueError(f"a target's difficult flags must be one per box: got {len(flags)} for {count} boxes")
    return flags


class _DifficultIgnoringCOCOeval(COCOeval):
    """COCOeval that also ignores ground truth marked ``difficult``.

    pycocotools ignores a box when it is a "crowd" (which also changes how it is matched) or
    outside the area range; its ``ignore`` field is overwritten from ``iscrowd`` while preparing.
    Setting ``ignore`` again after that ignores difficult boxes exactly as out-of-range ones.
    """

    def _prepare(self) -> None:
        super()._prepare()
        for boxes in self._gts.values():
            for gt in boxes:
                gt["ignore"] = int(gt["ignore"] or gt.get("difficult", 0))


def _mark_difficult(gt: dict, targets: Sequence[dict]) -> None:
    """Copy the targets' ``difficult`` flags onto the annotations (made in the same order)."""
    flags = [flag for target in targets for flag in difficult_flags(target).tolist()]
    for ann, flag in zip(gt["annotations"], flags):
        ann["difficult"] = int(flag)


def coco_evaluate(
    predictions: Sequence[dict],
    targets: Sequence[dict],
    categories: Sequence[str],
    image_size: tuple[int, int],
    iou_type: str = "bbox",
) -> dict[str, float]:
    """COCOeval's twelve summary numbers (see :data:`STAT_NAMES`) for ``iou_type`` "bbox" or "segm".

    pycocotools' console output is swallowed; with no predictions at all every number is 0.
    """
    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    if len(predictions) != len(targets):
        raise ValueError(f"predictions and targets must pair up: got {len(predictions)} and {len(targets)}")
    with_masks = iou_type == "segm"
    gt = coco_ground_truth(targets, categories, image_size, with_masks=with_masks)
    _mark_difficult(gt, targets)
    image_ids = [int(t["image_id"]) for t in targets]
    results = coco_results(predictions, image_ids, with_masks=with_masks)
    if not results:
        return {name: 0.0 for name in STAT_NAMES}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        evaluator = _DifficultIgnoringCOCOeval(coco_gt, coco_dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    # COCOeval writes -1 where a number is undefined (say, no small objects): report NaN there.
    return {name: float(v) if v >= 0 else float("nan") for name, v in zip(STAT_NAMES, np.asarray(evaluator.stats))}
