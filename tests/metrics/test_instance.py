"""cvlearn.metrics.instance: mask IoU and the instance scores."""

import pytest
import torch

from cvlearn.metrics.instance import instance_metrics, mask_iou


def test_instance_metrics_score_perfect_and_poor_predictions(small):
    ds = small("toy-pens", "val", n=6)
    targets = [ds.target(i) for i in range(6)]
    perfect = [
        {"boxes": t["boxes"], "labels": t["labels"], "scores": torch.ones(len(t["labels"])), "masks": t["masks"]}
        for t in targets
    ]
    scores = instance_metrics(perfect, targets, ds.categories, (96, 96))
    assert set(scores) == {"mask_ap50", "mask_ap75", "mask_ap", "box_ap50", "box_ap"}
    assert all(v == pytest.approx(1.0) for v in scores.values())
    # the same boxes with masks moved by 3 px: box AP stays, mask AP drops (thin pens)
    moved = [{**p, "masks": torch.roll(p["masks"], 3, dims=-1)} for p in perfect]
    worse = instance_metrics(moved, targets, ds.categories, (96, 96))
    assert worse["box_ap50"] == pytest.approx(1.0) and worse["mask_ap"] < 0.5


def test_mask_iou_pairs_and_shapes():
    a = torch.zeros(2, 4, 4, dtype=torch.bool)
    a[0, :2] = True
    a[1] = True
    b = a[:1].clone()
    assert torch.allclose(mask_iou(a, b), torch.tensor([[1.0], [0.5]]))
    assert mask_iou(torch.zeros(1, 4, 4, dtype=torch.bool), torch.zeros(1, 4, 4, dtype=torch.bool)).item() == 0.0
    with pytest.raises(ValueError, match="share their size"):
        mask_iou(a, torch.zeros(1, 3, 3, dtype=torch.bool))
