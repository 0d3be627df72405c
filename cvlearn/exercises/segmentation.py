"""Checkers for notebook 04 (semantic segmentation).

* :func:`check_transposed_conv`: a transposed convolution written by hand;
* :func:`check_iou_from_confusion`: per-class IoU from a pixel confusion matrix;
* :func:`check_class_weights`: median-frequency class weights for the loss;
* :func:`check_pixel_loss` (debugging): find and fix the planted bug in :func:`buggy_pixel_loss`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..metrics.segmentation import iou_from_confusion
from ..models.segmentation import median_frequency_weights
from .feedback import Feedback, as_number, as_tensor, checker, run_answer, verdict


@checker("transposed convolution")
def check_transposed_conv(
    fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor], quiet: bool = False
) -> Feedback:
    """``fn(x: (H, W), kernel: (k, k), stride: int) -> (out_H, out_W)`` must match
    ``torch.nn.functional.conv_transpose2d`` (one channel, no padding, no bias)."""
    x2 = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    cases = [
        ("2×2 input, 2×2 kernel, stride 2", x2, torch.tensor([[1.0, 0.5], [0.5, 0.25]]), 2),
        ("2×2 input, 3×3 kernel, stride 2 (the stamps overlap)", x2, torch.arange(9.0).reshape(3, 3) / 4, 2),
        ("2×3 input, 3×3 kernel, stride 1", torch.tensor([[1.0, -1.0, 2.0], [0.0, 3.0, 1.0]]), torch.ones(3, 3), 1),
        (
            "3×2 input, 2×2 kernel, stride 3 (gaps between stamps)",
            torch.tensor([[1.0, 2.0], [0.0, -1.0], [2.0, 1.0]]),
            torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
            3,
        ),
    ]
    for name, x, kernel, stride in cases:
        expected = F.conv_transpose2d(x[None, None], kernel[None, None], stride=stride)[0, 0]
        answer, problem = run_answer(fn, x.clone(), kernel.clone(), stride)
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = as_tensor(answer)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)
        if tuple(out.shape) != tuple(expected.shape):
            return verdict(
                False,
                f"{name}: output shape {tuple(out.shape)}, expected {tuple(expected.shape)}. "
                "Each side is (input - 1) · stride + kernel size.",
                quiet,
            )
        if not torch.allclose(out.float(), expected, atol=1e-5):
            hint = (
                "where stamps overlap, add them up (+=) instead of overwriting"
                if "overlap" in name or stride == 1
                else "input pixel (i, j) stamps kernel · x[i, j] with its top-left corner at (i·stride, j·stride)"
            )
            return verdict(False, f"{name}: values differ from conv_transpose2d; {hint}.", quiet)
    return verdict(
        True, f"matches torch's conv_transpose2d on {len(cases)} cases, overlapping stamps and gaps included", quiet
    )


@checker("IoU from a confusion matrix")
def check_iou_from_confusion(fn: Callable[[torch.Tensor], torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(matrix: (C, C)) -> (C,)`` IoU per class (rows: true class, columns: predicted), NaN
    for a class that appears in neither the target nor the prediction."""
    cases = [
        ("a 3-class matrix", torch.tensor([[50, 2, 3], [4, 30, 6], [1, 0, 20]])),
        ("a matrix whose class 1 never appears", torch.tensor([[8, 0, 2], [0, 0, 0], [1, 0, 9]])),
        ("a matrix whose class 2 is predicted but never true", torch.tensor([[5, 0, 3], [0, 4, 1], [0, 0, 0]])),
    ]
    for name, matrix in cases:
        expected = iou_from_confusion(matrix)
        answer, problem = run_answer(fn, matrix.clone())
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = as_tensor(answer)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)
        if tuple(out.shape) != tuple(expected.shape):
            return verdict(
                False,
                f"{name}: got shape {tuple(out.shape)}, expected one IoU per class {tuple(expected.shape)}",
                quiet,
            )
        out = out.double()
        if not torch.equal(torch.isnan(out), torch.isnan(expected)):
            return verdict(
                False,
                f"{name}: a class that is neither true nor predicted anywhere has no IoU: "
                "return NaN for it (so the mean can skip it), and a number for every other class",
                quiet,
            )
        if not torch.allclose(out.nan_to_num(-1), expected.nan_to_num(-1), atol=1e-6):
            m = matrix.double()
            recall = m.diag() / m.sum(1).clamp(min=1)
            if torch.allclose(out.nan_to_num(-1), recall.where(~torch.isnan(expected), -1), atol=1e-6):
                return verdict(
                    False,
                    f"{name}: that is the recall TP / (TP + FN); IoU also counts the false "
                    "positives (the rest of the column): TP / (TP + FP + FN)",
                    quiet,
                )
            return verdict(
                False,
                f"{name}: got {out.tolist()}, expected {[round(v, 4) for v in expected.tolist()]}; "
                "IoU = M[c, c] / (row sum + column sum - M[c, c])",
                quiet,
            )
    return verdict(True, f"right IoU on {len(cases)} matrices, absent classes (NaN) included", quiet)


