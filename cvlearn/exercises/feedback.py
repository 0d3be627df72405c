"""The verdict every checker returns (:class:`Feedback`), and how checkers call and read a learner's answer.

Every checker behaves the same way, because every checker is built from these pieces:

* it calls the learner's function through :func:`run_answer`, so an answer that crashes becomes
  a ✗ with the error's type and message instead of a traceback from inside the checker;
* it reads what came back with :func:`as_tensor` or :func:`as_number`, which turn ``None`` (an
  answer that forgot to ``return``), a string or a tensor of the wrong size into a ✗ with a hint;
* it is wrapped in :func:`checker`, so that whatever else goes wrong while checking is a ✗ too,
  never an exception, with one exception on purpose: an answer that still raises
  ``NotImplementedError`` (the student edition's stub) prints "✗ not answered yet" and the
  ``NotImplementedError`` goes on up. nbgrader counts an exercise whose cells raise as failed,
  and an unanswered exercise should fail with that error and nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Feedback", "as_number", "as_tensor", "checker", "describe", "run_answer", "verdict"]


@dataclass
class Feedback:
    """The verdict of a checker: ``passed`` and a message meant for the learner."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.message}"


def verdict(passed: bool, message: str, quiet: bool = False) -> Feedback:
    """Build a :class:`Feedback` and print it (unless ``quiet``)."""
    feedback = Feedback(bool(passed), message)
    if not quiet:
        print(feedback)
    return feedback


NO_RETURN = "it returned None: did you forget to `return` the result?"
"""The hint for an answer that computes something and then drops it."""


def run_answer(
    fn: Callable, *args: Any, allow_none: bool = False, expected: str | None = None
) -> tuple[Any, str | None]:
    """``(fn(*args), None)``, or ``(None, problem)`` with what went wrong in one line.

    Checkers call the learner's function through this, so a typo in an answer becomes a ✗ with
    a hint instead of a traceback from inside the checker, and an answer that returns ``None``
    (it forgot to ``return``) is a problem unless ``allow_none`` (``expected``, say "a whole
    number", goes into that hint). ``NotImplementedError`` (an
    answer not written yet) is not caught: :func:`checker` reports it and lets it go on.
    """
    if not callable(fn):
        if fn is None:
            return None, (
                "expected a function, got None: pass the function itself (check_...(my_function)), "
                "and make sure the cell that defines it ran"
            )
        return None, (
            f"expected a function, got {type(fn).__name__}: pass the function itself, "
            "without calling it (check_...(my_function), not check_...(my_function(...)))"
        )
    try:
        answer = fn(*args)
    except NotImplementedError:
        raise
    except Exception as err:  # the learner's code may fail in any way; report it, don't crash
        return None, f"it raised {type(err).__name__}: {err}"
    if answer is None and not allow_none:
        if expected is None:
            return None, NO_RETURN
        return None, f"it returned None, expected {expected}: did you forget to `return` it?"
    return answer, None


def as_tensor(answer: Any, dtype: torch.dtype | None = None) -> tuple[torch.Tensor | None, str | None]:
    """``(tensor, None)`` from what an answer returned (a tensor, a list, a NumPy array), or
    ``(None, problem)`` saying in words why it is not one."""
    if answer is None:
        return None, NO_RETURN
    if isinstance(answer, (str, bytes, dict, set)):
        return None, f"it returned a {type(answer).__name__}, expected a tensor"
    try:
        out = torch.as_tensor(answer)
        return (out.to(dtype) if dtype is not None else out), None
    except Exception:  # lists of odd things, ragged lists, objects torch cannot read
        return None, f"it returned {type(answer).__name__}, expected a tensor"


def as_number(answer: Any) -> tuple[float | None, str | None]:
    """``(float, None)`` from what an answer returned (a number, or a tensor or array of one
    element), or ``(None, problem)`` saying in words why it is not one number."""
    if answer is None:
        return None, NO_RETURN
    if isinstance(answer, bool):
        return None, "it returned True or False, expected a number"
    shape = getattr(answer, "shape", None)
    if shape is not None and len(shape) and int(torch.tensor(shape).prod()) != 1:
        return None, f"it returned a {type(answer).__name__} of shape {tuple(shape)}, expected one number"
    try:
        return float(answer), None
    except Exception:
        return None, f"it returned {type(answer).__name__}, expected one number"


def describe(answer: Any) -> str:
    """What an answer is, in a few words on one line: ``a Tensor of shape (7, 5)``, ``(0.5, 2)``."""
    shape = getattr(answer, "shape", None)
    if shape is not None:
        return f"a {type(answer).__name__} of shape {tuple(shape)}"
    text = " ".join(repr(answer).split())
    return text if len(text) <= 60 else f"a {type(answer).__name__} ({text[:40]}…)"


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or "your answer"


def checker(topic: str) -> Callable[[Callable[..., Feedback]], Callable[..., Feedback]]:
    """Make a check function safe to hand anything: ``@checker("accuracy")``.

    The wrapped function is called as ``check(fn, *context, quiet=False)``: the learner's answer,
    then whatever the checker needs to run it on (a trained model, the pictures). If checking raises anything
    (an answer of a shape the checker did not foresee), the learner gets a ✗ naming the error
    instead of a traceback. If the answer raises ``NotImplementedError``, the learner gets
    "✗ not answered yet" and the ``NotImplementedError`` is raised again.
    """

    def wrap(check: Callable[..., Feedback]) -> Callable[..., Feedback]:
        @functools.wraps(check)
        def safe(fn: Any, *context: Any, quiet: bool = False) -> Feedback:
            try:
                return check(fn, *context, quiet=quiet)
            except NotImplementedError:
                if not quiet:
                    print(
                        f"✗ not answered yet: {_name(fn)} raises NotImplementedError; replace "
                        "`raise NotImplementedError()` in its cell with your code, run that cell, then this one"
                    )
                raise
            except Exception as err:  # never a traceback from inside a checker
                return verdict(
                    False,
                    f"{topic}: could not check the answer ({type(err).__name__}: {err}); "
                    "compare what your function returns (its type and shape) with what the "
                    "exercise asks for",
                    quiet,
                )

        return safe

    return wrap
