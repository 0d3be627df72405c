"""Detection: the threshold explorer's pure functions, failure analysis, the new plots, and the
exercise checkers (each accepts the worked solution and rejects a wrong answer with a hint)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torchvision.ops import nms

from cvlearn import plot
from cvlearn.exercises.detection import check_average_precision, check_class_aware_nms, check_encode_offsets
from cvlearn.metrics.detection import OUTCOMES, detection_outcomes
from cvlearn.widgets.detection import apply_thresholds, threshold_counts, threshold_explorer, threshold_picture

CLASSES = ("background", "apple", "orange")
TARGET = {"boxes": torch.tensor([[10.0, 10.0, 30.0, 30.0], [50.0, 50.0, 70.0, 70.0], [5.0, 60.0, 20.0, 80.0]]),
          "labels": torch.tensor([1, 2, 1])}
CANDIDATES = {
    "boxes": torch.tensor([[10.0, 10.0, 30.0, 30.0],   # 0 apple, correct
                           [11.0, 10.0, 31.0, 30.0],   # 1 apple, a duplicate of 0
                           [50.0, 50.0, 70.0, 70.0],   # 2 called apple, is an orange: wrong class
                           [80.0, 0.0, 90.0, 10.0],    # 3 nothing there: background
                           [12.0, 10.0, 32.0, 30.0]]),  # 4 another duplicate, low score
    "scores": torch.tensor([0.9, 0.8, 0.7, 0.6, 0.2]),
    "labels": torch.tensor([1, 1, 1, 2, 1]),
}


def test_apply_thresholds_drops_unconfident_boxes_and_duplicates():
    kept = apply_thresholds(CANDIDATES, 0.5, 0.5)
    assert kept["scores"].tolist() == pytest.approx([0.9, 0.7, 0.6])
    keep_all = apply_thresholds(CANDIDATES, 0.0, 1.0)
    assert len(keep_all["scores"]) == 5
    assert len(apply_thresholds(CANDIDATES, 0.95, 0.5)["scores"]) == 0
    with pytest.raises(ValueError, match="score_thresh must be a number between 0 and 1"):
        apply_thresholds(CANDIDATES, 1.5, 0.5)
    with pytest.raises(ValueError, match="nms_thresh"):
        apply_thresholds(CANDIDATES, 0.5, "high")


def test_detection_outcomes_name_every_kind_of_mistake():
    outcomes, missed = detection_outcomes(CANDIDATES, TARGET)
    assert outcomes == ["correct", "duplicate", "wrong class", "background", "duplicate"]
    assert missed.tolist() == [False, True, True]
    poor = {"boxes": torch.tensor([[18.0, 10.0, 38.0, 30.0]]), "scores": torch.tensor([0.5]),
            "labels": torch.tensor([1])}
    assert detection_outcomes(poor, TARGET)[0] == ["poor box"]
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    outcomes, missed = detection_outcomes(CANDIDATES, empty)
    assert set(outcomes) == {"background"} and len(missed) == 0


def test_a_difficult_box_nobody_found_is_not_missed():
    flagged = {**TARGET, "difficult": torch.tensor([False, True, False])}
    outcomes, missed = detection_outcomes(CANDIDATES, flagged)
    assert outcomes == detection_outcomes(CANDIDATES, TARGET)[0]
    assert missed.tolist() == [False, False, True]


def test_threshold_counts_trade_precision_for_recall():
    loose = threshold_counts([CANDIDATES] * 2, [TARGET] * 2, 0.0, 1.0)
    strict = threshold_counts([CANDIDATES] * 2, [TARGET] * 2, 0.5, 0.5)
    assert loose["duplicate"] == 4 and strict["duplicate"] == 0
    assert strict["precision"] > loose["precision"] and strict["recall"] == loose["recall"] == pytest.approx(1 / 3)
    assert set(OUTCOMES) <= set(strict) and strict["missed"] == 4
    with pytest.raises(ValueError, match="pair up"):
        threshold_counts([CANDIDATES], [TARGET] * 2, 0.5, 0.5)


def test_threshold_picture_and_explorer():
    image = torch.zeros(3, 96, 96, dtype=torch.uint8)
    counts, fig = threshold_picture(image, CANDIDATES, TARGET, 0.5, 0.5, CLASSES)
    assert counts == {"correct": 1, "duplicate": 0, "wrong class": 1, "poor box": 0, "background": 1, "missed": 2}
    plt.close(fig)
    panel = threshold_explorer([image] * 2, [CANDIDATES] * 2, [TARGET] * 2, CLASSES)
    (picture, score, nms_slider), shown, summary = panel.children[0].children, *panel.children[1:]
    assert picture.max == 1 and bytes(shown.value).startswith(b"\x89PNG")
    before, totals = bytes(shown.value), summary.value
    assert totals.startswith("over 2 pictures: precision 0.33, recall 0.33")
    score.value = 0.1
    nms_slider.value = 0.9
    assert bytes(shown.value) != before and summary.value != totals  # the duplicates came back
    with pytest.raises(ValueError, match="one set of candidates"):
        threshold_explorer([image], [CANDIDATES] * 2, [TARGET] * 2, CLASSES)
    plt.close("all")


def test_detection_plots():
    image = torch.zeros(3, 96, 96, dtype=torch.uint8)
    outcomes, missed = detection_outcomes(CANDIDATES, TARGET)
    fig = plot.show_detection_outcomes(image, CANDIDATES, TARGET, outcomes, missed, CLASSES)
    assert len(fig.axes[0].patches) == 5 + 2
    fig = plot.show_grid(image, 8, points=torch.rand(10, 2) * 96, anchors=TARGET["boxes"])
    assert len(fig.axes[0].patches) == 3
    fig = plot.plot_precision_recall([(np.array([1.0, 0.5]), np.array([0.5, 0.5]))], ["apple"], [np.ones(101)])
    assert fig.axes[0].get_xlabel() == "recall"
    assert len(fig.axes[0].collections) == 1  # one curve: its envelope shaded
    plt.close("all")


def test_outcome_figures_carry_a_key_to_their_colours():
    image = torch.zeros(3, 96, 96, dtype=torch.uint8)
    outcomes, missed = detection_outcomes(CANDIDATES, TARGET)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    for ax in axes:
        plot.show_detection_outcomes(image, CANDIDATES, TARGET, outcomes, missed, CLASSES, ax=ax)
    assert len(fig.legends) == 1  # one key for the whole figure, however many panels
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names[0].startswith("correct") and any(n.startswith("missed") for n in names)
    colours = [h.get_edgecolor() for h in fig.legends[0].legend_handles]
    from matplotlib.colors import to_rgba
    assert colours[0] == to_rgba(plot.OUTCOME_COLOURS["correct"])
    plt.close(fig)
    _, fig = threshold_picture(image, CANDIDATES, TARGET, 0.5, 0.5, CLASSES)  # the explorer's picture too
    assert len(fig.legends) == 1
    plt.close(fig)
    fig = plot.show_detection_outcomes(image, CANDIDATES, TARGET, outcomes, missed, CLASSES, legend=False)
    assert not fig.legends
    plt.close(fig)


def test_outcome_captions_of_duplicates_never_overlap():
    image = torch.zeros(3, 96, 96, dtype=torch.uint8)
    outcomes, missed = detection_outcomes(CANDIDATES, TARGET)
    fig = plot.show_detection_outcomes(image, CANDIDATES, TARGET, outcomes, missed, CLASSES)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in fig.axes[0].texts]
    assert len(boxes) == 5 + 2  # a caption per detection and per missed box
    assert not any(a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5
                   for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)


def test_precision_recall_of_two_curves_near_one_zooms_and_does_not_merge_shading():
    recall = np.linspace(0, 0.98, 50)
    curves = [(np.where(recall < 0.95, 1.0, 0.97), recall), (np.ones(50), recall)]
    steps = np.linspace(0, 1, 101)
    envelopes = [np.where(steps <= 0.98, np.where(steps < 0.95, 1.0, 0.97), 0.0), np.where(steps <= 0.98, 1.0, 0.0)]
    fig, ax = plt.subplots()
    plot.plot_precision_recall(curves, ["apple", "orange"], envelopes, ax=ax, zoom=True)
    assert len(ax.collections) == 0  # no shading: two shaded areas would merge into one
    steps_drawn = [line for line in ax.lines if line.get_drawstyle() == "steps-post"]
    assert len(steps_drawn) == 2 and not np.allclose(steps_drawn[0].get_color(), steps_drawn[1].get_color())
    (inset,) = ax.child_axes
    assert inset.get_ylim() == (0.9, 1.004) and inset.get_xlim()[0] == 0.8  # the high-precision corner
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["apple", "orange"]
    plt.close(fig)
    fig = plot.plot_precision_recall(curves, ["apple", "orange"], envelopes, zoom=(0.5, 1.0, 0.95, 1.0))
    assert fig.axes[0].child_axes[0].get_xlim() == (0.5, 1.0)
    plt.close(fig)


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
        (lambda b, a: torch.cat([encode_solution(b, a)[:, :2], ((b[:, 2:] - b[:, :2]) / (a[:, 2:] - a[:, :2]))], 1),
         "must be a log"),
        (lambda b, a: torch.cat([(b[:, :2] - a[:, :2]) / (a[:, 2:] - a[:, :2]), encode_solution(b, a)[:, 2:]], 1),
         "centres, not corners"),
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
