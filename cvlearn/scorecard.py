"""The table every notebook ends with: what it reached, against the bars the course promises.

The bars are calibrated on the toy world. On real photos (a notebook's ``DATA`` switched to a
real dataset, usually a small subset on a CPU) the same numbers are printed, but held against no
bar: a low score there is expected, not a failure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["Bar", "print_scorecard", "scorecard"]

Bar = tuple[str, float]
"""A promise: ``(">=", 0.97)`` or ``("<=", 90)``."""

_SIGNS = {">=": "≥", "<=": "≤"}


def _met(value: float, bar: Bar) -> bool:
    sense, threshold = bar
    if sense not in _SIGNS:
        raise ValueError(f"a bar's sense must be '>=' or '<=', got {sense!r}")
    return value >= threshold if sense == ">=" else value <= threshold


def _format(value: float, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, fmt)


def scorecard(data: str, rows: Sequence[tuple[str, float, str, Bar | None]], toy: bool | None = None) -> str:
    """The scorecard as text, one row per line.

    Args:
        data: the dataset the notebook ran on (its ``NAME``), named in the heading.
        rows: ``(what, value, format spec, bar or None)``, e.g.
            ``("test accuracy", 0.998, ".1%", (">=", 0.97))``.
        toy: whether the bars apply; default: when ``data`` is a toy dataset (``toy-...``).

    Each row with a bar ends in ✓ or ✗ on the toy world; on real data the bars are shown for
    reference and nothing is marked.
    """
    toy = data.startswith("toy") if toy is None else toy
    heading = f"scorecard: {data}, " + (
        "bars for the toy world" if toy else "real photos: the toy world's bars do not apply"
    )
    width = max(len(r[0]) for r in rows) if rows else 0
    lines = [heading, f"{'':{width}s} {'achieved':>10s}   {'bar':>9s}"]
    for name, value, fmt, bar in rows:
        shown = "" if bar is None else f"{_SIGNS.get(bar[0], bar[0])} {bar[1]:g}"
        mark = "" if bar is None or not toy else (" ✓" if _met(value, bar) else " ✗")
        lines.append(f"{name:{width}s} {_format(value, fmt):>10s}   {shown:>9s}{mark}")
    return "\n".join(lines)


def print_scorecard(data: str, rows: Sequence[tuple[str, float, str, Bar | None]], toy: bool | None = None) -> None:
    """Print :func:`scorecard`."""
    print(scorecard(data, rows, toy))
