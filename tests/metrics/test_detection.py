"""cvlearn.metrics.detection: the from-scratch COCO metrics against pycocotools (through
cvlearn.metrics.coco_evaluate), and the outcome of every detection."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torchvision.ops import box_iou as tv_box_iou

from cvlearn.metrics.coco import STAT_NAMES, coco_evaluate
from cvlearn.metrics.detection import (
    average_precision,
    box_iou,
    detection_outcomes,
    evaluate_detections,
    interpolated_precision,
    mean_average_precision,
    precision_recall,
)
from tests.detection_case import CANDIDATES, TARGET

CATEGORIES = ("background", "apple", "orange", "pear")
SIZE = (200, 200)


def assert_same(mine, reference):
    for name in STAT_NAMES:
        a, b = mine[name], reference[name]
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-6, f"{name}: ours {a}, pycocotools {b}"


def _box(rng, lo=0, hi=150, max_side=60, whole=True):
    xy = rng.integers(lo, hi, 2) if whole else rng.uniform(lo, hi, 2)
    wh = rng.integers(1, max_side, 2) if whole else rng.uniform(0.5, max_side, 2)
    return [*xy, *(xy + wh)]


def random_case(seed, n_images=5, whole=True, tie_scores=False, empty_predictions=False, empty_targets=False):
    """Images with 0-6 boxes of 3 classes, and detections near them (some off, some wrong class)."""
    rng = np.random.default_rng(seed)
    predictions, targets = [], []
    for i in range(n_images):
        n_gt = 0 if empty_targets else int(rng.integers(0, 7))
        gt = [_box(rng, whole=whole) for _ in range(n_gt)]
        gt_labels = rng.integers(1, 4, n_gt).tolist()
        boxes, labels = [], []
        for _ in range(0 if empty_predictions else int(rng.integers(0, 10))):
            if gt and rng.random() < 0.7:
                k = int(rng.integers(n_gt))
                jitter = rng.integers(-5, 6, 4) if whole else rng.normal(0, 3, 4)
                x1, y1, x2, y2 = np.asarray(gt[k], dtype=float) + jitter
                boxes.append([x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)])
                labels.append(gt_labels[k] if rng.random() < 0.8 else int(rng.integers(1, 4)))
            else:
                boxes.append(_box(rng, whole=whole))
                labels.append(int(rng.integers(1, 4)))
        scores = rng.choice([0.25, 0.5, 0.75], len(boxes)) if tie_scores else rng.random(len(boxes))
        predictions.append(
            {
                "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                "scores": torch.tensor(scores, dtype=torch.float32),
                "labels": torch.tensor(labels, dtype=torch.int64),
            }
        )
        targets.append(
            {
                "boxes": torch.tensor(gt, dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor(gt_labels, dtype=torch.int64),
                "image_id": int((i * 7) % 11),
            }
        )
    return predictions, targets


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), whole=st.booleans(), ties=st.booleans(), n_images=st.integers(1, 6))
def test_identical_to_pycocotools_on_random_cases(seed, whole, ties, n_images):
    predictions, targets = random_case(seed, n_images, whole, ties)
    assert_same(
        mean_average_precision(predictions, targets, CATEGORIES), coco_evaluate(predictions, targets, CATEGORIES, SIZE)
    )


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_identical_with_large_boxes_and_many_detections(seed):
    # boxes of every COCO size range, and more than 100 detections in an image
    rng = np.random.default_rng(seed)
    predictions, targets = random_case(seed, 3)
    big = torch.tensor([[0.0, 0.0, 120.0, 110.0], [10.0, 10.0, 60.0, 50.0]])
    targets[0]["boxes"] = torch.cat([targets[0]["boxes"], big])
    targets[0]["labels"] = torch.cat([targets[0]["labels"], torch.tensor([1, 2])])
    many = torch.tensor([_box(rng) for _ in range(130)], dtype=torch.float32)
    predictions[1] = {"boxes": many, "scores": torch.rand(130), "labels": torch.randint(1, 4, (130,))}
    assert_same(
        mean_average_precision(predictions, targets, CATEGORIES), coco_evaluate(predictions, targets, CATEGORIES, SIZE)
    )


def test_identical_with_score_ties_across_images():
    predictions, targets = random_case(3, 6, whole=True, tie_scores=True)
    for p in predictions:
        p["scores"] = torch.full_like(p["scores"], 0.5)
    assert_same(
        mean_average_precision(predictions, targets, CATEGORIES), coco_evaluate(predictions, targets, CATEGORIES, SIZE)
    )


def test_empty_predictions_score_zero_like_pycocotools():
    predictions, targets = random_case(5, 4, empty_predictions=True)
    mine = mean_average_precision(predictions, targets, CATEGORIES)
    assert mine["ap"] == 0.0 and mine["ap50"] == 0.0
    assert_same(mine, coco_evaluate(predictions, targets, CATEGORIES, SIZE))


def test_empty_ground_truth_is_undefined_like_pycocotools():
    predictions, targets = random_case(6, 4, empty_targets=True)
    assert sum(len(p["boxes"]) for p in predictions) > 0
    mine = mean_average_precision(predictions, targets, CATEGORIES)
    assert math.isnan(mine["ap"])
    assert_same(mine, coco_evaluate(predictions, targets, CATEGORIES, SIZE))


def test_some_images_without_boxes_or_detections():
    predictions, targets = random_case(7, 6)
    predictions[0] = {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.int64)}
    targets[1] = {**targets[1], "boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    assert_same(
        mean_average_precision(predictions, targets, CATEGORIES), coco_evaluate(predictions, targets, CATEGORIES, SIZE)
    )


def test_perfect_detections_score_one_and_shifted_ones_fail_strict_thresholds():
    _, targets = random_case(8, 5)
    perfect = [{"boxes": t["boxes"], "labels": t["labels"], "scores": torch.ones(len(t["labels"]))} for t in targets]
    result = mean_average_precision(perfect, targets, CATEGORIES)
    assert result["ap"] == pytest.approx(1.0) and result["ap50"] == pytest.approx(1.0)
    shifted = [{**p, "boxes": p["boxes"] + torch.tensor([3.0, 0.0, 3.0, 0.0])} for p in perfect]
    result = mean_average_precision(shifted, targets, CATEGORIES)
    assert result["ap"] < 0.9


def test_box_iou_matches_torchvision():
    rng = np.random.default_rng(0)
    a = torch.tensor([_box(rng, whole=False) for _ in range(20)], dtype=torch.float32)
    b = torch.tensor([_box(rng, whole=False) for _ in range(7)], dtype=torch.float32)
    assert torch.allclose(box_iou(a, b), tv_box_iou(a, b), atol=1e-6)
    assert box_iou(torch.tensor([[0, 0, 10, 10]]), torch.tensor([[5, 0, 15, 10]])).item() == pytest.approx(1 / 3)
    assert box_iou(torch.zeros(0, 4), b).shape == (0, 7)
    with pytest.raises(ValueError, match=r"boxes1 must have shape \(N, 4\)"):
        box_iou(torch.zeros(3, 3), b)


def test_average_precision_by_hand():
    # 3 boxes; detections by score: hit, miss, hit, hit -> precision 1, 1/2, 2/3, 3/4 at recall 1/3, 1/3, 2/3, 1
    ap = average_precision([0.9, 0.8, 0.7, 0.6], [True, False, True, True], num_gt=3)
    envelope = np.array([1.0] * 34 + [0.75] * 67)  # recall <= 1/3: 1; above: 0.75
    assert ap == pytest.approx(envelope.mean())
    assert average_precision([0.9], [True], num_gt=1) == pytest.approx(1.0)
    assert average_precision([], [], num_gt=2) == 0.0
    assert math.isnan(average_precision([0.5], [False], num_gt=0))
    with pytest.raises(ValueError, match="scores and matched"):
        average_precision([0.5, 0.4], [True], num_gt=1)


def test_precision_recall_and_interpolation():
    precision, recall = precision_recall(np.array([True, False, True]), None, num_gt=4)
    assert np.allclose(precision, [1, 0.5, 2 / 3]) and np.allclose(recall, [0.25, 0.25, 0.5])
    curve = interpolated_precision(precision, recall)
    assert curve[0] == pytest.approx(1.0) and curve[30] == pytest.approx(2 / 3) and curve[-1] == 0.0


def test_evaluation_per_class_and_curves():
    predictions, targets = random_case(11, 6)
    evaluation = evaluate_detections(predictions, targets, CATEGORIES)
    reference = coco_evaluate(predictions, targets, CATEGORIES, SIZE)
    per_class = evaluation.ap_per_class(0.5)
    defined = [v for v in per_class.values() if not math.isnan(v)]
    assert set(per_class) == {1, 2, 3} and np.mean(defined) == pytest.approx(reference["ap50"])
    precision, recall, scores = evaluation.curves[0][0]
    assert len(precision) == len(recall) == len(scores) and np.all(np.diff(scores) <= 0)


def test_bad_input_is_named():
    predictions, targets = random_case(1, 2)
    with pytest.raises(ValueError, match="pair up"):
        mean_average_precision(predictions[:1], targets, CATEGORIES)
    with pytest.raises(ValueError, match="lacks the key"):
        mean_average_precision([{"boxes": torch.zeros(0, 4)}] * 2, targets, CATEGORIES)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), share=st.sampled_from([0.2, 0.5, 1.0]))
def test_difficult_boxes_are_ignored_identically_to_pycocotools(seed, share):
    predictions, targets = random_case(seed, 5)
    rng = np.random.default_rng(seed)
    for t in targets:
        t["difficult"] = torch.from_numpy(rng.random(len(t["labels"])) < share)
    assert_same(
        mean_average_precision(predictions, targets, CATEGORIES), coco_evaluate(predictions, targets, CATEGORIES, SIZE)
    )


def test_difficult_boxes_neither_earn_nor_cost():
    _, targets = random_case(8, 5)
    perfect = [{"boxes": t["boxes"], "labels": t["labels"], "scores": torch.ones(len(t["labels"]))} for t in targets]
    flagged = [{**t, "difficult": torch.arange(len(t["labels"])) % 2 == 0} for t in targets]
    assert mean_average_precision(perfect, flagged, CATEGORIES)["ap"] == pytest.approx(1.0)
    # finding only the difficult boxes scores as finding nothing; missing them all costs nothing
    only_difficult = [{k: v[f["difficult"]] for k, v in p.items()} for p, f in zip(perfect, flagged)]
    assert mean_average_precision(only_difficult, flagged, CATEGORIES)["ap"] == 0.0
    only_easy = [{k: v[~f["difficult"]] for k, v in p.items()} for p, f in zip(perfect, flagged)]
    assert mean_average_precision(only_easy, flagged, CATEGORIES)["ap"] == pytest.approx(1.0)


def test_difficult_flags_must_pair_with_boxes():
    predictions, targets = random_case(9, 2)
    targets[0] = {**targets[0], "difficult": torch.zeros(len(targets[0]["labels"]) + 1, dtype=torch.bool)}
    with pytest.raises(ValueError, match="one per box"):
        mean_average_precision(predictions, targets, CATEGORIES)


def test_detection_outcomes_name_every_kind_of_mistake():
    outcomes, missed = detection_outcomes(CANDIDATES, TARGET)
    assert outcomes == ["correct", "duplicate", "wrong class", "background", "duplicate"]
    assert missed.tolist() == [False, True, True]
    poor = {
        "boxes": torch.tensor([[18.0, 10.0, 38.0, 30.0]]),
        "scores": torch.tensor([0.5]),
        "labels": torch.tensor([1]),
    }
    assert detection_outcomes(poor, TARGET)[0] == ["poor box"]
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    outcomes, missed = detection_outcomes(CANDIDATES, empty)
    assert set(outcomes) == {"background"} and len(missed) == 0


def test_a_difficult_box_nobody_found_is_not_missed():
    flagged = {**TARGET, "difficult": torch.tensor([False, True, False])}
    outcomes, missed = detection_outcomes(CANDIDATES, flagged)
    assert outcomes == detection_outcomes(CANDIDATES, TARGET)[0]
    assert missed.tolist() == [False, False, True]