@checker("class weights")
def check_class_weights(fn: Callable[[torch.Tensor, int], torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(masks: (N, H, W), num_classes) -> (num_classes,)`` median-frequency weights:
    ``median(freq) / freq[c]`` over the classes present, 0 for a class with no pixels."""
    generator = torch.Generator().manual_seed(0)
    skewed = torch.multinomial(
        torch.tensor([0.6, 0.25, 0.1, 0.05]), 2 * 8 * 8, replacement=True, generator=generator
    ).reshape(2, 8, 8)
    cases = [
        ("masks with four classes of very different size", skewed, 4),
        ("masks where class 3 has no pixel", torch.tensor([[[0, 0, 0], [1, 1, 2]]]), 4),
    ]
    for name, masks, num_classes in cases:
        expected = median_frequency_weights(masks, num_classes)
        answer, problem = run_answer(fn, masks.clone(), num_classes)
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = as_tensor(answer)
        if out is None:
            return verdict(False, f"{name}: {problem}", quiet)
        if tuple(out.shape) != (num_classes,):
            return verdict(
                False, f"{name}: got shape {tuple(out.shape)}, expected one weight per class ({num_classes},)", quiet
            )
        out = out.float()
        if torch.isnan(out).any() or torch.isinf(out).any():
            return verdict(
                False,
                f"{name}: got {out.tolist()}; a class with no pixels must get weight 0, "
                "not inf or NaN (leave it out of the median too)",
                quiet,
            )
        if not torch.allclose(out, expected, atol=1e-4):
            ratio = out / expected.where(expected > 0, torch.ones(()))
            if torch.allclose(ratio[expected > 0], ratio[expected > 0][0].expand(int((expected > 0).sum())), atol=1e-4):
                return verdict(
                    False,
                    f"{name}: right proportions but wrong scale; divide by the frequency and "
                    "multiply by the median frequency, so a class of median size gets weight 1 (with an even "
                    "number of classes the median is the mean of the two middle values: numpy.median or "
                    "torch.quantile(f, 0.5), not torch.median)",
                    quiet,
                )
            return verdict(
                False,
                f"{name}: got {[round(v, 3) for v in out.tolist()]}, expected "
                f"{[round(v, 3) for v in expected.tolist()]}; rare classes need large weights: "
                "median(freq) / freq[c]",
                quiet,
            )
    return verdict(True, f"median-frequency weights right on {len(cases)} cases, a missing class included", quiet)


# --------------------------------------------------------------------------------------------
# 4 · debugging: a planted bug in a pixel loss
# --------------------------------------------------------------------------------------------


def buggy_pixel_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every pixel, written as "a classifier per pixel": ``logits``
    (B, C, H, W) scores, ``masks`` (B, H, W) class indices → a scalar. It runs, its loss goes
    down while training, and it has a planted bug for notebook 04's debugging exercise."""
    num_classes = logits.shape[1]
    return F.cross_entropy(logits.reshape(-1, num_classes), masks.reshape(-1))


def _pixel_loss_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(4)
    masks = torch.randint(0, 3, (2, 4, 5), generator=g)
    return [
        (
            "one pixel per picture (B=3, C=4, 1×1)",
            torch.randn(3, 4, 1, 1, generator=g),
            torch.tensor([[[0]], [[3]], [[1]]]),
        ),
        ("random scores (B=2, C=3, 4×5)", torch.randn(2, 3, 4, 5, generator=g), masks),
        ("a perfect prediction (B=2, C=3, 4×5)", F.one_hot(masks, 3).permute(0, 3, 1, 2).float() * 20, masks),
    ]


def _pixel_loss_hint(out: float, logits: torch.Tensor, masks: torch.Tensor) -> str:
    num_classes = logits.shape[1]
    if abs(out - float(buggy_pixel_loss(logits, masks))) < 1e-4:
        return (
            "that is the planted bug: reshape(-1, C) on (B, C, H, W) takes C numbers in a row "
            "along W, not one pixel's C class scores; move the class dimension last first "
            "(logits.permute(0, 2, 3, 1)), then reshape"
        )
    by_pixel = logits.permute(0, 2, 3, 1).reshape(-1, num_classes)
    if abs(out - float(F.cross_entropy(by_pixel, masks.transpose(1, 2).reshape(-1)))) < 1e-4:
        return "the scores and the masks must list pixels in the same order: reshape masks (B, H, W) as they are"
    if abs(out - float(F.cross_entropy(by_pixel.softmax(dim=1), masks.reshape(-1)))) < 1e-4:
        return "cross_entropy takes raw scores (logits) and applies log-softmax itself: no softmax before it"
    return "the mean over every pixel of -log softmax(scores)[true class], as F.cross_entropy(logits, masks) gives"


@checker("pixel loss")
def check_pixel_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(logits: (B, C, H, W), masks: (B, H, W) int64) -> scalar``: :func:`buggy_pixel_loss`
    fixed, which ``F.cross_entropy(logits, masks)`` computes directly."""
    for name, logits, masks in _pixel_loss_cases():
        answer, problem = run_answer(fn, logits.clone(), masks.clone())
        if problem:
            return verdict(False, f"{name}: {problem}", quiet)
        out, problem = as_number(answer.detach() if isinstance(answer, torch.Tensor) else answer)
        if out is None:
            return verdict(False, f"{name}: {problem} (the mean loss over every pixel)", quiet)
        expected = float(F.cross_entropy(logits, masks))
        if not abs(out - expected) < 1e-4:
            return verdict(
                False, f"{name}: loss {out:.4f}, expected {expected:.4f}; {_pixel_loss_hint(out, logits, masks)}", quiet
            )
    return verdict(True, "the same loss as F.cross_entropy(logits, masks), a perfect prediction's near 0", quiet)
