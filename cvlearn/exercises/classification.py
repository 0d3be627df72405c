"""Checkers for notebook 01's exercises (cat or dog).

* :func:`check_accuracy`: write ``accuracy(logits, targets)``;
* :func:`check_conv_output_size`: the side of a convolution's output, from its settings;
* :func:`check_colour_shortcut`: plant a colour shortcut in the dog pictures
  (:func:`add_colour_shortcut` is the reference the notebook's experiment uses);
* :func:`check_cluster_agreement`: score clusters against classes without knowing their names;
* :func:`check_shape_predictions` (predict, then run): what comes out of the CNN for a bigger picture.

Each runs the learner's function on cases with known answers, prints one line (✓ or ✗ with a
hint) and returns a truthy :class:`~cvlearn.exercises.Feedback` when everything passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..metrics.classification import cluster_agreement
from .feedback import Feedback, checker, describe, run_answer, verdict

SHORTCUT_SIZE = 6
"""Side in pixels of the red square :func:`check_colour_shortcut` expects in each dog's top-left corner."""
SHORTCUT_COLOUR = (255, 0, 0)
DOG = 1
"""Index of "dog" in toy-pets' classes ``("cat", "dog")``."""


# --------------------------------------------------------------------------------------------
# 1 · accuracy
# --------------------------------------------------------------------------------------------

ACCURACY_CASES = [
    # (logits (N, C), targets (N,), expected share)
    (torch.tensor([[2.0, 1.0], [0.1, 0.9], [3.0, -1.0], [0.2, 0.3]]), torch.tensor([0, 1, 1, 1]), 0.75),
    (torch.tensor([[5.0, 0.0], [0.0, 5.0]]), torch.tensor([0, 1]), 1.0),
    (torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]), torch.tensor([0, 1, 1]), 0.0),
    (
        torch.tensor([[0.1, 0.5, 0.2], [0.9, 0.0, 0.05], [0.0, 0.1, 2.0], [1.0, 3.0, 2.0], [0.3, 0.2, 0.1]]),
        torch.tensor([1, 0, 2, 2, 0]),
        0.8,
    ),
]


def _accuracy_hint(answer: Any, logits: torch.Tensor, targets: torch.Tensor, expected: float) -> str:
    n = len(targets)
    correct = round(expected * n)
    if isinstance(answer, torch.Tensor) and answer.numel() != 1:
        return (
            f"it returned a tensor of shape {tuple(answer.shape)}; take the argmax over the classes "
            "(dim=1), compare with targets, and average to one number"
        )
    value = float(answer)
    if abs(value - correct) < 1e-6 and correct != expected:
        return f"it returned {value:g}, the number of correct predictions; divide by the number of pictures ({n})"
    return (
        f"for logits of shape {tuple(logits.shape)} and targets {targets.tolist()} it returned {value:g}, "
        f"expected {expected:g}; the predicted class is logits.argmax(dim=1)"
    )


@checker("accuracy")
def check_accuracy(fn: Callable[[torch.Tensor, torch.Tensor], float], quiet: bool = False) -> Feedback:
    """``fn(logits (N, C), targets (N,)) -> float``: the share of pictures whose top class is right."""
    for logits, targets, expected in ACCURACY_CASES:
        answer, problem = run_answer(fn, logits.clone(), targets.clone())
        if problem:
            return verdict(False, f"accuracy: {problem}", quiet)
        try:
            value = float(answer)
        except (TypeError, ValueError, RuntimeError):
            return verdict(
                False,
                _accuracy_hint(answer, logits, targets, expected)
                if isinstance(answer, torch.Tensor)
                else f"accuracy must return a number, got {type(answer).__name__}",
                quiet,
            )
        if not abs(value - expected) <= 1e-6:  # NaN fails too
            return verdict(False, f"accuracy: {_accuracy_hint(answer, logits, targets, expected)}", quiet)
        if isinstance(answer, torch.Tensor):
            return verdict(False, "accuracy: the value is right, but return a plain Python float (use .item())", quiet)
    return verdict(
        True, f"accuracy: right on all {len(ACCURACY_CASES)} cases (2 and 3 classes, all right, all wrong)", quiet
    )


