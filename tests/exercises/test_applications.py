"""cvlearn.exercises.applications: each checker passes the worked solution and names the typical slips."""

import math

import pytest
import torch

from cvlearn.exercises.applications import (
    COUNT_QUESTIONS,
    PQ_STUFF,
    PQ_THINGS,
    TINY_PRED,
    TINY_TRUE,
    check_count_predictions,
    check_density_map,
    check_oks,
    check_tiny_pq,
)
from cvlearn.metrics import panoptic_quality

# --------------------------------------------------------------------------------------------
# worked solutions, as a learner would write them
# --------------------------------------------------------------------------------------------


def oks_solution(pred, true, area, sigmas):
    d2 = ((pred[:, :2] - true[:, :2]) ** 2).sum(1)
    k = 2 * sigmas
    similarity = torch.exp(-d2 / (2 * area * k**2))
    labelled = true[:, 2] > 0
    return float(similarity[labelled].mean())


def density_solution(points, size, sigma):
    h, w = size
    ys = torch.arange(h)[:, None] + 0.5
    xs = torch.arange(w)[None, :] + 0.5
    out = torch.zeros(h, w)
    for x, y in points.tolist():
        bump = torch.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
        out += bump / bump.sum()
    return out


def count_solution():
    return (1.0, 2.0, 10.0, 0.25)


def test_checkers_accept_the_solutions(capsys):
    assert check_oks(oks_solution)
    assert check_density_map(density_solution)
    assert check_tiny_pq(pq_with())  # with no slip, pq_with (below) is the worked answer
    assert check_count_predictions(count_solution)
    assert check_count_predictions(lambda: {"edge": 1, "same_spot": 2, "stride_4": 10, "wider_peak": 0.25})
    assert capsys.readouterr().out.count("✓") == 5


# --------------------------------------------------------------------------------------------
# 1 · OKS
# --------------------------------------------------------------------------------------------


def oks_with(*, all_joints=False, k=2.0, power=2.0, two=2.0):
    def oks(pred, true, area, sigmas):
        d = ((pred[:, :2] - true[:, :2]) ** 2).sum(1).sqrt()
        similarity = torch.exp(-(d**power) / (two * area * (k * sigmas) ** 2))
        return float(similarity.mean() if all_joints else similarity[true[:, 2] > 0].mean())

    return oks


@pytest.mark.parametrize(
    "slip, words",
    [
        (oks_with(all_joints=True), "labelled joints only"),
        (oks_with(k=1.0), "k = 2σ"),
        (oks_with(power=1.0), "squared distance"),
        (oks_with(two=1.0), "left out the 2"),
        (lambda pred, true, area, sigmas: oks_solution(pred, true, area**2, sigmas), "don't square it again"),
        (lambda pred, true, area, sigmas: 1.0, "OKS = mean over the labelled joints"),
    ],
)
def test_oks_checker_names_the_slip(slip, words):
    feedback = check_oks(slip, quiet=True)
    assert not feedback and words in feedback.message, feedback.message


def test_oks_checker_counts_hidden_joints():
    def visible_only(pred, true, area, sigmas):
        return oks_solution(pred, torch.cat([true[:, :2], (true[:, 2:] == 2).double()], 1), area, sigmas)

    feedback = check_oks(visible_only, quiet=True)
    assert not feedback and "hidden joint (v = 1)" in feedback.message


# --------------------------------------------------------------------------------------------
# 2 · density map
# --------------------------------------------------------------------------------------------


def unnormalised(points, size, sigma):
    h, w = size
    ys, xs = torch.arange(h)[:, None] + 0.5, torch.arange(w)[None, :] + 0.5
    out = torch.zeros(h, w)
    for x, y in points.tolist():
        out += torch.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return out


@pytest.mark.parametrize(
    "slip, words",
    [
        (lambda points, size, sigma: density_solution(points.flip(1), size, sigma), "x and y are swapped"),
        (lambda points, size, sigma: density_solution(points + 0.5, size, sigma), "(j + 0.5, i + 0.5)"),
        (unnormalised, "divide it by its own sum"),
        (lambda points, size, sigma: unnormalised(points, size, sigma) / (2 * math.pi * sigma**2), "1 / (2πσ²)"),
        (
            lambda points, size, sigma: (lambda m: m * len(points) / m.sum() if len(points) else m)(
                unnormalised(points, size, sigma)
            ),
            "not the whole map",
        ),
        (lambda points, size, sigma: density_solution(points, size[::-1], sigma), "rows, then columns"),
        (lambda points, size, sigma: torch.zeros(size, dtype=torch.int64), "expected floats"),
    ],
)
def test_density_checker_names_the_slip(slip, words):
    feedback = check_density_map(slip, quiet=True)
    assert not feedback and words in feedback.message, feedback.message


