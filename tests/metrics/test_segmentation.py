"""cvlearn.metrics.segmentation: IoU, pixel accuracy, boundaries and cluster matching, against hand-computed cases."""

import math

import pytest
import torch

from cvlearn.metrics import confusion_matrix
from cvlearn.metrics.segmentation import (
    boundary_mask,
    iou_from_confusion,
    labelled_pixels,
    match_clusters,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
    segmentation_scores,
)

# Hand-worked example: 6 pixels, 3 classes that occur, a 4th class that never does.
#   target     prediction      confusion (row = true, column = predicted)
#   0 0 1      0 1 1           [[1, 1, 0],
#   1 2 2      1 2 0            [0, 2, 0],
#                               [1, 0, 1]]
TARGET = torch.tensor([[[0, 0, 1], [1, 2, 2]]])

PREDICTION = torch.tensor([[[0, 1, 1], [1, 2, 0]]])

HAND_IOU = [1 / 3, 2 / 3, 1 / 2]  # 1/(2+2-1), 2/(2+3-2), 1/(2+1-1)


def test_confusion_matrix_of_pixels_matches_the_hand_count():
    assert confusion_matrix(PREDICTION, TARGET, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_iou_accuracy_and_mean_match_the_hand_computation():
    assert per_class_iou(PREDICTION, TARGET, 3).tolist() == pytest.approx(HAND_IOU)
    assert pixel_accuracy(PREDICTION, TARGET, 3) == pytest.approx(4 / 6)
    assert mean_iou(PREDICTION, TARGET, 3) == pytest.approx(sum(HAND_IOU) / 3)


def test_a_class_absent_from_target_and_prediction_is_nan_and_left_out_of_the_mean():
    iou = per_class_iou(PREDICTION, TARGET, 4)
    assert math.isnan(iou[3]) and iou[:3].tolist() == pytest.approx(HAND_IOU)
    assert mean_iou(PREDICTION, TARGET, 4) == pytest.approx(sum(HAND_IOU) / 3)


def test_a_class_predicted_but_never_true_scores_zero_and_counts():
    prediction = PREDICTION.clone()
    prediction[0, 0, 0] = 3  # a right pixel of class 0 becomes a false class 3
    iou = per_class_iou(prediction, TARGET, 4)
    assert iou.tolist() == pytest.approx([0.0, 2 / 3, 1 / 2, 0.0])
    assert mean_iou(prediction, TARGET, 4) == pytest.approx((2 / 3 + 1 / 2) / 4)


def test_ignore_index_leaves_pixels_out_of_every_score():
    target = TARGET.clone()
    target[0, 1, 2] = 255  # the wrongly predicted class-2 pixel is now "don't care"
    matrix = confusion_matrix(PREDICTION, target, 3, ignore_index=255)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert pixel_accuracy(PREDICTION, target, 3, ignore_index=255) == pytest.approx(4 / 5)
    assert per_class_iou(PREDICTION, target, 3, ignore_index=255).tolist() == pytest.approx([1 / 2, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="targets must be class indices"):
        confusion_matrix(PREDICTION, target, 3)


def test_scores_accept_logits_and_agree_with_indices():
    logits = torch.nn.functional.one_hot(PREDICTION, 3).permute(0, 3, 1, 2).float() * 5
    assert mean_iou(logits, TARGET, 3) == pytest.approx(mean_iou(PREDICTION, TARGET, 3))


def test_segmentation_scores_name_each_class():
    scores = segmentation_scores(confusion_matrix(PREDICTION, TARGET, 3), ["grass", "road", "sheep"])
    assert scores["iou"] == pytest.approx(dict(zip(["grass", "road", "sheep"], HAND_IOU)))
    assert scores["miou"] == pytest.approx(0.5) and scores["pixel_accuracy"] == pytest.approx(4 / 6)


def test_metric_errors_name_the_problem():
    with pytest.raises(ValueError, match="square"):
        iou_from_confusion(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="ignored"):
        pixel_accuracy(PREDICTION, torch.full_like(TARGET, 255), 3, ignore_index=255)
    with pytest.raises(ValueError, match="empty"):
        mean_iou(PREDICTION, torch.full_like(TARGET, 255), 3, ignore_index=255)
    with pytest.raises(ValueError, match="classes must name"):
        segmentation_scores(torch.eye(3), ["a", "b"])


def test_boundary_mask_marks_pixels_next_to_another_class():
    mask = torch.zeros(5, 6, dtype=torch.long)
    mask[:, 3:] = 1
    expected = torch.zeros(5, 6, dtype=torch.bool)
    expected[:, 2:4] = True
    assert torch.equal(boundary_mask(mask), expected)
    expected[:, 1:5] = True
    assert torch.equal(boundary_mask(mask[None], width=2)[0], expected)
    with pytest.raises(ValueError, match="width"):
        boundary_mask(mask, width=0)


def test_match_clusters_undoes_a_permutation_and_assigns_extra_clusters():
    targets = torch.tensor([[0, 0, 1, 1, 2, 2, 2]])
    clusters = torch.tensor([[2, 2, 0, 0, 1, 1, 3]])  # cluster 3 is an extra piece of class 2
    mapping = match_clusters(clusters, targets, 3)
    assert mapping.tolist() == [1, 2, 0, 2]
    assert torch.equal(torch.from_numpy(mapping)[clusters], targets)


VOID = 255


def test_labelled_pixels_and_cluster_matching_skip_ignored_pixels():
    truth = torch.tensor([[[0, 1, VOID], [1, 0, VOID]]])
    assert labelled_pixels(truth, VOID).tolist() == [[[True, True, False], [True, True, False]]]
    assert labelled_pixels(truth).all()
    clusters = torch.tensor([[[1, 0, 0], [0, 1, 0]]])
    assert match_clusters(clusters, truth, 2, ignore_index=VOID).tolist() == [1, 0]
    with pytest.raises(ValueError, match="class indices"):
        match_clusters(clusters, truth, 2)
