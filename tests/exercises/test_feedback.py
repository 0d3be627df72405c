"""Every checker behaves the same on a bad answer: ✗ with a hint, never a traceback from inside it.

The one exception on purpose: an answer that raises NotImplementedError (the student edition's
stub) prints "✗ not answered yet" and the NotImplementedError goes on, so an unanswered exercise
fails with that and nothing else (nbgrader's convention).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import cvlearn.exercises as ex
from cvlearn.exercises.feedback import NO_RETURN, as_number, as_tensor, checker, run_answer, verdict
from cvlearn.models import SimpleCNN
from cvlearn.recipes.transfer import Run

CHECKERS = [getattr(ex, name) for name in ex.__all__ if name.startswith("check_")]


def context(check) -> tuple:
    """What a checker needs besides the answer: a prediction or a design choice is measured on a
    model or on pictures the notebook hands it (small stand-ins here)."""
    one_picture = (
        [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0]]), "scores": torch.tensor([0.9, 0.3]),
          "labels": torch.tensor([1, 1])}],
        [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "labels": torch.tensor([1])}],
    )  # fmt: skip
    return {
        "check_shape_predictions": (SimpleCNN(2, widths=(4, 8)),),
        "check_thresholds": one_picture,
        "check_anchor_ratios": (torch.tensor([[10.0, 10.0, 20.0, 60.0], [0.0, 0.0, 50.0, 10.0]]), (96, 96)),
        "check_transfer_predictions": ([Run(m, n, 0.5, 0.2, 1.0) for m in ("scratch", "frozen") for n in (25, 500)],),
    }.get(check.__name__, ())


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


def forgets_to_return(*args):
    result = 1  # noqa: F841 (the mistake under test)


BAD_ANSWERS = {
    "None instead of a function": None,
    "a number instead of a function": 3,
    "the result of a call, not the function": torch.zeros(2),
    "a function that forgets to return": forgets_to_return,
    "a function that raises": lambda *args: 1 / 0,
    "a function with too few parameters": lambda x: x,
    "a string": lambda *args: "abc",
    "a dict": lambda *args: {"a": 1},
    "a one-element tensor": lambda *args: torch.tensor(1.0),
    "a tensor of the wrong shape": lambda *args: torch.zeros(7, 5, 3),
    "an empty tensor": lambda *args: torch.zeros(0),
    "a complex tensor": lambda *args: torch.zeros(2, dtype=torch.complex64),
    "a NumPy array": lambda *args: np.zeros((2, 2)),
    "a list": lambda *args: [1, 2],
    "a ragged list": lambda *args: [[1], [2, 3]],
    "a tuple of three": lambda *args: (1, 2, 3),
    "NaN": lambda *args: float("nan"),
    "True": lambda *args: True,
    "a huge number": lambda *args: 10**30,
    "an object": lambda *args: object(),
}


@pytest.mark.parametrize("check", CHECKERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("answer", list(BAD_ANSWERS.values()), ids=list(BAD_ANSWERS))
def test_a_bad_answer_gets_a_cross_and_never_an_exception(check, answer, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # complex → real casts
        feedback = check(answer, *context(check))
    assert feedback is not None and not feedback
    printed = capsys.readouterr().out
    assert printed.startswith("✗ ") and printed.count("\n") == 1, printed
    assert len(feedback.message) > 20  # a hint, not just a cross


@pytest.mark.parametrize("check", CHECKERS, ids=lambda c: c.__name__)
def test_an_unanswered_exercise_says_so_and_raises_not_implemented_error(check, capsys):
    with pytest.raises(NotImplementedError):
        check(stub, *context(check))
    assert capsys.readouterr().out.startswith("✗ not answered yet: stub raises NotImplementedError")
    with pytest.raises(NotImplementedError):
        check(stub, *context(check), quiet=True)
    assert capsys.readouterr().out == ""


def test_the_usual_slips_get_their_own_hints():
    assert NO_RETURN in ex.check_transposed_conv(forgets_to_return, quiet=True).message
    assert NO_RETURN in ex.check_iou_from_confusion(forgets_to_return, quiet=True).message
    assert NO_RETURN in ex.check_class_weights(forgets_to_return, quiet=True).message
    assert "without calling it" in ex.check_giou(torch.zeros(3), quiet=True).message
    assert "cell that defines it ran" in ex.check_mask_iou(None, quiet=True).message
    assert "ZeroDivisionError" in ex.check_accuracy(lambda *a: 1 / 0, quiet=True).message
    assert "whole number" in ex.check_conv_output_size(forgets_to_return, quiet=True).message
    assert not ex.check_accuracy(lambda *a: float("nan"), quiet=True)
    assert not ex.check_mask_iou(lambda *a: float("nan"), quiet=True)


def test_the_reference_colour_shortcut_passes_its_checker():
    assert ex.check_colour_shortcut(ex.add_colour_shortcut, quiet=True)
    images, labels = torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 1])
    marked = ex.add_colour_shortcut(images, labels, size=3)
    assert marked[1, 0, :3, :3].eq(255).all() and marked[1, 1:, :3, :3].eq(0).all() and marked[0].eq(0).all()
    assert images.eq(0).all()  # a copy


def test_the_readers_of_answers():
    assert as_tensor([1, 2])[0].tolist() == [1, 2]
    assert as_tensor(None) == (None, NO_RETURN)
    assert "str" in as_tensor("x")[1]
    assert as_number(np.float64(0.5)) == (0.5, None) and as_number(torch.tensor([2.0])) == (2.0, None)
    assert "shape (3,)" in as_number(torch.zeros(3))[1]
    assert "True or False" in as_number(True)[1]
    assert run_answer(lambda: None, allow_none=True) == (None, None)
    assert "expected a count" in run_answer(lambda: None, expected="a count")[1]


def test_checker_turns_its_own_failures_into_a_cross(capsys):
    @checker("demo")
    def check_demo(fn, quiet=False):
        answer, problem = run_answer(fn)
        return verdict(False, problem, quiet) if problem else verdict(answer.shape == (2,), "shape", quiet)

    assert not check_demo(lambda: 5)  # int has no .shape: the checker's own AttributeError
    assert "demo: could not check the answer (AttributeError" in capsys.readouterr().out
    assert check_demo(lambda: torch.zeros(2), quiet=True)
