"""cvlearn.exercises.instance: each checker accepts the worked solution and rejects a wrong answer with a hint."""

import pytest
import torch

from cvlearn.exercises.instance import (
    anchor_recall,
    check_anchor_ratios,
    check_mask_iou,
    check_roi_align,
    check_semantic_from_instances,
)


def semantic_solution(masks, labels):
    out = torch.zeros(masks.shape[1:], dtype=torch.int64)
    for mask, label in zip(masks, labels):
        out[mask] = label
    return out


def iou_solution(a, b):
    union = (a | b).sum()
    return float((a & b).sum() / union) if union > 0 else 0.0


def roi_solution(feature, box, stride, size):
    _, h, w = feature.shape
    x1, y1, x2, y2 = (box / stride).tolist()
    bin_w, bin_h = max(x2 - x1, 1.0) / size, max(y2 - y1, 1.0) / size
    xs = (x1 + (torch.arange(size) + 0.5) * bin_w).clamp(0, w - 1)
    ys = (y1 + (torch.arange(size) + 0.5) * bin_h).clamp(0, h - 1)
    left, top = xs.floor().long(), ys.floor().long()
    right, bottom = (left + 1).clamp(max=w - 1), (top + 1).clamp(max=h - 1)
    fx, fy = xs - left, ys - top

    def cells(r, c):
        return feature[:, r][:, :, c]

    upper = cells(top, left) * (1 - fx) + cells(top, right) * fx
    lower = cells(bottom, left) * (1 - fx) + cells(bottom, right) * fx
    return upper * (1 - fy)[:, None] + lower * fy[:, None]


def test_checkers_accept_the_solutions(capsys):
    assert check_semantic_from_instances(semantic_solution)
    assert check_mask_iou(iou_solution)
    assert check_roi_align(roi_solution)
    assert capsys.readouterr().out.count("✓") == 3


def test_semantic_checker_rejects_instance_ids():
    def ids(masks, labels):
        return (masks.long() * torch.arange(1, len(masks) + 1)[:, None, None]).sum(0)

    feedback = check_semantic_from_instances(ids, quiet=True)
    assert not feedback and "instance-ID map" in feedback.message


def test_mask_iou_checker_recognises_dice():
    feedback = check_mask_iou(lambda a, b: float(2 * (a & b).sum() / (a.sum() + b.sum())), quiet=True)
    assert not feedback and "Dice" in feedback.message


def test_roi_align_checker_spots_half_pixel_shift_and_crashes():
    from torchvision.ops import roi_align

    def aligned(feature, box, stride, size):
        return roi_align(feature[None], [box[None]], size, 1 / stride, sampling_ratio=1, aligned=True)[0]

    feedback = check_roi_align(aligned, quiet=True)
    assert not feedback and "aligned=False" in feedback.message
    feedback = check_roi_align(lambda *args: 1 / 0, quiet=True)
    assert not feedback and "ZeroDivisionError" in feedback.message
    feedback = check_roi_align(lambda f, b, s, n: torch.zeros(n, n), quiet=True)
    assert not feedback and "shape" in feedback.message


# 4 · a design choice: anchor shapes


LYING_AND_STANDING = torch.tensor(
    [[10.0, 10.0, 58.0, 18.0], [30.0, 40.0, 70.0, 46.0], [20.0, 20.0, 28.0, 68.0], [60.0, 10.0, 66.0, 50.0]]
)
"""Pens 6-8 px thick, 40-48 px long, lying flat or standing up: ratios 1:6 to 8:1."""


def test_anchor_recall_counts_objects_some_anchor_fits():
    assert anchor_recall(LYING_AND_STANDING, (96, 96), (1 / 8, 1.0, 8.0)) == 1.0
    assert anchor_recall(LYING_AND_STANDING, (96, 96), (1 / 4, 1.0, 4.0)) == 0.75
    assert anchor_recall(LYING_AND_STANDING, (96, 96), (1.0,)) == 0.0
    square = torch.tensor([[0.0, 0.0, 24.0, 24.0]])  # exactly the 24 px anchor of the stride-8 level
    assert anchor_recall(square, (96, 96), (1.0,)) == 1.0


@pytest.mark.parametrize(
    "ratios, words",
    [
        ((1 / 8, 1.0, 8.0), ["✓", "100%"]),
        ((0.5, 1.0, 2.0), ["aim for", "height / width"]),
        ((0.2, 0.5, 1.0, 2.0, 5.0), ["at most 3"]),
        ((0.0, 1.0), ["positive number"]),
        ("wide", ["a tuple of aspect ratios"]),
    ],
)
def test_anchor_checker_measures_the_choice_against_torchvisions(ratios, words):
    feedback = check_anchor_ratios(lambda: ratios, LYING_AND_STANDING, (96, 96), quiet=True)
    assert bool(feedback) == ("✓" in words)
    assert all(word in str(feedback) for word in words), str(feedback)