# --------------------------------------------------------------------------------------------
# 2 · the size of a convolution's output
# --------------------------------------------------------------------------------------------

CONV_CASES = [
    # (input side, kernel, stride, padding) -> output side, checked against nn.Conv2d itself
    (64, 3, 1, 1),
    (64, 3, 1, 0),
    (64, 2, 2, 0),
    (5, 3, 2, 0),
    (7, 3, 2, 1),
    (28, 5, 1, 0),
    (32, 7, 2, 3),
    (10, 4, 3, 2),
]


def _conv_truth(size: int, kernel: int, stride: int, padding: int) -> int:
    conv = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
    return conv(torch.zeros(1, 1, size, size)).shape[-1]


SLIPS = {
    "padding adds pixels on both sides (2 * padding)": lambda n, k, s, p: (n + p - k) // s + 1,
    "count the first window position too (+ 1)": lambda n, k, s, p: (n + 2 * p - k) // s,
    "the window moves `stride` pixels at a time: divide the room it has to move by the stride": lambda n, k, s, p: (
        n + 2 * p - k + 1
    ),
}
"""The usual wrong formulas, each with the hint that fixes it."""


def _as_whole_number(answer: Any) -> Any:
    return answer.item() if isinstance(answer, torch.Tensor) and answer.numel() == 1 else answer


@checker("conv output size")
def check_conv_output_size(fn: Callable[[int, int, int, int], int], quiet: bool = False) -> Feedback:
    """``fn(size, kernel, stride, padding) -> int``: the output side of a square convolution."""
    answers = []
    for case in CONV_CASES:
        answer, problem = run_answer(fn, *case, expected="a whole number (int)")
        if problem:
            return verdict(False, f"conv output size: {problem}", quiet)
        answer = _as_whole_number(answer)
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            return verdict(False, f"conv output size: return a whole number (int), got {type(answer).__name__}", quiet)
        answers.append(answer)
    for case, answer in zip(CONV_CASES, answers):
        expected = _conv_truth(*case)
        if answer == expected:
            continue
        shown = "size={}, kernel={}, stride={}, padding={}".format(*case)
        if isinstance(answer, float) and not answer.is_integer():
            hint = "a window either fits or it doesn't: round down with //"
        else:
            hint = next(
                (h for h, slip in SLIPS.items() if all(a == slip(*c) for a, c in zip(answers, CONV_CASES))),
                "count by hand how many places a kernel-wide window fits in size + 2 * padding pixels, "
                "moving stride pixels at a time",
            )
        return verdict(
            False, f"conv output size: for {shown} it returned {answer:g}, nn.Conv2d gives {expected}; {hint}", quiet
        )
    return verdict(True, f"conv output size: matches nn.Conv2d on all {len(CONV_CASES)} settings", quiet)


# --------------------------------------------------------------------------------------------
# 3 · a colour shortcut
# --------------------------------------------------------------------------------------------


def add_colour_shortcut(images: torch.Tensor, labels: torch.Tensor, size: int = SHORTCUT_SIZE) -> torch.Tensor:
    """A copy of ``images`` (N, 3, H, W) uint8 in which every dog (``labels == 1``) has a pure red
    ``size``×``size`` square in its top-left corner; cats stay as they are.

    The reference answer to notebook 01's exercise 3: the shortcut experiment after it calls
    this, so that it runs whether or not the learner has answered.
    """
    marked = images.clone()
    red = torch.tensor(SHORTCUT_COLOUR, dtype=torch.uint8).view(3, 1, 1)
    marked[labels == DOG, :, :size, :size] = red
    return marked


def _shortcut_cases() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=generator)
    return images, torch.tensor([0, 1, 1, 0, 1, 0])


