"""Argument checks shared by the toy and real datasets, with errors that say what was expected."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..toyworld import SPLITS

__all__ = ["check_int", "check_split"]


def check_split(split: Any) -> str:
    """``split`` if it is one of ``"train"``, ``"val"`` and ``"test"``, else a ValueError."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    return split


def check_int(value: Any, what: str, low: int, high: int | None = None) -> int:
    """``value`` as an int if it is one between ``low`` and ``high`` (inclusive), else a TypeError
    or ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}: {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{what} must be {bounds}, got {value}")
    return int(value)