# --------------------------------------------------------------------------------------------
# 3 · panoptic quality
# --------------------------------------------------------------------------------------------


def test_tiny_maps_are_panoptic_ids():
    assert TINY_TRUE.shape == TINY_PRED.shape == (6, 6) and TINY_TRUE.dtype == torch.int64
    assert set((TINY_TRUE // 1000).unique().tolist()) == {0, 1, 2, 5, 6}


def pq_with(*, at_least=False, void_counts=False, part="pq", pooled=False):
    def pq(pred, true):
        rows = []
        classes = {int(i) // 1000 for i in torch.cat([pred.unique(), true.unique()]) if i != 0}
        for cls in sorted(classes):
            preds = [int(i) for i in pred.unique() if i != 0 and i // 1000 == cls]
            trues = [int(i) for i in true.unique() if i != 0 and i // 1000 == cls]
            ious = []
            for t in trues:
                for p in preds:
                    overlap = ((pred == p) & (true == t)).sum()
                    kept = (pred == p) if void_counts else ((pred == p) & (true != 0))
                    iou = float(overlap / (kept.sum() + (true == t).sum() - overlap))
                    if iou >= 0.5 if at_least else iou > 0.5:
                        ious.append(iou)
            rows.append((sum(ious), len(ious), len(preds) - len(ious), len(trues) - len(ious)))
        if pooled:
            rows = [tuple(sum(column) for column in zip(*rows))]
        scores = []
        for iou_sum, tp, fp, fn in rows:
            sq, rq = (iou_sum / tp if tp else 0.0), tp / (tp + fp / 2 + fn / 2)
            scores.append({"pq": sq * rq, "sq": sq, "rq": rq}[part])
        return sum(scores) / len(scores)

    return pq


@pytest.mark.parametrize(
    "slip, words",
    [
        (pq_with(at_least=True), "strictly above 0.5"),
        (pq_with(void_counts=True), "void (0)"),
        (pq_with(part="rq"), "RQ alone"),
        (pq_with(part="sq"), "SQ alone"),
        (pq_with(pooled=True), "then average the classes"),
        (lambda pred, true: float((pred == true).float().mean()), "match segments at IoU > 0.5"),
    ],
)
def test_pq_checker_names_the_slip(slip, words):
    reference = panoptic_quality(TINY_PRED, TINY_TRUE, PQ_THINGS, PQ_STUFF)["pq"]
    assert pq_with()(TINY_PRED, TINY_TRUE) == pytest.approx(reference)
    feedback = check_tiny_pq(slip, quiet=True)
    assert not feedback and words in feedback.message, feedback.message


# --------------------------------------------------------------------------------------------
# 4 · predict, then run
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "predictions, words",
    [
        ((0.5, 2.0, 10.0, 0.25), "renormalised"),
        ((1.0, 1.0, 10.0, 0.25), "density maps add"),
        ((1.0, 2.0, 10.0 / 16, 0.25), "the same sum"),
        ((1.0, 2.0, 10.0, 0.5), "drops to a quarter"),
        ((1.0, 2.0, 10.0), "return 4 predictions"),
        ({"edge": 1.0}, "missing ['same_spot', 'stride_4', 'wider_peak']"),
        ((1.0, "two", 10.0, 0.25), "as a number"),
    ],
)
def test_count_predictions_explain_the_wrong_ones(predictions, words):
    feedback = check_count_predictions(lambda: predictions, quiet=True)
    assert not feedback and words in feedback.message, feedback.message


def test_count_questions_measure_what_they_say():
    measured = {key: measure() for key, _, measure, _ in COUNT_QUESTIONS}
    assert measured == pytest.approx({"edge": 1.0, "same_spot": 2.0, "stride_4": 10.0, "wider_peak": 0.25}, abs=1e-3)
