"""Notebook 05's widget (pure functions) and exercise checkers, and its plotting functions."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from cvlearn import plot
from cvlearn.exercises.instance import check_mask_iou, check_roi_align, check_semantic_from_instances
from cvlearn.widgets.instance import instance_counts, instance_picture, keep_confident, score_explorer


def _prediction():
    masks = torch.zeros(3, 8, 8, dtype=torch.bool)
    masks[0, 1, :] = True  # a pen along row 1
    masks[1, :, 5] = True  # a pen down column 5
    masks[2, 1, :4] = True  # a low-scored duplicate of the first
    return {"boxes": torch.tensor([[0.0, 1.0, 8.0, 2.0], [5.0, 0.0, 6.0, 8.0], [0.0, 1.0, 4.0, 2.0]]),
            "scores": torch.tensor([0.6, 0.9, 0.2]), "labels": torch.tensor([1, 1, 1]), "masks": masks}


def _target():
    masks = torch.zeros(2, 8, 8, dtype=torch.bool)
    masks[0, 1, :] = True
    masks[1, 6, :] = True  # a pen the model never found
    return {"masks": masks, "labels": torch.tensor([1, 1])}


def test_keep_confident_sorts_and_cuts_without_renumbering():
    kept = keep_confident(_prediction(), 0.5)
    assert kept["scores"].tolist() == pytest.approx([0.9, 0.6])
    assert kept["masks"].shape == (2, 8, 8) and kept["boxes"][0].tolist() == [5.0, 0.0, 6.0, 8.0]
    everything = keep_confident(_prediction(), 0.0)
    assert torch.equal(everything["masks"][:2], kept["masks"])  # IDs 1 and 2 stay the same instances
    assert len(keep_confident(_prediction(), 1.0)["scores"]) == 0
    with pytest.raises(ValueError, match="score_thresh must be a number between 0 and 1"):
        keep_confident(_prediction(), 1.5)


def test_instance_counts_match_masks_greedily():
    counts = instance_counts([_prediction()], [_target()], 0.5)
    assert counts == {"found": 2, "right": 1, "false": 1, "missed": 1, "counted right": 1.0}
    low = instance_counts([_prediction()], [_target()], 0.1)
    assert low["found"] == 3 and low["right"] == 1 and low["false"] == 2 and low["counted right"] == 0.0
    with pytest.raises(ValueError, match="pair up"):
        instance_counts([_prediction()], [], 0.5)


def test_instance_picture_and_explorer():
    fig = instance_picture(torch.zeros(3, 8, 8, dtype=torch.uint8), _prediction(), 0.5, ("background", "pen"))
    assert isinstance(fig, Figure) and "2 instances" in fig.axes[0].get_title()
    plt.close(fig)
    panel = score_explorer([torch.zeros(3, 8, 8, dtype=torch.uint8)], [_prediction()], [_target()], ("background", "pen"))
    (picture, score), shown, summary = panel.children[0].children, *panel.children[1:]
    first = bytes(shown.value)
    assert first.startswith(b"\x89PNG") and "1 right, 1 false, 1 missed" in summary.value
    score.value = 0.95  # above both predictions' scores: nothing is kept, so the picture and totals change
    assert bytes(shown.value) != first and "0 found" in summary.value
    with pytest.raises(ValueError, match="one prediction and one target per image"):
        score_explorer([torch.zeros(3, 8, 8)], [], [], ("background", "pen"))


def test_show_roi_align_and_mask_paste_draw():
    image = torch.zeros(3, 32, 32, dtype=torch.uint8)
    fig = plot.show_roi_align(image, torch.tensor([4.0, 6.0, 20.0, 12.0]), torch.rand(8, 7, 7), stride=4)
    assert len(fig.axes) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(S, S\) or \(C, S, S\)"):
        plot.show_roi_align(image, torch.tensor([4.0, 6.0, 20.0, 12.0]), torch.rand(7, 5), stride=4)
    fig = plot.show_mask_paste(image, torch.tensor([4.0, 6.0, 20.0, 12.0]), torch.rand(28, 28), torch.rand(32, 32))
    assert len(fig.axes) == 3
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# The checkers: each accepts the worked solution and rejects a typical mistake with a hint
# --------------------------------------------------------------------------------------------


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