@checker("colour shortcut")
def check_colour_shortcut(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], quiet: bool = False) -> Feedback:
    """``fn(images (N, 3, H, W) uint8, labels (N,)) -> images``: a copy in which every dog
    picture has a pure red ``SHORTCUT_SIZE``-pixel square in its top-left corner, cats untouched."""
    images, labels = _shortcut_cases()
    original = images.clone()
    answer, problem = run_answer(fn, images, labels)
    if problem:
        return verdict(False, f"colour shortcut: {problem}", quiet)
    if not torch.equal(images, original):
        return verdict(
            False,
            "colour shortcut: it changed the pictures it was given; paint on a copy "
            "(images.clone()) so the clean data stays clean",
            quiet,
        )
    if not isinstance(answer, torch.Tensor) or answer.shape != images.shape or answer.dtype != torch.uint8:
        got = f"{answer.dtype} {tuple(answer.shape)}" if isinstance(answer, torch.Tensor) else type(answer).__name__
        return verdict(
            False,
            f"colour shortcut: return a uint8 tensor shaped like the input {tuple(images.shape)}, got {got}",
            quiet,
        )
    s = SHORTCUT_SIZE
    red = torch.tensor(SHORTCUT_COLOUR, dtype=torch.uint8).view(3, 1, 1)
    for i, label in enumerate(labels.tolist()):
        kind = "dog" if label == DOG else "cat"
        expected = original[i].clone()
        if label == DOG:
            expected[:, :s, :s] = red
        if torch.equal(answer[i], expected):
            continue
        if label != DOG:
            return verdict(
                False, f"colour shortcut: picture {i} is a cat and was changed; paint only where labels == {DOG}", quiet
            )
        if not torch.equal(answer[i, :, :s, :s], expected[:, :s, :s]):
            corner = answer[i, :, 0, 0].tolist()
            return verdict(
                False,
                f"colour shortcut: dog picture {i} needs pure red {SHORTCUT_COLOUR} in rows and "
                f"columns 0..{s - 1} (images[i, :, :{s}, :{s}]); its top-left pixel is {corner}",
                quiet,
            )
        return verdict(
            False,
            f"colour shortcut: {kind} picture {i} changed outside the {s}×{s} corner; paint the square only",
            quiet,
        )
    return verdict(
        True, f"colour shortcut: dogs get a red {s}×{s} corner, cats stay as they were, the input is untouched", quiet
    )


# --------------------------------------------------------------------------------------------
# 4 · clusters against classes
# --------------------------------------------------------------------------------------------

CLUSTER_CASES = [
    # (clusters, classes): the reference answer comes from cvlearn.metrics.cluster_agreement
    (torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 1])),
    (torch.tensor([1, 1, 0, 0]), torch.tensor([0, 0, 1, 1])),
    (torch.tensor([0, 0, 0, 1, 1, 1, 1, 0]), torch.tensor([0, 0, 1, 1, 1, 1, 0, 0])),
    (torch.tensor([0, 0, 0, 0]), torch.tensor([0, 1, 1, 1])),
    (torch.tensor([2, 2, 0, 0, 1, 1, 1]), torch.tensor([1, 1, 0, 1, 0, 0, 0])),
]


@checker("cluster agreement")
def check_cluster_agreement(fn: Callable[[torch.Tensor, torch.Tensor], float], quiet: bool = False) -> Feedback:
    """``fn(clusters (N,), classes (N,)) -> float``: each cluster is named after its most common
    class; the share of items whose class is their cluster's name."""
    for clusters, classes in CLUSTER_CASES:
        expected = cluster_agreement(clusters, classes)
        answer, problem = run_answer(fn, clusters.clone(), classes.clone())
        if problem:
            return verdict(False, f"cluster agreement: {problem}", quiet)
        try:
            value = float(answer)
        except (TypeError, ValueError, RuntimeError):
            return verdict(False, f"cluster agreement must return one number, got {type(answer).__name__}", quiet)
        if not abs(value - expected) <= 1e-6:  # NaN fails too
            naive = (clusters == classes).float().mean().item()
            hint = (
                "that is (clusters == classes).mean(), but cluster numbers are arbitrary: k-means may call the "
                "cats 1; name each cluster after the class most of its members have"
                if abs(value - naive) < 1e-6
                else "for each cluster count its members of each class, keep the biggest count, add these up "
                "and divide by the number of items"
            )
            return verdict(
                False,
                f"cluster agreement: for clusters {clusters.tolist()} and classes {classes.tolist()} "
                f"it returned {value:g}, expected {expected:g}; {hint}",
                quiet,
            )
    return verdict(
        True, f"cluster agreement: right on all {len(CLUSTER_CASES)} cases, swapped cluster names included", quiet
    )


