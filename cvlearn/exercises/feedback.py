"""The verdict every checker returns (:class:`Feedback`), and how checkers call a learner's answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Feedback", "run_answer", "verdict"]


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


def run_answer(fn: Callable, *args: Any) -> tuple[Any, str | None]:
    """``(fn(*args), None)``, or ``(None, problem)`` with what went wrong in one line.

    Checkers call the learner's function through this, so a typo in an answer becomes a ✗ with
    a hint instead of a traceback from inside the checker.
    """
    if not callable(fn):
        return None, f"expected a function, got {type(fn).__name__}"
    try:
        return fn(*args), None
    except Exception as err:  # the learner's code may fail in any way; report it, don't crash
        return None, f"it raised {type(err).__name__}: {err}"
