"""COCO evaluation through pycocotools: the field's reference for box AP, mask AP and keypoint AP.

Predictions and targets use torchvision's detection format, one dict per image:

* target: ``image_id`` (int), ``boxes`` (N, 4) XYXY in pixels, ``labels`` (N,), and for masks
  ``masks`` (N, H, W) bool; optionally ``difficult`` (N,) bool (Pascal VOC's flag): those boxes
  are ignored, as boxes outside an area range are;
* prediction: ``boxes`` (M, 4) XYXY in pixels, ``scores`` (M,), ``labels`` (M,), and for masks
  ``masks`` (M, H, W) bool or (M, 1, H, W) probabilities (thresholded at 0.5, as torchvision's
  Mask R-CNN tutorial does); for keypoints ``keypoints`` (M, K, 3) x, y in pixels and a
  visibility that COCO does not read (torchvision's Keypoint R-CNN format).

For keypoints the targets also carry ``keypoints`` (N, K, 3) x, y, v (COCO's convention) and
``masks`` (COCO's OKS takes an object's scale from its segment area).

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

from ..formats import coco_ground_truth, coco_keypoint_ground_truth, encode_mask

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

KEYPOINT_STAT_NAMES = ("ap", "ap50", "ap75", "ap_medium", "ap_large", "ar", "ar50", "ar75", "ar_medium", "ar_large")
"""The ten numbers COCOeval.summarize() prints for keypoints (no small objects: COCO labels no
joints on people that small), in its order, AP and AR over OKS thresholds .5:.95."""

KEYPOINT_CATEGORY = 1
"""The one category scored for keypoints: the first class, whose objects carry the joints (a
toy spec's ``keypoints`` belong to its first class; COCO's are the person's). Others have none."""

IOU_TYPES = ("bbox", "segm", "keypoints")


def binarise_masks(masks: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """(M, H, W) bool from (M, H, W) bool or (M, 1, H, W) probabilities."""
    masks = torch.as_tensor(masks)
    if masks.ndim == 4:
        masks = masks[:, 0]
    return masks > threshold if masks.dtype.is_floating_point else masks.bool()


def _flat_keypoints(pred: dict, count: int) -> list[list[float]]:
    """Each prediction's joints as COCO's flat [x1, y1, v1, ...] list, from ``keypoints`` (M, K, 3)."""
    joints = torch.as_tensor(pred["keypoints"], dtype=torch.float64).detach().cpu()
    if joints.ndim != 3 or joints.shape[-1] != 3 or len(joints) != count:
        raise ValueError(
            f"a prediction's keypoints must be (M, K, 3) x, y, v for its {count} boxes, got {tuple(joints.shape)}"
        )
    return joints.flatten(1).tolist()


def coco_results(
    predictions: Sequence[dict], image_ids: Sequence[int], with_masks: bool = False, with_keypoints: bool = False
) -> list[dict]:
    """COCO "results" records (XYWH boxes, scores, categories, RLE masks, flat keypoints) from predictions."""
    results = []
    for image_id, pred in zip(image_ids, predictions):
        boxes = torch.as_tensor(pred["boxes"], dtype=torch.float32).reshape(-1, 4).cpu()
        scores = torch.as_tensor(pred["scores"]).reshape(-1).cpu().tolist()
        labels = torch.as_tensor(pred["labels"]).reshape(-1).cpu().tolist()
        masks = binarise_masks(pred["masks"]).cpu() if with_masks else None
        joints = _flat_keypoints(pred, len(boxes)) if with_keypoints else None
        for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
            record = {
                "image_id": int(image_id),
                "category_id": int(labels[k]),
                "score": float(scores[k]),
                "bbox": [x1, y1, x2 - x1, y2 - y1],
            }
            if masks is not None:
                record["segmentation"] = encode_mask(masks[k].numpy())
            if joints is not None:
                record["keypoints"] = joints[k]
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


def _check_keypoint_arguments(iou_type: str, keypoints: Sequence[str], sigmas: Sequence[float] | None) -> None:
    """iou_type "keypoints" needs the joints' names and one sigma per joint; the others neither."""
    if iou_type not in IOU_TYPES:
        raise ValueError(f"iou_type must be one of {list(IOU_TYPES)}, got {iou_type!r}")
    if iou_type != "keypoints":
        return
    if not keypoints or sigmas is None:
        # "iou_type must be ...": the same words as an unknown iou_type, since this is one bbox/segm
        # callers would reach by mistake, without the joints that keypoint AP is measured on
        raise ValueError(
            "iou_type must be 'bbox' or 'segm' unless keypoints (the joints' names) and sigmas (one per "
            f"joint) are given: got iou_type='keypoints' with keypoints={list(keypoints)} and sigmas={sigmas}"
        )
    if len(sigmas) != len(keypoints):
        raise ValueError(f"sigmas must give one value per keypoint ({len(keypoints)}), got {len(sigmas)}")


def _ground_truth(
    targets: Sequence[dict],
    categories: Sequence[str],
    image_size: tuple[int, int],
    iou_type: str,
    keypoints: Sequence[str],
    skeleton: Sequence[tuple[int, int]],
) -> dict:
    """The COCO ground-truth dict ``iou_type`` needs, with the targets' difficult flags."""
    if iou_type == "keypoints":
        gt = coco_keypoint_ground_truth(targets, categories, image_size, keypoints, skeleton)
    else:
        gt = coco_ground_truth(targets, categories, image_size, with_masks=iou_type == "segm")
    _mark_difficult(gt, targets)
    return gt


def coco_evaluator(
    predictions: Sequence[dict],
    targets: Sequence[dict],
    categories: Sequence[str],
    image_size: tuple[int, int],
    iou_type: str = "bbox",
    keypoints: Sequence[str] = (),
    skeleton: Sequence[tuple[int, int]] = (),
    sigmas: Sequence[float] | None = None,
) -> COCOeval | None:
    """pycocotools' COCOeval of ``predictions`` against ``targets``, evaluated and accumulated
    (``None`` when there are no predictions at all): its ``stats`` after ``summarize()``, its
    ``ious`` and ``computeOks`` are there to inspect. Arguments as :func:`coco_evaluate`."""
    _check_keypoint_arguments(iou_type, keypoints, sigmas)
    if len(predictions) != len(targets):
        raise ValueError(f"predictions and targets must pair up: got {len(predictions)} and {len(targets)}")
    gt = _ground_truth(targets, categories, image_size, iou_type, keypoints, skeleton)
    image_ids = [int(t["image_id"]) for t in targets]
    results = coco_results(
        predictions, image_ids, with_masks=iou_type == "segm", with_keypoints=iou_type == "keypoints"
    )
    if not results:
        return None
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        evaluator = _DifficultIgnoringCOCOeval(coco_gt, coco_dt, iou_type)
        if iou_type == "keypoints":
            # COCOeval's default sigmas are COCO's 17 joints; only the class with joints is scored
            evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
            evaluator.params.catIds = [KEYPOINT_CATEGORY]
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator


def coco_evaluate(
    predictions: Sequence[dict],
    targets: Sequence[dict],
    categories: Sequence[str],
    image_size: tuple[int, int],
    iou_type: str = "bbox",
    keypoints: Sequence[str] = (),
    skeleton: Sequence[tuple[int, int]] = (),
    sigmas: Sequence[float] | None = None,
) -> dict[str, float]:
    """COCOeval's summary numbers for ``iou_type`` "bbox" or "segm" (the twelve of
    :data:`STAT_NAMES`) or "keypoints" (the ten of :data:`KEYPOINT_STAT_NAMES`).

    For "keypoints", ``keypoints`` names the K joints, ``skeleton`` gives the bones (0-based
    pairs) and ``sigmas`` one OKS sigma per joint (see :mod:`cvlearn.metrics.keypoints`); only
    :data:`KEYPOINT_CATEGORY` is scored. pycocotools' console output is swallowed; with no
    predictions at all every number is 0.
    """
    names = KEYPOINT_STAT_NAMES if iou_type == "keypoints" else STAT_NAMES
    evaluator = coco_evaluator(predictions, targets, categories, image_size, iou_type, keypoints, skeleton, sigmas)
    if evaluator is None:
        return {name: 0.0 for name in names}
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.summarize()
    # COCOeval writes -1 where a number is undefined (say, no small objects): report NaN there.
    return {name: float(v) if v >= 0 else float("nan") for name, v in zip(names, np.asarray(evaluator.stats))}
