"""cvlearn.metrics.localisation: paired IoU and the localisation scores, against hand-computed cases."""

import pytest
import torch
from torchvision.ops import box_iou

from cvlearn.metrics.localisation import localisation_scores, paired_iou


def test_paired_iou_on_hand_computed_cases():
    boxes1 = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 5, 9], [2, 2, 6, 6]])
    boxes2 = torch.tensor(
        [[0, 0, 10, 10], [5, 5, 15, 15], [10, 0, 20, 10], [30, 30, 40, 40], [5, 5, 5, 9], [0, 0, 8, 8]]
    )
    expected = torch.tensor([1.0, 25 / 175, 0.0, 0.0, 0.0, 16 / 64])
    assert torch.allclose(paired_iou(boxes1, boxes2), expected)


def test_paired_iou_is_the_diagonal_of_torchvision_box_iou():
    generator = torch.Generator().manual_seed(0)
    corners = torch.rand(2, 200, 2, 2, generator=generator) * 64
    boxes1 = torch.cat([corners[0].min(1).values, corners[0].max(1).values], 1)
    boxes2 = torch.cat([corners[1].min(1).values, corners[1].max(1).values], 1)
    assert torch.allclose(paired_iou(boxes1, boxes2), box_iou(boxes1, boxes2).diagonal(), atol=1e-6)


def test_paired_iou_rejects_unmatched_or_misshapen_boxes():
    with pytest.raises(ValueError, match="same number of boxes"):
        paired_iou(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"boxes2 must have shape \(N, 4\)"):
        paired_iou(torch.zeros(2, 4), torch.zeros(2, 5))
    with pytest.raises(TypeError, match="boxes1"):
        paired_iou("boxes", torch.zeros(2, 4))


def test_localisation_scores_on_a_hand_computed_split():
    true_boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]]).repeat(4, 1)
    pred_boxes = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],  # IoU 1
            [0.0, 0.0, 10.0, 5.0],  # IoU 0.5 (counts as found)
            [0.0, 0.0, 10.0, 2.0],  # IoU 0.2
            [20.0, 20.0, 30.0, 30.0],
        ]
    )  # IoU 0
    scores = localisation_scores(torch.tensor([1, 0, 1, 1]), pred_boxes, torch.tensor([1, 1, 1, 0]), true_boxes)
    assert scores["accuracy"] == pytest.approx(0.5)
    assert scores["mean_iou"] == pytest.approx((1 + 0.5 + 0.2 + 0) / 4)
    assert scores["iou50"] == pytest.approx(0.5)
    assert scores["hit50"] == pytest.approx(0.25)  # class right and IoU >= 0.5: only the first
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert localisation_scores(logits, pred_boxes, torch.tensor([1, 1, 1, 0]), true_boxes) == scores


def test_localisation_scores_reject_empty_and_unmatched_input():
    with pytest.raises(ValueError, match="empty"):
        localisation_scores(torch.zeros(0), torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, 4))
    with pytest.raises(ValueError, match="one predicted label per box"):
        localisation_scores(torch.tensor([0]), torch.zeros(2, 4), torch.tensor([0, 1]), torch.zeros(2, 4))
