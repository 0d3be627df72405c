"""cvlearn.exercises.segmentation: each checker accepts the worked solution and rejects a wrong answer with a hint."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cvlearn.exercises.segmentation import (
    buggy_pixel_loss,
    check_class_weights,
    check_iou_from_confusion,
    check_pixel_loss,
    check_transposed_conv,
)

# Worked solutions, the same as in notebook 04.


def transposed_conv_solution(x, kernel, stride):
    k = kernel.shape[0]
    out = torch.zeros((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i * stride : i * stride + k, j * stride : j * stride + k] += x[i, j] * kernel
    return out


def iou_solution(matrix):
    m = matrix.double()
    hits = m.diag()
    union = m.sum(0) + m.sum(1) - hits
    return torch.where(union > 0, hits / union, torch.tensor(float("nan"), dtype=torch.float64))


def weights_solution(masks, num_classes):
    counts = torch.bincount(masks.reshape(-1).long(), minlength=num_classes).double()
    frequency = counts / counts.sum()
    weights = torch.zeros(num_classes)
    present = frequency > 0
    weights[present] = (np.median(frequency[present].numpy()) / frequency[present]).float()
    return weights


def test_checkers_accept_the_worked_solutions(capsys):
    assert check_transposed_conv(transposed_conv_solution)
    assert check_iou_from_confusion(iou_solution)
    assert check_class_weights(weights_solution)
    assert capsys.readouterr().out.count("✓") == 3


def overwriting_transposed_conv(x, kernel, stride):
    k = kernel.shape[0]
    out = torch.zeros((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i * stride : i * stride + k, j * stride : j * stride + k] = x[i, j] * kernel
    return out


@pytest.mark.parametrize(
    "answer, hint",
    [
        (overwriting_transposed_conv, "add them up"),
        (lambda x, kernel, stride: torch.zeros(2, 2), "(input - 1) · stride + kernel size"),
        (lambda x, kernel, stride: 1 / 0, "ZeroDivisionError"),
        ("not a function", "expected a function"),
    ],
)
def test_transposed_conv_checker_rejects_with_a_hint(answer, hint):
    feedback = check_transposed_conv(answer, quiet=True)
    assert not feedback and hint in feedback.message


@pytest.mark.parametrize(
    "answer, hint",
    [
        (lambda m: m.double().diag() / m.double().sum(1), "recall"),
        (lambda m: iou_solution(m).nan_to_num(0.0), "NaN"),
        (lambda m: m.double().diag() / m.double().sum(), "M[c, c] / (row sum + column sum - M[c, c])"),
        (lambda m: iou_solution(m)[:2], "one IoU per class"),
    ],
)
def test_iou_checker_rejects_with_a_hint(answer, hint):
    feedback = check_iou_from_confusion(answer, quiet=True)
    assert not feedback and hint in feedback.message


def inverse_frequency(masks, num_classes):
    counts = torch.bincount(masks.reshape(-1).long(), minlength=num_classes).float()
    return counts.sum() / counts


def unguarded_median_frequency(masks, num_classes):
    frequency = torch.bincount(masks.reshape(-1).long(), minlength=num_classes).double()
    frequency /= frequency.sum()
    with np.errstate(divide="ignore"):
        return torch.from_numpy(np.median(frequency.numpy()) / frequency.numpy())


def torch_median_frequency(masks, num_classes):
    frequency = torch.bincount(masks.reshape(-1).long(), minlength=num_classes).double()
    frequency /= frequency.sum()
    return frequency.median() / frequency


@pytest.mark.parametrize(
    "answer, hint",
    [
        (inverse_frequency, "wrong scale"),
        (torch_median_frequency, "not torch.median"),
        (unguarded_median_frequency, "inf or NaN"),
        (lambda masks, n: torch.ones(n), "rare classes need large weights"),
        (lambda masks, n: torch.ones(n + 1), "one weight per class"),
    ],
)
def test_class_weights_checker_rejects_with_a_hint(answer, hint):
    feedback = check_class_weights(answer, quiet=True)
    assert not feedback and hint in feedback.message


def test_checker_prints_one_line(capsys):
    check_iou_from_confusion(lambda m: m.double().diag() / m.double().sum(1))
    out = capsys.readouterr().out
    assert out.startswith("✗") and out.count("\n") == 1


# 4 · debugging: the planted bug in the pixel loss


def pixel_loss(logits, masks):
    by_pixel = logits.permute(0, 2, 3, 1).reshape(-1, logits.shape[1])
    return F.cross_entropy(by_pixel, masks.reshape(-1))


def test_the_planted_bug_scores_a_perfect_prediction_badly():
    masks = torch.randint(0, 3, (2, 4, 5), generator=torch.Generator().manual_seed(0))
    perfect = F.one_hot(masks, 3).permute(0, 3, 1, 2).float() * 20
    assert float(F.cross_entropy(perfect, masks)) < 1e-6 < 1.0 < float(buggy_pixel_loss(perfect, masks))


@pytest.mark.parametrize(
    "answer, words",
    [
        (buggy_pixel_loss, ["planted bug", "permute(0, 2, 3, 1)"]),
        (lambda lo, m: pixel_loss(lo, m.transpose(1, 2)), ["same order"]),
        (
            lambda lo, m: F.cross_entropy(lo.permute(0, 2, 3, 1).reshape(-1, lo.shape[1]).softmax(1), m.reshape(-1)),
            ["no softmax"],
        ),
        (lambda lo, m: torch.ones(3), ["one number"]),
    ],
)
def test_pixel_loss_checker_names_the_usual_mistakes(answer, words):
    assert check_pixel_loss(pixel_loss, quiet=True)
    feedback = check_pixel_loss(answer, quiet=True)
    assert not feedback and all(word in feedback.message for word in words), feedback.message
