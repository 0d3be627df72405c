"""cvlearn.widgets.detection: the threshold explorer's pure functions and pictures."""

import matplotlib.pyplot as plt
import pytest
import torch

from cvlearn.metrics.detection import OUTCOMES
from cvlearn.widgets.detection import apply_thresholds, threshold_counts, threshold_explorer, threshold_picture
from tests.detection_case import CANDIDATES, CLASSES, TARGET


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
