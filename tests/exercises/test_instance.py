"""cvlearn.exercises.instance: each checker accepts the worked solution and rejects a wrong answer with a hint."""

import torch

from cvlearn.exercises.instance import check_mask_iou, check_roi_align, check_semantic_from_instances


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
