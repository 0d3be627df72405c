"""Checkers for notebook 04 (semantic segmentation).

* :func:`check_transposed_conv`: a transposed convolution written by hand;
* :func:`check_iou_from_confusion`: per-class IoU from a pixel confusion matrix;
* :func:`check_class_weights`: median-frequency class weights for the loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..metrics.segmentation import iou_from_confusion
from ..models.segmentation import median_frequency_weights
from .feedback import Feedback, as_tensor, checker, run_answer, verdict


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
