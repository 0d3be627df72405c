"""Checkers for notebook 06's exercises (poses, crowds and panoptic maps).

* :func:`check_oks`: object keypoint similarity of one predicted skeleton with one true person;
* :func:`check_density_map`: a crowd's density map, one normalised Gaussian per head;
* :func:`check_tiny_pq`: panoptic quality, tried on :data:`TINY_PRED` against :data:`TINY_TRUE`
  and two other 6×6 maps;
* :func:`check_count_predictions` (predict, then run): what a density map sums to at the border,
  for two heads on one spot, at a coarser stride, and how high its peak is for a wider Gaussian.

Each runs the learner's function on cases with known answers, prints one line (✓ or ✗ with a
hint) and returns a truthy :class:`~cvlearn.exercises.Feedback` when everything passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..metrics.counting import density_map
from ..metrics.keypoints import KEYPOINT_SIGMAS, object_keypoint_similarity
from ..metrics.panoptic import panoptic_quality
from .feedback import Feedback, as_number, as_tensor, checker, describe, run_answer, verdict

# --------------------------------------------------------------------------------------------
# 1 · object keypoint similarity
# --------------------------------------------------------------------------------------------


def _person(generator: torch.Generator, joints: int, spread: float) -> torch.Tensor:
    """(joints, 3) x, y, v of a made-up person: joints scattered around (40, 50), all visible (v = 2)."""
    xy = torch.tensor([40.0, 50.0]) + spread * torch.randn(joints, 2, generator=generator, dtype=torch.float64)
    return torch.cat([xy, torch.full((joints, 1), 2.0, dtype=torch.float64)], dim=1)


def _oks_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, float, torch.Tensor]]:
    """(name, pred (K, 3 or 2), true (K, 3), area px², sigmas (K,)) of each case."""
    g = torch.Generator().manual_seed(6)
    sigmas = torch.tensor(KEYPOINT_SIGMAS, dtype=torch.float64)
    true = _person(g, 13, 12.0)
    near = true.clone()
    near[:, :2] += 2.5 * torch.randn(13, 2, generator=g, dtype=torch.float64)
    part = true.clone()
    part[:, 2] = torch.tensor([2, 2, 1, 2, 0, 2, 0, 2, 1, 2, 2, 0, 2], dtype=torch.float64)
    part[part[:, 2] == 0, :2] = 0.0  # unlabelled joints come as (0, 0, 0), as in COCO
    wild = near.clone()
    wild[part[:, 2] == 0, :2] = torch.tensor([120.0, 5.0], dtype=torch.float64)  # guesses for joints nobody labelled
    four = _person(g, 4, 6.0)
    four_pred = four[:, :2] + torch.tensor([[1.0, -2.0], [3.0, 0.5], [-0.5, -0.5], [4.0, 2.0]], dtype=torch.float64)
    four_sigmas = torch.tensor([0.05, 0.1, 0.2, 0.08], dtype=torch.float64)
    return [
        ("a perfect prediction", true.clone(), true, 900.0, sigmas),
        ("13 joints, each a few pixels off (area 900 px²)", near, true, 900.0, sigmas),
        ("4 joints with their own sigmas, pred given as (K, 2)", four_pred, four, 400.0, four_sigmas),
        ("3 joints unlabelled (v = 0) and 2 hidden but labelled (v = 1)", wild, part, 900.0, sigmas),
    ]


def _oks_variant(
    pred: torch.Tensor,
    true: torch.Tensor,
    area: float,
    sigmas: torch.Tensor,
    *,
    k: float = 2.0,
    power: float = 2.0,
    halve: bool = True,
    scale: float = 1.0,
    counted: str = "labelled",
) -> float:
    """OKS computed with one knob turned: how a typical slip computes it (defaults: the right OKS).

    k: k_i = k·σ_i; power: d**power in the exponent; halve: the 2 in 2 s² k²; scale: s² = area**scale;
    counted: which joints are averaged ("labelled" v > 0, "visible" v = 2, "all").
    """
    d = ((pred[:, :2] - true[:, :2]) ** 2).sum(1).sqrt()
    denominator = (2.0 if halve else 1.0) * area**scale * (k * sigmas) ** 2
    similarity = torch.exp(-(d**power) / denominator)
    keep = {"labelled": true[:, 2] > 0, "visible": true[:, 2] == 2, "all": torch.ones_like(d, dtype=torch.bool)}
    return float(similarity[keep[counted]].mean())


OKS_SLIPS: dict[str, dict[str, Any]] = {
    "average over the labelled joints only (v > 0): a joint nobody labelled (v = 0) has no true position, "
    "so the prediction there is neither right nor wrong": {"counted": "all"},
    "a hidden joint (v = 1) was labelled, only not seen: it counts; leave out v = 0 only": {"counted": "visible"},
    "COCO's k is twice the sigma: k = 2σ, so the exponent is -d² / (2 s² (2σ)²)": {"k": 1.0},
    "the exponent takes the squared distance d² = dx² + dy², not the distance d": {"power": 1.0},
    "the denominator is 2 s² k²: you left out the 2": {"halve": False},
    "the area already is s² (the scale squared): don't square it again": {"scale": 2.0},
}
"""The usual wrong OKS formulas (knobs of :func:`_oks_variant`), each with the hint that fixes it."""


def _oks_hint(value: float, pred: torch.Tensor, true: torch.Tensor, area: float, sigmas: torch.Tensor) -> str:
    for hint, knobs in OKS_SLIPS.items():
        if abs(value - _oks_variant(pred, true, area, sigmas, **knobs)) < 1e-5:
            return hint
    return "OKS = mean over the labelled joints (v > 0) of exp(-d² / (2 · area · (2σ)²)), d the pixel distance"


@checker("OKS")
def check_oks(fn: Callable[[torch.Tensor, torch.Tensor, float, torch.Tensor], float], quiet: bool = False) -> Feedback:
    """``fn(pred: (K, 2 or 3) joints x, y(, v), true: (K, 3) x, y, v, area: px², sigmas: (K,)) -> float``:
    the OKS of one person, mean over the true joints with v > 0 of exp(-d² / (2 s² k²)), s² = area,
    k = 2σ, as :func:`cvlearn.metrics.object_keypoint_similarity` (and pycocotools) compute it."""
    for name, pred, true, area, sigmas in _oks_cases():
        answer, problem = run_answer(fn, pred.clone(), true.clone(), area, sigmas.clone(), expected="one number")
        if problem:
            return verdict(False, f"OKS, {name}: {problem}", quiet)
        value, problem = as_number(answer.detach() if isinstance(answer, torch.Tensor) else answer)
        if value is None:
            return verdict(False, f"OKS, {name}: {problem}", quiet)
        expected = object_keypoint_similarity(pred, true, area, sigmas.tolist())
        if not abs(value - expected) <= 1e-5:  # NaN fails too
            hint = _oks_hint(value, pred, true, area, sigmas)
            return verdict(False, f"OKS, {name}: got {value:.4f}, expected {expected:.4f}; {hint}", quiet)
    return verdict(
        True,
        f"OKS right on all {len(_oks_cases())} cases: a few pixels off costs more on a wrist (σ .062) than on "
        "a hip (σ .107), and unlabelled joints are not scored",
        quiet,
    )


# --------------------------------------------------------------------------------------------
# 2 · a density map
# --------------------------------------------------------------------------------------------


def _density_cases() -> list[tuple[str, torch.Tensor, tuple[int, int], float]]:
    """(name, points (N, 2) x, y in pixels, size (H, W), sigma) of each case."""
    return [
        ("one head in the middle of a 16×16 picture, σ 2", torch.tensor([[8.0, 8.0]]), (16, 16), 2.0),
        (
            "three heads in a 12×20 picture (H×W), σ 1.5",
            torch.tensor([[4.0, 3.0], [15.2, 6.7], [10.0, 9.5]]),
            (12, 20),
            1.5,
        ),
        ("two heads, one on the left edge, 16×16, σ 3", torch.tensor([[0.5, 6.0], [9.0, 10.0]]), (16, 16), 3.0),
        ("no heads at all", torch.zeros(0, 2), (8, 10), 2.0),
    ]


def _unnormalised(points: torch.Tensor, size: tuple[int, int], sigma: float) -> torch.Tensor:
    """(N, H, W) float64 Gaussians exp(-d² / 2σ²) at the pixel centres, peak 1 each, not normalised."""
    h, w = size
    ys = torch.arange(h, dtype=torch.float64)[:, None] + 0.5
    xs = torch.arange(w, dtype=torch.float64)[None, :] + 0.5
    p = points.double()
    d2 = (xs[None] - p[:, 0, None, None]) ** 2 + (ys[None] - p[:, 1, None, None]) ** 2
    return torch.exp(-d2 / (2 * sigma**2))


def _density_slips(points: torch.Tensor, size: tuple[int, int], sigma: float) -> dict[str, torch.Tensor]:
    """What the usual slips give on one case, each with the hint that fixes it."""
    bumps = _unnormalised(points, size, sigma)
    total = bumps.sum(0)
    rescaled = total * len(points) / total.sum() if len(points) else total
    return {
        "x and y are swapped: points are (x, y), x the column and y the row": density_map(points.flip(1), size, sigma),
        "a pixel's centre is at (j + 0.5, i + 0.5), not at (j, i)": density_map(points + 0.5, size, sigma),
        "each Gaussian must sum to 1 (one person): divide it by its own sum": total,
        "normalise each head's Gaussian by its own sum, not the whole map: a head at the edge loses mass to "
        "the border, its neighbours should not make up for it": rescaled,
        "the continuous formula 1 / (2πσ²) loses what falls outside the picture; divide each Gaussian by its "
        "sum over the picture's pixels so a head at the edge still counts 1": total / (2 * torch.pi * sigma**2),
    }


@checker("density map")
def check_density_map(
    fn: Callable[[torch.Tensor, tuple[int, int], float], torch.Tensor], quiet: bool = False
) -> Feedback:
    """``fn(points: (N, 2) x, y in pixels, size: (H, W), sigma: float) -> (H, W) float``: one Gaussian
    exp(-d² / 2σ²) per head at the pixel centres (j + 0.5, i + 0.5), each divided by its own sum
    over the picture, added up: :func:`cvlearn.metrics.density_map` (border-truncated, renormalised)."""
    for name, points, size, sigma in _density_cases():
        answer, problem = run_answer(fn, points.clone(), size, sigma, expected="an (H, W) tensor")
        if problem:
            return verdict(False, f"density map, {name}: {problem}", quiet)
        out, problem = as_tensor(answer.detach() if isinstance(answer, torch.Tensor) else answer)
        if out is None:
            return verdict(False, f"density map, {name}: {problem}", quiet)
        expected = density_map(points, size, sigma).double()
        if tuple(out.shape) != tuple(expected.shape):
            return verdict(
                False,
                f"density map, {name}: got shape {tuple(out.shape)}, expected {tuple(expected.shape)} "
                "(size is (H, W): rows, then columns)",
                quiet,
            )
        if not out.is_floating_point():
            return verdict(
                False, f"density map, {name}: got {out.dtype}, expected floats (a person is spread thin)", quiet
            )
        if not torch.allclose(out.double(), expected, atol=1e-5):
            slips = _density_slips(points, size, sigma)
            hint = next(
                (h for h, slip in slips.items() if torch.allclose(out.double(), slip.double(), atol=1e-5)),
                "add one Gaussian exp(-d² / 2σ²) per head, computed at every pixel centre and divided by its own sum",
            )
            return verdict(
                False,
                f"density map, {name}: it sums to {float(out.sum()):.3f} (expected {float(expected.sum()):.3f}) "
                f"and differs by up to {float((out.double() - expected).abs().max()):.4f}; {hint}",
                quiet,
            )
    return verdict(
        True,
        f"density maps right on all {len(_density_cases())} cases: each sums to its number of heads, "
        "the head on the edge included",
        quiet,
    )


# --------------------------------------------------------------------------------------------
# 3 · panoptic quality of tiny maps
# --------------------------------------------------------------------------------------------

PQ_THINGS = (5, 6)
"""The thing classes of the tiny maps, toy-street's numbering: person 5, car 6."""
PQ_STUFF = (1, 2, 3, 4)
"""The stuff classes of the tiny maps: sky 1, road 2, pavement 3, building 4."""

