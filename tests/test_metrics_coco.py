import math

import pytest
import torch

from cvlearn.metrics.coco import binarise_masks, coco_evaluate


def _perfect(targets):
    return [{"boxes": t["boxes"], "labels": t["labels"], "scores": torch.ones(len(t["labels"])),
             "masks": t["masks"].float().unsqueeze(1)} for t in targets]


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
