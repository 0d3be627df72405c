"""cvlearn.metrics.coco: pycocotools' scores on toy splits, binarised masks and predictions in COCO's
format."""

import math

import pytest
import torch
from pycocotools import mask as mask_utils

from cvlearn.metrics.coco import binarise_masks, coco_evaluate, coco_results


def _perfect(targets):
    return [
        {
            "boxes": t["boxes"],
            "labels": t["labels"],
            "scores": torch.ones(len(t["labels"])),
            "masks": t["masks"].float().unsqueeze(1),
        }
        for t in targets
    ]


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_ground_truth_as_predictions_scores_one(small, iou_type):
    ds = small("toy-fruit", "val", n=10)
    targets = [ds[i][1] for i in range(len(ds))]
    stats = coco_evaluate(_perfect(targets), targets, ds.categories, (ds.size, ds.size), iou_type)
    assert stats["ap"] == pytest.approx(1.0) and stats["ap50"] == pytest.approx(1.0)


def test_shifted_boxes_lose_strict_thresholds(small):
    ds = small("toy-fruit", "val", n=10)
    targets = [ds[i][1] for i in range(len(ds))]
    preds = _perfect(targets)
    for p in preds:
        w = p["boxes"][:, 2] - p["boxes"][:, 0]
        p["boxes"] = p["boxes"] + torch.stack([w, 0 * w, w, 0 * w], 1) * 0.15
    stats = coco_evaluate(preds, targets, ds.categories, (ds.size, ds.size), "bbox")
    assert stats["ap50"] == pytest.approx(1.0) and stats["ap"] < 0.8


def test_no_predictions_scores_zero_and_bad_arguments_are_named(small):
    ds = small("toy-fruit", "val", n=10)
    targets = [ds[i][1] for i in range(3)]
    empty = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long), "scores": torch.zeros(0)}] * 3
    assert coco_evaluate(empty, targets, ds.categories, (96, 96))["ap"] == 0.0
    with pytest.raises(ValueError, match="iou_type must be"):
        coco_evaluate(empty, targets, ds.categories, (96, 96), "keypoints")
    with pytest.raises(ValueError, match="pair up"):
        coco_evaluate(empty[:2], targets, ds.categories, (96, 96))


def test_undefined_numbers_are_nan(small):
    ds = small("toy-pens", "val", n=10)
    targets = [ds[i][1] for i in range(4)]
    stats = coco_evaluate(_perfect(targets), targets, ds.categories, (ds.size, ds.size), "segm")
    assert stats["ap"] == pytest.approx(1.0)
    assert all(math.isnan(v) or 0 <= v <= 1 for v in stats.values())


def test_binarise_masks_accepts_probabilities_and_bools():
    probs = torch.tensor([[[[0.2, 0.7]]]])
    assert binarise_masks(probs).tolist() == [[[False, True]]]
    assert binarise_masks(torch.tensor([[[True, False]]])).dtype == torch.bool


def test_coco_conversion_of_predictions_round_trips():
    masks = torch.zeros(2, 1, 20, 30)
    masks[0, 0, 2:5, 3:20] = 0.9
    masks[1, 0, 10:18, 25:27] = 0.7
    masks[1, 0, 0, 0] = 0.4  # below 0.5: not part of the mask
    prediction = {
        "boxes": torch.tensor([[3.0, 2.0, 20.0, 5.0], [25.0, 10.0, 27.0, 18.0]]),
        "scores": torch.tensor([0.95, 0.6]),
        "labels": torch.tensor([1, 1]),
        "masks": masks,
    }
    records = coco_results([prediction], [7], with_masks=True)
    assert [r["image_id"] for r in records] == [7, 7] and [r["category_id"] for r in records] == [1, 1]
    assert records[0]["bbox"] == [3.0, 2.0, 17.0, 3.0] and records[1]["score"] == pytest.approx(0.6)
    decoded = mask_utils.decode(records[1]["segmentation"])
    assert decoded.shape == (20, 30) and decoded.sum() == 16 and decoded[0, 0] == 0