_S, _R, _P1, _P2, _C, _V = 1000, 2000, 5001, 5002, 6001, 0
TINY_TRUE = torch.tensor(
    [
        [_S, _S, _S, _S, _S, _S],
        [_S, _P1, _P1, _S, _V, _V],
        [_V, _P1, _P1, _S, _C, _C],
        [_R, _P1, _P1, _R, _C, _C],
        [_R, _R, _R, _R, _C, _C],
        [_R, _R, _R, _P2, _R, _R],
    ]
)
"""(6, 6) int64 true panoptic ids ``class * 1000 + instance``: sky (1000), road (2000), two people
(5001, 5002), a car (6001) and three void pixels (0) nobody labelled."""
TINY_PRED = torch.tensor(
    [
        [_S, _S, _S, _S, _S, _S],
        [_S, _P1, _P1, _S, _S, _S],
        [_S, _P1, _S, _S, _C, _C],
        [_R, _P1, _P1, _R, _C, _C],
        [_R, _R, _R, _R, _R, _R],
        [_R, _R, _R, _R, _R, _R],
    ]
)
"""(6, 6) int64 predicted panoptic ids for :data:`TINY_TRUE`: the small person is missed, the
car lost its bottom row, the sky spills over void pixels."""


def _pq_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name, pred (6, 6), true (6, 6)) panoptic maps of each case."""
    half = TINY_TRUE.clone()
    half[half == _P2] = _R
    half[1:4, 1:3] = torch.tensor([[_P1, _P1], [_P1, _P1], [_P1, _P1]])
    half_pred = half.clone()
    half_pred[1:4, 2] = _S  # the person's right half becomes sky: IoU 3 / 6, exactly 0.5
    half_pred[4, 0:2] = torch.tensor([_C, _C])  # a car on the road nobody drew: a false positive
    return [
        ("a perfect prediction (TINY_TRUE against itself)", TINY_TRUE.clone(), TINY_TRUE.clone()),
        ("TINY_PRED against TINY_TRUE", TINY_PRED.clone(), TINY_TRUE.clone()),
        ("a person found at IoU exactly 0.5 and a car that is not there", half_pred, half),
    ]


def _segment_iou(pred: torch.Tensor, true: torch.Tensor, p: int, t: int, skip_void: bool) -> float:
    """IoU of segment ``p`` of ``pred`` with segment ``t`` of ``true``, leaving out the predicted
    pixels on true void when ``skip_void``."""
    in_p, in_t = pred == p, true == t
    overlap = int((in_p & in_t).sum())
    pred_area = int(in_p.sum()) - (int((in_p & (true == _V)).sum()) if skip_void else 0)
    return overlap / (pred_area + int(in_t.sum()) - overlap)


def _class_counts(
    pred: torch.Tensor, true: torch.Tensor, cls: int, strict: bool, skip_void: bool
) -> tuple[float, int, int, int]:
    """(IoU sum of the matches, TP, FP, FN) of class ``cls`` in one picture."""
    preds = [int(i) for i in pred.unique() if i != _V and i // 1000 == cls]
    trues = [int(i) for i in true.unique() if i != _V and i // 1000 == cls]
    matched: set[int] = set()
    iou_sum, tp = 0.0, 0
    for t in trues:
        for p in preds:
            iou = _segment_iou(pred, true, p, t, skip_void)
            if p not in matched and (iou > 0.5 if strict else iou >= 0.5):
                matched.add(p)
                iou_sum, tp = iou_sum + iou, tp + 1
                break
    # COCO ignores an unmatched prediction lying mostly on void: nobody labelled what it covers
    fp = sum(1 for p in preds if p not in matched and int(((pred == p) & (true == _V)).sum()) <= (pred == p).sum() / 2)
    return iou_sum, tp, fp, len(trues) - tp


def _pq_variant(
    pred: torch.Tensor,
    true: torch.Tensor,
    *,
    strict: bool = True,
    skip_void: bool = True,
    per_class: bool = True,
    part: str = "pq",
) -> float:
    """PQ of one picture computed with one knob turned: how a typical slip computes it (defaults: right).

    strict: IoU > 0.5 matches (not ≥); skip_void: predicted pixels on true void leave the IoU;
    per_class: the mean of the classes' PQ (not one PQ of all counts pooled); part: "pq", "sq" or "rq".
    """
    classes = sorted({int(i) // 1000 for i in torch.cat([pred.unique(), true.unique()]) if i != _V})
    counts = [_class_counts(pred, true, cls, strict, skip_void) for cls in classes]
    if not per_class:
        counts = [tuple(sum(column) for column in zip(*counts))]
    scores = []
    for iou_sum, tp, fp, fn in counts:
        if tp + fp + fn == 0:  # a class ignored on both sides: not present
            continue
        sq = iou_sum / tp if tp else 0.0
        rq = tp / (tp + fp / 2 + fn / 2)
        scores.append({"pq": sq * rq, "sq": sq, "rq": rq}[part])
    return sum(scores) / len(scores)


PQ_SLIPS: dict[str, dict[str, Any]] = {
    "a match needs IoU strictly above 0.5 (> 0.5, not ≥): that is what makes matches unique": {"strict": False},
    "leave the predicted pixels that fall on true void (0) out of the IoU: nobody labelled them, "
    "so they are neither right nor wrong": {"skip_void": False},
    "that is RQ alone (TP / (TP + FP/2 + FN/2)); PQ also multiplies by SQ, the mean IoU of the matches": {"part": "rq"},
    "that is SQ alone (the matches' mean IoU); PQ also multiplies by RQ = TP / (TP + FP/2 + FN/2), "
    "which counts the misses and false segments": {"part": "sq"},
    "compute PQ class by class, then average the classes; don't pool the counts of every class": {"per_class": False},
}
"""The usual slips (knobs of :func:`_pq_variant`), each with the hint that fixes it."""


def _pq_hint(value: float, pred: torch.Tensor, true: torch.Tensor) -> str:
    for hint, knobs in PQ_SLIPS.items():
        if abs(value - _pq_variant(pred, true, **knobs)) < 1e-6:
            return hint
    return (
        "per class: match segments at IoU > 0.5, PQ = Σ IoU(matches) / (TP + FP/2 + FN/2); "
        "then the mean over the classes"
    )


@checker("panoptic quality")
def check_tiny_pq(fn: Callable[[torch.Tensor, torch.Tensor], float], quiet: bool = False) -> Feedback:
    """``fn(pred: (H, W) int64, true: (H, W) int64) -> float``: the PQ of one picture, ids
    ``class * 1000 + instance``, 0 void (classes :data:`PQ_THINGS` and :data:`PQ_STUFF`).

    Segments of the same class match when their IoU > 0.5, the predicted pixels on true void left
    out of the IoU; per class PQ = Σ IoU(matches) / (TP + FP/2 + FN/2); the answer is the mean
    over the classes present. (COCO also ignores an unmatched prediction lying mostly on void;
    no case here has one.) Compared with :func:`cvlearn.metrics.panoptic_quality`.
    """
    for name, pred, true in _pq_cases():
        answer, problem = run_answer(fn, pred.clone(), true.clone(), expected="one number")
        if problem:
            return verdict(False, f"PQ, {name}: {problem}", quiet)
        value, problem = as_number(answer.detach() if isinstance(answer, torch.Tensor) else answer)
        if value is None:
            return verdict(False, f"PQ, {name}: {problem}", quiet)
        expected = panoptic_quality(pred, true, things=PQ_THINGS, stuff=PQ_STUFF)["pq"]
        if not abs(value - expected) <= 1e-6:  # NaN fails too
            hint = _pq_hint(value, pred, true)
            return verdict(False, f"PQ, {name}: got {value:.4f}, expected {expected:.4f}; {hint}", quiet)
    tiny = panoptic_quality(TINY_PRED, TINY_TRUE, things=PQ_THINGS, stuff=PQ_STUFF)
    return verdict(
        True,
        f"PQ right on all {len(_pq_cases())} cases; TINY_PRED scores PQ {tiny['pq']:.3f} = "
        f"SQ {tiny['sq']:.3f} (how well) × RQ {tiny['rq']:.3f} (how many), each the mean over the classes",
        quiet,
    )


# --------------------------------------------------------------------------------------------
# 4 · predict, then run: what a density map sums to
# --------------------------------------------------------------------------------------------

COUNT_SIZE = (64, 64)
"""(H, W) of the pictures :data:`COUNT_QUESTIONS` ask about."""
COUNT_TOLERANCE = 0.05
"""How far a prediction may be from the measured value and still come true."""


def _edge() -> float:
    return float(density_map([[0.0, 32.0]], COUNT_SIZE, 4.0).sum())


def _same_spot() -> float:
    return float(density_map([[20.0, 20.0], [20.0, 20.0]], COUNT_SIZE, 4.0).sum())


def _stride_4() -> float:
    heads = [[8.0 + 5 * i, 10.0 + 4 * i] for i in range(10)]
    return float(density_map(heads, COUNT_SIZE, 4.0, stride=4).sum())


def _wider_peak() -> float:
    centre = [[32.5, 32.5]]
    return float(density_map(centre, COUNT_SIZE, 8.0).max() / density_map(centre, COUNT_SIZE, 4.0).max())


COUNT_QUESTIONS: tuple[tuple[str, str, Callable[[], float], str], ...] = (
    (
        "edge",
        "the sum of the density map (σ 4) of one head exactly on the picture's left edge (x = 0)",
        _edge,
        "the Gaussian is cut by the border and renormalised: what would fall outside is given back to the "
        "inside, so a head on the edge still counts 1",
    ),
    (
        "same_spot",
        "the sum of the density map of two heads at the same point",
        _same_spot,
        "density maps add: each head brings a mass of 1 wherever it lands, so two heads on one spot make a peak "
        "twice as high and a sum of 2; a density map counts people it cannot tell apart, a detector cannot",
    ),
    (
        "stride_4",
        "the sum of the 16×16 density map (stride 4) of 10 heads in a 64×64 picture",
        _stride_4,
        "each cell of the coarse map holds the mass of its 4×4 pixels: 16 times fewer cells, the same sum, "
        "so a counter may predict at a quarter (CSRNet: an eighth) of the resolution and still count right",
    ),
    (
        "wider_peak",
        "the peak of one head's map at σ 8 divided by its peak at σ 4",
        _wider_peak,
        "the mass stays 1 but spreads over a disc twice as wide, 4 times the area: the peak (1 / 2πσ²) drops "
        "to a quarter",
    ),
)
"""What :func:`check_count_predictions` asks: (key, question, how the checker measures it, why)."""


def _read_count_predictions(answer: Any) -> list[Any] | str:
    """The predictions in :data:`COUNT_QUESTIONS`' order, from a tuple, a list or a dict by key; or what is wrong."""
    keys = [key for key, *_ in COUNT_QUESTIONS]
    if isinstance(answer, dict):
        missing = [key for key in keys if key not in answer]
        if missing:
            return f"the dict of predictions needs the keys {keys}, missing {missing}"
        return [answer[key] for key in keys]
    if isinstance(answer, (tuple, list)) and len(answer) == len(keys):
        return list(answer)
    return (
        f"return {len(keys)} predictions, one number per question, as a tuple in order or a dict with the keys "
        f"{keys} (got {describe(answer)})"
    )


