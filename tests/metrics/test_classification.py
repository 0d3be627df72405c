"""cvlearn.metrics.classification: accuracy, confusion matrix and cluster agreement, against hand-computed cases."""

import pytest
import torch
from torch import nn

from cvlearn.metrics import accuracy, cluster_agreement, confusion_matrix


def test_accuracy_by_hand():
    assert accuracy(torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 0, 0])) == 0.75
    logits = torch.tensor([[2.0, 1.0], [0.1, 0.9], [3.0, -1.0], [0.2, 0.3]])  # argmax 0, 1, 0, 1
    assert accuracy(logits, torch.tensor([0, 1, 1, 1])) == 0.75
    assert accuracy(torch.tensor([[0.2, 0.7, 0.1]]), torch.tensor([1])) == 1.0
    with pytest.raises(ValueError, match="same number of items"):
        accuracy(torch.tensor([0, 1]), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="targets is empty"):
        accuracy(torch.tensor([]), torch.tensor([]))


def test_confusion_matrix_by_hand():
    targets = torch.tensor([0, 0, 0, 1, 1, 2])
    preds = torch.tensor([0, 1, 0, 1, 2, 2])
    expected = torch.tensor([[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    assert torch.equal(confusion_matrix(preds, targets, 3), expected)
    logits = nn.functional.one_hot(preds, 3).float() * 5
    assert torch.equal(confusion_matrix(logits, targets, 3), expected)
    # pixels: (N, H, W) maps with an ignored label
    truth = torch.tensor([[[0, 1], [255, 1]]])
    pred = torch.tensor([[[0, 0], [1, 1]]])
    assert torch.equal(confusion_matrix(pred, truth, 2, ignore_index=255), torch.tensor([[1, 0], [1, 1]]))
    with pytest.raises(ValueError, match=r"targets must be class indices in \[0, 1\]"):
        confusion_matrix(torch.tensor([0]), torch.tensor([2]), 2)


@pytest.mark.parametrize(
    "clusters, classes, expected",
    [
        ([0, 0, 1, 1], [0, 0, 1, 1], 1.0),
        ([1, 1, 0, 0], [0, 0, 1, 1], 1.0),  # names swapped: still perfect
        ([0, 0, 0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1, 0, 0], 0.75),  # cluster 0: 3 of 4 cats; cluster 1: 3 of 4 dogs
        ([0, 0, 0, 0], [0, 1, 1, 1], 0.75),  # one cluster: the majority share
        ([2, 2, 0, 0, 1, 1, 1], [1, 1, 0, 1, 0, 0, 0], 6 / 7),
    ],
)
def test_cluster_agreement_by_hand(clusters, classes, expected):
    assert cluster_agreement(torch.tensor(clusters), torch.tensor(classes)) == pytest.approx(expected)


def test_cluster_agreement_bad_input():
    with pytest.raises(ValueError, match="same number of items"):
        cluster_agreement(torch.tensor([0, 1]), torch.tensor([0]))
    with pytest.raises(ValueError, match="clusters must be non-negative"):
        cluster_agreement(torch.tensor([-1, 0]), torch.tensor([0, 0]))