# --------------------------------------------------------------------------------------------
# 5 · predict, then run: what comes out of the CNN at another picture size
# --------------------------------------------------------------------------------------------

SHAPE_QUESTIONS = (
    ("model.features on one 64×64 picture", 64, "features"),
    ("model.features on one 128×128 picture", 128, "features"),
    ("the whole model on one 128×128 picture", 128, "model"),
)
"""What :func:`check_shape_predictions` runs: (question, picture side, which part of the model)."""


def _shape_or_error(model: torch.nn.Module, side: int, part: str) -> tuple[int, ...] | str:
    """What ``model.features`` (or the whole model) returns for one grey ``side``×``side``
    picture: its shape, or "error" when it fails."""
    device = next(model.parameters()).device  # the model may sit on a GPU
    picture = torch.full((1, 3, side, side), 128, dtype=torch.uint8, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            inputs = model.normalise(picture) if part == "features" else picture  # type: ignore[operator]
            out = (model.features if part == "features" else model)(inputs)  # type: ignore[operator]
        return tuple(out.shape)
    except Exception:
        return "error"
    finally:
        model.train(was_training)


def _read_prediction(answer: Any) -> tuple[int, ...] | str | None:
    """A predicted shape (a tuple, list or ``torch.Size`` of whole numbers) or "error"."""
    if isinstance(answer, str) and answer.strip().lower() == "error":
        return "error"
    if isinstance(answer, (tuple, list, torch.Size)) and all(
        isinstance(n, int) and not isinstance(n, bool) for n in answer
    ):
        return tuple(answer)
    return None


def _shape_hint(question: str, guess: tuple[int, ...] | str, side: int, model: Any) -> str:
    """Why the model gives what it gives (``model``: a :class:`~cvlearn.models.SimpleCNN`)."""
    blocks, channels = len(model.features), int(model.head.in_features)
    if "whole model" in question:
        return (
            ("no error: " if guess == "error" else "")
            + f"the global average pool turns each of the {channels} feature maps, whatever its size, "
            f"into one number, so the head always sees {channels} numbers and returns one score per class"
        )
    return (
        f"each of the {blocks} conv blocks halves the height and width (its 2×2 max-pool) and sets the "
        f"channels to its width, so {side} px → {side // 2**blocks} px with {channels} channels"
    )


@checker("predict, then run")
def check_shape_predictions(fn: Callable[[], Any], model: torch.nn.Module, quiet: bool = False) -> Feedback:
    """``fn() -> (shape, shape, shape or "error")``: the learner's predictions for
    :data:`SHAPE_QUESTIONS`, written before running anything; the checker runs ``model`` (a
    :class:`~cvlearn.models.SimpleCNN`) and compares."""
    answer, problem = run_answer(fn)
    if problem:
        return verdict(False, problem, quiet)
    if not isinstance(answer, (tuple, list)) or len(answer) != len(SHAPE_QUESTIONS):
        return verdict(
            False,
            f"return {len(SHAPE_QUESTIONS)} predictions, one per question, each a shape such as (1, 8, 2, 2) "
            f'or the word "error" (got {type(answer).__name__})',
            quiet,
        )
    report = []
    for (question, side, part), predicted in zip(SHAPE_QUESTIONS, answer):
        measured = _shape_or_error(model, side, part)
        guess = _read_prediction(predicted)
        if guess is None:
            return verdict(
                False,
                f'{question}: write the prediction as a shape like (1, 8, 2, 2) or as "error", '
                f"got {describe(predicted)}",
                quiet,
            )
        if guess != measured:
            return verdict(
                False,
                f"{question}: you predicted {guess}, it gave {measured}; {_shape_hint(question, guess, side, model)}",
                quiet,
            )
        report.append(f"{side} px {part}: {measured}")
    return verdict(True, "all three predictions came true (" + "; ".join(report) + ")", quiet)