@checker("predict, then run")
def check_count_predictions(fn: Callable[[], Sequence[float] | dict[str, float]], quiet: bool = False) -> Feedback:
    """``fn() -> (number, number, number, number)`` (or a dict by key): the learner's predictions
    for :data:`COUNT_QUESTIONS`, written before running anything; the checker computes each with
    :func:`cvlearn.metrics.density_map` and compares (within :data:`COUNT_TOLERANCE`)."""
    answer, problem = run_answer(fn, expected="your predictions")
    if problem:
        return verdict(False, problem, quiet)
    predictions = _read_count_predictions(answer)
    if isinstance(predictions, str):
        return verdict(False, predictions, quiet)
    report = []
    for (key, question, measure, why), predicted in zip(COUNT_QUESTIONS, predictions):
        guess, problem = as_number(predicted)
        if guess is None:
            return verdict(False, f"{question}: write the prediction as a number, got {describe(predicted)}", quiet)
        measured = measure()
        if not abs(guess - measured) <= COUNT_TOLERANCE:  # NaN fails too
            return verdict(False, f"{question}: you predicted {guess:g}, it is {measured:.3f}; {why}", quiet)
        report.append(f"{key} {measured:.2f}")
    return verdict(True, "all four predictions came true (" + "; ".join(report) + ")", quiet)
