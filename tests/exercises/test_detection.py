"""cvlearn.exercises.detection: each checker accepts the worked solution and rejects a wrong answer with a hint."""

import numpy as np
import pytest
import torch
from torchvision.ops import nms

from cvlearn.exercises.detection import (
    best_thresholds,
    check_average_precision,
    check_class_aware_nms,
    check_encode_offsets,
    check_thresholds,
    f1_at,
)

# Worked solutions, the same as in notebook 03.


def encode_solution(boxes, anchors):
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    dx = ((boxes[:, 0] + bw / 2) - (anchors[:, 0] + aw / 2)) / aw
    dy = ((boxes[:, 1] + bh / 2) - (anchors[:, 1] + ah / 2)) / ah
    return torch.stack([dx, dy, torch.log(bw / aw), torch.log(bh / ah)], dim=1)


def class_aware_nms_solution(boxes, scores, labels, iou_threshold):
    keep = []
    for label in labels.unique():
        of_class = torch.nonzero(labels == label).squeeze(1)
        keep.append(of_class[nms(boxes[of_class], scores[of_class], iou_threshold)])
    keep = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.int64)
    return keep[scores[keep].argsort(descending=True, stable=True)]


def average_precision_solution(matched, num_gt):
    hits = np.asarray(matched, dtype=float)
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(hits) + 1)
    recall = true_positives / num_gt
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    total = 0.0
    for r in np.linspace(0, 1, 101):
        reached = np.nonzero(recall >= r)[0]
        total += envelope[reached[0]] if len(reached) else 0.0
    return total / 101


def test_checkers_accept_the_worked_solutions(capsys):
    assert check_encode_offsets(encode_solution)
    assert check_class_aware_nms(class_aware_nms_solution)
    assert check_average_precision(average_precision_solution)
    assert capsys.readouterr().out.count("✓") == 3


def test_encode_checker_rejects_with_a_hint():
    for answer, hint in [
        (lambda b, a: encode_solution(a, b), "wrong way round"),
        (
            lambda b, a: torch.cat([encode_solution(b, a)[:, :2], ((b[:, 2:] - b[:, :2]) / (a[:, 2:] - a[:, :2]))], 1),
            "must be a log",
        ),
        (
            lambda b, a: torch.cat([(b[:, :2] - a[:, :2]) / (a[:, 2:] - a[:, :2]), encode_solution(b, a)[:, 2:]], 1),
            "centres, not corners",
        ),
        (lambda b, a: encode_solution(b, a)[:, :2], "four offsets per box"),
        ("not a function", "expected a function"),
    ]:
        feedback = check_encode_offsets(answer, quiet=True)
        assert not feedback and hint in feedback.message, feedback.message


def test_nms_checker_rejects_with_a_hint():
    def unsorted(boxes, scores, labels, t):
        keep = class_aware_nms_solution(boxes, scores, labels, t)
        return keep.flip(0) if len(keep) > 1 else keep

    for answer, hint in [
        (lambda boxes, scores, labels, t: nms(boxes, scores, t), "plain NMS"),
        (unsorted, "wrong order"),
        (lambda boxes, scores, labels, t: torch.ones(len(boxes), dtype=torch.bool), "not a mask"),
        (lambda boxes, scores, labels, t: 1 / 0, "ZeroDivisionError"),
    ]:
        feedback = check_class_aware_nms(answer, quiet=True)
        assert not feedback and hint in feedback.message, feedback.message


def test_average_precision_checker_rejects_with_a_hint():
    def no_envelope(matched, num_gt):
        hits = np.asarray(matched, dtype=float)
        if len(hits) == 0:
            return 0.0
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        recall = np.cumsum(hits) / num_gt
        at = np.searchsorted(recall, np.linspace(0, 1, 101), side="left")
        return float(np.where(at < len(hits), precision[np.minimum(at, len(hits) - 1)], 0).mean())

    for answer, hint in [
        (no_envelope, "upper envelope"),
        (lambda matched, num_gt: float(np.mean(matched)) if matched else 0.0, "precision"),
        (lambda matched, num_gt: "high", "expected a number"),
    ]:
        feedback = check_average_precision(answer, quiet=True)
        assert not feedback and hint in feedback.message, feedback.message


def test_checker_prints_one_line(capsys):
    check_average_precision(lambda matched, num_gt: 0.5)
    out = capsys.readouterr().out
    assert out.startswith("✗") and out.count("\n") == 1


# 4 · a design choice: the thresholds to ship


def _two_pictures():
    """Two pictures, each with a good detection, a duplicate of it and a weak false alarm."""
    truth = {"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "labels": torch.tensor([1])}
    found = {
        "boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [50.0, 50.0, 60.0, 60.0]]),
        "scores": torch.tensor([0.9, 0.8, 0.3]),
        "labels": torch.tensor([1, 1, 1]),
    }
    return [found, found], [truth, truth]


def test_f1_and_the_best_thresholds_on_a_known_case():
    candidates, targets = _two_pictures()
    assert f1_at(candidates, targets, 0.5, 0.5)["f1"] == 1.0  # NMS drops the duplicate, the score the alarm
    loose = f1_at(candidates, targets, 0.1, 0.9)
    assert (loose["duplicate"], loose["background"], loose["precision"]) == (2, 2, pytest.approx(1 / 3))
    score, nms_iou, f1 = best_thresholds(candidates, targets)
    assert f1 == 1.0 and 0.3 < score <= 0.9 and nms_iou < 0.9


@pytest.mark.parametrize(
    "choice, words",
    [
        ((0.5, 0.5), ["✓"]),
        ((0.2, 0.5), ["false alarms", "raise the score threshold"]),
        ((0.5, 0.95), ["duplicate(s)", "lower the NMS IoU"]),
        ((0.95, 0.5), ["you miss 2 objects", "lower the score threshold"]),
        ((1.5, 0.5), ["two numbers between 0 and 1"]),
        (0.5, ["two numbers between 0 and 1"]),
    ],
)
def test_threshold_checker_says_which_way_to_move(choice, words):
    feedback = check_thresholds(lambda: choice, *_two_pictures(), quiet=True)
    assert bool(feedback) == (words == ["✓"])
    assert all(word in str(feedback) for word in words), str(feedback)
